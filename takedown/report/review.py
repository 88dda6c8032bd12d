"""Review and sending: an officer approves or rejects a draft; only an approved notice is ever sent, and once.

A notice goes out one of two ways, by its recipient's ``channel``: ``send_notice`` emails it through a
``Transport``; ``submit_notice`` files it through the site's web form with the site's adapter (a
``FormReporter``). Both record their intent (the Message-ID, or the form submission's id) before anything
leaves. If the process dies between the hand-over and the record of the delivery, or the far side's answer
leaves it unclear, the next attempt finds the intent and refuses to send again: an officer checks (the SMTP log,
the outbox, the site) and records the outcome with ``confirm_sent``. A duplicate request to a site operator is
worse than a late one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from takedown.errors import (
    DeliveryError,
    DeliveryStateUnknownError,
    IncompleteNoticeError,
    NotApprovedError,
    NotFoundError,
    UsageError,
)
from takedown.models import CaseStatus, Delivery, FindingState, FormSubmission, Notice, NoticeState, utcnow
from takedown.report.base import Transport
from takedown.report.jurisdictions import missing_fields
from takedown.report.message import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    attachment_files,
    build_message,
    check_address,
    outgoing_message,
)
from takedown.store.base import CaseStore

if TYPE_CHECKING:
    from takedown.evidence.signing import AgencySigner
    from takedown.report.rerender import NoticeRenderer
    from takedown.sites.base import FormReporter

__all__ = [
    "PLACEHOLDER_SIGNERS",
    "approve_notice",
    "case_withdrawn",
    "confirm_sent",
    "edit_notice",
    "intent_key",
    "redraft_finding",
    "reject_notice",
    "send_notice",
    "submit_notice",
    "withdraw_notice",
]


PLACEHOLDER_SIGNERS = frozenset({"Duty Officer"})
"""Signer names that stand for nobody (the settings' default): a notice is never approved signed by one."""


def approve_notice(
    store: CaseStore,
    notice_id: str,
    *,
    by: str,
    note: str = "",
    context: Mapping[str, str] | None = None,
    renderer: NoticeRenderer | None = None,
    signer: tuple[str, str] | None = None,
) -> Notice:
    """Record an officer's approval of a draft (and move each finding it lists to ``approved`` if it was ``drafted``).

    ``context`` goes into the custody event beside the note: how the officer was authenticated (the CLI records
    the operating-system account, the console its session). With a ``renderer``, the notice is rendered again
    first (see :mod:`takedown.report.rerender`), so what is approved shows the officer's field edits in every
    part, signed by ``signer`` (the approving officer's name and title) when given.

    Raises:
        UsageError: ``by`` is empty: an approval names a person; the signer is a placeholder; or the notice's case
            was withdrawn.
        IncompleteNoticeError: the notice lacks fields its jurisdiction requires (the error lists them).
        InvalidTransitionError: the notice is not a draft.
    """
    if not by.strip():
        raise UsageError("an approval must name the officer who gives it")
    if signer is not None and (not signer[0].strip() or signer[0].strip() in PLACEHOLDER_SIGNERS):
        raise UsageError(f"a notice is signed by a person, not {signer[0]!r}: approve as a named officer")
    with store.transaction():
        notice = store.get_notice(notice_id)
        _refuse_if_withdrawn(store, notice)
        approved_at = utcnow()
        if renderer is not None and notice.state is NoticeState.DRAFT:
            notice = renderer(store, notice, at=approved_at, signer=signer)
        missing = missing_fields(notice)
        if missing:
            raise IncompleteNoticeError(notice_id, notice.jurisdiction, missing)
        approved = notice.advance(NoticeState.APPROVED, by=by, note=note, approved_by=by, approved_at=approved_at,
                                  signed_by=signer or notice.signed_by)
        store.update_notice(approved, expected=notice.state)
        for finding_id in notice.finding_ids:
            finding = store.get_finding(finding_id)
            if finding.state is FindingState.DRAFTED:
                store.update_finding(finding.advance(FindingState.APPROVED, by=by, note=f"notice {notice_id}"),
                                     expected=FindingState.DRAFTED)
        details = {**({"note": note} if note else {}), **(context or {})}
        store.append_custody(notice_id, "approved", actor=by, details=details or None)
    return approved


def edit_notice(
    store: CaseStore,
    notice_id: str,
    *,
    by: str,
    subject: str | None = None,
    body_text: str | None = None,
    body_html: str | None = None,
    legal: dict[str, str] | None = None,
    context: Mapping[str, str] | None = None,
    renderer: NoticeRenderer | None = None,
) -> Notice:
    """Change a draft (or an approved notice, which withdraws the approval: it must be approved again).

    A new ``subject`` or ``body_text`` is the officer's own writing, kept by every later rendering; a new body
    without ``body_html`` gets an HTML part made from it, so no part of the message goes out stale. ``legal``
    fields are kept as the officer's edits (``Notice.legal_edits``); with a ``renderer`` the notice is rendered
    again at once, so its text states them (approval renders it again in any case, when given a renderer).

    Raises:
        UsageError: nothing to change, or no officer named.
        InvalidTransitionError: the notice was sent or rejected.
    """
    if not by.strip():
        raise UsageError("an edit names the officer who makes it")
    changes: dict[str, object] = {
        k: v for k, v in (("subject", subject), ("body_text", body_text), ("body_html", body_html)) if v is not None
    }
    with store.transaction():
        notice = store.get_notice(notice_id)
        if legal is not None:
            changes["legal"] = {**notice.legal, **legal}
        if not changes:
            raise UsageError("nothing to change")
        if "subject" in changes:
            changes["subject"] = " ".join(str(changes["subject"]).split())
        asked = ", ".join(sorted(changes))  # what the officer changed (the custody record), before what follows
        if legal is not None:
            changes["legal_edits"] = {**notice.legal_edits, **legal}
        hand = {k for k in ("subject", "body_text") if k in changes}
        if hand:
            changes["hand_edited"] = tuple(sorted(set(notice.hand_edited) | hand))
        if "body_text" in changes and "body_html" not in changes:
            from takedown.report.locale_pack import text_to_html  # Jinja2 and Babel: only when a body is edited

            title = str(changes.get("subject", notice.subject))
            changes["body_html"] = text_to_html(str(changes["body_text"]), lang=notice.locale, title=title)
        edited = notice.advance(NoticeState.DRAFT, by=by, note="edited", approved_by=None, approved_at=None,
                                **changes)
        if renderer is not None:
            edited = renderer(store, edited, at=utcnow())
        store.update_notice(edited, expected=notice.state)
        store.append_custody(notice_id, "edited", actor=by,
                             details={"fields": asked, **(context or {})})
    return edited


def reject_notice(
    store: CaseStore, notice_id: str, *, by: str, reason: str, context: Mapping[str, str] | None = None
) -> Notice:
    """Record an officer's rejection of a draft, with the reason.

    Raises:
        UsageError: no reason or no officer was given.
        InvalidTransitionError: the notice is not a draft.
    """
    if not by.strip() or not reason.strip():
        raise UsageError("a rejection names the officer and gives a reason")
    with store.transaction():
        notice = store.get_notice(notice_id)
        rejected = notice.advance(NoticeState.REJECTED, by=by, note=reason, rejected_reason=reason)
        store.update_notice(rejected, expected=notice.state)
        store.append_custody(notice_id, "rejected", actor=by, details={"reason": reason, **(context or {})})
    return rejected


def withdraw_notice(
    store: CaseStore, notice_id: str, *, by: str, reason: str, context: Mapping[str, str] | None = None
) -> Notice:
    """Withdraw a notice that was not sent (a draft, an approved or a rejected one); it can never be sent.

    Raises:
        UsageError: nobody or no reason is given, or an earlier send of it may have happened (settle that with
            ``confirm_sent`` first).
        InvalidTransitionError: the notice was sent or withdrawn already.
    """
    if not by.strip() or not reason.strip():
        raise UsageError("withdrawing a notice names the officer and gives a reason")
    with store.transaction():
        notice = store.get_notice(notice_id)
        if store.get_checkpoint(_intent_key(notice_id)):
            raise UsageError(f"notice {notice_id} may have been sent already; record what happened with "
                             "confirm_sent before withdrawing it")
        withdrawn = notice.advance(NoticeState.WITHDRAWN, by=by, note=reason)
        store.update_notice(withdrawn, expected=notice.state)
        store.append_custody(notice_id, "withdrawn", actor=by, details={"reason": reason, **(context or {})})
    return withdrawn


def redraft_finding(
    store: CaseStore, finding_id: str, *, by: str, reason: str, context: Mapping[str, str] | None = None
) -> list[Notice]:
    """Withdraw a finding's unsent notices and send it back to be drafted again (after a settings, template or
    site-file change). The next ``Workflow.draft`` drafts new notices (a new ``revision``, so new ids).

    A withdrawn notice that listed other findings too sends them back with it (each drafted or approved one is
    moved back to ``evidenced``): they are listed again in the new notices.

    Returns:
        The notices withdrawn.

    Raises:
        UsageError: nobody or no reason is given, the finding's case was withdrawn, the finding has no drafts to
            replace (it was not drafted, or a notice of it was sent: follow-up drafts reminders then), or a send of
            one may have happened.
    """
    if not by.strip() or not reason.strip():
        raise UsageError("a redraft names the officer and gives a reason")
    with store.transaction():
        finding = store.get_finding(finding_id)
        if case_withdrawn(store, finding.case_id):
            raise UsageError(f"case {finding.case_id} was withdrawn; nothing of it is drafted again")
        if finding.state not in (FindingState.DRAFTED, FindingState.APPROVED):
            raise UsageError(f"finding {finding_id} is {finding.state.value}; only a drafted or approved finding "
                             "(nothing sent yet) is redrafted")
        unsent = [NoticeState.DRAFT, NoticeState.APPROVED, NoticeState.REJECTED]
        withdrawn: list[Notice] = []
        todo, seen = [finding_id], {finding_id}
        while todo:  # the finding, then every finding listed with it in a notice withdrawn here, and so on
            current = store.get_finding(todo.pop())
            if current.id != finding_id and current.state not in (FindingState.DRAFTED, FindingState.APPROVED):
                continue
            for notice in store.list_notices(finding_id=current.id, states=unsent):
                withdrawn.append(withdraw_notice(store, notice.id, by=by, reason=f"redraft: {reason}",
                                                 context=context))
                fresh = [fid for fid in notice.finding_ids if fid not in seen]
                seen.update(fresh)
                todo += fresh
            note = f"redraft: {reason}" if current.id == finding_id else f"redraft of {finding_id}: {reason}"
            store.update_finding(current.advance(FindingState.EVIDENCED, by=by, note=note), expected=current.state)
    return withdrawn


def _intent_key(notice_id: str) -> str:
    return f"sending:{notice_id}"


def intent_key(notice_id: str) -> str:
    """The checkpoint key under which a send in flight is recorded (its Message-ID; empty when none)."""
    return _intent_key(notice_id)


def case_withdrawn(store: CaseStore, case_id: str) -> bool:
    """Whether the case was withdrawn (a record whose case is not in the store belongs to no withdrawn case)."""
    try:
        return store.get_case(case_id).status is CaseStatus.WITHDRAWN
    except NotFoundError:
        return False


def _refuse_if_withdrawn(store: CaseStore, notice: Notice) -> None:
    if case_withdrawn(store, notice.case_id):
        raise UsageError(f"notice {notice.id} belongs to case {notice.case_id}, which was withdrawn: it is never "
                         "approved or sent")


def _approved(store: CaseStore, notice_id: str) -> Notice:
    """The notice, if it is approved by a named officer and its case was not withdrawn; else ``NotApprovedError``."""
    notice = store.get_notice(notice_id)
    if notice.state is not NoticeState.APPROVED or not notice.approved_by or notice.approved_at is None:
        raise NotApprovedError(f"notice {notice_id} is {notice.state.value}; only an approved notice is sent")
    if case_withdrawn(store, notice.case_id):
        raise NotApprovedError(f"notice {notice_id} belongs to case {notice.case_id}, which was withdrawn: it is "
                               "never sent")
    return notice


def _refuse_if_in_flight(store: CaseStore, notice_id: str) -> None:
    intent = store.get_checkpoint(_intent_key(notice_id))
    if intent:
        raise DeliveryError(
            f"notice {notice_id} may already have been sent as {intent} (the process stopped, or the recipient's "
            "answer left it unclear, before it was recorded); check the transport or the site, then record the "
            "outcome with confirm_sent"
        )


def send_notice(
    store: CaseStore,
    notice_id: str,
    *,
    transport: Transport,
    sender: str,
    sender_name: str = "",
    evidence_root: Path | None = None,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    renderer: NoticeRenderer | None = None,
    signer: AgencySigner | None = None,
) -> Delivery:
    """Send an approved notice once; sending it again returns the recorded delivery.

    The notice's attachments (evidence reports under ``evidence_root``) go with it while they fit under
    ``max_attachment_bytes`` and still match their sealed hashes. With a ``renderer`` the notice is dated when it
    is sent (``NoticeRenderer.redated``: only the dates change, or nothing), recorded with the intent. Every
    message carries ``notice.json`` (``takedown.report.notice_json``), signed by ``signer`` when given.

    Raises:
        NotApprovedError: the notice has no recorded human approval.
        DeliveryError: the notice goes to a web form (``submit_notice`` sends those), the transport failed
            (nothing is recorded as sent), or an earlier attempt may have sent it and was never confirmed (see
            ``confirm_sent``).
    """
    from takedown.report.notice_json import notice_files  # cryptography: only when something is sent

    # The checks and the record of the intent form one transaction: two senders cannot both pass them.
    with store.transaction():
        existing = store.get_delivery(notice_id)
        if existing is not None:
            return existing
        notice = _approved(store, notice_id)
        if notice.recipient.channel != "email":
            raise DeliveryError(f"notice {notice_id} goes to a web form ({notice.recipient.address}), not by email; "
                                "submit it with submit_notice through the site's adapter")
        _refuse_if_in_flight(store, notice_id)
        if renderer is not None:
            dated = renderer.redated(store, notice, at=utcnow())
            if dated != notice:
                store.update_notice(dated, expected=NoticeState.APPROVED)
                store.append_custody(notice_id, "dated", actor="takedown", details={"why": "dated when sent"})
                notice = dated
        # Everything that can refuse (a bad address, altered evidence) runs before the intent is recorded.
        domain = check_address(sender, what="sender").rpartition("@")[2]  # punycode: the Message-ID stays ASCII
        message_id = f"<{notice_id}.{secrets.token_hex(6)}@{domain}>"  # short enough never to be folded
        files = attachment_files(notice, evidence_root) if evidence_root is not None else []
        now = utcnow()
        documents = notice_files(notice, sent_at=now, message_id=message_id, signer=signer,
                                 deadline=renderer.deadline(notice) if renderer is not None else None)
        email = build_message(notice, sender=sender, sender_name=sender_name, message_id=message_id,
                              attachments=files, max_attachment_bytes=max_attachment_bytes, now=now,
                              documents=documents)
        outgoing = outgoing_message(notice, email)
        store.set_checkpoint(_intent_key(notice_id), message_id)
    try:
        delivery = transport.send(outgoing)
    except DeliveryStateUnknownError:
        raise  # it may have left: the intent stays, and an officer settles it with confirm_sent
    except DeliveryError:
        # The transport says it did not send: the intent is withdrawn so the officer can retry. Any other
        # failure leaves the intent in place: nobody knows whether the message left.
        _clear_intent(store, notice_id)
        raise
    _record(store, notice, delivery)
    return delivery


async def submit_notice(store: CaseStore, notice_id: str, *, site: FormReporter) -> Delivery:
    """Submit an approved web-form notice through its site's form once; submitting again returns the delivery.

    The same protocol as ``send_notice``: the intent is recorded before the form is submitted and the delivery
    after, in the same store records, so ``confirm_sent`` settles either kind. When the site's answer leaves it
    unclear whether the request was filed (``DeliveryStateUnknownError``: a server error, no success text, a
    connection lost after the request went out), or the process stops in between, the intent stays: nothing is
    submitted again until an officer checks the site and records the outcome with ``confirm_sent``.

    A notice that lists several pages goes to a form that takes one URL (``site.form_takes_lists`` is false) as
    one submission per page, all under the one approval: each is recorded as it is filed, so a submission that
    stops half-way resumes with the pages not yet filed, and none is filed twice. The notice is sent when the
    last one is.

    Args:
        store: the case store holding the notice.
        notice_id: an approved notice whose recipient is a web form (``recipient.channel == "web_form"``).
        site: the adapter of the site that owns that form (its ``form_url`` is the notice's recipient address),
            e.g. the ``ConfiguredSite`` the finding was discovered with.

    Returns:
        The recorded delivery (transport ``web_form``, or ``confirmed`` if an officer confirmed an earlier attempt).

    Raises:
        NotApprovedError: the notice has no recorded human approval; nothing was submitted.
        UsageError: ``site`` does not submit to the notice's form; nothing was submitted.
        DeliveryError: the notice goes by email (``send_notice`` sends those), the site refused the request or
            it never left (nothing is recorded as sent; a retry is allowed), or an earlier attempt may have
            submitted it and was never confirmed.
        DeliveryStateUnknownError: the site may have the request; see ``confirm_sent``.
    """
    notice = store.get_notice(notice_id)
    if len(notice.finding_ids) > 1 and not site.form_takes_lists:
        return await _submit_per_page(store, notice_id, site=site)
    with store.transaction():  # the checks and the record of the intent, together (see send_notice)
        existing = store.get_delivery(notice_id)
        if existing is not None:
            return existing
        notice = _checked_for_form(store, notice_id, site)
        token, intent = _form_intent(notice)
        store.set_checkpoint(_intent_key(notice_id), intent)
    recorded = await _file(store, notice, site, token)
    _record(store, notice, recorded.delivery(), details={
        "form_url": recorded.url, "status": str(recorded.status), "response_sha256": recorded.response_sha256,
    })
    return store.get_delivery(notice_id) or recorded.delivery()


def _checked_for_form(store: CaseStore, notice_id: str, site: FormReporter) -> Notice:
    """The notice, if it may be submitted through ``site`` now (approved, to its form, nothing in flight)."""
    from takedown.sites.base import submits_to  # here: sending by email needs nothing of the site adapters

    notice = _approved(store, notice_id)
    if notice.recipient.channel != "web_form":
        raise DeliveryError(f"notice {notice_id} goes by {notice.recipient.channel} to "
                            f"{notice.recipient.address}, not to a web form; send it with send_notice")
    if not submits_to(site, notice.recipient.address):
        raise UsageError(f"notice {notice_id} is addressed to the form {notice.recipient.address}; this site "
                         f"adapter submits to {site.form_url or 'no form'}")
    _refuse_if_in_flight(store, notice_id)
    return notice


def _form_intent(notice: Notice) -> tuple[str, str]:
    host = urlsplit(notice.recipient.address).hostname or "web-form.invalid"
    token = secrets.token_hex(6)
    return token, f"<{notice.id}.form.{token}@{host}>"  # the shape FormSubmission.delivery() gives its message_id


async def _file(store: CaseStore, notice: Notice, site: FormReporter, token: str) -> FormSubmission:
    """Submit ``notice`` (or one page of it) with its intent recorded; the submission as the store will record it."""
    try:
        submission = await site.report_form(notice)
    except DeliveryStateUnknownError:
        raise  # the site may have it: the intent stays, and an officer settles it with confirm_sent
    except (DeliveryError, UsageError):
        # The adapter says nothing was filed. Anything else (a crash, a cancellation) leaves the intent in place.
        _clear_intent(store, notice.id)
        store.set_checkpoint(_page_in_flight_key(notice.id), "")
        raise
    # The record carries the intent's id and the store's approval, whatever the adapter filled in.
    return submission.model_copy(update={"notice_id": notice.id, "submission_id": token,
                                         "approved_by": notice.approved_by, "approved_at": notice.approved_at})


def _page_key(notice_id: str, finding_id: str) -> str:
    return f"submitted:{notice_id}#{finding_id}"


def _page_view(notice: Notice, finding_id: str) -> Notice:
    """The notice as one page's submission: the same approved notice, its URL fields naming that page alone."""
    item = next((i for i in notice.items if i.finding_id == finding_id), None)
    urls = [item.url, *item.media] if item is not None else notice.legal.get("urls", "").split()
    return notice.model_copy(update={"finding_id": finding_id, "legal": {**notice.legal, "urls": " ".join(urls)}})


async def _submit_per_page(store: CaseStore, notice_id: str, *, site: FormReporter) -> Delivery:
    """``submit_notice`` for a form that takes one URL: one submission per listed page, each recorded once."""
    first: Delivery | None = None
    filed = 0
    notice = store.get_notice(notice_id)
    for finding_id in notice.finding_ids:
        with store.transaction():
            existing = store.get_delivery(notice_id)
            if existing is not None:
                return existing
            notice = _checked_for_form(store, notice_id, site)
            done = store.get_checkpoint(_page_key(notice_id, finding_id))
            if done:
                filed += 1
                continue
            token, intent = _form_intent(notice)
            store.set_checkpoint(_intent_key(notice_id), intent)
            store.set_checkpoint(_page_in_flight_key(notice_id), finding_id)
        recorded = await _file(store, _page_view(notice, finding_id), site, token)
        delivery = recorded.delivery()
        with store.transaction():
            store.set_checkpoint(_page_key(notice_id, finding_id), delivery.message_id)
            store.set_checkpoint(_page_in_flight_key(notice_id), "")
            _clear_intent(store, notice_id)
            store.append_custody(notice_id, "submitted", actor="web_form", details={
                "finding": finding_id, "message_id": delivery.message_id, "form_url": recorded.url,
                "status": str(recorded.status), "response_sha256": recorded.response_sha256,
            })
        first = first or delivery
        filed += 1
    pages = len(notice.finding_ids)
    # The delivery carries the first page's id, whichever run filed it (follow-up replies to it).
    lead = store.get_checkpoint(_page_key(notice_id, notice.finding_ids[0])) or (first.message_id if first else "")
    final = Delivery(notice_id=notice_id, transport=first.transport if first else "web_form", message_id=lead,
                     approved_by=str(notice.approved_by), approved_at=notice.approved_at or utcnow(),
                     detail=f"{filed} submissions, one per page ({pages} pages)")
    _record(store, notice, final, details={"submissions": str(filed)})
    return store.get_delivery(notice_id) or final


def _page_in_flight_key(notice_id: str) -> str:
    return f"sending-page:{notice_id}"


def _clear_intent(store: CaseStore, notice_id: str) -> None:
    # Checkpoints have no delete verb; an empty value means "no send in flight".
    store.set_checkpoint(_intent_key(notice_id), "")


def confirm_sent(
    store: CaseStore, notice_id: str, *, by: str, sent: bool, detail: str = "",
    context: Mapping[str, str] | None = None,
) -> Delivery | None:
    """Record what an officer found after an unconfirmed send or form submission: it went out (record the
    delivery, under the intent's id) or it did not (allow a retry; if the case was withdrawn meanwhile, the
    notice is withdrawn instead, so it can never be sent).

    For one page of a notice submitted page by page (see ``submit_notice``), ``sent=True`` records that page as
    filed; the notice is recorded as sent only when every page is, and ``None`` is returned while pages are left
    (the next ``submit_notice`` files them).

    Raises:
        UsageError: nobody is named, or the notice has no unconfirmed send.
        NotApprovedError: the notice has no recorded approval.
    """
    if not by.strip():
        raise UsageError("a confirmation names the officer who checked")
    intent = store.get_checkpoint(_intent_key(notice_id))
    if not intent:
        raise UsageError(f"notice {notice_id} has no unconfirmed send")
    if not sent:
        with store.transaction():
            _clear_intent(store, notice_id)
            store.set_checkpoint(_page_in_flight_key(notice_id), "")
            store.append_custody(notice_id, "send_not_confirmed", actor=by,
                                 details={"message_id": intent, **(context or {})})
            notice = store.get_notice(notice_id)
            if case_withdrawn(store, notice.case_id):
                withdraw_notice(store, notice_id, by=by, reason="not sent, and its case was withdrawn",
                                context=context)
        return None
    notice = store.get_notice(notice_id)
    if notice.approved_by is None or notice.approved_at is None:
        raise NotApprovedError(f"notice {notice_id} has no recorded approval")
    page = store.get_checkpoint(_page_in_flight_key(notice_id))
    if page:  # one page of a per-page submission: it is filed; the next submit files the pages left
        with store.transaction():
            store.set_checkpoint(_page_key(notice_id, page), intent)
            store.set_checkpoint(_page_in_flight_key(notice_id), "")
            _clear_intent(store, notice_id)
            store.append_custody(notice_id, "submitted", actor=by, details={
                "finding": page, "message_id": intent, "confirmed_by": by, **(context or {})})
        if any(not store.get_checkpoint(_page_key(notice_id, fid)) for fid in notice.finding_ids):
            return None
    delivery = Delivery(notice_id=notice_id, transport="confirmed", message_id=intent, approved_by=notice.approved_by,
                        approved_at=notice.approved_at, detail=detail or f"confirmed by {by}")
    _record(store, notice, delivery, details={"confirmed_by": by, **(context or {})})
    return delivery


def _record(store: CaseStore, notice: Notice, delivery: Delivery, *, details: dict[str, str] | None = None) -> None:
    with store.transaction():
        if store.add_delivery(delivery):
            store.update_notice(notice.advance(NoticeState.SENT, by=delivery.transport), expected=NoticeState.APPROVED)
            for finding_id in notice.finding_ids:
                finding = store.get_finding(finding_id)
                if finding.state is FindingState.APPROVED:
                    store.update_finding(finding.advance(FindingState.SENT, note=f"notice {notice.id}"),
                                         expected=FindingState.APPROVED)
            store.append_custody(notice.id, "sent", actor=delivery.transport,
                                 details={"message_id": delivery.message_id, "approved_by": delivery.approved_by,
                                          **(details or {})})
        _clear_intent(store, notice.id)
