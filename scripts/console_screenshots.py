"""Take the screenshots of docs/console.md: the demo case in the officer console, in headless Chromium.

    .venv/bin/python scripts/console_screenshots.py [--out docs/img]

Runs the demo (synthetic media, no live capture) into a temporary folder, adds an officer, serves the console on
loopback and saves console-login.png, -dashboard.png, -requests.png, -notice.png, -finding.png and -users.png.
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
from takedown.demo.run import demo_settings, run_demo
from takedown.settings import EvidenceSettings
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
        add_user(store, "kim", PASSWORD, roles=["officer", "admin"], display_name="Kim Min-ji",
                 title="Deletion Support Officer", by="setup")
        add_user(store, "park", PASSWORD, roles=["auditor"], display_name="Park Seo-yeon", title="Auditor",
                 by="setup")
        server = uvicorn.Server(uvicorn.Config(create_app(demo_settings(out), store=store), host="127.0.0.1",
                                               port=8791, log_level="warning"))
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
            driver.get(f"{base}/findings")
            driver.find_element(By.CSS_SELECTOR, "td a.url").click()
            wait.until(ec.presence_of_element_located((By.ID, "resolve-form")))
            driver.save_screenshot(str(args.out / "console-finding.png"))
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
