"""A property: whatever officers and the system do, in any order, no unapproved notice is ever sent, or sent twice."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.errors import DeliveryError, InvalidTransitionError, NotApprovedError, UsageError
from takedown.models import FindingState, Notice, NoticeState, Recipient
from takedown.report.jurisdictions import get_jurisdiction
from takedown.report.review import approve_notice, edit_notice, reject_notice, send_notice
from takedown.testing import CapturingTransport, memory_store, sample_finding

LEGAL = dict.fromkeys(get_jurisdiction("UK").required_fields, "given")
operations = st.lists(
    st.tuples(st.sampled_from(["approve", "reject", "edit", "send", "send_failing"]), st.integers(0, 2)),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_no_sequence_sends_an_unapproved_notice(ops: list[tuple[str, int]]) -> None:
    store = memory_store()
    finding = sample_finding(state=FindingState.DRAFTED)
    store.add_finding(finding)
    notices = []
    for n in range(3):
        notice = Notice(case_id=finding.case_id, finding_id=finding.id, locale="en", jurisdiction="UK",
                        recipient=Recipient(address=f"abuse{n}@mock.example"), subject="s", body_text="b",
                        legal=LEGAL)
        store.add_notice(notice)
        notices.append(notice.id)
    transport = CapturingTransport()
    for op, index in ops:
        notice_id = notices[index]
        before = store.get_notice(notice_id)
        try:
            if op == "approve":
                approve_notice(store, notice_id, by="Officer")
            elif op == "reject":
                reject_notice(store, notice_id, by="Officer", reason="no")
            elif op == "edit":
                edit_notice(store, notice_id, by="Officer", body_text="edited")
            else:
                sender = CapturingTransport(fail_times=1) if op == "send_failing" else transport
                sent_before = len(transport.messages)
                send_notice(store, notice_id, transport=sender, sender="t@agency.example")
                if sender is transport and len(transport.messages) > sent_before:
                    assert before.state is NoticeState.APPROVED, "only an approved notice goes out"
        except (NotApprovedError, InvalidTransitionError, UsageError, DeliveryError):
            pass
    sent_ids = [m.notice_id for m in transport.messages]
    assert len(sent_ids) == len(set(sent_ids)), "no notice is sent twice"
    for notice_id in sent_ids:
        notice = store.get_notice(notice_id)
        delivery = store.get_delivery(notice_id)
        assert notice.state is NoticeState.SENT and delivery is not None
        assert delivery.approved_by == "Officer"
    for notice_id in set(notices) - set(sent_ids):
        assert store.get_notice(notice_id).state is not NoticeState.SENT
    store.close()
