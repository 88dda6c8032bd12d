"""The officer benchmark runs in CI (``--quick``): the demo case decided and sent in the console and through the
CLI, every console page loaded on a large store. Its seconds are the benchmark's to report, never asserted here;
what is asserted is that every path ends as it must (the script exits 1 otherwise) and the console's click count."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "officer.py"


@pytest.mark.slow
def test_the_officer_benchmark_runs_and_the_demo_case_takes_at_most_20_clicks(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    proc = subprocess.run([sys.executable, str(BENCHMARK), "--quick", "--out", str(tmp_path / "officer.json")],
                          capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    result = dict(re.findall(r"(\w+)=(\S+)", last))
    assert last.startswith("RESULT ") and {"clicks", "seconds", "p95_page_ms", "cli_seconds"} <= set(result)
    assert int(result["clicks"]) <= 20, last
    assert (tmp_path / "officer.json").is_file()
