"""Follow-up: re-check sent notices after their deadline, record what happened, and draft reminders.

Removal is tracked per listed location: each finding a sent notice listed is re-checked once its jurisdiction's
deadline has passed: the page is gone (HTTP 404 or 410), or the matched media's hashes are no longer on it, and
that finding is ``removed``; the others still up get a reminder that lists only them and refers to the earlier
messages (In-Reply-To / References), to the same recipient until it has had ``attempts_per_recipient`` notices
(a notice and its copies in other languages count once), then to the next recipient in escalation order (site
operator → host → registrar). Reminders are drafts like any other notice: an officer approves them before
anything is sent.

A reminder to a web form is a web-form notice again: it is submitted through the site's form
(``review.submit_notice``), never emailed. Escalation moves on to a web form only when one of the ``forms``
given to ``follow_up`` can submit to it; other forms found on the pages are passed over.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import NotFoundError, ReportError, SiteError
from takedown.models import (
    Candidate,
    DetectionLabel,
    Finding,
    FindingState,
    FollowUp,
    Notice,
    NoticeState,
    Page,
    Recipient,
    ReminderOf,
    utcnow,
)
from takedown.report.base import NoticeTemplate
from takedown.report.draft import draft_notices
from takedown.report.grouping import order_findings
from takedown.report.jurisdictions import deadline_for
from takedown.report.recipients import recipients_for
from takedown.report.review import case_withdrawn
from takedown.settings import AgencySettings, NetworkSettings
from takedown.sites.base import FormReporter, submits_to
from takedown.sites.http import HttpSite, HttpSiteConfig
from takedown.store.base import CaseStore

__all__ = [
    "FollowUpConfig",
    "FollowUpReport",
    "RecipientStats",
    "compliance_stats",
    "follow_up",
    "http_fetcher",
]

Fetch = Callable[[Candidate], Awaitable[Page]]
_ACTIVE = (FindingState.SENT, FindingState.RENOTIFIED, FindingState.ESCALATED)


class FollowUpConfig(BaseModel):
    """When to re-check and how hard to push."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    recheck_after: timedelta | None = Field(
        default=None, description="override every jurisdiction's deadline (None: use the deadline)"
    )
    attempts_per_recipient: int = Field(default=2, ge=1, description="notices to one recipient before escalating")
    deadline_hours: dict[str, float] = Field(
        default_factory=dict, description="the agency's re-check hours by jurisdiction ([report] deadline_hours)"
    )


class FollowUpReport(BaseModel):
    """What one follow-up run did."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    checked: int = 0
    removed: list[str] = Field(default_factory=list, description="finding ids now removed")
    still_up: list[str] = Field(default_factory=list)
    unreachable: list[str] = Field(default_factory=list)
    not_due: list[str] = Field(default_factory=list)
    reminders: list[str] = Field(default_factory=list, description="ids of the reminder drafts")
    errors: list[str] = Field(default_factory=list)


def http_fetcher(network: NetworkSettings) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    """A fetch function over plain HTTP (one guarded ``HttpSite`` per origin) and the coroutine that closes it."""
    sites: dict[str, HttpSite] = {}

    async def fetch(candidate: Candidate) -> Page:
        parts = urlsplit(candidate.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in sites:
            sites[origin] = HttpSite(HttpSiteConfig(site=candidate.site, base_url=origin), network=network)
        return await sites[origin].fetch(candidate)

    async def close() -> None:
        for site in sites.values():
            await site.aclose()

    return fetch, close


def _matched_hashes(finding: Finding) -> set[str]:
    return {d.target for d in finding.detections if d.label is DetectionLabel.MATCH and d.target != "text"}


def _still_up(finding: Finding, page: Page) -> tuple[bool, str]:
    if page.status in (404, 410):
        return False, f"the page answers HTTP {page.status}"
    if page.status >= 400:
        return True, f"the page answers HTTP {page.status}; treated as still up"
    present = {hashlib.sha256(m.content).hexdigest() for m in page.media}
    wanted = _matched_hashes(finding)
    if wanted and not wanted & present:
        return False, "the page is up but none of the matched media is on it any more"
    return True, "the matched media is still served"


def _thread(store: CaseStore, finding_id: str) -> list[tuple[Notice, datetime, str]]:
    """The finding's sent notices, oldest first, with when each was sent and its Message-ID."""
    sent = []
    for notice in store.list_notices(finding_id=finding_id, states=[NoticeState.SENT]):
        delivery = store.get_delivery(notice.id)
        if delivery is not None:
            sent.append((notice, delivery.sent_at, delivery.message_id))
    return sorted(sent, key=lambda item: item[1])


def _attempts(thread: Sequence[tuple[Notice, datetime, str]], address: str) -> int:
    """How many times ``address`` was written to: a notice and its copies in other languages count once."""
    return len({n.attempt for n, _, _ in thread if n.recipient.address == address})


def _next_recipient(
    finding: Finding, thread: Sequence[tuple[Notice, datetime, str]], attempts: int, forms: Sequence[FormReporter],
    errors: list[str],
) -> Recipient:
    last = thread[-1][0].recipient
    if _attempts(thread, last.address) < attempts:
        return last
    used = {n.recipient.address for n, _, _ in thread}
    for candidate in recipients_for(finding, on_error=lambda exc: errors.append(f"reminder for {finding.id}: {exc}")):
        if candidate.address in used:
            continue
        # A web form takes a request only through an adapter that can submit to it.
        if candidate.channel == "web_form" and not any(submits_to(form, candidate.address) for form in forms):
            continue
        return candidate
    return last  # nobody left to escalate to: keep reminding the last recipient


@dataclass(frozen=True)
class _StillUp:
    """A listed finding that is still up, with the thread of notices it was sent in and who is reminded next."""

    finding: Finding
    thread: list[tuple[Notice, datetime, str]]
    recipient: Recipient
    why: str


def _last_batch(thread: Sequence[tuple[Notice, datetime, str]]) -> list[Notice]:
    """The notices of the last send: the last notice and its copies in other languages (same recipient, attempt)."""
    last = thread[-1][0]
    return [n for n, _, _ in thread if n.recipient.address == last.recipient.address and n.attempt == last.attempt
            and n.kind == last.kind]


async def follow_up(
    store: CaseStore,
    *,
    fetch: Fetch,
    agency: AgencySettings,
    templates: Sequence[NoticeTemplate],
    case_id: str | None = None,
    config: FollowUpConfig | None = None,
    now: datetime | None = None,
    actor: str = "takedown",
    forms: Sequence[FormReporter] = (),
) -> FollowUpReport:
    """Re-check every listed location that is due, record the outcome, and draft reminders for what is still up.

    Each finding a sent notice listed is re-checked on its own (a page that repeats a finding's media is a finding
    of its own here), and recorded as a ``FollowUp`` naming the notice, the finding and its URL. The findings
    still up that were sent together, and go to the same recipient next, get one reminder per language of the
    last send, listing only them; escalation to the next recipient likewise carries only those. A notice and its
    copies in other languages count as one attempt.

    Findings of a withdrawn case are left alone: nothing is fetched and no reminder is drafted for them.

    Args:
        fetch: fetches a candidate's page with its media (``http_fetcher`` or a site adapter's ``fetch``).
        templates: render the reminders (the first that renders a locale wins).
        now: the time to judge deadlines against (default: now).
        forms: site adapters that submit to web forms (``FormReporter``); escalation moves on to a web form only
            if one of them submits to it. Reminders to a form already written to are drafted without them.
    """
    config = config or FollowUpConfig()
    now = now or utcnow()
    report: dict[str, list[str]] = {k: [] for k in ("removed", "still_up", "unreachable", "not_due", "reminders",
                                                    "errors")}
    checked = 0
    withdrawn: dict[str, bool] = {}
    still_up: list[_StillUp] = []
    for finding in store.list_findings(case_id, states=_ACTIVE):
        if finding.case_id not in withdrawn:
            withdrawn[finding.case_id] = case_withdrawn(store, finding.case_id)
        if withdrawn[finding.case_id]:  # the victim withdrew consent: no re-check, no reminder
            continue
        thread = _thread(store, finding.id)
        if not thread:
            continue
        last_notice, last_sent, _ = thread[-1]
        wait = config.recheck_after
        if wait is None:
            wait = deadline_for(last_notice.jurisdiction, config.deadline_hours) or timedelta(days=3)
        if now - last_sent < wait:
            report["not_due"].append(finding.id)
            continue
        checked += 1
        url = finding.candidate.url
        try:
            page = await fetch(finding.candidate)
        except SiteError as exc:
            store.add_followup(FollowUp(notice_id=last_notice.id, checked_at=now, outcome="unreachable",
                                        detail=str(exc), finding_id=finding.id, url=url))
            report["unreachable"].append(finding.id)
            continue
        up, why = _still_up(finding, page)
        if not up:
            with store.transaction():
                store.add_followup(FollowUp(notice_id=last_notice.id, checked_at=now, outcome="removed", detail=why,
                                            finding_id=finding.id, url=url))
                store.update_finding(finding.advance(FindingState.REMOVED, by=actor, note=why), expected=finding.state)
                store.append_custody(last_notice.id, "removal_confirmed", actor=actor,
                                     details={"why": why, "finding": finding.id, "url": url})
            report["removed"].append(finding.id)
            continue
        report["still_up"].append(finding.id)
        recipient = _next_recipient(finding, thread, config.attempts_per_recipient, forms, report["errors"])
        still_up.append(_StillUp(finding=finding, thread=thread, recipient=recipient, why=why))

    # One reminder per language for the findings that were sent together and go to the same recipient next.
    batches: dict[tuple[str, ...], list[_StillUp]] = {}
    for item in still_up:
        sent_in = sorted(n.id for n in _last_batch(item.thread))
        key = (item.finding.case_id, item.recipient.channel, item.recipient.address.casefold(), *sent_in)
        batches.setdefault(key, []).append(item)
    for members in batches.values():
        try:
            ids = _remind(store, members, agency=agency, templates=templates, now=now, actor=actor,
                          deadline_hours=config.deadline_hours)
        except ReportError as exc:
            report["errors"].append(f"reminder for {', '.join(m.finding.id for m in members)}: {exc}")
            continue
        report["reminders"] += ids
    return FollowUpReport(checked=checked, **report)


def _remind(
    store: CaseStore, members: Sequence[_StillUp], *, agency: AgencySettings, templates: Sequence[NoticeTemplate],
    now: datetime, actor: str, deadline_hours: dict[str, float],
) -> list[str]:
    """Draft the reminders listing ``members`` (findings still up, sent together) and record their re-checks."""
    recipient = members[0].recipient
    findings = order_findings([m.finding for m in members])
    lead = next(m for m in members if m.finding.id == findings[0].id)
    last_batch = _last_batch(lead.thread)
    locales = list(dict.fromkeys(n.locale for n in last_batch))
    if recipient.channel == "web_form":
        locales = locales[:1]
    attempt = 1 + max(_attempts(m.thread, recipient.address) for m in members)
    sent = sorted({(at, mid) for m in members for _, at, mid in m.thread})
    message_ids = tuple(dict.fromkeys(mid for _, mid in sent))
    root = lead.thread[0][2]
    bundles = {}
    for finding in findings:
        try:
            bundles[finding.id] = store.get_bundle(finding.bundle_id)
        except NotFoundError:
            continue
    case = store.get_case(lead.finding.case_id)
    first_sent = min(at for m in members for _, at, _ in m.thread)
    escalated = all(recipient.address != n.recipient.address for m in members for n, _, _ in m.thread)
    # Requests sent so far: a notice and its copies in other languages are one round.
    rounds = len({(n.recipient.address.casefold(), n.attempt) for m in members for n, _, _ in m.thread})
    following = ReminderOf(number=max(1, rounds), first_sent_at=first_sent, first_message_id=root,
                           escalated=escalated)
    drafts = draft_notices(findings, case=case, agency=agency, templates=templates, locales=locales,
                           bundles=bundles, recipient=recipient, reminder=following, deadline_hours=deadline_hours)
    ids = []
    with store.transaction():
        for member in members:
            last_notice = member.thread[-1][0]
            store.add_followup(FollowUp(notice_id=last_notice.id, checked_at=now, outcome="still_up", detail=member.why,
                                        finding_id=member.finding.id, url=member.finding.candidate.url))
        for draft in drafts:
            reminder = Notice.model_validate({**draft.model_dump(), "kind": "reminder", "attempt": attempt,
                                              "in_reply_to": root, "references": message_ids})
            if store.add_notice(reminder):
                store.append_custody(reminder.id, "drafted", actor=actor,
                                     details={"kind": "reminder", "to": recipient.address, "in_reply_to": root,
                                              "findings": str(len(findings))})
            ids.append(reminder.id)
        for member in members:
            finding = member.finding
            escalated = recipient.address != member.thread[-1][0].recipient.address
            target = FindingState.ESCALATED if escalated else FindingState.RENOTIFIED
            store.update_finding(finding.advance(target, by=actor, note=member.why), expected=finding.state)
    return ids


class RecipientStats(BaseModel):
    """How one recipient has answered takedown's notices."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    recipient: str
    findings: int = Field(description="findings with at least one notice sent to this recipient")
    removed: int
    share_removed: float
    median_hours_to_removal: float | None
    overdue: int = Field(default=0, description="findings still up after the legal time of the last notice ran out")


def compliance_stats(store: CaseStore, case_id: str | None = None, *, deadline_hours: dict[str, float] | None = None,
                     now: datetime | None = None) -> list[RecipientStats]:
    """Per recipient: findings notified, how many were removed, the median time from first notice to removal, and how
    many are still up after the legal time of the last notice to that recipient ran out (``[report] deadline_hours``
    or the jurisdiction's)."""
    now = now or utcnow()
    per: dict[str, dict[str, tuple[datetime, datetime | None]]] = {}
    overdue: dict[str, int] = {}
    for finding in store.list_findings(case_id):
        thread = _thread(store, finding.id)
        if not thread:
            continue
        last, last_sent, _ = thread[-1]
        period = deadline_for(last.jurisdiction, deadline_hours)
        if finding.state in _ACTIVE and period is not None and last_sent + period <= now:
            overdue[last.recipient.address] = overdue.get(last.recipient.address, 0) + 1
        removed_at = None
        if finding.state is FindingState.REMOVED:
            removed_at = finding.history[-1].at
        for notice, sent_at, _ in thread:
            first, _ = per.setdefault(notice.recipient.address, {}).get(finding.id, (sent_at, None))
            per[notice.recipient.address][finding.id] = (min(first, sent_at), removed_at)
    stats = []
    for address, items in sorted(per.items()):
        hours = [(removed - sent).total_seconds() / 3600 for sent, removed in items.values() if removed is not None]
        stats.append(RecipientStats(
            recipient=address, findings=len(items), removed=len(hours), share_removed=round(len(hours) / len(items), 3),
            median_hours_to_removal=round(statistics.median(hours), 2) if hours else None,
            overdue=overdue.get(address, 0),
        ))
    return stats
