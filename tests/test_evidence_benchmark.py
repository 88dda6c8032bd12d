"""The evidence benchmark runs in CI on one page: the full bundle (two stamps, the agency's signatures, the WACZ, the
browser's traffic) must verify against the TSA's and the agency's CA, with every role there and both WARCs passing
``warcio check`` (the script exits 1 otherwise). Its seconds are the benchmark's to report, never asserted here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "evidence.py"


@pytest.mark.slow
def test_the_evidence_benchmark_makes_a_bundle_that_verifies(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(BENCHMARK), "--pages", "1", "--out", str(tmp_path / "evidence.json")],
                          capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    result = dict(re.findall(r"(\w+)=(\S+)", last))
    assert last.startswith("RESULT overhead_vs_plain_capture=")
    assert list(result) == ["overhead_vs_plain_capture", "overhead_vs_unsigned", "seconds_per_bundle",
                            "unsigned_seconds", "plain_seconds", "pages"]
    assert result["pages"] == "1" and float(result["seconds_per_bundle"]) > 0
