"""Follow-up on the demo site: one post taken down, one still up → one removed, one reminder drafted."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from takedown.demo.run import DEMO_CASE_ID, demo_case, demo_settings, demo_workflow
from takedown.demo.site import DemoSite
from takedown.models import Decision, FindingState, NoticeState
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
        matches = store.list_findings(DEMO_CASE_ID, decision=Decision.MATCH)[:2]
        transport = CapturingTransport()
        sent = {}
        for finding in matches:
            notice = next(n for n in store.list_notices(finding_id=finding.id) if n.locale == "en")
            approve_notice(store, notice.id, by="Officer Demo")
            sent[finding.id] = send_notice(store, notice.id, transport=transport, sender="t@agency.example")
        assert len(transport.messages) == 2
        removed_post = matches[0].candidate.url.rsplit("/", 1)[1]

        fetch, close = http_fetcher(settings.network)

        async def run(config: FollowUpConfig):  # type: ignore[no-untyped-def]
            try:
                return await follow_up(store, fetch=fetch, agency=settings.agency, templates=[LocalePackTemplate()],
                                       config=config)
            finally:
                await close()

        early = asyncio.run(run(FollowUpConfig()))
        assert early.checked == 0 and len(early.not_due) == 2, "nothing is re-checked before its deadline"

        demo_site.take_down(removed_post)
        try:
            report = asyncio.run(run(FollowUpConfig(recheck_after=timedelta(0))))
        finally:
            demo_site.restore(removed_post)
        assert report.removed == [matches[0].id], report
        assert report.still_up == [matches[1].id]
        assert store.get_finding(matches[0].id).state is FindingState.REMOVED
        assert store.get_finding(matches[1].id).state is FindingState.RENOTIFIED
        reminders = [store.get_notice(i) for i in report.reminders]
        assert len(reminders) == 1
        reminder = reminders[0]
        assert reminder.kind == "reminder" and reminder.attempt == 2 and reminder.state is NoticeState.DRAFT
        assert reminder.in_reply_to == sent[matches[1].id].message_id
        assert [f.outcome for f in store.list_followups(sent[matches[1].id].notice_id)] == ["still_up"]

        stats = {s.recipient: s for s in compliance_stats(store)}
        (only,) = stats.values()
        assert only.findings == 2 and only.removed == 1 and only.share_removed == 0.5
        assert only.median_hours_to_removal is not None
