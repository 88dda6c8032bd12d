"""Evidence: capture, previews, report writers, sealing, time stamps and verification (see ``EvidenceWriter``).

Heavy parts (Chromium, warcio, python-hwpx, weasyprint) are imported only when used.
"""

from takedown.evidence.base import EvidenceWriter
from takedown.evidence.capture import CaptureConfig, Capturer, bundle_folder, capture_finding, capture_finding_live
from takedown.evidence.custody import CUSTODY_FILE, chain_events, export_custody, load_custody, verify_chain
from takedown.evidence.hwpx_writer import HwpWriter, HwpxWriter
from takedown.evidence.json_writer import JsonWriter
from takedown.evidence.pdf_writer import PdfWriter
from takedown.evidence.preview import make_previews, preview_image
from takedown.evidence.report_content import ReportContent, ReportWriterConfig, build_report_content
from takedown.evidence.seal import seal_bundle
from takedown.evidence.tsa import TsaClient, verify_token
from takedown.evidence.verify import VerificationReport, format_report, verify_bundle

__all__ = [
    "CUSTODY_FILE",
    "CaptureConfig",
    "Capturer",
    "EvidenceWriter",
    "HwpWriter",
    "HwpxWriter",
    "JsonWriter",
    "PdfWriter",
    "ReportContent",
    "ReportWriterConfig",
    "TsaClient",
    "VerificationReport",
    "build_report_content",
    "bundle_folder",
    "capture_finding",
    "capture_finding_live",
    "chain_events",
    "export_custody",
    "format_report",
    "load_custody",
    "make_previews",
    "preview_image",
    "seal_bundle",
    "verify_bundle",
    "verify_chain",
    "verify_token",
]
