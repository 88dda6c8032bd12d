"""Verifying a sealed bundle folder: every kind of tampering is caught and named; what is fine passes."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from takedown.demo.tsa import LocalTsa
from takedown.evidence import JsonWriter, bundle_folder, capture_finding
from takedown.evidence.custody import export_custody, load_custody
from takedown.evidence.seal import (
    CAPTURE_SEAL_FILE,
    CAPTURE_TOKEN_FILE,
    SEAL_FILE,
    TOKEN_FILE,
    seal_bundle,
    seal_capture,
)
from takedown.evidence.signing import AgencySigner, make_agency_identity
from takedown.evidence.tsa import TsaClient, encode_request
from takedown.evidence.verify import Check, VerificationReport, format_report, verify_bundle
from takedown.models import CustodyEvent, PageRecord, utcnow
from takedown.settings import SigningSettings
from takedown.store import SQLiteCaseStore
from takedown.testing import memory_store, sample_finding, sample_media

CUSTODY = "custody.jsonl"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture(scope="module")
def other_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("other-tsa"), common_name="another TSA") as running:
        yield running


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> SigningSettings:
    return make_agency_identity(tmp_path_factory.mktemp("agency"), name="Test Support Centre")


@pytest.fixture(scope="module")
def other_agency(tmp_path_factory: pytest.TempPathFactory) -> SigningSettings:
    return make_agency_identity(tmp_path_factory.mktemp("other-agency"), name="Test Support Centre")


def make_sealed_bundle(root: Path, *, tsa: LocalTsa | None, agency: SigningSettings | None,
                       url: str = "https://mock.example/post/1") -> Path:
    """Capture, seal the capture, write the manifest, seal, sign and time-stamp (when ``tsa`` and ``agency`` are
    given), recording each step in a real store's custody log as the workflow does, and export the log.

    Returns the bundle's folder: page.html, media/<sha>.png, capture-seal.json (.tsr), manifest.json, seal.json,
    seal.sig, seal.pem, seal.tsr, custody.jsonl.
    """
    with memory_store(blob_dir=root.parent / f"{root.name}-blobs") as store, contextlib.ExitStack() as stack:
        client = stack.enter_context(TsaClient(tsa.settings())) if tsa is not None else None
        signer = AgencySigner.from_settings(agency) if agency is not None else None
        html = "<html><body><h1>게시물</h1><img src='/m/1.png'></body></html>".encode()
        picture = b"\x89PNG synthetic gradient bytes" * 10
        html_sha, _ = store.blobs.put(html), store.blobs.put(picture)
        finding = sample_finding(url=url)
        finding = finding.model_copy(update={
            "page": PageRecord(url=url, final_url=url, status=200, html_sha256=html_sha, fetched_at=utcnow()),
            "media": (sample_media(picture),),
        })
        bundle = capture_finding(finding, blobs=store.blobs, root=root, writers=(), operator="Officer Kim")
        bundle, steps = seal_capture(bundle, root=root, tsa=client)
        _record(store, bundle.id, [("captured", {"url": url}), *steps])
        folder = bundle_folder(root, bundle)
        export_custody(store.custody_log(bundle.id), folder / CUSTODY)
        manifest = JsonWriter().write(bundle, finding, out=folder, root=root)
        bundle = bundle.model_copy(update={"artifacts": (*bundle.artifacts, manifest)})
        sealed, _, steps = seal_bundle(bundle, root=root, tsa=client, signer=signer,
                                       custody_head=store.custody_log(bundle.id)[-1].hash)
        _record(store, sealed.id, steps)
        export_custody(store.custody_log(bundle.id), folder / CUSTODY)
    return folder


def _record(store: SQLiteCaseStore, subject: str, steps: list[tuple[str, dict[str, str]]]) -> None:
    with store.transaction():
        for action, details in steps:
            store.append_custody(subject, action, actor="Officer Kim", details=details)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, tsa: LocalTsa, agency: SigningSettings) -> Path:
    """One stamped, sealed bundle; tests work on copies of it."""
    return make_sealed_bundle(tmp_path_factory.mktemp("pristine") / "evidence", tsa=tsa, agency=agency)


@pytest.fixture
def bundle(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / pristine.parent.name / pristine.name
    shutil.copytree(pristine, copy)
    return copy


def _verify(folder: Path, tsa: LocalTsa, agency: SigningSettings) -> VerificationReport:
    """Verified as a court would: the TSA's certificate and CA, and the agency's CA (the one the tests sign with)."""
    return verify_bundle(folder, certificate=tsa.certificate, ca_file=tsa.ca_file, agency_ca=agency.ca_file)


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _rewrite_custody(folder: Path, events: list[CustodyEvent]) -> None:
    (folder / CUSTODY).write_text("".join(e.model_dump_json() + "\n" for e in events), encoding="utf-8")


def _forge(after: CustodyEvent, action: str, details: dict[str, str]) -> CustodyEvent:
    """An event correctly chained after ``after``: what anyone can compute, since the chain holds no secret."""
    at = after.at + timedelta(seconds=1)
    digest = CustodyEvent.compute_hash(seq=after.seq + 1, subject=after.subject, action=action, actor="Mallory",
                                       at=at, details=details, prev_hash=after.hash)
    return CustodyEvent(seq=after.seq + 1, subject=after.subject, action=action, actor="Mallory", at=at,
                        details=details, prev_hash=after.hash, hash=digest)


# -- what holds --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_intact_bundle_verifies(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    assert _files(bundle) == sorted(["capture-seal.json", "capture-seal.tsr", "custody.jsonl", "manifest.json",
                                     "page.html", "seal.json", "seal.pem", "seal.sig", "seal.tsr",
                                     next(f for f in _files(bundle) if f.startswith("media/"))])
    report = _verify(bundle, tsa, agency)
    assert report.ok, format_report(report)
    assert report.problems == []
    assert report.warnings == []
    assert report.bundle == bundle.name
    names = [c.name for c in report.checks]
    for expected in ("seal.json", "file page.html", "file manifest.json", "unlisted files", "custody chain",
                     "custody subject", "custody records the seal", "custody records each file",
                     "custody ends with the seal", "agency signature", "time stamp", "time stamp delay",
                     "time-stamp signature", "capture seal", "capture time stamp", "capture time-stamp signature"):
        assert expected in names
    text = format_report(report)
    assert text.startswith(f"Bundle {bundle.name} in {bundle}: VERIFIED\n")
    assert "What fails" not in text
    assert tsa.url in text


@pytest.mark.slow
def test_a_stamp_nobody_could_check_fails_unless_integrity_only_is_asked_for(
    bundle: Path, agency: SigningSettings
) -> None:
    report = verify_bundle(bundle, agency_ca=agency.ca_file)
    assert not report.ok
    assert report.problems == [
        f"{which}time-stamp signature: not checked: no trusted TSA is configured, so anyone could have made {name}; "
        "give the TSA certificate or CA file ([tsa] certificate, ca_file) (takedown verify --allow-unstamped accepts "
        "this as integrity only)"
        for which, name in (("", "seal.tsr"), ("capture ", "capture-seal.tsr"))
    ]
    lenient = verify_bundle(bundle, allow_unstamped=True, agency_ca=agency.ca_file)
    assert lenient.ok and lenient.warnings == [
        f"{which}time-stamp signature: not checked: no trusted TSA is configured, so anyone could have made {name}; "
        "give the TSA certificate or CA file ([tsa] certificate, ca_file) (integrity only, no trusted time)"
        for which, name in (("", "seal.tsr"), ("capture ", "capture-seal.tsr"))
    ]
    assert "warn  time-stamp signature: not checked" in format_report(lenient)


def test_a_bundle_sealed_without_a_tsa_fails_unless_integrity_only_is_asked_for(
    tmp_path: Path, agency: SigningSettings
) -> None:
    """A bundle with a consistent seal and custody chain but no stamp is also what a forger makes by swapping a
    file, rebuilding seal.json and the chain, and dropping seal.tsr: without trusted time it does not verify."""
    folder = make_sealed_bundle(tmp_path / "evidence", tsa=None, agency=agency)
    assert TOKEN_FILE not in _files(folder)
    report = verify_bundle(folder, agency_ca=agency.ca_file)
    assert not report.ok and len(report.problems) == 1 and "no trusted time" in report.problems[0]
    lenient = verify_bundle(folder, allow_unstamped=True, agency_ca=agency.ca_file)
    assert lenient.ok, format_report(lenient)
    assert lenient.warnings == [
        "time stamp: no seal.tsr (no time-stamping authority is configured): integrity only, no trusted time for "
        "seal.json",
        "capture time stamp: no capture-seal.tsr (no time-stamping authority is configured): integrity only, no "
        "trusted time for capture-seal.json",
    ]


def test_a_bundle_nobody_signed_fails_unless_integrity_only_is_asked_for(tmp_path: Path, tsa: LocalTsa) -> None:
    """A TSA stamps whatever it is sent: a stamped bundle that no agency key signed could be anyone's rebuild."""
    folder = make_sealed_bundle(tmp_path / "evidence", tsa=tsa, agency=None)
    assert "seal.sig" not in _files(folder)
    report = verify_bundle(folder, certificate=tsa.certificate, ca_file=tsa.ca_file)
    assert report.problems == [
        "agency signature: no seal.sig: no agency key vouches for seal.json, so anyone could have rebuilt it "
        "(takedown verify --allow-unsigned accepts this as integrity only)"
    ]
    lenient = verify_bundle(folder, certificate=tsa.certificate, ca_file=tsa.ca_file, allow_unsigned=True)
    assert lenient.ok and len(lenient.warnings) == 1 and "integrity only" in lenient.warnings[0]


# -- tampering with files ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_flipping_any_byte_of_any_file_fails_and_names_it(
    pristine: Path, tsa: LocalTsa, tmp_path: Path, agency: SigningSettings
) -> None:
    names = _files(pristine)
    assert len(names) == 10
    tried = 0
    for name in names:
        size = (pristine / name).stat().st_size
        for offset in sorted({0, 1, size // 3, size // 2, size - 2, size - 1}):
            folder = tmp_path / f"{tried}" / pristine.name
            shutil.copytree(pristine, folder)
            data = bytearray((folder / name).read_bytes())
            data[offset] ^= 0x01
            (folder / name).write_bytes(bytes(data))
            report = _verify(folder, tsa, agency)
            where = f"{name} byte {offset}"
            assert not report.ok, where
            assert any(name in problem for problem in report.problems), (where, report.problems)
            tried += 1
    assert tried >= 30


@pytest.mark.slow
@pytest.mark.parametrize("name", [TOKEN_FILE, SEAL_FILE, CUSTODY, "manifest.json"])
def test_every_single_bit_flip_of_the_seal_stamp_custody_and_manifest_fails_without_a_crash(
    pristine: Path, tsa: LocalTsa, tmp_path: Path, name: str, agency: SigningSettings
) -> None:
    """verify never raises for a damaged bundle: each of these files with any one byte altered is a clean, failed
    verdict (the time-stamp token's contents are parsed lazily by its reader, and a damaged certificate inside it
    used to escape as ``ValueError`` or ``InvalidVersion``)."""
    folder = tmp_path / pristine.name
    shutil.copytree(pristine, folder)
    data = (folder / name).read_bytes()
    passed = []
    for offset in range(len(data)):
        altered = bytearray(data)
        altered[offset] ^= 0x01
        (folder / name).write_bytes(bytes(altered))
        if _verify(folder, tsa, agency).ok:
            passed.append(offset)
    assert len(data) > 500 and passed == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["page.html", "manifest.json", "media", SEAL_FILE, TOKEN_FILE, CUSTODY])
def test_a_deleted_file_fails_and_is_named(bundle: Path, tsa: LocalTsa, name: str, agency: SigningSettings) -> None:
    if name == "media":
        name = next(f for f in _files(bundle) if f.startswith("media/"))
    (bundle / name).unlink()
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any(name in p and "missing" in p for p in report.problems), report.problems


@pytest.mark.slow
def test_a_file_added_after_sealing_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    (bundle / "media" / "later-copy.png").write_bytes(b"added after sealing")
    (bundle / "notes.txt").write_text("a viewer's notes")
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert report.problems == [
        "unlisted files: 2 file(s) not in seal.json: media/later-copy.png, notes.txt (added after sealing: a bundle "
        "holds its sealed files only; move them out to verify what was sealed)"
    ]


@pytest.mark.slow
def test_a_file_replaced_with_the_seal_rewritten_is_caught_by_custody_and_stamp(
    bundle: Path, tsa: LocalTsa, agency: SigningSettings
) -> None:
    """Someone swaps page.html and rewrites seal.json to match: custody and the time stamp both say so."""
    new_page = b"<html>a different page</html>"
    (bundle / "page.html").write_bytes(new_page)
    seal = json.loads((bundle / SEAL_FILE).read_text(encoding="utf-8"))
    for entry in seal["artifacts"]:
        if entry["path"] == "page.html":
            entry.update(sha256=hashlib.sha256(new_page).hexdigest(), size=len(new_page))
    (bundle / SEAL_FILE).write_text(json.dumps(seal, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    failed = {c.name for c in report.checks if not c.ok and c.level == "error"}
    assert failed == {"custody records the seal", "custody records each file", "agency signature", "time stamp",
                      "capture seal"}
    assert "file page.html" not in failed  # the file matches the forged seal, so only the records catch it


@pytest.mark.slow
def test_a_seal_listing_a_path_outside_the_folder_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    seal = json.loads((bundle / SEAL_FILE).read_text(encoding="utf-8"))
    seal["artifacts"].append({"path": "../../etc/passwd", "sha256": "0" * 64, "size": 1})
    (bundle / SEAL_FILE).write_text(json.dumps(seal), encoding="utf-8")
    report = _verify(bundle, tsa, agency)
    assert "file ../../etc/passwd: seal.json lists '../../etc/passwd', which is not a file of the bundle" in (
        report.problems
    )


# -- tampering with the custody log ------------------------------------------------------------------------


@pytest.mark.slow
def test_an_event_inserted_in_the_middle_breaks_the_chain(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    events = load_custody(bundle / CUSTODY)
    forged = _forge(events[1], "viewed", {"by": "Mallory"})
    _rewrite_custody(bundle, [*events[:2], forged, *events[2:]])
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any(p.startswith(f"custody chain: {CUSTODY}: the hash chain is broken") for p in report.problems)


@pytest.mark.slow
def test_an_appended_event_with_a_made_up_hash_breaks_the_chain(
    bundle: Path, tsa: LocalTsa, agency: SigningSettings
) -> None:
    events = load_custody(bundle / CUSTODY)
    fake = events[-1].model_copy(update={"seq": events[-1].seq + 1, "action": "viewed"})
    _rewrite_custody(bundle, [*events, fake])
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any("the hash chain is broken" in p and "does not follow" in p for p in report.problems)


@pytest.mark.slow
def test_appended_events_that_contradict_the_record_fail(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    """A correctly chained event can be appended by anyone; one that contradicts the seal is still caught."""
    events = load_custody(bundle / CUSTODY)
    page = next(e for e in events if e.action == "hashed" and e.details["path"].endswith("/page.html"))
    rehashed = _forge(events[-1], "hashed", {**page.details, "sha256": "ab" * 32})
    _rewrite_custody(bundle, [*events, rehashed])
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any("custody records each file" in p and "page.html" in p for p in report.problems)

    resealed = _forge(events[-1], "sealed", {"sha256": "cd" * 32})
    _rewrite_custody(bundle, [*events, resealed])
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any("custody records the seal" in p and "seal.json was altered or replaced" in p
               for p in report.problems)


@pytest.mark.slow
def test_a_reordered_custody_line_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    lines = (bundle / CUSTODY).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    (bundle / CUSTODY).write_text("".join(lines), encoding="utf-8")
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any("expected number 2" in p for p in report.problems)


@pytest.mark.slow
def test_a_removed_custody_line_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    lines = (bundle / CUSTODY).read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[1]
    (bundle / CUSTODY).write_text("".join(lines), encoding="utf-8")
    assert not _verify(bundle, tsa, agency).ok


@pytest.mark.slow
def test_custody_about_another_subject_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    events = load_custody(bundle / CUSTODY)
    other = [e.model_copy(update={"subject": "bnd-other"}) for e in events]
    _rewrite_custody(bundle, other)
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any("custody subject" in p and "bnd-other" in p for p in report.problems)


# -- tampering with the time stamp -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_token_for_another_digest_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    other = hashlib.sha256(b"another bundle's seal").digest()
    (bundle / TOKEN_FILE).write_bytes(tsa.reply(encode_request(other, nonce=7)))
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    (problem,) = [p for p in report.problems if p.startswith("time stamp:")]
    assert f"seal.tsr: the token stamps the digest {other.hex()}" in problem
    assert "seal.tsr was altered or replaced" in problem


@pytest.mark.slow
def test_the_token_of_another_bundle_fails(
    bundle: Path, tsa: LocalTsa, tmp_path: Path, agency: SigningSettings
) -> None:
    second = make_sealed_bundle(tmp_path / "second", tsa=tsa, agency=agency, url="https://mock.example/post/2")
    shutil.copyfile(second / TOKEN_FILE, bundle / TOKEN_FILE)
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any("time stamp: seal.tsr: the token stamps the digest" in p for p in report.problems)


@pytest.mark.slow
def test_a_wrong_tsa_certificate_or_ca_fails(
    bundle: Path, tsa: LocalTsa, other_tsa: LocalTsa, agency: SigningSettings
) -> None:
    wrong_cert = verify_bundle(bundle, certificate=other_tsa.certificate, ca_file=tsa.ca_file,
                               agency_ca=agency.ca_file)
    assert not wrong_cert.ok
    assert [p.split(":")[0] for p in wrong_cert.problems] == ["time-stamp signature", "capture time-stamp signature"]
    assert "does not match" in wrong_cert.problems[0]
    wrong_ca = verify_bundle(bundle, ca_file=other_tsa.ca_file, agency_ca=agency.ca_file)
    assert not wrong_ca.ok
    assert "unable to get local issuer certificate" in wrong_ca.problems[0]
    assert "FAIL  time-stamp signature" in format_report(wrong_ca)


@pytest.mark.slow
def test_a_stamp_the_custody_log_does_not_record_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    events = load_custody(bundle / CUSTODY)
    assert events[-1].action == "timestamped"
    _rewrite_custody(bundle, events[:-1])
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any("records no time stamp, yet seal.tsr is there" in p for p in report.problems)


# -- the report --------------------------------------------------------------------------------------------


def test_an_empty_folder_is_not_a_bundle(tmp_path: Path) -> None:
    report = verify_bundle(tmp_path)
    assert not report.ok
    assert report.bundle is None
    assert report.problems[:2] == [
        "seal.json: seal.json is missing: the folder is not a sealed bundle",
        "custody.jsonl: custody.jsonl is missing: the custody log was not exported with the bundle",
    ]
    text = format_report(report)
    assert "Bundle (unknown)" in text
    assert "FAILED (4 problem(s))" in text
    assert "What fails:\n  - seal.json: seal.json is missing" in text


def test_report_properties_separate_errors_from_warnings() -> None:
    report = VerificationReport(folder="x", ok=True, checks=[
        Check(name="a", ok=True, detail="fine"),
        Check(name="b", ok=False, detail="odd", level="warning"),
    ])
    assert report.problems == []
    assert report.warnings == ["b: odd"]
    assert "warn  b: odd" in format_report(report)


# -- forgeries: a complete rebuild by someone without the agency's key ---------------------------------------


def _rechain(events: list[CustodyEvent], swapped: dict[str, str], folder: Path) -> list[CustodyEvent]:
    """``events`` with every swapped hash replaced in their details, sizes of 'hashed' files taken from disk, and the
    hash chain computed anew: what anyone can do, since the chain holds no secret."""
    out: list[CustodyEvent] = []
    prev = events[0].prev_hash
    for seq, event in enumerate(events, start=1):
        details = {k: swapped.get(v, v) for k, v in event.details.items()}
        if event.action == "hashed":
            details["size"] = str((folder / details["path"].split("/", 2)[2]).stat().st_size)
        digest = CustodyEvent.compute_hash(seq=seq, subject=event.subject, action=event.action, actor=event.actor,
                                           at=event.at, details=details, prev_hash=prev)
        out.append(event.model_copy(update={"seq": seq, "details": details, "prev_hash": prev, "hash": digest}))
        prev = digest
    return out


def _write_json(path: Path, document: dict[str, object]) -> None:
    path.write_bytes((json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode())


def forge(folder: Path, *, signer: AgencySigner | None, tsa: TsaClient | None) -> None:
    """Swap the picture for other bytes and rebuild everything consistently: the capture seal and its stamp, the
    custody chain up to the head, the seal, a signature by ``signer`` (none: no seal.sig) and a stamp by ``tsa``
    (none: no seal.tsr), and the custody chain after it."""
    sha = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    picture = next((folder / "media").iterdir())
    swapped = {sha(picture): ""}
    picture.write_bytes(b"forged synthetic bytes".ljust(picture.stat().st_size, b"."))
    swapped[next(iter(swapped))] = sha(picture)

    def refresh(document: dict[str, Any]) -> None:
        document["artifacts"] = [e for e in document["artifacts"] if (folder / e["path"]).exists()]
        for entry in document["artifacts"]:
            entry.update(sha256=sha(folder / entry["path"]), size=(folder / entry["path"]).stat().st_size)

    def stamp(name: str, token: str) -> None:
        old = sha(folder / token) if (folder / token).exists() else None
        (folder / token).unlink(missing_ok=True)
        if tsa is not None:
            (folder / token).write_bytes(base64.b64decode(tsa.stamp(bytes.fromhex(sha(folder / name))).token_der_b64))
            if old:
                swapped[old] = sha(folder / token)

    early = json.loads((folder / CAPTURE_SEAL_FILE).read_text(encoding="utf-8"))
    before = sha(folder / CAPTURE_SEAL_FILE)
    refresh(early)
    _write_json(folder / CAPTURE_SEAL_FILE, early)
    swapped[before] = sha(folder / CAPTURE_SEAL_FILE)
    stamp(CAPTURE_SEAL_FILE, CAPTURE_TOKEN_FILE)

    events = load_custody(folder / CUSTODY)
    if tsa is None:
        events = [e for e in events if e.action not in ("timestamped", "capture_timestamped")
                  and not (e.action == "hashed" and e.details["path"].endswith(CAPTURE_TOKEN_FILE))]
    first_hashed = next(i for i, e in enumerate(events) if e.action == "hashed")
    head = _rechain(events[:first_hashed], swapped, folder)[-1].hash
    seal = json.loads((folder / SEAL_FILE).read_text(encoding="utf-8"))
    before = sha(folder / SEAL_FILE)
    refresh(seal)
    seal["custody_head"] = head
    _write_json(folder / SEAL_FILE, seal)
    swapped[before] = sha(folder / SEAL_FILE)
    if signer is None:
        (folder / "seal.sig").unlink()
        (folder / "seal.pem").unlink()
        events = [e for e in events if e.action != "signed"]
    else:
        signature = signer.sign((folder / SEAL_FILE).read_bytes())
        for name, data in (("seal.sig", signature), ("seal.pem", signer.chain_pem())):
            before = sha(folder / name)
            (folder / name).write_bytes(data)
            swapped[before] = sha(folder / name)
        events = [e.model_copy(update={"details": {**e.details, "signer": signer.name}}) if e.action == "signed" else e
                  for e in events]
    stamp(SEAL_FILE, TOKEN_FILE)
    _rewrite_custody(folder, _rechain(events, swapped, folder))


@pytest.fixture
def forger(other_agency: SigningSettings) -> AgencySigner:
    """A key and certificate of the forger's own, under the same agency name as the real one."""
    signer = AgencySigner.from_settings(other_agency)
    assert signer is not None
    return signer


@pytest.mark.slow
def test_a_media_swap_resealed_and_signed_with_another_key_and_stamped_by_the_real_tsa_fails(
    bundle: Path, tsa: LocalTsa, agency: SigningSettings, other_agency: SigningSettings, forger: AgencySigner
) -> None:
    with TsaClient(tsa.settings()) as real_tsa:
        forge(bundle, signer=forger, tsa=real_tsa)
    # The rebuild is complete: under the forger's own CA it verifies...
    assert _verify(bundle, tsa, other_agency).ok, format_report(_verify(bundle, tsa, other_agency))
    # ...but not under the agency's: only the key is missing.
    report = _verify(bundle, tsa, agency)
    assert [p.split(":")[0] for p in report.problems] == ["agency signature"]
    assert "does not chain to a trusted agency CA" in report.problems[0]
    cli = subprocess.run([sys.executable, "-m", "takedown", "verify", str(bundle), "--tsa-cert", str(tsa.certificate),
                          "--ca-file", str(tsa.ca_file), "--agency-ca", str(agency.ca_file)],
                         capture_output=True, text=True, check=False)
    assert cli.returncode == 1 and "does not chain to a trusted agency CA" in " ".join(cli.stdout.split())


@pytest.mark.slow
def test_a_media_swap_resealed_without_a_signature_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    with TsaClient(tsa.settings()) as real_tsa:
        forge(bundle, signer=None, tsa=real_tsa)
    assert verify_bundle(bundle, certificate=tsa.certificate, ca_file=tsa.ca_file, allow_unsigned=True).ok
    report = _verify(bundle, tsa, agency)
    assert [p.split(":")[0] for p in report.problems] == ["agency signature"]
    assert "no seal.sig" in report.problems[0]


@pytest.mark.slow
def test_a_media_swap_resealed_with_a_self_made_tsa_and_key_fails(
    bundle: Path, tsa: LocalTsa, other_tsa: LocalTsa, agency: SigningSettings, other_agency: SigningSettings,
    forger: AgencySigner,
) -> None:
    with TsaClient(other_tsa.settings()) as own_tsa:
        forge(bundle, signer=forger, tsa=own_tsa)
    assert _verify(bundle, other_tsa, other_agency).ok
    report = _verify(bundle, tsa, agency)
    assert {p.split(":")[0] for p in report.problems} == {
        "agency signature", "time-stamp signature", "capture time-stamp signature"}


@pytest.mark.slow
def test_a_media_swap_resealed_with_the_stamps_stripped_fails(
    bundle: Path, tsa: LocalTsa, agency: SigningSettings, other_agency: SigningSettings, forger: AgencySigner
) -> None:
    forge(bundle, signer=forger, tsa=None)
    lenient = verify_bundle(bundle, agency_ca=other_agency.ca_file, allow_unstamped=True)
    assert lenient.ok, format_report(lenient)
    report = _verify(bundle, tsa, agency)
    assert {p.split(":")[0] for p in report.problems} == {"agency signature", "time stamp"}


@pytest.mark.slow
def test_stripping_the_stamp_and_its_custody_line_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    events = load_custody(bundle / CUSTODY)
    assert events[-1].action == "timestamped"
    (bundle / TOKEN_FILE).unlink()
    _rewrite_custody(bundle, events[:-1])
    report = _verify(bundle, tsa, agency)
    assert [p.split(":")[0] for p in report.problems] == ["time stamp"]
    assert "no trusted time" in report.problems[0]
    # Saying why there is no stamp does not help either.
    _rewrite_custody(bundle, [*events[:-1], _forge(events[-2], "not_timestamped", {"reason": "the TSA was down"})])
    assert [p.split(":")[0] for p in _verify(bundle, tsa, agency).problems] == ["time stamp"]


@pytest.mark.slow
@pytest.mark.parametrize("action", ["viewed", "hashed", "sealed", "timestamped"])
def test_an_event_appended_with_a_correct_chain_hash_fails(
    bundle: Path, tsa: LocalTsa, agency: SigningSettings, action: str
) -> None:
    events = load_custody(bundle / CUSTODY)
    last = events[-1]
    _rewrite_custody(bundle, [*events, _forge(last, action, dict(last.details) if action == last.action else {})])
    report = _verify(bundle, tsa, agency)
    assert not report.ok
    assert any(p.startswith("custody ends with the seal:") and "appended after sealing" in p
               for p in report.problems), report.problems


@pytest.mark.slow
def test_a_custody_log_rewritten_before_the_head_fails(bundle: Path, tsa: LocalTsa, agency: SigningSettings) -> None:
    """The seal records the hash of the last event before it: rewriting an earlier event, even with the whole chain
    recomputed, loses that head."""
    events = load_custody(bundle / CUSTODY)
    first = events[0].model_copy(update={"details": {**events[0].details, "url": "https://elsewhere.example/"}})
    _rewrite_custody(bundle, _rechain([first, *events[1:]], {}, bundle))
    report = _verify(bundle, tsa, agency)
    assert any(p.startswith("custody ends with the seal:") and "was rewritten" in p for p in report.problems)
