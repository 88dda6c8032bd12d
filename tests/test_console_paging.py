"""The console's lists a page at a time, its counts from the store, and the legal deadlines of the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from takedown.console import views
from takedown.console.views import PER_PAGE, dashboard_view, deadlines, findings_view, notices_view
from takedown.models import (
    Decision,
    Delivery,
    Finding,
    FindingState,
    Notice,
    NoticeItem,
    NoticeState,
    Recipient,
    utcnow,
)
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import memory_store, sample_finding

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteCaseStore]:
    opened = memory_store(tmp_path / "blobs")
    yield opened
    opened.close()


def _finding(store: SQLiteCaseStore, n: int, **changes: object) -> Finding:
    finding = sample_finding(url=f"https://mock.example/post/{n}").model_copy(update=changes)
    store.add_finding(finding)
    return finding


def _notice(store: SQLiteCaseStore, finding: Finding, locale: str, *, jurisdiction: str = "KR",
            state: NoticeState = NoticeState.DRAFT) -> Notice:
    notice = Notice(case_id=finding.case_id, finding_id=finding.id, recipient=Recipient(address="abuse@mock.example"),
                    items=(NoticeItem(finding_id=finding.id, url=finding.candidate.url),), jurisdiction=jurisdiction,
                    locale=locale, subject=f"Removal {finding.candidate.url} {HOSTILE}",
                    body_text=finding.candidate.url, state=state)
    store.add_notice(notice)
    return notice


def test_a_request_is_shown_once_with_all_its_copies_on_the_page_of_its_first(store: SQLiteCaseStore) -> None:
    one, two, three, four = (_finding(store, n) for n in range(1, 5))
    order = [(one, "ko"), (one, "en"), (two, "ko"), (three, "ko"), (two, "en"), (three, "en"), (four, "ko")]
    ids = {(f.id, locale): _notice(store, f, locale).id for f, locale in order}

    def page(number: int) -> tuple[list[list[str]], dict[str, object]]:
        view = notices_view(store, "draft", page=number, per_page=3)
        return [[c["id"] for c in r["copies"]] for r in view["requests"]], view

    first, view = page(1)
    assert (view["total"], view["page"], view["pages"]) == (7, 1, 3)
    assert first == [[ids[one.id, "ko"], ids[one.id, "en"]], [ids[two.id, "ko"], ids[two.id, "en"]]], \
        "the second request's English copy is on page 2, but it is shown here, with its first copy"
    assert page(2)[0] == [[ids[three.id, "ko"], ids[three.id, "en"]]], "not the second request again"
    assert page(3)[0] == [[ids[four.id, "ko"]]]
    assert page(99)[1]["page"] == 3 and page(0)[1]["page"] == 1, "a page out of range shows the nearest"
    assert notices_view(store, "sent") == {"requests": [], "total": 0, "page": 1, "pages": 1}


def test_only_the_copies_in_the_listed_state_are_shown(store: SQLiteCaseStore) -> None:
    finding = _finding(store, 1)
    _notice(store, finding, "ko")
    approved = _notice(store, finding, "en", state=NoticeState.APPROVED)
    (request,) = notices_view(store, "approved")["requests"]
    assert [c["id"] for c in request["copies"]] == [approved.id]
    assert [i["url"] for i in request["items"]] == [finding.candidate.url]


def test_the_review_queue_is_paged_and_counted(store: SQLiteCaseStore) -> None:
    waiting = [_finding(store, n, decision=Decision.REVIEW) for n in range(5)]
    _finding(store, 9)  # a match: not waiting
    pages = [findings_view(store, page=n, per_page=2) for n in (1, 2, 3)]
    assert [[f["id"] for f in p["findings"]] for p in pages] == [[f.id for f in waiting[i:i + 2]] for i in (0, 2, 4)]
    assert {(p["total"], p["pages"]) for p in pages} == {(5, 3)}


def _sent(store: SQLiteCaseStore, finding: Finding, locale: str, jurisdiction: str, hours_ago: float) -> Notice:
    notice = _notice(store, finding, locale, jurisdiction=jurisdiction, state=NoticeState.SENT)
    at = utcnow() - timedelta(hours=hours_ago)
    store.add_delivery(Delivery(notice_id=notice.id, transport="capture", message_id=f"<{notice.id}@x>",
                                approved_by="Officer", approved_at=at, sent_at=at))
    return notice


def test_deadlines_are_the_soonest_due_of_sent_requests_with_pages_still_up(
    store: SQLiteCaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = _finding(store, 1, state=FindingState.SENT)
    escalated = _finding(store, 2, state=FindingState.ESCALATED)
    removed = _finding(store, 3, state=FindingState.REMOVED)
    uk = _sent(store, up, "en", "UK", 10)  # 48 hours: due in 38
    kr = _sent(store, escalated, "ko", "KR", 20)  # 24 hours: due in 4, though sent after the UK one
    late = _sent(store, up, "ko", "KR", 30)  # overdue by 6
    _sent(store, removed, "ja", "KR", 40)  # its page is down: no deadline
    rows = deadlines(store)
    assert [(r["id"], r["overdue"], r["still_up"]) for r in rows] == [(late.id, True, 1), (kr.id, False, 1),
                                                                      (uk.id, False, 1)]
    assert [r["id"] for r in deadlines(store, limit=2)] == [late.id, kr.id]
    monkeypatch.setattr(views, "DEADLINES_SHOWN", 2)
    view = dashboard_view(store)
    assert [r["id"] for r in view["deadlines"]] == [late.id, kr.id] and view["deadlines_total"] == 3
    counts = {q["label"]: q["count"] for q in view["queues"]}
    assert counts == {"Requests to approve": 0, "Approved, not sent": 0, "Sent": 4, "Findings to review": 0}


def test_the_pages_link_to_each_other_and_stay_escaped(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from takedown.console.accounts import add_user
    from takedown.console.app import create_app
    from takedown.settings import Settings, StorageSettings

    store = SQLiteCaseStore(tmp_path / "takedown.sqlite")
    add_user(store, "kim", "correct horse battery staple", roles=["officer"], display_name="Kim", locale="en",
             by="admin")
    findings = [_finding(store, n, decision=Decision.REVIEW) for n in range(PER_PAGE + 3)]
    notices = [_notice(store, f, "en") for f in findings]
    app = create_app(Settings(storage=StorageSettings(data_dir=tmp_path)), store=store, secure_cookies=False)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        page = client.get("/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
        assert token is not None
        client.post("/login", data={"username": "kim", "password": "correct horse battery staple",
                                    "login_csrf": token.group(1)})
        first = client.get("/notices?state=draft").text
        assert notices[0].id in first and notices[PER_PAGE].id not in first
        assert 'href="/notices?state=draft&amp;page=2" rel="next"' in first and 'rel="prev"' not in first
        assert f"{PER_PAGE + 3} notices in all" in first and "Page 1 of 2" in first
        second = client.get("/notices?state=draft&page=2").text
        assert notices[PER_PAGE].id in second and notices[0].id not in second and "Page 2 of 2" in second
        assert 'href="/notices?state=draft&amp;page=1" rel="prev"' in second and 'rel="next"' not in second
        assert HOSTILE not in second and "&lt;script&gt;" in second
        assert client.get("/notices?state=draft&page=7").status_code == 200
        queue = client.get("/findings?page=2").text
        assert findings[PER_PAGE].candidate.url in queue and findings[0].candidate.url not in queue
        assert f"{PER_PAGE + 3} wait for review" in queue and 'href="/findings?page=1" rel="prev"' in queue
        assert f">{PER_PAGE + 3}<" in client.get("/").text, "the dashboard counts them all"
    store.close()


def test_next_looks_past_the_first_page_for_a_request_nobody_holds(store: SQLiteCaseStore, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from takedown.console import leases
    from takedown.console.accounts import add_user
    from takedown.console.app import create_app
    from takedown.settings import Settings, StorageSettings

    notices = [_notice(store, _finding(store, n), "en") for n in range(PER_PAGE + 3)]
    for notice in notices[:PER_PAGE + 1]:  # every request of the first page, and one more, held by Lee
        assert leases.take(store, [notice.id], "lee") is None
    add_user(store, "kim", "correct horse battery staple", roles=["officer"], display_name="Kim", by="admin")
    app = create_app(Settings(storage=StorageSettings(data_dir=tmp_path)), store=store, secure_cookies=False)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        page = client.get("/login").text
        token = re.search(r'name="login_csrf" value="([^"]+)"', page)
        assert token
        client.post("/login", data={"username": "kim", "password": "correct horse battery staple",
                                    "login_csrf": token.group(1)})
        assert client.get("/next").headers["location"] == f"/notices/{notices[PER_PAGE + 1].id}"


def test_the_send_screen_lists_approved_requests_a_page_at_a_time(store: SQLiteCaseStore) -> None:
    from takedown.console.views import sendable_view

    approved = [_notice(store, _finding(store, n), "en", state=NoticeState.APPROVED) for n in range(PER_PAGE + 3)]
    _notice(store, _finding(store, 999), "en")  # a draft is never on it
    first, second = sendable_view(store), sendable_view(store, page=2)
    assert (first["total"], first["pages"], second["page"]) == (PER_PAGE + 3, 2, 2)
    assert [r["id"] for r in first["ready"] + second["ready"]] == [n.id for n in approved]
    assert sendable_view(store, page=99)["page"] == 2
