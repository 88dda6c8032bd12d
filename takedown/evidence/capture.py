"""Capture: turn a judged finding's stored page and media into sealed artifacts and an evidence bundle.

The foundation captures what the site adapter fetched (the page's HTML and the raw media bytes, already in the
blob store); screenshots, WARC and time stamps are added by the evidence issue's capture. Files are written
atomically under ``root/<case>/<bundle>/`` and every one is hashed; the caller records the bundle, its custody
events and the finding's move to ``evidenced`` in one transaction.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from pathlib import Path

from takedown._version import __version__
from takedown.errors import EvidenceError, TakedownError
from takedown.evidence.base import EvidenceWriter
from takedown.models import Artifact, EvidenceBundle, Finding, utcnow
from takedown.store.blobs import BlobStore, atomic_write

__all__ = ["bundle_folder", "capture_finding"]


def bundle_folder(root: Path, bundle: EvidenceBundle) -> Path:
    """The folder a bundle's files are written to."""
    return root / bundle.case_id / bundle.id


def _copy(blobs: BlobStore, sha256: str, target: Path, root: Path, *, media_type: str, role: str) -> Artifact:
    data = blobs.read(sha256)
    if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != sha256:
        atomic_write(target, data)
    return Artifact(path=target.relative_to(root).as_posix(), sha256=sha256, size=len(data), media_type=media_type,
                    role=role)


def capture_finding(
    finding: Finding,
    *,
    blobs: BlobStore,
    root: Path,
    writers: Sequence[EvidenceWriter],
    operator: str,
) -> EvidenceBundle:
    """Write a finding's evidence files and return the sealed bundle (not yet stored).

    A finding whose page could not be fetched yields a bundle whose ``error`` says so, never an empty one that
    looks complete.

    Raises:
        EvidenceError: a file could not be written, or a writer failed.
    """
    page = finding.page
    base = EvidenceBundle(
        case_id=finding.case_id, finding_id=finding.id, captured_at=utcnow(),
        capture={
            "url": finding.candidate.url,
            "final_url": page.final_url if page else "",
            "status": str(page.status) if page else "",
            "fetched_at": page.fetched_at.isoformat() if page else "",
            "site": finding.candidate.site,
            "tool": f"takedown {__version__}",
            "operator": operator,
        },
    )
    out = bundle_folder(root, base)
    artifacts: list[Artifact] = []
    try:
        if page is None:
            return base.model_copy(update={"error": "the page was never fetched"})
        artifacts.append(_copy(blobs, page.html_sha256, out / "page.html", root, media_type="text/html",
                               role="page_html"))
        for media in finding.media:
            ext = mimetypes.guess_extension(media.content_type) or ".bin"
            artifacts.append(_copy(blobs, media.sha256, out / "media" / f"{media.sha256[:16]}{ext}", root,
                                   media_type=media.content_type, role="media"))
        bundle = base.model_copy(update={"artifacts": tuple(artifacts)})
        for writer in writers:
            artifact = writer.write(bundle, finding, out=out, root=root)
            bundle = bundle.model_copy(update={"artifacts": (*bundle.artifacts, artifact)})
    except TakedownError as exc:
        if isinstance(exc, EvidenceError):
            raise
        raise EvidenceError(f"capture of {finding.id} failed: {exc}", url=finding.candidate.url) from exc
    except OSError as exc:
        raise EvidenceError(f"cannot write evidence for {finding.id}: {exc}", url=finding.candidate.url) from exc
    return bundle
