"""An officer's whole day in the console, in headless Chromium, with real parts: the demo site on loopback, the
agency's pipeline, a real SMTP server (aiosmtpd), the site's web form. Nothing here is done through Python but
setting the stage (the accounts) and checking what happened."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("aiosmtpd")
import httpx
from test_console import PASSWORD, in_chromium, replaced
from test_smtp import Recorder, smtp_server

from takedown.console.accounts import add_user
from takedown.console.app import create_app
from takedown.demo.run import demo_site_file
from takedown.demo.site import DemoSite
from takedown.models import Decision, NoticeState
from takedown.settings import (
    AgencySettings,
    ConsoleSettings,
    EvidenceSettings,
    NetworkSettings,
    ReportSettings,
    Settings,
    SitesSettings,
    SmtpSettings,
    StorageSettings,
)
from takedown.store.sqlite import SQLiteCaseStore


def _settings(tmp_path: Path, site: DemoSite, smtp_port: int) -> Settings:
    sites = tmp_path / "sites"
    sites.mkdir()
    shutil.copy(demo_site_file(), sites / "demo-sns.toml")
    return Settings(
        agency=AgencySettings(name="Demo Victim Support Center", registration_number="DEMO-0001",
                              email="takedown@agency.example", phone="+82-2-000-0000"),
        storage=StorageSettings(data_dir=tmp_path / "data"),
        smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, security="none", sender="takedown@agency.example",
                          timeout_s=10),
        network=NetworkSettings(allow_loopback=True),
        evidence=EvidenceSettings(screenshot=False),
        report=ReportSettings(rdap=False),
        sites=SitesSettings(dir=sites, vars={"base_url": site.base_url}),
        console=ConsoleSettings(unblur=True),
    )


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, name
    return found.group(1)


def _http_login(base: str, username: str) -> tuple[httpx.Client, str]:
    """Another officer's own session on the running console, over plain HTTP."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=20)
    page = client.get("/login").text
    client.post("/login", data={"username": username, "password": PASSWORD, "login_csrf": _hidden(page, "login_csrf")})
    return client, _hidden(client.get("/").text, "csrf")


@pytest.mark.slow
def test_an_officers_day_in_the_browser(demo_site: DemoSite, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    recorder = Recorder()
    before = len(demo_site.reports_received)
    with smtp_server(recorder) as smtp:
        settings = _settings(tmp_path, demo_site, smtp.port)
        store = SQLiteCaseStore(settings.storage.data_dir / "takedown.sqlite")
        for name, role in (("kim", "officer"), ("lee", "officer"), ("park", "auditor")):
            add_user(store, name, PASSWORD, roles=[role], display_name=f"{name.title()} {role.title()}",
                     title="Deletion Support Officer", locale="en", by="admin")
        app = create_app(settings, store=store, secure_cookies=False)
        try:
            with in_chromium(app) as (driver, base, click_and_load):
                wait = WebDriverWait(driver, 60)

                def sign_in(username: str) -> None:
                    driver.get(f"{base}/login")
                    driver.find_element(By.ID, "username").send_keys(username)
                    driver.find_element(By.ID, "password").send_keys(PASSWORD)
                    click_and_load(By.ID, "sign-in")

                def scan_and_wait() -> None:
                    click_and_load(By.ID, "scan-now")
                    deadline = time.monotonic() + 240
                    while not driver.find_elements(By.ID, "scan-done"):
                        assert not driver.find_elements(By.ID, "scan-failed"), driver.page_source
                        assert time.monotonic() < deadline, "the scan did not finish"
                        time.sleep(1)
                        driver.refresh()

                # 1. a new case from the reference media, then a scan
                sign_in("kim")
                driver.get(f"{base}/cases")
                click_and_load(By.ID, "new-case")
                driver.find_element(By.ID, "title").send_keys("Demo victim (synthetic)")
                files = "\n".join(str(p) for p in demo_site.reference_files())
                driver.find_element(By.ID, "references").send_keys(files)
                driver.find_element(By.ID, "keywords").send_keys("minji_cam")
                click_and_load(By.ID, "create-case")
                case_id = driver.current_url.rsplit("/", 1)[1]
                assert store.get_case(case_id).references, "hashes only, from the uploads"
                scan_and_wait()

                # 2. the findings for an officer: unblur one picture (logged), decide it a match, clear the rest
                reviews = store.list_findings(case_id, decision=Decision.REVIEW)
                assert reviews
                for n, finding in enumerate(reviews):
                    driver.get(f"{base}/findings/{finding.id}")
                    if n == 0 and finding.media:
                        page = driver.find_element(By.TAG_NAME, "html")
                        ActionChains(driver).send_keys("u").perform()
                        wait.until(replaced(page))
                        assert driver.find_elements(By.ID, "unblurred")
                    driver.find_element(By.ID, "reason").send_keys("checked in the console")
                    click_and_load(By.ID, "match" if n == 0 else "clear")
                unblurs = [e for e in store.custody_log("user:kim") if e.action == "unblurred"]
                assert len(unblurs) == (1 if reviews[0].media else 0)
                assert store.get_finding(reviews[0].id).decision is Decision.MATCH
                driver.get(f"{base}/cases/{case_id}")
                scan_and_wait()  # the new match gets its evidence, and joins the requests

                # 3. the requests: edit one, approve each with its copies; Lee cannot take the one Kim holds
                click_and_load(By.LINK_TEXT, "Next")
                first = driver.current_url.rsplit("/", 1)[1]
                lee, lee_csrf = _http_login(base, "lee")
                try:
                    refused = lee.post(f"/notices/{first}/approve", data={"csrf": lee_csrf})
                finally:
                    lee.close()
                assert refused.status_code == 409 and "kim is reviewing" in refused.text
                driver.find_element(By.CSS_SELECTOR, "#edit summary").click()
                phone = driver.find_element(By.NAME, "legal.contact_phone")
                phone.clear()
                phone.send_keys("+82-2-111-2222")
                click_and_load(By.ID, "save-edit")
                assert "+82-2-111-2222" in driver.find_element(By.CSS_SELECTOR, "table.checklist").text
                approved = 0
                while "/notices/ntc-" in driver.current_url:
                    click_and_load(By.ID, "approve")
                    approved += 1
                    assert approved < 10
                drafts = store.list_notices(case_id, states=[NoticeState.DRAFT])
                assert drafts == [], [n.id for n in drafts]

                # 4. send everything approved, after one confirmation: e-mails to SMTP, the form to the site
                driver.get(f"{base}/send")
                driver.find_element(By.ID, "confirm").click()
                click_and_load(By.ID, "send")
                assert "not sent:" not in driver.page_source
                emails = [n for n in store.list_notices(case_id, states=[NoticeState.SENT])
                          if n.recipient.channel == "email"]
                assert len(recorder.received) == len(emails) > 0
                assert store.list_notices(case_id, states=[NoticeState.DRAFT, NoticeState.APPROVED]) == []
                assert len(demo_site.reports_received) > before, "the web-form request reached the site"

                # 5. follow-up, and the audit log
                driver.get(f"{base}/followup")
                driver.find_element(By.ID, "everything").click()
                click_and_load(By.ID, "followup-now")
                deadline = time.monotonic() + 120
                while not driver.find_elements(By.ID, "round-done"):
                    assert time.monotonic() < deadline, "the follow-up round did not finish"
                    time.sleep(1)
                    driver.refresh()
                driver.get(f"{base}/audit/{case_id}")
                log = driver.find_element(By.TAG_NAME, "main").text
                assert "case_created" in log and "scan_started" in log
                assert "media_unblurred" in log or not reviews[0].media

                # 6. an auditor sees everything and can act on nothing
                click_and_load(By.CSS_SELECTOR, "form[action='/logout'] button")
                sign_in("park")
                driver.get(f"{base}/notices/{emails[0].id}")
                assert not driver.find_elements(By.ID, "approve") and not driver.find_elements(By.ID, "send")
                driver.get(f"{base}/cases/{case_id}")
                assert not driver.find_elements(By.ID, "scan-now")
        finally:
            store.close()
    assert {r for received in recorder.received for r in received.rcpt_tos} == {"abuse@demo-sns.example"}
