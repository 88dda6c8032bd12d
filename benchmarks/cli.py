"""CLI start-up benchmark: wall time of light ``takedown`` commands as processes, against ``python -c pass``.

    python benchmarks/cli.py [--quick] [--runs N] [--out cli.json] [--plot docs/img/cli.png]

What an officer waits for when she types a light command: the whole process, from ``exec`` to exit, interpreter
start-up and imports included. Each command is run with ``subprocess.run`` and timed with ``time.perf_counter``
around it; the peer is ``python -c pass`` with the same interpreter, in the same run, the floor no Python command
can go under. Commands (the venv's ``takedown`` script beside ``sys.executable``, else ``python -m takedown``):

- ``takedown --help``;
- ``takedown review --config FILE``: the list of draft notices of a store holding the demo case (3 requests
  listing 8 posts);
- ``takedown approve NOTICE_ID --by "Officer Bench" --config FILE``: every run approves a different draft;
- ``takedown verify BUNDLE --config FILE``: a sealed, time-stamped evidence bundle of the demo case; the settings
  name the TSA's certificate and CA, so the time stamp's signature is checked too.

Prepared with the library beforehand, not timed: the demo workflow (``takedown.demo.run.demo_workflow`` without live
capture, synthetic media only) on the loopback demo site, stamped by a local TSA (``takedown.demo.tsa.LocalTsa``),
into a SQLite store in a temporary folder for ``review`` and ``verify``, and into as many more as ``approve`` needs
drafts; a settings file per store (``[storage] data_dir``, ``[tsa] certificate`` and ``ca_file``). The site and
the TSA are stopped before timing starts. Commands run in that folder, with the environment less its
``TAKEDOWN_*`` variables and ``PYTHONDONTWRITEBYTECODE`` (so they run from the bytecode cache, as an installed
takedown does; the warm-up run writes it).

One untimed warm-up run of each command, then N rounds (``--quick``: 5, else 20); each round runs the baseline
and every command once, in an order that rotates from round to round, so that machine noise falls on all alike.
Every run must exit 0 and print what it should (``verify``: that the bundle holds; ``review``: every draft's id);
afterwards every approved notice must be approved by the officer in its store, and the review store unchanged.
Anything else makes the script exit 1. Figures are medians over the rounds.

The last line printed is machine-readable:
``RESULT max_overhead_s=X help_s=A review_s=B approve_s=C verify_s=D baseline_s=E``
(``max_overhead_s`` = the slowest command's median less the baseline's; the goal is under 0.3 s).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takedown import __version__
from takedown.demo import DemoSite
from takedown.demo.run import demo_case, demo_settings, demo_workflow
from takedown.demo.tsa import LocalTsa
from takedown.evidence.tsa import TsaClient
from takedown.models import NoticeState
from takedown.store.sqlite import SQLiteCaseStore

QUICK_RUNS = 5
FULL_RUNS = 20
GOAL_OVERHEAD_S = 0.3
"""The goal: each light command under 0.3 s above the ``python -c pass`` baseline."""
OFFICER = "Officer Bench"
COMMAND_TIMEOUT_S = 120
COMMANDS = ("help", "review", "approve", "verify")
LABELS = {
    "baseline": "python -c pass (baseline)",
    "help": "takedown --help",
    "review": "takedown review",
    "approve": "takedown approve ID --by ...",
    "verify": "takedown verify BUNDLE",
}


class BenchmarkError(RuntimeError):
    """A command failed, printed the wrong thing, or left the store in the wrong state."""


@dataclass(frozen=True)
class Store:
    """One prepared store: its data folder, its settings file and the ids of its draft notices."""

    data_dir: Path
    config: Path
    drafts: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    review: Store
    """The store ``review`` lists and whose bundle ``verify`` checks; nothing changes it."""
    approvals: tuple[tuple[Store, str], ...]
    """(store, draft id) for each ``approve`` run, warm-up first."""
    bundle: Path
    case_id: str
    seconds: float


def _machine() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": str(os.cpu_count()),
        "takedown": __version__,
    }


def takedown_command() -> list[str]:
    """The venv's ``takedown`` script beside this interpreter, else ``python -m takedown``."""
    script = Path(sys.executable).parent / ("takedown.exe" if os.name == "nt" else "takedown")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "takedown"]


def clean_env() -> dict[str, str]:
    """This process's environment without any ``TAKEDOWN_*`` variable (the settings file alone configures), and
    without ``PYTHONDONTWRITEBYTECODE``: an installed takedown runs from its bytecode cache, which the warm-up run
    writes here, as pip writes it at install time."""
    return {key: value for key, value in os.environ.items()
            if not key.upper().startswith("TAKEDOWN_") and key != "PYTHONDONTWRITEBYTECODE"}


def _toml_string(value: Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _write_settings(path: Path, data_dir: Path, tsa_folder: Path) -> None:
    path.write_text(
        f"[storage]\ndata_dir = {_toml_string(data_dir)}\n\n"
        f"[tsa]\ncertificate = {_toml_string(tsa_folder / 'tsa.pem')}\n"
        f"ca_file = {_toml_string(tsa_folder / 'ca.pem')}\n",
        encoding="utf-8",
    )


def prepare(folder: Path, *, approvals_needed: int) -> Prepared:
    """Run the demo workflow (no live capture) into enough stores; nothing here is timed."""
    started = time.perf_counter()
    tsa_folder = folder / "tsa"
    stores: list[Store] = []
    with DemoSite(folder / "demo-site") as site, LocalTsa(tsa_folder) as authority:
        case = demo_case(site)  # hashes the reference media once; every store gets the same case
        # Store 0 is listed and verified; stores 1.. give the drafts approve consumes.
        while not stores or sum(len(s.drafts) for s in stores[1:]) < approvals_needed:
            data_dir = folder / f"data-{len(stores)}"
            store = SQLiteCaseStore(data_dir / "takedown.sqlite")
            try:
                store.put_case(case)
                tsa = TsaClient(authority.settings())  # the workflow owns it and closes it
                workflow = demo_workflow(store, site, demo_settings(data_dir), full_evidence=False, tsa=tsa)
                result = workflow.run_sync(case.id)
                drafts = tuple(n.id for n in store.list_notices(case.id, states=[NoticeState.DRAFT]))
            finally:
                store.close()
            if result.errors or not drafts:
                raise BenchmarkError(f"the demo workflow made {len(drafts)} drafts, errors: {result.errors}")
            config = folder / f"takedown-{len(stores)}.toml"
            _write_settings(config, data_dir, tsa_folder)
            stores.append(Store(data_dir, config, drafts))
    seals = sorted((stores[0].data_dir / "evidence").glob("*/*/seal.json"))
    if not seals:
        raise BenchmarkError(f"the demo workflow sealed no bundle under {stores[0].data_dir / 'evidence'}")
    approvals = tuple((store, notice_id) for store in stores[1:] for notice_id in store.drafts)
    return Prepared(review=stores[0], approvals=approvals[:approvals_needed], bundle=seals[0].parent,
                    case_id=case.id, seconds=time.perf_counter() - started)


class Runner:
    """Runs and times the commands; checks each one's exit status and output."""

    def __init__(self, prepared: Prepared, cwd: Path) -> None:
        self.prepared = prepared
        self.cwd = cwd
        self.env = clean_env()
        self.takedown = takedown_command()
        self.next_approval = 0
        self.approved: list[tuple[Store, str]] = []

    def argv(self, name: str) -> tuple[list[str], Callable[[str], str | None]]:
        """The command line for one run of ``name`` and a check of its output (None when it is right)."""
        review = self.prepared.review
        if name == "baseline":
            return [sys.executable, "-c", "pass"], lambda out: None
        if name == "help":
            return [*self.takedown, "--help"], lambda out: (
                None if "usage" in out.lower() and all(c in out for c in ("review", "approve", "verify"))
                else "no usage naming review, approve and verify")
        if name == "review":
            def listed(out: str) -> str | None:
                missing = [d for d in review.drafts if d not in out]
                return f"{len(missing)} of {len(review.drafts)} drafts not listed" if missing else None
            return [*self.takedown, "review", "--config", str(review.config)], listed
        if name == "approve":
            if self.next_approval >= len(self.prepared.approvals):
                raise BenchmarkError("no draft left to approve")
            store, notice_id = self.prepared.approvals[self.next_approval]
            self.next_approval += 1
            self.approved.append((store, notice_id))
            return [*self.takedown, "approve", notice_id, "--by", OFFICER, "--config", str(store.config)], \
                lambda out: None  # the store is checked afterwards
        if name == "verify":
            return [*self.takedown, "verify", str(self.prepared.bundle), "--config", str(review.config)], \
                lambda out: None if "VERIFIED" in out and "FAILED" not in out else "the bundle is not VERIFIED"
        raise ValueError(name)

    def run(self, name: str) -> float:
        argv, check = self.argv(name)
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, check=False)
        elapsed = time.perf_counter() - started
        problem = f"exit status {done.returncode}" if done.returncode != 0 else check(done.stdout)
        if problem:
            raise BenchmarkError(f"{' '.join(argv)}: {problem}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}")
        return elapsed

    def check_stores(self) -> None:
        """Every approved draft is approved by the officer; the review store still holds all its drafts."""
        for store_ in {store for store, _ in self.approved}:
            with SQLiteCaseStore(store_.data_dir / "takedown.sqlite") as store:
                for notice_id in (n for s, n in self.approved if s == store_):
                    notice = store.get_notice(notice_id)
                    if notice.state is not NoticeState.APPROVED or notice.approved_by != OFFICER:
                        raise BenchmarkError(f"{notice_id} is {notice.state.value}, approved by "
                                             f"{notice.approved_by!r}, after takedown approve")
        review = self.prepared.review
        with SQLiteCaseStore(review.data_dir / "takedown.sqlite") as store:
            drafts = {n.id for n in store.list_notices(self.prepared.case_id, states=[NoticeState.DRAFT])}
        if drafts != set(review.drafts):
            raise BenchmarkError("review or verify changed the drafts of the store they read")


def measure(runner: Runner, rounds: int) -> dict[str, list[float]]:
    names = ("baseline", *COMMANDS)
    for name in names:  # warm-up: the OS's file cache, the bytecode caches; not counted
        runner.run(name)
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(runner.run(name))
    return times


def summarise(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    baseline = statistics.median(times["baseline"])
    summary = {}
    for name, values in times.items():
        median = statistics.median(values)
        summary[name] = {"median_s": median, "min_s": min(values), "max_s": max(values),
                         "mean_s": statistics.fmean(values), "over_baseline_s": median - baseline}
    return summary


def _print_table(summary: dict[str, dict[str, float]], runs: int) -> None:
    print(f"{'command':<30} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'over baseline s':>16}")
    for name, row in summary.items():
        over = "" if name == "baseline" else f"{row['over_baseline_s']:+16.3f}"
        print(f"{LABELS[name]:<30} {runs:>4} {row['median_s']:>9.3f} {row['min_s']:>7.3f} {row['max_s']:>7.3f} "
              f"{over:>16}")


def _plot(summary: dict[str, dict[str, float]], path: Path) -> None:
    """Each command's median over the baseline, with the goal, as a PNG (needs matplotlib)."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib to write {path})")
        return
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    names = list(COMMANDS)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    over = [summary[n]["over_baseline_s"] for n in names]
    ax.barh([LABELS[n] for n in names], over, color=["#4c72b0" if o < GOAL_OVERHEAD_S else "#c44e52" for o in over])
    ax.axvline(GOAL_OVERHEAD_S, color="black", linestyle="--", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlim(0, max(GOAL_OVERHEAD_S, *over) * 1.25)
    ax.text(GOAL_OVERHEAD_S, -0.6, f" goal {GOAL_OVERHEAD_S} s", va="bottom", ha="left", fontsize=9)
    ax.set_xlabel(f"median seconds above `python -c pass` ({summary['baseline']['median_s']:.3f} s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"plot written to {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_RUNS} runs of each command instead of {FULL_RUNS}")
    parser.add_argument("--runs", type=int, default=None, help="timed runs of each command (overrides --quick)")
    parser.add_argument("--out", type=Path, default=None, help="write every timing and the machine as JSON here")
    parser.add_argument("--plot", type=Path, default=None, help="write the bars here as PNG (needs matplotlib)")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (QUICK_RUNS if args.quick else FULL_RUNS)
    if runs < 1:
        parser.error("--runs must be at least 1")

    machine = _machine()
    print(f"takedown {machine['takedown']} CLI start-up benchmark: light commands as processes, "
          "against `python -c pass`")
    print(f"machine: {machine['cpus']} CPUs, {machine['processor']}, {machine['platform']}, Python {machine['python']}")
    command = takedown_command()
    print(f"command: {' '.join(command)}")
    try:
        with tempfile.TemporaryDirectory(prefix="takedown-bench-cli-") as tmp:
            folder = Path(tmp)
            prepared = prepare(folder, approvals_needed=runs + 1)  # + the warm-up's
            stores = 1 + len({store.data_dir for store, _ in prepared.approvals})
            print(f"prepared in {prepared.seconds:.2f} s (not counted): {stores} demo stores, "
                  f"{len(prepared.review.drafts)} drafts listed, {len(prepared.approvals)} to approve, "
                  f"bundle {prepared.bundle.name}")
            print(f"{runs} timed runs of each after one warm-up run; the order rotates each round\n")
            runner = Runner(prepared, folder)
            times = measure(runner, runs)
            runner.check_stores()
    except (BenchmarkError, subprocess.TimeoutExpired) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 1

    summary = summarise(times)
    _print_table(summary, runs)
    baseline = summary["baseline"]["median_s"]
    slowest = max(COMMANDS, key=lambda name: summary[name]["median_s"])
    max_overhead = summary[slowest]["median_s"] - baseline
    verdict = "meets" if max_overhead < GOAL_OVERHEAD_S else "misses"
    print(f"\nslowest: {LABELS[slowest]}, {max_overhead:+.3f} s over the baseline: {verdict} the goal of "
          f"under {GOAL_OVERHEAD_S} s for every light command")

    if args.out is not None:
        data: dict[str, Any] = {
            "benchmark": "cli", "machine": machine, "command": command, "runs": runs,
            "goal_overhead_s": GOAL_OVERHEAD_S, "max_overhead_s": max_overhead, "slowest": slowest,
            "summary": summary, "times_s": times,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.out}")

    if args.plot is not None:
        _plot(summary, args.plot)

    print(f"RESULT max_overhead_s={max_overhead:.3f} "
          + " ".join(f"{name}_s={summary[name]['median_s']:.3f}" for name in COMMANDS)
          + f" baseline_s={baseline:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
