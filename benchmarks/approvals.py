"""Approvals benchmark: how many approvals an officer gives for the demo case, one request per recipient against
one request per URL.

    python benchmarks/approvals.py [--quick] [--out approvals.json] [--plot docs/img/approvals.png]

What an officer's day grows with: every notice is approved on its own (the law requires a person's approval
before anything is sent). The demo case (``takedown.demo.run``: the loopback demo site, synthetic media, 14
posts of which 8 hold altered copies of the victim's reference media) is run twice with the composition users
run (``takedown.pipeline.build_workflow`` through ``demo_workflow``; evidence from the fetched pages, JSON
manifests, no Chromium, since evidence does not change what is drafted), each into a fresh store:

- ``grouped``: the default, one request per recipient, language and material type, listing every location;
- ``per_url`` (the peer): ``[report] group = false``, one request per finding, as takedown drafted them before
  requests were grouped, and as a request per URL is sent by hand (the demo's operator is in Korea, so each
  finding gets a Korean and an English email and a web-form request).

An approval is counted per draft notice (``takedown approve`` approves one notice per call; ``--finding`` and
``--case`` approve several notices, each recorded on its own). The script checks that both runs list the same
locations (every match, and nothing else) and exits 1 otherwise. ``--quick`` runs each once; otherwise each runs
three times and the counts must agree.

The last line printed is machine-readable:
``RESULT reduction_vs_per_url=X approvals_per_url=B locations=L approvals=A``
(``reduction_vs_per_url`` = B / A; the goal is at most 4 approvals for the demo case).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from takedown.demo import DemoSite
from takedown.demo.run import DEMO_CASE_ID, demo_case, demo_settings, demo_workflow
from takedown.models import Decision, NoticeState
from takedown.store.sqlite import SQLiteCaseStore

GOAL = 4
"""The most approvals the demo case should need."""


class BenchmarkError(Exception):
    """The runs did not do what they must (the same locations listed, drafts to approve)."""


def run_once(folder: Path, *, group: bool) -> dict[str, object]:
    """Run the demo case into ``folder``; the drafts it leaves, and the locations they list."""
    settings = demo_settings(folder)
    settings = settings.model_copy(update={"report": settings.report.model_copy(update={"group": group})})
    started = time.perf_counter()
    with DemoSite(folder / "demo-site") as site, SQLiteCaseStore(folder / "takedown.sqlite") as store:
        store.put_case(demo_case(site))
        result = demo_workflow(store, site, settings).run_sync(DEMO_CASE_ID)
        drafts = store.list_notices(DEMO_CASE_ID, states=[NoticeState.DRAFT])
        matches = {f.id for f in store.list_findings(DEMO_CASE_ID, decision=Decision.MATCH)}
    seconds = time.perf_counter() - started
    if result.errors or not drafts:
        raise BenchmarkError(f"the demo run left {len(drafts)} drafts, errors: {result.errors}")
    listed = {finding for notice in drafts for finding in notice.finding_ids}
    if listed != matches:
        raise BenchmarkError(f"the drafts list {len(listed)} findings, the case has {len(matches)} matches")
    return {
        "approvals": len(drafts), "locations": len(listed), "seconds": round(seconds, 2),
        "by_channel": {c: sum(n.recipient.channel == c for n in drafts) for c in ("email", "web_form")},
        "locales": sorted({n.locale for n in drafts}),
    }


def plot(path: Path, grouped: dict[str, object], per_url: dict[str, object]) -> None:
    """The approvals of each mode, by channel, with the goal, as a PNG (needs matplotlib)."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib to write {path})")
        return
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    labels = ["one request per URL", "one request per recipient"]
    rows: list[Any] = [per_url["by_channel"], grouped["by_channel"]]
    fig, ax = plt.subplots(figsize=(7, 2.2))
    email = [row["email"] for row in rows]
    form = [row["web_form"] for row in rows]
    ax.barh(labels, email, color="#4c72b0", label="e-mail")
    ax.barh(labels, form, left=email, color="#dd8452", label="web form")
    ax.axvline(GOAL, color="black", linestyle="--", linewidth=1)
    ax.text(GOAL, 1.45, f" goal: at most {GOAL}", va="bottom", ha="left", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(f"approvals an officer gives for the demo case ({grouped['locations']} locations)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"plot written to {path}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run of each (under a minute)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--plot", type=Path, help="write the bars here as PNG (needs matplotlib)")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else 3
    figures: dict[str, list[dict[str, object]]] = {"grouped": [], "per_url": []}
    try:
        with tempfile.TemporaryDirectory(prefix="takedown-approvals-") as tmp:
            for n in range(runs):
                for mode in figures:
                    folder = Path(tmp) / f"{mode}-{n}"
                    figures[mode].append(run_once(folder, group=mode == "grouped"))
        for mode, results in figures.items():
            if len({(r["approvals"], r["locations"]) for r in results}) != 1:
                raise BenchmarkError(f"{mode}: the runs disagree: {results}")
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    grouped, per_url = figures["grouped"][0], figures["per_url"][0]
    print(f"{'mode':<10} {'approvals':>9} {'email':>6} {'form':>5} {'locations':>9}  locales")
    for mode, row in (("grouped", grouped), ("per_url", per_url)):
        channels = row["by_channel"]
        assert isinstance(channels, dict)
        print(f"{mode:<10} {row['approvals']:>9} {channels['email']:>6} {channels['web_form']:>5} "
              f"{row['locations']:>9}  {' '.join(row['locales'])}")  # type: ignore[arg-type]
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if args.plot is not None:
        plot(args.plot, grouped, per_url)
    approvals, before = int(grouped["approvals"]), int(per_url["approvals"])  # type: ignore[call-overload]
    print(f"RESULT reduction_vs_per_url={before / approvals:.1f} approvals_per_url={before} "
          f"locations={grouped['locations']} approvals={approvals}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
