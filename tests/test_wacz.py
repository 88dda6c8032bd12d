"""WACZ packages: layout, validity for py-wacz, determinism, the agency's anonymous signature and what breaks it.

All archived content is synthetic; the servers are on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils
from cryptography.x509.oid import NameOID

from takedown.demo.site import DemoSite
from takedown.evidence.capture import CaptureConfig, Capturer
from takedown.evidence.signing import AgencySigner
from takedown.evidence.wacz import WACZ_VERSION, WaczPage, check_wacz, write_wacz
from takedown.evidence.warc import HttpExchange, WarcRecorder
from takedown.models import EvidenceBundle
from takedown.settings import EvidenceSettings, NetworkSettings, Settings, SigningSettings

WACZ = Path(sys.executable).parent / "wacz"
WHEN = datetime(2026, 3, 1, 9, 30, 16, tzinfo=UTC)  # even seconds: ZIP times have 2 s steps


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(WACZ), "validate", "-f", str(path)], capture_output=True, text=True, timeout=120)


def warcs(folder: Path) -> list[Path]:
    """Two small WARC files: a page and a picture in one, the same page as a browser saw it in the other."""
    page = b"<!doctype html><title>Synthetic post</title><img src='/a.png'>"
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    paths = []
    for name, items in (("capture.warc.gz", [("/", page, "text/html"), ("/a.png", picture, "image/png")]),
                        ("browser.warc.gz", [("/", page, "text/html")])):
        with WarcRecorder(folder / name, operator="officer-7") as recorder:
            for path, body, kind in items:
                recorder.write_exchange(HttpExchange(
                    url=f"http://93.184.215.14{path}", started_at=WHEN,
                    request_head=f"GET {path} HTTP/1.1\r\nHost: 93.184.215.14\r\n\r\n".encode(),
                    response_head=f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nX-Odd-CASE: 1\r\n\r\n".encode(),
                    response_body=body, metadata={"note": "synthetic"},
                ))
        paths.append(folder / name)
    return paths


def p384_identity(folder: Path, name: str = "Synthetic Agency") -> SigningSettings:
    """A self-signed ECDSA P-384 signing certificate and its key (what a WACZ signature needs)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(WHEN - timedelta(days=1))
            .not_valid_after(WHEN + timedelta(days=3650)).sign(key, hashes.SHA384()))
    (folder / "agency.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (folder / "agency.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return SigningSettings(key=folder / "agency.key", certificate=folder / "agency.pem", ca_file=folder / "agency.pem")


def signer(settings: SigningSettings) -> AgencySigner:
    loaded = AgencySigner.from_settings(settings)
    assert loaded is not None
    return loaded


def rewrite(source: Path, target: Path, changes: dict[str, bytes]) -> None:
    """A copy of a ZIP file with some members' contents replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info, changes.get(info.filename, old.read(info.filename)))


def test_a_wacz_holds_the_warcs_an_index_and_the_page(tmp_path: Path) -> None:
    files = warcs(tmp_path)
    page = WaczPage(url="http://93.184.215.14/", ts=WHEN, title="Synthetic post")
    info = write_wacz(tmp_path / "archive.wacz", files, pages=[page], created=WHEN, title="takedown capture bnd-1",
                      description="case c, finding f")
    assert not info.signed and info.signature.startswith("unsigned: no agency signing key")
    result = validate(info.path)
    assert result.returncode == 0 and "Validation succeeded" in result.stdout, result.stdout
    assert check_wacz(info.path) == []

    with zipfile.ZipFile(info.path) as package:
        assert package.namelist() == [
            "archive/capture.warc.gz", "archive/browser.warc.gz", "indexes/index.cdx", "pages/pages.jsonl",
            "datapackage.json", "datapackage-digest.json",
        ]
        for name, source in zip(package.namelist()[:2], files, strict=True):  # stored, for range reads
            assert package.getinfo(name).compress_type == zipfile.ZIP_STORED
            assert package.read(name) == source.read_bytes()
        index = package.read("indexes/index.cdx").decode().splitlines()
        datapackage = json.loads(package.read("datapackage.json"))
        digest = json.loads(package.read("datapackage-digest.json"))
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()]
        assert all(i.date_time == (2026, 3, 1, 9, 30, 16) for i in package.infolist())

    # CDXJ: sorted SURT keys; the page twice (one per WARC), the picture once; metadata records left out
    assert index == sorted(index) and len(index) == info.index_lines == 3
    keys = [json.loads(line.split(" ", 2)[2]) for line in index]
    assert sorted((k["url"], k["filename"]) for k in keys) == [
        ("http://93.184.215.14/", "browser.warc.gz"), ("http://93.184.215.14/", "capture.warc.gz"),
        ("http://93.184.215.14/a.png", "capture.warc.gz"),
    ]
    assert [line.split(" ", 2)[:2] for line in index] == [["14,215,184,93)/", "20260301093016"]] * 2 + [
        ["14,215,184,93)/a.png", "20260301093016"]]
    assert pages == [{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"},
                     {"id": "page-1", "url": "http://93.184.215.14/", "ts": "2026-03-01T09:30:16Z",
                      "title": "Synthetic post"}]
    assert datapackage["profile"] == "data-package" and datapackage["wacz_version"] == WACZ_VERSION == "1.1.1"
    assert datapackage["created"] == "2026-03-01T09:30:16Z" and datapackage["software"].startswith("takedown ")
    assert datapackage["mainPageURL"] == "http://93.184.215.14/" and datapackage["title"] == "takedown capture bnd-1"
    for resource in datapackage["resources"]:
        with zipfile.ZipFile(info.path) as package:
            data = package.read(resource["path"])
        assert resource["hash"] == f"sha256:{hashlib.sha256(data).hexdigest()}" and resource["bytes"] == len(data)
    assert digest == {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(
        zipfile.ZipFile(info.path).read("datapackage.json")).hexdigest()}

    # the same inputs give the same bytes
    again = write_wacz(tmp_path / "again.wacz", files, pages=[page], created=WHEN, title="takedown capture bnd-1",
                       description="case c, finding f")
    assert again.path.read_bytes() == info.path.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_agency_p384_key_signs_and_any_change_breaks_it(tmp_path: Path) -> None:
    settings = p384_identity(tmp_path / "agency")
    agency = signer(settings)
    info = write_wacz(tmp_path / "archive.wacz", warcs(tmp_path), created=WHEN, signer=agency,
                      pages=[WaczPage(url="http://93.184.215.14/", ts=WHEN)])
    assert info.signed and info.signature == "ECDSA P-384 (SHA-256), key of Synthetic Agency"
    with zipfile.ZipFile(info.path) as package:
        datapackage = package.read("datapackage.json")
        digest = json.loads(package.read("datapackage-digest.json"))
    signed = digest["signedData"]
    # exactly the fields of an anonymous signature (WACZ Signing and Verification 0.1.0)
    assert set(signed) == {"hash", "created", "software", "version", "signature", "publicKey"}
    assert signed["hash"] == digest["hash"] == f"sha256:{hashlib.sha256(datapackage).hexdigest()}"
    assert signed["created"] == json.loads(datapackage)["created"] and signed["version"] == "0.1.0"

    # checked here without takedown: the key is the agency certificate's, the signature is r || s over the hash
    certificate = x509.load_pem_x509_certificate((tmp_path / "agency" / "agency.pem").read_bytes())
    public = certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert base64.b64decode(signed["publicKey"]) == spki
    raw = base64.b64decode(signed["signature"])
    assert len(raw) == 96
    der = utils.encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    public.verify(der, signed["hash"].encode(), ec.ECDSA(hashes.SHA256()))

    assert check_wacz(info.path) == [] and check_wacz(info.path, public_key=public) == []
    stranger = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert check_wacz(info.path, public_key=stranger) == ["the WACZ is signed by another key than the one expected"]
    result = validate(info.path)
    assert result.returncode == 0 and "Has signature" in result.stdout, result.stdout

    # a changed datapackage.json: its digest no longer fits (and a recomputed digest would not fit the signature)
    changed = json.loads(datapackage)
    changed["title"] = "something else"
    tampered = tmp_path / "tampered.wacz"
    rewrite(info.path, tampered, {"datapackage.json": json.dumps(changed, indent=2).encode()})
    assert "datapackage.json does not match the hash in datapackage-digest.json" in check_wacz(tampered)
    assert validate(tampered).returncode == 1
    forged_hash = f"sha256:{hashlib.sha256(json.dumps(changed, indent=2).encode()).hexdigest()}"
    forged = {**digest, "hash": forged_hash, "signedData": {**signed, "hash": forged_hash}}
    rewrite(info.path, tampered, {"datapackage.json": json.dumps(changed, indent=2).encode(),
                                  "datapackage-digest.json": json.dumps(forged).encode()})
    assert check_wacz(tampered) == ["the signature does not verify with its public key"]

    # a changed WARC: its hash in datapackage.json no longer fits
    with zipfile.ZipFile(info.path) as package:
        warc = bytearray(package.read("archive/capture.warc.gz"))
    warc[-5] ^= 0xFF
    rewrite(info.path, tampered, {"archive/capture.warc.gz": bytes(warc)})
    assert check_wacz(tampered) == ["archive/capture.warc.gz does not match its hash or size in datapackage.json"]
    assert validate(tampered).returncode == 1
    assert check_wacz(tmp_path / "agency" / "agency.pem")[0].startswith("the WACZ cannot be read")


def test_other_agency_keys_leave_the_wacz_unsigned_and_say_why(tmp_path: Path) -> None:
    files = warcs(tmp_path)
    page = [WaczPage(url="http://93.184.215.14/", ts=WHEN)]
    p256 = AgencySigner(key=ec.generate_private_key(ec.SECP256R1()), chain=(), key_path=tmp_path / "k",
                        certificate_path=tmp_path / "c")
    info = write_wacz(tmp_path / "a.wacz", files, pages=page, created=WHEN, signer=p256)
    assert not info.signed and "ECDSA on secp256r1" in info.signature and "P-384" in info.signature
    assert "signedData" not in json.loads(zipfile.ZipFile(info.path).read("datapackage-digest.json"))
    assert check_wacz(info.path) == [] and check_wacz(info.path, public_key=ec.generate_private_key(
        ec.SECP384R1()).public_key()) == ["the WACZ is not signed"]
    assert validate(info.path).returncode == 0

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_signer = AgencySigner(key=rsa_key, chain=(), key_path=tmp_path / "k", certificate_path=tmp_path / "c")
    info = write_wacz(tmp_path / "b.wacz", files, pages=page, created=WHEN, signer=rsa_signer)
    assert not info.signed and info.signature.startswith("unsigned: the agency key is RSA")


@pytest.mark.slow
def test_a_capture_packs_a_wacz_signed_with_the_agency_key(demo_site: DemoSite, tmp_path: Path) -> None:
    identity = p384_identity(tmp_path / "agency")
    settings = Settings(signing=identity, network=NetworkSettings(allow_loopback=True, timeout_s=5),
                        evidence=EvidenceSettings(screenshot=False))
    post = next(p for p in demo_site.manifest.posts if p.media)
    url = demo_site.url_for(post.id)
    root = tmp_path / "evidence"

    async def go() -> EvidenceBundle:
        async with Capturer(CaptureConfig.from_settings(settings, operator="officer-7")) as capturer:
            return await capturer.capture_url(url, out=root / "case" / "b1", root=root, case_id="case",
                                              finding_id="fnd-1")

    bundle = asyncio.run(go())
    assert bundle.error is None
    assert bundle.capture["wacz_signature"] == "ECDSA P-384 (SHA-256), key of Synthetic Agency"
    wacz = [a for a in bundle.artifacts if a.role == "wacz"]
    assert len(wacz) == 1 and wacz[0].media_type == "application/wacz" and bundle.artifacts[-1] == wacz[0]
    path = root / wacz[0].path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == wacz[0].sha256
    certificate = x509.load_pem_x509_certificate((tmp_path / "agency" / "agency.pem").read_bytes())
    public = certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert check_wacz(path, public_key=public) == []
    result = validate(path)
    assert result.returncode == 0, result.stdout
    with zipfile.ZipFile(path) as package:
        warc = next(a for a in bundle.artifacts if a.role == "warc")
        assert package.read("archive/capture.warc.gz") == (root / warc.path).read_bytes()
        datapackage = json.loads(package.read("datapackage.json"))
    assert datapackage["mainPageURL"] == url and post.title in package_title(path)
    assert datapackage["created"] == datetime.fromisoformat(bundle.capture["finished_at_utc"]).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def package_title(path: Path) -> str:
    with zipfile.ZipFile(path) as package:
        return str(json.loads(package.read("pages/pages.jsonl").splitlines()[1]).get("title", ""))
