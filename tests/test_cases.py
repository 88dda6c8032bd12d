"""A case's life (takedown.cases), redrafting (takedown.report.review) and the officer's CLI on a small store.

The store is filled by a real ``Workflow`` over the public fakes: three posts on a mock site, two holding a
matching picture and one that only needs an officer's eye, each with the site's abuse address.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from takedown.cases import (
    case_hashes,
    create_case,
    export_case,
    import_case,
    resolve_finding,
    set_case_status,
    withdraw_case,
)
from takedown.cli import app
from takedown.errors import InvalidTransitionError, NotApprovedError, UsageError
from takedown.models import (
    Case,
    CaseStatus,
    ContactHint,
    Decision,
    DetectionLabel,
    FetchedMedia,
    FindingState,
    MediaKind,
    NoticeState,
    Page,
    ReferenceHash,
)
from takedown.report.review import approve_notice, redraft_finding, withdraw_notice
from takedown.settings import Settings, StorageSettings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import CapturingTransport, MockSite, RecordingWriter, StaticDetector, StaticTemplate
from takedown.workflow import Workflow

MATCH = b"a synthetic picture that matches"
UNSURE = b"a synthetic picture to look at"
runner = CliRunner()


def _page(n: int, content: bytes) -> Page:
    url = f"https://mock.example/post/{n}"
    return Page(url=url, final_url=url, status=200, title=f"sample post {n}", text="sample", html=f"<p>{n}</p>",
                media=(FetchedMedia(url=f"{url}/m.png", kind=MediaKind.IMAGE, content_type="image/png",
                                    content=content),),
                contacts=(ContactHint(kind="email", value="abuse@mock.example", source=url),))


def _workflow(store: SQLiteCaseStore, data: Path, *, subject: str = "Removal request {url}") -> Workflow:
    site = MockSite({p.url: p for p in (_page(1, MATCH), _page(2, MATCH), _page(3, UNSURE))})
    labels = {hashlib.sha256(MATCH).hexdigest(): DetectionLabel.MATCH,
              hashlib.sha256(UNSURE).hexdigest(): DetectionLabel.SUSPECT}
    return Workflow(store, settings=Settings(storage=StorageSettings(data_dir=data)), sites=[site],
                    detectors=[StaticDetector(by_target=labels)], writers=[RecordingWriter()],
                    templates=[StaticTemplate(subject=subject, locales=("en", "ko"))], locales=["en", "ko"])


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder whose store holds case-sample after one run: 2 matches drafted in one request (en + ko), 1
    review."""
    folder = tmp_path / "data"
    with SQLiteCaseStore(folder / "takedown.sqlite") as store:
        reference = ReferenceHash(algorithm="sha256", value=hashlib.sha256(MATCH).hexdigest(), reference="ref-1",
                                  kind=MediaKind.IMAGE)
        create_case(store, Case(id="case-sample", title="Sample", keywords=["sample"], references=[reference]),
                    by="Officer Kim")
        result = _workflow(store, folder).run_sync("case-sample")
        assert (result.matches, result.reviews, result.notices) == (2, 1, 2)
    return folder


def _store(data: Path) -> SQLiteCaseStore:
    return SQLiteCaseStore(data / "takedown.sqlite")


def _env(data: Path) -> dict[str, str]:
    return {"TAKEDOWN_STORAGE__DATA_DIR": str(data), "TAKEDOWN_REPORT__RDAP": "false", "COLUMNS": "200",
            "TAKEDOWN_OFFICER": ""}


# -- the library ----------------------------------------------------------------------------------------------


def test_withdrawal_erases_hashes_withdraws_drafts_and_keeps_what_was_sent(data: Path) -> None:
    with _store(data) as store:
        first, *rest = store.list_notices("case-sample", states=[NoticeState.DRAFT])
        approve_notice(store, first.id, by="Officer Kim")
        from takedown.report.review import send_notice

        send_notice(store, first.id, transport=CapturingTransport(), sender="takedown@agency.example")
        report = withdraw_case(store, "case-sample", by="Officer Kim", reason="consent withdrawn")
        case = store.get_case("case-sample")
        assert case.status is CaseStatus.WITHDRAWN and case.references == [] and case.keywords == []
        assert report.references_erased == 1 and report.keywords_erased == 1
        assert sorted(report.notices_withdrawn) == sorted(n.id for n in rest)
        assert report.kept["sent notices"] == 1 and report.kept["deliveries"] == 1
        assert {store.get_notice(n.id).state for n in rest} == {NoticeState.WITHDRAWN}
        assert store.get_notice(first.id).state is NoticeState.SENT, "what was sent stays as it was"
        (event,) = [e for e in store.custody_log("case-sample") if e.action == "case_withdrawn"]
        assert event.actor == "Officer Kim" and event.details["kept: sent notices"] == "1"
        with pytest.raises(UsageError, match="withdrawn"):
            _workflow(store, data).run_sync("case-sample")
        with pytest.raises(UsageError, match="withdrawn already"):
            withdraw_case(store, "case-sample", by="Officer Kim", reason="again")
        with pytest.raises(UsageError, match="withdrawn"):
            set_case_status(store, "case-sample", CaseStatus.OPEN, by="Officer Kim")


def test_a_withdrawal_leaves_an_unconfirmed_send_for_an_officer_to_settle(data: Path) -> None:
    with _store(data) as store:
        notice = store.list_notices("case-sample", states=[NoticeState.DRAFT])[0]
        approve_notice(store, notice.id, by="Officer Kim")
        store.set_checkpoint(f"sending:{notice.id}", "<x@agency.example>")  # a send that stopped half-way
        report = withdraw_case(store, "case-sample", by="Officer Kim", reason="consent withdrawn")
        assert report.unconfirmed_sends == (notice.id,)
        assert store.get_notice(notice.id).state is NoticeState.APPROVED


def test_a_closed_case_is_not_scanned_until_reopened(data: Path) -> None:
    with _store(data) as store:
        set_case_status(store, "case-sample", CaseStatus.CLOSED, by="Officer Kim", reason="done")
        with pytest.raises(UsageError, match="closed"):
            _workflow(store, data).run_sync("case-sample")
        set_case_status(store, "case-sample", CaseStatus.OPEN, by="Officer Kim")
        assert _workflow(store, data).run_sync("case-sample").notices == 2
        assert [e.action for e in store.custody_log("case-sample")][-2:] == ["case_closed", "case_reopened"]


def test_resolving_a_review_finding_as_a_match_leads_to_evidence_and_drafts(data: Path) -> None:
    with _store(data) as store:
        (review,) = store.list_findings("case-sample", decision=Decision.REVIEW)
        resolved = resolve_finding(store, review.id, Decision.MATCH, by="Officer Kim", reason="her room")
        assert resolved.decision is Decision.MATCH and resolved.state is FindingState.JUDGED
        assert "resolved as match by Officer Kim: her room" in resolved.reasons[0]
        assert _workflow(store, data).run_sync("case-sample").notices == 4, "2 untouched drafts replaced by 2 more"
        assert store.get_finding(review.id).state is FindingState.DRAFTED
        drafts = store.list_notices("case-sample", states=[NoticeState.DRAFT])
        assert len(drafts) == 2 and all(review.id in n.finding_ids and len(n.finding_ids) == 3 for n in drafts)
        with pytest.raises(UsageError, match="only a judged finding"):
            resolve_finding(store, review.id, Decision.CLEAR, by="Officer Kim")
        with pytest.raises(UsageError, match="match or clear"):
            resolve_finding(store, review.id, Decision.REVIEW, by="Officer Kim")


def test_a_redraft_withdraws_the_old_drafts_and_makes_new_ones_with_new_ids(data: Path) -> None:
    with _store(data) as store:
        finding = store.list_findings("case-sample", decision=Decision.MATCH)[0]
        old = store.list_notices(finding_id=finding.id)
        approve_notice(store, old[0].id, by="Officer Kim")
        withdrawn = redraft_finding(store, finding.id, by="Officer Kim", reason="subject wording changed")
        assert {n.id for n in withdrawn} == {n.id for n in old}
        assert store.get_finding(finding.id).state is FindingState.EVIDENCED
        _workflow(store, data, subject="Please remove {url}").run_sync("case-sample")
        new = store.list_notices(finding_id=finding.id, states=[NoticeState.DRAFT])
        assert len(new) == len(old) and not {n.id for n in new} & {n.id for n in old}
        assert all(n.revision == 2 and n.subject.startswith("Please remove") for n in new)
        assert all(set(n.finding_ids) == set(old[0].finding_ids) for n in new), "the same locations, listed again"
        assert _workflow(store, data).run_sync("case-sample").notices == 4, "a rerun drafts nothing more"
        with pytest.raises(InvalidTransitionError):
            withdraw_notice(store, old[0].id, by="Officer Kim", reason="twice")


def test_export_and_import_move_the_definition_only(data: Path) -> None:
    with _store(data) as store:
        text = export_case(store.get_case("case-sample"))
        assert "findings" not in json.loads(text)["case"]
        copy = import_case(store, text, by="Officer Lee", case_id="case-copy")
        assert copy.keywords == ["sample"] and copy.status is CaseStatus.OPEN
        with pytest.raises(UsageError, match="exists already"):
            import_case(store, text, by="Officer Lee")
        with pytest.raises(UsageError, match="not an exported case"):
            import_case(store, '{"format": "other"}', by="Officer Lee")


def test_case_hashes_refuse_a_folder_without_media(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no pictures here")
    with pytest.raises(UsageError, match="no images or videos"):
        case_hashes([tmp_path])
    with pytest.raises(UsageError, match="no such"):
        case_hashes([tmp_path / "missing"])


# -- the officer's CLI ------------------------------------------------------------------------------------------


def test_review_lists_urls_and_evidence_and_filters(data: Path) -> None:
    listed = runner.invoke(app, ["review", "--json"], env=_env(data))
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert len(rows) == 2 and {r["locale"] for r in rows} == {"en", "ko"}, "one request, in two languages"
    assert all(len(r["items"]) == 2 for r in rows), "listing both matching posts"
    assert all(r["url"].startswith("https://mock.example/post/") and r["finding"].startswith("fnd-") for r in rows)
    assert all(r["evidence"] and Path(r["evidence"]).is_file() for r in rows), "the bundle's report, to open"
    korean = json.loads(runner.invoke(app, ["review", "--json", "--locale", "ko"], env=_env(data)).output)
    assert {r["locale"] for r in korean} == {"ko"} and len(korean) == 1
    table = runner.invoke(app, ["review"], env=_env(data))
    assert all(r["id"] in table.output and all(i["url"] in table.output for i in r["items"]) for r in rows), \
        "nothing is cut off"
    one = runner.invoke(app, ["review", rows[0]["id"][:9]], env=_env(data))
    assert one.exit_code == 0 and rows[0]["url"] in one.output, "a unique prefix names a notice"


def test_approve_takes_a_whole_finding_and_records_each_notice(data: Path) -> None:
    rows = json.loads(runner.invoke(app, ["review", "--json"], env=_env(data)).output)
    finding = rows[0]["finding"]
    nameless = runner.invoke(app, ["approve", "--finding", finding], env=_env(data))
    assert nameless.exit_code != 0, "an approval names an officer"
    done = runner.invoke(app, ["approve", "--finding", finding[:10], "--by", "Officer Kim"], env=_env(data))
    assert done.exit_code == 0, done.output
    with _store(data) as store:
        notices = store.list_notices(finding_id=finding)
        assert {n.state for n in notices} == {NoticeState.APPROVED} and len(notices) == 2
        for notice in notices:
            event = store.custody_log(notice.id)[-1]
            assert event.action == "approved" and event.actor == "Officer Kim" and event.details["via"] == "cli"


def test_an_ambiguous_or_unknown_prefix_is_an_error(data: Path) -> None:
    ambiguous = runner.invoke(app, ["review", "ntc-"], env=_env(data))
    assert ambiguous.exit_code != 0 and "could be any of" in str(ambiguous.exception)
    unknown = runner.invoke(app, ["findings", "--case", "nope"], env=_env(data))
    assert unknown.exit_code != 0 and "no case 'nope'" in str(unknown.exception)


def test_send_goes_on_past_a_stuck_notice_and_asks_before_sending_several_cases(data: Path, tmp_path: Path) -> None:
    with _store(data) as store:
        create_case(store, Case(id="case-other", title="Other", keywords=["sample"]), by="Officer Kim")
        _workflow(store, data).run_sync("case-other")
        for notice in store.list_notices(states=[NoticeState.DRAFT]):
            approve_notice(store, notice.id, by="Officer Kim")
        stuck = store.list_notices("case-sample")[0]
        store.set_checkpoint(f"sending:{stuck.id}", "<stuck@agency.example>")
    outbox = ["--transport", "outbox", "--outbox", str(tmp_path / "outbox")]
    refused = runner.invoke(app, ["send", *outbox], env=_env(data))
    assert refused.exit_code != 0 and "2 cases" in str(refused.exception), "no prompt can be answered here"
    assert not (tmp_path / "outbox").exists()
    plan = runner.invoke(app, ["send", "--case", "case-sample", "--dry-run", *outbox], env=_env(data))
    assert plan.exit_code == 0 and "Would send 2" in plan.output and not (tmp_path / "outbox").exists()
    sent = runner.invoke(app, ["send", "--case", "case-sample", *outbox], env=_env(data))
    assert sent.exit_code == 1 and f"not sent {stuck.id}" in sent.output.replace("\n", " ")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1, "the other one went out"
    settled = runner.invoke(app, ["confirm-sent", stuck.id[:12], "--not-sent", "--by", "Officer Kim"],
                            env=_env(data))
    assert settled.exit_code == 0, settled.output
    assert runner.invoke(app, ["send", "--case", "case-sample", *outbox], env=_env(data)).exit_code == 0
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
    everything = runner.invoke(app, ["send", "--yes", *outbox], env=_env(data))
    assert everything.exit_code == 0 and len(list((tmp_path / "outbox").glob("*.eml"))) == 4


def test_resolve_and_redraft_from_the_command_line(data: Path) -> None:
    with _store(data) as store:
        (review,) = store.list_findings("case-sample", decision=Decision.REVIEW)
        drafted = store.list_findings("case-sample", states=[FindingState.DRAFTED])[0]
    cleared = runner.invoke(app, ["resolve", review.id[:10], "--as", "clear", "--by", "Officer Kim"], env=_env(data))
    assert cleared.exit_code == 0, cleared.output
    redone = runner.invoke(app, ["redraft", drafted.id, "--by", "Officer Kim", "--reason", "new phone number"],
                           env=_env(data))
    assert redone.exit_code == 0, redone.output
    assert "Withdrew 2 notice(s)" in redone.output and "new draft(s) wait" in redone.output
    with _store(data) as store:
        assert store.get_finding(review.id).decision is Decision.CLEAR
        states = [n.state for n in store.list_notices(finding_id=drafted.id)]
        assert states.count(NoticeState.WITHDRAWN) == 2 and NoticeState.DRAFT in states
        assert {n.template for n in store.list_notices(finding_id=drafted.id, states=[NoticeState.DRAFT])} == {
            "locale_pack"}, "redrafted with the agency's own templates, from its settings"


def test_case_commands_from_the_command_line(data: Path) -> None:
    shown = runner.invoke(app, ["case", "show", "case-s", "--json"], env=_env(data))
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.output)
    assert info["findings_by_decision"] == {"match": 2, "review": 1} and info["notices_by_state"] == {"draft": 2}
    assert runner.invoke(app, ["case", "close", "case-sample", "--by", "Officer Kim"], env=_env(data)).exit_code == 0
    listed = runner.invoke(app, ["case", "list", "--status", "closed"], env=_env(data))
    assert "case-sample" in listed.output
    cases = runner.invoke(app, ["cases", "--json"], env=_env(data))
    assert re.search(r'"status": "closed"', cases.output)


def test_scan_says_where_site_files_are_configured(data: Path) -> None:
    result = runner.invoke(app, ["scan", "case-sample"], env=_env(data))
    assert result.exit_code != 0 and "[sites] dir" in str(result.exception)


def test_follow_up_leaves_a_withdrawn_case_alone(data: Path) -> None:
    import asyncio
    from datetime import timedelta

    from takedown.models import Candidate
    from takedown.report.followup import FollowUpConfig, follow_up
    from takedown.report.review import send_notice
    from takedown.settings import AgencySettings

    fetched: list[str] = []

    async def fetch(candidate: Candidate) -> Page:
        fetched.append(candidate.url)
        return _page(1, MATCH)  # still up

    def run(store: SQLiteCaseStore) -> int:
        report = asyncio.run(follow_up(store, fetch=fetch, agency=AgencySettings(),
                                       templates=[StaticTemplate(locales=("en", "ko"))],
                                       config=FollowUpConfig(recheck_after=timedelta(0))))
        return len(report.reminders)

    with _store(data) as store:
        notice = store.list_notices("case-sample", states=[NoticeState.DRAFT])[0]
        approve_notice(store, notice.id, by="Officer Kim")
        send_notice(store, notice.id, transport=CapturingTransport(), sender="takedown@agency.example")
        withdraw_case(store, "case-sample", by="Officer Kim", reason="consent withdrawn")
        assert run(store) == 0 and fetched == [], "no re-check and no reminder once consent is withdrawn"


def test_nothing_of_a_withdrawn_case_is_approved_drafted_resolved_or_sent(data: Path) -> None:
    from takedown.report.review import confirm_sent, send_notice

    with _store(data) as store:
        first, second, *_ = store.list_notices("case-sample", states=[NoticeState.DRAFT])
        approve_notice(store, first.id, by="Officer Kim")
        store.set_checkpoint(f"sending:{first.id}", "<x@agency.example>")  # a send that stopped half-way
        (review,) = store.list_findings("case-sample", decision=Decision.REVIEW)
        matched = store.list_findings("case-sample", decision=Decision.MATCH)[0]
        assert {f.candidate.query for f in store.list_findings("case-sample")} == {"sample"}
        withdraw_case(store, "case-sample", by="Officer Kim", reason="consent withdrawn")
        assert {f.candidate.query for f in store.list_findings("case-sample")} == {None}, "the keyword is erased"
        with pytest.raises(UsageError, match="withdrawn"):
            approve_notice(store, second.id, by="Officer Kim")
        with pytest.raises(UsageError, match="withdrawn"):
            resolve_finding(store, review.id, Decision.MATCH, by="Officer Kim")
        with pytest.raises(UsageError, match="withdrawn"):
            redraft_finding(store, matched.id, by="Officer Kim", reason="new wording")
        workflow = _workflow(store, data)
        with pytest.raises(UsageError, match="withdrawn"):
            asyncio.run(workflow.draft(store.get_case("case-sample")))
        confirm_sent(store, first.id, by="Officer Kim", sent=False)  # it did not leave after all
        assert store.get_notice(first.id).state is NoticeState.WITHDRAWN, "and now it never will"
        with pytest.raises(NotApprovedError, match="approved"):
            send_notice(store, first.id, transport=CapturingTransport(), sender="takedown@agency.example")


def test_an_id_prefix_is_matched_exactly(data: Path) -> None:
    with _store(data) as store:
        create_case(store, Case(id="Alpha-1", title="Upper case"), by="Officer Kim")
    result = runner.invoke(app, ["case", "show", "alpha", "--json"], env=_env(data))
    assert result.exit_code != 0 and "no case 'alpha'" in str(result.exception)
    assert runner.invoke(app, ["case", "show", "Alph", "--json"], env=_env(data)).exit_code == 0


def test_reject_goes_on_past_a_notice_it_cannot_reject(data: Path) -> None:
    rows = json.loads(runner.invoke(app, ["review", "--json"], env=_env(data)).output)
    result = runner.invoke(app, ["reject", "ntc-nope", rows[0]["id"], "--by", "Officer Kim", "--reason", "dup"],
                           env=_env(data))
    assert result.exit_code == 1 and "not rejected ntc-nope" in result.output.replace("\n", " ")
    with _store(data) as store:
        assert store.get_notice(rows[0]["id"]).state is NoticeState.REJECTED


def test_review_and_send_filter_by_channel(data: Path, tmp_path: Path) -> None:
    with _store(data) as store:
        for notice in store.list_notices(states=[NoticeState.DRAFT]):
            approve_notice(store, notice.id, by="Officer Kim")
    outbox = ["--transport", "outbox", "--outbox", str(tmp_path / "outbox")]
    none = runner.invoke(app, ["send", "--case", "case-sample", "--channel", "web_form", *outbox], env=_env(data))
    assert none.exit_code == 0 and "No approved notices" in none.output, "the mock site's notices are all emails"
    bad = runner.invoke(app, ["review", "--channel", "fax"], env=_env(data))
    assert bad.exit_code != 0 and "email or web_form" in str(bad.exception)
    sent = runner.invoke(app, ["send", "--case", "case-sample", "--channel", "email", *outbox], env=_env(data))
    assert sent.exit_code == 0 and len(list((tmp_path / "outbox").glob("*.eml"))) == 2
