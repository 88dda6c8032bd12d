"""The detector extension point: one verdict on one item (a media item, or a page's text)."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from takedown.models import Candidate, Case, Detection, ItemKind, Media

__all__ = ["Detector"]


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
