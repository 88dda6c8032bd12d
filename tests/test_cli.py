"""The command line, end to end: the demo flow through the installed ``takedown`` command."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from takedown.cli import app
from takedown.demo.media import generate_demo_media
from takedown.demo.site import DemoSite
from takedown.evidence.verify import format_report, verify_bundle
from takedown.settings import load_settings
from takedown.store.sqlite import SQLiteCaseStore

pytestmark = pytest.mark.slow
runner = CliRunner()


def _takedown(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "takedown", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_demo_runs_end_to_end_and_resumes_without_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    first = _takedown("demo", "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert {"candidates", "findings", "matches", "bundles", "notices", "locales"} <= summary.keys()
    truth = generate_demo_media(out / "demo-site")
    expected = {p.id for p in truth.matching_posts()}
    with SQLiteCaseStore(out / "takedown.sqlite") as store:
        matched = {f.candidate.url.rsplit("/", 1)[1] for f in store.list_findings() if f.decision == "match"}
    assert matched == expected, "every altered copy is found and no decoy is"
    assert summary["candidates"] == len(truth.posts), "search, feed, sitemap and the JS home page find every post"
    named = {p.id for p in truth.posts if p.id not in expected
             and "minji_cam" in unicodedata.normalize("NFKC", f"{p.title} {p.text}").casefold()}
    with SQLiteCaseStore(out / "takedown.sqlite") as store:
        reviews = {f.candidate.url.rsplit("/", 1)[1]: f.reasons for f in store.list_findings()
                   if f.decision == "review"}
    assert set(reviews) == named and named, "decoys that name the handle go to an officer, nothing else does"
    assert all(r[0].startswith("the post names the victim's handle: keyword") for r in reviews.values())
    assert summary["matches"] == summary["bundles"] == len(expected)
    # The operator is in Korea (its site file says so): one request in Korean and English, and one through its
    # report form, each listing every match, whatever language each post is in.
    assert summary["notices"] == 3 and summary["locales"] == ["en", "ko"]
    with SQLiteCaseStore(out / "takedown.sqlite") as store:
        assert all(len(n.finding_ids) == len(expected) for n in store.list_notices())
    assert "Drafts wait for an officer" in first.stdout
    bundles = sorted((out / "evidence" / "case-demo").iterdir())
    assert len(bundles) == len(expected)
    for folder in bundles:
        names = {p.name for p in folder.iterdir()}
        assert {"report.hwpx", "report.hwp", "report.pdf", "manifest.json", "capture.warc.gz", "capture-seal.tsr",
                "seal.tsr", "seal.sig", "seal.pem"} <= names
        report = verify_bundle(folder, certificate=out / "tsa" / "tsa.pem", ca_file=out / "tsa" / "ca.pem",
                               agency_ca=out / "agency" / "ca.pem")
        assert report.ok, format_report(report)
    _reports_cite_the_capture_stamp(bundles[0], out / "tsa")
    checked = _takedown("verify", str(bundles[0]), "--tsa-cert", str(out / "tsa" / "tsa.pem"), "--ca-file",
                        str(out / "tsa" / "ca.pem"), "--agency-ca", str(out / "agency" / "ca.pem"), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout
    config = out / "takedown.toml"
    assert f"takedown review --config {config}" in first.stdout, "the demo says how to work on its result"
    drafts = _takedown("review", "--config", str(config), "--json", cwd=tmp_path)
    assert drafts.returncode == 0 and len(json.loads(drafts.stdout)) == summary["notices"]
    trusted = _takedown("verify", str(bundles[0]), "--config", str(config), cwd=tmp_path)
    assert trusted.returncode == 0 and "VERIFIED" in trusted.stdout, "its settings name the demo TSA's certificates"
    (bundles[0] / "page.html").write_bytes(b"altered")
    tampered = _takedown("verify", str(bundles[0]), cwd=tmp_path)
    assert tampered.returncode == 1 and "page.html" in tampered.stdout

    again = _takedown("demo", "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "summary.json").read_text())["notices"] == summary["notices"]

    listed = _takedown("findings", "--decision", "match", "--json", cwd=tmp_path,
                       env={"TAKEDOWN_STORAGE__DATA_DIR": str(out)})
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == len(expected)


def test_init_writes_settings_that_load(tmp_path: Path) -> None:
    path = tmp_path / "takedown.toml"
    result = runner.invoke(app, ["init", str(path)])
    assert result.exit_code == 0
    assert load_settings(path, env={}).agency.jurisdiction == "KR"
    refused = _takedown("init", str(path), cwd=tmp_path)
    assert refused.returncode == 2 and "--force" in refused.stderr


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    missing = _takedown("findings", cwd=tmp_path)
    assert missing.returncode == 2 and "no case store" in missing.stderr and "Traceback" not in missing.stderr
    assert "[storage]" in missing.stderr, "square brackets in messages are printed, not read as markup"
    assert not (tmp_path / ".takedown").exists(), "a read-only command creates nothing"
    bad = tmp_path / "bad.toml"
    bad.write_text("[agency]\ntime_zone = 'Mars/Base'\n")
    result = _takedown("cases", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2 and "time zone" in result.stderr


def test_plugins_lists_the_builtins() -> None:
    result = runner.invoke(app, ["plugins", "--no-entry-points"])
    assert result.exit_code == 0
    assert "exact_hash" in result.stdout and "sqlite" in result.stdout


def test_an_officer_reviews_approves_and_sends_from_the_command_line(tmp_path: Path) -> None:
    from takedown.demo.run import run_demo

    out = tmp_path / "demo"
    result = run_demo(out, full_evidence=False)
    # The demo's settings (its agency's registration number and telephone, which a KR notice states)
    env = {"TAKEDOWN_CONFIG": str(out / "takedown.toml"), "COLUMNS": "200"}
    listed = runner.invoke(app, ["review"], env=env)
    assert listed.exit_code == 0, listed.output
    ids = re.findall(r"ntc-[0-9a-f]{16}", listed.output)
    assert len(ids) == result.notices == 3, "8 matches, one request: ko and en emails and one web form"
    shown = runner.invoke(app, ["review", ids[0]], env=env)
    assert shown.exit_code == 0 and "legal.urls" in shown.output and "/post/" in shown.output
    assert "language pack" in shown.output and "not reviewed by a native speaker" in " ".join(shown.output.split())
    assert "Not yet reviewed by a native-speaking lawyer" in listed.output
    refused = _takedown("send", ids[0], "--transport", "outbox", "--outbox", str(tmp_path / "outbox"), cwd=tmp_path,
                        env=env)
    assert refused.returncode == 1 and "only an approved notice is sent" in refused.stderr
    assert "nothing was sent" in refused.stderr
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").iterdir())
    assert runner.invoke(app, ["approve", ids[0], "--by", "Officer Kim"], env=env).exit_code == 0
    sent = runner.invoke(app, ["send", "--transport", "outbox", "--outbox", str(tmp_path / "outbox")], env=env)
    assert sent.exit_code == 0 and ids[0] in sent.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    again = runner.invoke(app, ["send", ids[0], "--transport", "outbox", "--outbox", str(tmp_path / "outbox")],
                          env=env)
    assert again.exit_code == 0 and len(list((tmp_path / "outbox").glob("*.eml"))) == 1, "never sent twice"
    sent_list = runner.invoke(app, ["review", "--state", "sent"], env=env)
    assert "legal time runs out" in sent_list.output and "(overdue)" not in sent_list.output, "24 hours in KR"
    rejected = runner.invoke(app, ["reject", ids[1], "--by", "Officer Kim", "--reason", "duplicate"], env=env)
    assert rejected.exit_code == 0
    stats = runner.invoke(app, ["stats"], env=env)
    assert stats.exit_code == 0 and "abuse@demo-sns.example" in stats.output


def _reports_cite_the_capture_stamp(folder: Path, tsa: Path) -> None:
    """What the reports say about their seal is what the bundle holds, read by tools takedown did not write: openssl
    for the token, pypdf for the PDF, the HWPX's own XML for the Hangul report."""
    from pypdf import PdfReader

    token = subprocess.run(["openssl", "ts", "-reply", "-in", str(folder / "capture-seal.tsr"), "-text"],
                           capture_output=True, text=True, check=True).stdout
    block = token.split("Message data:", 1)[1].split("\n")
    rows = [m[1] for line in block[1:] if (m := re.match(r"\s+[0-9a-f]{4} - (.{47})", line))]
    stamped = "".join("".join(row.replace("-", " ").split()) for row in rows)
    assert stamped == hashlib.sha256((folder / "capture-seal.json").read_bytes()).hexdigest()
    serial = re.search(r"Serial number: (0x[0-9A-Fa-f]+)", token)
    assert serial is not None
    verified = subprocess.run(["openssl", "ts", "-verify", "-data", str(folder / "capture-seal.json"), "-in",
                               str(folder / "capture-seal.tsr"), "-CAfile", str(tsa / "ca.pem"), "-untrusted",
                               str(tsa / "tsa.pem")], capture_output=True, text=True, check=False)
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout
    pdf = " ".join("".join(page.extract_text() or "" for page in PdfReader(folder / "report.pdf").pages).split())
    with zipfile.ZipFile(folder / "report.hwpx") as hwpx:
        hangul = " ".join(hwpx.read(n).decode("utf-8") for n in hwpx.namelist() if n.startswith("Contents/"))
    for text in (pdf.replace(" ", ""), re.sub(r"<[^>]+>", "", hangul)):
        assert stamped in text, "the report cites the stamped digest of capture-seal.json"
        assert serial[1].lower() in text.lower(), "and the token's serial number"
        assert "seal.sig" in text and "seal.tsr" in text, "and says what follows it"
    assert "타임스탬프가 없습니다" not in pdf


def test_capture_then_verify_a_single_page(tmp_path: Path, demo_site: DemoSite) -> None:
    env = {"TAKEDOWN_NETWORK__ALLOW_LOOPBACK": "true"}
    url = demo_site.url_for("p02")
    captured = _takedown("capture", url, "--out", str(tmp_path / "ev"), "--no-screenshot", cwd=tmp_path, env=env)
    assert captured.returncode == 0, captured.stderr
    (folder,) = (tmp_path / "ev" / "adhoc").iterdir()
    assert verify_bundle(folder, allow_unstamped=True, allow_unsigned=True).ok, "no TSA or key: integrity only"
    strict = _takedown("verify", str(folder), cwd=tmp_path)
    assert strict.returncode == 1 and "no trusted time" in strict.stdout and "--allow-unstamped" in strict.stdout
    assert "no agency key vouches" in strict.stdout and "--allow-unsigned" in strict.stdout
    lenient = _takedown("verify", str(folder), "--allow-unstamped", "--allow-unsigned", cwd=tmp_path)
    assert lenient.returncode == 0 and "integrity only" in lenient.stdout
    blocked = _takedown("capture", url, "--out", str(tmp_path / "ev2"), "--no-screenshot", cwd=tmp_path)
    assert blocked.returncode == 1 and "capture failed" in blocked.stderr, "loopback is refused unless allowed"


def test_banks_create_import_export_list(tmp_path: Path) -> None:
    env = {"TAKEDOWN_STORAGE__DATA_DIR": str(tmp_path / "data")}
    SQLiteCaseStore(tmp_path / "data" / "takedown.sqlite").close()
    good = "f" * 64
    hashes = tmp_path / "in.pdq"
    hashes.write_text(f"{good},90\nnot-a-hash,10\n{'0' * 63}1,80\n")
    assert runner.invoke(app, ["banks", "create", "victim_refs"], env=env).exit_code == 0
    strict = _takedown("banks", "import", "victim_refs", str(hashes), cwd=tmp_path, env=env)
    assert strict.returncode == 2 and "line 2" in strict.stderr, "a bad line stops a strict import, and is named"
    skipped = runner.invoke(app, ["banks", "import", "victim_refs", str(hashes), "--skip-errors"], env=env)
    assert skipped.exit_code == 0 and "Added 2 new" in skipped.output
    exported = tmp_path / "out.pdq"
    assert runner.invoke(app, ["banks", "export", "victim_refs", str(exported)], env=env).exit_code == 0
    assert sorted(exported.read_text().split()) == sorted([f"{good},90", f"{'0' * 63}1,80"])
    listed = runner.invoke(app, ["banks", "list"], env=env)
    assert "victim_refs" in listed.output and " 2 " in listed.output


def test_hash_writes_only_hashes(tmp_path: Path, demo_site: DemoSite) -> None:
    refs = demo_site.reference_files()
    out = tmp_path / "hashes.jsonl"
    result = _takedown("hash", *map(str, refs), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(refs) and all(line["pdq"] for line in lines)
    assert out.stat().st_size < sum(p.stat().st_size for p in refs) / 10, "hashes only, never the media"
