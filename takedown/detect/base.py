"""The detector extension point: one verdict on one item (a media item, or a page's text)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

from takedown.models import Candidate, Case, Detection, ItemKind, Media

__all__ = ["BatchDetector", "Detector"]


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
