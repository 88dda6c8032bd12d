from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from takedown.demo.tsa import LocalTsa
from takedown.detect.base import BatchDetector, detect_items
from takedown.errors import DetectionError, MissingDependencyError, SiteError, UsageError
from takedown.evidence.signing import AgencySigner, make_agency_identity
from takedown.evidence.tsa import TsaClient
from takedown.evidence.verify import format_report, verify_bundle
from takedown.models import (
    Candidate,
    Case,
    ContactHint,
    Decision,
    Detection,
    DetectionLabel,
    FetchedMedia,
    FindingState,
    ItemKind,
    Media,
    MediaKind,
    Page,
)
from takedown.settings import Settings, StorageSettings, TsaSettings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import (
    BatchStaticDetector,
    DetectorContract,
    MockSite,
    RecordingWriter,
    StaticDetector,
    StaticTemplate,
    sample_case,
    sample_finding,
    sample_media,
)
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
    detectors = options.pop("detectors", [detector])
    return Workflow(
        store, settings=Settings(storage=StorageSettings(data_dir=tmp_path)), sites=[site],
        detectors=detectors,  # type: ignore[arg-type]
        writers=[RecordingWriter()], templates=[StaticTemplate(locales=["en", "ko"])], locales=["en", "ko"],
        **options,  # type: ignore[arg-type]
    )


def test_a_case_runs_from_discovery_to_drafts(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    site = MockSite({p.url: p for p in (_page(1, MATCH_BYTES), _page(2, OTHER_BYTES))})
    events: list[ProgressEvent] = []
    agency = make_agency_identity(tmp_path / "agency", name="Workflow Support Centre")
    result = _workflow(store, tmp_path, site, progress=events.append,
                       signer=AgencySigner.from_settings(agency)).run_sync("case-sample")
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
    # No TSA here: integrity only. The store's log is the one the seal's custody head was computed for.
    report = verify_bundle(tmp_path / "evidence" / bundle.case_id / bundle.id, allow_unstamped=True,
                           agency_ca=agency.ca_file)
    assert report.ok, format_report(report)
    assert [c.ok for c in report.checks if c.name in ("agency signature", "custody ends with the seal")] == [True] * 2
    notices = store.list_notices("case-sample")
    assert {n.recipient.address for n in notices} == {"abuse@mock.example"}
    assert all(n.state.value == "draft" for n in notices), "the workflow never approves or sends"
    stages = [e.stage for e in events]
    assert stages.index("discover") < stages.index("judge") < stages.index("evidence") < stages.index("draft")
    assert site.closed


@pytest.mark.parametrize("stamp_capture", [True, False])
def test_the_capture_is_stamped_before_the_reports_unless_switched_off(
    store: SQLiteCaseStore, tmp_path: Path, stamp_capture: bool
) -> None:
    """Two stamps per bundle by default (the reports cite the first); one, over the final seal, when a TSA that
    charges per stamp makes the agency switch the first off."""
    store.put_case(sample_case())
    site = MockSite({p.url: p for p in (_page(1, MATCH_BYTES),)})
    settings = Settings(storage=StorageSettings(data_dir=tmp_path), tsa=TsaSettings(stamp_capture=stamp_capture))
    with LocalTsa(tmp_path / "tsa") as tsa:
        workflow = Workflow(store, settings=settings, sites=[site], writers=[RecordingWriter()],
                            detectors=[StaticDetector(by_target={MATCH_SHA: DetectionLabel.MATCH})],
                            templates=[StaticTemplate(locales=["en"])], locales=["en"], tsa=TsaClient(tsa.settings()))
        workflow.run_sync("case-sample")
        (bundle,) = store.list_bundles()
        actions = {e.action: e for e in store.custody_log(bundle.id)}
        assert "timestamped" in actions, "the final seal is stamped either way"
        if stamp_capture:
            assert "capture_timestamped" in actions and len(bundle.timestamps) == 2
        else:
            assert "capture_timestamped" not in actions and len(bundle.timestamps) == 1
            assert "stamp_capture is off" in actions["capture_not_timestamped"].details["reason"]
        report = verify_bundle(tmp_path / "evidence" / bundle.case_id / bundle.id, certificate=tsa.certificate,
                               ca_file=tsa.ca_file, allow_unsigned=True)
        assert report.ok, format_report(report)


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


# -- detectors that crash, and batch detectors -------------------------------------------------------------------


class _Crashing(StaticDetector):
    """A third party's buggy detector: ``crash`` escapes from ``detect`` for the targets in ``crash_on``."""

    name: ClassVar[str] = "crashing"

    def __init__(self, crash: BaseException, crash_on: Sequence[str] = (MATCH_SHA,)) -> None:
        super().__init__()
        self.crash, self.crash_on = crash, set(crash_on)

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        if (item.sha256 if isinstance(item, Media) else "text") in self.crash_on:
            raise self.crash
        return super().detect(item, case=case)


class _CrashingBatch(BatchStaticDetector):
    """A batch detector whose ``detect_batch`` crashes or answers ``answer`` (``detect`` works)."""

    name: ClassVar[str] = "crashing_batch"

    def __init__(self, crash: BaseException | None = None, answer: object = None) -> None:
        super().__init__()
        self.crash, self.answer = crash, answer

    def detect_batch(self, items: Sequence[Media | Candidate], *, case: Case) -> list[Detection]:
        super().detect_batch(items, case=case)
        if self.crash is not None:
            raise self.crash
        return self.answer  # type: ignore[return-value]


def _gallery(n: int, *contents: bytes) -> Page:
    url = f"https://mock.example/gallery/{n}"
    media = tuple(FetchedMedia(url=f"{url}/{i}.png", kind=MediaKind.IMAGE, content_type="image/png", content=c)
                  for i, c in enumerate(contents))
    return Page(url=url, final_url=url, status=200, title=f"gallery {n}", text="sample", html="<p></p>", media=media)


def test_a_crashing_detector_sends_the_finding_to_review_and_the_run_goes_on(
    store: SQLiteCaseStore, tmp_path: Path
) -> None:
    store.put_case(sample_case())
    pages = {p.url: p for p in (_page(1, MATCH_BYTES), _page(2, OTHER_BYTES))}
    crashing = _Crashing(TypeError("'NoneType' object is not subscriptable"))
    result = _workflow(store, tmp_path, MockSite(pages), detectors=[crashing, StaticDetector()]).run_sync(
        "case-sample")
    by_url = {f.candidate.url: f for f in store.list_findings("case-sample")}
    crashed, clear = by_url["https://mock.example/post/1"], by_url["https://mock.example/post/2"]
    assert crashed.state is FindingState.JUDGED and crashed.decision is Decision.REVIEW
    error = next(d for d in crashed.detections if d.label is DetectionLabel.ERROR)
    assert (error.detector, error.target, error.kind) == ("crashing", MATCH_SHA, ItemKind.IMAGE)
    assert error.rationale == "detector crashed: TypeError: 'NoneType' object is not subscriptable"
    assert [d.detector for d in crashed.detections] == ["crashing", "static", "crashing", "static"]
    assert clear.decision is Decision.CLEAR, "the other page was judged too"
    assert result.reviews == 1 and result.errors == []


@pytest.mark.parametrize("crash", [MemoryError(), KeyboardInterrupt(), SystemExit(1),
                                   UsageError("positive_labels ['nsfw'] are not labels of the model"),
                                   MissingDependencyError("torch", "ml", feature="classifier detectors")])
def test_what_no_item_is_to_blame_for_is_never_recorded_as_a_detection(crash: BaseException) -> None:
    item = sample_media(MATCH_BYTES)
    with pytest.raises(type(crash)):
        detect_items(_Crashing(crash), [item], case=sample_case())
    with pytest.raises(type(crash)):  # nor when a batch raises it
        detect_items(_CrashingBatch(crash), [item, sample_finding().candidate], case=sample_case())


def test_a_batch_detector_gets_all_of_a_page_in_one_call(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    contents = (OTHER_BYTES, MATCH_BYTES, b"a third picture")
    shas = [hashlib.sha256(c).hexdigest() for c in contents]
    page = _gallery(1, *contents)
    batch = BatchStaticDetector(by_target={MATCH_SHA: DetectionLabel.MATCH})
    single = StaticDetector()
    _workflow(store, tmp_path, MockSite({page.url: page}), detectors=[single, batch]).run_sync("case-sample")
    assert isinstance(batch, BatchDetector)
    assert batch.batches == [[*shas, "text"]] and batch.calls == [], "one detect_batch call, no detect calls"
    assert single.calls == [*shas, "text"]
    finding = store.list_findings("case-sample")[0]
    assert [(d.target, d.detector) for d in finding.detections] == [
        (target, name) for target in (*shas, "text") for name in ("static", "static_batch")]
    assert [d.label for d in finding.detections if d.detector == "static_batch"] == [
        DetectionLabel.NO_MATCH, DetectionLabel.MATCH, DetectionLabel.NO_MATCH, DetectionLabel.NO_MATCH]
    assert finding.decision is Decision.MATCH


def test_a_failed_batch_is_judged_item_by_item_so_the_error_lands_on_its_item(
    store: SQLiteCaseStore, tmp_path: Path
) -> None:
    store.put_case(sample_case())
    contents = (OTHER_BYTES, b"a picture the model chokes on", MATCH_BYTES)
    shas = [hashlib.sha256(c).hexdigest() for c in contents]
    page = _gallery(1, *contents)
    batch = BatchStaticDetector(by_target={MATCH_SHA: DetectionLabel.MATCH}, fail_on=[shas[1]])
    _workflow(store, tmp_path, MockSite({page.url: page}), detector=batch).run_sync("case-sample")
    assert batch.batches == [[*shas, "text"]] and batch.calls == [*shas, "text"]
    finding = store.list_findings("case-sample")[0]
    assert [(d.target, d.label) for d in finding.detections] == [
        (shas[0], DetectionLabel.NO_MATCH), (shas[1], DetectionLabel.ERROR), (shas[2], DetectionLabel.MATCH),
        ("text", DetectionLabel.NO_MATCH)]
    assert finding.detections[1].rationale.startswith(f"told to fail on {shas[1]} ")
    assert finding.decision is Decision.MATCH, "the policy still sees the match beside the error"


@pytest.mark.parametrize("answer", [None, [], "garbage", ["not a detection", "nor this"]])
def test_a_batch_that_breaks_its_promise_gives_its_items_errors(answer: object) -> None:
    items: list[Media | Candidate] = [sample_media(MATCH_BYTES), sample_finding().candidate]
    detections = detect_items(_CrashingBatch(answer=answer), items, case=sample_case())
    if answer is None:  # None is no answer at all: the items are judged one by one instead
        assert [d.label for d in detections] == [DetectionLabel.NO_MATCH, DetectionLabel.NO_MATCH]
    else:
        assert [(d.target, d.label) for d in detections] == [(MATCH_SHA, DetectionLabel.ERROR),
                                                              ("text", DetectionLabel.ERROR)]
        assert "detect_batch returned" in detections[0].rationale


def test_a_crashing_batch_is_retried_item_by_item() -> None:
    items: list[Media | Candidate] = [sample_media(OTHER_BYTES), sample_media(MATCH_BYTES)]
    detector = _CrashingBatch(RuntimeError("CUDA error: device-side assert triggered"))
    detector.fail_on = {MATCH_SHA}
    detections = detect_items(detector, items, case=sample_case())
    assert [d.label for d in detections] == [DetectionLabel.NO_MATCH, DetectionLabel.ERROR]
    assert detector.calls == [hashlib.sha256(OTHER_BYTES).hexdigest(), MATCH_SHA]
    with pytest.raises(DetectionError):  # the fake's own detect still fails as told
        detector.detect(items[1], case=sample_case())


class TestBatchStaticDetectorContract(DetectorContract):
    def make_detector(self) -> BatchStaticDetector:
        return BatchStaticDetector()
