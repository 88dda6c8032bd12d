"""A property: whatever officers and the system do, in any order, no unapproved notice is ever sent, or sent twice.

It holds for both ways a notice leaves: email through a transport, and a site's web form through its adapter
(including submissions that fail, and ones the site may have taken without confirming), and for notices that list
several pages: a form that takes one URL files each page once, from the notice's one approval.
"""

from __future__ import annotations

import asyncio

from hypothesis import example, given, settings
from hypothesis import strategies as st

from takedown.errors import DeliveryError, InvalidTransitionError, NotApprovedError, UsageError
from takedown.models import FindingState, Notice, NoticeItem, NoticeState, Recipient
from takedown.report.jurisdictions import get_jurisdiction
from takedown.report.review import approve_notice, confirm_sent, edit_notice, reject_notice, send_notice, submit_notice
from takedown.testing import CapturingFormReporter, CapturingTransport, memory_store, sample_finding

LEGAL = dict.fromkeys(get_jurisdiction("UK").required_fields, "given")
FORM = "https://mock.example/report"
FORM_ONE_URL = "https://mock.example/report-one"
RECIPIENTS = [Recipient(address=f"abuse{n}@mock.example") for n in range(2)] + [
    Recipient(address=FORM, channel="web_form"), Recipient(address=FORM_ONE_URL, channel="web_form"),
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
@example([("approve", 3), ("submit_unknown", 3), ("submit", 3), ("confirm", 3), ("submit_failing", 3),
          ("edit", 3), ("submit", 3), ("approve", 3), ("submit", 3), ("submit", 3)])  # page by page, resumed
def test_no_sequence_sends_an_unapproved_notice(ops: list[tuple[str, int]]) -> None:
    store = memory_store()
    findings = [sample_finding(url=f"https://mock.example/post/{n}", state=FindingState.DRAFTED) for n in (1, 2, 3)]
    for finding in findings:
        store.add_finding(finding)
    items = tuple(NoticeItem(finding_id=f.id, url=f.candidate.url) for f in findings)
    body = "Please remove: " + " ".join(item.url for item in items) + " given"  # states every legal field
    notices = []
    for recipient in RECIPIENTS:
        notice = Notice(case_id=findings[0].case_id, finding_id=findings[0].id, items=items, locale="en",
                        jurisdiction="UK", recipient=recipient, subject="s", body_text=body,
                        legal={**LEGAL, "urls": " ".join(item.url for item in items)})
        store.add_notice(notice)
        notices.append(notice.id)
    transport = CapturingTransport()
    form = CapturingFormReporter(FORM)
    one_url = CapturingFormReporter(FORM_ONE_URL, takes_lists=False)
    for op, index in ops:
        notice_id = notices[index]
        before = store.get_notice(notice_id)
        sent_before = len(transport.messages) + len(form.submissions) + len(one_url.submissions)
        try:
            if op == "approve":
                approve_notice(store, notice_id, by="Officer")
            elif op == "reject":
                reject_notice(store, notice_id, by="Officer", reason="no")
            elif op == "edit":
                edit_notice(store, notice_id, by="Officer", body_text=f"edited. {body}")
            elif op == "confirm":
                confirm_sent(store, notice_id, by="Officer", sent=True)
            elif op.startswith("send"):
                sender = CapturingTransport(fail_times=1) if op == "send_failing" else transport
                send_notice(store, notice_id, transport=sender, sender="t@agency.example")
            else:
                site = one_url if before.recipient.address == FORM_ONE_URL else form
                site.fail_times = int(op == "submit_failing")
                site.unknown_times = int(op == "submit_unknown")
                asyncio.run(submit_notice(store, notice_id, site=site))
        except (NotApprovedError, InvalidTransitionError, UsageError, DeliveryError):
            pass
        finally:
            form.fail_times = form.unknown_times = one_url.fail_times = one_url.unknown_times = 0
        if len(transport.messages) + len(form.submissions) + len(one_url.submissions) > sent_before:
            assert before.state is NoticeState.APPROVED, "only an approved notice goes out"
    emailed = [m.notice_id for m in transport.messages]
    filed = [s.notice_id for s in form.submissions]
    pages = [(s.notice_id, s.fields["urls"]) for s in one_url.submissions]
    out = emailed + filed + [notice_id for notice_id, _ in pages]
    assert len(emailed + filed) == len(set(emailed + filed)), "no notice is sent twice, by either channel"
    assert len(pages) == len(set(pages)), "no page of a notice is filed twice"
    assert all(urls in {i.url for i in items} for _, urls in pages), "each submission names one page"
    assert all(store.get_notice(i).recipient.channel == "email" for i in emailed)
    assert all(store.get_notice(i).recipient.address == FORM for i in filed)
    for notice_id in set(out):
        delivery = store.get_delivery(notice_id)
        filed_pages = {urls for n, urls in pages if n == notice_id}
        if delivery is None:  # the site's answer left it unclear (an officer settles it), or pages are left
            assert store.get_checkpoint(f"sending:{notice_id}") or (filed_pages and len(filed_pages) < len(items))
            continue
        assert store.get_notice(notice_id).state is NoticeState.SENT
        assert delivery.approved_by == "Officer"
        if notice_id == notices[3]:
            assert filed_pages == {i.url for i in items}, "sent only when every page is filed"
    for notice_id in set(notices) - set(out):
        assert store.get_notice(notice_id).state is not NoticeState.SENT
    for finding in findings:  # a page is sent once a notice listing it is
        sent = any(store.get_notice(n).state is NoticeState.SENT for n in notices)
        assert (store.get_finding(finding.id).state is FindingState.SENT) == sent
    store.close()
