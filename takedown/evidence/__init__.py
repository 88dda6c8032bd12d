"""Evidence: capture, sealing, the custody log and report writers (see ``EvidenceWriter``)."""

from takedown.evidence.base import EvidenceWriter
from takedown.evidence.capture import bundle_folder, capture_finding
from takedown.evidence.custody import verify_chain
from takedown.evidence.json_writer import JsonWriter

__all__ = ["EvidenceWriter", "JsonWriter", "bundle_folder", "capture_finding", "verify_chain"]
