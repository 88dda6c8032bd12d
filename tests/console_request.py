"""The request the console tests decide on: one UK notice listing two pages, with hostile text in its subject and
body (shared by the page tests and the API tests)."""

from __future__ import annotations

from collections.abc import Sequence

from takedown.models import Case, Finding, Notice, NoticeItem, Recipient
from takedown.report.jurisdictions import get_jurisdiction
from takedown.store.base import CaseStore


def add_request(store: CaseStore, case: Case, findings: Sequence[Finding], hostile: str) -> Notice:
    """Store a draft UK request to abuse@mock.example listing ``findings``, whose subject and body carry ``hostile``;
    every legal field is "given" (not stated in the body)."""
    legal = {**dict.fromkeys(get_jurisdiction("UK").required_fields, "given"),
             "urls": " ".join(f.candidate.url for f in findings)}
    notice = Notice(case_id=case.id, finding_id=findings[0].id,
                    items=tuple(NoticeItem(finding_id=f.id, url=f.candidate.url) for f in findings),
                    recipient=Recipient(address="abuse@mock.example"), jurisdiction="UK", locale="en",
                    subject=f"Removal request {hostile}", legal=legal,
                    body_text="Please remove:\n" + "\n".join(f.candidate.url for f in findings) + f"\n{hostile}\n")
    store.add_notice(notice)
    return notice
