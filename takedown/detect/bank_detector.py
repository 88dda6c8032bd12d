"""A detector over stored hash banks: images matched against every positive and negative bank at once.

``PdqDetector`` matches a case's own reference hashes; this one matches the banks an agency keeps in its store
(imported hotline lists, the hashes of earlier cases, known false positives) through a
:class:`~takedown.detect.banks.BankMatcher`. An image is hashed with its rotations and flips (as ``PdqDetector``
does), every variant is looked up, and the verdict is:

- ``match``: a positive bank matched and no negative bank overruled it;
- ``no_match`` with ``details["bank_kind"] == "negative"``: a negative bank matched (and overruled any positive
  match): the image is a known false positive. The default decision policy clears such an item;
- ``no_match`` otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from takedown.detect.banks import BankMatch, BankMatcher
from takedown.detect.pdq import load_rgb, pdq_variants
from takedown.errors import DetectionError
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, MatchedReference, Media, MediaKind

if TYPE_CHECKING:
    from takedown.store.base import CaseStore

__all__ = ["HashBankConfig", "HashBankDetector"]

_BITS = 256


class HashBankConfig(BaseModel):
    """Which image variants are looked up in the banks."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    dihedral: bool = True
    """Also look up the image's 7 rotations and flips."""


class HashBankDetector:
    """Matches downloaded images against hash banks (see the module docstring).

    Args:
        matcher: the banks to match against (``BankMatcher.from_store(store)`` for every active bank).
        config: which variants of each image are looked up.
    """

    name: ClassVar[str] = "hash_bank"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.IMAGE})

    def __init__(self, matcher: BankMatcher, config: HashBankConfig | None = None) -> None:
        self.matcher = matcher
        self.config = config or HashBankConfig()

    @classmethod
    def from_store(cls, store: CaseStore, banks: list[str] | None = None,
                   config: HashBankConfig | None = None) -> HashBankDetector:
        """A detector over the store's banks: those named, or every active bank.

        Raises:
            NotFoundError: a named bank is not in the store.
        """
        return cls(BankMatcher.from_store(store, banks), config)

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """Look the image's variants up in the banks.

        Raises:
            DetectionError: the item is not a downloaded image, or cannot be decoded.
        """
        if not isinstance(item, Media) or item.kind is not MediaKind.IMAGE:
            raise DetectionError("hash_bank judges downloaded images", plugin=self.name)
        if item.blob is None:
            raise DetectionError("hash_bank judges downloaded media (the item has no blob)", plugin=self.name)
        variants = pdq_variants(load_rgb(Path(item.blob), fast=True), dihedral=self.config.dihedral)
        found = self.matcher.match_many([h.value for _, h in variants], [h.quality for _, h in variants])
        matches = [(name, m) for (name, _), result in zip(variants, found, strict=True) for m in result.matches]
        if matches:
            name, best = min(matches, key=lambda pair: pair[1].distance)
            return self._verdict(item, DetectionLabel.MATCH, best, name,
                                 f"bank {best.bank}: reference {best.reference}, {best.distance:g} bits apart",
                                 {"bank_kind": "positive", "bank": best.bank})
        negative = _closest_negative(found)
        if negative is not None:
            overruled = sorted({m.bank for result in found for m in result.suppressed})
            also = f"; it overruled a match in {', '.join(overruled)}" if overruled else ""
            details = {"bank_kind": "negative", "bank": negative.bank}
            if overruled:
                details["overruled"] = ", ".join(overruled)
            return self._verdict(
                item, DetectionLabel.NO_MATCH, negative, None,
                f"a known false positive: negative bank {negative.bank}, reference {negative.reference}, "
                f"{negative.distance:g} bits apart{also}", details,
            )
        return Detection(detector=self.name, target=item.sha256, kind=ItemKind.IMAGE, label=DetectionLabel.NO_MATCH,
                         score=0.0, rationale=f"no match in {len(self.matcher.banks)} bank(s)")

    def _verdict(self, item: Media, label: DetectionLabel, matched: MatchedReference, variant: str | None,
                 rationale: str, details: dict[str, str]) -> Detection:
        if variant not in (None, "original"):
            rationale += f" (as {variant.replace('_', ' ')})"
            details["variant"] = variant
        score = round(1 - matched.distance / _BITS, 4) if label is DetectionLabel.MATCH else 0.0
        return Detection(detector=self.name, target=item.sha256, kind=ItemKind.IMAGE, label=label, score=score,
                         matched=matched, rationale=rationale, details=details)


def _closest_negative(found: list[BankMatch]) -> MatchedReference | None:
    negatives = [m for result in found for m in result.negatives]
    return min(negatives, key=lambda m: m.distance) if negatives else None
