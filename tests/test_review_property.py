"""A property: whatever officers and the system do, in any order, no unapproved notice is ever sent, or sent twice.

It holds for both ways a notice leaves: email through a transport, and a site's web form through its adapter
(including submissions that fail, and ones the site may have taken without confirming).
"""

from __future__ import annotations

import asyncio

from hypothesis import example, given, settings
from hypothesis import strategies as st

from takedown.errors import DeliveryError, InvalidTransitionError, NotApprovedError, UsageError
from takedown.models import FindingState, Notice, NoticeState, Recipient
from takedown.report.jurisdictions import get_jurisdiction
from takedown.report.review import approve_notice, confirm_sent, edit_notice, reject_notice, send_notice, submit_notice
from takedown.testing import CapturingFormReporter, CapturingTransport, memory_store, sample_finding

LEGAL = dict.fromkeys(get_jurisdiction("UK").required_fields, "given")
FORM = "https://mock.example/report"
RECIPIENTS = [Recipient(address=f"abuse{n}@mock.example") for n in range(2)] + [
    Recipient(address=FORM, channel="web_form")
]
operations = st.lists(
    st.tuples(
        st.sampled_from(["approve", "reject", "edit", "send", "send_failing", "submit", "submit_failing",
                         "submit_unknown", "confirm"]),
        st.integers(0, len(RECIPIENTS) - 1),
    ),
    min_size=3,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(operations)
@example([("approve", 2), ("submit_unknown", 2), ("submit", 2), ("send", 2)])  # filed, unconfirmed, tried again
@example([("approve", 0), ("submit", 0), ("send_failing", 0), ("send", 0), ("send", 0)])
@example([("submit", 2), ("approve", 2), ("edit", 2), ("submit", 2), ("approve", 2), ("submit_failing", 2),
          ("submit", 2), ("confirm", 2), ("submit", 2)])
def test_no_sequence_sends_an_unapproved_notice(ops: list[tuple[str, int]]) -> None:
    store = memory_store()
    finding = sample_finding(state=FindingState.DRAFTED)
    store.add_finding(finding)
    notices = []
    for recipient in RECIPIENTS:
        notice = Notice(case_id=finding.case_id, finding_id=finding.id, locale="en", jurisdiction="UK",
                        recipient=recipient, subject="s", body_text="b", legal=LEGAL)
        store.add_notice(notice)
        notices.append(notice.id)
    transport = CapturingTransport()
    form = CapturingFormReporter(FORM)
    for op, index in ops:
        notice_id = notices[index]
        before = store.get_notice(notice_id)
        sent_before = len(transport.messages) + len(form.submissions)
        try:
            if op == "approve":
                approve_notice(store, notice_id, by="Officer")
            elif op == "reject":
                reject_notice(store, notice_id, by="Officer", reason="no")
            elif op == "edit":
                edit_notice(store, notice_id, by="Officer", body_text="edited")
            elif op == "confirm":
                confirm_sent(store, notice_id, by="Officer", sent=True)
            elif op.startswith("send"):
                sender = CapturingTransport(fail_times=1) if op == "send_failing" else transport
                send_notice(store, notice_id, transport=sender, sender="t@agency.example")
            else:
                form.fail_times = int(op == "submit_failing")
                form.unknown_times = int(op == "submit_unknown")
                asyncio.run(submit_notice(store, notice_id, site=form))
        except (NotApprovedError, InvalidTransitionError, UsageError, DeliveryError):
            pass
        finally:
            form.fail_times = form.unknown_times = 0
        if len(transport.messages) + len(form.submissions) > sent_before:
            assert before.state is NoticeState.APPROVED, "only an approved notice goes out"
    emailed = [m.notice_id for m in transport.messages]
    filed = [s.notice_id for s in form.submissions]
    out = emailed + filed
    assert len(out) == len(set(out)), "no notice is sent twice, by either channel"
    assert all(store.get_notice(i).recipient.channel == "email" for i in emailed)
    assert all(store.get_notice(i).recipient.channel == "web_form" for i in filed)
    for notice_id in out:
        delivery = store.get_delivery(notice_id)
        if delivery is None:  # filed while the site's answer left it unclear: the intent waits for an officer
            assert notice_id in filed and store.get_checkpoint(f"sending:{notice_id}")
            continue
        assert store.get_notice(notice_id).state is NoticeState.SENT
        assert delivery.approved_by == "Officer"
    for notice_id in set(notices) - set(out):
        assert store.get_notice(notice_id).state is not NoticeState.SENT
    store.close()
