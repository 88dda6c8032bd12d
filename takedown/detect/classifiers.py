"""Detectors over Hugging Face ``transformers`` pipelines: image, video and text classifiers, and speech transcripts.

Each detector loads one model (a local folder, or a hub name where the hub can be reached) the first time it is used,
once per instance, and keeps it. A model's labels are mapped to verdicts by configuration, never guessed:

- ``positive_labels`` names the model's labels that mean "flag this" (compared case-insensitively); the item's
  *positive score* is the highest score among them (or their sum, ``positive_score="sum"``, for a softmax model
  that splits one meaning over several labels);
- ``suspect`` when the positive score reaches ``suspect_threshold``, ``no_match`` below it;
- ``match`` only where ``match_threshold`` is set and reached. A classifier says what a picture looks like, not
  whose it is, so by default it sends items to review and never decides alone.

The detections' ``details`` give the facts an officer needs: the model, its top labels and scores, for a video the
sampled frames' times and scores, for text what was cut, for audio a transcript excerpt.

Calls into one detector are serialised (a lock): tokenizers are not safe to call from two threads at once, and on
a CPU torch already spreads one call over the cores. Use one detector per thread for parallel GPUs.

The ``ml`` extra is needed: ``pip install 'takedown[ml]'`` (and the ``video`` extra for video and audio).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from takedown.detect.base import Detector, error_detection
from takedown.detect.frames import SampledFrame, extract_audio, load_image, sample_timed_frames
from takedown.errors import DetectionError, MissingDependencyError, UsageError
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, Media, MediaKind

__all__ = [
    "AudioTranscriptConfig",
    "AudioTranscriptDetector",
    "ImageClassifierConfig",
    "ImageClassifierDetector",
    "SpeechTranscriber",
    "SpeechTranscriberConfig",
    "TextClassifierConfig",
    "TextClassifierDetector",
    "Transcription",
    "VideoClassifierConfig",
    "VideoClassifierDetector",
]

_TOP = 5  # labels listed in details


def _import_transformers() -> Any:
    try:
        import torch  # noqa: F401  (a clearer message than transformers' own when torch is missing)
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "transformers", "ml", feature="classifier detectors") from exc
    return transformers


# -- configuration -----------------------------------------------------------------------------------------------


class _ModelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=(), defer_build=True)

    model: str = Field(min_length=1, description="a local model folder (loaded offline), or a hub model name")
    device: str = Field(default="cpu", description="torch device: cpu, cuda, cuda:1, mps")

    @field_validator("model", mode="before")
    @classmethod
    def _path_to_str(cls, value: object) -> object:
        return str(value) if isinstance(value, PathLike) else value


class _ClassifierConfig(_ModelConfig):
    positive_labels: frozenset[str] = Field(
        min_length=1, description="the model's labels that mean 'flag this' (case-insensitive)"
    )
    positive_score: Literal["max", "sum"] = Field(
        default="max", description="the positive score: the best positive label's score, or their sum (capped at 1)"
    )
    suspect_threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="positive score >= this: suspect")
    match_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="positive score >= this: match (None: never a match)"
    )
    batch_size: int = Field(default=8, ge=1, description="items (or frames, or text chunks) per model call")

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> _ClassifierConfig:
        if self.match_threshold is not None and self.match_threshold < self.suspect_threshold:
            raise ValueError("match_threshold must be at least suspect_threshold")
        return self


class ImageClassifierConfig(_ClassifierConfig):
    """Settings of ``ImageClassifierDetector`` (and the per-frame part of ``VideoClassifierConfig``)."""

    task: Literal["image-classification", "zero-shot-image-classification"] = "image-classification"
    candidate_labels: tuple[str, ...] = Field(
        default=(), description="zero-shot only: the labels the model chooses between (positive ones among them)"
    )
    hypothesis_template: str | None = Field(
        default=None, description="zero-shot only: e.g. 'a photo of {}.' (None: the pipeline's default)"
    )
    max_side: int = Field(default=512, ge=16, description="pictures are scaled down to this before the processor")

    @model_validator(mode="after")
    def _zero_shot_labels(self) -> ImageClassifierConfig:
        if self.task == "zero-shot-image-classification":
            if len(set(self.candidate_labels)) < 2:
                raise ValueError("zero-shot classification needs at least two distinct candidate_labels")
            known = {label.casefold() for label in self.candidate_labels}
            missing = sorted(label for label in self.positive_labels if label.casefold() not in known)
            if missing:
                raise ValueError(f"positive_labels {missing} are not among the candidate_labels")
        elif self.candidate_labels or self.hypothesis_template is not None:
            raise ValueError("candidate_labels and hypothesis_template are for zero-shot-image-classification")
        return self


class VideoClassifierConfig(ImageClassifierConfig):
    """Settings of ``VideoClassifierDetector``: an image classifier's, plus how frames are sampled and combined."""

    frames: int = Field(default=8, ge=1, le=256, description="frames sampled, evenly over the duration")
    aggregate: Literal["max", "mean", "top_k_share"] = Field(
        default="max",
        description="the video's score: the best frame's, the frames' mean, or the share of frames scoring at "
        "least frame_threshold",
    )
    frame_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="top_k_share: a frame counts when its positive score is this high"
    )


class TextClassifierConfig(_ClassifierConfig):
    """Settings of ``TextClassifierDetector``."""

    max_chars: int = Field(default=20_000, ge=1, description="longer text is cut to this many characters first")
    chunk_chars: int = Field(
        default=1_000, ge=1,
        description="the text is judged in chunks of this many characters (the best chunk counts), so a long page "
        "is read past the model's token limit; each chunk is still truncated to that limit",
    )


class SpeechTranscriberConfig(_ModelConfig):
    """Settings of ``SpeechTranscriber``."""

    chunk_length_s: float | None = Field(
        default=30.0, gt=0, description="long audio is transcribed in chunks of this many seconds (None: in one go)"
    )
    max_seconds: float = Field(default=600.0, gt=0, description="only the first this many seconds are transcribed")
    language: str | None = Field(
        default=None, description="for Whisper-style (generative) models: the spoken language, e.g. 'korean'"
    )
    batch_size: int = Field(default=1, ge=1, description="chunks per model call")


class AudioTranscriptConfig(BaseModel):
    """Settings of ``AudioTranscriptDetector``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    excerpt_chars: int = Field(default=300, ge=0, description="how much of the transcript goes into details")


# -- the shared machinery ----------------------------------------------------------------------------------------


class _Pipeline:
    """One transformers pipeline, built on first use (once) and called under a lock; failures become errors."""

    def __init__(self, task: str, config: _ModelConfig, plugin: str, pipe: Callable[..., Any] | None = None) -> None:
        self.task = task
        self.config = config
        self.plugin = plugin
        self._lock = threading.RLock()
        self._pipe: Any = pipe

    def load(self) -> Any:
        """The pipeline, built now if it is not yet.

        Raises:
            MissingDependencyError: transformers or torch is not installed.
            DetectionError: the model cannot be loaded (the message is the loader's).
        """
        with self._lock:
            if self._pipe is None:
                transformers = _import_transformers()
                folder = Path(self.config.model).expanduser()
                try:
                    parts = _local_parts(transformers, self.task, folder) if folder.is_dir() else {
                        "model": self.config.model}
                    self._pipe = transformers.pipeline(self.task, device=self.config.device, **parts)
                except Exception as exc:  # transformers raises OSError, ValueError, RuntimeError...
                    raise DetectionError(
                        f"cannot load the {self.task} model {self.config.model}: {exc}", plugin=self.plugin
                    ) from exc
            return self._pipe

    def __call__(self, inputs: Any, **kwargs: Any) -> Any:
        """Run the pipeline on ``inputs``.

        Raises:
            DetectionError: the model failed (its message is kept).
        """
        with self._lock:
            pipe = self.load()
            try:
                return pipe(inputs, **kwargs)
            except Exception as exc:  # torch and the processors raise anything
                raise DetectionError(f"model {self.config.model} failed: {exc}", plugin=self.plugin) from exc


_MODEL_CLASSES = {
    "image-classification": ("AutoModelForImageClassification",),
    "zero-shot-image-classification": ("AutoModelForZeroShotImageClassification",),
    "text-classification": ("AutoModelForSequenceClassification",),
    "automatic-speech-recognition": ("AutoModelForCTC", "AutoModelForSpeechSeq2Seq"),
}
_PARTS = {
    "image-classification": ("image_processor",),
    "zero-shot-image-classification": ("tokenizer", "image_processor"),
    "text-classification": ("tokenizer",),
    "automatic-speech-recognition": ("tokenizer", "feature_extractor"),
}
_PART_CLASSES = {
    "tokenizer": "AutoTokenizer", "image_processor": "AutoImageProcessor", "feature_extractor": "AutoFeatureExtractor",
}


def _local_parts(transformers: Any, task: str, folder: Path) -> dict[str, Any]:
    """The model and its processors loaded from ``folder`` with ``local_files_only`` (never a hub lookup).

    ``pipeline(model=folder, local_files_only=True)`` is what one would write, but transformers 5 passes the flag on
    to the pipeline class, which rejects it; loading the parts here and handing them over avoids that.
    """
    model: Any = None
    problems: list[str] = []
    for name in _MODEL_CLASSES[task]:
        try:
            model = getattr(transformers, name).from_pretrained(str(folder), local_files_only=True)
            break
        except ValueError as exc:  # this auto class does not know the model's architecture: try the next
            problems.append(str(exc).splitlines()[0])
    if model is None:
        raise ValueError("; ".join(problems))
    parts: dict[str, Any] = {"model": model}
    for part in _PARTS[task]:
        parts[part] = getattr(transformers, _PART_CLASSES[part]).from_pretrained(str(folder), local_files_only=True)
    return parts


def _labels_of(pipe: Any) -> list[str]:
    id2label = getattr(getattr(getattr(pipe, "model", None), "config", None), "id2label", None) or {}
    return [str(label) for label in id2label.values()]


def _check_positive_labels(pipe: Any, config: _ClassifierConfig, plugin: str) -> None:
    """A positive label the model does not have would never flag anything: say so at once."""
    labels = _labels_of(pipe)
    known = {label.casefold() for label in labels}
    missing = sorted(label for label in config.positive_labels if label.casefold() not in known)
    if labels and missing:
        raise UsageError(
            f"{plugin}: positive_labels {missing} are not labels of model {config.model}; its labels are "
            f"{sorted(labels)}"
        )


@dataclass(frozen=True)
class _Scored:
    """The model's scores for one input, and what they mean."""

    scores: dict[str, float]  # label -> score, best first
    positive: float  # the positive score, 0..1


def _results(raw: Any, count: int, config: _ModelConfig, plugin: str) -> list[Any]:
    """The pipeline's output for ``count`` inputs as a list of one result per input.

    Raises:
        DetectionError: the output is not a list of ``count`` results.
    """
    if not isinstance(raw, list | tuple) or len(raw) != count:
        got = f"{len(raw)} results" if isinstance(raw, list | tuple) else f"a {type(raw).__name__}"
        raise DetectionError(f"model {config.model} gave {got} for {count} inputs", plugin=plugin)
    return list(raw)


def _scored(raw: Any, config: _ClassifierConfig, plugin: str) -> _Scored:
    """One input's result (a list of ``{"label": ..., "score": ...}``) read as scores.

    Raises:
        DetectionError: the result is not such a list, or a score is not a number from 0 to 1.
    """
    try:  # a pipeline's output is only as well-formed as its model and its version: check it, never trust it
        pairs = sorted(((str(r["label"]), float(r["score"])) for r in raw), key=lambda p: -p[1])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DetectionError(
            f"model {config.model} gave a result that is not a list of label scores: {_excerpt(raw)}", plugin=plugin
        ) from exc
    bad = [score for _, score in pairs if not 0.0 <= score <= 1.0]  # also NaN
    if bad:
        raise DetectionError(f"model {config.model} gave scores outside 0..1: {bad[:3]}", plugin=plugin)
    wanted = {label.casefold() for label in config.positive_labels}
    hits = [score for label, score in pairs if label.casefold() in wanted]
    positive = (sum(hits) if config.positive_score == "sum" else max(hits)) if hits else 0.0
    return _Scored(scores=dict(pairs), positive=min(max(positive, 0.0), 1.0))


def _excerpt(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _label(score: float, config: _ClassifierConfig) -> DetectionLabel:
    if config.match_threshold is not None and score >= config.match_threshold:
        return DetectionLabel.MATCH
    return DetectionLabel.SUSPECT if score >= config.suspect_threshold else DetectionLabel.NO_MATCH


def _top(scores: dict[str, float]) -> str:
    return ", ".join(f"{label}={score:.4f}" for label, score in list(scores.items())[:_TOP])


def _reason(what: str, score: float, label: DetectionLabel, config: _ClassifierConfig) -> str:
    if label is DetectionLabel.MATCH:
        return f"{what}: positive score {score:.2f} >= match threshold {config.match_threshold:.2f}"
    if label is DetectionLabel.SUSPECT:
        return f"{what}: positive score {score:.2f} >= suspect threshold {config.suspect_threshold:.2f}"
    return f"{what}: positive score {score:.2f} < suspect threshold {config.suspect_threshold:.2f}"


def _blob(item: Media | Candidate, kinds: frozenset[MediaKind], plugin: str) -> tuple[Media, Path]:
    if not isinstance(item, Media) or item.kind not in kinds:
        what = " and ".join(sorted(k.value for k in kinds))
        raise DetectionError(f"{plugin} judges downloaded {what} media", plugin=plugin)
    if item.blob is None:
        raise DetectionError(f"{plugin} judges downloaded media (the item has no blob)", plugin=plugin)
    return item, Path(item.blob)


class _ImageScorer:
    """Scores pictures with an image-classification or zero-shot pipeline, in batches."""

    def __init__(self, config: ImageClassifierConfig, plugin: str, pipe: Callable[..., Any] | None = None) -> None:
        self.config = config
        self.plugin = plugin
        self.pipeline = _Pipeline(config.task, config, plugin, pipe)
        self._checked = False

    def load(self) -> None:
        pipe = self.pipeline.load()
        if not self._checked and self.config.task == "image-classification":
            _check_positive_labels(pipe, self.config, self.plugin)
        self._checked = True

    def score(self, images: Sequence[Any]) -> list[_Scored]:
        """One ``_Scored`` per picture, in order.

        Raises:
            DetectionError: the model failed.
        """
        if not images:
            return []
        self.load()
        config = self.config
        kwargs: dict[str, Any] = {"batch_size": config.batch_size}
        if config.task == "zero-shot-image-classification":
            kwargs["candidate_labels"] = list(config.candidate_labels)
            if config.hypothesis_template is not None:
                kwargs["hypothesis_template"] = config.hypothesis_template
        else:
            kwargs["top_k"] = None  # every label: a positive label may not be among the top few
        raw = self.pipeline(list(images), **kwargs)
        return [_scored(r, config, self.plugin) for r in _results(raw, len(images), config, self.plugin)]


# -- images ------------------------------------------------------------------------------------------------------


class ImageClassifierDetector:
    """Flags images that an image classifier (or a zero-shot CLIP-style model) scores as positive.

    See the module docstring for how labels and thresholds become verdicts. ``detect_batch`` runs the model on
    many images at once (``batch_size`` per call), giving the same scores as ``detect`` one by one.

    Args:
        config: the model and how its labels become verdicts.
        pipeline: a ready transformers pipeline for ``config.task`` (or anything called and answering
            like one), used instead of loading ``config.model``: one already placed on a device, or a stand-in in
            tests. Its output is checked: a malformed one is a ``DetectionError``.
    """

    name: ClassVar[str] = "image_classifier"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.IMAGE})

    def __init__(self, config: ImageClassifierConfig, *, pipeline: Callable[..., Any] | None = None) -> None:
        self.config = config
        self._scorer = _ImageScorer(config, self.name, pipeline)

    def load(self) -> None:
        """Load the model now (it is otherwise loaded on first use).

        Raises:
            MissingDependencyError: the ``ml`` extra is not installed.
            DetectionError: the model cannot be loaded.
            UsageError: a positive label is not one of the model's labels.
        """
        self._scorer.load()

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """Classify one downloaded image.

        Raises:
            DetectionError: the item is not a downloaded image, its bytes are not an image, or the model failed.
            UsageError: a positive label is not one of the model's labels.
        """
        media, image = self._load(item)
        return self._verdict(media, self._scorer.score([image])[0])

    def detect_batch(self, items: Sequence[Media | Candidate], *, case: Case) -> list[Detection]:
        """Classify many images with batched model calls; an item that cannot be judged gets an ``error`` detection.

        Raises:
            UsageError: a positive label is not one of the model's labels.
        """
        out: list[Detection | None] = [None] * len(items)
        loaded: list[tuple[int, Media, Any]] = []
        for index, item in enumerate(items):
            try:
                media, image = self._load(item)
            except DetectionError as exc:
                out[index] = error_detection(item, detector=self.name, reason=str(exc))
                continue
            loaded.append((index, media, image))
        try:
            scored = self._scorer.score([image for _, _, image in loaded])
            for (index, media, _), result in zip(loaded, scored, strict=True):
                out[index] = self._verdict(media, result)
        except DetectionError:
            for index, media, image in loaded:  # find the item the model chokes on; judge the others
                try:
                    out[index] = self._verdict(media, self._scorer.score([image])[0])
                except DetectionError as exc:
                    out[index] = error_detection(media, detector=self.name, reason=str(exc))
        return [d for d in out if d is not None]

    def _load(self, item: Media | Candidate) -> tuple[Media, Any]:
        media, path = _blob(item, frozenset({MediaKind.IMAGE}), self.name)
        try:
            return media, load_image(path, max_side=self.config.max_side)
        except DetectionError as exc:
            raise DetectionError(str(exc), plugin=self.name) from exc

    def _verdict(self, media: Media, result: _Scored) -> Detection:
        label = _label(result.positive, self.config)
        return Detection(
            detector=self.name, target=media.sha256, kind=ItemKind.IMAGE, label=label,
            score=round(result.positive, 4),
            rationale=_reason(f"image classifier {Path(self.config.model).name}", result.positive, label, self.config),
            details={"model": self.config.model, "task": self.config.task, "top_labels": _top(result.scores),
                     "positive_labels": ", ".join(sorted(self.config.positive_labels))},
        )


# -- video -------------------------------------------------------------------------------------------------------


class VideoClassifierDetector:
    """Classifies frames sampled evenly over a video and combines their positive scores.

    ``aggregate``: ``max`` (one flagged frame flags the video), ``mean`` (how flagged the video is overall) or
    ``top_k_share`` (the share of frames scoring at least ``frame_threshold``). The details list each sampled
    frame's time and score, and the frames that scored highest.

    Args:
        config: the model, the frames and how its labels become verdicts.
        pipeline: a ready transformers pipeline for ``config.task`` (or anything called and answering
            like one), used instead of loading ``config.model``: one already placed on a device, or a stand-in in
            tests. Its output is checked: a malformed one is a ``DetectionError``.
    """

    name: ClassVar[str] = "video_classifier"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.VIDEO})

    def __init__(self, config: VideoClassifierConfig, *, pipeline: Callable[..., Any] | None = None) -> None:
        self.config = config
        self._scorer = _ImageScorer(config, self.name, pipeline)

    def load(self) -> None:
        """Load the model now (see ``ImageClassifierDetector.load``)."""
        self._scorer.load()

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """Classify a downloaded video by its sampled frames.

        Raises:
            DetectionError: the item is not a downloaded video, no frame of it decodes, or the model failed.
            UsageError: a positive label is not one of the model's labels.
        """
        media, path = _blob(item, frozenset({MediaKind.VIDEO}), self.name)
        config = self.config
        try:
            frames = sample_timed_frames(path, count=config.frames, max_side=config.max_side)
        except DetectionError as exc:
            raise DetectionError(str(exc), plugin=self.name) from exc
        scored = self._scorer.score([f.image for f in frames])
        positives = [s.positive for s in scored]
        if config.aggregate == "max":
            score = max(positives)
        elif config.aggregate == "mean":
            score = sum(positives) / len(positives)
        else:
            score = sum(p >= config.frame_threshold for p in positives) / len(positives)
        label = _label(score, config)
        ranked = sorted(zip(frames, scored, strict=True), key=lambda fs: -fs[1].positive)
        what = f"video classifier {Path(config.model).name} ({config.aggregate} of {len(frames)} frames)"
        details = {
            "model": config.model, "task": config.task, "aggregate": config.aggregate, "frames": str(len(frames)),
            "frame_scores": _frame_list(zip(frames, positives, strict=True)),
            "top_frames": _frame_list((f, s.positive) for f, s in ranked[:3]),
            "top_labels": _top(ranked[0][1].scores), "positive_labels": ", ".join(sorted(config.positive_labels)),
        }
        if config.aggregate == "top_k_share":
            details["frame_threshold"] = f"{config.frame_threshold:.2f}"
        return Detection(detector=self.name, target=media.sha256, kind=ItemKind.VIDEO, label=label,
                         score=round(min(max(score, 0.0), 1.0), 4), rationale=_reason(what, score, label, config),
                         details=details)


def _frame_list(pairs: Iterable[tuple[SampledFrame, float]]) -> str:
    return ", ".join(f"{frame.time:.2f}s={score:.4f}" for frame, score in pairs)


# -- text --------------------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """``text`` with what no tokenizer takes (lone surrogates from badly decoded bytes) replaced by U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8", "replace") if text else ""


class TextClassifierDetector:
    """Flags a page whose text a text classifier scores as positive.

    The page's title, text and, where a transcriber put one there, ``metadata["transcript"]`` are joined, cut to
    ``max_chars`` and judged in chunks of ``chunk_chars`` (one batched model call); the best chunk's positive score
    is the page's.

    Args:
        config: the model and how its labels become verdicts.
        pipeline: a ready transformers ``text-classification`` pipeline (or anything called and answering
            like one), used instead of loading ``config.model``: one already placed on a device, or a stand-in in
            tests. Its output is checked: a malformed one is a ``DetectionError``.
    """

    name: ClassVar[str] = "text_classifier"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.TEXT})

    def __init__(self, config: TextClassifierConfig, *, pipeline: Callable[..., Any] | None = None) -> None:
        self.config = config
        self._pipeline = _Pipeline("text-classification", config, self.name, pipeline)
        self._checked = False

    def load(self) -> None:
        """Load the model now (see ``ImageClassifierDetector.load``)."""
        pipe = self._pipeline.load()
        if not self._checked:
            _check_positive_labels(pipe, self.config, self.name)
        self._checked = True

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """Classify a page's text.

        Raises:
            DetectionError: the item is not a page (``Candidate``), or the model failed.
            UsageError: a positive label is not one of the model's labels.
        """
        if not isinstance(item, Candidate):
            raise DetectionError(f"{self.name} judges a page's text, not media", plugin=self.name)
        config = self.config
        parts = [item.title, item.text]
        transcript = item.metadata.get("transcript", "")
        if transcript and transcript not in item.text:
            parts.append(transcript)
        text = _clean("\n".join(p for p in parts if p.strip()))
        details: dict[str, str] = {"model": config.model, "positive_labels": ", ".join(sorted(config.positive_labels))}
        if not text.strip():
            return Detection(detector=self.name, target="text", kind=ItemKind.TEXT, label=DetectionLabel.NO_MATCH,
                             score=0.0, rationale="the page has no text to judge", details=details)
        if len(text) > config.max_chars:
            details["text_cut"] = f"judged the first {config.max_chars} of {len(text)} characters"
            text = text[: config.max_chars]
        chunks = [text[i : i + config.chunk_chars] for i in range(0, len(text), config.chunk_chars)]
        self.load()
        raw = self._pipeline(chunks, top_k=None, truncation=True, batch_size=config.batch_size)
        scored = [_scored(r, config, self.name) for r in _results(raw, len(chunks), config, self.name)]
        best = max(range(len(scored)), key=lambda i: scored[i].positive)
        score = scored[best].positive
        label = _label(score, config)
        details.update({"chunks": str(len(chunks)), "top_labels": _top(scored[best].scores),
                        "excerpt": chunks[best][:200]})
        if len(chunks) > 1:
            details["best_chunk"] = f"{best + 1} of {len(chunks)} (characters {best * config.chunk_chars} on)"
        what = f"text classifier {Path(config.model).name}"
        return Detection(detector=self.name, target="text", kind=ItemKind.TEXT, label=label, score=round(score, 4),
                         rationale=_reason(what, score, label, config), details=details)


# -- speech ------------------------------------------------------------------------------------------------------


class Transcription(BaseModel):
    """What a ``SpeechTranscriber`` heard in a file."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    text: str = Field(description="the transcript ('' when there is no audio track, or nothing was heard)")
    audio_seconds: float | None = Field(description="seconds of sound transcribed; None: the file has no audio track")
    cut: bool = Field(default=False, description="the sound was longer than max_seconds and was cut there")


class SpeechTranscriber:
    """Transcribes the audio track of a video or audio file with an automatic-speech-recognition pipeline.

    Wav2Vec2-style (CTC) and Whisper-style (generative) models both work; the sound is resampled to the rate the
    model's feature extractor asks for.
    """

    def __init__(self, config: SpeechTranscriberConfig) -> None:
        self.config = config
        self._pipeline = _Pipeline("automatic-speech-recognition", config, "speech_transcriber")

    def load(self) -> None:
        """Load the model now (it is otherwise loaded on first use).

        Raises:
            MissingDependencyError: the ``ml`` extra is not installed.
            DetectionError: the model cannot be loaded.
        """
        self._pipeline.load()

    def transcribe(self, path: Path) -> str:
        """The transcript of ``path``'s first audio track; ``""`` when it has none.

        Raises:
            DetectionError: the file cannot be decoded, or the model failed.
        """
        return self.transcribe_file(path).text

    def transcribe_file(self, path: Path) -> Transcription:
        """``transcribe``, with how much sound there was (None: no audio track) and whether it was cut.

        Raises:
            DetectionError: the file cannot be decoded, or the model failed.
        """
        config = self.config
        pipe = self._pipeline.load()
        rate = int(getattr(getattr(pipe, "feature_extractor", None), "sampling_rate", 0) or 16000)
        audio = extract_audio(Path(path), sample_rate=rate, max_seconds=config.max_seconds)
        if audio is None:
            return Transcription(text="", audio_seconds=None)
        seconds = round(audio.size / rate, 3)
        kwargs: dict[str, Any] = {"batch_size": config.batch_size}
        if config.chunk_length_s is not None and seconds > config.chunk_length_s:
            kwargs["chunk_length_s"] = config.chunk_length_s
        if config.language is not None:
            kwargs["generate_kwargs"] = {"language": config.language}
        result = self._pipeline({"raw": audio, "sampling_rate": rate}, **kwargs)
        text = str(result.get("text", "") if isinstance(result, dict) else result).strip()
        return Transcription(text=text, audio_seconds=seconds, cut=seconds >= config.max_seconds)


class AudioTranscriptDetector:
    """Judges what is said in a video or audio file: transcribes it, then hands the transcript to a text detector.

    The text detector (any ``Detector`` accepting ``ItemKind.TEXT``: a ``TextClassifierDetector``, a keyword
    detector...) gets a ``Candidate`` whose ``text`` and ``metadata["transcript"]`` are the transcript; its verdict
    comes back under this detector's name, targeted at the media, with the transcript excerpt in the details. A file
    without an audio track, or with nothing heard in it, is ``no_match``.
    """

    name: ClassVar[str] = "audio_transcript"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.VIDEO, ItemKind.AUDIO})

    def __init__(
        self, transcriber: SpeechTranscriber, text_detector: Detector, config: AudioTranscriptConfig | None = None
    ) -> None:
        if ItemKind.TEXT not in text_detector.accepts:
            raise UsageError(f"the text detector {text_detector.name!r} does not accept text")
        self.transcriber = transcriber
        self.text_detector = text_detector
        self.config = config or AudioTranscriptConfig()

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """Transcribe a downloaded video or audio file and judge the transcript.

        Raises:
            DetectionError: the item is not downloaded video or audio, it cannot be decoded, the speech model
                failed, or the text detector did.
        """
        media, path = _blob(item, frozenset({MediaKind.VIDEO, MediaKind.AUDIO}), self.name)
        kind = ItemKind(media.kind.value)
        try:
            heard = self.transcriber.transcribe_file(path)
        except DetectionError as exc:
            raise DetectionError(str(exc), plugin=self.name) from exc
        details = {"text_detector": self.text_detector.name, "speech_model": self.transcriber.config.model}
        if heard.audio_seconds is None:
            return Detection(detector=self.name, target=media.sha256, kind=kind, label=DetectionLabel.NO_MATCH,
                             score=0.0, rationale="the file has no audio track",
                             details={**details, "audio": "no audio track"})
        details["audio_seconds"] = f"{heard.audio_seconds:.2f}"
        if heard.cut:
            details["audio_cut"] = f"only the first {self.transcriber.config.max_seconds:g} seconds were transcribed"
        if not heard.text:
            return Detection(detector=self.name, target=media.sha256, kind=kind, label=DetectionLabel.NO_MATCH,
                             score=0.0, rationale="nothing was heard in the audio track",
                             details={**details, "transcript_chars": "0"})
        page = Candidate(case_id=case.id, site="media", url=media.url, text=heard.text,
                         metadata={"transcript": heard.text, "media_sha256": media.sha256})
        try:
            inner = self.text_detector.detect(page, case=case)
        except DetectionError as exc:
            raise DetectionError(f"the text detector {self.text_detector.name!r} failed on the transcript: {exc}",
                                 plugin=self.name) from exc
        excerpt = heard.text[: self.config.excerpt_chars]
        return inner.model_copy(update={
            "detector": self.name, "target": media.sha256, "kind": kind,
            "rationale": f"transcript judged by {self.text_detector.name}: {inner.rationale}",
            "details": {**inner.details, **details, "transcript_chars": str(len(heard.text)),
                        "transcript_excerpt": excerpt},
        })
