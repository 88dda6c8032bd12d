"""The agency's signature: who sealed a bundle, checked against the agency's own trust anchor.

A time stamp proves that a bundle existed no later than the TSA's time, but a TSA stamps any digest it is sent: a
forger who rebuilds a bundle's seal and custody log can have the forgery stamped too. The agency's signature over
``seal.json`` closes that gap: re-sealing altered evidence then needs the agency's private key.

:class:`AgencySigner` signs with the key and certificate of ``[signing]`` (:class:`~takedown.settings.SigningSettings`);
:func:`verify_signature` checks a signature against a trusted CA. A sealed bundle keeps two files for it, both
readable with plain ``openssl``, so a court's expert needs nothing from this project:

```
seal.sig   the signature over seal.json, DER (ECDSA or RSA PKCS#1 v1.5 with SHA-256, or Ed25519)
seal.pem   the signing certificate, then any intermediates (PEM)
```

```
openssl verify -CAfile agency-ca.pem -untrusted seal.pem seal.pem
openssl x509 -in seal.pem -pubkey -noout > agency-pub.pem
openssl dgst -sha256 -verify agency-pub.pem -signature seal.sig seal.json     # ECDSA, RSA
```

The same key signs the PDF reports (PAdES) and the web archive (WACZ).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from takedown.errors import ConfigError
from takedown.settings import SigningSettings

__all__ = [
    "CHAIN_FILE",
    "SIGNATURE_FILE",
    "AgencySigner",
    "SigningKey",
    "certificate_name",
    "load_chain",
    "make_agency_identity",
    "verify_signature",
]

SIGNATURE_FILE: Final = "seal.sig"
"""The signature over ``seal.json`` in a bundle's folder (DER)."""

CHAIN_FILE: Final = "seal.pem"
"""The signing certificate and its intermediates in a bundle's folder (PEM)."""

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
"""The kinds of private key an agency may sign with."""

_MAX_CHAIN: Final = 8  # intermediates followed at most, so a looping chain ends
_MAX_PEM_BYTES: Final = 1 << 20


def _sign(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


def _check(public: object, signature: bytes, data: bytes) -> None:
    """Raises ``InvalidSignature`` (or ``ValueError`` for a malformed one) unless ``signature`` signs ``data``."""
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(signature, data)
    else:
        raise InvalidSignature(f"unsupported public key type {type(public).__name__}")


def load_chain(data: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM chain, leaf first.

    Raises:
        ValueError: the data holds no readable PEM certificate.
    """
    if len(data) > _MAX_PEM_BYTES:
        raise ValueError(f"the certificate chain is {len(data)} bytes, more than any chain needs")
    chain = x509.load_pem_x509_certificates(data)
    if not chain:
        raise ValueError("no certificate")
    return chain


def certificate_name(certificate: x509.Certificate) -> str:
    """The subject's common name (or the whole subject when it has none), for people to read."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else certificate.subject.rfc4514_string()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class AgencySigner:
    """The agency's signing key and certificate chain, loaded from ``[signing]``.

    Attributes:
        key: the private key.
        chain: the signing certificate, then its intermediates.
        key_path: where the key was read from (pyHanko signs PDFs from the files).
        certificate_path: where the chain was read from.
    """

    key: SigningKey
    chain: tuple[x509.Certificate, ...]
    key_path: Path
    certificate_path: Path

    @classmethod
    def from_settings(cls, settings: SigningSettings) -> AgencySigner | None:
        """The signer that ``settings`` configure, or ``None`` when no key is set.

        Raises:
            ConfigError: only one of key and certificate is set; a file cannot be read; the key is not one this
                module signs with, is encrypted without a passphrase, or does not match the certificate.
        """
        if settings.key is None and settings.certificate is None:
            return None
        if settings.key is None or settings.certificate is None:
            raise ConfigError("[signing] needs both key and certificate (or neither)")
        passphrase: bytes | None = None
        if settings.passphrase_env:
            value = os.environ.get(settings.passphrase_env)
            if value is None:
                raise ConfigError(f"[signing] passphrase_env names {settings.passphrase_env}, which is not set")
            passphrase = value.encode("utf-8")
        try:
            key = serialization.load_pem_private_key(settings.key.read_bytes(), password=passphrase)
            chain = load_chain(settings.certificate.read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"[signing] cannot load the agency's key and certificate: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
            raise ConfigError(f"[signing] key {settings.key}: a {type(key).__name__} cannot sign here (use ECDSA, "
                              "RSA or Ed25519)")
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if key.public_key().public_bytes(der, public) != chain[0].public_key().public_bytes(der, public):
            raise ConfigError(f"[signing] key {settings.key} does not belong to the certificate {settings.certificate}")
        return cls(key=key, chain=tuple(chain), key_path=settings.key, certificate_path=settings.certificate)

    @property
    def name(self) -> str:
        """Who signs: the signing certificate's common name."""
        return certificate_name(self.chain[0])

    def sign(self, data: bytes) -> bytes:
        """A detached signature over ``data`` (DER for ECDSA; SHA-256 for ECDSA and RSA)."""
        return _sign(self.key, data)

    def chain_pem(self) -> bytes:
        """The certificate chain as PEM, leaf first (what a bundle keeps as ``seal.pem``)."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)


def _valid_at(certificate: x509.Certificate, at: datetime | None) -> str | None:
    if at is None:
        return None
    if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
        return (f"the certificate of {certificate_name(certificate)} was not valid at {at.isoformat()} (valid "
                f"{certificate.not_valid_before_utc.isoformat()} to {certificate.not_valid_after_utc.isoformat()})")
    return None


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _chain_problems(chain: list[x509.Certificate], anchors: list[x509.Certificate], at: datetime | None) -> list[str]:
    """Why ``chain`` (leaf first) does not lead to one of ``anchors``; empty when it does."""
    leaf = chain[0]
    problems = [p for p in (_valid_at(leaf, at),) if p]
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature and not usage.content_commitment:
            problems.append(f"the certificate of {certificate_name(leaf)} is not for signatures (key usage)")
    except x509.ExtensionNotFound:
        pass
    if any(leaf == anchor for anchor in anchors):
        return problems
    current, intermediates = leaf, chain[1:]
    for _ in range(_MAX_CHAIN):
        anchor = next((a for a in anchors if _issued_by(current, a)), None)
        if anchor is not None:
            return problems + [p for p in (_valid_at(anchor, at),) if p]
        parent = next((c for c in intermediates if c != current and _is_ca(c) and _issued_by(current, c)), None)
        if parent is None:
            break
        if problem := _valid_at(parent, at):
            problems.append(problem)
        current = parent
    return [*problems, f"the certificate of {certificate_name(leaf)} (issued by {current.issuer.rfc4514_string()}) "
                       "does not chain to a trusted agency CA"]


def verify_signature(
    data: bytes, signature: bytes, chain_pem: bytes, *, ca_file: Path, at: datetime | None = None
) -> list[str]:
    """Every problem with an agency signature over ``data``; an empty list means it holds.

    The signature must verify with the public key of the first certificate of ``chain_pem``, and that certificate
    must be ``ca_file``'s own or chain (through the intermediates in ``chain_pem``) to a certificate in
    ``ca_file``; each certificate on the way must have been valid at ``at`` (the sealing time), when given. Never
    raises for malformed input: that is a problem in the list.
    """
    try:
        chain = load_chain(chain_pem)
    except ValueError as exc:
        return [f"the signer's certificate cannot be read: {exc}"]
    try:
        anchors = load_chain(Path(ca_file).read_bytes())
    except (OSError, ValueError) as exc:
        return [f"the trusted agency CA file {ca_file} cannot be read: {exc}"]
    problems: list[str] = []
    try:
        _check(chain[0].public_key(), signature, data)
    except InvalidSignature:
        problems.append(f"the signature does not verify with the key of {certificate_name(chain[0])}")
    except (ValueError, TypeError, x509.InvalidVersion) as exc:
        problems.append(f"the signature cannot be checked: {exc}")
    try:
        problems.extend(_chain_problems(chain, anchors, at))
    except (ValueError, TypeError, x509.InvalidVersion) as exc:  # a damaged extension, say
        problems.append(f"the signer's certificate cannot be checked: {exc}")
    return problems


def make_agency_identity(folder: Path, *, name: str, days: int = 3650) -> SigningSettings:
    """Create a throw-away agency CA and signing certificate in ``folder`` (for the demo and tests).

    Writes ``ca.pem`` (the trust anchor ``verify`` is given), ``agency.pem`` (the signing certificate) and
    ``agency.key`` (its ECDSA P-384 key, readable by the owner only; P-384 is the curve web-archive players check
    WACZ signatures with). Files already there are reused, so bundles signed by an earlier run still verify. The
    CA's key is never written: nothing else can be issued under it. A real agency uses a key and certificate from
    its own PKI instead.
    """
    folder = Path(folder)
    settings = SigningSettings(key=folder / "agency.key", certificate=folder / "agency.pem",
                               ca_file=folder / "ca.pem")
    if all(p is not None and p.is_file() for p in (settings.key, settings.certificate, settings.ca_file)):
        return settings
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now().astimezone()
    ca_key, key = ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"{name} evidence CA")])
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])

    def certificate(subject_name: x509.Name, public: ec.EllipticCurvePublicKey, *, ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(subject_name).issuer_name(ca_name).public_key(public)
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=not ca,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                key_cert_sign=ca, crl_sign=ca, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CODE_SIGNING]),
                critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(certificate(ca_name, ca_key.public_key(), ca=True).public_bytes(pem))
    (folder / "agency.pem").write_bytes(certificate(subject, key.public_key(), ca=False).public_bytes(pem))
    key_file = folder / "agency.key"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return settings
