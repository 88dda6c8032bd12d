"""End-to-end benchmark: seconds per finding from a site's URL to drafted notices, against the named peers.

    python benchmarks/end_to_end.py [--quick] [--runs N] [--out timings.json] [--plot stages.png]

Runs the demo case (synthetic media only) through discover → judge → evidence → draft on the loopback demo
site, each run into a fresh temporary folder with a fresh store, and times it. The demo media are generated
once beforehand and the site started once; neither is counted. Building the case (hashing the reference media)
is timed separately as setup and is not in the per-finding figure either: an agency hashes a victim's media
once per case, not once per URL.

Peers (constants, not measured here): Seoul's digital sex crime victim support centre reports about 6 minutes
(360 s) per case with its in-house system, and 2 to 3 hours per case by hand (9000 s, the midpoint, is used).

The last line printed is machine-readable:
``RESULT seconds_per_finding=X speedup_vs_seoul=Y speedup_vs_manual=Z runs=N``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from takedown import SQLiteCaseStore, __version__
from takedown.demo import DemoManifest, DemoSite
from takedown.demo.run import demo_case, demo_settings, demo_workflow
from takedown.models import Decision
from takedown.workflow import ProgressEvent

SEOUL_SECONDS_PER_CASE = 360.0
"""Seoul's support centre, in-house system (multimodal LLM + Selenium): about 6 minutes per case (reported)."""
MANUAL_SECONDS_PER_CASE = 9000.0
"""By hand: 2 to 3 hours per case (reported); the midpoint, 2.5 h."""
QUICK_RUNS = 2
FULL_RUNS = 5
STAGES = ("discover", "judge", "evidence", "draft")
"""The workflow's stages in order, as its progress events name them."""


def _post_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def run_once(site: DemoSite, manifest: DemoManifest, folder: Path) -> dict[str, Any]:
    """One timed run of the whole flow into ``folder``; returns its raw timings and counts."""
    settings = demo_settings(folder)
    store = SQLiteCaseStore(folder / "takedown.sqlite")
    try:
        started = time.perf_counter()
        case = demo_case(site)
        store.put_case(case)
        setup_s = time.perf_counter() - started

        stage_start: dict[str, float] = {}

        def progress(event: ProgressEvent) -> None:
            stage_start.setdefault(event.stage, time.perf_counter())

        workflow = demo_workflow(store, site, settings, progress=progress)

        async def flow() -> tuple[float, float]:
            try:
                begin = time.perf_counter()
                await workflow.run(case.id)
                return begin, time.perf_counter()
            finally:
                await workflow.aclose()  # not timed: closes the adapter's idle keep-alive connections

        begin, end = asyncio.run(flow())
        result = workflow.result(case.id)
        findings = store.list_findings(case.id)
    finally:
        store.close()

    marks = [stage_start.get(stage, end) for stage in STAGES] + [end]
    stages = {stage: marks[i + 1] - marks[i] for i, stage in enumerate(STAGES)}
    stages["discover"] += marks[0] - begin  # run() reads the case before discovery reports
    predicted = {_post_id(f.candidate.url) for f in findings if f.decision is Decision.MATCH}
    expected = {p.id for p in manifest.matching_posts()}
    true_pos = len(predicted & expected)
    total_s = end - begin
    return {
        "setup_s": setup_s,
        "total_s": total_s,
        "stages_s": stages,
        "candidates": result.candidates,
        "matches": result.matches,
        "bundles": result.bundles,
        "notices": result.notices,
        "errors": result.errors,
        "precision": true_pos / len(predicted) if predicted else 0.0,
        "recall": true_pos / len(expected) if expected else 0.0,
        "seconds_per_finding": total_s / result.matches if result.matches else float("inf"),
    }


def _machine() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": str(os.cpu_count()),
        "takedown": __version__,
    }


def _print_runs(runs: list[dict[str, Any]]) -> None:
    head = f"{'run':>4} {'found':>5} {'match':>5} {'notices':>7} " + " ".join(f"{s:>8}" for s in STAGES)
    print(head + f" {'total s':>8} {'s/finding':>9} {'setup s':>8}")
    for number, run in enumerate(runs, start=1):
        stages = " ".join(f"{run['stages_s'][s]:>8.3f}" for s in STAGES)
        print(
            f"{number:>4} {run['candidates']:>5} {run['matches']:>5} {run['notices']:>7} {stages} "
            f"{run['total_s']:>8.3f} {run['seconds_per_finding']:>9.4f} {run['setup_s']:>8.3f}"
        )
    medians = " ".join(f"{statistics.median(r['stages_s'][s] for r in runs):>8.3f}" for s in STAGES)
    total = statistics.median(r["total_s"] for r in runs)
    spf = statistics.median(r["seconds_per_finding"] for r in runs)
    setup = statistics.median(r["setup_s"] for r in runs)
    print(f"{'med':>4} {'':>5} {'':>5} {'':>7} {medians} {total:>8.3f} {spf:>9.4f} {setup:>8.3f}")


def _plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Per-stage time bars (median over runs, with min-max whiskers), if matplotlib is installed."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib to write {path})")
        return
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    medians = [statistics.median(r["stages_s"][s] for r in runs) for s in STAGES]
    lows = [m - min(r["stages_s"][s] for r in runs) for m, s in zip(medians, STAGES, strict=True)]
    highs = [max(r["stages_s"][s] for r in runs) - m for m, s in zip(medians, STAGES, strict=True)]
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    ax.barh(list(STAGES), medians, xerr=[lows, highs], color="#4C72B0", capsize=3)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (median of runs; whiskers: min to max)")
    ax.set_title(f"takedown end to end on the demo case, per stage ({len(runs)} runs)", fontsize=10)
    for y, (value, high) in enumerate(zip(medians, highs, strict=True)):
        ax.text(value + high, y, f"  {value:.3f} s", va="center", fontsize=8)  # right of the whisker
    ax.set_xlim(0, max(m + h for m, h in zip(medians, highs, strict=True)) * 1.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"plot written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs instead of {FULL_RUNS}")
    parser.add_argument("--runs", type=int, default=None, help="number of timed runs (overrides --quick)")
    parser.add_argument("--out", type=Path, default=None, help="write the raw timings as JSON here")
    parser.add_argument("--plot", type=Path, default=None,
                        help="write per-stage bars here as PNG (default: beside --out; needs matplotlib)")
    args = parser.parse_args(argv)
    runs_wanted = args.runs if args.runs is not None else (QUICK_RUNS if args.quick else FULL_RUNS)
    if runs_wanted < 1:
        parser.error("--runs must be at least 1")

    machine = _machine()
    print(f"takedown {machine['takedown']} end-to-end benchmark: discover → judge → evidence → draft")
    print(f"machine: {machine['cpus']} CPUs, {machine['processor']}, {machine['platform']}, Python {machine['python']}")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="takedown-bench-media-") as media_root:
        prepared = time.perf_counter()
        with DemoSite(Path(media_root)) as site:  # generates the synthetic media once: not counted
            manifest = site.manifest
            print(f"demo media generated and site started in {time.perf_counter() - prepared:.2f} s (not counted)")
            print(f"{len(manifest.posts)} posts, {len(manifest.matching_posts())} hold copies; {runs_wanted} runs\n")
            for _ in range(runs_wanted):
                with tempfile.TemporaryDirectory(prefix="takedown-bench-run-") as folder:
                    runs.append(run_once(site, manifest, Path(folder)))

    _print_runs(runs)
    failed = [r for r in runs if r["errors"] or r["precision"] < 1.0 or r["recall"] < 1.0]
    if failed:
        print(f"\n{len(failed)} run(s) did not find exactly the expected matches or had errors: "
              f"{[(r['precision'], r['recall'], r['errors']) for r in failed]}", file=sys.stderr)

    spf = statistics.median(r["seconds_per_finding"] for r in runs)
    per_case = statistics.median(r["total_s"] for r in runs)
    matches = runs[0]["matches"]
    speedup_seoul = SEOUL_SECONDS_PER_CASE / spf
    speedup_manual = MANUAL_SECONDS_PER_CASE / spf
    print(f"\nquality: precision={min(r['precision'] for r in runs):.2f} recall={min(r['recall'] for r in runs):.2f} "
          f"(worst run, against the demo manifest)")
    print("\npeers (reported figures, constants: not measured in this run):")
    print(f"  {'who':<40} {'seconds':>9} {'per finding':>12} {'per case':>10}")
    print(f"  {'takedown, per finding (median, measured)':<40} {spf:>9.4f}")
    print(f"  {f'takedown, whole demo case ({matches} findings)':<40} {per_case:>9.3f}")
    for who, seconds in (("Seoul support centre, in-house system", SEOUL_SECONDS_PER_CASE),
                         ("by hand (2-3 h, midpoint 2.5 h)", MANUAL_SECONDS_PER_CASE)):
        print(f"  {who:<40} {seconds:>9.0f} {f'{seconds / spf:,.0f}x':>12} {f'{seconds / per_case:,.0f}x':>10}")
    print("  The peers' figures are per case. 'per finding' divides them by takedown's time per URL judged a match,")
    print("  'per case' by its time for the whole demo case; both from search to drafts awaiting an officer.")

    plot_path = args.plot or (args.out.with_suffix(".png") if args.out else None)
    if args.out is not None:
        data = {
            "benchmark": "end_to_end",
            "machine": machine,
            "runs": runs,
            "median": {"seconds_per_finding": spf, "seconds_per_case": per_case},
            "peers": {"seoul_seconds_per_case": SEOUL_SECONDS_PER_CASE,
                      "manual_seconds_per_case": MANUAL_SECONDS_PER_CASE, "source": "reported constants"},
            "speedup": {"vs_seoul": speedup_seoul, "vs_manual": speedup_manual},
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"\nraw timings written to {args.out}")
    if plot_path is not None:
        _plot(runs, plot_path)

    print(f"RESULT seconds_per_finding={spf:.4f} speedup_vs_seoul={speedup_seoul:.0f} "
          f"speedup_vs_manual={speedup_manual:.0f} runs={len(runs)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
