"""The agency's signature: signing, checking against a trusted CA, and what openssl says about the same files."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from takedown.errors import ConfigError
from takedown.evidence.signing import AgencySigner, make_agency_identity, verify_signature
from takedown.settings import SigningSettings

DATA = b'{"format": "takedown-seal/2", "synthetic": true}\n'


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> SigningSettings:
    return make_agency_identity(tmp_path_factory.mktemp("agency"), name="시험 지원센터")


@pytest.fixture(scope="module")
def signer(agency: SigningSettings) -> AgencySigner:
    loaded = AgencySigner.from_settings(agency)
    assert loaded is not None
    return loaded


def test_a_signature_verifies_under_the_agency_ca_only(signer: AgencySigner, agency: SigningSettings,
                                                        tmp_path: Path) -> None:
    assert agency.ca_file is not None
    signature = signer.sign(DATA)
    assert signer.name == "시험 지원센터"
    assert verify_signature(DATA, signature, signer.chain_pem(), ca_file=agency.ca_file, at=datetime.now(UTC)) == []
    assert verify_signature(DATA + b" ", signature, signer.chain_pem(), ca_file=agency.ca_file) == [
        "the signature does not verify with the key of 시험 지원센터"]
    other = make_agency_identity(tmp_path / "other", name="시험 지원센터")  # the same name, another CA
    assert other.ca_file is not None
    (problem,) = verify_signature(DATA, signature, signer.chain_pem(), ca_file=other.ca_file)
    assert "does not chain to a trusted agency CA" in problem


def test_a_signature_made_outside_the_certificate_validity_fails(signer: AgencySigner,
                                                                 agency: SigningSettings) -> None:
    assert agency.ca_file is not None
    later = datetime.now(UTC) + timedelta(days=365 * 20)
    problems = verify_signature(DATA, signer.sign(DATA), signer.chain_pem(), ca_file=agency.ca_file, at=later)
    assert problems and all("was not valid at" in p for p in problems)


@pytest.mark.parametrize(("signature", "chain"), [
    (b"", None), (b"\x30\x06\x02\x01\x01\x02\x01\x01", None), (b"x" * 5000, None),
    (None, b""), (None, b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), (None, b"\xff" * 64),
])
def test_malformed_signatures_and_chains_are_problems_not_crashes(
    signer: AgencySigner, agency: SigningSettings, signature: bytes | None, chain: bytes | None
) -> None:
    assert agency.ca_file is not None
    problems = verify_signature(DATA, signature if signature is not None else signer.sign(DATA),
                                chain if chain is not None else signer.chain_pem(), ca_file=agency.ca_file)
    assert problems


def test_a_missing_or_unreadable_ca_file_is_a_problem(signer: AgencySigner, tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_bytes(b"junk")
    for ca in (tmp_path / "missing.pem", tmp_path / "junk.pem"):
        (problem,) = verify_signature(DATA, signer.sign(DATA), signer.chain_pem(), ca_file=ca)
        assert "cannot be read" in problem


def test_openssl_checks_the_same_signature_and_chain(signer: AgencySigner, agency: SigningSettings,
                                                      tmp_path: Path) -> None:
    """What a court's expert runs, with nothing from takedown: the commands the signing module documents."""
    (tmp_path / "seal.json").write_bytes(DATA)
    (tmp_path / "seal.sig").write_bytes(signer.sign(DATA))
    (tmp_path / "seal.pem").write_bytes(signer.chain_pem())
    run = lambda *args: subprocess.run(["openssl", *args], cwd=tmp_path, capture_output=True, text=True,  # noqa: E731
                                       check=False)
    chain = run("verify", "-CAfile", str(agency.ca_file), "seal.pem")
    assert chain.returncode == 0 and "seal.pem: OK" in chain.stdout, chain.stderr
    public = run("x509", "-in", "seal.pem", "-pubkey", "-noout")
    (tmp_path / "pub.pem").write_text(public.stdout)
    good = run("dgst", "-sha256", "-verify", "pub.pem", "-signature", "seal.sig", "seal.json")
    assert good.returncode == 0 and "Verified OK" in good.stdout
    (tmp_path / "seal.json").write_bytes(DATA.replace(b"true", b"fals"))
    assert run("dgst", "-sha256", "-verify", "pub.pem", "-signature", "seal.sig", "seal.json").returncode == 1


def test_settings_without_a_key_sign_nothing_and_half_settings_are_refused(agency: SigningSettings) -> None:
    assert AgencySigner.from_settings(SigningSettings()) is None
    with pytest.raises(ConfigError, match="both key and certificate"):
        AgencySigner.from_settings(SigningSettings(key=agency.key))


def test_a_key_that_is_not_the_certificates_is_refused(agency: SigningSettings, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.key"
    stranger.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ConfigError, match="does not belong to the certificate"):
        AgencySigner.from_settings(agency.model_copy(update={"key": stranger}))
    with pytest.raises(ConfigError, match="cannot load"):
        AgencySigner.from_settings(agency.model_copy(update={"key": tmp_path / "missing.key"}))


def test_an_encrypted_key_needs_its_passphrase_from_the_environment(
    agency: SigningSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert agency.key is not None
    key = serialization.load_pem_private_key(agency.key.read_bytes(), password=None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"synthetic passphrase")))
    settings = agency.model_copy(update={"key": locked, "passphrase_env": "TEST_AGENCY_PASSPHRASE"})
    monkeypatch.delenv("TEST_AGENCY_PASSPHRASE", raising=False)
    with pytest.raises(ConfigError, match="TEST_AGENCY_PASSPHRASE, which is not set"):
        AgencySigner.from_settings(settings)
    monkeypatch.setenv("TEST_AGENCY_PASSPHRASE", "wrong")
    with pytest.raises(ConfigError, match="cannot load"):
        AgencySigner.from_settings(settings)
    monkeypatch.setenv("TEST_AGENCY_PASSPHRASE", "synthetic passphrase")
    loaded = AgencySigner.from_settings(settings)
    assert loaded is not None and loaded.name == "시험 지원센터"


def test_the_identity_is_made_once_and_reused(tmp_path: Path) -> None:
    first = make_agency_identity(tmp_path, name="Reused")
    assert first.certificate is not None and first.key is not None
    pem = first.certificate.read_bytes()
    assert make_agency_identity(tmp_path, name="Reused") == first
    assert first.certificate.read_bytes() == pem
    assert first.key.stat().st_mode & 0o077 == 0, "the key is readable by its owner only"
