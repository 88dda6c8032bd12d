"""Hashing a victim's media into reference hashes: the case keeps these, never the media.

An image gives its SHA-256, MD5, dHash and PDQ (with quality, from a full decode: the hash python-threatexchange and
StopNCII-style hash lists hold); a video its SHA-256, MD5, one dHash and one PDQ per sampled second (vPDQ's frames,
``frame`` and ``timestamp`` set). The dHashes keep ``DHashDetector`` working; ``PdqDetector`` and
``VideoPdqDetector`` use the PDQ ones.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from takedown.detect.dhash import dhash_bytes, dhash_path
from takedown.detect.pdq import pdq_bytes, pdq_path
from takedown.detect.video import vpdq_video
from takedown.errors import UsageError
from takedown.models import MediaKind, ReferenceHash, media_kind_of

__all__ = ["file_digests", "media_kind_of", "reference_hashes", "reference_hashes_of_bytes"]

_CHUNK = 1 << 20


def file_digests(path: Path) -> tuple[str, str]:
    """The SHA-256 and MD5 of a file, read in chunks."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def reference_hashes(path: Path, *, label: str | None = None, bank: str = "case") -> list[ReferenceHash]:
    """The reference hashes of one media file: SHA-256, MD5, dHash and PDQ (one per second of a video).

    Args:
        path: an image or video file.
        label: how the reference is named in findings (default: the first 12 hex digits of its SHA-256).
        bank: the hash bank the references belong to.

    Raises:
        UsageError: the file is not an image or a video.
        DetectionError: the file cannot be decoded.
        MissingDependencyError: a video, and PyAV (the ``video`` extra) is not installed.
    """
    path = Path(path)
    kind = media_kind_of(path.name)
    if kind not in (MediaKind.IMAGE, MediaKind.VIDEO):
        raise UsageError(f"{path.name}: only images and videos can be hashed")
    sha, md5 = file_digests(path)
    ref = label or sha[:12]
    out = [
        ReferenceHash(algorithm="sha256", value=sha, reference=ref, kind=kind, bank=bank),
        ReferenceHash(algorithm="md5", value=md5, reference=ref, kind=kind, bank=bank),
    ]
    perceptual = dhash_path(path, kind)
    if kind is MediaKind.IMAGE:
        perceptual.append(pdq_path(path, fast=False))
    else:
        perceptual += vpdq_video(path).frames
    out += [ReferenceHash(**h.model_dump(), reference=ref, kind=kind, bank=bank) for h in perceptual]
    return out


def reference_hashes_of_bytes(data: bytes, name: str, *, bank: str = "case") -> list[ReferenceHash]:
    """The reference hashes of one uploaded media file, as ``reference_hashes`` gives them, named ``name``.

    A picture is hashed in memory. A video is decoded by PyAV from a file in a new private temporary folder
    (mode 0700), removed as soon as it is hashed. Nothing of the media is kept.

    Raises:
        UsageError: ``name`` is not an image's or a video's.
        DetectionError: the bytes cannot be decoded (or are a decompression bomb).
        MissingDependencyError: a video, and PyAV (the ``video`` extra) is not installed.
    """
    kind = media_kind_of(name)
    if kind is MediaKind.VIDEO:
        with tempfile.TemporaryDirectory(prefix="takedown-reference-") as folder:
            path = Path(folder) / f"upload{Path(name).suffix.lower()}"
            path.write_bytes(data)
            return reference_hashes(path, label=name, bank=bank)
    if kind is not MediaKind.IMAGE:
        raise UsageError(f"{name}: only images and videos can be hashed")
    sha, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data, usedforsecurity=False).hexdigest()
    perceptual = [dhash_bytes(data, name=name), pdq_bytes(data, fast=False)]
    return [
        ReferenceHash(algorithm="sha256", value=sha, reference=name, kind=kind, bank=bank),
        ReferenceHash(algorithm="md5", value=md5, reference=name, kind=kind, bank=bank),
        *(ReferenceHash(**h.model_dump(), reference=name, kind=kind, bank=bank) for h in perceptual),
    ]
