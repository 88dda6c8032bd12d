"""Take the screenshots of docs/console.md: the demo case in the officer console, in headless Chromium.

    .venv/bin/python scripts/console_screenshots.py [--out docs/img]

Runs the demo (synthetic media, no live capture) into a temporary folder, adds an officer (also a supervisor and
an administrator, to show every screen), serves the console on loopback (unblurring allowed, e-mails to an outbox
folder) and saves console-login.png, -dashboard.png, -cases.png, -case.png, -case-new.png, -requests.png,
-notice.png, -finding.png, -unblurred.png, -bundle.png, -send.png, -sent.png, -followup.png, -wellness.png,
-account.png and -users.png.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from takedown.console.accounts import add_user
from takedown.console.app import create_app
from takedown.demo.run import DEMO_CASE_ID, demo_settings, run_demo
from takedown.models import NoticeState
from takedown.report.review import approve_notice
from takedown.report.transports import OutboxTransport
from takedown.settings import ConsoleSettings, EvidenceSettings, TsaSettings
from takedown.sites.chromium import chromium_driver
from takedown.store.sqlite import SQLiteCaseStore

PASSWORD = "a long demo passphrase"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="takedown-shots-") as tmp:
        out = Path(tmp) / "demo"
        run_demo(out, full_evidence=False)
        store = SQLiteCaseStore(out / "takedown.sqlite")
        add_user(store, "kim", PASSWORD, roles=["officer", "supervisor", "admin"], display_name="Kim Min-ji",
                 title="Deletion Support Officer", by="setup")
        add_user(store, "park", PASSWORD, roles=["auditor"], display_name="Park Seo-yeon", title="Auditor",
                 by="setup")
        # As `takedown console --config demo-out/takedown.toml` runs: the demo TSA's certificates trusted too.
        settings = demo_settings(out).model_copy(update={
            "console": ConsoleSettings(unblur=True),
            "tsa": TsaSettings(certificate=out / "tsa" / "tsa.pem", ca_file=out / "tsa" / "ca.pem"),
        })
        app = create_app(settings, store=store, transport=lambda: OutboxTransport(out / "outbox"))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8791, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = "http://127.0.0.1:8791"
        driver = chromium_driver(EvidenceSettings(), window=(1280, 1100))
        wait = WebDriverWait(driver, 20)
        try:
            driver.get(f"{base}/login")
            driver.find_element(By.ID, "username").send_keys("kim")
            driver.save_screenshot(str(args.out / "console-login.png"))
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.ID, "sign-in").click()
            wait.until(ec.url_to_be(f"{base}/"))
            driver.save_screenshot(str(args.out / "console-dashboard.png"))
            driver.get(f"{base}/notices?state=draft")
            driver.save_screenshot(str(args.out / "console-requests.png"))
            driver.find_element(By.PARTIAL_LINK_TEXT, "ko/KR").click()
            wait.until(ec.presence_of_element_located((By.ID, "body")))
            driver.save_screenshot(str(args.out / "console-notice.png"))
            bundle = driver.find_element(By.CSS_SELECTOR, "ol.items a[href^='/bundles/bnd-']").get_attribute("href")
            driver.get(f"{base}/findings")
            driver.find_element(By.CSS_SELECTOR, "td a.url").click()
            wait.until(ec.presence_of_element_located((By.ID, "resolve-form")))
            driver.save_screenshot(str(args.out / "console-finding.png"))
            driver.find_element(By.CSS_SELECTOR, "button.unblur").click()
            wait.until(ec.presence_of_element_located((By.ID, "unblurred")))
            driver.save_screenshot(str(args.out / "console-unblurred.png"))
            driver.get(str(bundle))
            driver.save_screenshot(str(args.out / "console-bundle.png"))
            driver.get(f"{base}/cases")
            driver.save_screenshot(str(args.out / "console-cases.png"))
            driver.get(f"{base}/cases/{DEMO_CASE_ID}")
            driver.save_screenshot(str(args.out / "console-case.png"))
            driver.get(f"{base}/cases/new")
            driver.save_screenshot(str(args.out / "console-case-new.png"))
            for notice in store.list_notices(DEMO_CASE_ID, states=[NoticeState.DRAFT]):
                if notice.recipient.channel == "email":  # the form needs the demo site, which has stopped
                    approve_notice(store, notice.id, by="Kim Min-ji")
            driver.get(f"{base}/send")
            driver.save_screenshot(str(args.out / "console-send.png"))
            driver.find_element(By.ID, "confirm").click()
            driver.find_element(By.ID, "send").click()
            wait.until(ec.presence_of_element_located((By.ID, "outcomes")))
            driver.save_screenshot(str(args.out / "console-sent.png"))
            driver.get(f"{base}/followup")
            driver.save_screenshot(str(args.out / "console-followup.png"))
            driver.get(f"{base}/wellness")
            driver.save_screenshot(str(args.out / "console-wellness.png"))
            driver.get(f"{base}/account")
            driver.save_screenshot(str(args.out / "console-account.png"))
            driver.get(f"{base}/users")
            driver.save_screenshot(str(args.out / "console-users.png"))
        finally:
            driver.quit()
            server.should_exit = True
            thread.join(timeout=10)
            store.close()
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
