"""The detector benchmark: run detectors side by side on a labelled dataset and measure how well and how fast.

``run_benchmark(detectors, dataset)`` hands every detector each item of a kind it ``accepts`` (a ``Media`` for a
file, a ``Candidate`` for a text), judged against the dataset's case, and returns a ``BenchReport``:

- **quality**, per detector: the confusion matrix, precision, recall and F1 from the labels, ROC-AUC and PR-AUC
  (average precision) from the scores, the ROC and precision-recall curves, and a breakdown by group (the share
  of each transform's copies, or each evasion's texts, that was flagged);
- **speed**, kept apart (``timings``): latency per item (p50, p95, mean, max) and items per second.

What counts as a positive prediction is explicit in ``BenchConfig``: by default a ``match`` or ``suspect`` label.
An item a detector cannot judge (it raises ``DetectionError`` or crashes with another exception, or answers
``error``) is counted in ``errors`` and, by default, as a negative prediction with score 0: a detector that fails is
not credited with a catch. The run goes on: detectors are run as the workflow runs them
(:func:`takedown.detect.base.detect_items`).

Everything but the timings is reproducible: the same detectors, dataset and seed give the same ``metrics_json()``.
``write_report`` writes ``report.json``, ``report.md``, ``predictions.jsonl`` and PNG plots (matplotlib, the
``bench`` extra).
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import mimetypes
import os
import platform
import random
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from takedown._version import __version__
from takedown.detect.base import BatchDetector, Detector, detect_items
from takedown.detect.datasets import Dataset, DatasetItem
from takedown.detect.defaults import builtin_detector_types
from takedown.detect.references import file_digests
from takedown.errors import DatasetError, MissingDependencyError, UnknownPluginError, UsageError
from takedown.files import atomic_write
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, Media, MediaKind

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "BenchConfig",
    "BenchReport",
    "Confusion",
    "DetectorMetrics",
    "DetectorTiming",
    "GroupResult",
    "ItemResult",
    "PrPoint",
    "RocPoint",
    "average_precision",
    "build_detectors",
    "parse_detector_options",
    "pr_curve",
    "roc_auc",
    "roc_curve",
    "run_benchmark",
    "write_report",
]

_Frozen = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class BenchConfig(BaseModel):
    """How predictions are counted."""

    model_config = _Frozen

    positive_labels: tuple[DetectionLabel, ...] = Field(
        default=(DetectionLabel.MATCH, DetectionLabel.SUSPECT),
        description="a detection with one of these labels is a positive prediction",
    )
    errors: Literal["negative", "skip"] = Field(
        default="negative",
        description="an item the detector could not judge: a negative prediction with score 0, or left out of the "
        "quality metrics (it is counted in errors either way)",
    )
    batch_size: int = Field(default=32, ge=1, description="items per call to a batch detector's detect_batch")

    @field_validator("positive_labels")
    @classmethod
    def _sorted_labels(cls, value: tuple[DetectionLabel, ...]) -> tuple[DetectionLabel, ...]:
        if not value:
            raise ValueError("at least one label must count as a positive prediction")
        if DetectionLabel.ERROR in value:
            raise ValueError("error is not a prediction; see BenchConfig.errors")
        order = list(DetectionLabel)
        return tuple(sorted(set(value), key=order.index))  # one spelling per set, so the JSON is reproducible


# -- report models -----------------------------------------------------------------------------------------------


class Confusion(BaseModel):
    """Counts of a detector's predictions against the truth."""

    model_config = _Frozen

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0


class RocPoint(BaseModel):
    """One point of a ROC curve: predictions are positive at scores >= ``threshold`` (``None``: none is)."""

    model_config = _Frozen

    threshold: float | None
    fpr: float
    tpr: float


class PrPoint(BaseModel):
    """One point of a precision-recall curve: positive at scores >= ``threshold`` (``None``: the start point)."""

    model_config = _Frozen

    threshold: float | None
    recall: float
    precision: float


class GroupResult(BaseModel):
    """How one group of items (a transform, an evasion) fared: the share a detector flagged."""

    model_config = _Frozen

    group: str
    positive: bool = Field(description="the truth of these items: for positives the share is a recall, else a "
                           "false-positive rate")
    items: int
    flagged: int
    errors: int
    share_flagged: float


class ItemResult(BaseModel):
    """One detector's verdict on one item."""

    model_config = _Frozen

    detector: str
    item: str
    kind: ItemKind
    group: str
    positive: bool
    label: DetectionLabel
    score: float
    predicted: bool = Field(description="counted as a positive prediction")
    rationale: str = ""
    error: str | None = None


class DetectorMetrics(BaseModel):
    """A detector's quality on the items it accepts. A metric that is undefined on the data is ``None``."""

    model_config = _Frozen

    detector: str
    kinds: tuple[ItemKind, ...]
    items: int = Field(description="items judged (errors included)")
    positives: int
    negatives: int
    errors: int
    inconsistent: int = Field(description="items whose verdict changed between repeats")
    confusion: Confusion
    precision: float | None = Field(description="None when nothing was predicted positive")
    recall: float | None = Field(description="None when no item is positive")
    f1: float | None
    roc_auc: float | None = Field(description="None unless both classes are present")
    pr_auc: float | None = Field(description="average precision; None when no item is positive")
    roc: tuple[RocPoint, ...] = ()
    pr: tuple[PrPoint, ...] = ()
    groups: tuple[GroupResult, ...] = ()


class DetectorTiming(BaseModel):
    """How fast a detector judged (not reproducible: it depends on the machine and its load)."""

    model_config = _Frozen

    detector: str
    calls: int = Field(description="items judged, over every repeat")
    batched: bool
    seconds: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    latency_ms_mean: float | None
    latency_ms_max: float | None
    items_per_second: float | None


_PerDetector = TypeVar("_PerDetector", DetectorMetrics, DetectorTiming)


class BenchReport(BaseModel):
    """The result of ``run_benchmark``: reproducible quality metrics, and the timings apart."""

    model_config = _Frozen

    dataset: str
    items: int
    positives: int
    seed: int
    repeat: int
    config: BenchConfig
    metrics: tuple[DetectorMetrics, ...]
    results: tuple[ItemResult, ...]
    timings: tuple[DetectorTiming, ...]
    environment: dict[str, str] = Field(default_factory=dict)

    def metric(self, detector: str) -> DetectorMetrics:
        """The metrics of one detector.

        Raises:
            UsageError: no detector of that name was benchmarked.
        """
        return self._of(self.metrics, detector)

    def timing(self, detector: str) -> DetectorTiming:
        """The timing of one detector.

        Raises:
            UsageError: no detector of that name was benchmarked.
        """
        return self._of(self.timings, detector)

    def _of(self, entries: Sequence[_PerDetector], detector: str) -> _PerDetector:
        for entry in entries:
            if entry.detector == detector:
                return entry
        raise UsageError(f"no detector {detector!r} in this report; it has {', '.join(self.detectors)}")

    @property
    def detectors(self) -> list[str]:
        """The detectors' names, in the order they ran."""
        return [m.detector for m in self.metrics]

    def metrics_json(self) -> str:
        """Everything reproducible, as JSON: the same detectors, dataset and seed always give the same text."""
        return self.model_dump_json(indent=2, exclude={"timings", "environment", "results"})

    def to_markdown(self) -> str:
        """The report as Markdown: a summary table, the confusion matrices and the per-group breakdown."""
        return _markdown(self)


# -- metrics -----------------------------------------------------------------------------------------------------


def _arrays(truth: Sequence[bool], scores: Sequence[float]) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    if len(truth) != len(scores):
        raise UsageError(f"{len(truth)} labels but {len(scores)} scores")
    return np.asarray(truth, dtype=bool), np.asarray(scores, dtype=np.float64)


def _cumulative(
    truth: Sequence[bool], scores: Sequence[float]
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """(distinct thresholds, descending; true positives and false positives at score >= each threshold)."""
    y, s = _arrays(truth, scores)
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(s)), y.size - 1] if y.size else np.array([], dtype=np.int64)
    tps = np.cumsum(y, dtype=np.int64)[last_of_each]
    fps = np.cumsum(~y, dtype=np.int64)[last_of_each]
    return s[last_of_each], tps, fps


def roc_curve(truth: Sequence[bool], scores: Sequence[float]) -> list[RocPoint]:
    """The ROC curve: (false-positive rate, true-positive rate) at each distinct score, highest first.

    Tied scores form one point. The curve starts at (0, 0) (threshold ``None``: nothing predicted positive). It is
    empty unless both classes are present.
    """
    thresholds, tps, fps = _cumulative(truth, scores)
    positives, negatives = (int(tps[-1]), int(fps[-1])) if thresholds.size else (0, 0)
    if not positives or not negatives:
        return []
    points = [RocPoint(threshold=None, fpr=0.0, tpr=0.0)]
    points += [RocPoint(threshold=float(t), fpr=int(fp) / negatives, tpr=int(tp) / positives)
               for t, tp, fp in zip(thresholds, tps, fps, strict=True)]
    return points


def roc_auc(truth: Sequence[bool], scores: Sequence[float]) -> float | None:
    """The area under the ROC curve (trapezoids, so a tie between a positive and a negative counts one half).

    It equals the chance that a random positive scores above a random negative. ``None`` unless both classes are
    present.
    """
    points = roc_curve(truth, scores)
    if not points:
        return None
    fpr = np.array([p.fpr for p in points])
    tpr = np.array([p.tpr for p in points])
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def pr_curve(truth: Sequence[bool], scores: Sequence[float]) -> list[PrPoint]:
    """The precision-recall curve at each distinct score, highest first, from (recall 0, precision 1).

    The curve ends at the highest threshold that reaches full recall (lower ones only lose precision), as
    scikit-learn's does. Empty when no item is positive.
    """
    thresholds, tps, fps = _cumulative(truth, scores)
    if not thresholds.size or not tps[-1]:
        return []
    positives = int(tps[-1])
    end = int(np.searchsorted(tps, positives)) + 1
    thresholds, tps, fps = thresholds[:end], tps[:end], fps[:end]
    points = [PrPoint(threshold=None, recall=0.0, precision=1.0)]
    points += [PrPoint(threshold=float(t), recall=int(tp) / positives, precision=int(tp) / int(tp + fp))
               for t, tp, fp in zip(thresholds, tps, fps, strict=True)]
    return points


def average_precision(truth: Sequence[bool], scores: Sequence[float]) -> float | None:
    """PR-AUC as average precision: the sum over thresholds of (gain in recall) x precision, without interpolation.

    ``None`` when no item is positive.
    """
    points = pr_curve(truth, scores)
    if not points:
        return None
    return float(sum((b.recall - a.recall) * b.precision for a, b in itertools.pairwise(points)))


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _quality(name: str, kinds: tuple[ItemKind, ...], results: Sequence[ItemResult], config: BenchConfig,
             inconsistent: int) -> DetectorMetrics:
    errors = sum(r.error is not None for r in results)
    counted = [r for r in results if not (r.error is not None and config.errors == "skip")]
    truth = [r.positive for r in counted]
    scores = [r.score for r in counted]
    c = Confusion(
        tp=sum(r.positive and r.predicted for r in counted),
        fp=sum(not r.positive and r.predicted for r in counted),
        tn=sum(not r.positive and not r.predicted for r in counted),
        fn=sum(r.positive and not r.predicted for r in counted),
    )
    precision, recall = _ratio(c.tp, c.tp + c.fp), _ratio(c.tp, c.tp + c.fn)
    f1 = None
    if precision is not None and recall is not None:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    groups = []
    for group, positive in sorted({(r.group, r.positive) for r in results}, key=lambda g: (not g[1], g[0])):
        members = [r for r in results if r.group == group and r.positive == positive]
        flagged = sum(r.predicted for r in members)
        groups.append(GroupResult(group=group, positive=positive, items=len(members), flagged=flagged,
                                  errors=sum(r.error is not None for r in members),
                                  share_flagged=flagged / len(members)))
    return DetectorMetrics(
        detector=name, kinds=kinds, items=len(results), positives=sum(r.positive for r in results),
        negatives=sum(not r.positive for r in results), errors=errors, inconsistent=inconsistent, confusion=c,
        precision=precision, recall=recall, f1=f1, roc_auc=roc_auc(truth, scores),
        pr_auc=average_precision(truth, scores), roc=tuple(roc_curve(truth, scores)),
        pr=tuple(pr_curve(truth, scores)), groups=tuple(groups),
    )


def _timing(name: str, latencies: Sequence[float], seconds: float, batched: bool) -> DetectorTiming:
    if not latencies:
        return DetectorTiming(detector=name, calls=0, batched=batched, seconds=seconds, latency_ms_p50=None,
                              latency_ms_p95=None, latency_ms_mean=None, latency_ms_max=None, items_per_second=None)
    ms = np.asarray(latencies, dtype=np.float64) * 1000
    return DetectorTiming(
        detector=name, calls=len(latencies), batched=batched, seconds=seconds,
        latency_ms_p50=float(np.percentile(ms, 50)), latency_ms_p95=float(np.percentile(ms, 95)),
        latency_ms_mean=float(ms.mean()), latency_ms_max=float(ms.max()),
        items_per_second=len(latencies) / seconds if seconds > 0 else None,
    )


# -- running -----------------------------------------------------------------------------------------------------


def _inputs(dataset: Dataset, case: Case) -> dict[str, Media | Candidate]:
    """What each item is handed to detectors as: a Media (hashed once, outside the timings) or a Candidate."""
    out: dict[str, Media | Candidate] = {}
    for item in dataset.items:
        if item.kind is ItemKind.TEXT:
            out[item.id] = Candidate(case_id=case.id, site="dataset", url=f"dataset://{dataset.name}/{item.id}",
                                     text=item.read_text(), language=item.language)
        else:
            assert item.path is not None  # a media item always has a path
            try:
                sha256, md5 = file_digests(item.path)
                size = item.path.stat().st_size
            except OSError as exc:
                raise DatasetError(f"cannot read item {item.id}: {exc}", path=str(item.path)) from exc
            out[item.id] = Media(
                url=item.path.as_uri(), kind=MediaKind(item.kind.value), size=size,
                content_type=mimetypes.guess_type(item.path.name)[0] or "application/octet-stream",
                sha256=sha256, md5=md5, blob=item.path,
            )
    return out


_Verdict = tuple[Detection, float]  # (detection, seconds); an item that could not be judged has an error detection


def _pass(detector: Detector, items: Sequence[DatasetItem], inputs: Mapping[str, Media | Candidate], case: Case,
          *, batch_size: int, progress: Callable[[int], None]) -> dict[str, _Verdict]:
    """One pass of a detector over the items: each item's verdict and the seconds it took (a batch detector's
    chunk time shared evenly among the chunk's items). Failures are recorded as the workflow records them
    (``detect_items``)."""
    verdicts: dict[str, _Verdict] = {}
    size = batch_size if isinstance(detector, BatchDetector) else 1
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        began = time.perf_counter()
        detections = detect_items(detector, [inputs[i.id] for i in chunk], case=case)
        elapsed = time.perf_counter() - began
        for item, detection in zip(chunk, detections, strict=True):
            verdicts[item.id] = (detection, elapsed / len(chunk))
        progress(len(chunk))
    return verdicts


def _result(name: str, item: DatasetItem, verdict: _Verdict, config: BenchConfig) -> ItemResult:
    detection, _ = verdict
    if detection.label is DetectionLabel.ERROR:
        return ItemResult(detector=name, item=item.id, kind=item.kind, group=item.group, positive=item.positive,
                          label=DetectionLabel.ERROR, score=0.0, predicted=False,
                          error=detection.rationale or "the detector answered error")
    return ItemResult(detector=name, item=item.id, kind=item.kind, group=item.group, positive=item.positive,
                      label=detection.label, score=detection.score,
                      predicted=detection.label in config.positive_labels, rationale=detection.rationale)


def run_benchmark(
    detectors: Sequence[Detector],
    dataset: Dataset,
    out: Path | None = None,
    *,
    seed: int = 0,
    repeat: int = 1,
    config: BenchConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> BenchReport:
    """Run each detector on every item of a kind it accepts, and measure its quality and speed.

    Args:
        detectors: the detectors to compare, each with a distinct ``name``. A ``BatchDetector`` is called with
            ``detect_batch``, in chunks of ``config.batch_size``; its per-item latency is the chunk's time divided
            by its size.
        dataset: the labelled items; its case (reference hashes, keywords) is built once, before any timing.
        out: if given, the report is also written there (``write_report``).
        seed: orders the items each detector sees (a seeded shuffle, so warm-up and caches do not line up with
            the labels); the metrics do not depend on it.
        repeat: how many times each detector judges every item; the timings cover every pass, the metrics come
            from the first, and items whose verdict changed are counted in ``inconsistent``.
        config: what counts as a positive prediction, how errors count (default ``BenchConfig()``).
        progress: called as ``progress(detector_name, done, total)`` while a detector runs.

    Returns:
        The report: quality metrics and per-item results (reproducible), timings and environment (not).

    Raises:
        UsageError: no detectors, two with one name, or ``repeat`` < 1.
        DatasetError: the dataset's references cannot be hashed, or an item's file cannot be read.
        MissingDependencyError: ``out`` is given and matplotlib (the ``bench`` extra) is missing.
    """
    config = config or BenchConfig()
    if not detectors:
        raise UsageError("give at least one detector to benchmark")
    names = [d.name for d in detectors]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(f"two detectors are named {', '.join(duplicates)}; a report tells detectors by name")
    if repeat < 1:
        raise UsageError(f"repeat is at least 1, not {repeat}")
    if out is not None:
        _matplotlib()  # fail before the run, not after it
    case = dataset.case()
    inputs = _inputs(dataset, case)
    metrics: list[DetectorMetrics] = []
    results: list[ItemResult] = []
    timings: list[DetectorTiming] = []
    for detector in detectors:
        name = detector.name
        items = [item for item in dataset.items if item.kind in detector.accepts]
        ordered = list(items)
        random.Random(f"{seed}:{name}").shuffle(ordered)
        batched = isinstance(detector, BatchDetector)
        total, done = len(items) * repeat, 0

        def advance(count: int, name: str = name, total: int = total) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(name, done, total)

        passes: list[dict[str, _Verdict]] = []
        began = time.perf_counter()
        for _ in range(repeat):
            passes.append(_pass(detector, ordered, inputs, case, batch_size=config.batch_size, progress=advance))
        seconds = time.perf_counter() - began
        first = [_result(name, item, passes[0][item.id], config) for item in items]
        inconsistent = sum(
            any(_result(name, item, later[item.id], config).model_dump(exclude={"rationale"})
                != first_result.model_dump(exclude={"rationale"}) for later in passes[1:])
            for item, first_result in zip(items, first, strict=True)
        )
        kinds = tuple(sorted({item.kind for item in items}, key=list(ItemKind).index))
        metrics.append(_quality(name, kinds, first, config, inconsistent))
        results += first
        timings.append(_timing(name, [v[1] for p in passes for v in p.values()], seconds, batched))
    report = BenchReport(
        dataset=dataset.name, items=len(dataset.items), positives=dataset.positives, seed=seed, repeat=repeat,
        config=config, metrics=tuple(metrics), results=tuple(results), timings=tuple(timings),
        environment=_environment(),
    )
    if out is not None:
        write_report(report, out)
    return report


def _environment() -> dict[str, str]:
    return {"takedown": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "cpus": str(os.cpu_count() or 0), "numpy": np.__version__}


# -- building detectors by name ----------------------------------------------------------------------------------


def parse_detector_options(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``DETECTOR.FIELD=VALUE`` strings as ``{detector: {field: value}}``, for ``build_detectors``.

    A value that parses as JSON is taken as JSON (``40``, ``true``, ``[0.9, 0.8]``), anything else as a string
    (a path, a model name).

    Raises:
        UsageError: a string is not of the form ``DETECTOR.FIELD=VALUE``.
    """
    options: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        detector, dot, field = key.strip().partition(".")
        if not sep or not dot or not detector or not field:
            raise UsageError(f"a detector option is DETECTOR.FIELD=VALUE (e.g. pdq.max_distance=40), not {pair!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        options.setdefault(detector, {})[field.strip()] = value
    return options


def _config_type(plugin: type) -> type[BaseModel] | None:
    """The pydantic config class a plugin's constructor takes as ``config``, if any."""
    try:
        parameter = inspect.signature(plugin).parameters.get("config")
        hints = typing.get_type_hints(cast(Any, plugin).__init__) if parameter is not None else {}
    except (TypeError, ValueError, NameError):
        return None
    annotation = hints.get("config")
    for candidate in typing.get_args(annotation) or (annotation,):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _builtin_detector(name: str) -> type:
    """The built-in detector class named ``name``, as ``default_registry()`` would give it.

    ``takedown.plugins`` composes every stage, so the detect stage looks its own detectors up instead.

    Raises:
        UnknownPluginError: no built-in detector has that name.
    """
    builtin = {plugin.name: plugin for plugin in builtin_detector_types()}
    if name not in builtin:
        raise UnknownPluginError("detector", name, list(builtin))
    return builtin[name]


def build_detectors(
    names: Sequence[str],
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    registry: Any = None,
) -> list[Detector]:
    """Detectors by plugin name, each built with its default config, or with ``options`` for its config.

    Args:
        names: plugin names of kind ``detector`` (``takedown plugins`` lists them).
        options: per detector name, fields of its config model (the constructor's ``config`` parameter), e.g.
            ``{"pdq": {"max_distance": 40}}``; ``parse_detector_options`` reads them from the command line.
        registry: a ``PluginRegistry`` (default: takedown's built-in detectors, ``builtin_detector_types()``:
            what ``takedown.plugins.default_registry()`` holds).

    Raises:
        UnknownPluginError: a name is not a registered detector.
        UsageError: options for a detector that was not named or takes no config, an invalid option value, or a
            detector that cannot be built without more configuration.
    """
    options = dict(options or {})
    unused = sorted(set(options) - set(names))
    if unused:
        raise UsageError(f"options given for {', '.join(unused)}, which is not among the detectors to run")
    detectors: list[Detector] = []
    for name in names:
        plugin = _builtin_detector(name) if registry is None else registry.get("detector", name)
        fields = options.get(name)
        config_type = _config_type(plugin)
        try:
            if fields:
                if config_type is None:
                    raise UsageError(f"detector {name} takes no config, so it has no option {', '.join(fields)}")
                built = plugin(config=config_type.model_validate(dict(fields)))
            else:
                built = plugin()
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise UsageError(f"invalid option for detector {name}: {problems}") from exc
        except TypeError as exc:
            raise UsageError(f"detector {name} cannot be built from options alone: {exc}") from exc
        if not isinstance(built, Detector):
            raise UsageError(f"plugin {name} is not a Detector")
        detectors.append(built)
    return detectors


# -- writing -----------------------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _markdown(report: BenchReport) -> str:
    config = report.config
    rule = " or ".join(label.value for label in config.positive_labels)
    errors = "a negative prediction with score 0" if config.errors == "negative" else "left out of the metrics"
    lines = [
        f"# Detector benchmark: {report.dataset}",
        "",
        f"{report.items} items ({report.positives} positive, {report.items - report.positives} negative); "
        f"seed {report.seed}, {report.repeat} pass(es). A positive prediction is a `{rule}` label; an item a detector "
        f"could not judge is {errors}. PR-AUC is average precision.",
        "",
        "| detector | kinds | items | precision | recall | F1 | ROC-AUC | PR-AUC | errors | p50 ms | p95 ms "
        "| items/s |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    timings = {t.detector: t for t in report.timings}
    for m in report.metrics:
        t = timings[m.detector]
        lines.append(
            f"| {m.detector} | {', '.join(k.value for k in m.kinds) or '-'} | {m.items} | {_fmt(m.precision)} | "
            f"{_fmt(m.recall)} | {_fmt(m.f1)} | {_fmt(m.roc_auc)} | {_fmt(m.pr_auc)} | {m.errors} | "
            f"{_fmt(t.latency_ms_p50, 2)} | {_fmt(t.latency_ms_p95, 2)} | {_fmt(t.items_per_second, 1)} |"
        )
    lines += ["", "## Confusion matrices", "", "| detector | TP | FP | TN | FN |", "|---|--:|--:|--:|--:|"]
    lines += [f"| {m.detector} | {m.confusion.tp} | {m.confusion.fp} | {m.confusion.tn} | {m.confusion.fn} |"
              for m in report.metrics]
    lines += ["", "## By group", "",
              "Share flagged: recall for positive groups, false-positive rate for negative ones.",
              "", "| detector | group | truth | items | flagged | share | errors |", "|---|---|---|--:|--:|--:|--:|"]
    for m in report.metrics:
        for g in m.groups:
            lines.append(f"| {m.detector} | {g.group or '-'} | {'positive' if g.positive else 'negative'} | "
                         f"{g.items} | {g.flagged} | {g.share_flagged:.0%} | {g.errors} |")
    env = report.environment
    if env:
        lines += ["", "Timings: " + ", ".join(f"{k} {v}" for k, v in env.items()) + "."]
    return "\n".join(lines) + "\n"


def write_report(report: BenchReport, out: Path, *, plots: bool = True) -> list[Path]:
    """Write ``report.json``, ``report.md``, ``predictions.jsonl`` and (with ``plots``) PNG plots into ``out``.

    ``report.json`` holds the reproducible metrics and, apart, under ``timings`` and ``environment``, the speed.
    The plots are ``roc.png``, ``pr.png``, ``confusion.png`` and ``latency.png``.

    Returns:
        The files written.

    Raises:
        MissingDependencyError: ``plots`` and matplotlib (the ``bench`` extra) is not installed; nothing is written.
    """
    if plots:
        _matplotlib()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "report.md", out / "predictions.jsonl"]
    atomic_write(written[0], (report.model_dump_json(indent=2, exclude={"results"}) + "\n").encode("utf-8"))
    atomic_write(written[1], report.to_markdown().encode("utf-8"))
    atomic_write(written[2], "".join(r.model_dump_json() + "\n" for r in report.results).encode("utf-8"))
    if plots:
        written += _plots(report, out)
    return written


def _matplotlib() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError("matplotlib", "bench", feature="benchmark plots") from exc
    return Figure


def _plots(report: BenchReport, out: Path) -> list[Path]:
    figure_type = _matplotlib()
    written = []

    def save(figure: Any, name: str) -> None:
        figure.tight_layout()
        path = out / name
        figure.savefig(path, dpi=110, metadata={"Software": None})
        written.append(path)

    figure = figure_type(figsize=(5.5, 5))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    for m in report.metrics:
        if m.roc:
            axes.plot([p.fpr for p in m.roc], [p.tpr for p in m.roc], marker=".", drawstyle="default",
                      label=f"{m.detector} (AUC {_fmt(m.roc_auc)})")
    axes.set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"ROC: {report.dataset}",
             xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    _legend(axes, "lower right", "no ROC curve: the items of each detector are of one class")
    save(figure, "roc.png")

    figure = figure_type(figsize=(5.5, 5))
    axes = figure.add_subplot()
    for m in report.metrics:
        if m.pr:
            axes.plot([p.recall for p in m.pr], [p.precision for p in m.pr], marker=".", drawstyle="steps-pre",
                      label=f"{m.detector} (AP {_fmt(m.pr_auc)})")
    axes.set(xlabel="recall", ylabel="precision", title=f"Precision-recall: {report.dataset}", xlim=(-0.02, 1.02),
             ylim=(-0.02, 1.02))
    _legend(axes, "lower left", "no precision-recall curve: no detector saw a positive item")
    save(figure, "pr.png")

    count = max(1, len(report.metrics))
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    figure = figure_type(figsize=(3 * columns, 2.9 * rows))
    for index, m in enumerate(report.metrics, start=1):
        axes = figure.add_subplot(rows, columns, index)
        c = m.confusion
        matrix = np.array([[c.tp, c.fn], [c.fp, c.tn]])
        axes.imshow(matrix, cmap="Blues", vmin=0, vmax=max(1, int(matrix.max())))
        for (row, column), value in np.ndenumerate(matrix):
            axes.text(column, row, str(value), ha="center", va="center",
                      color="white" if value > matrix.max() / 2 else "black")
        axes.set_xticks([0, 1], ["flagged", "not flagged"])
        axes.set_yticks([0, 1], ["positive", "negative"])
        axes.set_title(m.detector, fontsize="medium")
    save(figure, "confusion.png")

    figure = figure_type(figsize=(max(4.5, 1.2 * count + 2), 4))
    axes = figure.add_subplot()
    timed = [t for t in report.timings if t.latency_ms_p50 is not None]
    positions = np.arange(len(timed))
    axes.bar(positions - 0.2, [t.latency_ms_p50 or 0.0 for t in timed], width=0.4, label="p50")
    axes.bar(positions + 0.2, [t.latency_ms_p95 or 0.0 for t in timed], width=0.4, label="p95")
    axes.set_xticks(positions, [t.detector for t in timed])
    axes.set(ylabel="milliseconds per item", title="Latency")
    if timed and max(t.latency_ms_p95 or 0.0 for t in timed) > 50 * max(min(t.latency_ms_p50 or 0.0 for t in timed),
                                                                          1e-3):
        axes.set_yscale("log")  # hash lookups and model inference differ by orders of magnitude
    _legend(axes, "upper left", "no item was timed")
    save(figure, "latency.png")
    return written


def _legend(axes: Any, where: str, empty: str) -> None:
    """A legend, or a note in the middle of the plot when nothing was drawn (matplotlib warns on empty legends)."""
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc=where, fontsize="small")
    else:
        axes.text(0.5, 0.5, empty, ha="center", va="center", transform=axes.transAxes, wrap=True)
