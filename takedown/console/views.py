"""What the console's pages show, as plain data for their templates: no web framework here, so it is tested alone.

Every value a site sent (titles, URLs, subjects, bodies) goes to the templates as a string and is escaped there.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from takedown.errors import EvidenceError, NotFoundError
from takedown.models import Decision, Finding, FindingState, Notice, NoticeState, utcnow
from takedown.report.grouping import request_key
from takedown.report.jurisdictions import missing_fields
from takedown.settings import Settings
from takedown.store.base import CaseStore, SentNotice

__all__ = ["ACTIVE", "DEADLINES_SHOWN", "NOTICE_STATES", "PER_PAGE", "REMOVAL_BARS", "SERVED_ROLES", "audit_view",
           "copies_of", "dashboard_view", "evidence_file", "finding_view", "findings_view", "masked_preview",
           "notice_view", "notices_view", "paging", "removal_bars", "sendable_view", "sent_by_due"]

SERVED_ROLES = frozenset({"report", "manifest", "seal"})
"""The evidence files the console serves: reports, manifests and seals, never raw media, pages or screenshots."""

NOTICE_STATES = ("draft", "approved", "sent", "rejected", "withdrawn")
"""The notice lists the console shows, by state."""

PER_PAGE = 50
"""How many notices a page of a request list starts (each shown with its copies in other languages), and how many
findings a page of the review queue shows."""

DEADLINES_SHOWN = 50
"""How many legal deadlines the dashboard shows: the soonest."""


ACTIVE = (FindingState.SENT, FindingState.RENOTIFIED, FindingState.ESCALATED)
"""The states of a listed page that is still up after its request was sent."""


def sent_by_due(store: CaseStore, *, undated: bool = False, hours: Mapping[str, float] | None = None
                ) -> list[tuple[datetime | None, SentNotice]]:
    """Every sent request with pages still up, with when its recipient's legal time runs out, soonest first; with
    ``undated``, also those whose law sets no time (``None``, last). ``hours`` are ``[report] deadline_hours``."""
    from takedown.report.jurisdictions import deadline_for

    periods: dict[str, timedelta | None] = {}
    due: list[tuple[datetime | None, SentNotice]] = []
    for sent in store.list_sent_notices(listing=ACTIVE):
        if sent.jurisdiction not in periods:
            periods[sent.jurisdiction] = deadline_for(sent.jurisdiction, hours)
        period = periods[sent.jurisdiction]
        if period is not None or undated:
            due.append((sent.sent_at + period if period is not None else None, sent))
    due.sort(key=lambda row: (row[0] is None, row[0] or row[1].sent_at, row[1].notice_id))
    return due


def _due(store: CaseStore, hours: Mapping[str, float] | None = None) -> list[tuple[datetime, SentNotice]]:
    """Every sent request with pages still up whose law sets a time, with when that time runs out, soonest first."""
    return [(when, sent) for when, sent in sent_by_due(store, hours=hours) if when is not None]


def _deadline_rows(store: CaseStore, due: list[tuple[datetime, SentNotice]], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for when, sent in due:
        notice = store.get_notice(sent.notice_id)
        rows.append({"id": notice.id, "to": notice.recipient.address, "locale": notice.locale,
                     "sent": sent.sent_at.isoformat(timespec="minutes"), "due": when.isoformat(timespec="minutes"),
                     "overdue": when <= now, "still_up": sent.listing, "kind": notice.kind})
    return rows


def deadlines(store: CaseStore, *, now: datetime | None = None, limit: int | None = None,
              hours: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """Each sent request with pages still up: when the recipient's legal time ran or runs out, soonest first (the
    first ``limit`` of them)."""
    return _deadline_rows(store, _due(store, hours)[:limit], now or utcnow())


def dashboard_view(store: CaseStore, hours: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The queues with their counts, the soonest legal deadlines of sent requests (``DEADLINES_SHOWN``) with how many
    there are, and the cases. Counts are the store's; only the deadlines shown are read in full."""
    notices = store.count_notices()
    to_review = store.count_findings(states=[FindingState.JUDGED], decision=Decision.REVIEW)
    cases = [{"id": c.id, "title": c.title, "status": c.status.value, "priority": c.priority.value}
             for c in store.list_cases()]
    due = _due(store, hours)
    return {"queues": [
        {"label": "Requests to approve", "count": notices.get(NoticeState.DRAFT, 0), "href": "/notices?state=draft"},
        {"label": "Approved, not sent", "count": notices.get(NoticeState.APPROVED, 0),
         "href": "/notices?state=approved"},
        {"label": "Sent", "count": notices.get(NoticeState.SENT, 0), "href": "/notices?state=sent"},
        {"label": "Findings to review", "count": to_review, "href": "/findings"},
    ], "cases": cases, "deadlines": _deadline_rows(store, due[:DEADLINES_SHOWN], utcnow()),
        "deadlines_total": len(due), "removals": removal_bars(store)}


REMOVAL_BARS = 8
"""How many recipients the dashboard's removal chart shows: those notified of the most pages."""


def removal_bars(store: CaseStore, *, width: int = 560) -> dict[str, Any]:
    """Removals per recipient as the last follow-up round counted them, as bars for an SVG chart: for each of the
    ``REMOVAL_BARS`` recipients notified of the most pages, the length of its "notified" bar and of its "removed"
    part (pixels, the longest bar ``width``), with the counts."""
    from takedown.console.followups import followup_state

    job = followup_state(store)
    rows = sorted(job.summary.get("compliance", []) if job else [], key=lambda r: (-r["findings"], r["recipient"]))
    rows = rows[:REMOVAL_BARS]
    most = max((r["findings"] for r in rows), default=0) or 1
    bars = [{"recipient": r["recipient"], "findings": r["findings"], "removed": r["removed"],
             "share": round(100 * r["share_removed"]), "y": 24 * n,
             "total_px": max(2, round(width * r["findings"] / most)), "removed_px": round(width * r["removed"] / most)}
            for n, r in enumerate(rows)]
    return {"bars": bars, "height": 24 * len(bars), "width": width,
            "at": job.finished_at.isoformat(timespec="minutes") if job and job.finished_at else ""}


def paging(total: int, page: int, per_page: int) -> tuple[int, int]:
    """The page to show (``page`` moved into range) and how many pages there are (at least one)."""
    pages = max(1, math.ceil(total / per_page))
    return min(max(page, 1), pages), pages


def _item(finding: Finding, listed: set[str]) -> dict[str, Any]:
    return {"finding": finding.id, "url": finding.candidate.url, "title": finding.candidate.title,
            "state": finding.state.value, "bundle": finding.bundle_id,
            "also_shown_at": finding.canonical_id if finding.canonical_id in listed else None}


def notices_view(store: CaseStore, state: str, *, page: int = 1, per_page: int = PER_PAGE) -> dict[str, Any]:
    """A page of the notices in ``state``, one entry per request: its copies in each language, then the pages it lists.

    The notices are paged oldest first, ``per_page`` at a time; a request is shown on the page of its first copy in
    ``state``, with all of them, so no request is split or shown twice. ``page`` out of range shows the nearest.
    """
    wanted = NoticeState(state)
    total = store.count_notices().get(wanted, 0)
    page, pages = paging(total, page, per_page)
    listed = store.list_notices(states=[wanted], limit=per_page, offset=(page - 1) * per_page)
    on_page = {n.id for n in listed}
    requests: dict[tuple[str, ...], dict[str, Any] | None] = {}
    findings: dict[str, Finding] = {}
    for notice in listed:
        key = request_key(notice)
        if key in requests:
            continue
        copies = [n for n in store.list_notices(notice.case_id, finding_id=notice.finding_id, states=[wanted])
                  if request_key(n) == key]
        # Shown on an earlier page, with its first copy; or none is left in this state (decided meanwhile).
        if not copies or copies[0].id not in on_page:
            requests[key] = None
            continue
        for finding_id in notice.finding_ids:
            if finding_id not in findings:
                findings[finding_id] = store.get_finding(finding_id)
        listed_ids = set(notice.finding_ids)
        requests[key] = {
            "to": notice.recipient.address, "channel": notice.recipient.channel, "case": notice.case_id,
            "kind": notice.kind, "items": [_item(findings[f], listed_ids) for f in notice.finding_ids],
            "copies": [{"id": n.id, "locale": n.locale, "jurisdiction": n.jurisdiction, "subject": n.subject,
                        "missing": missing_fields(n)} for n in copies],
        }
    return {"requests": [entry for entry in requests.values() if entry is not None], "total": total, "page": page,
            "pages": pages}


def copies_of(store: CaseStore, notice: Notice) -> list[Notice]:
    """The notice's copies in its request's other languages (``request_key``), itself left out."""
    key = request_key(notice)
    return [n for n in store.list_notices(notice.case_id, finding_id=notice.finding_id)
            if n.id != notice.id and request_key(n) == key]


def notice_view(store: CaseStore, settings: Settings, notice_id: str) -> dict[str, Any]:
    """One notice as the officer checks it: recipient, legal checklist, the pages it lists, the message.

    Raises:
        NotFoundError: no such notice.
    """
    from takedown.report.locale_pack import pack_review  # Jinja2 and Babel: for this page only

    notice = store.get_notice(notice_id)
    listed = set(notice.finding_ids)
    items = []
    for finding_id in notice.finding_ids:
        finding = store.get_finding(finding_id)
        item = _item(finding, listed)
        try:
            bundle = store.get_bundle(finding.bundle_id)
        except NotFoundError:
            bundle = None
        item["files"] = [{"path": a.path, "name": PurePosixPath(a.path).name, "role": a.role, "sha256": a.sha256}
                         for a in (bundle.artifacts if bundle else ()) if a.role in SERVED_ROLES]
        items.append(item)
    missing = set(missing_fields(notice))
    checklist = [{"field": key, "value": value, "missing": key in missing or not value.strip()}
                 for key, value in sorted(notice.legal.items())]
    checklist += [{"field": key, "value": "", "missing": True} for key in sorted(missing - set(notice.legal))]
    copies = [{"id": n.id, "locale": n.locale, "state": n.state.value} for n in copies_of(store, notice)]
    delivery = store.get_delivery(notice.id)
    review = pack_review(notice.locale)
    history = [{"at": c.at.isoformat(timespec="seconds"), "from": c.from_state or "", "to": c.to_state, "by": c.by,
                "note": c.note} for c in notice.history]
    return {
        "notice": {"id": notice.id, "state": notice.state.value, "kind": notice.kind, "attempt": notice.attempt,
                   "locale": notice.locale, "jurisdiction": notice.jurisdiction, "subject": notice.subject,
                   "body": notice.body_text, "to": notice.recipient.address, "channel": notice.recipient.channel,
                   "source": notice.recipient.source, "case": notice.case_id, "approved_by": notice.approved_by,
                   "decidable": notice.state is NoticeState.DRAFT,
                   "sendable": notice.state is NoticeState.APPROVED and delivery is None,
                   "sent": {"at": delivery.sent_at.isoformat(timespec="minutes"), "via": delivery.transport,
                            "id": delivery.message_id} if delivery else None},
        "items": items, "checklist": checklist, "complete": not missing, "copies": copies, "history": history,
        "pack_reviewed": review is not None and review.native_review,
    }


def evidence_file(store: CaseStore, settings: Settings, bundle_id: str, name: str) -> tuple[Path, str]:
    """The file of a bundle's report, manifest or seal named ``name``, and its media type, if it still matches its
    sealed SHA-256. Only files the bundle lists are served: a name is never joined to a path.

    Raises:
        NotFoundError: no such bundle, or it holds no served file of that name (a raw media file, a screenshot, a
            path outside the bundle: all "not found").
        EvidenceError: the file no longer matches its sealed hash, or lies outside the evidence root.
    """
    bundle = store.get_bundle(bundle_id)
    artifact = next((a for a in bundle.artifacts if a.role in SERVED_ROLES and PurePosixPath(a.path).name == name),
                    None)
    if artifact is None:
        raise NotFoundError(f"bundle {bundle_id} has no report, manifest or seal named {name!r}")
    root = settings.storage.evidence_root.resolve()
    path = (root / artifact.path).resolve()
    if not path.is_relative_to(root):
        raise EvidenceError(f"{artifact.path} lies outside the evidence root")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFoundError(f"{artifact.path} cannot be read: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != artifact.sha256:
        raise EvidenceError(f"{artifact.path} no longer matches its sealed SHA-256; it is not served")
    return path, artifact.media_type


def audit_view(store: CaseStore, subject: str) -> dict[str, Any]:
    """A subject's custody log (a notice, a bundle, a case or ``user:NAME``), oldest first, with whether its
    hash chain holds."""
    from takedown.evidence.custody import verify_chain

    events = store.custody_log(subject)
    return {"subject": subject, "intact": not verify_chain(events), "events": [
        {"seq": e.seq, "at": e.at.isoformat(timespec="seconds"), "action": e.action, "actor": e.actor,
         "details": ", ".join(f"{k}={v}" for k, v in sorted(e.details.items())), "hash": e.hash[:16]}
        for e in events]}


def findings_view(store: CaseStore, *, page: int = 1, per_page: int = PER_PAGE) -> dict[str, Any]:
    """A page of the findings the policy sent to an officer (decision ``review``, not yet settled), oldest first."""
    total = store.count_findings(states=[FindingState.JUDGED], decision=Decision.REVIEW)
    page, pages = paging(total, page, per_page)
    shown = store.list_findings(states=[FindingState.JUDGED], decision=Decision.REVIEW, limit=per_page,
                                offset=(page - 1) * per_page)
    return {"findings": [{"id": f.id, "case": f.case_id, "url": f.candidate.url, "title": f.candidate.title,
                          "reasons": list(f.reasons), "media": len(f.media)} for f in shown],
            "total": total, "page": page, "pages": pages}


def finding_view(store: CaseStore, finding_id: str) -> dict[str, Any]:
    """One finding as an officer judges it: the page, why it is here, each detector's verdict, its media (shown
    masked only).

    Raises:
        NotFoundError: no such finding.
    """
    finding = store.get_finding(finding_id)
    detections = [{"detector": d.detector, "target": d.target[:12], "kind": d.kind.value, "label": d.label.value,
                   "score": f"{d.score:.2f}", "matched": f"{d.matched.bank}:{d.matched.reference}" if d.matched else "",
                   "rationale": d.rationale} for d in finding.detections]
    return {"finding": {"id": finding.id, "case": finding.case_id, "url": finding.candidate.url,
                        "title": finding.candidate.title, "state": finding.state.value,
                        "decision": finding.decision.value if finding.decision else "",
                        "reasons": list(finding.reasons),
                        "text": finding.candidate.text[:2000],
                        "decidable": finding.state is FindingState.JUDGED and finding.decision is Decision.REVIEW},
            "detections": detections,
            "media": [{"sha256": m.sha256, "kind": m.kind.value, "url": m.url} for m in finding.media]}


def masked_preview(store: CaseStore, settings: Settings, finding_id: str, sha256: str) -> bytes:
    """A masked, greyscale PNG of one of the finding's media items (a placeholder for video and audio): what an
    officer sees by default. The original is never returned.

    Raises:
        NotFoundError: the finding holds no media item with that SHA-256, or its bytes are gone.
    """
    import io

    from PIL import Image

    from takedown.evidence.preview import placeholder_preview, preview_image

    finding = store.get_finding(finding_id)
    media = next((m for m in finding.media if m.sha256 == sha256), None)
    if media is None:
        raise NotFoundError(f"finding {finding_id} holds no media item {sha256[:16]}")
    if media.kind.value != "image":
        return placeholder_preview(f"{media.kind.value}: not shown here")
    try:
        data = store.blobs.read(sha256)
    except NotFoundError as exc:
        raise NotFoundError(f"the bytes of {sha256[:16]} are not in the store") from exc
    try:
        masked = preview_image(data, style=settings.evidence.preview_style)
    except EvidenceError:
        return placeholder_preview("not a picture that can be shown")
    grey = io.BytesIO()
    Image.open(io.BytesIO(masked)).convert("L").save(grey, format="PNG")
    return grey.getvalue()



def sendable_view(store: CaseStore, *, page: int = 1, per_page: int = PER_PAGE) -> dict[str, Any]:
    """A page of the approved requests not yet sent, oldest first, each copy with its recipient and channel (one
    being sent right now has its delivery and is left out)."""
    total = store.count_notices().get(NoticeState.APPROVED, 0)
    page, pages = paging(total, page, per_page)
    listed = store.list_notices(states=[NoticeState.APPROVED], limit=per_page, offset=(page - 1) * per_page)
    ready = [n for n in listed if store.get_delivery(n.id) is None]
    return {"ready": [{"id": n.id, "to": n.recipient.address, "channel": n.recipient.channel, "locale": n.locale,
                       "subject": n.subject, "pages": len(n.finding_ids), "approved_by": n.approved_by,
                       "case": n.case_id} for n in ready], "total": total, "page": page, "pages": pages}
