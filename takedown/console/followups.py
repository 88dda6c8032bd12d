"""Follow-up in the console: every sent request's legal clock and the state of each page it listed, the reminders
and escalations waiting for approval, removals per recipient, and a follow-up round started from the browser.

A round is ``takedown followup``'s (``takedown.report.followup.follow_up``): each listed page that is due is
re-checked, what is gone is recorded as removed, and what is still up gets a reminder draft (or, after the
configured attempts, an escalation to the next recipient) that waits for an officer's approval like any request.
It runs as a console job (``takedown.console.jobs``), one at a time. Removals per recipient (``compliance_stats``)
read every sent request, so each round counts them at its end and the page shows that count, with its time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from takedown.console.jobs import JobState, job_state, start_job
from takedown.console.views import paging, sent_by_due
from takedown.models import NoticeState, utcnow
from takedown.report.grouping import request_key
from takedown.settings import Settings
from takedown.store.base import CaseStore

__all__ = ["FOLLOWUP_JOB", "PER_PAGE", "followup_state", "followup_view", "start_followup"]

FOLLOWUP_JOB = "console-followup"
"""The key of the console's follow-up job (and the custody subject that records who started each round)."""

PER_PAGE = 50
"""Sent notices a page of the follow-up screen starts from (copies of one request are shown together)."""
_WAITING_READ = 200
"""The newest drafts read to find the reminders and escalations waiting (besides those the last round drafted)."""


def followup_state(store: CaseStore) -> JobState | None:
    """The last follow-up round started from the console, if any."""
    return job_state(store, FOLLOWUP_JOB)


def followup_view(store: CaseStore, *, page: int = 1, per_page: int = PER_PAGE,
                  now: datetime | None = None, hours: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A page of the sent requests with pages still up (those overdue first, then by when their time runs out; a
    request without a legal time last), each with its pages and their last check; the reminders and escalations
    waiting; and removals per recipient as the last follow-up round counted them.

    Only the requests on the page are read in full, so the page stays fast however many were sent.
    """
    now = now or utcnow()
    ordered = sent_by_due(store, undated=True, hours=hours)
    page, pages = paging(len(ordered), page, per_page)
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for due, sent in ordered[(page - 1) * per_page: page * per_page]:
        notice = store.get_notice(sent.notice_id)
        key = request_key(notice)
        if key in rows:  # its copy in another language: one request
            rows[key]["locales"].append(notice.locale)
            continue
        checks = {(c.finding_id or notice.finding_id): c for c in store.list_followups(notice.id)}
        listed: list[dict[str, Any]] = []
        for finding_id in notice.finding_ids:
            finding = store.get_finding(finding_id)
            check = checks.get(finding_id)
            listed.append({"url": finding.candidate.url, "state": finding.state.value,
                           "checked": check.checked_at.isoformat(timespec="minutes") if check else "",
                           "outcome": check.outcome if check else ""})
        rows[key] = {"id": notice.id, "to": notice.recipient.address, "channel": notice.recipient.channel,
                     "kind": notice.kind, "attempt": notice.attempt, "locales": [notice.locale],
                     "sent": sent.sent_at.isoformat(timespec="minutes"),
                     "due": due.isoformat(timespec="minutes") if due else "", "overdue": bool(due and due <= now),
                     "still_up": sent.listing, "pages": listed}
    job = followup_state(store)
    return {"requests": list(rows.values()), "total": len(ordered), "page": page, "pages": pages,
            "waiting": _waiting(store, job), "compliance": job.summary.get("compliance", []) if job else [],
            "job": job}


def _waiting(store: CaseStore, job: JobState | None) -> list[dict[str, Any]]:
    """The reminders and escalations that wait for an officer's approval: those the last round drafted, and any
    among the newest drafts (reminders are drafted late in a request's life; the oldest drafts are first requests)."""
    drafts = store.count_notices().get(NoticeState.DRAFT, 0)
    newest = store.list_notices(states=[NoticeState.DRAFT], limit=_WAITING_READ,
                                offset=max(0, drafts - _WAITING_READ))
    found = {n.id: n for n in newest if n.kind != "initial" or n.attempt > 1}
    for notice_id in job.summary.get("reminders", []) if job else []:
        if notice_id not in found:
            notice = store.get_notice(notice_id)
            if notice.state is NoticeState.DRAFT:
                found[notice_id] = notice
    return [{"id": n.id, "to": n.recipient.address, "kind": n.kind, "attempt": n.attempt, "locale": n.locale,
             "subject": n.subject} for n in sorted(found.values(), key=lambda n: (n.created_at, n.id))]


def start_followup(store: CaseStore, settings: Settings, *, by: str, context: dict[str, str],
                   everything: bool = False) -> threading.Thread:
    """Start a follow-up round over every case in the background; return the thread that runs it.

    ``everything`` re-checks every sent page now, not only those whose legal time has run out.

    Raises:
        UsageError: a round is running.
    """
    from takedown.pipeline import build_sites, build_templates
    from takedown.report.followup import FollowUpConfig, compliance_stats, follow_up, http_fetcher
    from takedown.sites.base import FormReporter

    async def work(stage: Callable[[str], None]) -> dict[str, Any]:
        stage("re-checking the pages")
        adapters = build_sites(settings) if settings.sites.dir is not None else []
        fetch, close = http_fetcher(settings.network)
        try:
            report = await follow_up(store, fetch=fetch, agency=settings.agency, templates=build_templates(),
                                     forms=[a for a in adapters if isinstance(a, FormReporter)],
                                     config=FollowUpConfig(recheck_after=timedelta(0) if everything else None,
                                                           deadline_hours=settings.report.deadlines),
                                     actor=f"console follow-up by {by}")
        finally:
            await close()
            for adapter in adapters:
                await adapter.aclose()
        stage("counting removals per recipient")
        compliance = [row.model_dump(mode="json") for row in compliance_stats(store)]
        return {**report.model_dump(mode="json"), "compliance": compliance}

    return start_job(store, FOLLOWUP_JOB, work, by=by, what="a follow-up round",
                     custody=(FOLLOWUP_JOB, "followup_started", {**context, "everything": str(everything).lower()}))
