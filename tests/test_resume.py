"""Kill the workflow with SIGKILL at random points; the rerun must lose nothing and duplicate nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from takedown.demo.site import DemoSite
from takedown.evidence.custody import verify_chain
from takedown.store.sqlite import SQLiteCaseStore

WORKER = Path(__file__).with_name("resume_worker.py")
pytestmark = pytest.mark.slow


def _start(out: Path, site: DemoSite) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(out), site.base_url, str(site.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _run_to_end(out: Path, site: DemoSite) -> dict[str, Any]:
    proc = _start(out, site)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    return dict(json.loads(stdout.strip().splitlines()[-1])["done"])


def _kill_at(out: Path, site: DemoSite, stage: str, share: float) -> str:
    """Run until the worker has done ``share`` of the items left in ``stage`` (or ends), then SIGKILL it.

    Discovery does not know its total; there ``share`` of 10 pages is the mark.
    """
    proc = _start(out, site)
    assert proc.stdout is not None
    reached = "finished before the kill point"
    for line in proc.stdout:
        event = json.loads(line)
        total = event.get("total") or 10
        if event.get("stage") == stage and event.get("done", 0) >= max(1, round(share * total)):
            os.kill(proc.pid, signal.SIGKILL)
            reached = f"killed in {stage} at {event['done']}"
            break
    proc.wait(timeout=60)
    if proc.stdout:
        proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    return reached


def _snapshot(out: Path) -> dict[str, Any]:
    with SQLiteCaseStore(out / "takedown.sqlite") as store:
        findings = store.list_findings()
        bundles = store.list_bundles()
        notices = store.list_notices()
        custody = {s: store.custody_log(s) for s in [b.id for b in bundles] + [n.id for n in notices]}
        for subject, events in custody.items():
            assert verify_chain(events) == [], subject
        evidence = out / "evidence"
        files = sorted(p.relative_to(evidence).as_posix() for p in evidence.rglob("*")
                       if p.is_file() and not p.name.endswith(".tmp"))
        artifacts = sorted(a.path for b in bundles for a in b.artifacts)
        return {
            "findings": sorted((f.id, f.state.value, f.decision.value if f.decision else None,
                                tuple(h.to_state for h in f.history)) for f in findings),
            "bundles": sorted(b.id for b in bundles),
            "artifacts": artifacts,
            "files": files,
            "notices": sorted((n.id, n.locale, n.state.value) for n in notices),
            "custody": sorted((s, tuple(e.action for e in events)) for s, events in custody.items()),
        }


def test_sigkill_at_random_points_loses_nothing_and_duplicates_nothing(tmp_path: Path, demo_site: DemoSite) -> None:
    reference_out = tmp_path / "reference"
    reference = _run_to_end(reference_out, demo_site)
    assert reference["matches"] == len(demo_site.manifest.matching_posts())

    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    seed_note = []
    killed_out = tmp_path / "killed"
    plan = [("discover", rng.uniform(0.1, 0.6)), ("judge", rng.uniform(0.1, 0.5)), ("judge", rng.uniform(0.2, 0.8)),
            ("evidence", rng.uniform(0.1, 0.5)), ("evidence", rng.uniform(0.2, 0.8)), ("draft", rng.uniform(0.1, 0.8))]
    for stage, at in plan:
        seed_note.append(_kill_at(killed_out, demo_site, stage, at))
    resumed = _run_to_end(killed_out, demo_site)
    assert sum(n.startswith("killed") for n in seed_note) >= 4, seed_note

    for key in ("candidates", "findings", "matches", "bundles", "notices", "locales"):
        assert resumed[key] == reference[key], (key, seed_note)
    got, want = _snapshot(killed_out), _snapshot(reference_out)
    assert got["findings"] == want["findings"], seed_note
    assert got["bundles"] == want["bundles"]
    assert got["notices"] == want["notices"]
    assert got["custody"] == want["custody"], "no custody event is lost or written twice"
    assert got["artifacts"] == want["artifacts"]
    assert got["files"] == want["files"], "no extra or missing evidence file"
