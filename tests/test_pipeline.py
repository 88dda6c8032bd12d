"""The composition root: every entry point's workflow comes from the settings, the same way."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from takedown.demo.run import demo_site_file
from takedown.demo.site import DemoSite
from takedown.errors import ConfigError, UnknownPluginError, UsageError
from takedown.models import BankEntry, Case, CaseStatus, HashBank, HashValue
from takedown.pipeline import build_detectors, build_sites, build_workflow, build_writers
from takedown.settings import Settings
from takedown.sites.monitor import Monitor
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import MockSite


def _settings(tmp_path: Path, **sections: dict[str, object]) -> Settings:
    return Settings.model_validate({"storage": {"data_dir": str(tmp_path)}, **sections})


def test_the_default_pipeline_judges_with_hashes_and_keywords_and_writes_every_report(tmp_path: Path) -> None:
    with SQLiteCaseStore(tmp_path / "s.sqlite") as store:
        workflow = build_workflow(_settings(tmp_path, report={"rdap": False}), store)
        assert [d.name for d in workflow.detectors] == ["exact_hash", "pdq", "vpdq", "dhash", "keyword"]
        assert [w.name for w in workflow.writers] == ["json", "recipient", "hwpx", "hwp", "pdf"]
        assert workflow.capturer is not None and workflow.tsa is None and workflow.rdap is None
        assert workflow.sites == {}
        asyncio.run(workflow.aclose())


def test_hash_banks_are_consulted_as_soon_as_the_store_has_one(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with SQLiteCaseStore(tmp_path / "s.sqlite") as store:
        assert "hash_bank" not in [d.name for d in build_detectors(settings, store)]
        store.put_bank(HashBank(name="victim_refs"))
        store.add_bank_entries("victim_refs", [BankEntry(bank="victim_refs", reference="r1",
                                                         hash=HashValue(algorithm="pdq", value="f" * 64, quality=90))])
        assert "hash_bank" in [d.name for d in build_detectors(settings, store)]
        off = _settings(tmp_path, detect={"banks": False})
        assert "hash_bank" not in [d.name for d in build_detectors(off, store)]
        with pytest.raises(KeyError):
            build_detectors(_settings(tmp_path, detect={"bank_names": ["missing"]}), store)


def test_extra_detectors_and_writers_come_by_plugin_name(tmp_path: Path) -> None:
    settings = _settings(tmp_path, detect={"hashes": False, "keywords": False, "extra": ["pdq"],
                                           "options": {"pdq": {"max_distance": 40}}},
                         evidence={"writers": ["json", "pdf"]})
    (detector,) = build_detectors(settings)
    assert detector.name == "pdq" and detector.config.max_distance == 40  # type: ignore[attr-defined]
    assert [w.name for w in build_writers(settings)] == ["json", "pdf"]
    with pytest.raises(UnknownPluginError):
        build_writers(_settings(tmp_path, evidence={"writers": ["docx"]}))
    with pytest.raises(UsageError, match="does not name"):
        build_detectors(_settings(tmp_path, detect={"options": {"pdq": {"max_distance": 40}}}))


def test_sites_come_from_the_configured_folder(tmp_path: Path, demo_site: DemoSite) -> None:
    with pytest.raises(ConfigError, match=r"\[sites\] dir"):
        build_sites(_settings(tmp_path))
    folder = tmp_path / "sites"
    folder.mkdir()
    shutil.copy(demo_site_file(), folder / "demo.toml")
    settings = _settings(tmp_path, sites={"dir": str(folder), "vars": {"base_url": demo_site.base_url}})
    (site,) = build_sites(settings)
    assert site.site == "demo-sns.example"


def test_the_monitor_stops_watching_a_withdrawn_case(tmp_path: Path) -> None:
    with SQLiteCaseStore(tmp_path / "s.sqlite") as store:
        store.put_case(Case(id="case-1", title="t", keywords=["x"]))
        site = MockSite()
        workflow = build_workflow(_settings(tmp_path, report={"rdap": False}, evidence={"live": False}), store,
                                  sites=[site])
        monitor = Monitor.for_workflow(workflow, interval=0.01)
        store.put_case(store.get_case("case-1").model_copy(update={"status": CaseStatus.WITHDRAWN}))
        ticks = asyncio.run(monitor.run(["case-1"], max_ticks=5))
        assert ticks == 1 and site.searches == [], "no site is searched for a withdrawn case, and the loop ends"


def test_the_llm_judge_is_configured_from_settings_and_closed_with_the_workflow(tmp_path: Path) -> None:
    from takedown.detect.judge import LlmJudgeDetector
    from takedown.detect.judge_openai import OpenAICompatibleBackend

    options = {"base_url": "http://127.0.0.1:9/v1", "model": "tiny-vlm", "judge": {"retries": 1}}
    settings = _settings(tmp_path, report={"rdap": False}, evidence={"live": False},
                         detect={"extra": ["llm_judge"], "options": {"llm_judge": options}})
    with SQLiteCaseStore(tmp_path / "s.sqlite") as store:
        workflow = build_workflow(settings, store)
        judge = workflow.detectors[-1]
        assert isinstance(judge, LlmJudgeDetector) and judge.config.retries == 1
        backend = judge.backend
        assert isinstance(backend, OpenAICompatibleBackend) and backend.model == "tiny-vlm"
        asyncio.run(workflow.aclose())
        assert backend._client.is_closed, "the workflow closes the judge's HTTP client"
    wrong = _settings(tmp_path, detect={"extra": ["llm_judge"], "options": {"llm_judge": {"model": "m"}}})
    with pytest.raises(UsageError, match=r"llm_judge.*base_url"):
        build_detectors(wrong)
    unknown = _settings(tmp_path, detect={"extra": ["llm_judge"], "options": {"llm_judge": {"backend": "gpt"}}})
    with pytest.raises(UsageError, match="openai_compatible or transformers"):
        build_detectors(unknown)
