"""Review and sending: an officer approves or rejects a draft; only an approved notice is ever sent, and once.

Sending records its intent (the Message-ID) before handing the message to the transport. If the process dies
between the hand-over and the record of the delivery, the next attempt finds the intent and refuses to send
again: an officer checks the transport (the SMTP log or the outbox) and records the outcome with
``confirm_sent``. A duplicate email to a site operator is worse than a late one.
"""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from takedown.errors import DeliveryError, NotApprovedError, UsageError
from takedown.models import Delivery, FindingState, Notice, NoticeState, OutgoingMessage, utcnow
from takedown.report.base import Transport
from takedown.store.base import CaseStore

__all__ = ["approve_notice", "build_message", "confirm_sent", "reject_notice", "send_notice"]


def approve_notice(store: CaseStore, notice_id: str, *, by: str, note: str = "") -> Notice:
    """Record an officer's approval of a draft (and move its finding to ``approved`` if it was ``drafted``).

    Raises:
        UsageError: ``by`` is empty: an approval names a person.
        InvalidTransitionError: the notice is not a draft.
    """
    if not by.strip():
        raise UsageError("an approval must name the officer who gives it")
    with store.transaction():
        notice = store.get_notice(notice_id)
        approved = notice.advance(NoticeState.APPROVED, by=by, note=note, approved_by=by, approved_at=utcnow())
        store.update_notice(approved, expected=notice.state)
        finding = store.get_finding(notice.finding_id)
        if finding.state is FindingState.DRAFTED:
            store.update_finding(finding.advance(FindingState.APPROVED, by=by, note=f"notice {notice_id}"),
                                 expected=FindingState.DRAFTED)
        store.append_custody(notice_id, "approved", actor=by, details={"note": note} if note else None)
    return approved


def reject_notice(store: CaseStore, notice_id: str, *, by: str, reason: str) -> Notice:
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
        store.append_custody(notice_id, "rejected", actor=by, details={"reason": reason})
    return rejected


def build_message(notice: Notice, *, sender: str, message_id: str) -> EmailMessage:
    """The email for a notice: plain text (and HTML if the template gave one), UTF-8 throughout."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = notice.recipient.address
    message["Subject"] = " ".join(notice.subject.split())  # no CR/LF from page titles reaches a header
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content(notice.body_text)
    if notice.body_html:
        message.add_alternative(notice.body_html, subtype="html")
    return message


def _intent_key(notice_id: str) -> str:
    return f"sending:{notice_id}"


def send_notice(store: CaseStore, notice_id: str, *, transport: Transport, sender: str) -> Delivery:
    """Send an approved notice once; sending it again returns the recorded delivery.

    Raises:
        NotApprovedError: the notice has no recorded human approval.
        DeliveryError: the transport failed (nothing is recorded as sent), or an earlier attempt may have
            sent it and was never confirmed (see ``confirm_sent``).
    """
    existing = store.get_delivery(notice_id)
    if existing is not None:
        return existing
    notice = store.get_notice(notice_id)
    if notice.state is not NoticeState.APPROVED or not notice.approved_by or notice.approved_at is None:
        raise NotApprovedError(f"notice {notice_id} is {notice.state.value}; only an approved notice is sent")
    intent = store.get_checkpoint(_intent_key(notice_id))
    if intent:
        raise DeliveryError(
            f"notice {notice_id} may already have been sent as {intent} (the process stopped before recording "
            "it); check the transport, then record the outcome with confirm_sent"
        )
    domain = sender.rpartition("@")[2] or "takedown.invalid"
    message_id = f"<{notice_id}.{secrets.token_hex(6)}@{domain}>"  # short enough never to be folded
    email = build_message(notice, sender=sender, message_id=message_id)
    outgoing = OutgoingMessage(
        notice_id=notice_id, message_id=message_id, sender=sender, recipients=(notice.recipient.address,),
        subject=str(email["Subject"]), raw=email.as_bytes(policy=SMTP), approved_by=notice.approved_by,
        approved_at=notice.approved_at,
    )
    store.set_checkpoint(_intent_key(notice_id), message_id)
    try:
        delivery = transport.send(outgoing)
    except DeliveryError:
        # The transport says it did not send: the intent is withdrawn so the officer can retry. Any other
        # failure leaves the intent in place: nobody knows whether the message left.
        _clear_intent(store, notice_id)
        raise
    _record(store, notice, delivery)
    return delivery


def _clear_intent(store: CaseStore, notice_id: str) -> None:
    # Checkpoints have no delete verb; an empty value means "no send in flight".
    store.set_checkpoint(_intent_key(notice_id), "")


def confirm_sent(store: CaseStore, notice_id: str, *, by: str, sent: bool, detail: str = "") -> Delivery | None:
    """Record what an officer found after an unconfirmed send: sent (record the delivery) or not (allow a retry)."""
    intent = store.get_checkpoint(_intent_key(notice_id))
    if not intent:
        raise UsageError(f"notice {notice_id} has no unconfirmed send")
    if not sent:
        _clear_intent(store, notice_id)
        store.append_custody(notice_id, "send_not_confirmed", actor=by, details={"message_id": intent})
        return None
    notice = store.get_notice(notice_id)
    if notice.approved_by is None or notice.approved_at is None:
        raise NotApprovedError(f"notice {notice_id} has no recorded approval")
    delivery = Delivery(notice_id=notice_id, transport="confirmed", message_id=intent, approved_by=notice.approved_by,
                        approved_at=notice.approved_at, detail=detail or f"confirmed by {by}")
    _record(store, notice, delivery)
    return delivery


def _record(store: CaseStore, notice: Notice, delivery: Delivery) -> None:
    with store.transaction():
        if store.add_delivery(delivery):
            store.update_notice(notice.advance(NoticeState.SENT, by=delivery.transport), expected=NoticeState.APPROVED)
            finding = store.get_finding(notice.finding_id)
            if finding.state is FindingState.APPROVED:
                store.update_finding(finding.advance(FindingState.SENT, note=f"notice {notice.id}"),
                                     expected=FindingState.APPROVED)
            store.append_custody(notice.id, "sent", actor=delivery.transport,
                                 details={"message_id": delivery.message_id, "approved_by": delivery.approved_by})
        _clear_intent(store, notice.id)
