"""The JSON evidence writers: the bundle's machine-readable manifest, and the copy a deletion request attaches."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import ClassVar

from takedown.evidence.base import reference_id
from takedown.models import Artifact, EvidenceBundle, Finding
from takedown.store.blobs import atomic_write

__all__ = ["JsonWriter", "RecipientManifestWriter"]


class JsonWriter:
    """Writes ``manifest.json``: the capture metadata, every artifact with its SHA-256 (``hash_algorithm``), and the
    finding."""

    name: ClassVar[str] = "json"
    media_type: ClassVar[str] = "application/json"

    def write(self, bundle: EvidenceBundle, finding: Finding, *, out: Path, root: Path) -> Artifact:
        """Write ``out/manifest.json`` atomically; the same input gives the same bytes."""
        document = {
            "format": "takedown-manifest/1",
            "hash_algorithm": "sha256",
            "bundle": bundle.id,
            "case": bundle.case_id,
            "finding": finding.id,
            "url": finding.candidate.url,
            "site": finding.candidate.site,
            "decision": finding.decision.value if finding.decision else None,
            "reasons": list(finding.reasons),
            "captured_at": bundle.captured_at.isoformat(),
            "capture": bundle.capture,
            "artifacts": [a.model_dump(mode="json", exclude={"created_at"}) for a in bundle.artifacts],
            "detections": [
                d.model_dump(mode="json", exclude={"at"}) for d in finding.detections
            ],
            # The reports name references by pseudonym (they travel with deletion requests); this maps them back.
            "reference_ids": {d.matched.reference: reference_id(d.matched.reference)
                              for d in finding.detections if d.matched is not None},
        }
        data = (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
        path = out / "manifest.json"
        atomic_write(path, data)
        return Artifact(
            path=path.relative_to(root).as_posix(), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
            media_type=self.media_type, role="manifest",
        )


_SHARED_ROLES = frozenset({"page_html", "media", "warc", "browser_warc", "wacz", "screenshot", "mhtml",
                           "capture_seal", "capture_timestamp"})
"""What a recipient's copy lists of a bundle: what was captured and its stamp, not the agency's own records."""


class RecipientManifestWriter:
    """Writes ``recipient.json``: what a site operator may see of a bundle, attached to the deletion request.

    The agency's ``manifest.json`` names the case's reference media (their labels may be a victim's file names),
    its keywords, the detections and internal ids: it stays with the agency. This copy holds only what the
    recipient needs to find and check the material: the URLs, when and how the page was captured, the matched
    media's URLs and SHA-256, the SHA-256 of each captured file, and the time stamp of the capture. It is
    written into the bundle before the seal, so ``seal.json`` fixes it like every other file.
    """

    name: ClassVar[str] = "recipient"
    media_type: ClassVar[str] = "application/json"

    def write(self, bundle: EvidenceBundle, finding: Finding, *, out: Path, root: Path) -> Artifact:
        """Write ``out/recipient.json`` atomically; the same input gives the same bytes."""
        capture = bundle.capture
        prefix = f"{out.relative_to(root).as_posix()}/"
        document = {
            "format": "takedown-recipient-evidence/1",
            "hash_algorithm": "sha256",
            "evidence_bundle": bundle.id,
            "url": finding.candidate.url,
            "final_url": capture.get("final_url", finding.candidate.url),
            "http_status": capture.get("status", ""),
            "server_ip": capture.get("server_ip", ""),
            "captured_at": bundle.captured_at.isoformat(),
            "media": [{"url": m.url, "sha256": m.sha256, "size": m.size, "media_type": m.content_type}
                      for m in finding.media],
            "files": [{"name": a.path.removeprefix(prefix), "sha256": a.sha256, "size": a.size, "role": a.role}
                      for a in bundle.artifacts if a.role in _SHARED_ROLES],
            "capture_timestamps": [{"tsa": t.tsa_url, "at": t.at.isoformat(), "digest_sha256": t.digest_sha256}
                                   for t in bundle.timestamps],
        }
        data = (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
        path = out / "recipient.json"
        atomic_write(path, data)
        return Artifact(path=path.relative_to(root).as_posix(), sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data), media_type=self.media_type, role="recipient_manifest")
