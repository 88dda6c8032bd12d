"""Exact matching: the media's SHA-256 or MD5 equals a reference's."""

from __future__ import annotations

from typing import ClassVar

from takedown.errors import DetectionError
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, MatchedReference, Media

__all__ = ["ExactHashDetector"]


class ExactHashDetector:
    """Matches media whose bytes are identical to a reference item (by SHA-256, else MD5)."""

    name: ClassVar[str] = "exact_hash"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.IMAGE, ItemKind.VIDEO, ItemKind.AUDIO})

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """``match`` with distance 0 if the media's SHA-256 or MD5 is a reference hash, else ``no_match``."""
        if not isinstance(item, Media):
            raise DetectionError("exact_hash judges media, not pages", plugin=self.name)
        digests = {"sha256": item.sha256.lower(), "md5": item.md5.lower()}
        for ref in case.references:
            if digests.get(ref.algorithm) == ref.value.lower():
                return Detection(
                    detector=self.name, target=item.sha256, kind=ItemKind(item.kind.value),
                    label=DetectionLabel.MATCH, score=1.0,
                    matched=MatchedReference(
                        bank=ref.bank, reference=ref.reference, algorithm=ref.algorithm, distance=0
                    ),
                    rationale=f"{ref.algorithm} identical to reference {ref.reference}",
                )
        return Detection(
            detector=self.name, target=item.sha256, kind=ItemKind(item.kind.value),
            label=DetectionLabel.NO_MATCH, score=0.0, rationale="no reference has these bytes",
        )
