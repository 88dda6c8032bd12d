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


def test_try_searches_and_fetches_through_the_guard(demo_site: DemoSite, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["sites", "try", str(demo_site_file()), "-q", "minji_cam", "--limit", "3", "--fetch", "1",
            "--var", f"base_url={demo_site.base_url}"]
    blocked = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert blocked.exit_code != 0, "loopback is refused by the guard unless the settings allow it"
    monkeypatch.setenv("TAKEDOWN_NETWORK__ALLOW_LOOPBACK", "true")
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "3 candidate(s) on demo-sns.example" in result.output
    assert f"{demo_site.url_for('p01')}: HTTP 200" in result.output
    assert "contacts: email abuse@demo-sns.example" in result.output
