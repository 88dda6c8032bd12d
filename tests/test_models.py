from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from takedown.errors import InvalidTransitionError
from takedown.models import (
    FINDING_TRANSITIONS,
    NOTICE_TRANSITIONS,
    Candidate,
    Case,
    Finding,
    FindingState,
    Notice,
    NoticeState,
    Recipient,
    make_id,
)
from takedown.testing import sample_finding


def test_ids_are_deterministic_and_distinct() -> None:
    assert make_id("x", "a", "b") == make_id("x", "a", "b")
    assert make_id("x", "a", "b") != make_id("x", "ab")  # parts are separated, not concatenated
    one = Candidate(case_id="c", site="s", url="https://a.example/1")
    again = Candidate(case_id="c", site="s", url="https://a.example/1", title="found later")
    assert one.id == again.id
    assert Finding(case_id="c", candidate=one).id == Finding(case_id="c", candidate=again).id
    assert Finding(case_id="other", candidate=one).id != Finding(case_id="c", candidate=one).id


@pytest.mark.parametrize("current", list(FindingState))
@pytest.mark.parametrize("target", list(FindingState))
def test_finding_moves_only_along_the_table(current: FindingState, target: FindingState) -> None:
    finding = sample_finding(state=FindingState.FOUND).model_copy(update={"state": current})
    if target in FINDING_TRANSITIONS[current]:
        moved = finding.advance(target, by="officer", note="why")
        assert moved.state is target
        assert moved.history[-1].from_state == current.value
        assert moved.history[-1].to_state == target.value
        assert moved.history[-1].by == "officer"
        assert finding.state is current, "advance returns a copy"
    else:
        with pytest.raises(InvalidTransitionError) as info:
            finding.advance(target)
        assert current.value in str(info.value) and target.value in str(info.value)


def test_the_flow_reaches_removed_and_stops() -> None:
    finding = sample_finding(state=FindingState.FOUND)
    for state in ("judged", "evidenced", "drafted", "approved", "sent", "renotified", "escalated", "removed"):
        finding = finding.advance(FindingState(state))
    assert len(finding.history) == 8
    with pytest.raises(InvalidTransitionError, match="final state"):
        finding.advance(FindingState.SENT)


def test_notice_moves_and_sent_is_final() -> None:
    notice = Notice(case_id="c", finding_id="f", recipient=Recipient(address="a@b.example"), jurisdiction="KR",
                    locale="en", subject="s", body_text="b")
    assert notice.advance(NoticeState.DRAFT, by="o", body_text="edited").body_text == "edited"
    sent = notice.advance(NoticeState.APPROVED, by="o").advance(NoticeState.SENT, by="smtp")
    for target in NoticeState:
        assert target not in NOTICE_TRANSITIONS[NoticeState.SENT]
        with pytest.raises(InvalidTransitionError):
            sent.advance(target, by="o")
    with pytest.raises(InvalidTransitionError):
        notice.advance(NoticeState.SENT, by="o")  # never straight from draft to sent


def test_naive_datetimes_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Case(title="t", created_at=datetime(2026, 1, 1))
    with pytest.raises(ValidationError):
        Case.model_validate({"title": "t", "surprise": 1})


def test_models_round_trip_through_json() -> None:
    finding = sample_finding()
    assert Finding.model_validate_json(finding.model_dump_json()) == finding
