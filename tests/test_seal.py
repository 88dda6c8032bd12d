"""Sealing a captured bundle, with and without a time stamp, and the custody log as JSON Lines."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from takedown.demo.tsa import LocalTsa
from takedown.errors import EvidenceError, UsageError
from takedown.evidence import JsonWriter, bundle_folder, capture_finding, verify_chain
from takedown.evidence.custody import export_custody, load_custody
from takedown.evidence.seal import SEAL_FILE, SEAL_FORMAT, TOKEN_FILE, seal_bundle
from takedown.evidence.tsa import TsaClient, verify_token
from takedown.models import EvidenceBundle, PageRecord, utcnow
from takedown.settings import TsaSettings
from takedown.store import SQLiteCaseStore
from takedown.testing import memory_store, sample_finding, sample_media

SEALED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteCaseStore]:
    with memory_store(blob_dir=tmp_path / "blobs") as opened:
        yield opened


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("tsa")) as running:
        yield running


def captured(store: SQLiteCaseStore, root: Path) -> EvidenceBundle:
    """A bundle as ``capture_finding`` writes it: page.html, one media file and manifest.json."""
    html = "<html><body><h1>게시물</h1><img src='/m/1.png'></body></html>".encode()
    picture = b"\x89PNG synthetic gradient bytes" * 10
    html_sha, _ = store.blobs.put(html), store.blobs.put(picture)
    finding = sample_finding()
    finding = finding.model_copy(update={
        "page": PageRecord(url=finding.candidate.url, final_url=finding.candidate.url, status=200,
                           html_sha256=html_sha, fetched_at=utcnow()),
        "media": (sample_media(picture),),
    })
    return capture_finding(finding, blobs=store.blobs, root=root, writers=[JsonWriter()], operator="Officer Kim")


def test_seal_without_a_tsa_lists_every_artifact_and_says_no_stamp_was_taken(
    store: SQLiteCaseStore, tmp_path: Path
) -> None:
    root = tmp_path / "evidence"
    bundle = captured(store, root)
    sealed, seal, steps = seal_bundle(bundle, root=root, tsa=None, now=SEALED_AT)

    folder = bundle_folder(root, bundle)
    data = (folder / SEAL_FILE).read_bytes()
    assert seal.path == f"{bundle.case_id}/{bundle.id}/{SEAL_FILE}"
    assert seal.role == "seal"
    assert seal.sha256 == hashlib.sha256(data).hexdigest()
    assert seal.size == len(data)
    assert sealed.artifacts == (*bundle.artifacts, seal)
    assert sealed.timestamps == ()
    assert not (folder / TOKEN_FILE).exists()

    document = json.loads(data)
    assert document["format"] == SEAL_FORMAT
    assert (document["bundle"], document["case"], document["finding"]) == (bundle.id, bundle.case_id,
                                                                            bundle.finding_id)
    assert document["sealed_at"] == SEALED_AT.isoformat()
    assert document["captured_at"] == bundle.captured_at.isoformat()
    assert document["capture"]["operator"] == "Officer Kim"
    listed = document["artifacts"]
    assert [a["path"] for a in listed] == sorted(a["path"] for a in listed)
    assert {a["path"] for a in listed} == {"page.html", "manifest.json", next(
        a.path.split("/", 2)[2] for a in bundle.artifacts if a.role == "media")}
    for entry in listed:
        file = folder / entry["path"]
        assert hashlib.sha256(file.read_bytes()).hexdigest() == entry["sha256"]
        assert file.stat().st_size == entry["size"]
        assert set(entry) == {"path", "sha256", "size", "media_type", "role"}

    actions = [action for action, _ in steps]
    assert actions == ["hashed"] * len(bundle.artifacts) + ["sealed", "not_timestamped"]
    assert [d["path"] for a, d in steps if a == "hashed"] == [a.path for a in bundle.artifacts]
    assert steps[-2][1]["sha256"] == seal.sha256
    assert steps[-1][1]["reason"] == "no time-stamping authority is configured"
    assert all(isinstance(v, str) for _, details in steps for v in details.values())
    assert not list(folder.glob(".*.tmp"))


def test_same_bundle_and_time_give_the_same_seal(store: SQLiteCaseStore, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    bundle = captured(store, root)
    _, first, _ = seal_bundle(bundle, root=root, tsa=None, now=SEALED_AT)
    _, second, _ = seal_bundle(bundle, root=root, tsa=None, now=SEALED_AT)
    assert first.sha256 == second.sha256


@pytest.mark.slow
def test_seal_with_a_tsa_writes_a_token_openssl_accepts(store: SQLiteCaseStore, tsa: LocalTsa, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    bundle = captured(store, root)
    with TsaClient(tsa.settings()) as client:
        sealed, seal, steps = seal_bundle(bundle, root=root, tsa=client)

    folder = bundle_folder(root, bundle)
    reply = (folder / TOKEN_FILE).read_bytes()
    digest = hashlib.sha256((folder / SEAL_FILE).read_bytes()).digest()
    (token,) = sealed.timestamps
    assert token.digest_sha256 == seal.sha256 == digest.hex()
    assert base64.b64decode(token.token_der_b64) == reply
    stamp = sealed.artifacts[-1]
    assert (stamp.role, stamp.media_type, stamp.size) == ("timestamp", "application/timestamp-reply", len(reply))
    assert stamp.path == f"{bundle.case_id}/{bundle.id}/{TOKEN_FILE}"
    assert sealed.artifacts[-2] == seal

    action, details = steps[-1]
    assert action == "timestamped"
    assert details == {"tsa": tsa.url, "at": token.at.isoformat(), "digest": digest.hex(),
                       "path": stamp.path, "sha256": hashlib.sha256(reply).hexdigest()}

    assert verify_token(token, digest_sha256=digest, certificate=tsa.certificate, ca_file=tsa.ca_file) == []
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", digest.hex(), "-in", str(folder / TOKEN_FILE),
         "-CAfile", str(tsa.ca_file), "-untrusted", str(tsa.certificate)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode == 0, done.stderr
    # The seal itself can be checked with openssl too: -data hashes the file.
    by_data = subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(folder / SEAL_FILE), "-in", str(folder / TOKEN_FILE),
         "-CAfile", str(tsa.ca_file)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert by_data.returncode == 0, by_data.stderr


def test_a_failing_tsa_leaves_the_bundle_sealed_and_says_why(store: SQLiteCaseStore, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    bundle = captured(store, root)
    settings = TsaSettings(url="https://tsa.example/")
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503))) as http, \
            TsaClient(settings, client=http) as client:
        sealed, _, steps = seal_bundle(bundle, root=root, tsa=client)
        assert sealed.timestamps == ()
        action, details = steps[-1]
        assert action == "not_timestamped"
        assert "https://tsa.example/" in details["reason"]
        assert "HTTP 503" in details["reason"]
        assert (bundle_folder(root, bundle) / SEAL_FILE).is_file()
        with pytest.raises(EvidenceError, match="HTTP 503"):
            seal_bundle(bundle, root=root, tsa=client, require_timestamp=True)


@pytest.mark.slow
def test_resealing_without_a_stamp_removes_a_stale_token(
    store: SQLiteCaseStore, tsa: LocalTsa, tmp_path: Path
) -> None:
    root = tmp_path / "evidence"
    bundle = captured(store, root)
    with TsaClient(tsa.settings()) as client:
        seal_bundle(bundle, root=root, tsa=client)
    assert (bundle_folder(root, bundle) / TOKEN_FILE).is_file()
    seal_bundle(bundle, root=root, tsa=None)
    assert not (bundle_folder(root, bundle) / TOKEN_FILE).exists()


def test_a_file_changed_after_capture_is_never_sealed(store: SQLiteCaseStore, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    bundle = captured(store, root)
    page = root / bundle.artifacts[0].path
    page.write_bytes(page.read_bytes().replace(b"h1", b"h2"))
    with pytest.raises(EvidenceError, match=r"page\.html changed after it was captured"):
        seal_bundle(bundle, root=root, tsa=None)
    page.unlink()
    with pytest.raises(EvidenceError, match=r"cannot read page\.html"):
        seal_bundle(bundle, root=root, tsa=None)
    assert not (bundle_folder(root, bundle) / SEAL_FILE).exists()


def test_what_cannot_be_sealed(store: SQLiteCaseStore, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    bundle = captured(store, root)
    sealed, _, _ = seal_bundle(bundle, root=root, tsa=None)
    with pytest.raises(UsageError, match="already sealed"):
        seal_bundle(sealed, root=root, tsa=None)
    with pytest.raises(UsageError, match="timezone-aware"):
        seal_bundle(bundle, root=root, tsa=None, now=datetime(2025, 1, 1))
    outside = bundle.artifacts[0].model_copy(update={"path": "elsewhere/page.html"})
    with pytest.raises(EvidenceError, match="not inside the bundle folder"):
        seal_bundle(bundle.model_copy(update={"artifacts": (outside,)}), root=root, tsa=None)
    climbing = bundle.artifacts[0].model_copy(update={"path": f"{bundle.case_id}/{bundle.id}/../x/page.html"})
    with pytest.raises(EvidenceError, match="not inside the bundle folder"):
        seal_bundle(bundle.model_copy(update={"artifacts": (climbing,)}), root=root, tsa=None)
    reserved = bundle.artifacts[0].model_copy(update={"path": f"{bundle.case_id}/{bundle.id}/custody.jsonl"})
    with pytest.raises(UsageError, match="reserves"):
        seal_bundle(bundle.model_copy(update={"artifacts": (reserved,)}), root=root, tsa=None)


def test_a_failed_capture_is_sealed_with_its_error(store: SQLiteCaseStore, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    bundle = EvidenceBundle(case_id="case-sample", finding_id="fnd-x", error="the page was never fetched")
    _, seal, steps = seal_bundle(bundle, root=root, tsa=None)
    document = json.loads((root / seal.path).read_text(encoding="utf-8"))
    assert document["error"] == "the page was never fetched"
    assert document["artifacts"] == []
    assert [a for a, _ in steps] == ["sealed", "not_timestamped"]


# -- the custody log as JSON Lines -------------------------------------------------------------------------


def test_custody_export_round_trips_a_real_chain(store: SQLiteCaseStore, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    bundle = captured(store, root)
    sealed, _, steps = seal_bundle(bundle, root=root, tsa=None)
    with store.transaction():
        store.add_bundle(sealed)
        store.append_custody(bundle.id, "captured", actor="Officer Kim", at=bundle.captured_at,
                             details={"url": bundle.capture["url"]})
        for action, details in steps:
            store.append_custody(bundle.id, action, actor="Officer Kim", details=details)
    log = store.custody_log(bundle.id)
    path = bundle_folder(root, bundle) / "custody.jsonl"
    export_custody(log, path)

    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert len(text.splitlines()) == len(log) == len(steps) + 1
    assert json.loads(text.splitlines()[0])["action"] == "captured"
    loaded = load_custody(path)
    assert loaded == log
    assert verify_chain(loaded) == []
    assert not list(path.parent.glob(".custody.jsonl.*"))


def test_custody_export_of_nothing_reads_back_as_nothing(tmp_path: Path) -> None:
    export_custody([], tmp_path / "custody.jsonl")
    assert (tmp_path / "custody.jsonl").read_bytes() == b""
    assert load_custody(tmp_path / "custody.jsonl") == []


def test_unreadable_custody_logs_name_the_line(store: SQLiteCaseStore, tmp_path: Path) -> None:
    for action in ("captured", "hashed", "sealed"):
        store.append_custody("bnd-1", action, actor="Officer Kim", details={"k": "v"})
    path = tmp_path / "custody.jsonl"
    export_custody(store.custody_log("bnd-1"), path)
    lines = path.read_text(encoding="utf-8").split("\n")

    path.write_text("\n".join([lines[0], "{not json", *lines[2:]]), encoding="utf-8")
    with pytest.raises(EvidenceError, match=r"custody\.jsonl line 2 is not a custody event"):
        load_custody(path)
    path.write_text("\n".join(lines).rstrip("\n"), encoding="utf-8")
    with pytest.raises(EvidenceError, match="does not end with a newline"):
        load_custody(path)
    path.write_text("\n".join([lines[0], "", *lines[1:]]), encoding="utf-8")
    with pytest.raises(EvidenceError, match="line 2"):
        load_custody(path)
    path.write_bytes(b"\xff\xfe\n")
    with pytest.raises(EvidenceError, match="not UTF-8"):
        load_custody(path)
    with pytest.raises(EvidenceError, match="cannot read"):
        load_custody(tmp_path / "absent.jsonl")
    with pytest.raises(EvidenceError, match="cannot write"):
        export_custody([], path / "x")  # under a file, where no folder can be made
