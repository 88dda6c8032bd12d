"""An exact range-search index over 256-bit PDQ hashes: every stored hash within ``max_distance`` bits of a query.

``PdqIndex`` answers "which known hashes are within 31 bits of this one?" over millions of hashes without
comparing the query with each of them, and without ever missing one: recall against brute force is 100 % by
construction, not by tuning.

How it is exact (multi-index hashing with the generalised pigeonhole principle)
--------------------------------------------------------------------------------
The 256 bits are cut into disjoint parts, and each part has a table that lists the stored hashes by the value
of that part (a sorted permutation plus bucket offsets). If two hashes differ in ``d <= r`` bits, and the parts
are given thresholds ``t_j`` with ``sum(t_j + 1) >= r + 1``, then some part ``j`` differs in at most ``t_j``
bits (otherwise ``d >= sum(t_j + 1) > r``). With 16 parts of 16 bits and ``r = 31`` every ``t_j`` is 1: a
query looks up, in each table, its own part value and the 16 values one bit away (272 buckets in all), and
checks each hash found there against the full 256 bits. A hash within 31 bits is always in one of those
buckets, so none is missed; the full check removes the rest, so none is wrong. Other radii get other
thresholds (``r = 32`` gives one part a threshold of 2); when the buckets to read would hold a large share of
the index, the search scans instead, which is exact too. Segments of fewer than 16384 hashes are always scanned.

A table is keyed on the top ``k`` bits of its part, ``k = floor(log2 n) - 2`` (buckets of 4-8 hashes), at
most the part's width: a part within ``t`` bits is within ``t`` bits on any subset of its bits, so the bound
holds for the keys too. Up to a few million hashes, 16 parts of 16 bits read the fewest buckets and hashes (for
random hashes a query checks about ``n / 241`` of them); beyond, 16-bit keys make buckets too large, and the
index cuts the bits into 12 parts of 21 bits (8 with ``t = 2``, 4 with ``t = 1``: 1944 buckets of ~5 hashes at
10M) or 11 parts of 23 bits, whichever a cost model (cache misses per query) says is cheaper.

Near-duplicate clusters (as real banks have) make buckets uneven, and queries near a cluster read more, but they
also match more.

Backends
--------
- ``"numpy"``: the tables above, in NumPy (always available). Measured single-threaded on 1M and 10M hashes, it
  answers 14-16x and 46-53x the queries per second of faiss's exhaustive ``IndexBinaryFlat`` (see
  ``benchmarks/matching.py`` and docs/benchmarks.md).
- ``"faiss"``: faiss's own multi-index hashing, ``faiss.IndexBinaryMultiHash(256, 16, 16)`` with
  ``nflip = r // 16`` (the same pigeonhole bound), in C++. It needs the ``index`` extra (``faiss-cpu``). In our
  measurements it is slower than the NumPy tables (its buckets are hash maps of 64-bit ids and it de-duplicates
  candidates through a hash set) and holds about three times the memory, so ``"auto"`` chooses ``"numpy"``;
  ``"faiss"`` is kept as an independent implementation to cross-check against.

Memory (numpy backend): 32 bytes of hash and 4 bytes per table per hash (64 with 16 tables, 48 with 12), plus
``tables x (2**k + 1) x 4`` bytes of offsets per segment (at most 16 bytes per hash, ~4 at 1M), plus 8 bytes per
hash only when explicit ids that are not ``0, 1, 2, ...`` were given: 100 bytes per hash at 1M, 90 at 10M.
This speed cannot be had in 64 bytes per hash: a bucket is read in one step because its rows are listed, and
a sorted list of ``n / 2**16`` rows out of ``n`` takes at least ``16 + 1.44`` bits per row however it is
compressed, so 16 tables need about 35 bytes per hash on top of the hash's own 32 (we spend 64 to read them with
one ``take``); fewer tables need exponentially more buckets per query.

Adding is incremental: new hashes are indexed on the next search, as a new segment; segments of similar size
are merged (as in a log-structured merge tree), so a search visits O(log n) segments and each hash is re-sorted
O(log n) times over the life of the index.

Hashes are given as 64-digit hex strings (any case), 32-byte ``bytes``, or an ``(n, 32)`` ``uint8`` array,
in the byte order of the hex text (as python-threatexchange gives them to faiss).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import itertools
import json
import math
import os
import struct
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, TypeAlias

import numpy as np

from takedown._version import __version__
from takedown.errors import DetectionError, MissingDependencyError, UsageError
from takedown.files import atomic_output
from takedown.models import PDQ_MAX_DISTANCE

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "CODE_BYTES",
    "DEFAULT_MAX_DISTANCE",
    "Backend",
    "IndexHit",
    "PdqIndex",
    "faiss_available",
    "pack_hashes",
    "part_thresholds",
    "unpack_hashes",
]

CODE_BYTES = 32
"""Bytes in one PDQ hash (256 bits)."""

DEFAULT_MAX_DISTANCE = PDQ_MAX_DISTANCE
"""PDQ's recommended match threshold: Hamming distance at most 31 of 256 bits."""

Backend: TypeAlias = Literal["auto", "faiss", "numpy"]
HashesInput: TypeAlias = "NDArray[np.uint8] | Sequence[str | bytes | NDArray[np.uint8]]"

_PARTS = 16  # faiss backend: 16-bit parts, one hash map each
_PART_BITS = 16
_SCAN_BELOW = 16384  # segments smaller than this are scanned, not tabled (tables would not pay for themselves)
_SCAN_COST_RATIO = 6  # checking one candidate costs about as much as scanning 6 rows (measured)
_CANDIDATE_BUDGET = 1 << 20  # candidates verified per chunk (bounds temporary memory to ~50 MB)
_QUERY_BATCH = 16  # queries per vectorised step (measured best for 1M-10M hashes)
_SCAN_ROWS = 1 << 16  # rows per block when scanning (2 MiB of hashes)
_MAX_ROWS = (1 << 32) - 1  # rows are uint32 in the tables

_MAGIC = b"TKDPDQIX"
_FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sII")  # magic, format version, header JSON length
_MAX_HEADER = 1 << 16

_popcount_ufunc: Any = getattr(np, "bitwise_count", None)  # NumPy >= 2.0
_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class IndexHit(NamedTuple):
    """One stored hash found by a search: its id and its Hamming distance from the query."""

    id: int
    distance: int


def faiss_available() -> bool:
    """Whether the ``faiss`` backend can be used (``faiss-cpu`` is installed)."""
    try:
        _faiss()
    except MissingDependencyError:
        return False
    return True


@functools.cache
def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError("faiss-cpu", "index", feature="the faiss PDQ index backend") from exc
    return faiss


# -- hashes in and out ------------------------------------------------------------------------------------------


def pack_hashes(hashes: HashesInput) -> NDArray[np.uint8]:
    """PDQ hashes as a C-contiguous ``(n, 32)`` ``uint8`` array.

    Args:
        hashes: 64-digit hex strings (any case), 32-byte ``bytes`` or ``uint8`` rows, or an ``(n, 32)`` ``uint8``
            array.

    Raises:
        UsageError: a hash is not 256 bits of hex or bytes (the message gives its position).
    """
    if isinstance(hashes, np.ndarray):
        if hashes.dtype != np.uint8 or hashes.ndim != 2 or hashes.shape[1] != CODE_BYTES:
            raise UsageError(
                f"a hash array must be uint8 of shape (n, {CODE_BYTES}), not {hashes.dtype} {hashes.shape}"
            )
        return np.ascontiguousarray(hashes)
    if isinstance(hashes, str | bytes):
        raise UsageError("give a sequence of hashes, not a single hash")
    out = np.empty((len(hashes), CODE_BYTES), dtype=np.uint8)
    for position, value in enumerate(hashes):
        if isinstance(value, str):
            if len(value) != 2 * CODE_BYTES:
                raise UsageError(f"hash {position}: a PDQ hash is 64 hex digits, got {len(value)} characters")
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raise UsageError(f"hash {position}: not hexadecimal: {value[:80]!r}") from None
        elif isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.shape == (CODE_BYTES,):
            raw = value.tobytes()
        elif isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            if len(raw) != CODE_BYTES:
                raise UsageError(f"hash {position}: a PDQ hash is {CODE_BYTES} bytes, got {len(raw)}")
        else:
            raise UsageError(f"hash {position}: expected a hex string or bytes, got {type(value).__name__}")
        out[position] = np.frombuffer(raw, dtype=np.uint8)
    return out


def unpack_hashes(codes: NDArray[np.uint8]) -> list[str]:
    """The lower-case hex strings of an ``(n, 32)`` hash array (the inverse of ``pack_hashes``)."""
    return [bytes(row).hex() for row in np.asarray(codes, dtype=np.uint8)]


def _popcount(words: NDArray[np.uint64]) -> NDArray[np.uint8]:
    """Set bits per 64-bit word (NumPy's ``bitwise_count``, or a byte table on NumPy 1.x)."""
    if _popcount_ufunc is not None:
        result: NDArray[np.uint8] = _popcount_ufunc(words)
        return result
    as_bytes = _BYTE_POPCOUNT[words.view(np.uint8)].reshape(*words.shape, 8)
    return np.asarray(as_bytes.sum(axis=-1, dtype=np.uint8), dtype=np.uint8)


_SUM_BYTES = np.uint32(0x01010101)
_ALL_64 = np.uint32(0x40404040)  # four words of 64 set bits each: a distance of 256, which wraps to 0 below


def _within(xored: NDArray[np.uint64], radius: int) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """The rows of 4 xor-ed 64-bit words with at most ``radius`` bits set, and their counts.

    The four per-word counts (at most 64 each) are the bytes of one uint32; multiplying by 0x01010101 sums them
    into its top byte without carries (the partial sums stay below 256), except for a full 256, which wraps to 0
    and is patched on the rows kept.
    """
    counts = np.ascontiguousarray(_popcount(xored)).view(np.uint32).reshape(-1)
    total = counts * _SUM_BYTES
    total >>= np.uint32(24)
    keep = np.flatnonzero(total <= radius)
    dist = total.take(keep).astype(np.int64)
    full = counts.take(keep) == _ALL_64
    if full.any():
        dist[full] = 256
        keep, dist = keep[dist <= radius], dist[dist <= radius]
    return keep, dist


def _check_radius(max_distance: int) -> int:
    if isinstance(max_distance, bool) or not isinstance(max_distance, int | np.integer):
        raise UsageError(f"max_distance must be an integer, not {type(max_distance).__name__}")
    if not 0 <= int(max_distance) <= 8 * CODE_BYTES:
        raise UsageError(f"max_distance must be between 0 and {8 * CODE_BYTES} bits, not {max_distance}")
    return int(max_distance)


def part_thresholds(max_distance: int, parts: int = _PARTS) -> list[int]:
    """Per-part thresholds ``t_j`` with ``sum(t_j + 1) == max_distance + 1`` (-1: the part is not looked up).

    By the generalised pigeonhole principle, two hashes at most ``max_distance`` apart differ in at most ``t_j``
    bits of some part ``j``.
    """
    total = max_distance + 1
    base, extra = divmod(total, parts)
    return [base + (1 if j < extra else 0) - 1 for j in range(parts)]


@functools.cache
def _flip_masks(key_bits: int, threshold: int) -> NDArray[np.int64]:
    """Every ``key_bits``-bit mask with at most ``threshold`` bits set (the bucket keys a probe visits)."""
    masks = [0]
    for flips in range(1, min(threshold, key_bits) + 1):
        for bits in itertools.combinations(range(key_bits), flips):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


# -- engines ----------------------------------------------------------------------------------------------------

_Found: TypeAlias = "tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]"  # query, row, distance


class _Engine(Protocol):
    name: str

    def add(self, codes: NDArray[np.uint8]) -> None: ...

    def prepare(self) -> None: ...

    def search(self, queries: NDArray[np.uint8], radius: int) -> _Found: ...

    def codes(self) -> NDArray[np.uint8]: ...

    @property
    def nbytes(self) -> int: ...

    def __len__(self) -> int: ...


def _xor_rows(block: NDArray[np.uint64], query: NDArray[np.uint64], out: NDArray[np.uint64]) -> None:
    """``out = block ^ query`` for every row (NumPy broadcasts a 4-word row slowly: tile it over 64 rows)."""
    main = len(block) - len(block) % 64
    if main:
        np.bitwise_xor(block[:main].reshape(-1, 256), np.tile(query, 64), out=out[:main].reshape(-1, 256))
    if main < len(block):
        np.bitwise_xor(block[main:], query, out=out[main:])


def _scan(codes: NDArray[np.uint8], start: int, queries: NDArray[np.uint8], radius: int) -> _Found:
    """Exact search by comparing each query with every code, a block of rows at a time."""
    words = codes.view(np.uint64)
    found: list[_Found] = []
    for lo in range(0, len(codes), _SCAN_ROWS):
        block = words[lo : lo + _SCAN_ROWS]
        xored = np.empty_like(block)
        for qi, query in enumerate(queries.view(np.uint64)):
            _xor_rows(block, query, xored)
            rows, dist = _within(xored, radius)
            if len(rows):
                found.append((np.full(len(rows), qi, dtype=np.int64), rows + (start + lo), dist))
    return _concat(found)


class _Layout(NamedTuple):
    """How a segment's 256 bits are cut into parts: ``parts`` disjoint parts of ``part_bits`` bits, one table each."""

    parts: int
    part_bits: int


_LAYOUTS = (_Layout(16, 16), _Layout(12, 21), _Layout(11, 23))
"""16 x 16 bits suits up to a few million hashes; wider parts (fewer, larger tables) suit more."""


def _key_bits(layout: _Layout, n: int) -> int:
    """Key width for ``n`` rows: buckets of 4-8 rows on average (``2**k`` with ``k = floor(log2 n) - 2``)."""
    return min(layout.part_bits, max(8, n.bit_length() - 1 - 2))


def _probe_count(key_bits: int, threshold: int) -> int:
    """How many keys are within ``threshold`` bits of a ``key_bits``-bit key."""
    return sum(math.comb(key_bits, i) for i in range(min(threshold, key_bits) + 1)) if threshold >= 0 else 0


def _layout_cost(layout: _Layout, n: int, radius: int) -> float:
    """Expected cache misses per query: two per probed bucket (offsets, permutation) and one per candidate."""
    key_bits = _key_bits(layout, n)
    probes = sum(_probe_count(key_bits, t) for t in part_thresholds(radius, layout.parts))
    return 2 * probes + probes * n / (1 << key_bits)


def _part_keys(words: NDArray[np.uint64], first_bit: int, bits: int) -> NDArray[np.int64]:
    """Bits ``first_bit .. first_bit + bits`` (``bits`` <= 32) of each 256-bit row of little-endian words."""
    word, shift = divmod(first_bit, 64)
    value = words[:, word] >> np.uint64(shift)
    if shift + bits > 64:
        value |= words[:, word + 1] << np.uint64(64 - shift)
    value &= np.uint64((1 << bits) - 1)
    return value.astype(np.int64)


def _stable_order(keys: NDArray[np.int64], key_bits: int) -> NDArray[np.intp]:
    """``argsort(keys, kind="stable")`` as radix sorts of 16-bit digits (NumPy radix-sorts 16-bit keys only)."""
    low = (keys & 0xFFFF).astype(np.uint16)
    order = np.argsort(low, kind="stable")
    if key_bits > 16:
        high = (keys >> 16).astype(np.uint16).take(order)
        order = order.take(np.argsort(high, kind="stable"))
    return order


class _Segment:
    """Hashes ``start .. start + n`` with a table per part (or none, if few: they are scanned).

    Table ``j`` lists the rows by the top ``key_bits`` bits of part ``j``: ``perm[j]`` holds the row numbers
    sorted by that key, ``offsets[j][key]`` where the key's bucket starts. Two hashes within ``t`` bits on a
    part are within ``t`` bits on any subset of its bits, so the pigeonhole bound holds for the keys too.
    """

    def __init__(self, codes: NDArray[np.uint8], start: int, radius: int) -> None:
        self.codes = np.ascontiguousarray(codes)
        self.start = start
        n = len(codes)
        if n > _MAX_ROWS:
            raise UsageError(f"an index segment holds at most {_MAX_ROWS} hashes")
        self.layout = _LAYOUTS[0]
        self.key_bits = 0
        self.perm: NDArray[np.uint32] | None = None
        self.offsets: NDArray[np.uint32] | None = None
        if n < _SCAN_BELOW:
            return
        layout = min(_LAYOUTS, key=lambda candidate: _layout_cost(candidate, n, radius))
        key_bits = _key_bits(layout, n)
        buckets = 1 << key_bits
        words = self.codes.view("<u8")
        perm = np.empty((layout.parts, n), dtype=np.uint32)
        offsets = np.empty((layout.parts, buckets + 1), dtype=np.uint32)
        for j in range(layout.parts):
            keys = _part_keys(words, self._first_key_bit(layout, key_bits, j), key_bits)
            perm[j] = _stable_order(keys, key_bits)
            offsets[j, 0] = 0
            offsets[j, 1:] = np.cumsum(np.bincount(keys, minlength=buckets))
        self.layout = layout
        self.key_bits = key_bits
        self.perm = perm.reshape(-1)
        self.offsets = offsets.reshape(-1)

    @staticmethod
    def _first_key_bit(layout: _Layout, key_bits: int, part: int) -> int:
        return part * layout.part_bits + layout.part_bits - key_bits  # the part's top key_bits bits

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def nbytes(self) -> int:
        tables = 0 if self.perm is None or self.offsets is None else self.perm.nbytes + self.offsets.nbytes
        return int(self.codes.nbytes) + tables

    def search(self, queries: NDArray[np.uint8], radius: int) -> _Found:
        n = len(self.codes)
        if self.perm is None or self.offsets is None:
            return _scan(self.codes, self.start, queries, radius)
        layout, key_bits = self.layout, self.key_bits
        thresholds = part_thresholds(radius, layout.parts)
        probes_per_query = sum(_probe_count(key_bits, t) for t in thresholds)
        if probes_per_query * _SCAN_COST_RATIO > n:  # reading that many buckets costs more than a scan
            return _scan(self.codes, self.start, queries, radius)
        words = queries.view("<u8")
        keys = np.stack(
            [_part_keys(words, self._first_key_bit(layout, key_bits, j), key_bits) for j in range(layout.parts)],
            axis=1,
        )  # (Q, parts)
        stride = (1 << key_bits) + 1
        probe_cols, table_cols = [], []
        for threshold in sorted(set(thresholds)):
            if threshold < 0:
                continue
            tables = np.array([j for j, t in enumerate(thresholds) if t == threshold], dtype=np.int64)
            masks = _flip_masks(key_bits, threshold)
            probe = (keys[:, tables, None] ^ masks[None, None, :]) + (tables * stride)[None, :, None]
            probe_cols.append(probe.reshape(len(queries), -1))
            table_cols.append(np.repeat(tables * n, len(masks)))
        probes = np.concatenate(probe_cols, axis=1)  # (Q, P): offset index of each probed bucket
        table_base = np.concatenate(table_cols)  # (P,): where each probe's table starts in perm
        starts = self.offsets.take(probes).astype(np.int64)
        lengths = self.offsets.take(probes + 1).astype(np.int64) - starts
        starts += table_base[None, :]
        per_query = lengths.sum(axis=1)
        if int(per_query.sum()) * _SCAN_COST_RATIO > n * len(queries):  # a scan is cheaper
            return _scan(self.codes, self.start, queries, radius)
        results = []
        for lo, hi in _chunks(per_query, _CANDIDATE_BUDGET):
            results.append(self._verify(queries[lo:hi], starts[lo:hi], lengths[lo:hi], per_query[lo:hi], radius, lo))
        return _concat(results)

    def _verify(
        self,
        queries: NDArray[np.uint8],
        starts: NDArray[np.int64],
        lengths: NDArray[np.int64],
        per_query: NDArray[np.int64],
        radius: int,
        first_query: int,
    ) -> _Found:
        assert self.perm is not None
        flat_len = lengths.reshape(-1)
        total = int(flat_len.sum())
        if total == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        # Positions of every candidate in the permutations: each bucket's run, laid end to end.
        ends = np.cumsum(flat_len)
        positions = np.repeat(starts.reshape(-1) - (ends - flat_len), flat_len)
        positions += np.arange(total, dtype=np.int64)
        rows = self.perm.take(positions)
        candidates = self.codes.view("V32").reshape(-1).take(rows).view(np.uint64).reshape(-1, 4)
        bounds = np.cumsum(per_query)
        for query, lo, hi in zip(queries.view(np.uint64), (bounds - per_query).tolist(), bounds.tolist(), strict=True):
            if hi > lo:
                _xor_rows(candidates[lo:hi], query, candidates[lo:hi])
        keep, dist = _within(candidates, radius)
        query_of = np.searchsorted(bounds, keep, side="right").astype(np.int64)
        found_rows = rows.take(keep).astype(np.int64)
        # A hash close in several parts is found in several tables: keep one of each (query, row) pair.
        pair = query_of * (len(self.codes) + 1) + found_rows
        _, first = np.unique(pair, return_index=True)
        return query_of[first] + first_query, found_rows[first] + self.start, dist[first]


def _chunks(per_query: NDArray[np.int64], budget: int) -> Iterator[tuple[int, int]]:
    """Consecutive query ranges whose candidates total at most ``budget`` (a single query may exceed it)."""
    lo, running = 0, 0
    for i, count in enumerate(per_query.tolist()):
        if running and running + count > budget:
            yield lo, i
            lo, running = i, 0
        running += count
    if lo < len(per_query):
        yield lo, len(per_query)


def _concat(parts: Sequence[_Found]) -> _Found:
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    if len(parts) == 1:
        return parts[0]
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


class _NumpyEngine:
    """Segments of multi-index tables, merged like a log-structured merge tree."""

    name = "numpy"

    def __init__(self, radius: int) -> None:
        self._radius = radius  # the radius segments are laid out for (any radius can be searched)
        self._segments: list[_Segment] = []
        self._pending: list[NDArray[np.uint8]] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, codes: NDArray[np.uint8]) -> None:
        if len(codes):
            self._pending.append(np.array(codes, dtype=np.uint8, copy=True))
            self._count += len(codes)

    def prepare(self) -> None:
        """Index the pending hashes (as a new segment, merged with others of its size)."""
        if not self._pending:
            return
        start = self._count - sum(len(p) for p in self._pending)
        codes = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        segments = [*self._segments, _Segment(codes, start, self._radius)]
        # Merge while the newer segment is at least as large as the one before it (a binary counter).
        while len(segments) >= 2 and len(segments[-2]) <= len(segments[-1]):
            newer = segments.pop()
            older = segments.pop()
            segments.append(_Segment(np.concatenate([older.codes, newer.codes]), older.start, self._radius))
        self._segments = segments  # replaced whole: a search running meanwhile keeps the list it started with
        self._pending = []

    def search(self, queries: NDArray[np.uint8], radius: int) -> _Found:
        return _concat([segment.search(queries, radius) for segment in self._segments])

    def codes(self) -> NDArray[np.uint8]:
        if not self._segments:
            return np.empty((0, CODE_BYTES), dtype=np.uint8)
        return np.concatenate([s.codes for s in self._segments])

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._segments) + sum(int(p.nbytes) for p in self._pending)


class _FaissEngine:
    """faiss's multi-index hashing: 16 hash maps of 16-bit keys, ``nflip = radius // 16`` (exact by pigeonhole)."""

    name = "faiss"

    def __init__(self, threads: int) -> None:
        faiss = _faiss()
        self._faiss = faiss
        self._threads = threads
        self._lock = threading.Lock()
        self._index = faiss.IndexBinaryMultiHash(8 * CODE_BYTES, _PARTS, _PART_BITS)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @contextlib.contextmanager
    def _pinned(self) -> Iterator[None]:
        before = self._faiss.omp_get_max_threads()
        self._faiss.omp_set_num_threads(self._threads)
        try:
            yield
        finally:
            self._faiss.omp_set_num_threads(before)

    def add(self, codes: NDArray[np.uint8]) -> None:
        if len(codes):
            with self._lock, self._pinned():
                self._index.add(np.ascontiguousarray(codes))

    def prepare(self) -> None:
        """Nothing to do: faiss indexes hashes as they are added."""

    def search(self, queries: NDArray[np.uint8], radius: int) -> _Found:
        nflip = radius // _PARTS  # 16 parts, each within nflip bits: 16 * (nflip + 1) > radius
        with self._lock, self._pinned():  # nflip and OpenMP's thread count are settings shared by all callers
            if nflip >= 4:  # C(16, <=4) = 2517 keys per map: a scan of the storage is cheaper, and exact
                storage = self._faiss.downcast_IndexBinary(self._index.storage)
                lims, dist, labels = storage.range_search(queries, radius + 1)  # strictly below radius + 1
            else:
                self._index.nflip = nflip
                lims, dist, labels = self._index.range_search(queries, radius + 1)
        limits = np.asarray(lims, dtype=np.int64)
        counts = limits[1:] - limits[:-1]
        query_of = np.repeat(np.arange(len(queries), dtype=np.int64), counts)
        return query_of, np.asarray(labels, dtype=np.int64), np.asarray(dist, dtype=np.int64)

    def codes(self) -> NDArray[np.uint8]:
        storage = self._faiss.downcast_IndexBinary(self._index.storage)
        flat = self._faiss.vector_to_array(storage.xb)
        return np.asarray(flat, dtype=np.uint8).reshape(-1, CODE_BYTES)

    @property
    def nbytes(self) -> int:
        """An estimate: the stored codes, 8 bytes per id in each of 16 maps, and the maps' buckets."""
        n = len(self)
        buckets = _PARTS * min(n, 1 << _PART_BITS)
        return n * CODE_BYTES + _PARTS * n * 8 + buckets * 64


# -- the index --------------------------------------------------------------------------------------------------


class PdqIndex:
    """Exact Hamming range search over PDQ hashes (see the module docstring for how and how fast).

    Args:
        max_distance: the default search radius, inclusive: hashes at most this many bits away match (PDQ's
            recommendation, and the default, is 31).
        backend: ``"numpy"`` (multi-index tables in NumPy), ``"faiss"`` (``faiss.IndexBinaryMultiHash``; needs
            the ``index`` extra) or ``"auto"`` (``"numpy"``, measured the faster of the two).
        threads: threads a search may use. The numpy backend splits a batch of queries between them; the faiss
            backend sets faiss's OpenMP threads for the call and restores them after. Benchmarks pin 1.

    Raises:
        UsageError: an invalid radius, backend or thread count.
        MissingDependencyError: ``backend="faiss"`` without ``faiss-cpu`` installed.
    """

    def __init__(
        self, *, max_distance: int = DEFAULT_MAX_DISTANCE, backend: Backend = "auto", threads: int = 1
    ) -> None:
        self.max_distance = _check_radius(max_distance)
        if backend not in ("auto", "faiss", "numpy"):
            raise UsageError(f"unknown PDQ index backend {backend!r}; available: auto, faiss, numpy")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise UsageError(f"threads must be a positive integer, not {threads!r}")
        self.threads = threads
        self._engine: _Engine = _FaissEngine(threads) if backend == "faiss" else _NumpyEngine(self.max_distance)
        self._ids: NDArray[np.int64] | None = None  # None while every id equals its row number
        self._lock = threading.Lock()  # adds and indexing are serialised; searches run side by side

    @property
    def backend(self) -> str:
        """The backend in use: ``"numpy"`` or ``"faiss"``."""
        return self._engine.name

    def __len__(self) -> int:
        return len(self._engine)

    @property
    def nbytes(self) -> int:
        """Bytes the index holds (hashes, tables and ids; an estimate for the faiss backend)."""
        return self._engine.nbytes + (0 if self._ids is None else int(self._ids.nbytes))

    def __repr__(self) -> str:
        per_hash = f"{self.nbytes / len(self):.1f}" if len(self) else "n/a"
        return (
            f"PdqIndex(backend={self.backend!r}, hashes={len(self)}, max_distance={self.max_distance}, "
            f"threads={self.threads}, bytes_per_hash={per_hash})"
        )

    def add(self, hashes: HashesInput, ids: Sequence[int] | NDArray[np.integer[Any]] | None = None) -> None:
        """Add hashes, with their ids (default: their row numbers, ``len(self)``, ``len(self) + 1``, ...).

        Ids are returned by ``search`` as given; they need not be unique. Hashes added are found by the next
        search (the numpy backend indexes them then).

        Raises:
            UsageError: a malformed hash, or ``ids`` of a different length than ``hashes``.
        """
        codes = pack_hashes(hashes)
        given = None
        if ids is not None:
            given = np.asarray(ids)
            if given.ndim != 1 or len(given) != len(codes):
                raise UsageError(f"got {len(codes)} hashes but {given.size} ids")
            if given.size and not np.issubdtype(given.dtype, np.integer):
                raise UsageError(f"ids must be integers, not {given.dtype}")
            given = given.astype(np.int64)
        with self._lock:
            first = len(self._engine)
            if first + len(codes) > _MAX_ROWS:
                raise UsageError(f"a PdqIndex holds at most {_MAX_ROWS} hashes")
            if given is not None:
                if self._ids is None and not np.array_equal(given, np.arange(first, first + len(codes))):
                    self._ids = np.arange(first, dtype=np.int64)
                if self._ids is not None:
                    self._ids = np.concatenate([self._ids, given])  # a new array: searches keep the one they read
            elif self._ids is not None:
                self._ids = np.concatenate([self._ids, np.arange(first, first + len(codes), dtype=np.int64)])
            self._engine.add(codes)

    def search(self, query_hashes: HashesInput, max_distance: int | None = None) -> list[list[IndexHit]]:
        """For each query, every stored hash at most ``max_distance`` bits away, closest first (then by id).

        Args:
            query_hashes: the hashes to look up (hex strings, bytes, or an ``(n, 32)`` ``uint8`` array).
            max_distance: the radius, inclusive (default: the index's ``max_distance``).

        Returns:
            One list of ``IndexHit(id, distance)`` per query, in query order.
        """
        radius = self.max_distance if max_distance is None else _check_radius(max_distance)
        queries = pack_hashes(query_hashes)
        results: list[list[IndexHit]] = [[] for _ in range(len(queries))]
        if not len(queries) or not len(self):
            return results
        with self._lock:  # index pending hashes once, before any thread reads the tables
            self._engine.prepare()
            visible, id_of = len(self._engine), self._ids  # what this search sees, whatever is added meanwhile
        batches = [(lo, queries[lo : lo + _QUERY_BATCH]) for lo in range(0, len(queries), _QUERY_BATCH)]
        if self.backend == "numpy" and self.threads > 1 and len(batches) > 1:
            with ThreadPoolExecutor(self.threads) as pool:
                found = list(pool.map(lambda b: self._search_batch(b[0], b[1], radius), batches))
        elif self.backend == "numpy":
            found = [self._search_batch(lo, batch, radius) for lo, batch in batches]
        else:
            found = [self._search_batch(0, queries, radius)]
        query_of, rows, dist = _concat(found)
        if len(rows) and int(rows.max()) >= visible:  # hashes added by another thread during the search
            seen = rows < visible
            query_of, rows, dist = query_of[seen], rows[seen], dist[seen]
        ids = rows if id_of is None else id_of[rows]
        order = np.lexsort((ids, dist, query_of))
        for q, i, d in zip(query_of[order].tolist(), ids[order].tolist(), dist[order].tolist(), strict=True):
            results[q].append(IndexHit(i, d))
        return results

    def _search_batch(self, first: int, queries: NDArray[np.uint8], radius: int) -> _Found:
        query_of, rows, dist = self._engine.search(queries, radius)
        return query_of + first, rows, dist

    # -- persistence ------------------------------------------------------------------------------------------

    def save(self, path: Path | str) -> None:
        """Write the index's hashes and ids to ``path`` atomically (a crash leaves the old file or the new one).

        The file holds the hashes, the ids and a SHA-256 of both; tables are rebuilt on ``load`` (about 0.7 s
        per million hashes), so a file works with either backend.
        """
        with self._lock:
            self._engine.prepare()
            codes = np.ascontiguousarray(self._engine.codes())
            ids = None if self._ids is None else np.ascontiguousarray(self._ids.astype("<i8"))
        digest = hashlib.sha256(codes.data)
        if ids is not None:
            digest.update(ids.data)
        header = json.dumps(
            {
                "kind": "pdq",
                "count": len(codes),
                "code_bytes": CODE_BYTES,
                "max_distance": self.max_distance,
                "has_ids": ids is not None,
                "sha256": digest.hexdigest(),
                "written_by": f"takedown {__version__}",
            },
            sort_keys=True,
        ).encode("utf-8")
        with atomic_output(Path(path)) as fh:
            fh.write(_HEADER.pack(_MAGIC, _FORMAT_VERSION, len(header)))
            fh.write(header)
            fh.write(codes.data)
            if ids is not None:
                fh.write(ids.data)

    @classmethod
    def load(cls, path: Path | str, *, backend: Backend = "auto", threads: int = 1) -> PdqIndex:
        """Read an index written by ``save`` and rebuild its tables.

        Raises:
            DetectionError: the file is not a takedown PDQ index, was written by a newer takedown, is truncated,
                or its checksum does not match (it was damaged or altered). The file is left as it is.
            UsageError: an invalid backend or thread count.
        """
        path = Path(path)
        try:
            with path.open("rb") as fh:
                codes, ids, max_distance = _read_index_file(fh, path)
        except OSError as exc:
            raise DetectionError(f"cannot read PDQ index {path}: {exc}") from exc
        index = cls(max_distance=max_distance, backend=backend, threads=threads)
        index.add(codes, ids)
        return index


def _read_index_file(fh: io.BufferedReader, path: Path) -> tuple[NDArray[np.uint8], NDArray[np.int64] | None, int]:
    size = os.fstat(fh.fileno()).st_size
    head = fh.read(_HEADER.size)
    if len(head) < _HEADER.size or not head.startswith(_MAGIC):
        raise DetectionError(f"{path} is not a takedown PDQ index file")
    _, version, header_len = _HEADER.unpack(head)
    if version > _FORMAT_VERSION:
        raise DetectionError(
            f"{path} is a PDQ index of format {version}, newer than this takedown reads ({_FORMAT_VERSION}); "
            "upgrade takedown to load it"
        )
    if version < 1 or header_len > _MAX_HEADER:
        raise DetectionError(f"{path} is damaged: invalid PDQ index header")
    try:
        header = json.loads(fh.read(header_len).decode("utf-8"))
        count = int(header["count"])
        max_distance = int(header["max_distance"])
        has_ids = bool(header["has_ids"])
        expected_digest = str(header["sha256"])
        if header["kind"] != "pdq" or int(header["code_bytes"]) != CODE_BYTES or count < 0:
            raise ValueError("not a PDQ index")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DetectionError(f"{path} is damaged: unreadable PDQ index header ({exc})") from exc
    payload = count * CODE_BYTES + (count * 8 if has_ids else 0)
    if size != _HEADER.size + header_len + payload:
        raise DetectionError(
            f"{path} is damaged: {size} bytes, but its header describes {_HEADER.size + header_len + payload}"
        )
    codes = np.empty((count, CODE_BYTES), dtype=np.uint8)
    ids = np.empty(count, dtype="<i8") if has_ids else None
    digest = hashlib.sha256()
    for array in (codes, ids):
        if array is None:
            continue
        view = array.data.cast("B")
        if fh.readinto(view) != len(view):
            raise DetectionError(f"{path} is damaged: truncated")
        digest.update(view)
    if digest.hexdigest() != expected_digest:
        raise DetectionError(f"{path} is damaged or was altered: its SHA-256 does not match its header")
    try:
        radius = _check_radius(max_distance)
    except UsageError as exc:
        raise DetectionError(f"{path} is damaged: {exc}") from exc
    return codes, None if ids is None else ids.astype(np.int64), radius
