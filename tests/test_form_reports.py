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
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

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
from takedown.settings import AgencySettings, Settings
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


def _escalation(forms: list[FormReporter], *, attempts: int = 1) -> list[Notice]:
    """One request sent to the page's address in two languages; the page still up; the reminders drafted, to whom?

    A notice and its copy in another language are one attempt: with ``attempts`` = 1 that address has had its
    turn, and the reminder moves on if there is someone to move on to.
    """
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
    config = FollowUpConfig(recheck_after=timedelta(0), attempts_per_recipient=attempts)
    report = _run(follow_up(store, fetch=still_up, agency=AgencySettings(), templates=templates, config=config,
                            forms=forms))
    assert report.still_up == [finding.id]
    reminders = [store.get_notice(reminder_id) for reminder_id in report.reminders]
    store.close()
    assert all(r.finding_ids == (finding.id,) and r.kind == "reminder" and r.in_reply_to for r in reminders)
    return reminders


def _to(reminders: list[Notice]) -> list[tuple[str, str, str]]:
    return sorted((r.recipient.channel, r.recipient.address, r.locale) for r in reminders)


def test_escalation_moves_to_a_web_form_only_when_an_adapter_can_submit_to_it() -> None:
    email = "abuse@mock.example"
    without = _escalation([])
    assert _to(without) == [("email", email, "en"), ("email", email, "ko")], \
        "a form nobody can submit to is passed over: the address is reminded again, in both languages"
    (with_form,) = _escalation([CapturingFormReporter()])
    assert (with_form.recipient.channel, with_form.recipient.address) == ("web_form", FORM), "one request, one form"
    assert with_form.locale in {"en", "ko"} and with_form.attempt == 1, "the form's first request"
    assert {r.attempt for r in without} == {2}, "the address's second"
    not_yet = _escalation([CapturingFormReporter()], attempts=2)
    assert _to(not_yet) == [("email", email, "en"), ("email", email, "ko")], \
        "a request in two languages is one attempt: the address gets its second before the form is tried"


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


def _the_form_notice(store: CaseStore) -> Notice:
    """The demo case's one web-form notice (it lists every match)."""
    (form,) = _form_notices(store)
    return form


def _filed(notice: Notice) -> list[dict[str, str]]:
    """What the demo site receives for ``notice``: its form takes one URL, so one request per listed page, in order,
    each with the notice's approved text."""
    return [{"url": item.url, "details": notice.body_text, "email": notice.legal["contact_email"], "reason": "ncii"}
            for item in notice.items]


def test_the_demo_drafts_one_form_notice_listing_every_match(demo_site: DemoSite, opened: SQLiteCaseStore) -> None:
    matches = opened.list_findings(DEMO_CASE_ID, decision=Decision.MATCH)
    assert len(matches) > 1
    form = _the_form_notice(opened)
    assert sorted(form.finding_ids) == sorted(f.id for f in matches), "one request listing every match"
    assert sorted(item.url for item in form.items) == sorted(f.candidate.url for f in matches)
    assert form.recipient.address == f"{demo_site.base_url}/report"
    assert "site config" in form.recipient.source
    assert form.state is NoticeState.DRAFT
    emails = [n for n in opened.list_notices(DEMO_CASE_ID) if n.recipient.channel == "email"]
    assert sorted(n.locale for n in emails) == ["en", "ko"], "the operator is in Korea: Korean, with an English copy"
    assert all(n.finding_ids == form.finding_ids for n in emails)
    assert form.locale == "ko", "the form gets the local language, once"
    for finding in matches:
        assert [n.id for n in _form_notices(opened, finding.id)] == [form.id]
    reviews = opened.list_findings(DEMO_CASE_ID, decision=Decision.REVIEW)
    assert reviews and all(opened.list_notices(finding_id=f.id) == [] for f in reviews), \
        "reviews get no notice until an officer decides"
    assert len(opened.list_notices(DEMO_CASE_ID)) == 3, "three requests to approve, not one per match and language"


def test_a_form_notice_is_filed_once_per_page_and_only_after_approval(
    demo_site: DemoSite, data: Path, opened: SQLiteCaseStore
) -> None:
    notice = _the_form_notice(opened)
    pages = len(notice.items)
    assert pages > 1
    before = len(demo_site.reports_received)

    async def steps(site: ConfiguredSite) -> tuple[Delivery, Delivery]:
        assert not site.form_takes_lists, "the demo's form takes one URL"
        with pytest.raises(NotApprovedError):
            await submit_notice(opened, notice.id, site=site)
        assert len(demo_site.reports_received) == before, "nothing reaches the site without an approval"
        approve_notice(opened, notice.id, by="Officer Demo")
        first = await submit_notice(opened, notice.id, site=site)
        return first, await submit_notice(opened, notice.id, site=site)

    first, second = _with_adapter(demo_adapter(demo_site, demo_settings(data)), steps)
    assert first == second and first.transport == "web_form" and first.approved_by == "Officer Demo"
    assert first.detail == f"{pages} submissions, one per page ({pages} pages)"
    assert demo_site.reports_received[before:] == _filed(notice), "one request per page, each once"
    assert opened.get_notice(notice.id).state is NoticeState.SENT
    assert {opened.get_finding(f).state for f in notice.finding_ids} == {FindingState.SENT}
    actions = [e.action for e in opened.custody_log(notice.id) if e.action != "drafted"]
    assert actions == ["approved", *["submitted"] * pages, "sent"], "every page under the one approval"


def test_an_unconfirmed_form_submission_is_never_filed_twice(
    demo_site: DemoSite, data: Path, opened: SQLiteCaseStore
) -> None:
    settings = demo_settings(data)
    # The same site, but expecting a success text the demo never answers: the report is filed, then unconfirmed.
    spec = read_spec(demo_site_file(), variables={"base_url": demo_site.base_url})
    assert spec.report.form is not None
    unsure = spec.model_copy(update={"report": spec.report.model_copy(
        update={"form": spec.report.form.model_copy(update={"success": "Thank you, case number"})})})
    notice = _the_form_notice(opened)
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
    assert demo_site.reports_received[before:] == _filed(notice)[:1], "the first page filed once, then nothing"
    # The officer finds the first page's request on the site: it is recorded, and the other pages follow.
    assert confirm_sent(opened, notice.id, by="Officer Demo", sent=True) is None, "pages are left to file"
    assert opened.get_notice(notice.id).state is NoticeState.APPROVED

    async def rest(site: ConfiguredSite) -> Delivery:
        return await submit_notice(opened, notice.id, site=site)

    delivery = _with_adapter(demo_adapter(demo_site, settings), rest)
    assert demo_site.reports_received[before:] == _filed(notice), "each page once, the unconfirmed one never again"
    assert opened.get_notice(notice.id).state is NoticeState.SENT and opened.get_delivery(notice.id) == delivery
    assert _with_adapter(demo_adapter(demo_site, settings), rest) == delivery
    assert len(demo_site.reports_received) == before + len(notice.items)


def test_a_reminder_to_a_form_goes_through_the_form_again(
    demo_site: DemoSite, data: Path, opened: SQLiteCaseStore
) -> None:
    settings = demo_settings(data)
    notice = _the_form_notice(opened)
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
    assert sorted(report.still_up) == sorted(notice.finding_ids), "each listed page is checked, and is still up"
    (reminder_id,) = report.reminders  # one reminder, in the form's one language, for everything still up
    reminder = opened.get_notice(reminder_id)
    assert reminder.recipient == notice.recipient and (reminder.kind, reminder.attempt) == ("reminder", 2)
    assert reminder.finding_ids == notice.finding_ids and reminder.locale == notice.locale
    assert reminder.in_reply_to == sent.message_id
    approve_notice(opened, reminder.id, by="Officer Demo")
    with pytest.raises(DeliveryError, match="submit_notice"):
        send_notice(opened, reminder.id, transport=CapturingTransport(), sender="t@agency.example")

    async def submit_reminder(site: ConfiguredSite) -> Delivery:
        return await submit_notice(opened, reminder.id, site=site)

    _with_adapter(demo_adapter(demo_site, settings), submit_reminder)
    assert demo_site.reports_received[before:] == _filed(notice) + _filed(reminder)
    assert opened.get_notice(reminder.id).state is NoticeState.SENT


# -- the CLI ----------------------------------------------------------------------------------------------------


def _takedown(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "takedown", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"}, check=False)


def test_takedown_send_submits_form_notices_through_the_site_files(demo_site: DemoSite, data: Path,
                                                                   tmp_path: Path) -> None:
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        form = _the_form_notice(store)
        email = next(n for n in store.list_notices(DEMO_CASE_ID) if n.recipient.channel == "email")
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
    assert demo_site.reports_received[before:] == _filed(form), "one request per page, from the one approval"
    assert len(list(outbox.glob("*.eml"))) == 1, "the email notice is not sent twice"

    again = _takedown(*args, cwd=tmp_path)
    assert again.returncode == 0 and "No approved notices to send." in again.stdout
    assert len(demo_site.reports_received) == before + len(form.items), "nothing is filed twice"
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        assert {store.get_notice(n.id).state for n in (form, email)} == {NoticeState.SENT}


@pytest.mark.parametrize(("use", "requests"), [
    ("both", [("email", "en"), ("email", "ko"), ("web_form", "ko")]),
    ("form", [("web_form", "ko")]),
    ("email", [("email", "en"), ("email", "ko")]),
])
def test_report_use_decides_which_requests_are_drafted(
    demo_site: DemoSite, tmp_path: Path, use: str, requests: list[tuple[str, str]]
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
        matches = sorted(f.id for f in store.list_findings(DEMO_CASE_ID, decision=Decision.MATCH))
        notices = store.list_notices(DEMO_CASE_ID)
    assert sorted((n.recipient.channel, n.locale) for n in notices) == requests, \
        "the operator is in Korea: emails in Korean and English, the form in Korean"
    assert len(matches) > 1 and all(sorted(n.finding_ids) == matches for n in notices), "each lists every match"


def test_the_console_sends_e_mails_and_web_forms_together_once(demo_site: DemoSite, data: Path,
                                                               tmp_path: Path) -> None:
    """The officer's send screen: every approved request, e-mail and web form, after one confirmation; the form
    through the site file in ``[sites] dir``; each request once, however often the button is pressed."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from takedown.console.accounts import add_user
    from takedown.console.app import create_app
    from takedown.settings import SitesSettings

    sites = tmp_path / "sites"
    sites.mkdir()
    shutil.copy(demo_site_file(), sites / "demo-sns.toml")
    settings = demo_settings(data).model_copy(update={
        "sites": SitesSettings(dir=sites, vars={"base_url": demo_site.base_url})})
    transport = CapturingTransport()
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        add_user(store, "kim", "correct horse battery staple", roles=["officer"], display_name="Kim Officer",
                 locale="en", by="admin")
        form = _the_form_notice(store)
        emails = [n for n in store.list_notices(DEMO_CASE_ID) if n.recipient.channel == "email"]
        for notice in (form, *emails):
            approve_notice(store, notice.id, by="Officer Demo")
        before = len(demo_site.reports_received)
        with TestClient(create_app(settings, store=store, transport=lambda: transport,
                                   secure_cookies=False)) as client:
            page = client.get("/login").text
            token = page.split('name="login_csrf" value="')[1].split('"')[0]
            client.post("/login", data={"username": "kim", "password": "correct horse battery staple",
                                        "login_csrf": token})
            listing = client.get("/send").text
            csrf = listing.split('name="csrf" value="')[1].split('"')[0]
            assert all(n.id in listing for n in (form, *emails))
            chosen = {"csrf": csrf, "notice": [form.id, *(n.id for n in emails)]}
            unconfirmed = client.post("/send", data=chosen)
            assert unconfirmed.status_code == 400 and not transport.messages
            assert len(demo_site.reports_received) == before, "nothing goes without the confirmation"
            sent = client.post("/send", data={**chosen, "confirm": "yes"})
            assert sent.status_code == 200 and "not sent:" not in sent.text, sent.text
            assert sent.text.count(">sent<") == 3, "each request says it went"
            again = client.post("/send", data={**chosen, "confirm": "yes"})
            assert again.status_code == 200
            assert "Nothing waits to be sent." in client.get("/send").text
        assert demo_site.reports_received[before:] == _filed(form), "the form: one request per page, once"
        assert len(transport.messages) == 2, "the Korean and English e-mails, once each"
        assert {store.get_notice(n.id).state for n in (form, *emails)} == {NoticeState.SENT}
        requested = [e for e in store.custody_log(form.id) if e.action == "send_requested"]
        assert len(requested) == 1 and requested[0].details["user"] == "kim"


def _console_client(settings: Settings, store: SQLiteCaseStore) -> Iterator[tuple[Any, str]]:
    """A console on ``store`` with kim (an officer) signed in: the client and its CSRF token."""
    from fastapi.testclient import TestClient

    from takedown.console.accounts import add_user
    from takedown.console.app import create_app

    add_user(store, "kim", "correct horse battery staple", roles=["officer"], display_name="Kim Officer",
             locale="en", by="admin")
    with TestClient(create_app(settings, store=store, transport=CapturingTransport, secure_cookies=False),
                    follow_redirects=False) as client:
        page = client.get("/login").text
        token = page.split('name="login_csrf" value="')[1].split('"')[0]
        client.post("/login", data={"username": "kim", "password": "correct horse battery staple",
                                    "login_csrf": token})
        csrf = client.get("/").text.split('name="csrf" value="')[1].split('"')[0]
        yield client, csrf


def test_the_console_follows_up_records_removals_and_drafts_reminders(demo_site: DemoSite, data: Path) -> None:
    pytest.importorskip("fastapi")
    from takedown.console.followups import followup_state

    settings = demo_settings(data)
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        emails = [n for n in store.list_notices(DEMO_CASE_ID) if n.recipient.channel == "email"]
        for notice in emails:
            approve_notice(store, notice.id, by="Officer Demo")
            send_notice(store, notice.id, transport=CapturingTransport(), sender="takedown@agency.example")
        gone = store.get_finding(emails[0].finding_ids[0])
        post_id = gone.candidate.url.rsplit("/", 1)[1]
        demo_site.take_down(post_id)
        try:
            for client, csrf in _console_client(settings, store):
                page = client.get("/followup").text
                assert emails[0].recipient.address in page and "overdue" not in page.split('id="sent"')[1]
                assert client.post("/followup", data={"csrf": csrf, "everything": "yes"}).status_code == 303
                deadline = time.monotonic() + 120
                while (state := followup_state(store)) is not None and state.running():
                    assert time.monotonic() < deadline, "the follow-up round did not finish"
                    time.sleep(0.2)
                assert state is not None and state.status == "done", state
                assert state.summary["removed"] == [gone.id] and state.summary["errors"] == []
                assert len(state.summary["still_up"]) == len(emails[0].finding_ids) - 1
                reminders = [store.get_notice(i) for i in state.summary["reminders"]]
                assert reminders and {r.kind for r in reminders} == {"reminder"}
                assert gone.id not in {f for r in reminders for f in r.finding_ids}, "no reminder for what is gone"
                page = client.get("/followup").text
                assert 'id="round-done"' in page and all(r.id in page for r in reminders)
                assert "removed" in page and emails[0].recipient.address in page.split('id="compliance"')[1]
                chart = client.get("/").text.split('id="removals"')[1].split("</svg>")[0]
                assert emails[0].recipient.address in chart and f"1 / {len(emails[0].finding_ids)}" in chart
        finally:
            demo_site.restore(post_id)
        assert store.get_finding(gone.id).state is FindingState.REMOVED
        started = [e for e in store.custody_log("console-followup") if e.action == "followup_started"]
        assert len(started) == 1 and started[0].details["user"] == "kim"


def test_the_console_shows_a_sealed_bundle_and_whether_it_still_verifies(data: Path) -> None:
    pytest.importorskip("fastapi")
    settings = demo_settings(data)
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        match = store.list_findings(DEMO_CASE_ID, decision=Decision.MATCH)[0]
        bundle = store.get_bundle(match.bundle_id)
        for client, _csrf in _console_client(settings, store):
            page = client.get(f"/bundles/{bundle.id}")
            assert page.status_code == 200 and 'data-ok="true"' in page.text
            served = [a for a in bundle.artifacts if a.role in ("report", "manifest")]
            assert served and all(f'/bundles/{bundle.id}/{Path(a.path).name}"' in page.text for a in served)
            media = [a for a in bundle.artifacts if a.role == "media"]
            assert media and all(f'/bundles/{bundle.id}/{Path(a.path).name}"' not in page.text for a in media)
            assert all(a.sha256 in page.text for a in bundle.artifacts), "every file's hash"
            tampered = settings.storage.evidence_root / served[0].path
            tampered.write_bytes(tampered.read_bytes() + b"\n")
            again = client.get(f"/bundles/{bundle.id}").text
            assert 'data-ok="false"' in again and served[0].path.rsplit("/", 1)[1] in again
