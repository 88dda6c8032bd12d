"""The four-eyes rule: a request it covers is approved only by two different officers."""

from __future__ import annotations

import pytest

from takedown.errors import IncompleteNoticeError, InvalidTransitionError, PermissionDeniedError
from takedown.models import Case, Notice, NoticeState, Recipient
from takedown.report.countersign import approve_with_rule, first_approval, needs_countersign
from takedown.report.jurisdictions import get_jurisdiction
from takedown.report.review import edit_notice
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import sample_finding


def _notice(store: SQLiteCaseStore, *, jurisdiction: str = "UK", kind: str = "initial") -> Notice:
    case = Case(id="case-four-eyes", title="synthetic")
    store.put_case(case)
    finding = sample_finding(case)
    store.add_finding(finding)
    legal = {**dict.fromkeys(get_jurisdiction(jurisdiction).required_fields, "given"), "urls": finding.candidate.url}
    notice = Notice(case_id=case.id, finding_id=finding.id, recipient=Recipient(address="abuse@host.example"),
                    jurisdiction=jurisdiction, locale="en", subject="Removal request", legal=legal, kind=kind,
                    body_text=f"Please remove {finding.candidate.url}")
    store.add_notice(notice)
    return notice


@pytest.mark.parametrize(("rule", "jurisdiction", "kind", "needed"), [
    ((), "UK", "initial", False),
    (("*",), "UK", "initial", True),
    (("kr",), "KR", "initial", True),
    (("KR",), "UK", "initial", False),
    (("reminder",), "UK", "reminder", True),
    (("reminder", " "), "UK", "initial", False),
])
def test_the_rule_names_jurisdictions_kinds_or_everything(
    store: SQLiteCaseStore, rule: tuple[str, ...], jurisdiction: str, kind: str, needed: bool
) -> None:
    assert needs_countersign(_notice(store, jurisdiction=jurisdiction, kind=kind), rule) is needed


def test_two_different_officers_approve_and_the_second_names_the_first(store: SQLiteCaseStore) -> None:
    notice = _notice(store)
    held = approve_with_rule(store, notice.id, rule=("*",), username="kim", by="Kim Officer",
                             context={"via": "test"})
    assert held.state is NoticeState.DRAFT and store.get_notice(notice.id).state is NoticeState.DRAFT
    first = first_approval(store, notice.id)
    assert first is not None and (first.username, first.display_name) == ("kim", "Kim Officer")
    with pytest.raises(PermissionDeniedError, match="second, different officer"):
        approve_with_rule(store, notice.id, rule=("*",), username="kim", by="Someone Else")
    approved = approve_with_rule(store, notice.id, rule=("*",), username="lee", by="Lee Officer", note="checked")
    assert approved.state is NoticeState.APPROVED and approved.approved_by == "Lee Officer"
    event = store.custody_log(notice.id)[-1]
    assert event.action == "approved" and event.details["first_approval"] == "kim"
    assert "countersigns the approval of Kim Officer" in event.details["note"] and "checked" in event.details["note"]


def test_an_edit_after_the_first_approval_needs_two_approvals_again(store: SQLiteCaseStore) -> None:
    notice = _notice(store)
    approve_with_rule(store, notice.id, rule=("*",), username="kim", by="Kim Officer")
    edit_notice(store, notice.id, by="Kim Officer", subject="Removal request (corrected)")
    assert first_approval(store, notice.id) is None
    again = approve_with_rule(store, notice.id, rule=("*",), username="lee", by="Lee Officer")
    assert again.state is NoticeState.DRAFT, "Lee's is now the first approval"


def test_without_the_rule_one_approval_approves_and_incomplete_requests_are_refused(store: SQLiteCaseStore) -> None:
    notice = _notice(store)
    incomplete = Notice(**{**notice.model_dump(exclude={"id"}), "legal": {},
                           "recipient": Recipient(address="abuse@other.example")})
    store.add_notice(incomplete)
    assert approve_with_rule(store, notice.id, rule=("KR",), username="kim", by="Kim").state is NoticeState.APPROVED
    with pytest.raises(InvalidTransitionError):
        approve_with_rule(store, notice.id, rule=("*",), username="lee", by="Lee")
    with pytest.raises(IncompleteNoticeError):
        approve_with_rule(store, incomplete.id, rule=("*",), username="kim", by="Kim")
    assert first_approval(store, incomplete.id) is None
