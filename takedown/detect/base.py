"""The detector extension point: one verdict on one item (a media item, or a page's text).

``detect_items`` runs a detector over items the way the workflow and the benchmark both do: batched where the
detector can batch, and with a failure recorded on the item it belongs to rather than ending the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

from takedown.errors import DetectionError, TakedownError
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, Media

__all__ = ["BatchDetector", "Detector", "detect_items", "error_detection"]


@runtime_checkable
class Detector(Protocol):
    """Judges one item against a case.

    ``accepts`` says which item kinds the detector takes; the workflow hands it only those (a ``Media`` of an
    accepted kind, or the ``Candidate`` itself for ``ItemKind.TEXT``). ``detect`` is synchronous and may be
    CPU-bound: the workflow runs it off the event loop.
    """

    name: ClassVar[str]
    accepts: ClassVar[frozenset[ItemKind]]

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """Return this detector's verdict on ``item`` (``DetectionLabel.NO_MATCH`` when it finds nothing).

        Raises:
            DetectionError: the item could not be judged (corrupt media, a model failure); the workflow
                records it as an ``error`` detection and goes on.
        """
        ...


@runtime_checkable
class BatchDetector(Detector, Protocol):
    """A detector that can also judge many items in one call, for models that are faster on batches.

    ``detect_batch`` promises what calling ``detect`` on each item would give, in the same order, with one
    difference: an item that cannot be judged does not fail the batch, it gets a detection labelled
    ``DetectionLabel.ERROR`` (score 0, the reason as rationale), as the workflow records a ``DetectionError``.
    """

    def detect_batch(self, items: Sequence[Media | Candidate], *, case: Case) -> list[Detection]:
        """One detection per item of ``items``, in order (``error`` for items that cannot be judged)."""
        ...


def error_detection(item: Media | Candidate, *, detector: str, reason: str) -> Detection:
    """The ``error`` detection (score 0, ``reason`` as rationale) recorded for an item that could not be judged."""
    target, kind = (item.sha256, ItemKind(item.kind.value)) if isinstance(item, Media) else ("text", ItemKind.TEXT)
    return Detection(detector=detector, target=target, kind=kind, label=DetectionLabel.ERROR, score=0.0,
                     rationale=reason)


def detect_items(detector: Detector, items: Sequence[Media | Candidate], *, case: Case) -> list[Detection]:
    """One detection per item, in order: a ``BatchDetector`` judges them all in one ``detect_batch`` call, any
    other detector one ``detect`` call per item.

    An item that cannot be judged gets an ``error`` detection instead (``error_detection``): for a
    ``DetectionError`` with its message, and for any other exception, a plugin's bug, as ``detector crashed:
    TypeError: ...``, so one bad plugin or item sends a finding to review instead of ending the run. A batch that
    raises is judged again item by item, so the error lands on the item that caused it; a batch that answers
    something other than one ``Detection`` per item gives every item of it an error.

    Raises:
        TakedownError: any but ``DetectionError`` (a ``UsageError`` for a misconfigured detector, a
            ``MissingDependencyError``): the caller's to fix, and every item would fail alike.
        MemoryError, KeyboardInterrupt, SystemExit: never turned into detections.
    """
    if not items:
        return []
    if not isinstance(detector, BatchDetector):
        return [_detect_one(detector, item, case) for item in items]
    try:
        answers: object = detector.detect_batch(items, case=case)
    except (MemoryError, TakedownError) as exc:
        if not isinstance(exc, DetectionError):
            raise
        answers = None
    except Exception:  # a crash is looked for again item by item, where it is recorded with its item
        answers = None
    if answers is None:
        return [_detect_one(detector, item, case) for item in items]
    if not (isinstance(answers, list | tuple) and len(answers) == len(items)
            and all(isinstance(d, Detection) for d in answers)):
        got = f"{len(answers)} answers" if isinstance(answers, list | tuple) else f"a {type(answers).__name__}"
        reason = f"detect_batch returned {got} for {len(items)} items, not one Detection per item"
        return [error_detection(item, detector=detector.name, reason=reason) for item in items]
    return list(answers)


def _detect_one(detector: Detector, item: Media | Candidate, case: Case) -> Detection:
    try:
        detection: object = detector.detect(item, case=case)
    except DetectionError as exc:
        return error_detection(item, detector=detector.name, reason=str(exc))
    except (MemoryError, TakedownError):
        raise
    except Exception as exc:  # a plugin's bug: the item goes to an officer and the run goes on
        return error_detection(item, detector=detector.name,
                               reason=f"detector crashed: {type(exc).__name__}: {exc}")
    if not isinstance(detection, Detection):
        what = type(detection).__name__
        return error_detection(item, detector=detector.name,
                               reason=f"detect returned a {what}, not a Detection")
    return detection
