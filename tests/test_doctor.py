"""takedown doctor: each check finds what is there, and says what to do about what is not."""

from __future__ import annotations

import socket
from pathlib import Path

from test_smtp import Recorder, smtp_server
from typer.testing import CliRunner

from takedown.cli import app
from takedown.doctor import Check, CheckStatus, run_checks
from takedown.settings import Settings


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_missing_parts_fail_with_the_fix(tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "bad.toml").write_text('name = "x"\nbase_url = "https://x.example"\n[report]\nemail = "abuse@x.test"\n')
    settings = Settings.model_validate({
        "storage": {"data_dir": str(tmp_path / "data")},
        "evidence": {"chromium": str(tmp_path / "no-chromium"), "chromedriver": str(tmp_path / "no-driver")},
        "sites": {"dir": str(sites)},
        "smtp": {"host": "127.0.0.1", "port": _closed_port(), "security": "none"},
    })
    checks = _by_name(run_checks(settings, timeout=2))
    assert checks["chromium"].status is CheckStatus.FAIL and "apt-get install chromium" in checks["chromium"].fix
    assert checks["site files"].status is CheckStatus.FAIL and "report.email" in checks["site files"].detail
    assert checks["case store"].status is CheckStatus.WARN and "case create" in checks["case store"].fix
    assert checks["SMTP"].status is CheckStatus.FAIL and "[smtp]" in checks["SMTP"].fix
    assert checks["TSA"].status is CheckStatus.WARN and "[tsa] url" in checks["TSA"].fix


def test_a_working_smtp_server_and_store_pass(tmp_path: Path) -> None:
    from takedown.store.sqlite import SQLiteCaseStore

    SQLiteCaseStore(tmp_path / "takedown.sqlite").close()
    with smtp_server(Recorder()) as server:
        settings = Settings.model_validate({
            "storage": {"data_dir": str(tmp_path)},
            "smtp": {"host": "127.0.0.1", "port": server.port, "security": "none"},
        })
        checks = _by_name(run_checks(settings, timeout=5))
    assert checks["SMTP"].status is CheckStatus.OK, checks["SMTP"]
    assert checks["case store"].status is CheckStatus.OK and "0 case(s)" in checks["case store"].detail


def test_the_command_exits_1_when_something_needed_is_missing(tmp_path: Path) -> None:
    env = {"TAKEDOWN_STORAGE__DATA_DIR": str(tmp_path), "TAKEDOWN_EVIDENCE__CHROMIUM": str(tmp_path / "none"),
           "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["doctor", "--no-network"], env=env)
    assert result.exit_code == 1 and "chromium" in result.output and "problem(s) to fix" in result.output
