"""The JSON evidence writer: the bundle's machine-readable manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import ClassVar

from takedown.models import Artifact, EvidenceBundle, Finding
from takedown.store.blobs import atomic_write

__all__ = ["JsonWriter"]


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
        }
        data = (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
        path = out / "manifest.json"
        atomic_write(path, data)
        return Artifact(
            path=path.relative_to(root).as_posix(), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
            media_type=self.media_type, role="manifest",
        )
