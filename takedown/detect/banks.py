"""Named hash banks, their entries, and the matcher that looks a PDQ hash up in all of them at once.

A **bank** is a named list of known hashes with its own matching rules: a victim's reference hashes, the hashes
an agency imported from StopNCII or a hotline, or known false positives. Banks are persisted in the case store
(``CaseStore.put_bank``, ``add_bank_entries``, ``bank_entries``) and exchanged as hash lists
(``takedown.detect.hashlists``).

- A **positive** bank holds media to find. A query matches it when it is within the bank's ``max_distance``
  of an entry (PDQ's default: 31 bits of 256).
- A **negative** bank holds known false positives: benign images whose hashes happen to fall near a positive
  entry. A negative match **suppresses** a positive match (by default only a positive match that is no closer
  than the negative one: see ``MatcherConfig.suppression``).
- ``min_quality`` (PDQ's default: 50) applies to both sides: entries below it are not indexed, and a query below
  it is not matched against the bank. PDQ hashes of flat, featureless images are unreliable.

Banks are never deleted through the store: a bank is retired with ``active=False`` (``put_bank``), which keeps
its entries, and the match records that cite them, verifiable. Erasing a victim's hashes when they withdraw
consent is a deliberate, audited operation of its own, not a side effect of bank housekeeping.

The bank data (``HashBank``, ``BankEntry``, ``BankKind``, ``check_bank_name``, ``normalise_hash``) is defined in
``takedown.models``, where the case store can use it without importing the detectors, and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from takedown.detect.index import Backend, PdqIndex, pack_hashes
from takedown.errors import UsageError
from takedown.models import (
    HEX_DIGITS,
    PDQ,
    BankEntry,
    BankKind,
    HashBank,
    MatchedReference,
    check_bank_name,
    normalise_hash,
)

if TYPE_CHECKING:
    from takedown.store.base import CaseStore

__all__ = [
    "HEX_DIGITS",
    "PDQ",
    "BankEntry",
    "BankKind",
    "BankMatch",
    "BankMatcher",
    "BankStats",
    "HashBank",
    "MatcherConfig",
    "check_bank_name",
    "normalise_hash",
]


class BankStats(BaseModel):
    """What a matcher indexed of one bank, and what it left out and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    indexed: int = 0
    low_quality: int = Field(default=0, description="entries below the bank's min_quality")
    other_algorithm: int = Field(default=0, description="entries that are not PDQ hashes")


class BankMatch(BaseModel):
    """What one query hash matched across the banks."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    matches: tuple[MatchedReference, ...] = Field(default=(), description="positive matches kept, closest first")
    # Ties between banks are ordered as the banks were given to the matcher.
    suppressed: tuple[MatchedReference, ...] = Field(default=(), description="positive matches a negative overruled")
    negatives: tuple[MatchedReference, ...] = Field(default=(), description="each negative bank's closest match")

    @property
    def matched(self) -> bool:
        """Whether any positive match survived suppression."""
        return bool(self.matches)


class MatcherConfig(BaseModel):
    """How a ``BankMatcher`` decides and searches.

    ``suppression``:

    - ``"nearest"`` (default): a negative match suppresses a positive match that is at least as far from the
      query as the negative entry. A copy of a known benign image (close to the negative entry) is suppressed; a
      copy of the victim's media that also falls within reach of a benign look-alike (closer to the positive
      entry) is not.
    - ``"any"``: any negative match suppresses every positive match of that query (fewer false positives, more
      missed copies).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    suppression: Literal["nearest", "any"] = "nearest"
    backend: Backend = "auto"
    threads: int = Field(default=1, ge=1)


@dataclass
class _Loaded:
    bank: HashBank
    index: PdqIndex
    references: list[str] = field(default_factory=list)


class BankMatcher:
    """Looks PDQ hashes up in positive and negative banks, each with its own threshold and quality floor.

    Args:
        banks: each bank with its entries (entries of other banks, or not PDQ, are left out and counted).
        config: suppression rule, index backend and threads.

    Raises:
        UsageError: two banks share a name.
    """

    def __init__(
        self, banks: Iterable[tuple[HashBank, Iterable[BankEntry]]], config: MatcherConfig | None = None
    ) -> None:
        self.config = config or MatcherConfig()
        self._banks: dict[str, _Loaded] = {}
        self._stats: dict[str, BankStats] = {}
        for bank, entries in banks:
            if bank.name in self._banks:
                raise UsageError(f"bank {bank.name!r} was given twice")
            self._banks[bank.name] = self._load(bank, entries)

    @classmethod
    def from_store(
        cls, store: CaseStore, names: Iterable[str] | None = None, *, config: MatcherConfig | None = None
    ) -> BankMatcher:
        """A matcher over the store's banks: those named, or else every active bank.

        Raises:
            NotFoundError: a named bank is not in the store.
        """
        if names is None:
            chosen = [bank for bank in store.list_banks() if bank.active]
        else:
            chosen = [store.get_bank(name) for name in names]
        return cls(((bank, store.bank_entries(bank.name)) for bank in chosen), config)

    def _load(self, bank: HashBank, entries: Iterable[BankEntry]) -> _Loaded:
        values: list[str] = []
        references: list[str] = []
        low = other = 0
        for entry in entries:
            if entry.bank != bank.name or entry.hash.algorithm != PDQ:
                other += 1
            elif entry.hash.quality is not None and entry.hash.quality < bank.min_quality:
                low += 1
            else:
                values.append(entry.hash.value)
                references.append(entry.reference)
        index = PdqIndex(max_distance=bank.max_distance, backend=self.config.backend, threads=self.config.threads)
        index.add(values)
        self._stats[bank.name] = BankStats(indexed=len(values), low_quality=low, other_algorithm=other)
        return _Loaded(bank, index, references)

    @property
    def banks(self) -> tuple[HashBank, ...]:
        """The banks matched against, in the order given."""
        return tuple(loaded.bank for loaded in self._banks.values())

    @property
    def stats(self) -> dict[str, BankStats]:
        """Per bank: entries indexed, and entries left out (low quality, other algorithms)."""
        return dict(self._stats)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{b.name}({b.kind.value}, {self._stats[b.name].indexed})" for b in self.banks)
        return f"BankMatcher([{kinds}], suppression={self.config.suppression!r})"

    def match_hash(self, value: str, quality: int) -> list[MatchedReference]:
        """The positive matches of one PDQ hash that no negative bank suppresses, closest first.

        Args:
            value: the hash, 64 hex digits.
            quality: its PDQ quality (0-100); banks whose ``min_quality`` is higher do not match it.

        Raises:
            UsageError: a malformed hash or quality.
        """
        return list(self.match(value, quality).matches)

    def match(self, value: str, quality: int | None) -> BankMatch:
        """What one PDQ hash matched, including what was suppressed and by which negative bank.

        A ``quality`` of ``None`` (unknown) is matched against every bank.
        """
        return self.match_many([value], [quality])[0]

    def match_many(self, values: Sequence[str], qualities: Sequence[int | None]) -> list[BankMatch]:
        """``match`` for many hashes at once (one index search per bank), in the order given.

        Raises:
            UsageError: malformed hashes or qualities, or lengths that differ.
        """
        if len(values) != len(qualities):
            raise UsageError(f"got {len(values)} hashes but {len(qualities)} qualities")
        for q in qualities:
            if q is not None and (isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= 100):
                raise UsageError(f"a PDQ quality is an integer from 0 to 100, not {q!r}")
        codes = pack_hashes(list(values))
        best: list[dict[str, MatchedReference]] = [{} for _ in values]
        for loaded in self._banks.values():
            bank = loaded.bank
            if not len(loaded.index):
                continue
            eligible = [i for i, q in enumerate(qualities) if q is None or q >= bank.min_quality]
            if not eligible:
                continue
            hits = loaded.index.search(codes[np.asarray(eligible, dtype=np.intp)], bank.max_distance)
            for i, found in zip(eligible, hits, strict=True):
                if found:  # closest first, then earliest entry
                    hit = found[0]
                    best[i][bank.name] = MatchedReference(
                        bank=bank.name, reference=loaded.references[hit.id], algorithm=PDQ, distance=float(hit.distance)
                    )
        return [self._decide(found) for found in best]

    def _decide(self, found: dict[str, MatchedReference]) -> BankMatch:
        position = {name: i for i, name in enumerate(self._banks)}

        def order(m: MatchedReference) -> tuple[float, int]:  # closest first; ties in the order banks were given
            return (m.distance, position[m.bank])

        positives = sorted((m for n, m in found.items() if self._banks[n].bank.kind is BankKind.POSITIVE), key=order)
        negatives = sorted((m for n, m in found.items() if self._banks[n].bank.kind is BankKind.NEGATIVE), key=order)
        if not negatives:
            return BankMatch(matches=tuple(positives))
        if self.config.suppression == "any":
            return BankMatch(suppressed=tuple(positives), negatives=tuple(negatives))
        nearest_negative = negatives[0].distance
        kept = tuple(m for m in positives if m.distance < nearest_negative)
        suppressed = tuple(m for m in positives if m.distance >= nearest_negative)
        return BankMatch(matches=kept, suppressed=suppressed, negatives=tuple(negatives))
