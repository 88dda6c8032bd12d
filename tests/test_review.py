from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from takedown.errors import (
    DeliveryError,
    IncompleteNoticeError,
    InvalidTransitionError,
    NotApprovedError,
    UsageError,
)
from takedown.models import FindingState, Notice, NoticeState, Recipient
from takedown.report.jurisdictions import get_jurisdiction
from takedown.report.review import approve_notice, confirm_sent, edit_notice, reject_notice, send_notice
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import CapturingTransport, sample_finding

SENDER = "takedown@agency.example"


def _drafted(store: SQLiteCaseStore, *, title: str = "A post") -> Notice:
    finding = sample_finding(state=FindingState.DRAFTED)
    store.add_finding(finding)
    notice = Notice(case_id=finding.case_id, finding_id=finding.id, recipient=Recipient(address="abuse@mock.example"),
                    jurisdiction="KR", locale="en", subject=f"Removal request: {title}", body_text="Please remove.",
                    legal=dict.fromkeys(get_jurisdiction("KR").required_fields, "given"))
    store.add_notice(notice)
    return notice


def test_nothing_is_sent_without_an_approval(store: SQLiteCaseStore) -> None:
    notice = _drafted(store)
    transport = CapturingTransport()
    with pytest.raises(NotApprovedError):
        send_notice(store, notice.id, transport=transport, sender=SENDER)
    reject_notice(store, notice.id, by="Officer Kim", reason="wrong recipient")
    with pytest.raises(NotApprovedError):
        send_notice(store, notice.id, transport=transport, sender=SENDER)
    assert transport.messages == []


def test_approve_then_send_once(store: SQLiteCaseStore) -> None:
    notice = _drafted(store)
    with pytest.raises(UsageError):
        approve_notice(store, notice.id, by="  ")
    approved = approve_notice(store, notice.id, by="Officer Kim", note="checked")
    assert approved.approved_by == "Officer Kim" and approved.approved_at is not None
    assert store.get_finding(notice.finding_id).state is FindingState.APPROVED
    transport = CapturingTransport()
    delivery = send_notice(store, notice.id, transport=transport, sender=SENDER)
    again = send_notice(store, notice.id, transport=transport, sender=SENDER)
    assert again == delivery and len(transport.messages) == 1
    assert delivery.approved_by == "Officer Kim"
    assert store.get_notice(notice.id).state is NoticeState.SENT
    assert store.get_finding(notice.finding_id).state is FindingState.SENT
    assert [e.action for e in store.custody_log(notice.id)] == ["approved", "sent"]
    parsed = message_from_bytes(transport.messages[0].raw, policy=default)
    assert parsed["Message-ID"] == delivery.message_id and parsed["To"] == "abuse@mock.example"
    assert b"\r\n" in transport.messages[0].raw, "SMTP line endings"
    with pytest.raises(InvalidTransitionError):
        approve_notice(store, notice.id, by="Officer Kim")


def test_a_page_title_cannot_inject_a_header(store: SQLiteCaseStore) -> None:
    notice = _drafted(store, title="x\r\nBcc: everyone@example.com")
    approve_notice(store, notice.id, by="Officer Kim")
    transport = CapturingTransport()
    send_notice(store, notice.id, transport=transport, sender=SENDER)
    parsed = message_from_bytes(transport.messages[0].raw, policy=default)
    assert parsed["Bcc"] is None and "Bcc: everyone" in parsed["Subject"]


def test_a_transport_failure_can_be_retried(store: SQLiteCaseStore) -> None:
    notice = _drafted(store)
    approve_notice(store, notice.id, by="Officer Kim")
    transport = CapturingTransport(fail_times=1)
    with pytest.raises(DeliveryError, match="told to fail"):
        send_notice(store, notice.id, transport=transport, sender=SENDER)
    send_notice(store, notice.id, transport=transport, sender=SENDER)
    assert len(transport.messages) == 1


class DiesMidSend(CapturingTransport):
    """Hands the message over, then the process 'dies' before takedown can record it."""

    def send(self, message):  # type: ignore[no-untyped-def]
        super().send(message)
        raise KeyboardInterrupt


def test_a_crash_mid_send_never_sends_twice(store: SQLiteCaseStore, tmp_path: Path) -> None:
    notice = _drafted(store)
    approve_notice(store, notice.id, by="Officer Kim")
    transport = DiesMidSend()
    with pytest.raises(KeyboardInterrupt):
        send_notice(store, notice.id, transport=transport, sender=SENDER)
    with pytest.raises(DeliveryError, match="may already have been sent"):
        send_notice(store, notice.id, transport=CapturingTransport(), sender=SENDER)
    delivery = confirm_sent(store, notice.id, by="Officer Kim", sent=True)
    assert delivery is not None and delivery.message_id == transport.messages[0].message_id
    assert store.get_notice(notice.id).state is NoticeState.SENT
    assert len(transport.messages) == 1


def test_an_unconfirmed_send_found_not_sent_can_be_retried(store: SQLiteCaseStore) -> None:
    notice = _drafted(store)
    approve_notice(store, notice.id, by="Officer Kim")
    with pytest.raises(KeyboardInterrupt):
        send_notice(store, notice.id, transport=DiesMidSend(), sender=SENDER)
    assert confirm_sent(store, notice.id, by="Officer Kim", sent=False) is None
    retry = CapturingTransport()
    send_notice(store, notice.id, transport=retry, sender=SENDER)
    assert len(retry.messages) == 1
    with pytest.raises(UsageError):
        confirm_sent(store, notice.id, by="Officer Kim", sent=True)


def test_a_notice_missing_required_fields_cannot_be_approved_until_edited(store: SQLiteCaseStore) -> None:
    notice = _drafted(store)
    incomplete = notice.model_copy(update={"legal": {**notice.legal, "requester_registration": " "}})
    store.update_notice(incomplete, expected=NoticeState.DRAFT)
    with pytest.raises(IncompleteNoticeError) as info:
        approve_notice(store, notice.id, by="Officer Kim")
    assert info.value.missing == ["requester_registration"]
    edit_notice(store, notice.id, by="Officer Kim", legal={"requester_registration": "KR-2026-001"})
    assert approve_notice(store, notice.id, by="Officer Kim").state is NoticeState.APPROVED


def test_editing_an_approved_notice_withdraws_the_approval(store: SQLiteCaseStore) -> None:
    notice = _drafted(store)
    approve_notice(store, notice.id, by="Officer Kim")
    edited = edit_notice(store, notice.id, by="Officer Lee", subject="New\r\nsubject")
    assert edited.state is NoticeState.DRAFT and edited.approved_by is None and edited.subject == "New subject"
    with pytest.raises(NotApprovedError):
        send_notice(store, notice.id, transport=CapturingTransport(), sender=SENDER)
    assert [e.action for e in store.custody_log(notice.id)] == ["approved", "edited"]
