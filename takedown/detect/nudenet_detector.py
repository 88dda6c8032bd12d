"""A nudity detector over NudeNet's ONNX model, as an opt-in extra (``pip install 'takedown[nudenet]'``).

NudeNet ships a small object detector (an ONNX file inside the wheel) that finds exposed and covered body parts
in a picture. It cannot tell *whose* body it sees, so it never says ``match``: an image (or a sampled video frame)
with a flagged part at or above ``suspect_threshold`` is ``suspect`` and goes to an officer; anything else is
``no_match``. The detector's classes (``FEMALE_BREAST_EXPOSED``, ``FACE_MALE`` ...) are NudeNet's own.

**Licence.** The nudenet wheel carries an AGPL-3.0 licence file. takedown is Apache-2.0 and keeps AGPL code out of
its defaults: this detector is never registered or built unless you ask for it, and agencies that embed takedown in
a closed system should check the licence before installing the extra.

Images are decoded by Pillow (with its decompression-bomb limit) and videos sampled by
:func:`takedown.detect.frames.sample_frames`, so corrupt input is a ``DetectionError`` rather than an OpenCV crash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from takedown.detect.frames import sample_frames
from takedown.errors import DetectionError, MissingDependencyError
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, Media, MediaKind

__all__ = ["EXPOSED_CLASSES", "NudeNetConfig", "NudeNetDetector"]

EXPOSED_CLASSES: frozenset[str] = frozenset({
    "FEMALE_BREAST_EXPOSED", "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
})
"""The NudeNet classes flagged by default: exposed intimate parts (feet, armpits and bellies are not)."""

Box = dict[str, Any]
"""One NudeNet detection: ``{"class": str, "score": float, "box": [x, y, w, h]}``."""


class NudeNetConfig(BaseModel):
    """Which NudeNet classes flag an item, and from what score."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    flagged_classes: frozenset[str] = Field(default=EXPOSED_CLASSES, description="NudeNet classes that flag an item")
    suspect_threshold: float = Field(default=0.5, ge=0, le=1, description="a flagged class at or above: suspect")
    video_frames: int = Field(default=8, ge=1, le=256, description="frames sampled from a video")
    model_path: Path | None = Field(default=None, description="another NudeNet ONNX model (default: the bundled one)")
    inference_resolution: int = Field(default=320, ge=32, description="the model's input size")


class NudeNetDetector:
    """Flags images and video frames in which NudeNet finds exposed intimate parts (never a ``match``).

    Args:
        config: flagged classes, threshold, frames per video, model file.
        model: a function from an RGB picture (``(h, w, 3)`` uint8) to NudeNet's detections, for tests; default:
            NudeNet's ``NudeDetector``, loaded on first use.
    """

    name: ClassVar[str] = "nudenet"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.IMAGE, ItemKind.VIDEO})

    def __init__(self, config: NudeNetConfig | None = None, *,
                 model: Callable[[np.ndarray[Any, Any]], Sequence[Box]] | None = None) -> None:
        self.config = config or NudeNetConfig()
        self._model = model
        self._lock = threading.Lock()

    def _detect_boxes(self, picture: np.ndarray[Any, Any]) -> list[tuple[str, float]]:
        """The model's detections in ``picture`` as ``(class, score)`` pairs.

        Raises:
            DetectionError: the model failed, or answered something that is not a list of detections.
        """
        with self._lock:  # one ONNX session, built once; onnxruntime sessions are not documented as re-entrant
            if self._model is None:
                self._model = _load_nudenet(self.config)
            try:
                boxes = self._model(picture)
            except Exception as exc:  # the model's own failure, whatever its type, is a judging failure
                raise DetectionError(f"NudeNet failed: {type(exc).__name__}: {exc}", plugin=self.name) from exc
        return _classes_and_scores(boxes, self.name)

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """Run NudeNet on the image, or on frames sampled from the video.

        Raises:
            DetectionError: the item is not a downloaded image or video, cannot be decoded, or the model failed.
            MissingDependencyError: the ``nudenet`` extra is not installed.
        """
        if not isinstance(item, Media) or item.kind not in (MediaKind.IMAGE, MediaKind.VIDEO):
            raise DetectionError("nudenet judges downloaded images and videos", plugin=self.name)
        if item.blob is None:
            raise DetectionError("nudenet judges downloaded media (the item has no blob)", plugin=self.name)
        count = 1 if item.kind is MediaKind.IMAGE else self.config.video_frames
        frames = sample_frames(Path(item.blob), count=count, max_side=1280)
        flagged: list[tuple[float, str, int]] = []  # (score, class, frame)
        seen: dict[str, float] = {}
        for index, frame in enumerate(frames):
            for label, score in self._detect_boxes(_bgr(frame)):
                seen[label] = max(seen.get(label, 0.0), score)
                if label in self.config.flagged_classes:
                    flagged.append((score, label, index))
        kind = ItemKind(item.kind.value)
        details = {"frames": str(len(frames))}
        if seen:
            details["classes"] = ", ".join(f"{c} {s:.2f}" for c, s in sorted(seen.items(), key=lambda p: -p[1]))
        if not flagged:
            return Detection(detector=self.name, target=item.sha256, kind=kind, label=DetectionLabel.NO_MATCH,
                             score=0.0, rationale="no flagged class found", details=details)
        score, label, index = max(flagged, key=lambda f: (f[0], -f[2]))  # ties: the earliest frame
        where = f" in frame {index + 1} of {len(frames)}" if item.kind is MediaKind.VIDEO else ""
        verdict = DetectionLabel.SUSPECT if score >= self.config.suspect_threshold else DetectionLabel.NO_MATCH
        details["top_class"] = label
        return Detection(detector=self.name, target=item.sha256, kind=kind, label=verdict, score=round(score, 4),
                         rationale=f"{label} at {score:.2f}{where}", details=details)


def _classes_and_scores(boxes: object, plugin: str) -> list[tuple[str, float]]:
    """NudeNet's detections (``[{"class": ..., "score": ...}, ...]``) checked and read.

    Raises:
        DetectionError: ``boxes`` is not a list of detections, or one lacks a class or a score from 0 to 1.
    """
    out: list[tuple[str, float]] = []
    try:  # a model file of another version (config.model_path), or a future nudenet, may answer otherwise
        for box in cast(Sequence[Any], boxes):
            label, score = box["class"], float(box["score"])
            if not isinstance(label, str) or not 0.0 <= score <= 1.0:  # also NaN
                raise ValueError(f"class {label!r} with score {score}")
            out.append((label, score))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        shown = repr(boxes)
        shown = shown if len(shown) <= 120 else shown[:120] + "..."
        raise DetectionError(f"NudeNet gave output that is not a list of detections: {shown} ({exc})",
                             plugin=plugin) from exc
    return out


def _bgr(picture: Image.Image) -> np.ndarray[Any, Any]:
    """NudeNet reads OpenCV's channel order."""
    rgb = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _load_nudenet(config: NudeNetConfig) -> Callable[[np.ndarray[Any, Any]], Sequence[Box]]:
    try:
        from nudenet import NudeDetector
    except ImportError as exc:
        raise MissingDependencyError("nudenet", "nudenet", feature="the NudeNet detector") from exc
    try:
        detector = NudeDetector(model_path=str(config.model_path) if config.model_path else None,
                                inference_resolution=config.inference_resolution)
    except Exception as exc:  # onnxruntime's load errors have no common base class
        raise DetectionError(f"NudeNet's model could not be loaded: {exc}", plugin="nudenet") from exc
    run: Callable[[np.ndarray[Any, Any]], Sequence[Box]] = detector.detect
    return run
