"""`takedown sites check` and `takedown sites try`: developing a site file against the live (demo) site."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from takedown.cli import app
from takedown.demo.run import demo_site_file
from takedown.demo.site import DemoSite

runner = CliRunner()


def test_check_lists_each_sites_sources_and_report_channels(demo_site: DemoSite) -> None:
    result = runner.invoke(app, ["sites", "check", str(demo_site_file()), "--var", f"base_url={demo_site.base_url}"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "demo-sns.example" in result.output
    assert "search, listing x1, sitemap x1" in result.output
    assert "email abuse@demo-sns.example" in result.output


def test_check_names_the_file_and_key_of_a_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nbase_url = "https://x.example"\nengine = "telnet"\n', encoding="utf-8")
    result = runner.invoke(app, ["sites", "check", str(bad)])
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception) and "engine" in str(result.exception)
    assert "bad.toml" in str(result.exception)


def test_check_refuses_a_report_email_that_drafting_would_drop(tmp_path: Path) -> None:
    bad = tmp_path / "sns.toml"
    bad.write_text('name = "sns.example"\nbase_url = "https://sns.example"\nsitemaps = ["/s.xml"]\n'
                   '[report]\nemail = "abuse@sns.test"\n', encoding="utf-8")
    result = runner.invoke(app, ["sites", "check", str(bad)])
    assert result.exit_code != 0
    message = str(result.exception)
    assert f"{bad}: report.email: 'abuse@sns.test' is not an email address a notice can be drafted to" in message
    bad.write_text(bad.read_text(encoding="utf-8").replace("sns.test", "sns.example"), encoding="utf-8")
    fixed = runner.invoke(app, ["sites", "check", str(bad)], env={"COLUMNS": "200"})
    assert fixed.exit_code == 0, fixed.output
    assert "email abuse@sns.example" in fixed.output


def test_try_searches_and_fetches_through_the_guard(demo_site: DemoSite, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["sites", "try", str(demo_site_file()), "-q", "minji_cam", "--limit", "3", "--fetch", "1",
            "--var", f"base_url={demo_site.base_url}"]
    blocked = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert blocked.exit_code != 0, "loopback is refused by the guard unless the settings allow it"
    server = demo_site.base_url.removeprefix("http://").rstrip("/")
    assert "set [network] allow_loopback = true" in str(blocked.exception), "the refusal names what allows it"
    assert f'[network] allow_hosts = ["{server}"]' in str(blocked.exception)
    monkeypatch.setenv("TAKEDOWN_NETWORK__ALLOW_LOOPBACK", "true")
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "3 candidate(s) on demo-sns.example" in result.output
    assert f"{demo_site.url_for('p01')}: HTTP 200" in result.output
    assert "contacts: email abuse@demo-sns.example" in result.output
