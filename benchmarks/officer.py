"""Officer benchmark: the demo case decided and sent in the console in headless Chromium, against the same decisions
through the ``takedown`` CLI in the same run; then the console's page times in a store of 10,000 findings and
50,000 notices.

    python benchmarks/officer.py [--quick] [--out officer.json] [--plot officer.png] [--before before.json]

**The journey.** The demo (``takedown.demo.run.run_demo`` without live capture: the loopback demo site, synthetic
media) leaves 3 findings waiting for review and 3 draft notices (a Korean e-mail with its English copy, and a
request through the site's web form). Its folder is copied once per path, before anything is decided:

- **console**: the console as ``takedown console --transport outbox`` serves it (``create_app`` on the copy's
  settings, uvicorn on 127.0.0.1, e-mails to an outbox folder, web forms through the demo's site file), and an
  officer in headless Chromium signs in, settles each finding waiting for review (the findings list, the finding,
  "match" or "clear"), approves each draft request (the request's copies in other languages with it, as the page
  offers; the next request loads after each approval), then sends each approved request: opens it from the Send
  screen, ticks the confirmation box and clicks send. Every element clicked counts as a click and every character
  typed as a keystroke; the seconds run from the login page to the last send's page. The same decisions are also
  taken with the Send screen's one confirmation for every approved request ("send screen"), for comparison.
- **cli, the peer**: the same decisions as ``takedown`` commands, each a process, timed from the first to the
  last: ``findings`` (the review queue), ``resolve`` for each finding, ``review`` (the drafts), then for each
  request ``review ID`` (read it) and ``approve ID COPY...``, then ``send ID COPY...`` for each request (outbox
  transport, the same site file for the web form).

The decisions come from the demo's ground truth (a post that holds no copy of the reference media is cleared). Both
paths must end the same way: every finding settled as decided, every notice sent once, 2 e-mails in the outbox and
the web form filed once per page. Anything else makes the script exit 1.

**The pages.** A store is filled through the store API with synthetic records (``--quick``: 1,000 findings and
5,000 notices; otherwise 10,000 and 50,000), the console serves it on 127.0.0.1, and a signed-in officer's
client (httpx) loads every page kind an officer opens, in rounds: the dashboard, the request lists of each state (and
the last page of the sent ones), a request, the findings to review, a finding, a custody log, the account, the Send
screen, the cases, a case and the follow-up page. The p95 is over every page load of every kind.

The last line printed is machine-readable:
``RESULT speedup_vs_cli=X clicks=N seconds=S p95_page_ms=P cli_seconds=C`` (``speedup_vs_cli`` = C / S). The goals:
the demo case in at most 20 clicks and under 60 s of machine time; every page under 200 ms at the 95th percentile
with 10,000 findings and 50,000 notices in the store.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from takedown import __version__
from takedown.models import (
    Case,
    Decision,
    Delivery,
    FindingState,
    Notice,
    NoticeItem,
    NoticeState,
    Recipient,
    RecipientKind,
    StateChange,
    utcnow,
)
from takedown.report.grouping import request_key
from takedown.report.jurisdictions import get_jurisdiction
from takedown.settings import Settings, SitesSettings, StorageSettings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import sample_finding

GOAL_CLICKS = 20
GOAL_SECONDS = 60.0
GOAL_P95_MS = 200.0
FULL_SIZE = (10_000, 50_000)
QUICK_SIZE = (1_000, 5_000)
FULL_ROUNDS = 30
QUICK_ROUNDS = 5
OFFICER = "Kim Officer"
USERNAME = "kim"
PASSWORD = "a long benchmark passphrase"
COMMAND_TIMEOUT_S = 300
INSTALL = "pip install 'takedown[console,browser]' httpx, and Debian's chromium and chromium-driver " \
          "(apt install chromium chromium-driver)"


class BenchmarkError(RuntimeError):
    """A path did not end as it must, or a page did not answer as it should."""


def _machine() -> dict[str, str]:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": str(os.cpu_count()),
            "takedown": __version__}


def require_peers() -> None:
    """Everything both paths need, or an error naming how to install it."""
    missing = [name for name in ("fastapi", "uvicorn", "httpx", "selenium", "argon2")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise BenchmarkError(f"missing {', '.join(missing)}: {INSTALL}")
    script = takedown_command()
    if not script:
        raise BenchmarkError("the takedown command (the CLI peer) is missing: pip install -e . in this venv")


def takedown_command() -> list[str]:
    """The venv's ``takedown`` script beside this interpreter, else ``python -m takedown``."""
    script = Path(sys.executable).parent / ("takedown.exe" if os.name == "nt" else "takedown")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "takedown"]


def clean_env() -> dict[str, str]:
    """This environment less ``TAKEDOWN_*`` (the settings file alone configures) and ``PYTHONDONTWRITEBYTECODE``
    (an installed takedown runs from its bytecode cache)."""
    return {k: v for k, v in os.environ.items()
            if not k.upper().startswith("TAKEDOWN_") and k != "PYTHONDONTWRITEBYTECODE"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn on 127.0.0.1 from a thread; yield its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name="officer-bench-console")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise BenchmarkError("the console did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- the journey -------------------------------------------------------------------------------------------------


@dataclass
class Demo:
    """The demo's result, copied once per path before anything is decided."""

    folder: Path
    port: int
    decisions: dict[str, Decision]
    """finding id -> what the officer decides (the demo's ground truth)."""
    urls: dict[str, str]
    """finding URL -> finding id, for the findings waiting for review."""
    requests: list[list[str]]
    """The draft requests, oldest first: each the ids of its copies, first copy first."""
    form_pages: int
    """The pages the web-form requests list: the demo's form takes one URL, so one submission each."""
    seconds: float


def prepare_demo(folder: Path) -> Demo:
    """Run the demo into ``folder/demo`` and read what waits for the officer; nothing here is timed."""
    from takedown.demo import DemoSite
    from takedown.demo.run import DEMO_CASE_ID, run_demo

    started = time.perf_counter()
    out = folder / "demo"
    result = run_demo(out, full_evidence=False)
    if result.errors:
        raise BenchmarkError(f"the demo run failed: {result.errors}")
    with SQLiteCaseStore(out / "takedown.sqlite") as store:
        port = int(store.get_checkpoint("demo.port") or 0)
        waiting = store.list_findings(DEMO_CASE_ID, states=[FindingState.JUDGED], decision=Decision.REVIEW)
        drafts = store.list_notices(DEMO_CASE_ID, states=[NoticeState.DRAFT])
    with DemoSite(out / "demo-site", port=port) as site:
        copies = {site.url_for(p.id) for p in site.manifest.matching_posts()}
    decisions = {f.id: Decision.MATCH if f.candidate.url in copies else Decision.CLEAR for f in waiting}
    if Decision.MATCH in decisions.values():  # a match is drafted at once by the CLI, at the next scan by the console
        raise BenchmarkError("a finding waiting for review holds a copy: the two paths would draft at different times")
    grouped: dict[tuple[str, ...], list[str]] = {}
    for notice in drafts:
        grouped.setdefault(request_key(notice), []).append(notice.id)
    if not decisions or not grouped:
        raise BenchmarkError(f"the demo left {len(decisions)} findings to review and {len(drafts)} drafts")
    return Demo(folder=out, port=port, decisions=decisions, urls={f.candidate.url: f.id for f in waiting},
                requests=list(grouped.values()), seconds=time.perf_counter() - started,
                form_pages=sum(len(n.finding_ids) for n in drafts if n.recipient.channel == "web_form"))


def copy_demo(demo: Demo, to: Path, sites: Path) -> Path:
    """A copy of the demo's folder with its own ``takedown.toml`` (data there, the demo's site file in ``sites``)."""
    from takedown.demo.run import write_demo_config

    shutil.copytree(demo.folder, to, ignore=shutil.ignore_patterns("demo-site"))
    config = write_demo_config(to)
    config.write_text(config.read_text(encoding="utf-8") + f'\n[sites]\ndir = {json.dumps(str(sites))}\n',
                      encoding="utf-8")
    return config


@dataclass
class Journey:
    """What one path took."""

    clicks: int = 0
    keystrokes: int = 0
    seconds: float = 0.0
    pages: int = 0
    commands: int = 0
    steps: list[str] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)
    """Each page load (the path it led to) or command, and its seconds."""


def console_journey(demo: Demo, folder: Path, sites: Path, base_site: str, *, send_screen: bool) -> Journey:
    """An officer's journey in headless Chromium on a copy of the demo; clicks, keystrokes and seconds counted."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import WebDriverWait

    from takedown.cli.officer import make_transport
    from takedown.console.accounts import add_user
    from takedown.console.app import create_app
    from takedown.demo.run import demo_settings
    from takedown.errors import TakedownError
    from takedown.settings import EvidenceSettings
    from takedown.sites.chromium import chromium_driver

    copy_demo(demo, folder, sites)
    settings = demo_settings(folder).model_copy(
        update={"sites": SitesSettings(dir=sites, vars={"base_url": base_site})})
    with SQLiteCaseStore(folder / "takedown.sqlite") as store:
        add_user(store, USERNAME, PASSWORD, roles=["officer"], display_name=OFFICER, locale="en", by="benchmark")
    app = create_app(settings, transport=lambda: make_transport("outbox", settings, folder / "outbox"))
    try:
        driver = chromium_driver(EvidenceSettings(), window=(1280, 1000))
    except TakedownError as exc:
        raise BenchmarkError(f"headless Chromium would not start ({exc}): {INSTALL}") from exc
    wait = WebDriverWait(driver, 30, poll_frequency=0.02)
    done = Journey()

    def load(element: WebElement) -> None:
        """Click, then wait until the page it leads to has replaced this one."""
        page = driver.find_element(By.TAG_NAME, "html")
        done.clicks += 1
        done.pages += 1
        clicked = time.perf_counter()
        try:
            element.click()
        except WebDriverException as exc:  # chromedriver may report a click that navigated at once as an error
            if "does not belong to the document" not in str(exc):
                raise

        def replaced(_: object) -> bool:
            try:
                page.is_enabled()
            except StaleElementReferenceException:
                return True
            except WebDriverException as exc:  # what chromedriver says of a node while its document goes away
                if "does not belong to the document" not in str(exc):
                    raise
                return True
            return False

        wait.until(replaced)
        wait.until(lambda _: driver.execute_script("return document.readyState") == "complete")
        path = driver.current_url.removeprefix(base)
        done.timings.append((path, round(time.perf_counter() - clicked, 3)))

    def tick(element: WebElement) -> None:
        done.clicks += 1
        element.click()

    def type_in(element_id: str, text: str) -> None:
        driver.find_element(By.ID, element_id).send_keys(text)
        done.keystrokes += len(text)

    def nav(href: str) -> None:
        load(driver.find_element(By.CSS_SELECTOR, f"header nav a[href='{href}']"))

    def check_sent() -> None:
        """The page after a send: the request (sent alone) or what became of each (sent with its copies)."""
        outcomes = driver.find_elements(By.CSS_SELECTOR, "#outcomes tbody tr")
        if outcomes:
            failed = [row.text for row in outcomes if row.find_elements(By.CSS_SELECTOR, ".error")]
        else:
            state = driver.find_elements(By.ID, "state")
            failed = [] if state and state[0].get_attribute("data-state") == "sent" else [driver.current_url]
        if failed:
            raise BenchmarkError(f"not sent: {failed}")

    def left_to_send() -> int:  # the officer has the list in view; the harness reads it from the store
        with SQLiteCaseStore(folder / "takedown.sqlite") as store:
            return sum(store.get_delivery(n.id) is None for n in store.list_notices(states=[NoticeState.APPROVED]))

    try:
        with serving(app) as base:
            driver.get(f"{base}/login")
            started = time.perf_counter()
            type_in("username", USERNAME)
            type_in("password", PASSWORD)
            load(driver.find_element(By.ID, "sign-in"))
            if driver.current_url != f"{base}/":
                raise BenchmarkError(f"signing in led to {driver.current_url}")
            nav("/findings")
            while links := driver.find_elements(By.CSS_SELECTOR, "td a.url"):
                finding_id = demo.urls[links[0].text]
                load(links[0])
                load(driver.find_element(By.ID, demo.decisions[finding_id].value))
                done.steps.append(f"{demo.decisions[finding_id].value} {finding_id}")
            nav("/notices?state=draft")
            load(driver.find_element(By.CSS_SELECTOR, "ul.copies a"))
            while approve := driver.find_elements(By.ID, "approve"):
                copies = driver.find_elements(By.ID, "copies")
                if copies and not copies[0].is_selected():
                    tick(copies[0])
                load(approve[0])
                done.steps.append("approve")
            if not driver.current_url.endswith("/notices?state=draft"):
                raise BenchmarkError(f"after the last approval the console showed {driver.current_url}")
            nav("/send")
            if send_screen:
                tick(driver.find_element(By.ID, "confirm"))
                load(driver.find_element(By.ID, "send"))
                check_sent()
                done.steps.append("send all")
            else:
                while True:
                    load(driver.find_element(By.CSS_SELECTOR, "#send-many td a"))
                    tick(driver.find_element(By.ID, "confirm"))
                    load(driver.find_element(By.ID, "send"))
                    check_sent()
                    done.steps.append("send")
                    if not left_to_send():
                        break
                    nav("/send")
            done.seconds = time.perf_counter() - started
    finally:
        driver.quit()
    return done


def cli_journey(demo: Demo, folder: Path, sites: Path, base_site: str) -> Journey:
    """The same decisions as ``takedown`` commands, each a process, timed from the first to the last."""
    config = str(copy_demo(demo, folder, sites))
    takedown = takedown_command()
    env = clean_env()
    outbox = str(folder / "outbox")
    with SQLiteCaseStore(folder / "takedown.sqlite") as store:
        case = store.list_cases()[0].id
    commands: list[list[str]] = [["findings", "--case", case, "--decision", "review", "--state", "judged"]]
    commands += [["resolve", finding, "--as", decision.value, "--by", OFFICER]
                 for finding, decision in demo.decisions.items()]
    commands.append(["review"])
    for ids in demo.requests:
        commands += [["review", ids[0]], ["approve", *ids, "--by", OFFICER]]
    commands += [["send", *ids, "--transport", "outbox", "--outbox", outbox, "--var", f"base_url={base_site}"]
                 for ids in demo.requests]
    done = Journey()
    started = time.perf_counter()
    for argv in commands:
        began = time.perf_counter()
        run = subprocess.run([*takedown, *argv, "--config", config], cwd=folder, env=env, capture_output=True,
                             text=True, timeout=COMMAND_TIMEOUT_S, check=False)
        if run.returncode != 0:
            raise BenchmarkError(f"takedown {' '.join(argv)}: exit status {run.returncode}\n{run.stdout}{run.stderr}")
        done.commands += 1
        done.steps.append(argv[0])
        done.timings.append((f"takedown {argv[0]}", round(time.perf_counter() - began, 3)))
    done.seconds = time.perf_counter() - started
    return done


def check_outcome(demo: Demo, folder: Path, name: str) -> dict[str, int]:
    """Every finding settled as decided and every notice sent once, with its e-mails in the outbox."""
    with SQLiteCaseStore(folder / "takedown.sqlite") as store:
        for finding_id, decision in demo.decisions.items():
            got = store.get_finding(finding_id).decision
            if got is not decision:
                raise BenchmarkError(f"{name}: finding {finding_id} is {got}, decided {decision.value}")
        notices = store.list_notices()
        unsent = [n.id for n in notices if n.state is not NoticeState.SENT or store.get_delivery(n.id) is None]
        emails = sum(n.recipient.channel == "email" for n in notices)
    if unsent:
        raise BenchmarkError(f"{name}: {len(unsent)} of {len(notices)} notices not sent: {unsent}")
    outbox = sorted((folder / "outbox").glob("*.eml"))
    if len(outbox) != emails:
        raise BenchmarkError(f"{name}: {len(outbox)} e-mails in the outbox, {emails} e-mail notices")
    return {"notices": len(notices), "emails": emails}


def journeys(folder: Path) -> dict[str, Any]:
    """Prepare the demo once, then take each path on its own copy while one demo site takes the web forms."""
    from takedown.demo import DemoSite
    from takedown.demo.run import demo_site_file

    demo = prepare_demo(folder)
    sites = folder / "sites"
    sites.mkdir()
    shutil.copy(demo_site_file(), sites / demo_site_file().name)
    results: dict[str, Any] = {"prepared_s": round(demo.seconds, 2), "findings_to_review": len(demo.decisions),
                               "requests": len(demo.requests), "notices": sum(len(r) for r in demo.requests)}
    with DemoSite(demo.folder / "demo-site", port=demo.port) as site:
        for name in ("console", "send_screen", "cli"):
            path = folder / name.replace("_", "-")
            before = len(site.reports_received)
            if name == "cli":
                journey = cli_journey(demo, path, sites, site.base_url)
            else:
                journey = console_journey(demo, path, sites, site.base_url, send_screen=name == "send_screen")
            outcome = check_outcome(demo, path, name)
            forms = len(site.reports_received) - before
            if forms != demo.form_pages:
                raise BenchmarkError(f"{name}: the demo site's form received {forms} reports for "
                                     f"{demo.form_pages} pages")
            results[name] = {"clicks": journey.clicks, "keystrokes": journey.keystrokes,
                             "seconds": round(journey.seconds, 3), "pages": journey.pages,
                             "commands": journey.commands, "form_submissions": forms, **outcome,
                             "steps": journey.steps, "timings": journey.timings}
    return results


# -- the pages ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BigStore:
    """A store filled with synthetic records, and the ids its pages are opened with."""

    folder: Path
    findings: int
    notices: int
    states: dict[str, int]
    draft: str
    review: str
    audited: str
    seconds: float


_KINDS = (  # (channel, locale, kind, attempt, recipient kind) of the notices each finding gets, in order
    ("email", "ko", "initial", 1, RecipientKind.SITE_OPERATOR),
    ("email", "en", "initial", 1, RecipientKind.SITE_OPERATOR),
    ("web_form", "ko", "initial", 1, RecipientKind.SITE_OPERATOR),
    ("email", "ko", "reminder", 2, RecipientKind.SITE_OPERATOR),
    ("email", "en", "reminder", 2, RecipientKind.SITE_OPERATOR),
    ("email", "en", "reminder", 3, RecipientKind.HOST),
    ("email", "ko", "reminder", 3, RecipientKind.HOST),
    ("email", "en", "reminder", 4, RecipientKind.REGISTRAR),
)
_FATES = (  # (share of findings, finding state, decision, state of its notices or None for none, days since sent)
    (0.62, FindingState.REMOVED, Decision.MATCH, NoticeState.SENT, (5, 700)),
    (0.08, FindingState.SENT, Decision.MATCH, NoticeState.SENT, (0, 4)),
    (0.03, FindingState.RENOTIFIED, Decision.MATCH, NoticeState.SENT, (0, 10)),
    (0.02, FindingState.ESCALATED, Decision.MATCH, NoticeState.SENT, (0, 20)),
    (0.05, FindingState.DRAFTED, Decision.MATCH, NoticeState.DRAFT, None),
    (0.03, FindingState.APPROVED, Decision.MATCH, NoticeState.APPROVED, None),
    (0.02, FindingState.DRAFTED, Decision.MATCH, NoticeState.REJECTED, None),
    (0.05, FindingState.DRAFTED, Decision.MATCH, NoticeState.WITHDRAWN, None),
    (0.05, FindingState.JUDGED, Decision.REVIEW, None, None),
    (0.05, FindingState.JUDGED, Decision.CLEAR, None, None),
)


def build_store(folder: Path, findings: int, notices: int) -> BigStore:
    """Fill a new store in ``folder`` through the store API, in one transaction; synthetic records only.

    Findings are spread over cases of 50; each finding's fate (``_FATES``) sets its state and its notices' state;
    the notices go to the finding's site one per finding (as ``group = false`` drafts them), in the order of
    ``_KINDS``, as many per finding as make ``notices`` in all. Every sent notice has its delivery.
    """
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    kr = get_jurisdiction("KR")
    now = utcnow()
    plan: list[tuple[FindingState, Decision, NoticeState | None, tuple[int, int] | None]] = []
    for share, state, decision, notice_state, days in _FATES:
        plan += [(state, decision, notice_state, days)] * round(share * findings)
    plan = (plan + [plan[0]] * findings)[:findings]
    random.Random(7).shuffle(plan)  # the fates interleaved, as findings arrive over time
    with_notices = sum(p[2] is not None for p in plan)
    per, extra = divmod(notices, max(with_notices, 1))
    if per + (extra > 0) > len(_KINDS):
        raise BenchmarkError(f"{notices} notices for {with_notices} findings: at most {len(_KINDS)} each")
    states: dict[str, int] = {}
    draft = review = audited = ""
    with SQLiteCaseStore(folder / "takedown.sqlite") as store, store.transaction():
        cases = [Case(id=f"case-{n:05d}", title=f"Synthetic case {n}", keywords=[f"handle_{n}"], languages=["ko", "en"],
                      jurisdiction="KR") for n in range(math.ceil(findings / 50))]
        for case in cases:
            store.put_case(case)
        noticed = 0
        for index, (state, decision, notice_state, days) in enumerate(plan):
            case = cases[index // 50]
            site = f"site{index % 97}.example"
            base = sample_finding(case, url=f"https://{site}/post/{index}", state=FindingState.JUDGED)
            sent_days = 0 if days is None else days[0] + (index * 7) % (days[1] - days[0] + 1)
            moved = [] if state is FindingState.JUDGED else [StateChange(  # its last move, as the workflow records it
                from_state=FindingState.SENT.value if days else FindingState.EVIDENCED.value, to_state=state.value,
                at=now - timedelta(days=max(sent_days - 2, 0)), by=OFFICER)]
            finding = base.model_copy(update={
                "state": state, "decision": decision, "history": tuple(moved),
                "candidate": base.candidate.model_copy(update={"site": site, "title": f"Post {index} on {site}"}),
                "reasons": (f"synthetic: {decision.value}",)})
            store.add_finding(finding)
            if decision is Decision.REVIEW and not review:
                review = finding.id
            if notice_state is None:
                continue
            count = per + (noticed < extra)
            noticed += 1
            url = finding.candidate.url
            legal = {**dict.fromkeys(kr.required_fields, "synthetic value"), "urls": url}
            for n, (channel, locale, kind, attempt, recipient_kind) in enumerate(_KINDS[:count]):
                address = f"https://{site}/report" if channel == "web_form" else f"abuse@{site}"
                notice = Notice(
                    case_id=case.id, finding_id=finding.id, items=(NoticeItem(finding_id=finding.id, url=url),),
                    recipient=Recipient(address=address, channel=channel, kind=recipient_kind, source="synthetic"),
                    jurisdiction="KR", locale=locale, subject=f"[{locale}] Removal request {index}-{n}: {url}",
                    body_text=f"Please remove the page below.\n{url}\n" + "Synthetic body text. " * 60,
                    legal=legal, kind=kind, attempt=attempt, state=notice_state,
                    approved_by=OFFICER if notice_state in (NoticeState.APPROVED, NoticeState.SENT) else None,
                    approved_at=now if notice_state in (NoticeState.APPROVED, NoticeState.SENT) else None)
                store.add_notice(notice)
                states[notice_state.value] = states.get(notice_state.value, 0) + 1
                if notice_state is NoticeState.DRAFT and not draft:
                    draft = notice.id
                if notice_state is NoticeState.SENT and days is not None:
                    ago = timedelta(days=sent_days, hours=24 - n * 3 - index % 3)  # reminders after the first
                    store.add_delivery(Delivery(notice_id=notice.id, transport="smtp", message_id=f"<{notice.id}@b>",
                                                approved_by=OFFICER, approved_at=now - ago, sent_at=now - ago))
                    if not audited:
                        audited = notice.id
                        for action in ("drafted", "approved", "send_requested", "sent"):
                            store.append_custody(notice.id, action, actor=OFFICER, details={"via": "benchmark"})
        from takedown.console.accounts import add_user

        add_user(store, USERNAME, PASSWORD, roles=["officer"], display_name=OFFICER, locale="en", by="benchmark")
    return BigStore(folder=folder, findings=findings, notices=sum(states.values()), states=states, draft=draft,
                    review=review, audited=audited, seconds=time.perf_counter() - started)


def page_kinds(big: BigStore, per_page: int = 50) -> dict[str, str]:
    """Each page kind an officer opens, and its URL in ``big``."""
    last = max(1, math.ceil(big.states.get("sent", 0) / per_page))
    return {
        "dashboard": "/",
        "requests: draft": "/notices?state=draft",
        "requests: approved": "/notices?state=approved",
        "requests: sent": "/notices?state=sent",
        "requests: sent, last page": f"/notices?state=sent&page={last}",
        "requests: rejected": "/notices?state=rejected",
        "requests: withdrawn": "/notices?state=withdrawn",
        "a request": f"/notices/{big.draft}",
        "findings to review": "/findings",
        "a finding": f"/findings/{big.review}",
        "custody log": f"/audit/{big.audited}",
        "account": "/account",
        "send screen": "/send",
        "cases": "/cases",
        "a case": "/cases/case-00000",
        "follow-up": "/followup",
    }


def sign_in(client: Any) -> None:
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    if token is None:
        raise BenchmarkError("no login form")
    answer = client.post("/login", data={"username": USERNAME, "password": PASSWORD, "login_csrf": token.group(1)})
    if answer.status_code != 303:
        raise BenchmarkError(f"signing in answered {answer.status_code}")


def time_pages(base: str, kinds: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Load every page kind once to warm up, then ``rounds`` times each in an order that rotates every round."""
    import httpx

    times: dict[str, list[float]] = {name: [] for name in kinds}
    names = list(kinds)
    with httpx.Client(base_url=base, follow_redirects=False, timeout=600) as client:
        sign_in(client)
        for index in range(rounds + 1):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                answer = client.get(kinds[name])
                elapsed = time.perf_counter() - started
                if answer.status_code != 200 or "</html>" not in answer.text:
                    raise BenchmarkError(f"{kinds[name]} answered {answer.status_code}: {answer.text[:300]}")
                if index:  # the first round warms up
                    times[name].append(elapsed * 1000)
    return times


def p95(values: Sequence[float]) -> float:
    """The 95th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def pages(folder: Path, findings: int, notices: int, rounds: int) -> dict[str, Any]:
    """Build the big store, serve the console on it, and time every page kind."""
    from takedown.console.app import create_app

    big = build_store(folder, findings, notices)
    states = ", ".join(f"{k} {v:,}" for k, v in big.states.items())
    print(f"store: {big.findings:,} findings, {big.notices:,} notices ({states}), built in {big.seconds:.1f} s "
          "(not counted)")
    kinds = page_kinds(big)
    app = create_app(Settings(storage=StorageSettings(data_dir=folder)))
    with serving(app) as base:
        times = time_pages(base, kinds, rounds)
    every = [t for values in times.values() for t in values]
    return {"findings": big.findings, "notices": big.notices, "notice_states": big.states, "rounds": rounds,
            "built_s": round(big.seconds, 1), "urls": kinds, "times_ms": times,
            "p95_ms": {name: p95(values) for name, values in times.items()},
            "median_ms": {name: statistics.median(values) for name, values in times.items()},
            "p95_all_ms": p95(every)}


# -- output ------------------------------------------------------------------------------------------------------


def plot(path: Path, figures: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    """The p95 of each page kind against the goal (beside ``before``'s, when given), and the journey's seconds and
    clicks, as a PNG."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib to write {path})")
        return
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 5), gridspec_kw={"width_ratios": [3, 2]})
    p95s = figures["pages"]["p95_ms"]
    names = list(p95s)
    rows = list(range(len(names)))
    height = 0.4 if before else 0.8
    left.barh([r + (height / 2 if before else 0) for r in rows], [p95s[n] for n in names], height=height,
              color=["#4c72b0" if p95s[n] < GOAL_P95_MS else "#c44e52" for n in names], label="now")
    if before:
        old = before["p95_ms"]
        left.barh([r - height / 2 for r in rows if names[r] in old], [old[n] for n in names if n in old],
                  height=height, color="#b0b0b0", label=before.get("label", "before"))
        left.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    left.set_yticks(rows, names)
    left.set_xscale("log")
    left.axvline(GOAL_P95_MS, color="black", linestyle="--", linewidth=1)
    left.text(GOAL_P95_MS, 0.01, f" goal {GOAL_P95_MS:.0f} ms", va="bottom", ha="left", fontsize=8,
              transform=left.get_xaxis_transform())
    left.invert_yaxis()
    left.set_xlabel(f"p95 ms per page, log scale ({figures['pages']['findings']:,} findings, "
                    f"{figures['pages']['notices']:,} notices)")
    left.tick_params(axis="y", labelsize=8)
    journey = figures["journey"]
    labels = ["console,\none request at a time", "console,\nSend screen", "CLI (peer)"]
    seconds = [journey["console"]["seconds"], journey["send_screen"]["seconds"], journey["cli"]["seconds"]]
    bars = right.bar(labels, seconds, color=["#4c72b0", "#8172b2", "#dd8452"])
    notes = [f"{journey['console']['clicks']} clicks", f"{journey['send_screen']['clicks']} clicks",
             f"{journey['cli']['commands']} commands"]
    for bar, note in zip(bars, notes, strict=True):
        right.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), note, ha="center", va="bottom", fontsize=8)
    right.set_ylabel("seconds of machine time for the demo case")
    right.tick_params(axis="x", labelsize=8)
    right.set_ylim(0, max(seconds) * 1.25)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"plot written to {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SIZE[0]:,} findings and {QUICK_SIZE[1]:,} notices, {QUICK_ROUNDS} rounds")
    parser.add_argument("--findings", type=int, help="findings in the page store (overrides --quick)")
    parser.add_argument("--notices", type=int, help="notices in the page store (overrides --quick)")
    parser.add_argument("--rounds", type=int, help="timed rounds of page loads (overrides --quick)")
    parser.add_argument("--out", type=Path, help="write every figure and the machine as JSON here")
    parser.add_argument("--plot", type=Path, help="write the bars here as PNG (needs matplotlib)")
    parser.add_argument("--before", type=Path,
                        help='plot these p95s beside this run\'s: JSON {"label": ..., "p95_ms": {page: ms}}')
    args = parser.parse_args(argv)
    findings = args.findings or (QUICK_SIZE if args.quick else FULL_SIZE)[0]
    notices = args.notices or (QUICK_SIZE if args.quick else FULL_SIZE)[1]
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else FULL_ROUNDS)
    machine = _machine()
    print(f"takedown {machine['takedown']} officer benchmark: the demo case in the console (headless Chromium) "
          "against the CLI, then page times")
    print(f"machine: {machine['cpus']} CPUs, {machine['processor']}, {machine['platform']}, Python {machine['python']}")
    if args.quick:
        print(f"--quick: the page store holds {findings:,} findings and {notices:,} notices, not "
              f"{FULL_SIZE[0]:,} and {FULL_SIZE[1]:,}; {rounds} rounds")
    try:
        require_peers()
        with tempfile.TemporaryDirectory(prefix="takedown-bench-officer-") as tmp:
            journey = journeys(Path(tmp) / "journey")
            page_figures = pages(Path(tmp) / "pages", findings, notices, rounds)
    except (BenchmarkError, subprocess.TimeoutExpired) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 1
    console, screen, cli = journey["console"], journey["send_screen"], journey["cli"]
    print(f"\nthe demo case: {journey['findings_to_review']} findings to review, {journey['requests']} draft requests "
          f"({journey['notices']} notices); prepared in {journey['prepared_s']} s (not counted)")
    print(f"{'path':<38} {'clicks':>6} {'keys':>5} {'pages':>5} {'commands':>8} {'seconds':>8}")
    for label, row in (("console, one request at a time", console), ("console, Send screen", screen),
                       ("CLI (peer)", cli)):
        print(f"{label:<38} {row['clicks']:>6} {row['keystrokes']:>5} {row['pages']:>5} {row['commands']:>8} "
              f"{row['seconds']:>8.2f}")
    print(f"\npages, {page_figures['rounds']} rounds after one warm-up round:")
    print(f"{'page':<28} {'median ms':>9} {'p95 ms':>7}  url")
    for name, url in page_figures["urls"].items():
        print(f"{name:<28} {page_figures['median_ms'][name]:>9.1f} {page_figures['p95_ms'][name]:>7.1f}  {url}")
    p95_all = page_figures["p95_all_ms"]
    print(f"{'every page':<28} {'':>9} {p95_all:>7.1f}")
    verdicts = [("clicks", console["clicks"] <= GOAL_CLICKS, f"at most {GOAL_CLICKS}"),
                ("seconds", console["seconds"] < GOAL_SECONDS, f"under {GOAL_SECONDS:.0f} s"),
                ("p95 page", p95_all < GOAL_P95_MS, f"under {GOAL_P95_MS:.0f} ms")]
    print("\n" + "; ".join(f"{name}: {'meets' if ok else 'misses'} the goal of {goal}" for name, ok, goal in verdicts))
    over = [f"{name} ({ms:.0f} ms)" for name, ms in page_figures["p95_ms"].items() if ms >= GOAL_P95_MS]
    if over:
        print(f"pages at or over {GOAL_P95_MS:.0f} ms at the 95th percentile: {', '.join(over)}")
    figures = {"benchmark": "officer", "machine": machine, "journey": journey, "pages": page_figures,
               "goals": {"clicks": GOAL_CLICKS, "seconds": GOAL_SECONDS, "p95_page_ms": GOAL_P95_MS}}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.out}")
    if args.plot is not None:
        plot(args.plot, figures, json.loads(args.before.read_text(encoding="utf-8")) if args.before else None)
    print(f"RESULT speedup_vs_cli={cli['seconds'] / console['seconds']:.2f} clicks={console['clicks']} "
          f"seconds={console['seconds']:.2f} p95_page_ms={p95_all:.1f} cli_seconds={cli['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
