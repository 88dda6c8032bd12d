"""Deletion requests through a site's web form: drafted, approved, submitted once, followed up, from the CLI too.

Units use ``CapturingFormReporter``; the end-to-end tests run the demo workflow against the demo site, whose TOML
file has a ``[report.form]`` pointing at its ``POST /report`` (``DemoSite.reports_received`` records each one).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from takedown.demo.run import DEMO_CASE_ID, demo_adapter, demo_case, demo_settings, demo_site_file, demo_workflow
from takedown.demo.site import DemoSite
from takedown.errors import DeliveryError, DeliveryStateUnknownError, NotApprovedError, UsageError
from takedown.models import (
    Candidate,
    ContactHint,
    Decision,
    Delivery,
    FetchedMedia,
    FindingState,
    FormSubmission,
    MediaKind,
    Notice,
    NoticeState,
    Page,
    Recipient,
)
from takedown.report.followup import FollowUpConfig, FollowUpReport, follow_up, http_fetcher
from takedown.report.jurisdictions import get_jurisdiction
from takedown.report.locale_pack import LocalePackTemplate
from takedown.report.review import approve_notice, confirm_sent, send_notice, submit_notice
from takedown.settings import AgencySettings
from takedown.sites.base import FormReporter, submits_to
from takedown.sites.declarative import ConfiguredSite, load_site, read_spec
from takedown.store.base import CaseStore
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import (
    CapturingFormReporter,
    CapturingTransport,
    FormReporterContract,
    StaticTemplate,
    memory_store,
    sample_case,
    sample_finding,
)

T = TypeVar("T")
FORM = "https://mock.example/report"
KR_LEGAL = dict.fromkeys(get_jurisdiction("KR").required_fields, "given")


def _run(coro: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await coro

    return asyncio.run(wrapped())


def _notice(store: CaseStore, *, to: Recipient, locale: str = "en") -> Notice:
    finding = sample_finding(state=FindingState.DRAFTED)
    store.add_finding(finding)
    notice = Notice(case_id=finding.case_id, finding_id=finding.id, recipient=to, jurisdiction="KR", locale=locale,
                    subject="Removal request", body_text="Please remove the post.",
                    legal={**KR_LEGAL, "urls": finding.candidate.url})
    store.add_notice(notice)
    return notice


def _form_notice(store: CaseStore) -> Notice:
    return _notice(store, to=Recipient(address=FORM, channel="web_form"))


# -- the protocol and its fake ----------------------------------------------------------------------------------


class TestCapturingFormReporter(FormReporterContract):
    def make_reporter(self) -> FormReporter:
        self.reporter = CapturingFormReporter()
        return self.reporter

    def received(self) -> int:
        return len(self.reporter.submissions)


class TestDemoSiteForm(FormReporterContract):
    """The demo site's TOML file, read by ``ConfiguredSite``, against the live demo site."""

    @pytest.fixture(autouse=True)
    def _demo(self, demo_site: DemoSite, tmp_path: Path) -> None:
        self.demo = demo_site
        self.settings = demo_settings(tmp_path)

    def make_reporter(self) -> FormReporter:
        return demo_adapter(self.demo, self.settings)

    async def close_reporter(self, reporter: FormReporter) -> None:
        assert isinstance(reporter, ConfiguredSite)
        await reporter.aclose()

    def received(self) -> int:
        return len(self.demo.reports_received)


def test_only_an_adapter_with_that_form_submits_to_it() -> None:
    reporter = CapturingFormReporter("https://Mock.example:443/report?utm_source=x")
    assert submits_to(reporter, FORM), "form URLs are compared canonicalised"
    assert not submits_to(reporter, "https://mock.example/other-form")
    assert not submits_to(CapturingTransport(), FORM), "what is not a FormReporter submits to nothing"


# -- review: the intent → delivery protocol for forms -----------------------------------------------------------


def test_a_form_notice_is_submitted_only_after_approval_and_once(store: SQLiteCaseStore) -> None:
    notice = _form_notice(store)
    reporter = CapturingFormReporter()
    with pytest.raises(NotApprovedError):
        _run(submit_notice(store, notice.id, site=reporter))
    assert reporter.submissions == []
    approve_notice(store, notice.id, by="Officer Kim")
    delivery = _run(submit_notice(store, notice.id, site=reporter))
    again = _run(submit_notice(store, notice.id, site=reporter))
    assert again == delivery and len(reporter.submissions) == 1
    assert delivery.transport == "web_form" and delivery.approved_by == "Officer Kim"
    assert delivery.message_id.startswith(f"<{notice.id}.form.")
    assert store.get_notice(notice.id).state is NoticeState.SENT
    assert store.get_finding(notice.finding_id).state is FindingState.SENT
    log = store.custody_log(notice.id)
    assert [e.action for e in log] == ["approved", "sent"]
    assert log[-1].details["form_url"] == FORM and log[-1].details["status"] == "200"


def test_a_form_notice_is_never_emailed_nor_submitted_to_another_form(store: SQLiteCaseStore) -> None:
    notice = _form_notice(store)
    approve_notice(store, notice.id, by="Officer Kim")
    transport = CapturingTransport()
    with pytest.raises(DeliveryError, match="submit_notice"):
        send_notice(store, notice.id, transport=transport, sender="t@agency.example")
    elsewhere = CapturingFormReporter("https://other.example/report")
    with pytest.raises(UsageError, match=r"other\.example"):
        _run(submit_notice(store, notice.id, site=elsewhere))
    assert transport.messages == [] and elsewhere.submissions == []
    email = _notice(store, to=Recipient(address="abuse@mock.example"), locale="ko")
    approve_notice(store, email.id, by="Officer Kim")
    with pytest.raises(DeliveryError, match="send_notice"):
        _run(submit_notice(store, email.id, site=CapturingFormReporter()))
    # Nothing above left an intent behind: the right adapter submits at once.
    assert _run(submit_notice(store, notice.id, site=CapturingFormReporter())).transport == "web_form"


def test_a_refused_submission_can_be_retried(store: SQLiteCaseStore) -> None:
    notice = _form_notice(store)
    approve_notice(store, notice.id, by="Officer Kim")
    reporter = CapturingFormReporter(fail_times=1)
    with pytest.raises(DeliveryError, match="told to fail"):
        _run(submit_notice(store, notice.id, site=reporter))
    assert store.get_notice(notice.id).state is NoticeState.APPROVED
    _run(submit_notice(store, notice.id, site=reporter))
    assert len(reporter.submissions) == 1


def test_an_unconfirmed_submission_is_never_repeated(store: SQLiteCaseStore) -> None:
    notice = _form_notice(store)
    approve_notice(store, notice.id, by="Officer Kim")
    reporter = CapturingFormReporter(unknown_times=1)
    with pytest.raises(DeliveryStateUnknownError):
        _run(submit_notice(store, notice.id, site=reporter))
    with pytest.raises(DeliveryError, match="may already have been sent"):
        _run(submit_notice(store, notice.id, site=reporter))
    assert len(reporter.submissions) == 1
    delivery = confirm_sent(store, notice.id, by="Officer Kim", sent=True, detail="the site lists the report")
    assert delivery is not None and delivery.transport == "confirmed"
    assert delivery.message_id.startswith(f"<{notice.id}.form.")
    assert store.get_notice(notice.id).state is NoticeState.SENT
    assert _run(submit_notice(store, notice.id, site=reporter)) == delivery
    assert len(reporter.submissions) == 1


class DiesMidSubmission(CapturingFormReporter):
    """Files the request, then the process 'dies' before takedown can record it."""

    async def report_form(self, notice: Notice) -> FormSubmission:
        await super().report_form(notice)
        raise RuntimeError("the process died")


def test_a_crash_mid_submission_keeps_the_intent_until_an_officer_settles_it(store: SQLiteCaseStore) -> None:
    notice = _form_notice(store)
    approve_notice(store, notice.id, by="Officer Kim")
    dying = DiesMidSubmission()
    with pytest.raises(RuntimeError):
        _run(submit_notice(store, notice.id, site=dying))
    retry = CapturingFormReporter()
    with pytest.raises(DeliveryError, match="may already have been sent"):
        _run(submit_notice(store, notice.id, site=retry))
    assert len(dying.submissions) == 1 and retry.submissions == []
    # The officer finds it was not filed after all: a retry is allowed, once.
    assert confirm_sent(store, notice.id, by="Officer Kim", sent=False) is None
    _run(submit_notice(store, notice.id, site=retry))
    _run(submit_notice(store, notice.id, site=retry))
    assert len(retry.submissions) == 1


# -- follow-up: escalation only to forms an adapter can submit to ------------------------------------------------


def _escalation(forms: list[FormReporter]) -> Notice:
    """Two email notices sent to the page's address; the page still up; one reminder drafted, to whom?"""
    store = memory_store()
    case = sample_case()
    store.put_case(case)
    finding = sample_finding(case, state=FindingState.DRAFTED)
    assert finding.page is not None
    contacts = (ContactHint(kind="email", value="abuse@mock.example", source=finding.candidate.url),
                ContactHint(kind="form", value=FORM, source=finding.candidate.url))
    finding = finding.model_copy(update={"page": finding.page.model_copy(update={"contacts": contacts})})
    store.add_finding(finding)
    transport = CapturingTransport()
    for locale in ("en", "ko"):
        notice = Notice(case_id=case.id, finding_id=finding.id, recipient=Recipient(address="abuse@mock.example"),
                        jurisdiction="KR", locale=locale, subject="s", body_text="b", legal=KR_LEGAL)
        store.add_notice(notice)
        approve_notice(store, notice.id, by="Officer Kim")
        send_notice(store, notice.id, transport=transport, sender="t@agency.example")

    async def still_up(candidate: Candidate) -> Page:
        media = FetchedMedia(url=f"{candidate.url}.png", kind=MediaKind.IMAGE, content=b"not really an image")
        return Page(url=candidate.url, final_url=candidate.url, status=200, media=(media,))

    templates = [StaticTemplate(locales=["en", "ko"])]
    report = _run(follow_up(store, fetch=still_up, agency=AgencySettings(), templates=templates,
                            config=FollowUpConfig(recheck_after=timedelta(0)), forms=forms))
    (reminder_id,) = report.reminders
    reminder = store.get_notice(reminder_id)
    store.close()
    return reminder


def test_escalation_moves_to_a_web_form_only_when_an_adapter_can_submit_to_it() -> None:
    without = _escalation([])
    assert without.recipient.channel == "email", "a form nobody can submit to is passed over"
    with_form = _escalation([CapturingFormReporter()])
    assert (with_form.recipient.channel, with_form.recipient.address) == ("web_form", FORM)
    assert with_form.kind == "reminder" and with_form.in_reply_to is not None


# -- end to end on the demo site ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(demo_site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workflow run once: its data folder (store and evidence), copied by ``data`` for each test."""
    out = tmp_path_factory.mktemp("form-demo")
    with SQLiteCaseStore(out / "takedown.sqlite") as store:
        store.put_case(demo_case(demo_site))
        result = demo_workflow(store, demo_site, demo_settings(out)).run_sync(DEMO_CASE_ID)
    assert result.errors == []
    return out


@pytest.fixture
def data(demo_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "data"
    shutil.copytree(demo_run, out)
    return out


@pytest.fixture
def opened(data: Path) -> Iterator[SQLiteCaseStore]:
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        yield store


def _form_notices(store: CaseStore, finding_id: str | None = None) -> list[Notice]:
    notices = store.list_notices(DEMO_CASE_ID) if finding_id is None else store.list_notices(finding_id=finding_id)
    return [n for n in notices if n.recipient.channel == "web_form"]


def _with_adapter(adapter: ConfiguredSite, steps: Callable[[ConfiguredSite], Awaitable[T]]) -> T:
    """Run ``steps`` in one event loop and close the adapter there (its connections belong to that loop)."""

    async def run() -> T:
        try:
            return await steps(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def test_the_demo_drafts_one_form_notice_per_match(demo_site: DemoSite, opened: SQLiteCaseStore) -> None:
    matches = opened.list_findings(DEMO_CASE_ID, decision=Decision.MATCH)
    assert matches
    for finding in matches:
        notices = opened.list_notices(finding_id=finding.id)
        emails = [n for n in notices if n.recipient.channel == "email"]
        (form,) = _form_notices(opened, finding.id)
        assert form.recipient.address == f"{demo_site.base_url}/report"
        assert "site config" in form.recipient.source
        assert form.locale == emails[0].locale, "the form gets the local language, once"
        assert form.state is NoticeState.DRAFT
    assert len(_form_notices(opened)) == len(matches), "reviews get no notice until an officer decides"


def test_a_form_notice_is_filed_once_and_only_after_approval(
    demo_site: DemoSite, data: Path, opened: SQLiteCaseStore
) -> None:
    notice = _form_notices(opened)[0]
    finding = opened.get_finding(notice.finding_id)
    before = len(demo_site.reports_received)

    async def steps(site: ConfiguredSite) -> tuple[Delivery, Delivery]:
        with pytest.raises(NotApprovedError):
            await submit_notice(opened, notice.id, site=site)
        assert len(demo_site.reports_received) == before, "nothing reaches the site without an approval"
        approve_notice(opened, notice.id, by="Officer Demo")
        first = await submit_notice(opened, notice.id, site=site)
        return first, await submit_notice(opened, notice.id, site=site)

    first, second = _with_adapter(demo_adapter(demo_site, demo_settings(data)), steps)
    assert first == second and first.transport == "web_form"
    received = demo_site.reports_received[before:]
    assert received == [{"url": finding.candidate.url, "details": notice.body_text,
                         "email": notice.legal["contact_email"], "reason": "ncii"}]
    assert opened.get_notice(notice.id).state is NoticeState.SENT
    assert opened.get_finding(finding.id).state is FindingState.SENT


def test_an_unconfirmed_form_submission_is_never_filed_twice(
    demo_site: DemoSite, data: Path, opened: SQLiteCaseStore
) -> None:
    settings = demo_settings(data)
    # The same site, but expecting a success text the demo never answers: the report is filed, then unconfirmed.
    spec = read_spec(demo_site_file(), variables={"base_url": demo_site.base_url})
    assert spec.report.form is not None
    unsure = spec.model_copy(update={"report": spec.report.model_copy(
        update={"form": spec.report.form.model_copy(update={"success": "Thank you, case number"})})})
    notice = _form_notices(opened)[0]
    approve_notice(opened, notice.id, by="Officer Demo")
    before = len(demo_site.reports_received)

    async def unconfirmed(site: ConfiguredSite) -> None:
        with pytest.raises(DeliveryStateUnknownError):
            await submit_notice(opened, notice.id, site=site)

    _with_adapter(load_site(unsure, network=settings.network), unconfirmed)

    async def again(site: ConfiguredSite) -> None:
        with pytest.raises(DeliveryError, match="may already have been sent"):
            await submit_notice(opened, notice.id, site=site)

    _with_adapter(demo_adapter(demo_site, settings), again)
    assert len(demo_site.reports_received) == before + 1, "filed once, never again"
    delivery = confirm_sent(opened, notice.id, by="Officer Demo", sent=True)
    assert delivery is not None and opened.get_notice(notice.id).state is NoticeState.SENT


def test_a_reminder_to_a_form_goes_through_the_form_again(
    demo_site: DemoSite, data: Path, opened: SQLiteCaseStore
) -> None:
    settings = demo_settings(data)
    notice = _form_notices(opened)[0]
    approve_notice(opened, notice.id, by="Officer Demo")
    before = len(demo_site.reports_received)

    async def submit(site: ConfiguredSite) -> Delivery:
        return await submit_notice(opened, notice.id, site=site)

    sent = _with_adapter(demo_adapter(demo_site, settings), submit)

    async def check(site: ConfiguredSite) -> FollowUpReport:
        fetch, close = http_fetcher(settings.network)
        try:
            return await follow_up(opened, fetch=fetch, agency=settings.agency, templates=[LocalePackTemplate()],
                                   config=FollowUpConfig(recheck_after=timedelta(0)),
                                   forms=[site])
        finally:
            await close()

    report = _with_adapter(demo_adapter(demo_site, settings), check)
    assert report.still_up == [notice.finding_id]
    (reminder_id,) = report.reminders
    reminder = opened.get_notice(reminder_id)
    assert reminder.recipient == notice.recipient and (reminder.kind, reminder.attempt) == ("reminder", 2)
    assert reminder.in_reply_to == sent.message_id
    approve_notice(opened, reminder.id, by="Officer Demo")
    with pytest.raises(DeliveryError, match="submit_notice"):
        send_notice(opened, reminder.id, transport=CapturingTransport(), sender="t@agency.example")

    async def submit_reminder(site: ConfiguredSite) -> Delivery:
        return await submit_notice(opened, reminder.id, site=site)

    _with_adapter(demo_adapter(demo_site, settings), submit_reminder)
    received = demo_site.reports_received[before:]
    assert [r["details"] for r in received] == [notice.body_text, reminder.body_text]


# -- the CLI ----------------------------------------------------------------------------------------------------


def _takedown(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "takedown", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"}, check=False)


def test_takedown_send_submits_form_notices_through_the_site_files(demo_site: DemoSite, data: Path,
                                                                   tmp_path: Path) -> None:
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        form = _form_notices(store)[0]
        email = next(n for n in store.list_notices(finding_id=form.finding_id) if n.recipient.channel == "email")
        for notice in (form, email):
            approve_notice(store, notice.id, by="Officer Demo")
    config = tmp_path / "takedown.toml"
    config.write_text(f'[storage]\ndata_dir = "{data.as_posix()}"\n\n[network]\nallow_loopback = true\n',
                      encoding="utf-8")
    sites = tmp_path / "sites"
    sites.mkdir()
    shutil.copy(demo_site_file(), sites / "demo-sns.toml")
    outbox = tmp_path / "outbox"
    before = len(demo_site.reports_received)

    refused = _takedown("send", "--config", str(config), "--transport", "outbox", "--outbox", str(outbox),
                        cwd=tmp_path)
    assert refused.returncode == 1 and "--sites" in refused.stderr and form.id in refused.stderr, refused.stderr
    assert len(demo_site.reports_received) == before, "no form is submitted without its site file"
    assert len(list(outbox.glob("*.eml"))) == 1, "the stuck web-form notice does not hold back the email"

    args = ("send", "--config", str(config), "--transport", "outbox", "--outbox", str(outbox), "--sites", str(sites),
            "--var", f"base_url={demo_site.base_url}")
    sent = _takedown(*args, cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert f"Sent {form.id}" in sent.stdout and "via web_form" in sent.stdout
    assert [r["details"] for r in demo_site.reports_received[before:]] == [form.body_text]
    assert len(list(outbox.glob("*.eml"))) == 1, "the email notice is not sent twice"

    again = _takedown(*args, cwd=tmp_path)
    assert again.returncode == 0 and "No approved notices to send." in again.stdout
    assert len(demo_site.reports_received) == before + 1
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        assert {store.get_notice(n.id).state for n in (form, email)} == {NoticeState.SENT}


@pytest.mark.parametrize(("use", "channels"), [("both", ["email", "email", "web_form"]), ("form", ["web_form"]),
                                                ("email", ["email", "email"])])
def test_report_use_decides_which_requests_are_drafted(
    demo_site: DemoSite, tmp_path: Path, use: str, channels: list[str]
) -> None:
    text = demo_site_file().read_text(encoding="utf-8").replace("[report]\n", f'[report]\nuse = "{use}"\n', 1)
    site_file = tmp_path / "demo-sns.toml"
    site_file.write_text(text, encoding="utf-8")
    settings = demo_settings(tmp_path / "out")
    adapter = load_site(site_file, network=settings.network, variables={"base_url": demo_site.base_url})
    assert (adapter.form_url is None) == (use == "email") and adapter.form_only == (use == "form")
    with SQLiteCaseStore(tmp_path / "out" / "takedown.sqlite") as store:
        store.put_case(demo_case(demo_site))
        workflow = demo_workflow(store, demo_site, settings)
        asyncio.run(workflow.sites[adapter.site].aclose())  # the demo's own file, replaced by the edited one
        workflow.sites = {adapter.site: adapter}
        workflow.run_sync(DEMO_CASE_ID)
        [finding] = [f for f in store.list_findings(DEMO_CASE_ID, decision=Decision.MATCH)
                     if f.candidate.url == demo_site.url_for("p01")]
        notices = store.list_notices(finding_id=finding.id)
    assert sorted(n.recipient.channel for n in notices) == channels, "p01 is Korean: ko + en emails, one form"
