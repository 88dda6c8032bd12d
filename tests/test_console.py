"""The officer console: sign-in, sessions, CSRF, roles, escaping, headers and evidence, attacked through HTTP;
then an officer's sign-in, approval and send in headless Chromium."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from console_request import add_request

from takedown.console.accounts import add_user
from takedown.models import Case, FindingState, Notice, NoticeState
from takedown.report.jurisdictions import missing_fields
from takedown.settings import ConsoleSettings, EvidenceSettings, Settings, StorageSettings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import CapturingTransport, sample_finding

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from takedown.console.app import CSP, SESSION_COOKIE, create_app  # noqa: E402

PASSWORD = "correct horse battery staple"
HOSTILE = '"><img src=x onerror=alert(1)><script>alert(1)</script>'


@dataclass
class Console:
    client: TestClient
    store: SQLiteCaseStore
    notice: Notice
    transport: CapturingTransport


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    yield from open_console(tmp_path, ConsoleSettings())


def open_console(tmp_path: Path, console_settings: ConsoleSettings,
                 settings_changes: dict[str, object] | None = None) -> Iterator[Console]:
    """A console on a store with four users (officers kim and lee, auditor park, admin choi), a case, two findings
    and one draft request; the console's rules are ``console_settings``."""
    store = SQLiteCaseStore(tmp_path / "takedown.sqlite")
    add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim Officer", title="Deletion Support Officer",
             locale="en", by="admin")
    add_user(store, "park", PASSWORD, roles=["auditor"], display_name="Park Auditor", by="admin")
    add_user(store, "lee", PASSWORD, roles=["officer"], display_name="Lee Officer", locale="en", by="admin")
    add_user(store, "choi", PASSWORD, roles=["admin"], display_name="Choi Admin", locale="en", by="setup")
    case = Case(id="case-sample", title=f"Case {HOSTILE}")
    store.put_case(case)
    findings = [sample_finding(case, url=f"https://mock.example/post/{n}", state=FindingState.DRAFTED)
                for n in (1, 2)]
    findings[1] = findings[1].model_copy(update={"candidate": findings[1].candidate.model_copy(
        update={"title": HOSTILE})})
    for finding in findings:
        store.add_finding(finding)
    notice = add_request(store, case, findings, HOSTILE)
    transport = CapturingTransport()
    settings = Settings(storage=StorageSettings(data_dir=tmp_path), console=console_settings)
    app = create_app(settings.model_copy(update=settings_changes or {}), store=store, secure_cookies=False,
                     transport=lambda: transport)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield Console(client=client, store=store, notice=notice, transport=transport)
    store.close()


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


def login(client: TestClient, username: str = "kim", password: str = PASSWORD) -> str:
    page = client.get("/login")
    answer = client.post("/login", data={"username": username, "password": password,
                                         "login_csrf": _hidden(page.text, "login_csrf")})
    assert answer.status_code == 303, answer.text
    return _hidden(client.get("/").text, "csrf")


def test_every_page_and_action_needs_a_session(console: Console) -> None:
    client, notice = console.client, console.notice
    for path in ("/", "/notices", f"/notices/{notice.id}"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
    for action in ("approve", "reject"):
        answer = client.post(f"/notices/{notice.id}/{action}", data={"csrf": "x", "reason": "r"})
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert console.store.get_notice(notice.id).state is NoticeState.DRAFT


def test_every_response_forbids_inline_script_framing_and_caching(console: Console) -> None:
    for answer in (console.client.get("/login"), console.client.get("/"), console.client.get("/static/console.css")):
        assert answer.headers["content-security-policy"] == CSP
        assert "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
    login_page = console.client.get("/login").text
    scripts = re.findall(r"<script[^>]*>[^<]*</script>", login_page)
    assert scripts == ['<script src="/static/console.js" defer></script>'], "our own file only, nothing inline"
    assert login_page.count("<script") == 1 and " style=" not in login_page
    assert re.search(r"\son[a-z]+\s*=", login_page) is None, "no event handler attributes"


def test_a_failed_login_says_nothing_about_why(console: Console) -> None:
    client = console.client
    texts = set()
    for username, password in (("kim", "wrong password 1"), ("nobody", PASSWORD)):
        page = client.get("/login")
        answer = client.post("/login", data={"username": username, "password": password,
                                             "login_csrf": _hidden(page.text, "login_csrf")})
        assert answer.status_code == 401 and SESSION_COOKIE not in answer.cookies
        texts.add(re.sub(r'value="[^"]+"', "", answer.text))
    assert len(texts) == 1
    refused = client.post("/login", data={"username": "kim", "password": PASSWORD})
    assert refused.status_code == 403, "a login form without its token is refused"


def test_login_starts_a_new_session_and_logout_ends_it(console: Console) -> None:
    client = console.client
    client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="127.0.0.1", path="/")
    csrf = login(client)
    token = client.cookies.get(SESSION_COOKIE)
    assert token and token != "planted-by-an-attacker"
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    client.cookies.set(SESSION_COOKIE, token, domain="127.0.0.1", path="/")
    assert client.get("/").status_code == 303, "the old cookie is worthless after logout"


def test_the_session_cookie_is_httponly_and_samesite_strict(console: Console) -> None:
    page = console.client.get("/login")
    answer = console.client.post("/login", data={"username": "kim", "password": PASSWORD,
                                                 "login_csrf": _hidden(page.text, "login_csrf")})
    header = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/" in header


def test_state_changes_need_the_csrf_token(console: Console) -> None:
    client, notice = console.client, console.notice
    csrf = login(client)
    for data in ({}, {"csrf": "forged"}, {"csrf": csrf[:-1]}):
        answer = client.post(f"/notices/{notice.id}/approve", data=data)
        assert answer.status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    assert console.store.get_notice(notice.id).state is NoticeState.DRAFT


def test_an_auditor_sees_but_cannot_approve(console: Console) -> None:
    client, notice = console.client, console.notice
    csrf = login(client, "park")
    page = client.get(f"/notices/{notice.id}")
    assert page.status_code == 200 and 'id="approve"' not in page.text
    answer = client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
    assert answer.status_code == 403 and "officer or supervisor" in answer.text
    assert console.store.get_notice(notice.id).state is NoticeState.DRAFT


def test_an_auditor_sees_what_waits_to_be_sent_but_cannot_send(console: Console) -> None:
    client, notice, store = console.client, console.notice, console.store
    from takedown.report.review import approve_notice

    approve_notice(store, notice.id, by="Kim Officer")
    csrf = login(client, "park")
    page = client.get("/send").text
    assert notice.id in page and 'id="send"' not in page and "disabled" in page
    for path in ("/send", f"/notices/{notice.id}/send"):
        answer = client.post(path, data={"csrf": csrf, "confirm": "yes", "notice": notice.id})
        assert answer.status_code == 403
    assert not console.transport.messages and store.get_delivery(notice.id) is None


def test_an_officer_approves_as_the_signed_in_user(console: Console) -> None:
    client, notice, store = console.client, console.notice, console.store
    csrf = login(client)
    listed = client.get("/notices")
    assert listed.status_code == 200 and all(f"https://mock.example/post/{n}" in listed.text for n in (1, 2))
    page = client.get(f"/notices/{notice.id}").text
    assert 'id="unreviewed"' in page, "the English pack has no native-speaking lawyer's review yet: the page says so"
    answer = client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf, "note": "checked both pages"})
    assert answer.status_code == 303
    approved = store.get_notice(notice.id)
    assert approved.state is NoticeState.APPROVED and approved.approved_by == "Kim Officer"
    event = store.custody_log(notice.id)[-1]
    assert event.action == "approved" and event.actor == "Kim Officer"
    assert event.details["via"] == "console" and event.details["user"] == "kim" and event.details["session"]
    again = client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
    assert again.status_code == 409, "an approved notice is not approved twice"
    assert all(store.get_finding(f).state is FindingState.APPROVED for f in notice.finding_ids)


def test_hostile_text_from_a_site_is_shown_as_text(console: Console) -> None:
    client, notice = console.client, console.notice
    login(client)
    for path in ("/", "/notices", f"/notices/{notice.id}"):
        page = client.get(path).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/notices/{notice.id}").text


def test_unknown_notices_and_states_are_clear_errors(console: Console) -> None:
    login(console.client)
    assert console.client.get("/notices/ntc-nope").status_code == 404
    assert console.client.get("/notices?state=everything").status_code == 400


# -- in a real browser ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


OWN_SCRIPTS_ONLY = ("return Array.from(document.scripts).every(s => s.src.endsWith('/static/console.js') "
                    "&& s.text === '')")
"""JavaScript: every script on the page is the console's own file, with nothing inline."""

ClickAndLoad = Callable[[str, str], None]


def replaced(element: Any) -> Callable[[Any], bool]:
    """A wait condition: ``element`` (a page's ``<html>``) belongs to a page that has been replaced.

    Like Selenium's ``staleness_of``, except that chromedriver sometimes answers for a node of a page that has just
    gone with "Node with given id does not belong to the document" instead of a stale-element error: that is
    replaced too.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def gone(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return gone


@contextmanager
def in_chromium(console: Console | Any) -> Iterator[tuple[Any, str, ClickAndLoad]]:
    """The console (a ``Console``, or the application itself) served by uvicorn on loopback, and headless Chromium
    on it: ``(driver, base URL, click_and_load)``."""
    uvicorn = pytest.importorskip("uvicorn")
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from takedown.sites.chromium import chromium_driver

    port = _free_port()
    app = console.client.app if isinstance(console, Console) else console
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    driver = chromium_driver(EvidenceSettings(), window=(1280, 1000))
    wait = WebDriverWait(driver, 20)

    def click_and_load(by: str, what: str) -> None:
        """Click, then wait until the page it leads to has replaced this one (no stale nodes afterwards).

        chromedriver may report a click whose page navigated away at once as "Node ... does not belong to the
        document": the click happened; what follows checks where it led.
        """
        page = driver.find_element(By.TAG_NAME, "html")
        try:
            driver.find_element(by, what).click()
        except WebDriverException as exc:
            if "does not belong to the document" not in str(exc):
                raise
        wait.until(replaced(page))

    try:
        yield driver, f"http://127.0.0.1:{port}", click_and_load
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_an_officer_signs_in_approves_and_sends_in_chromium(console: Console, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with in_chromium(console) as (driver, base, click_and_load):
        driver.get(f"{base}/notices/{console.notice.id}")
        assert driver.current_url == f"{base}/login", "not signed in: the login page"
        driver.find_element(By.ID, "username").send_keys("kim")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        click_and_load(By.ID, "sign-in")
        assert driver.current_url == f"{base}/" and "Dashboard" in driver.find_element(By.TAG_NAME, "h1").text
        driver.get(f"{base}/notices?state=draft")
        click_and_load(By.PARTIAL_LINK_TEXT, "en/UK")
        assert driver.current_url == f"{base}/notices/{console.notice.id}"
        assert HOSTILE in driver.find_element(By.ID, "body").text, "the hostile text is shown, as text"
        assert driver.execute_script(OWN_SCRIPTS_ONLY), "no script but our own file"
        click_and_load(By.ID, "approve")
        assert driver.current_url == f"{base}/notices?state=draft", "the next request loads: there is none left"
        driver.get(f"{base}/notices/{console.notice.id}")
        assert driver.find_element(By.ID, "state").get_attribute("data-state") == "approved"
        assert console.store.get_notice(console.notice.id).approved_by == "Kim Officer"
        driver.find_element(By.ID, "confirm").click()
        click_and_load(By.ID, "send")
        assert driver.find_element(By.ID, "state").get_attribute("data-state") == "sent"
        assert len(console.transport.messages) == 1
        click_and_load(By.CSS_SELECTOR, "form[action='/logout'] button")
        assert driver.current_url == f"{base}/login"


def _bundle(console: Console, tmp_path: Path) -> str:
    """A sealed bundle for the notice's first finding, with a report, a manifest and a raw media file."""
    import hashlib

    from takedown.models import Artifact, EvidenceBundle

    finding = console.store.get_finding(console.notice.finding_ids[0])
    bundle = EvidenceBundle(case_id=finding.case_id, finding_id=finding.id)
    folder = tmp_path / "evidence" / finding.case_id / bundle.id
    folder.mkdir(parents=True)
    artifacts = []
    for name, role, media_type in (("report.pdf", "report", "application/pdf"),
                                   ("manifest.json", "manifest", "application/json"),
                                   ("media-1.png", "media", "image/png")):
        data = f"synthetic {name}".encode()
        (folder / name).write_bytes(data)
        artifacts.append(Artifact(path=f"{finding.case_id}/{bundle.id}/{name}", sha256=hashlib.sha256(data).hexdigest(),
                                  size=len(data), media_type=media_type, role=role))
    console.store.add_bundle(bundle.model_copy(update={"artifacts": tuple(artifacts)}))
    return bundle.id


def test_evidence_reports_are_served_logged_and_nothing_else(console: Console, tmp_path: Path) -> None:
    client = console.client
    bundle_id = _bundle(console, tmp_path)
    assert client.get(f"/bundles/{bundle_id}/report.pdf").status_code == 303, "signed in only"
    login(client)
    report = client.get(f"/bundles/{bundle_id}/report.pdf")
    assert report.status_code == 200 and report.content == b"synthetic report.pdf"
    assert report.headers["content-type"] == "application/pdf" and report.headers["cache-control"] == "no-store"
    viewed = console.store.custody_log(bundle_id)[-1]
    assert viewed.action == "viewed" and viewed.actor == "Kim Officer" and viewed.details["file"] == "report.pdf"
    for name in ("media-1.png", "..%2F..%2Ftakedown.sqlite", "..", "seal.json", "%2E%2E"):
        assert client.get(f"/bundles/{bundle_id}/{name}").status_code == 404, name
    assert client.get(f"/bundles/{bundle_id}/../../takedown.sqlite").status_code == 404
    (tmp_path / "evidence" / "case-sample" / bundle_id / "manifest.json").write_bytes(b"altered")
    assert client.get(f"/bundles/{bundle_id}/manifest.json").status_code == 409, "altered evidence is not served"


def test_the_audit_log_is_readable_and_colleagues_sign_ins_are_not(console: Console) -> None:
    client, notice = console.client, console.notice
    csrf = login(client)
    client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
    page = client.get(f"/audit/{notice.id}")
    assert page.status_code == 200 and "approved" in page.text and "chain intact" in page.text
    assert client.get("/audit/user:kim").status_code == 200, "one's own sign-ins"
    assert client.get("/audit/user:park").status_code == 403, "an officer does not read a colleague's"
    client.post("/logout", data={"csrf": csrf})
    login(client, "park")
    assert client.get("/audit/user:kim").status_code == 200, "an auditor does"


def test_an_approved_request_is_sent_once_after_confirmation(console: Console) -> None:
    client, notice, store = console.client, console.notice, console.store
    csrf = login(client)
    early = client.post(f"/notices/{notice.id}/send", data={"csrf": csrf, "confirm": "yes"})
    assert early.status_code == 409 and not console.transport.messages, "a draft is never sent"
    client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
    page = client.get(f"/notices/{notice.id}").text
    assert 'id="send"' in page and 'id="approve"' not in page
    unconfirmed = client.post(f"/notices/{notice.id}/send", data={"csrf": csrf})
    assert unconfirmed.status_code == 400 and not console.transport.messages
    assert client.post(f"/notices/{notice.id}/send", data={"confirm": "yes"}).status_code == 403, "CSRF"
    sent = client.post(f"/notices/{notice.id}/send", data={"csrf": csrf, "confirm": "yes"})
    assert sent.status_code == 303 and len(console.transport.messages) == 1
    assert store.get_notice(notice.id).state is NoticeState.SENT
    again = client.post(f"/notices/{notice.id}/send", data={"csrf": csrf, "confirm": "yes"})
    assert again.status_code == 303 and len(console.transport.messages) == 1, "never twice"
    actions = [e.action for e in store.custody_log(notice.id)]
    assert actions[-2:] == ["send_requested", "sent"] and actions.count("send_requested") == 1
    requested = next(e for e in store.custody_log(notice.id) if e.action == "send_requested")
    assert requested.actor == "Kim Officer" and requested.details["user"] == "kim"


def test_a_request_and_its_copies_in_other_languages_are_approved_together(console: Console) -> None:
    client, store = console.client, console.store
    korean = console.notice.model_copy(update={"locale": "ko"})
    store.add_notice(korean)
    csrf = login(client)
    page = client.get(f"/notices/{console.notice.id}").text
    assert 'id="copies"' in page and "ko" in page
    client.post(f"/notices/{console.notice.id}/approve", data={"csrf": csrf, "copies": "all"})
    both = [store.get_notice(n.id) for n in (console.notice, korean)]
    assert [n.state for n in both] == [NoticeState.APPROVED, NoticeState.APPROVED]
    assert all(store.custody_log(n.id)[-1].details["user"] == "kim" for n in both), "each approval recorded"


def test_each_user_reads_the_console_in_their_language(console: Console) -> None:
    client = console.client
    assert "로그인" in client.get("/login").text, "Korean for a visitor whose browser asks for nothing"
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert "Sign in" in english and 'lang="en"' in english
    login(client, "park")  # park reads Korean (the default for a new user)
    page = client.get("/").text
    assert 'lang="ko"' in page and "대시보드" in page and "승인 대기 요청" in page and "Dashboard" not in page
    notice = client.get(f"/notices/{console.notice.id}").text
    assert "법정 기재사항" in notice and "수신자가 받게 될 요청서" in notice
    assert "&lt;script&gt;" in notice, "escaped in Korean as in English"


def test_a_request_being_reviewed_is_held_by_one_officer(console: Console, tmp_path: Path) -> None:
    from takedown.console import leases
    from takedown.models import utcnow

    notice = console.notice
    kim = console.client
    kim_csrf = login(kim)
    assert 'id="approve"' in kim.get(f"/notices/{notice.id}").text, "kim opens it: kim holds it"
    app = kim.app
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as lee:
        lee_csrf = login(lee, "lee")
        page = lee.get(f"/notices/{notice.id}").text
        assert 'id="approve"' not in page and "Kim Officer" not in page and "kim is reviewing" in page
        refused = lee.post(f"/notices/{notice.id}/approve", data={"csrf": lee_csrf})
        assert refused.status_code == 409 and console.store.get_notice(notice.id).state is NoticeState.DRAFT
        assert lee.get("/next").headers["location"] == "/notices?state=draft", "nothing else to take"
        done = kim.post(f"/notices/{notice.id}/approve", data={"csrf": kim_csrf})
        assert done.status_code == 303 and done.headers["location"] == "/next"
        assert leases.lease_holder(console.store, notice.id) is None, "released by the decision"
    later = utcnow() + leases.LEASE + leases.LEASE
    assert leases.take(console.store, ["ntc-x"], "kim") is None
    assert leases.take(console.store, ["ntc-x"], "lee") is not None
    assert leases.take(console.store, ["ntc-x"], "lee", now=later) is None, "a lease nobody renews runs out"


def _review_finding(console: Console) -> str:
    """A finding the policy sent to review, with one synthetic picture in the store's blobs."""
    import hashlib
    import io

    from PIL import Image

    from takedown.models import Decision, Detection, DetectionLabel, ItemKind, Media, MediaKind

    image = Image.new("RGB", (96, 96))
    for x in range(96):
        for y in range(96):
            image.putpixel((x, y), ((x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    sha = console.store.blobs.put(data)
    media = Media(url="https://mock.example/m/3.png", kind=MediaKind.IMAGE, content_type="image/png", size=len(data),
                  sha256=sha, md5=hashlib.md5(data, usedforsecurity=False).hexdigest())
    base = sample_finding(url="https://mock.example/post/3", state=FindingState.JUDGED)
    finding = base.model_copy(update={
        "media": (media,), "decision": Decision.REVIEW, "reasons": (f"keyword in the title {HOSTILE}",),
        "detections": (Detection(detector="keyword", target="text", kind=ItemKind.TEXT, label=DetectionLabel.SUSPECT,
                                 score=0.6, rationale=HOSTILE),)})
    console.store.add_finding(finding)
    return finding.id


def test_a_review_finding_is_judged_from_masked_previews(console: Console) -> None:
    import io

    from PIL import Image

    from takedown.models import Decision

    client, store = console.client, console.store
    finding_id = _review_finding(console)
    finding = store.get_finding(finding_id)
    sha = finding.media[0].sha256
    assert client.get(f"/findings/{finding_id}/preview/{sha}.png").status_code == 303, "signed in only"
    csrf = login(client)
    listed = client.get("/findings").text
    assert finding.candidate.url in listed and "<script>alert" not in listed
    page = client.get(f"/findings/{finding_id}").text
    assert f"/findings/{finding_id}/preview/{sha}.png" in page and "&lt;script&gt;" in page
    preview = client.get(f"/findings/{finding_id}/preview/{sha}.png")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    shown = Image.open(io.BytesIO(preview.content))
    original = store.blobs.read(sha)
    assert preview.content != original and shown.mode == "L", "masked and grey, never the original"
    assert client.get(f"/findings/{finding_id}/preview/{'0' * 64}.png").status_code == 404
    assert client.post(f"/findings/{finding_id}/resolve", data={"decision": "match"}).status_code == 403, "CSRF"
    answer = client.post(f"/findings/{finding_id}/resolve", data={"csrf": csrf, "decision": "match",
                                                                 "reason": "the same room"})
    assert answer.status_code == 303
    resolved = store.get_finding(finding_id)
    assert resolved.decision is Decision.MATCH and "Kim Officer" in resolved.reasons[0]


def test_an_auditor_cannot_settle_a_finding(console: Console) -> None:
    finding_id = _review_finding(console)
    csrf = login(console.client, "park")
    page = console.client.get(f"/findings/{finding_id}").text
    assert 'id="match"' not in page
    refused = console.client.post(f"/findings/{finding_id}/resolve", data={"csrf": csrf, "decision": "clear"})
    assert refused.status_code == 403


def test_the_dashboard_shows_legal_deadlines_and_what_is_overdue(console: Console) -> None:
    from datetime import timedelta

    from takedown.console.views import deadlines
    from takedown.models import utcnow

    client, notice, store = console.client, console.notice, console.store
    csrf = login(client)
    assert "No sent request is waiting" in client.get("/").text
    client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
    client.post(f"/notices/{notice.id}/send", data={"csrf": csrf, "confirm": "yes"})
    (row,) = deadlines(store)
    assert row["id"] == notice.id and row["still_up"] == 2 and not row["overdue"], "UK: 48 hours from sending"
    (late,) = deadlines(store, now=utcnow() + timedelta(hours=49))
    assert late["overdue"]
    page = client.get("/").text
    assert notice.id in page and 'class="overdue"' not in page


def test_only_an_admin_manages_users_in_the_browser(console: Console) -> None:
    from takedown.console.accounts import authenticate
    from takedown.errors import AuthenticationError as Refused

    client, store = console.client, console.store
    csrf = login(client)
    assert client.get("/users").status_code == 403, "an officer does not manage users"
    assert client.post("/users", data={"csrf": csrf, "username": "x1"}).status_code == 403
    client.post("/logout", data={"csrf": csrf})
    csrf = login(client, "choi")
    page = client.get("/users")
    assert page.status_code == 200 and "kim" in page.text and "$argon2" not in page.text
    new = {"username": "yoon", "password": "a long new passphrase", "display_name": f"Yoon {HOSTILE}",
           "role": ["officer", "supervisor"], "locale": "en"}
    assert client.post("/users", data=new).status_code == 403, "CSRF"
    assert client.post("/users", data={**new, "csrf": csrf}).status_code == 303
    yoon = store.get_user("yoon")
    assert {r.value for r in yoon.roles} == {"officer", "supervisor"} and yoon.created_by == "Choi Admin"
    assert "&lt;script&gt;" in client.get("/users").text and "<script>alert" not in client.get("/users").text
    weak = client.post("/users", data={**new, "username": "weak", "password": "short", "csrf": csrf})
    assert weak.status_code == 400 and "at least 12" in weak.text
    assert client.post("/users/choi/disable", data={"csrf": csrf}).status_code == 400, "not oneself"
    assert client.post("/users/yoon/disable", data={"csrf": csrf}).status_code == 303
    with pytest.raises(Refused):
        authenticate(store, "yoon", "a long new passphrase")
    assert client.post("/users/yoon/enable", data={"csrf": csrf}).status_code == 303
    assert client.post("/users/yoon/promote", data={"csrf": csrf}).status_code == 404


def test_a_user_changes_their_own_password_and_signs_in_again(console: Console) -> None:
    client = console.client
    csrf = login(client)
    assert "Change your password" in client.get("/account").text
    wrong = client.post("/account/password", data={"csrf": csrf, "current": "not it at all", "new": "a new long one!",
                                                   "again": "a new long one!"})
    assert wrong.status_code == 401
    differ = client.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "new": "a new long one!",
                                                    "again": "another long one"})
    assert differ.status_code == 400
    done = client.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "new": "a new long one!",
                                                  "again": "a new long one!"})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert client.get("/").status_code == 303, "every session ended"
    login(client, "kim", "a new long one!")
    assert client.get("/").status_code == 200


def test_one_address_trying_many_names_is_throttled(console: Console) -> None:
    from takedown.console.app import ADDRESS_MAX_FAILURES

    client = console.client
    for n in range(ADDRESS_MAX_FAILURES):
        page = client.get("/login")
        answer = client.post("/login", data={"username": f"guess{n}", "password": "wrong password 1",
                                             "login_csrf": _hidden(page.text, "login_csrf")})
        assert answer.status_code == 401
    page = client.get("/login")
    blocked = client.post("/login", data={"username": "kim", "password": PASSWORD,
                                          "login_csrf": _hidden(page.text, "login_csrf")})
    assert blocked.status_code == 429 and SESSION_COOKIE not in blocked.cookies, "even the right password waits"
    assert console.store.get_user("kim").failed_logins == 0, "kim's account itself was never tried"


def test_every_string_of_every_page_has_its_korean_translation() -> None:
    """Officers read the console in Korean by default: a new English string without its Korean is a failure."""
    import io
    from importlib import resources

    from babel.messages.pofile import read_po
    from jinja2.ext import babel_extract

    package = resources.files("takedown.console")
    catalog = read_po(io.StringIO((package / "locales" / "ko.po").read_text(encoding="utf-8")), locale="ko")
    translated = {m.id for m in catalog if m.id and m.string}
    options = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}
    missing = []
    templates = [t for t in (package / "templates").iterdir() if t.name.endswith(".html")]
    assert len(templates) > 10
    for template in templates:
        with template.open("rb") as source:
            for _line, _function, message, _comments in babel_extract(source, ("_", "gettext"), [], options):
                for text in message if isinstance(message, tuple) else (message,):
                    if text and text not in translated:
                        missing.append(f"{template.name}: {text}")
    assert missing == []


def test_an_officer_edits_a_request_and_what_changed_is_recorded(console: Console) -> None:
    client, notice, store = console.client, console.notice, console.store
    park = login(client, "park")
    assert client.post(f"/notices/{notice.id}/edit", data={"csrf": park, "subject": "x"}).status_code == 403
    client.post("/logout", data={"csrf": park})
    csrf = login(client)
    page = client.get(f"/notices/{notice.id}").text
    assert 'id="edit-form"' in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.split('id="edit-form"')[1]
    assert client.post(f"/notices/{notice.id}/edit", data={"subject": "x"}).status_code == 403, "CSRF"
    field = sorted(notice.legal)[0]
    body = notice.body_text + "Our case officer can be reached at +82-2-000-0000.\n"
    answer = client.post(f"/notices/{notice.id}/edit", data={
        "csrf": csrf, "subject": notice.subject, f"legal.{field}": "changed value", "body": body.replace("\n", "\r\n")})
    assert answer.status_code == 303
    edited = store.get_notice(notice.id)
    assert edited.body_text == body and edited.subject == notice.subject
    assert edited.legal_edits == {field: "changed value"}
    assert field in missing_fields(edited), "the officer's own text does not state the new value: it is missing"
    assert edited.body_html is not None and "+82-2-000-0000" in edited.body_html, "the HTML part says the new text"
    refused = client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
    assert refused.status_code == 409 and field in refused.text
    body += "changed value\ngiven\n"  # the officer's text states every legal field again
    client.post(f"/notices/{notice.id}/edit", data={"csrf": csrf, "subject": notice.subject, "body": body})
    assert store.get_notice(notice.id).legal[field] == "changed value"
    first, event = store.custody_log(notice.id)[-2:]
    assert first.action == "edited" and first.details["user"] == "kim" and first.details["fields"] == "body_text, legal"
    assert event.action == "edited" and event.details["fields"] == "body_text"
    unchanged = client.post(f"/notices/{notice.id}/edit", data={"csrf": csrf, "subject": edited.subject})
    assert unchanged.status_code == 303 and store.custody_log(notice.id)[-1].seq == event.seq, "nothing to record"
    final = client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
    assert final.status_code == 303, (final.text[-2000:], store.get_notice(notice.id).legal)
    assert store.get_notice(notice.id).state is NoticeState.APPROVED


def test_only_an_admin_reads_the_settings_and_secrets_never_show(tmp_path: Path) -> None:
    from pydantic import SecretStr

    from takedown.settings import DetectSettings, NetworkSettings, SmtpSettings

    secrets_given = {"smtp": SmtpSettings(password=SecretStr("smtp-pass-4e1f")),
                     "network": NetworkSettings(cookies={"p.example": {"session": "cookie-9a2b"}},
                                               proxy="http://u:proxy-7c3d@p.example"),
                     "detect": DetectSettings(options={"llm_judge": {"api_key": "judge-key-5b6e", "model": "m"}})}
    opened = open_console(tmp_path, ConsoleSettings(), settings_changes=secrets_given)
    console = next(opened)
    try:
        login(console.client)
        assert console.client.get("/settings").status_code == 403, "an officer"
        console.client.post("/logout", data={"csrf": _hidden(console.client.get("/").text, "csrf")})
        login(console.client, "choi")
        page = console.client.get("/settings")
        assert page.status_code == 200 and 'id="section-smtp"' in page.text and "(set, hidden)" in page.text
        for secret in ("smtp-pass-4e1f", "cookie-9a2b", "proxy-7c3d", "judge-key-5b6e"):
            assert secret not in page.text
        assert "llm_judge" in page.text and "starttls" in page.text, "what is not secret is shown"
    finally:
        opened.close()
