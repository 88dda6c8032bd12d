"""Evidence: capture, previews, report writers, sealing, time stamps and verification (see ``EvidenceWriter``).

Heavy parts (Chromium, warcio, python-hwpx, weasyprint) are imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown._lazy import lazy_exports

if TYPE_CHECKING:
    from takedown.evidence.base import (
        EvidenceWriter,
    )
    from takedown.evidence.capture import (
        CaptureConfig,
        Capturer,
        bundle_folder,
        capture_finding,
        capture_finding_live,
    )
    from takedown.evidence.custody import (
        CUSTODY_FILE,
        chain_events,
        export_custody,
        load_custody,
        verify_chain,
    )
    from takedown.evidence.hwpx_writer import (
        HwpWriter,
        HwpxWriter,
    )
    from takedown.evidence.json_writer import (
        JsonWriter,
    )
    from takedown.evidence.pdf_writer import (
        PdfWriter,
    )
    from takedown.evidence.preview import (
        make_previews,
        preview_image,
    )
    from takedown.evidence.report_content import (
        ReportContent,
        ReportWriterConfig,
        build_report_content,
    )
    from takedown.evidence.seal import (
        seal_bundle,
        seal_capture,
    )
    from takedown.evidence.signing import (
        AgencySigner,
        make_agency_identity,
        verify_signature,
    )
    from takedown.evidence.tsa import (
        TsaClient,
        verify_token,
    )
    from takedown.evidence.verify import (
        VerificationReport,
        format_report,
        verify_bundle,
    )
    from takedown.evidence.wacz import (
        check_wacz,
        write_wacz,
    )

_LAZY: dict[str, str] = {
    "AgencySigner": "takedown.evidence.signing",
    "check_wacz": "takedown.evidence.wacz",
    "make_agency_identity": "takedown.evidence.signing",
    "seal_capture": "takedown.evidence.seal",
    "verify_signature": "takedown.evidence.signing",
    "write_wacz": "takedown.evidence.wacz",
    "CUSTODY_FILE": "takedown.evidence.custody",
    "CaptureConfig": "takedown.evidence.capture",
    "Capturer": "takedown.evidence.capture",
    "EvidenceWriter": "takedown.evidence.base",
    "HwpWriter": "takedown.evidence.hwpx_writer",
    "HwpxWriter": "takedown.evidence.hwpx_writer",
    "JsonWriter": "takedown.evidence.json_writer",
    "PdfWriter": "takedown.evidence.pdf_writer",
    "ReportContent": "takedown.evidence.report_content",
    "ReportWriterConfig": "takedown.evidence.report_content",
    "TsaClient": "takedown.evidence.tsa",
    "VerificationReport": "takedown.evidence.verify",
    "build_report_content": "takedown.evidence.report_content",
    "bundle_folder": "takedown.evidence.capture",
    "capture_finding": "takedown.evidence.capture",
    "capture_finding_live": "takedown.evidence.capture",
    "chain_events": "takedown.evidence.custody",
    "export_custody": "takedown.evidence.custody",
    "format_report": "takedown.evidence.verify",
    "load_custody": "takedown.evidence.custody",
    "make_previews": "takedown.evidence.preview",
    "preview_image": "takedown.evidence.preview",
    "seal_bundle": "takedown.evidence.seal",
    "verify_bundle": "takedown.evidence.verify",
    "verify_chain": "takedown.evidence.custody",
    "verify_token": "takedown.evidence.tsa",
}
"""Where each name lives: imported on first use, so importing one module of the package stays light."""

__all__ = [
    "CUSTODY_FILE",
    "AgencySigner",
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
    "check_wacz",
    "export_custody",
    "format_report",
    "load_custody",
    "make_agency_identity",
    "make_previews",
    "preview_image",
    "seal_bundle",
    "seal_capture",
    "verify_bundle",
    "verify_chain",
    "verify_signature",
    "verify_token",
    "write_wacz",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
