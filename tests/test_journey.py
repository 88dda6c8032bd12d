"""A deletion-support officer's whole journey from the command line alone, end to end on loopback.

Nothing here calls the library: every step is the installed ``takedown`` command run as a process, against the
demo site (synthetic media), a real SMTP server (aiosmtpd) and a local RFC 3161 time-stamping authority
(``openssl ts``), all on 127.0.0.1. Create a case from reference media, scan with a folder of site files, settle a
review finding, approve a finding's notices in one command, send them, follow up after a takedown, and withdraw
the case.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_smtp import Recorder, smtp_server

from takedown.demo.run import demo_site_file
from takedown.demo.site import DemoSite
from takedown.demo.tsa import LocalTsa
from takedown.evidence.signing import make_agency_identity
from takedown.evidence.verify import verify_bundle
from takedown.models import Case
from takedown.store.sqlite import SQLiteCaseStore

pytestmark = pytest.mark.slow

OFFICER = "Officer Kim"


def takedown(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``takedown ARGS`` as a process in ``cwd`` (its ``takedown.toml`` is read), with no TAKEDOWN_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAKEDOWN_")} | {"COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "takedown", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env, stdin=subprocess.DEVNULL)
    if check:
        assert done.returncode == 0, f"takedown {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


@pytest.fixture
def agency(tmp_path: Path, demo_site: DemoSite) -> Iterator[tuple[Path, Recorder]]:
    """A working folder with a takedown.toml pointing at loopback SMTP, a local TSA and the demo's site file."""
    sites = tmp_path / "sites"
    sites.mkdir()
    shutil.copy(demo_site_file(), sites / "demo-sns.toml")
    recorder = Recorder()
    agency = make_agency_identity(tmp_path / "agency", name="Journey Support Centre")
    with smtp_server(recorder) as smtp, LocalTsa(tmp_path / "tsa") as tsa:
        (tmp_path / "takedown.toml").write_text(f"""
[agency]
name = "Journey Victim Support Center"
registration_number = "JRN-0001"
email = "takedown@agency.example"
phone = "+82-2-000-0000"

[storage]
data_dir = "{tmp_path / 'data'}"

[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
sender = "takedown@agency.example"

[tsa]
url = "{tsa.url}"
certificate = "{tsa.certificate}"
ca_file = "{tsa.ca_file}"

[signing]
key = "{agency.key}"
certificate = "{agency.certificate}"
ca_file = "{agency.ca_file}"

[network]
allow_loopback = true

[evidence]
screenshot = false                 # live HTTP capture with WARC; Chromium screenshots are tested elsewhere

[sites]
dir = "{sites}"
vars = {{ base_url = "{demo_site.base_url}" }}

[report]
rdap = false
""", encoding="utf-8")
        yield tmp_path, recorder


def test_an_officer_works_a_case_from_creation_to_withdrawal(agency: tuple[Path, Recorder],
                                                             demo_site: DemoSite) -> None:
    folder, smtp = agency
    refs = folder / "refs"
    refs.mkdir()
    for file in demo_site.reference_files():
        shutil.copy(file, refs / file.name)

    doctor = takedown("doctor", "--no-network", cwd=folder, check=False)
    assert "site files" in doctor.stdout and "1 file(s)" in doctor.stdout

    created = takedown("case", "create", "case-journey", "--title", "Journey case (synthetic)", "--media", str(refs),
                       "--keyword", "minji_cam", "--language", "ko", "--jurisdiction", "KR", "--priority", "high",
                       "--by", OFFICER, cwd=folder)
    assert "No media was copied" in created.stdout
    assert not list((folder / "data").rglob("*.png")), "the reference media is hashed, never copied"
    (case,) = as_json(takedown("case", "list", "--json", cwd=folder))
    assert case["id"] == "case-journey" and case["priority"] == "high" and case["references"] > 0

    takedown("scan", "case-jou", cwd=folder)  # a unique prefix names the case
    found = as_json(takedown("findings", "--case", "case-journey", "--json", cwd=folder))
    truth = demo_site.manifest
    matched = {f["url"].rsplit("/", 1)[-1] for f in found if f["decision"] == "match"}
    assert matched == {p.id for p in truth.matching_posts()}
    reviews = [f for f in found if f["decision"] == "review"]
    assert reviews, "the posts that only name the handle wait for an officer"
    for finding in found:
        if finding["decision"] == "match":
            assert finding["state"] == "drafted"

    # Every bundle is the demo's full sealed bundle: WARC, reports in HWPX, HWP and PDF, a verified time stamp.
    bundles = [p.parent for p in (folder / "data" / "evidence" / "case-journey").rglob("seal.json")]
    assert len(bundles) == len(matched)
    roles = {a.name for b in bundles for a in b.rglob("*")}
    assert {"report.hwpx", "report.hwp", "report.pdf"} <= roles and any(r.endswith(".warc.gz") for r in roles)
    assert all(verify_bundle(b, certificate=folder / "tsa" / "tsa.pem", ca_file=folder / "tsa" / "ca.pem",
                             agency_ca=folder / "agency" / "ca.pem").ok for b in bundles)
    assert "VERIFIED" in takedown("verify", str(bundles[0]), cwd=folder).stdout

    # Settle the review findings: one is cleared, one is a match after all (evidence and drafts follow at once).
    takedown("resolve", reviews[0]["id"][:10], "--as", "clear", "--by", OFFICER, "--reason", "a fan post", cwd=folder)
    if len(reviews) > 1:
        takedown("resolve", reviews[1]["id"], "--as", "match", "--by", OFFICER, "--reason", "same room", cwd=folder)
        assert takedown("review", "--finding", reviews[1]["id"], "--json", cwd=folder).stdout.count('"id"') >= 1
    settled = {f["id"]: f for f in as_json(takedown("findings", "--case", "case-journey", "--json", cwd=folder))}
    assert settled[reviews[0]["id"]]["decision"] == "clear"

    # Review shows each draft with the URLs it lists and the evidence report of each; approve a finding's drafts
    # (the requests that list it) in one command.
    drafts = as_json(takedown("review", "--case", "case-journey", "--json", cwd=folder))
    first = next(d for d in drafts if d["channel"] == "email")
    assert first["url"].startswith(demo_site.base_url) and first["evidence"].endswith("report.pdf")
    assert Path(first["evidence"]).is_file()
    of_finding = [d for d in drafts if d["finding"] == first["finding"]]
    assert {d["locale"] for d in of_finding} >= {"en"} and len(of_finding) >= 2
    approved = takedown("approve", "--finding", first["finding"][:12], "--by", OFFICER, cwd=folder)
    assert approved.stdout.count("Approved ") == len(of_finding)
    with SQLiteCaseStore(folder / "data" / "takedown.sqlite") as store:
        events = store.custody_log(first["id"])
    assert events[-1].action == "approved" and events[-1].actor == OFFICER and events[-1].details["account"]

    plan = takedown("send", "--case", "case-journey", "--dry-run", cwd=folder)
    assert "Would send" in plan.stdout and not smtp.received
    reports_before = len(demo_site.reports_received)
    sent = takedown("send", "--case", "case-journey", cwd=folder)
    emails = [d for d in of_finding if d["channel"] == "email"]
    assert len(smtp.received) == len(emails) and sent.stdout.count("Sent ") == len(of_finding)
    # The demo's form takes one URL: the form request is filed once per page it lists, from its one approval.
    pages = sum(len(d["items"]) for d in of_finding if d["channel"] == "web_form")
    assert pages > 1 and len(demo_site.reports_received) - reports_before == pages
    assert {r["url"] for r in demo_site.reports_received[reports_before:]} == {
        i["url"] for d in of_finding if d["channel"] == "web_form" for i in d["items"]}
    again = takedown("send", "--case", "case-journey", cwd=folder)
    assert "No approved notices" in again.stdout and len(smtp.received) == len(emails), "never sent twice"

    # The site takes the post down; follow-up records the removal.
    post = first["url"].rsplit("/", 1)[-1]
    demo_site.take_down(post)
    try:
        followed = takedown("followup", "--case", "case-journey", "--after-hours", "0", cwd=folder)
    finally:
        demo_site.restore(post)
    assert "removed 1" in followed.stdout

    # The victim withdraws consent: drafts are withdrawn, hashes erased, nothing is scanned again.
    withdrawn = takedown("case", "withdraw", "case-journey", "--by", OFFICER, "--reason", "consent withdrawn",
                         "--yes", cwd=folder)
    assert "withdrawn" in withdrawn.stdout and "sent notices:" in withdrawn.stdout
    shown = as_json(takedown("case", "show", "case-journey", "--json", cwd=folder))
    assert shown["status"] == "withdrawn" and shown["references"] == 0 and shown["keywords"] == []
    assert set(shown["notices_by_state"]) <= {"sent", "withdrawn"} and shown["notices_by_state"]["sent"]
    assert any(e["action"] == "case_withdrawn" for e in shown["history"])
    refused = takedown("scan", "case-journey", cwd=folder, check=False)
    assert refused.returncode == 2 and "withdrawn" in refused.stderr
    assert takedown("review", "--case", "case-journey", "--json", cwd=folder).stdout.strip() == "[]"


def key(case: Case) -> set[tuple[str, str]]:
    """What a case matches exact and perceptual copies by."""
    return {(r.algorithm, r.value) for r in case.references if r.algorithm in ("sha256", "pdq")}


def test_a_hash_list_round_trips_into_a_case_and_a_bank(tmp_path: Path, demo_site: DemoSite) -> None:
    (tmp_path / "takedown.toml").write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    refs = demo_site.reference_files()
    takedown("hash", *map(str, refs), "-o", "hashes.jsonl", cwd=tmp_path)
    takedown("case", "create", "case-from-list", "--title", "From a hash list", "--hashes", "hashes.jsonl",
             "--by", OFFICER, cwd=tmp_path)
    media = [arg for ref in refs for arg in ("--media", str(ref))]
    takedown("case", "create", "case-from-media", "--title", "From media", *media, "--by", OFFICER, cwd=tmp_path)
    with SQLiteCaseStore(tmp_path / "data" / "takedown.sqlite") as store:
        from_list = store.get_case("case-from-list")
        from_media = store.get_case("case-from-media")
    assert key(from_list) == key(from_media) and key(from_list), "the same hashes, whichever way the case was made"
    takedown("banks", "create", "refs", cwd=tmp_path)
    imported = takedown("banks", "import", "refs", "hashes.jsonl", cwd=tmp_path)
    assert "Added" in imported.stdout
    exported = tmp_path / "refs.pdq"
    takedown("banks", "export", "refs", str(exported), cwd=tmp_path)
    pdq = {r.value for r in from_list.references if r.algorithm == "pdq"}
    assert {line.split(",")[0] for line in exported.read_text().split()} == pdq

    exported_case = tmp_path / "case.json"
    takedown("case", "export", "case-from-list", "-o", str(exported_case), cwd=tmp_path)
    takedown("case", "import", str(exported_case), "--id", "case-copy", "--by", OFFICER, cwd=tmp_path)
    with SQLiteCaseStore(tmp_path / "data" / "takedown.sqlite") as store:
        assert key(store.get_case("case-copy")) == key(from_list)
