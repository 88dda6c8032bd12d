"""Follow-up on the demo site: one post taken down, the rest still up → one removed, one reminder listing the rest."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from takedown.cli.run import _follow_up_due
from takedown.demo.run import DEMO_CASE_ID, demo_case, demo_settings, demo_workflow
from takedown.demo.site import DemoSite
from takedown.models import Decision, FindingState, NoticeState
from takedown.pipeline import notice_renderer
from takedown.report.followup import FollowUpConfig, compliance_stats, follow_up, http_fetcher
from takedown.report.locale_pack import LocalePackTemplate
from takedown.report.review import approve_notice, send_notice
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import CapturingTransport

pytestmark = pytest.mark.slow


def test_followup_marks_removed_and_drafts_a_reminder(tmp_path: Path, demo_site: DemoSite) -> None:
    settings = demo_settings(tmp_path)
    with SQLiteCaseStore(tmp_path / "takedown.sqlite") as store:
        store.put_case(demo_case(demo_site))
        demo_workflow(store, demo_site, settings).run_sync(DEMO_CASE_ID)
        matches = store.list_findings(DEMO_CASE_ID, decision=Decision.MATCH)
        notice = next(n for n in store.list_notices(DEMO_CASE_ID)
                      if n.locale == "en" and n.recipient.channel == "email")
        assert set(notice.finding_ids) == {m.id for m in matches}, "one request lists every match"
        transport = CapturingTransport()
        approve_notice(store, notice.id, by="Officer Demo")
        sent = send_notice(store, notice.id, transport=transport, sender="t@agency.example")
        assert len(transport.messages) == 1
        removed_post = matches[0].candidate.url.rsplit("/", 1)[1]

        fetch, close = http_fetcher(settings.network)

        async def run(config: FollowUpConfig):  # type: ignore[no-untyped-def]
            try:
                return await follow_up(store, fetch=fetch, agency=settings.agency, templates=[LocalePackTemplate()],
                                       config=config)
            finally:
                await close()

        early = asyncio.run(run(FollowUpConfig()))
        assert early.checked == 0 and len(early.not_due) == len(matches), "nothing is re-checked before its deadline"

        demo_site.take_down(removed_post)
        try:
            report = asyncio.run(run(FollowUpConfig(recheck_after=timedelta(0))))
        finally:
            demo_site.restore(removed_post)
        others = [m.id for m in matches[1:]]
        assert report.removed == [matches[0].id], report
        assert sorted(report.still_up) == sorted(others)
        assert store.get_finding(matches[0].id).state is FindingState.REMOVED
        assert all(store.get_finding(i).state is FindingState.RENOTIFIED for i in others)
        reminders = [store.get_notice(i) for i in report.reminders]
        assert len(reminders) == 1, "one reminder, in the language the request was sent in"
        reminder = reminders[0]
        assert reminder.kind == "reminder" and reminder.attempt == 2 and reminder.state is NoticeState.DRAFT
        assert reminder.locale == "en" and sorted(reminder.finding_ids) == sorted(others), "only what is still up"
        assert matches[0].candidate.url not in reminder.body_text
        assert reminder.in_reply_to == sent.message_id
        # It says it is a reminder: in its subject, and first thing in its text, with the first request's date
        # and Message-ID; approval renders it again as a reminder.
        assert reminder.subject.startswith("[Reminder 1] ") and reminder.subject.removeprefix("[Reminder 1] ")
        assert reminder.body_text.startswith("REMINDER 1: On ") and sent.message_id in reminder.body_text.split("\n")[0]
        assert reminder.reminder_of is not None and reminder.reminder_of.first_message_id == sent.message_id
        renderer = notice_renderer(settings)
        approved = approve_notice(store, reminder.id, by="Officer Demo", renderer=renderer,
                                  signer=("Officer Demo", "Deletion Support Officer"))
        assert approved.subject.startswith("[Reminder 1] ") and approved.body_text.startswith("REMINDER 1: ")
        second = send_notice(store, reminder.id, transport=transport, sender="t@agency.example", renderer=renderer)
        again = asyncio.run(run(FollowUpConfig(recheck_after=timedelta(0), attempts_per_recipient=5)))
        (next_one,) = [store.get_notice(i) for i in again.reminders]
        assert next_one.subject.startswith("[Reminder 2] ") and next_one.attempt == 3
        assert next_one.in_reply_to == sent.message_id and second.message_id in next_one.references

        # The legal clock: overdue once the jurisdiction's time (or the agency's) has run out since the last send.
        later = datetime.now(UTC) + timedelta(days=3)
        (row,) = compliance_stats(store, now=later)
        assert row.overdue == len(others)
        assert compliance_stats(store, now=later, deadline_hours={notice.jurisdiction: 24 * 30})[0].overdue == 0
        # takedown monitor follows up on its own once that time has run out.
        before = len(store.list_followups(second.notice_id))
        hurried = settings.model_copy(update={"report": settings.report.model_copy(
            update={"deadline_hours": ((notice.jurisdiction, 0.0001),)})})
        time.sleep(0.5)
        asyncio.run(_follow_up_due(store, hurried, DEMO_CASE_ID, []))
        assert len(store.list_followups(second.notice_id)) == before + len(others)
        outcomes = {f.finding_id: f.outcome for f in store.list_followups(sent.notice_id)}
        assert outcomes == {matches[0].id: "removed", **dict.fromkeys(others, "still_up")}

        stats = {s.recipient: s for s in compliance_stats(store)}
        (only,) = stats.values()
        assert only.findings == len(matches) and only.removed == 1
        assert only.median_hours_to_removal is not None
