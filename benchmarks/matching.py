"""PDQ matching benchmark: PdqIndex against faiss's exhaustive IndexBinaryFlat, in the same run.

    python benchmarks/matching.py [--quick] [--out matching.json] [--plot matching.png]

For 1M and 10M synthetic 256-bit PDQ hashes (``--quick``: 200k and 1M), two datasets each:

- ``random``: uniformly random hashes (every bit independent, as an ideal hash).
- ``clustered``: near-duplicate clusters, as real banks have (re-encodes, resizes, crops of one image): centres
  drawn at random, each with 15 variants 2 to 32 bits away on average.

Queries (the same for every index): half are stored hashes with 0-40 bits flipped, including adversarial ones
exactly 30, 31 and 32 bits away with the flips spread over the 16-bit parts so that as few of PdqIndex's tables
as possible can find them; half are fresh random hashes (which match nothing, as most crawled images do).

Each index answers every query of a dataset with radius 31 (faiss's ``range_search`` is strictly below its
radius, so the flat index is asked with 32), single-threaded (``faiss.omp_set_num_threads(1)``, ``threads=1``).
The indexes are timed in interleaved rounds over the same queries (5 rounds, 1 at 10M, where the flat index
is slow), so that the load of a shared machine affects them alike; the speedup is the median of the rounds'
ratios. Recall is PdqIndex's (and faiss
MultiHash's) pairs against the flat index's: it must be 1.0, or the script exits 1. Memory is bytes per stored
hash: PdqIndex's arrays counted exactly (``nbytes``), the flat index's codes, and for faiss's
``IndexBinaryMultiHash`` (measured up to ``--mih-max`` hashes: it needs ~1 GB per 3M hashes) the growth of the
process's resident memory while it was built. The flat index at 10M is slow (about 30 ms a query), so at 10M
every index answers a smaller set of queries (still the same set for all).

The last line printed is machine-readable:
``RESULT speedup_vs_flat_1m=X speedup_vs_flat_10m=Y recall=R bytes_per_hash=B`` (one ``speedup_vs_flat_<size>``
per size measured; each the lower of the two datasets; ``bytes_per_hash`` the largest PdqIndex figure).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy and faiss load their thread pools

import argparse  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from takedown import __version__  # noqa: E402
from takedown.detect.index import CODE_BYTES, PdqIndex, faiss_available  # noqa: E402

RADIUS = 31
CLUSTER_SIZE = 16
FULL_SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (200_000, 1_000_000)


def _label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


def _rss() -> int:
    """Resident memory of this process, in bytes."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _random_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, CODE_BYTES), dtype=np.uint8)


def _sparse_masks(rng: np.random.Generator, n: int, ands: np.ndarray) -> np.ndarray:
    """Random masks whose bits are set with probability 2**-ands[i] (ANDs of random words)."""
    masks = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64, endpoint=False)
    for level in range(2, int(ands.max()) + 1):
        more = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64, endpoint=False)
        more[ands < level] = np.uint64(2**64 - 1)
        masks &= more
    return masks.view(np.uint8).reshape(n, CODE_BYTES)


def make_dataset(kind: str, n: int, seed: int) -> np.ndarray:
    """``n`` hashes: uniformly random, or clusters of near-duplicates around random centres."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return _random_codes(rng, n)
    centres = _random_codes(rng, -(-n // CLUSTER_SIZE))
    codes = np.repeat(centres, CLUSTER_SIZE, axis=0)[:n]
    # Each variant differs from its centre in each bit with probability 1/8 .. 1/128: 32 .. 2 bits on average.
    ands = rng.integers(3, 8, size=n)
    ands[::CLUSTER_SIZE] = 64  # the centre itself (almost no bits flipped)
    codes ^= _sparse_masks(rng, n, ands)
    return codes


def _flip(code: np.ndarray, bits: np.ndarray) -> np.ndarray:
    out = code.copy()
    np.bitwise_xor.at(out, bits // 8, (1 << (7 - bits % 8)).astype(np.uint8))
    return out


def make_queries(codes: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Half perturbed stored hashes (0-40 bits, adversarial 30/31/32 included), half fresh random hashes."""
    rng = np.random.default_rng(seed)
    near = []
    distances = [0, 4, 8, 16, 24, 28, 30, 31, 32, 33, 36, 40]
    for i in range(count // 2):
        base = codes[rng.integers(len(codes))]
        if i % 3 == 0:  # adversarial: flips spread over the 16-bit parts (2 in each, one part with 0 or 1)
            per_part = np.full(16, 2)
            per_part[rng.integers(16)] = (0, 1, 2)[i % 9 // 3]  # 30, 31 or 32 bits
            bits = np.concatenate([rng.choice(16, k, replace=False) + 16 * p for p, k in enumerate(per_part)])
        else:
            bits = rng.choice(256, distances[i % len(distances)], replace=False)
        near.append(_flip(base, bits.astype(np.int64)))
    far = _random_codes(rng, count - len(near))
    queries = np.concatenate([np.array(near, dtype=np.uint8).reshape(-1, CODE_BYTES), far])
    return queries[rng.permutation(len(queries))]


def _timed(search: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call takes, and its answer."""
    started = time.perf_counter()
    answer = search()
    return time.perf_counter() - started, answer


def _flat_pairs(lims: np.ndarray, dist: np.ndarray, labels: np.ndarray) -> set[tuple[int, int, int]]:
    pairs = set()
    for q in range(len(lims) - 1):
        for i in range(int(lims[q]), int(lims[q + 1])):
            pairs.add((q, int(labels[i]), int(dist[i])))
    return pairs


def _index_pairs(hits: list[list[Any]]) -> set[tuple[int, int, int]]:
    return {(q, h.id, h.distance) for q, row in enumerate(hits) for h in row}


def _trim() -> None:
    """Return freed memory to the system, so that resident-memory growth measures what is built next."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure(kind: str, n: int, queries_count: int, *, mih: bool, rounds: int, seed: int) -> dict[str, Any]:
    """Build every index over one dataset, answer the same queries with each, and compare.

    The indexes are timed in interleaved rounds (flat, PdqIndex, faiss MultiHash, flat, ...), so that a change in
    the load of a shared machine affects all of them alike; the speedup is the median of the rounds' ratios.
    """
    faiss: Any = importlib.import_module("faiss")
    faiss.omp_set_num_threads(1)
    started = time.perf_counter()
    codes = make_dataset(kind, n, seed)
    queries = make_queries(codes, queries_count, seed + 1)
    result: dict[str, Any] = {"dataset": kind, "hashes": n, "queries": len(queries),
                              "generate_s": time.perf_counter() - started}

    flat = faiss.IndexBinaryFlat(8 * CODE_BYTES)
    started = time.perf_counter()
    flat.add(codes)
    result["flat"] = {"build_s": time.perf_counter() - started, "bytes_per_hash": float(flat.code_size)}

    _trim()
    rss_before = _rss()
    started = time.perf_counter()
    index = PdqIndex(max_distance=RADIUS, backend="numpy", threads=1)
    index.add(codes)
    index.search(queries[:1])  # builds the tables
    result["pdqindex"] = {"build_s": time.perf_counter() - started, "bytes_per_hash": index.nbytes / n,
                          "rss_bytes_per_hash": (_rss() - rss_before) / n, "repr": repr(index)}

    multi = None
    if mih:
        _trim()
        rss_before = _rss()
        started = time.perf_counter()
        multi = PdqIndex(max_distance=RADIUS, backend="faiss", threads=1)
        multi.add(codes)
        result["faiss_multihash"] = {"build_s": time.perf_counter() - started,
                                     "rss_bytes_per_hash": (_rss() - rss_before) / n}

    times: dict[str, list[float]] = {"flat": [], "pdqindex": [], "faiss_multihash": []}
    answers: dict[str, Any] = {}
    for _ in range(rounds):
        seconds, (lims, dist, labels) = _timed(lambda: flat.range_search(queries, RADIUS + 1))  # < 32: <= 31
        times["flat"].append(seconds)
        answers["flat"] = _flat_pairs(lims, dist, labels)
        seconds, hits = _timed(lambda: index.search(queries))
        times["pdqindex"].append(seconds)
        answers["pdqindex"] = _index_pairs(hits)
        if multi is not None:
            seconds, hits = _timed(lambda: multi.search(queries))
            times["faiss_multihash"].append(seconds)
            answers["faiss_multihash"] = _index_pairs(hits)
    truth = answers["flat"]
    for name, seconds_list in times.items():
        if not seconds_list:
            continue
        entry = result[name]
        entry["search_s"] = statistics.median(seconds_list)
        entry["qps"] = len(queries) / entry["search_s"]
        entry["pairs"] = len(answers[name])
        if name != "flat":
            entry["recall"] = _recall(answers[name], truth)
            entry["exact"] = answers[name] == truth
            entry["speedup"] = statistics.median(f / s for f, s in zip(times["flat"], seconds_list, strict=True))
    result["speedup"] = result["pdqindex"]["speedup"]
    return result


def _recall(found: set[tuple[int, int, int]], truth: set[tuple[int, int, int]]) -> float:
    return 1.0 if not truth else len(found & truth) / len(truth)


def _machine() -> dict[str, str]:
    faiss: Any = importlib.import_module("faiss")
    return {
        "cpus": str(os.cpu_count()),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": getattr(faiss, "__version__", "?"),
        "takedown": __version__,
    }


def _print(results: list[dict[str, Any]]) -> None:
    print(f"{'hashes':>10} {'dataset':>9} {'queries':>7} {'pairs':>6} | {'flat q/s':>9} {'PdqIndex q/s':>12} "
          f"{'speedup':>7} {'recall':>6} {'B/hash':>6} | {'faiss MIH q/s':>13} {'B/hash':>6} | {'build s':>7}")
    for r in results:
        mih = r.get("faiss_multihash")
        mih_text = f"{mih['qps']:>13.0f} {mih['rss_bytes_per_hash']:>6.0f}" if mih else f"{'-':>13} {'-':>6}"
        p = r["pdqindex"]
        print(f"{r['hashes']:>10,} {r['dataset']:>9} {r['queries']:>7} {r['flat']['pairs']:>6} | "
              f"{r['flat']['qps']:>9.0f} {p['qps']:>12.0f} {r['speedup']:>6.1f}x {p['recall']:>6.3f} "
              f"{p['bytes_per_hash']:>6.1f} | {mih_text} | {p['build_s']:>7.1f}")
    print("flat: faiss IndexBinaryFlat.range_search (exhaustive, 32 B/hash); PdqIndex: numpy multi-index tables;")
    print("faiss MIH: PdqIndex(backend='faiss') = faiss IndexBinaryMultiHash(256, 16, 16), memory as RSS growth.")


def _plot(results: list[dict[str, Any]], path: Path) -> None:
    """Queries per second of each index per dataset (log scale), if matplotlib is installed."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib to write {path})")
        return
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    labels = [f"{_label(r['hashes']).upper()} hashes\n{r['dataset']}" for r in results]
    series = [("faiss IndexBinaryFlat", "flat", "#999999"), ("faiss IndexBinaryMultiHash", "faiss_multihash",
              "#e69f00"), ("takedown PdqIndex", "pdqindex", "#0072b2")]
    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=100)
    width = 0.27
    for k, (name, key, colour) in enumerate(series):
        xs = [i + (k - 1) * width for i, r in enumerate(results) if key in r]
        ys = [r[key]["qps"] for r in results if key in r]
        ax.bar(xs, ys, width, label=name, color=colour)
    for i, r in enumerate(results):
        ax.annotate(f"{r['speedup']:.0f}x", (i + width, r["pdqindex"]["qps"]), ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.margins(y=0.15)
    ax.set_ylabel("queries / s (1 thread)")
    ax.set_xticks(range(len(results)), labels, fontsize=8)
    ax.set_title("Exact PDQ range search, radius 31 (higher is better)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"plot written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200k and 1M hashes, fewer queries (under a minute)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="numbers of hashes (overrides --quick)")
    parser.add_argument("--queries", type=int, default=None, help="queries per dataset at up to 1M hashes")
    parser.add_argument("--mih-max", type=int, default=None,
                        help="measure faiss IndexBinaryMultiHash up to this many hashes (it needs ~330 B/hash); "
                             "default 1M, --quick 200k")
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--out", type=Path, default=None, help="write the raw numbers here as JSON")
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG bar chart (default: beside --out)")
    args = parser.parse_args(argv)
    if not faiss_available():
        print("this benchmark compares against faiss: pip install 'takedown[index]'", file=sys.stderr)
        return 2
    sizes = tuple(args.sizes) if args.sizes else (QUICK_SIZES if args.quick else FULL_SIZES)
    per_size = args.queries or (200 if args.quick else 600)
    mih_max = args.mih_max if args.mih_max is not None else (200_000 if args.quick else 1_000_000)
    machine = _machine()
    print(f"takedown {__version__} PDQ matching benchmark: exact range search, radius {RADIUS}, 1 thread")
    print(f"machine: {machine['cpus']} CPUs, {machine['machine']}, {machine['platform']}, Python "
          f"{machine['python']}, NumPy {machine['numpy']}, faiss {machine['faiss']}")
    results = []
    for n in sizes:
        count = per_size if n <= 2_000_000 else max(50, per_size // 5)  # the flat index at 10M: ~30 ms a query
        for d, kind in enumerate(("random", "clustered")):
            rounds = 1 if n > 2_000_000 else 5
            r = measure(kind, n, count, mih=n <= mih_max, rounds=rounds, seed=args.seed + 10 * d + n % 997)
            _trim()  # the indexes of this dataset are gone: give their memory back before the next
            results.append(r)
            p = r["pdqindex"]
            print(f"  {n:,} {kind}: flat {r['flat']['qps']:.0f} q/s, PdqIndex {p['qps']:.0f} q/s "
                  f"({r['speedup']:.1f}x), recall {p['recall']:.3f}, {p['bytes_per_hash']:.1f} B/hash", flush=True)
    print()
    _print(results)
    recall = min(min(r["pdqindex"]["recall"], r.get("faiss_multihash", {}).get("recall", 1.0)) for r in results)
    exact = all(r["pdqindex"]["exact"] and r.get("faiss_multihash", {}).get("exact", True) for r in results)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": machine, "radius": RADIUS, "results": results}, indent=1) + "\n",
                            encoding="utf-8")
        print(f"\nraw numbers written to {args.out}")
    plot = args.plot or (args.out.with_suffix(".png") if args.out else None)
    if plot is not None:
        _plot(results, plot)
    speedups = " ".join(
        f"speedup_vs_flat_{_label(n)}={min(r['speedup'] for r in results if r['hashes'] == n):.1f}" for n in sizes
    )
    bytes_per_hash = max(r["pdqindex"]["bytes_per_hash"] for r in results)
    if not exact:
        print("ERROR: an index's answers differ from the flat index's (recall below 1.0, or extra pairs)",
              file=sys.stderr)
    print(f"RESULT {speedups} recall={recall:.4f} bytes_per_hash={bytes_per_hash:.1f}")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
