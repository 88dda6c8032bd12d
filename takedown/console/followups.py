"""Follow-up in the console: every sent request's legal clock and the state of each page it listed, the reminders
and escalations waiting for approval, removals per recipient, and a follow-up round started from the browser.

A round is ``takedown followup``'s (``takedown.report.followup.follow_up``): each listed page that is due is
re-checked, what is gone is recorded as removed, and what is still up gets a reminder draft (or, after the
configured attempts, an escalation to the next recipient) that waits for an officer's approval like any request.
It runs as a console job (``takedown.console.jobs``), one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from takedown.console.jobs import JobState, job_state, start_job
from takedown.models import FindingState, NoticeState, utcnow
from takedown.report.grouping import request_key
from takedown.settings import Settings
from takedown.store.base import CaseStore

__all__ = ["FOLLOWUP_JOB", "followup_state", "followup_view", "start_followup"]

FOLLOWUP_JOB = "console-followup"
"""The key of the console's follow-up job (and the custody subject that records who started each round)."""

_ACTIVE = frozenset({FindingState.SENT, FindingState.RENOTIFIED, FindingState.ESCALATED})


def followup_state(store: CaseStore) -> JobState | None:
    """The last follow-up round started from the console, if any."""
    return job_state(store, FOLLOWUP_JOB)


def followup_view(store: CaseStore, *, now: datetime | None = None) -> dict[str, Any]:
    """Sent requests with their legal clocks and pages (those with pages still up first, the most overdue first),
    the reminders and escalations waiting, and removals per recipient."""
    from takedown.report.followup import compliance_stats
    from takedown.report.jurisdictions import get_jurisdiction

    now = now or utcnow()
    requests: dict[tuple[str, ...], dict[str, Any]] = {}
    for notice in store.list_notices(states=[NoticeState.SENT]):
        key = request_key(notice)
        delivery = store.get_delivery(notice.id)
        if key in requests or delivery is None:
            if key in requests:
                requests[key]["locales"].append(notice.locale)
            continue
        deadline = get_jurisdiction(notice.jurisdiction).deadline
        due = delivery.sent_at + deadline if deadline is not None else None
        checks = {(c.finding_id or notice.finding_id): c for c in store.list_followups(notice.id)}
        pages: list[dict[str, Any]] = []
        for finding_id in notice.finding_ids:
            finding = store.get_finding(finding_id)
            check = checks.get(finding_id)
            pages.append({"url": finding.candidate.url, "state": finding.state.value,
                          "up": finding.state in _ACTIVE,
                          "checked": check.checked_at.isoformat(timespec="minutes") if check else "",
                          "outcome": check.outcome if check else ""})
        still_up = sum(1 for p in pages if p["up"])
        requests[key] = {"id": notice.id, "to": notice.recipient.address, "channel": notice.recipient.channel,
                         "kind": notice.kind, "attempt": notice.attempt, "locales": [notice.locale],
                         "sent": delivery.sent_at.isoformat(timespec="minutes"),
                         "due": due.isoformat(timespec="minutes") if due else "",
                         "overdue": bool(due and due <= now and still_up), "still_up": still_up, "pages": pages,
                         "_order": (still_up == 0, due or delivery.sent_at)}
    rows = sorted(requests.values(), key=lambda r: r.pop("_order"))
    waiting = [{"id": n.id, "to": n.recipient.address, "kind": n.kind, "attempt": n.attempt, "locale": n.locale,
                "subject": n.subject}
               for n in store.list_notices(states=[NoticeState.DRAFT]) if n.kind != "initial" or n.attempt > 1]
    return {"requests": rows, "waiting": waiting, "compliance": compliance_stats(store),
            "job": followup_state(store)}


def start_followup(store: CaseStore, settings: Settings, *, by: str, context: dict[str, str],
                   everything: bool = False) -> threading.Thread:
    """Start a follow-up round over every case in the background; return the thread that runs it.

    ``everything`` re-checks every sent page now, not only those whose legal time has run out.

    Raises:
        UsageError: a round is running.
    """
    from takedown.pipeline import build_sites, build_templates
    from takedown.report.followup import FollowUpConfig, follow_up, http_fetcher
    from takedown.sites.base import FormReporter

    async def work(stage: Callable[[str], None]) -> dict[str, Any]:
        stage("re-checking the pages")
        adapters = build_sites(settings) if settings.sites.dir is not None else []
        fetch, close = http_fetcher(settings.network)
        try:
            report = await follow_up(store, fetch=fetch, agency=settings.agency, templates=build_templates(),
                                     forms=[a for a in adapters if isinstance(a, FormReporter)],
                                     config=FollowUpConfig(recheck_after=timedelta(0) if everything else None),
                                     actor=f"console follow-up by {by}")
        finally:
            await close()
            for adapter in adapters:
                await adapter.aclose()
        return report.model_dump(mode="json")

    return start_job(store, FOLLOWUP_JOB, work, by=by, what="a follow-up round",
                     custody=(FOLLOWUP_JOB, "followup_started", {**context, "everything": str(everything).lower()}))
