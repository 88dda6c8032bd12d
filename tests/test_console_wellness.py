"""Wellness in the console: masked by default, unblur deliberate, single-use, logged and counted against a daily
budget with a soft stop; officers' own stricter rules; the supervisor's view of the team."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from takedown.console.wellness import exposure, take_grant, unblur, wellness_of
from takedown.errors import NotFoundError, PermissionDeniedError
from takedown.models import NoticeState, utcnow
from takedown.settings import ConsoleSettings, Settings

pytest.importorskip("fastapi")
from test_console import PASSWORD, Console, _review_finding, in_chromium, login, open_console, replaced

RULES = ConsoleSettings(unblur=True, unblur_seconds=5, daily_unblurs=2, daily_seconds=100)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    yield from open_console(tmp_path, RULES)


def _unblur(console: Console, finding_id: str, sha: str, csrf: str, **extra: str) -> str:
    """Unblur through the page's form; the URL of the picture the page then shows."""
    answer = console.client.post(f"/findings/{finding_id}/unblur", data={"csrf": csrf, "media": sha, **extra})
    assert answer.status_code == 303, answer.text
    page = console.client.get(answer.headers["location"]).text
    assert 'class="unblurred"' in page and 'data-seconds="5"' in page
    return _hidden_src(page)


def _hidden_src(page: str) -> str:
    start = page.rindex('src="', 0, page.index('class="unblurred"')) + len('src="')
    return page[start:page.index('"', start)].replace("&amp;", "&")


def test_an_unblur_is_deliberate_logged_and_shows_the_picture_once(console: Console) -> None:
    client, store = console.client, console.store
    finding_id = _review_finding(console)
    finding = store.get_finding(finding_id)
    sha = finding.media[0].sha256
    csrf = login(client)
    page = client.get(f"/findings/{finding_id}").text
    assert 'class="unblurred"' not in page and 'data-key="u"' in page, "masked until the officer unblurs"
    assert client.post(f"/findings/{finding_id}/unblur", data={"media": sha}).status_code == 403, "CSRF"
    assert not [e for e in store.custody_log("user:kim") if e.action == "unblurred"]
    src = _unblur(console, finding_id, sha, csrf)
    shown = client.get(src)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    picture = Image.open(io.BytesIO(shown.content))
    assert picture.mode == "L" and picture.size == (96, 96), "greyscale, unmasked, no larger than the original"
    assert client.get(src).status_code == 404, "one look per unblur"
    logged = [e for e in store.custody_log("user:kim") if e.action == "unblurred"]
    assert len(logged) == 1 and logged[0].details["media"] == sha and logged[0].details["seconds"] == "5"
    assert logged[0].details["finding"] == finding_id and logged[0].details["session"]
    on_case = [e for e in store.custody_log(finding.case_id) if e.action == "media_unblurred"]
    assert len(on_case) == 1 and on_case[0].actor == "Kim Officer"


def test_the_budget_is_a_soft_stop_and_going_on_is_logged(console: Console) -> None:
    client, store = console.client, console.store
    finding_id = _review_finding(console)
    sha = store.get_finding(finding_id).media[0].sha256
    csrf = login(client)
    for _ in range(RULES.daily_unblurs):
        _unblur(console, finding_id, sha, csrf)
    page = client.get(f"/findings/{finding_id}").text
    assert 'id="over-budget"' in page and 'name="go_on"' in page
    stopped = client.post(f"/findings/{finding_id}/unblur", data={"csrf": csrf, "media": sha})
    assert stopped.status_code == 403 and "budget" in stopped.text
    _unblur(console, finding_id, sha, csrf, go_on="yes")
    logged = [e for e in store.custody_log("user:kim") if e.action == "unblurred"]
    assert [e.details["over_budget"] for e in logged] == ["false", "false", "true"]
    assert "Today: 3 of 2 unblurs, 15 of 100 seconds." in client.get("/account").text


def test_others_cannot_use_a_grant_and_auditors_cannot_unblur(console: Console) -> None:
    store = console.store
    finding_id = _review_finding(console)
    sha = store.get_finding(finding_id).media[0].sha256
    csrf = login(console.client)
    src = _unblur(console, finding_id, sha, csrf)
    console.client.post("/logout", data={"csrf": csrf})
    park_csrf = login(console.client, "park")
    assert console.client.get(src).status_code == 404, "a grant is its officer's own"
    refused = console.client.post(f"/findings/{finding_id}/unblur", data={"csrf": park_csrf, "media": sha})
    assert refused.status_code == 403
    assert 'class="unblur"' not in console.client.get(f"/findings/{finding_id}").text


def test_a_supervisor_sees_the_team_and_an_officer_does_not(console: Console) -> None:
    from takedown.console.accounts import add_user

    add_user(console.store, "han", "correct horse battery staple", roles=["supervisor"], display_name="Han Sup",
             locale="en", by="admin")
    finding_id = _review_finding(console)
    sha = console.store.get_finding(finding_id).media[0].sha256
    csrf = login(console.client)
    _unblur(console, finding_id, sha, csrf)
    assert console.client.get("/wellness").status_code == 403
    console.client.post("/logout", data={"csrf": csrf})
    login(console.client, "han", "correct horse battery staple")
    team = console.client.get("/wellness")
    assert team.status_code == 200
    row = team.text.split("<code>kim</code>")[1].split("</tr>")[0]
    assert "1 / 2" in row and "5 / 100" in row


def test_an_officer_chooses_stricter_rules_for_themselves(console: Console) -> None:
    client, store = console.client, console.store
    csrf = login(client)
    saved = client.post("/account/wellness", data={"csrf": csrf, "unblur_seconds": "3", "daily_unblurs": "50",
                                                   "greyscale": "off"})
    assert saved.status_code == 303
    kim = store.get_user("kim")
    rules = wellness_of(RULES, kim)
    assert (rules.unblur_seconds, rules.daily_unblurs, rules.greyscale) == (3, 2, False), "never looser than the org"
    assert client.post("/account/wellness", data={"csrf": csrf, "unblur_seconds": "900"}).status_code == 400
    assert client.post("/account/wellness", data={"csrf": csrf, "daily_seconds": "-1"}).status_code == 400
    client.post("/account/wellness", data={"csrf": csrf, "unblur": "off"})
    finding_id = _review_finding(console)
    sha = store.get_finding(finding_id).media[0].sha256
    assert client.post(f"/findings/{finding_id}/unblur", data={"csrf": csrf, "media": sha}).status_code == 403
    assert any(e.action == "wellness_changed" for e in store.custody_log("user:kim"))


def test_unblurring_is_off_unless_the_organisation_allows_it(console: Console) -> None:
    settings = Settings(console=ConsoleSettings())
    finding_id = _review_finding(console)
    sha = console.store.get_finding(finding_id).media[0].sha256
    kim = console.store.get_user("kim")
    with pytest.raises(PermissionDeniedError):
        unblur(console.store, settings, kim, finding_id, sha, context={})
    assert exposure(console.store, settings, kim).unblurs == 0


def test_a_grant_runs_out_and_is_for_one_picture(console: Console) -> None:
    settings = Settings(console=RULES)
    store = console.store
    finding_id = _review_finding(console)
    sha = store.get_finding(finding_id).media[0].sha256
    kim = store.get_user("kim")
    with pytest.raises(NotFoundError):
        unblur(store, settings, kim, finding_id, "0" * 64, context={})
    late = unblur(store, settings, kim, finding_id, sha, context={})
    with pytest.raises(NotFoundError):
        take_grant(store, late, kim, finding_id, sha, now=utcnow() + timedelta(seconds=6))
    other = unblur(store, settings, kim, finding_id, sha, context={})
    with pytest.raises(NotFoundError):
        take_grant(store, other, kim, finding_id, "f" * 64)
    with pytest.raises(NotFoundError):  # used up by the failed try
        take_grant(store, other, kim, finding_id, sha)
    fresh = unblur(store, settings, kim, finding_id, sha, context={}, go_on=True)
    take_grant(store, fresh, kim, finding_id, sha)
    yesterday = utcnow() - timedelta(days=1)
    assert exposure(store, settings, kim).unblurs == 3
    assert exposure(store, settings, kim, now=yesterday).unblurs == 0, "a day counts that day's unblurs only"


@pytest.mark.slow
def test_in_chromium_keys_unblur_for_a_few_seconds_then_decide(console: Console) -> None:
    """The keyboard: u unblurs the first picture, which the page masks again when its seconds are up; r goes to
    the reason, Escape leaves it, m decides match."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from takedown.models import Decision

    finding_id = _review_finding(console)
    with in_chromium(console) as (driver, base, click_and_load):
        driver.get(f"{base}/login")
        driver.find_element(By.ID, "username").send_keys("kim")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        click_and_load(By.ID, "sign-in")
        driver.get(f"{base}/findings/{finding_id}")
        assert not driver.find_elements(By.ID, "unblurred"), "masked until asked"
        page = driver.find_element(By.TAG_NAME, "html")
        ActionChains(driver).send_keys("u").perform()
        WebDriverWait(driver, 20).until(replaced(page))
        shown = driver.find_element(By.ID, "unblurred")
        assert "/unblurred/" in (shown.get_attribute("src") or "")
        assert driver.execute_script("return document.getElementById('unblurred').naturalWidth") == 96
        WebDriverWait(driver, 15).until(
            lambda d: d.find_element(By.ID, "unblurred").get_attribute("class") == "remasked")
        assert "/preview/" in (driver.find_element(By.ID, "unblurred").get_attribute("src") or "")
        assert len([e for e in console.store.custody_log("user:kim") if e.action == "unblurred"]) == 1
        ActionChains(driver).send_keys("r").perform()
        ActionChains(driver).send_keys("the same room").perform()
        assert driver.find_element(By.ID, "reason").get_attribute("value") == "the same room", "typing is not a key"
        ActionChains(driver).send_keys("\ue00c").perform()  # Escape: leave the field
        page = driver.find_element(By.TAG_NAME, "html")
        ActionChains(driver).send_keys("m").perform()
        WebDriverWait(driver, 20).until(replaced(page))
    decided = console.store.get_finding(finding_id)
    assert decided.decision is Decision.MATCH and "the same room" in decided.reasons[0]


def test_under_the_four_eyes_rule_a_second_officer_approves(tmp_path: Path) -> None:
    """``[console] four_eyes``: Kim's approval is a first approval; Kim cannot give the second, and the queue does
    not hand it back to Kim; Lee's approval approves it."""
    with contextlib.closing(open_console(tmp_path, ConsoleSettings(four_eyes=("UK",)))) as opened:
        console = next(opened)
        notice, store = console.notice, console.store
        csrf = login(console.client)
        first = console.client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
        assert first.status_code == 303 and store.get_notice(notice.id).state is NoticeState.DRAFT
        page = console.client.get(f"/notices/{notice.id}").text
        assert 'id="first-approval"' in page and "Kim Officer" in page and 'id="approve"' not in page
        assert console.client.get("/next").headers["location"] == "/notices?state=draft", "not back to Kim"
        again = console.client.post(f"/notices/{notice.id}/approve", data={"csrf": csrf})
        assert again.status_code == 403 and store.get_notice(notice.id).state is NoticeState.DRAFT
        console.client.post("/logout", data={"csrf": csrf})
        lee = login(console.client, "lee")
        assert console.client.get("/next").headers["location"] == f"/notices/{notice.id}"
        second = console.client.post(f"/notices/{notice.id}/approve", data={"csrf": lee})
        assert second.status_code == 303
        approved = store.get_notice(notice.id)
        assert approved.state is NoticeState.APPROVED and approved.approved_by == "Lee Officer"
        assert store.custody_log(notice.id)[-1].details["first_approval"] == "kim"
