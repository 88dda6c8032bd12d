"""A simple perceptual match: 64-bit difference hashes (dHash) of images and of sampled video frames.

This is the foundation's stand-in for PDQ and vPDQ: robust to resizing and recompression, weaker against crops
and flips. Video frames are decoded with PyAV (the ``video`` extra), one per ``frames_per_second``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import DetectionError, MissingDependencyError
from takedown.models import (
    Candidate,
    Case,
    Detection,
    DetectionLabel,
    HashValue,
    ItemKind,
    MatchedReference,
    Media,
    MediaKind,
)

__all__ = ["DHashConfig", "DHashDetector", "dhash_bytes", "dhash_image", "dhash_path", "dhash_video", "hamming"]

ALGORITHM = "dhash"
BITS = 64


def dhash_image(image: Image.Image) -> str:
    """The 64-bit difference hash of an image, as 16 hex digits (EXIF orientation honoured)."""
    grey = ImageOps.exif_transpose(image).convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hamming(a: str, b: str) -> int:
    """The number of differing bits between two hex hashes of equal length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _open_image(source: Path | BinaryIO, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
            image.load()
            return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DetectionError(f"image {name} is too large to decode safely: {exc}", plugin="dhash") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise DetectionError(f"cannot decode image {name}: {exc}", plugin="dhash") from exc


def dhash_bytes(data: bytes, *, name: str = "image") -> HashValue:
    """The dHash of an image file's bytes, decoded in memory (``name`` names it in errors).

    Raises:
        DetectionError: the bytes are not a decodable image, or a decompression bomb.
    """
    with _open_image(io.BytesIO(data), name) as image:
        return HashValue(algorithm=ALGORITHM, value=dhash_image(image))


def dhash_video(path: Path, *, frames_per_second: float = 1.0, max_frames: int = 3600) -> list[HashValue]:
    """One dHash per sampled frame of a video's first video stream.

    Raises:
        MissingDependencyError: PyAV is not installed.
        DetectionError: the file has no video stream or cannot be decoded at all.
    """
    try:
        import av
    except ImportError as exc:
        raise MissingDependencyError("av", "video", feature="hashing video") from exc
    hashes: list[HashValue] = []
    next_time = 0.0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DetectionError(f"{path.name} has no video stream", plugin="dhash")
            stream = container.streams.video[0]
            for index, frame in enumerate(container.decode(stream)):
                when = float(frame.time) if frame.time is not None else index / float(stream.average_rate or 1)
                if when + 1e-6 < next_time:
                    continue
                image = frame.to_image()  # type: ignore[no-untyped-call]
                hashes.append(
                    HashValue(algorithm=ALGORITHM, value=dhash_image(image), frame=index, timestamp=round(when, 3))
                )
                next_time = when + 1.0 / frames_per_second
                if len(hashes) >= max_frames:
                    break
    except av.error.FFmpegError as exc:
        if not hashes:
            raise DetectionError(f"cannot decode video {path.name}: {exc}", plugin="dhash") from exc
    return hashes


def dhash_path(path: Path, kind: MediaKind) -> list[HashValue]:
    """The dHashes of a media file: one for an image, one per sampled frame for a video."""
    if kind is MediaKind.IMAGE:
        with _open_image(path, path.name) as image:
            return [HashValue(algorithm=ALGORITHM, value=dhash_image(image))]
    if kind is MediaKind.VIDEO:
        return dhash_video(path)
    raise DetectionError(f"dhash cannot hash {kind.value}", plugin="dhash")


class DHashConfig(BaseModel):
    """Thresholds of the dHash detector."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    max_distance: int = Field(default=10, ge=0, le=BITS, description="a frame matches at this many bits or fewer")
    video_min_share: float = Field(
        default=0.5, gt=0, le=1, description="share of a video's sampled frames that must match one reference"
    )


class DHashDetector:
    """Perceptual match of images and videos against the case's ``dhash`` references."""

    name: ClassVar[str] = "dhash"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.IMAGE, ItemKind.VIDEO})

    def __init__(self, config: DHashConfig | None = None) -> None:
        self.config = config or DHashConfig()

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """``match`` if the item is within the thresholds of a reference, else ``no_match``."""
        if not isinstance(item, Media) or item.blob is None:
            raise DetectionError("dhash judges downloaded media", plugin=self.name)
        hashes = [h for h in item.hashes if h.algorithm == ALGORITHM] or dhash_path(item.blob, item.kind)
        refs = [r for r in case.references if r.algorithm == ALGORITHM and r.kind is item.kind]
        kind = ItemKind(item.kind.value)
        if not hashes:
            raise DetectionError("no frame could be hashed", plugin=self.name)
        by_ref: dict[str, list[str]] = {}
        bank: dict[str, str] = {}
        for ref in refs:
            by_ref.setdefault(ref.reference, []).append(ref.value)
            bank[ref.reference] = ref.bank
        best: tuple[float, str, float] | None = None  # (score, reference, distance)
        for reference, values in by_ref.items():
            distances = [min(hamming(h.value, v) for v in values) for h in hashes]
            matched = [d for d in distances if d <= self.config.max_distance]
            if item.kind is MediaKind.IMAGE:
                score, distance, ok = 1 - distances[0] / BITS, float(distances[0]), bool(matched)
            else:
                share = len(matched) / len(distances)
                score, distance, ok = share, float(np.mean(matched)) if matched else float(BITS), (
                    share >= self.config.video_min_share
                )
            if ok and (best is None or score > best[0]):
                best = (score, reference, distance)
        if best is None:
            return Detection(
                detector=self.name, target=item.sha256, kind=kind, label=DetectionLabel.NO_MATCH, score=0.0,
                rationale=f"no {kind.value} reference within {self.config.max_distance} bits",
            )
        score, reference, distance = best
        what = "frames matched" if item.kind is MediaKind.VIDEO else "bits apart"
        amount = f"{score:.0%}" if item.kind is MediaKind.VIDEO else f"{distance:.0f}"
        return Detection(
            detector=self.name, target=item.sha256, kind=kind, label=DetectionLabel.MATCH, score=round(score, 4),
            matched=MatchedReference(bank=bank[reference], reference=reference, algorithm=ALGORITHM, distance=distance),
            rationale=f"dHash of reference {reference}: {amount} {what}",
        )

