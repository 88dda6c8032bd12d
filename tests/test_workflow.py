from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from takedown.errors import SiteError
from takedown.evidence.verify import format_report, verify_bundle
from takedown.models import (
    Candidate,
    ContactHint,
    Decision,
    DetectionLabel,
    FetchedMedia,
    FindingState,
    MediaKind,
    Page,
)
from takedown.settings import Settings, StorageSettings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import MockSite, RecordingWriter, StaticDetector, StaticTemplate, sample_case
from takedown.workflow import ProgressEvent, Workflow

MATCH_BYTES = b"bytes of a copy"
OTHER_BYTES = b"bytes of something else"
MATCH_SHA = hashlib.sha256(MATCH_BYTES).hexdigest()


def _page(n: int, content: bytes, *, status: int = 200) -> Page:
    url = f"https://mock.example/post/{n}"
    return Page(url=url, final_url=url, status=status, title=f"sample post {n}", text="sample", html=f"<p>{n}</p>",
                media=(FetchedMedia(url=f"{url}/m.png", kind=MediaKind.IMAGE, content_type="image/png",
                                    content=content),),
                contacts=(ContactHint(kind="email", value="abuse@mock.example", source=url),))


def _workflow(store: SQLiteCaseStore, tmp_path: Path, site: MockSite, **options: object) -> Workflow:
    detector = options.pop("detector", StaticDetector(by_target={MATCH_SHA: DetectionLabel.MATCH}))
    return Workflow(
        store, settings=Settings(storage=StorageSettings(data_dir=tmp_path)), sites=[site],
        detectors=[detector],  # type: ignore[list-item]
        writers=[RecordingWriter()], templates=[StaticTemplate(locales=["en", "ko"])], locales=["en", "ko"],
        **options,  # type: ignore[arg-type]
    )


def test_a_case_runs_from_discovery_to_drafts(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    site = MockSite({p.url: p for p in (_page(1, MATCH_BYTES), _page(2, OTHER_BYTES))})
    events: list[ProgressEvent] = []
    result = _workflow(store, tmp_path, site, progress=events.append).run_sync("case-sample")
    assert (result.candidates, result.findings, result.matches, result.bundles, result.notices) == (2, 1, 1, 1, 2)
    assert result.locales == ["en", "ko"] and result.errors == []
    by_url = {f.candidate.url: f for f in store.list_findings("case-sample")}
    match, clear = by_url["https://mock.example/post/1"], by_url["https://mock.example/post/2"]
    assert match.state is FindingState.DRAFTED and match.decision is Decision.MATCH
    assert [h.to_state for h in match.history] == ["judged", "evidenced", "drafted"]
    assert clear.state is FindingState.JUDGED and clear.decision is Decision.CLEAR
    bundle = store.get_bundle(match.bundle_id)
    assert {"page_html", "media", "preview", "report", "seal"} <= {a.role for a in bundle.artifacts}
    for artifact in bundle.artifacts:
        data = (tmp_path / "evidence" / artifact.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == artifact.sha256
    log = store.custody_log(bundle.id)
    assert [e.action for e in log][:1] == ["captured"] and "sealed" in [e.action for e in log]
    assert "not_timestamped" in [e.action for e in log], "without a TSA the log says no time stamp was taken"
    report = verify_bundle(tmp_path / "evidence" / bundle.case_id / bundle.id)
    assert report.ok, format_report(report)
    notices = store.list_notices("case-sample")
    assert {n.recipient.address for n in notices} == {"abuse@mock.example"}
    assert all(n.state.value == "draft" for n in notices), "the workflow never approves or sends"
    stages = [e.stage for e in events]
    assert stages.index("discover") < stages.index("judge") < stages.index("evidence") < stages.index("draft")
    assert site.closed


def test_a_second_run_repeats_nothing(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    pages = {p.url: p for p in (_page(1, MATCH_BYTES), _page(2, OTHER_BYTES))}
    first = _workflow(store, tmp_path, MockSite(pages)).run_sync("case-sample")
    bundle_id = store.list_bundles()[0].id
    custody_before = store.custody_log(bundle_id)
    again_site = MockSite(pages)
    second = _workflow(store, tmp_path, again_site).run_sync("case-sample")
    assert first.model_dump(exclude={"seconds"}) == second.model_dump(exclude={"seconds"})
    assert again_site.fetches == [], "judged pages are not fetched again"
    assert store.custody_log(bundle_id) == custody_before


def test_failures_are_recorded_and_retried_next_run(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    good = _page(1, MATCH_BYTES)
    calls = {"n": 0}

    def flaky(candidate: Candidate) -> Page:
        calls["n"] += 1
        if calls["n"] == 1:
            raise SiteError("timed out", url=candidate.url)
        return good

    site = MockSite({good.url: good}, fetch_fn=flaky)
    result = _workflow(store, tmp_path, site).run_sync("case-sample")
    assert result.matches == 0 and any("timed out" in e for e in result.errors)
    assert store.list_findings(states=[FindingState.FOUND]), "the finding waits to be retried"
    result = _workflow(store, tmp_path, MockSite({good.url: good}, fetch_fn=flaky)).run_sync("case-sample")
    assert result.matches == 1 and result.notices == 2 and result.errors == []


def test_a_detector_error_sends_the_finding_to_review(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    page = _page(1, MATCH_BYTES)
    detector = StaticDetector(fail_on=[MATCH_SHA])
    result = _workflow(store, tmp_path, MockSite({page.url: page}), detector=detector).run_sync("case-sample")
    finding = store.list_findings()[0]
    assert finding.decision is Decision.REVIEW and result.reviews == 1
    assert any(d.label is DetectionLabel.ERROR for d in finding.detections)
    assert result.bundles == 0, "evidence is collected for matches only by default"


def test_a_removed_page_is_judged_clear_with_the_reason(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    gone = Page(url="https://mock.example/post/9", final_url="https://mock.example/post/9", status=410,
                title="sample")
    _workflow(store, tmp_path, MockSite({gone.url: gone})).run_sync("case-sample")
    finding = store.list_findings()[0]
    assert finding.decision is Decision.CLEAR and "HTTP 410" in finding.reasons[0]


def test_a_locale_no_template_renders_is_an_error_not_a_crash(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    page = _page(1, MATCH_BYTES)
    workflow = _workflow(store, tmp_path, MockSite({page.url: page}))
    workflow.locales = ["en", "vi"]
    result = workflow.run_sync("case-sample")
    assert result.notices == 0 and any("'vi'" in e for e in result.errors)
    assert store.list_findings()[0].state is FindingState.EVIDENCED


def test_bad_options_are_usage_errors(store: SQLiteCaseStore) -> None:
    from takedown.errors import UsageError

    with pytest.raises(UsageError):
        Workflow(store, concurrency=0)
    with pytest.raises(UsageError, match="same site"):
        Workflow(store, sites=[MockSite(), MockSite()])
