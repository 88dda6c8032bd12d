"""PdqIndex: exact (100 % recall against brute force), incremental, persistent, on both backends."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from takedown.detect import index as index_module
from takedown.detect.index import (
    IndexHit,
    PdqIndex,
    faiss_available,
    pack_hashes,
    part_thresholds,
    unpack_hashes,
)
from takedown.errors import DetectionError, MissingDependencyError, UsageError

NEEDS_FAISS = pytest.mark.skipif(not faiss_available(), reason="faiss-cpu is not installed")
BACKENDS = ["numpy", pytest.param("faiss", marks=NEEDS_FAISS)]
# A scanned segment (< 16384 hashes), and tables keyed on 12 and 14 of each part's 16 bits.
SIZES = [300, 20_000, 70_000]
_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def brute_force(
    codes: np.ndarray, queries: np.ndarray, radius: int, ids: np.ndarray | None = None
) -> list[list[IndexHit]]:
    """The reference answer: every pair compared, byte by byte (shares no code with the index)."""
    out = []
    for query in queries:
        dist = _BYTE_BITS[codes ^ query].sum(axis=1)
        rows = np.flatnonzero(dist <= radius)
        labels = rows if ids is None else ids[rows]
        hits = [IndexHit(int(i), int(d)) for i, d in zip(labels, dist[rows], strict=True)]
        out.append(sorted(hits, key=lambda h: (h.distance, h.id)))
    return out


@pytest.fixture
def tables_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Index every segment with tables and never fall back to a scan, however small (to test the tables)."""
    monkeypatch.setattr(index_module, "_SCAN_BELOW", 0)
    monkeypatch.setattr(index_module, "_SCAN_COST_RATIO", 0)


def flip(code: np.ndarray, bits: list[int]) -> np.ndarray:
    out = code.copy()
    for bit in bits:
        out[bit // 8] ^= np.uint8(1 << (7 - bit % 8))
    return out


def spread_flips(rng: np.random.Generator, per_part: list[int], *, high: bool) -> list[int]:
    """Bit positions with ``per_part[j]`` flips in 16-bit part ``j`` (in its key bits when ``high``)."""
    bits: list[int] = []
    for part, count in enumerate(per_part):
        # Parts are little-endian 16-bit words: the high byte of part j is byte 2j + 1.
        pool = [8 * (2 * part + 1) + b for b in range(8)] if high else list(range(16 * part, 16 * part + 16))
        bits += [int(b) for b in rng.choice(pool, size=count, replace=False)]
    return bits


def adversarial_neighbours(rng: np.random.Generator, base: np.ndarray) -> list[np.ndarray]:
    """Hashes 30, 31 and 32 bits from ``base``, spread so that as few tables as possible can find them."""
    out = []
    for special in range(16):
        for high in (True, False):
            per_part = [2] * 16
            per_part[special] = 1
            out.append(flip(base, spread_flips(rng, per_part, high=high)))  # 31: only one part within 1 bit
            per_part[(special + 1) % 16] = 1
            out.append(flip(base, spread_flips(rng, per_part, high=high)))  # 30
    for high in (True, False):
        out.append(flip(base, spread_flips(rng, [2] * 16, high=high)))  # 32: every part 2 bits off
    out.append(flip(base, list(range(31))))  # 31 bits, all in the first two parts
    out.append(flip(base, list(range(32))))  # 32
    out.append(flip(base, list(range(0, 256, 8))[:31]))  # one bit in most bytes
    return out


def make_index(codes: np.ndarray, backend: str, *, ids: np.ndarray | None = None, radius: int = 31) -> PdqIndex:
    index = PdqIndex(max_distance=radius, backend=backend)  # type: ignore[arg-type]
    index.add(codes, ids)
    return index


@pytest.mark.parametrize(
    ("backend", "size"),
    [("numpy", n) for n in SIZES] + [pytest.param("faiss", n, marks=NEEDS_FAISS) for n in SIZES[:2]],
)
def test_adversarial_near_threshold_hashes_are_found_exactly(backend: str, size: int) -> None:
    rng = np.random.default_rng(size)
    codes = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    bases = codes[rng.choice(size, 3, replace=False)]
    planted = np.array([n for base in bases for n in adversarial_neighbours(rng, base)])
    codes = np.concatenate([codes, planted])
    queries = np.concatenate([bases, planted[::7]])
    index = make_index(codes, backend)
    for radius in (30, 31, 32):
        expected = brute_force(codes, queries, radius)
        assert index.search(queries, radius) == expected
    hits = index.search(bases[:1])[0]
    distances = sorted(h.distance for h in hits)
    assert 31 in distances and 30 in distances and 32 not in distances


@pytest.mark.parametrize("size", [2100, 5000])
def test_adversarial_hashes_with_short_keys(tables_always: None, size: int) -> None:
    test_adversarial_near_threshold_hashes_are_found_exactly("numpy", size)


@pytest.mark.parametrize("layout", index_module._LAYOUTS, ids=lambda layout: f"{layout.parts}x{layout.part_bits}")
def test_every_layout_is_exact(monkeypatch: pytest.MonkeyPatch, tables_always: None, layout: object) -> None:
    """Each way of cutting the bits (16 x 16 for millions of hashes, 12 x 21 and 11 x 23 for tens of millions)."""
    monkeypatch.setattr(index_module, "_LAYOUTS", (layout,))
    rng = np.random.default_rng(21)
    size = 20_000
    codes = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    index = make_index(codes[:10], "numpy")
    index.search(codes[:1])  # a segment too small for its keys
    parts, part_bits = layout.parts, layout.part_bits  # type: ignore[attr-defined]
    key_bits = index_module._key_bits(layout, size)  # type: ignore[arg-type]
    planted, bases = [], codes[:3]
    for radius in (31, 32, 47):
        thresholds = part_thresholds(radius, parts)
        for base in bases:
            for special in range(parts):
                # t + 1 flips in every part's key bits (t in the special one): radius bits, all but one table blind.
                bits = []
                for part, t in enumerate(thresholds):
                    flips = t + 1 - (part == special)
                    top = part * part_bits + part_bits
                    bits += [int(b) for b in rng.choice(np.arange(top - key_bits, top), flips, replace=False)]
                out = base.copy()
                for bit in bits:  # the index's bit order: bit b is bit b % 8 of byte b // 8
                    out[bit // 8] ^= np.uint8(1 << (bit % 8))
                planted.append(out)
    codes = np.concatenate([codes, np.array(planted)])
    index = make_index(codes, "numpy")
    queries = np.concatenate([bases, np.array(planted[:: parts // 2])])
    for radius in (0, 15, 30, 31, 32, 46, 47, 48):
        assert index.search(queries, radius) == brute_force(codes, queries, radius), radius
    assert index._engine._segments[0].layout == layout  # type: ignore[attr-defined]


def test_adversarial_hashes_with_full_16_bit_keys() -> None:
    """2**18 hashes: every table is keyed on all 16 bits of its part."""
    rng = np.random.default_rng(18)
    codes = rng.integers(0, 256, size=(1 << 18, 32), dtype=np.uint8)
    bases = codes[:2]
    planted = np.array([n for base in bases for n in adversarial_neighbours(rng, base)])
    codes = np.concatenate([codes, planted])
    index = make_index(codes, "numpy")
    index.search(bases[:1])
    assert index._engine._segments[0].key_bits == 16  # type: ignore[attr-defined]
    queries = np.concatenate([bases, planted[::5]])
    for radius in (31, 32):
        assert index.search(queries, radius) == brute_force(codes, queries, radius)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.sampled_from([0, 1, 40, 300, 2100, 4000]),
    radius=st.one_of(st.integers(0, 40), st.sampled_from([31, 31, 32, 47, 64, 100, 256])),
    chunks=st.integers(1, 4),
    backend=st.sampled_from(["numpy", "faiss"] if faiss_available() else ["numpy"]),
)
def test_search_equals_brute_force(
    tables_always: None, seed: int, size: int, radius: int, chunks: int, backend: str
) -> None:
    """Any size, radius and order of adds; the tables are used even for small segments (keys of 8-11 bits)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    # Queries at every distance around the radius from stored hashes, with the flips anywhere.
    queries = []
    for distance in (max(0, radius - 2), max(0, radius - 1), radius, min(256, radius + 1), 0, 15):
        if size:
            base = codes[rng.integers(size)]
            queries.append(flip(base, [int(b) for b in rng.choice(256, size=distance, replace=False)]))
        # Adversarial: a stored hash exactly `radius` bits from a query, with t + 1 flips in the key bits (the
        # high byte) of every part but one, which gets t: only one table can find it.
        per_part = [t + 1 for t in part_thresholds(radius)]
        if size and max(per_part) <= 8:
            per_part[int(rng.choice(np.flatnonzero(per_part)))] -= 1
            codes[rng.integers(size)] = flip(base, spread_flips(rng, per_part, high=True))
            queries.append(base)
    queries.append(rng.integers(0, 256, size=32, dtype=np.uint8))
    query_array = np.array(queries, dtype=np.uint8)
    ids = rng.permutation(size).astype(np.int64) * 7 - 3 if seed % 2 else None
    index = PdqIndex(backend=backend)  # type: ignore[arg-type]
    for part in np.array_split(np.arange(size), chunks):  # incremental adds, searched in between
        index.add(codes[part], None if ids is None else ids[part])
        index.search(query_array[:1])
    assert len(index) == size
    assert index.search(query_array, radius) == brute_force(codes, query_array, radius, ids)


@pytest.mark.parametrize("backend", BACKENDS)
def test_incremental_adds_match_one_bulk_add(backend: str) -> None:
    size = 72_000 if backend == "numpy" else 18_000  # numpy: enough for segments with tables to merge
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    queries = np.array([flip(codes[i], list(range(i % 40))) for i in range(0, size, size // 48)])
    bulk = make_index(codes, backend)
    grown = PdqIndex(backend=backend)  # type: ignore[arg-type]
    for lo in range(0, size, size // 8):
        grown.add(codes[lo : lo + size // 8])
        assert grown.search(queries) == brute_force(codes[: lo + size // 8], queries, 31)
    assert grown.search(queries) == bulk.search(queries)
    if backend == "numpy":
        segments = grown._engine._segments  # type: ignore[attr-defined]
        assert 1 <= len(segments) <= 4, "segments of similar size are merged"


def test_ids_are_returned_as_given() -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, size=(3000, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add(codes[:10])  # default ids: 0..9
    index.add(codes[10:], np.full(2990, 42, dtype=np.int64))  # duplicates are allowed
    index.add(codes[:0], [])
    index.add(codes[:1], [-5])
    assert index.search(codes[:1])[0] == [IndexHit(-5, 0), IndexHit(0, 0)]
    assert index.search(codes[100:101])[0] == [IndexHit(42, 0)]
    assert index.search(codes[3:4])[0] == [IndexHit(3, 0)]


def test_hex_bytes_and_arrays_are_the_same_hashes() -> None:
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 256, size=(5, 32), dtype=np.uint8)
    hexes = unpack_hashes(codes)
    assert all(len(h) == 64 for h in hexes)
    assert np.array_equal(pack_hashes(hexes), codes)
    assert np.array_equal(pack_hashes([h.upper() for h in hexes]), codes)
    assert np.array_equal(pack_hashes([bytes(c) for c in codes]), codes)
    index = PdqIndex()
    index.add(hexes)
    assert index.search([hexes[3]], 0) == [[IndexHit(3, 0)]]


def test_bad_input_is_a_usage_error() -> None:
    index = PdqIndex()
    for bad in (["ab" * 31], ["zz" * 32], [b"\x00" * 31], [42], "ab" * 32, np.zeros((2, 31), dtype=np.uint8),
                np.zeros((2, 32), dtype=np.int64)):
        with pytest.raises(UsageError):
            index.add(bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="ids"):
        index.add(["00" * 32], [1, 2])
    with pytest.raises(UsageError, match="integers"):
        index.add(["00" * 32], np.array([1.5]))
    for radius in (-1, 257, 3.5, True):
        with pytest.raises(UsageError, match="max_distance"):
            index.search(["00" * 32], radius)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="backend"):
        PdqIndex(backend="annoy")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="threads"):
        PdqIndex(threads=0)


def test_empty_index_and_empty_queries() -> None:
    index = PdqIndex()
    assert index.search(["00" * 32, "ff" * 32]) == [[], []]
    index.add(["00" * 32])
    assert index.search([]) == []
    assert index.search(np.zeros((0, 32), dtype=np.uint8)) == []


def test_threads_give_the_same_answer() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, size=(20_000, 32), dtype=np.uint8)
    queries = np.array([flip(codes[i], list(range(i % 35))) for i in range(200)])
    one = make_index(codes, "numpy")
    two = PdqIndex(threads=2)
    two.add(codes)
    assert two.search(queries) == one.search(queries) == brute_force(codes, queries, 31)


def test_numpy_1_popcount_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "_popcount_ufunc", None)
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 256, size=(20_000, 32), dtype=np.uint8)
    queries = np.array([flip(codes[i], list(range(25 + i % 10))) for i in range(30)])
    assert make_index(codes, "numpy").search(queries) == brute_force(codes, queries, 31)


def test_thresholds_follow_the_pigeonhole_bound() -> None:
    for radius in range(0, 257):
        for parts in (11, 12, 16):
            thresholds = part_thresholds(radius, parts)
            assert len(thresholds) == parts and sum(t + 1 for t in thresholds) == radius + 1
            assert max(thresholds) - min(thresholds) <= 1
    assert part_thresholds(31) == [1] * 16
    assert part_thresholds(32) == [2] + [1] * 15
    assert part_thresholds(31, 12) == [2] * 8 + [1] * 4
    assert index_module._Segment(np.zeros((100, 32), np.uint8), 0, 31).perm is None, "small segments are scanned"

    def layout_for(n: int) -> int:
        return min(index_module._LAYOUTS, key=lambda layout: index_module._layout_cost(layout, n, 31)).parts

    assert (layout_for(10**6), layout_for(10**7), layout_for(10**8)) == (16, 12, 11)


def test_memory_per_hash_and_repr() -> None:
    rng = np.random.default_rng(5)
    index = make_index(rng.integers(0, 256, size=(50_000, 32), dtype=np.uint8), "numpy")
    index.search(["00" * 32])
    assert 96 <= index.nbytes / len(index) <= 112  # 32 (hash) + 64 (16 tables) + offsets (16 B/hash at most)
    assert repr(index).startswith("PdqIndex(backend='numpy', hashes=50000, max_distance=31")
    assert PdqIndex().backend == "numpy", "auto chooses the measured-faster NumPy tables"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("with_ids", [False, True])
def test_save_and_load_round_trip(tmp_path: Path, backend: str, with_ids: bool) -> None:
    rng = np.random.default_rng(6)
    codes = rng.integers(0, 256, size=(3000, 32), dtype=np.uint8)
    ids = rng.integers(-(2**62), 2**62, size=3000) if with_ids else None
    index = make_index(codes, backend, ids=ids, radius=24)
    path = tmp_path / "bank.pdqindex"
    index.save(path)
    index.save(path)  # replacing an existing file
    assert [p.name for p in tmp_path.iterdir()] == ["bank.pdqindex"], "no temporary file is left behind"
    for load_backend in ("numpy", backend):
        loaded = PdqIndex.load(path, backend=load_backend)  # type: ignore[arg-type]
        assert len(loaded) == 3000 and loaded.max_distance == 24
        queries = np.array([flip(codes[i], list(range(i % 30))) for i in range(0, 3000, 60)])
        assert loaded.search(queries) == index.search(queries) == brute_force(codes, queries, 24, ids)


def test_damaged_and_foreign_files_are_detection_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    index = make_index(rng.integers(0, 256, size=(100, 32), dtype=np.uint8), "numpy")
    good = tmp_path / "good.pdqindex"
    index.save(good)
    data = good.read_bytes()

    def attempt(name: str, content: bytes, match: str) -> None:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(DetectionError, match=match):
            PdqIndex.load(path)
        assert path.read_bytes() == content, "a bad file is left as it was"

    flipped = bytearray(data)
    flipped[-40] ^= 0x01
    attempt("flipped.pdqindex", bytes(flipped), "SHA-256 does not match")
    attempt("truncated.pdqindex", data[:-10], "damaged")
    attempt("longer.pdqindex", data + b"\x00", "damaged")
    attempt("foreign.png", b"\x89PNG\r\n\x1a\n" + bytes(200), "not a takedown PDQ index")
    attempt("empty.pdqindex", b"", "not a takedown PDQ index")
    newer = bytearray(data)
    newer[8] = 99
    attempt("newer.pdqindex", bytes(newer), "newer")
    header_end = data.index(b"}") + 1
    attempt("badheader.pdqindex", data[:16] + b"{" * (header_end - 16) + data[header_end:], "header")
    with pytest.raises(DetectionError, match="cannot read"):
        PdqIndex.load(tmp_path / "missing.pdqindex")


def test_faiss_backend_needs_the_index_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    index_module._faiss.cache_clear()
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now fails
    try:
        with pytest.raises(MissingDependencyError, match=r"takedown\[index\]"):
            PdqIndex(backend="faiss")
        assert not faiss_available()
        assert PdqIndex(backend="auto").backend == "numpy"
    finally:
        index_module._faiss.cache_clear()


@pytest.mark.parametrize("backend", BACKENDS)
def test_searches_run_while_other_threads_add(backend: str) -> None:
    """A matcher is shared by the workflow's detector threads: searches and adds may overlap."""
    rng = np.random.default_rng(9)
    codes = rng.integers(0, 256, size=(24_000, 32), dtype=np.uint8)
    queries = np.array([flip(codes[i], list(range(i % 33))) for i in range(0, 24_000, 400)])
    before = brute_force(codes[:12_000], queries, 31)
    after = brute_force(codes, queries, 31)
    index = make_index(codes[:12_000], backend)
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(6):
                for got, low, high in zip(index.search(queries), before, after, strict=True):
                    assert set(low) <= set(got) <= set(high)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def add() -> None:
        for lo in range(12_000, 24_000, 2000):
            index.add(codes[lo : lo + 2000])

    workers = [threading.Thread(target=search) for _ in range(3)] + [threading.Thread(target=add)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert index.search(queries) == after
