"""WACZ 1.1.1: a capture's WARC files packaged with their index, pages and a signed digest, as one ZIP file.

A WACZ (https://specs.webrecorder.net/wacz/1.1.1/) is what web-archive players such as ReplayWeb.page open
directly. :func:`write_wacz` writes one from finished WARC files::

    archive/<name>.warc.gz     the WARC files, stored (not deflated) so players can read them by byte range
    indexes/index.cdx          a CDXJ index of every record players look up (sorted SURT keys)
    pages/pages.jsonl          the captured page(s): url, ts, title
    datapackage.json           a Frictionless data package: every file above with its size and SHA-256, the WACZ
                               version, the software, when it was created, the main page
    datapackage-digest.json    the SHA-256 of datapackage.json and, when signed, the signature over it

Signing follows "WACZ Signing and Verification" 0.1.0 (https://specs.webrecorder.net/wacz-auth/0.1.0/), its
*anonymous signature*: ``signedData`` holds the hash, the ``created`` time of datapackage.json, the software, the
signature over the hash's text (``"sha256:<hex>"``, UTF-8) with ECDSA and SHA-256, as ``r || s`` (IEEE P1363, what
WebCrypto and ReplayWeb.page use) in base64, and the public key (DER SubjectPublicKeyInfo, base64). The key is the
agency's (:class:`~takedown.evidence.signing.AgencySigner`): the public key in the WACZ is the one in the agency's
certificate (the bundle's ``seal.pem``), which is how a reader ties the WACZ to the agency. ReplayWeb.page reads
anonymous public keys as ECDSA P-384 only, so only a P-384 agency key signs a WACZ; with any other key (or none)
the WACZ is written unsigned and :class:`WaczInfo` says why (the bundle's own seal and signature still cover it).

:func:`check_wacz` checks one: every file against datapackage.json, datapackage.json against its digest, and the
signature, if any.

``cdxj-indexer`` (installed with the ``wacz`` package, the ``warc`` extra) writes the index.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

from takedown._version import __version__
from takedown.errors import EvidenceError, MissingDependencyError
from takedown.evidence.signing import AgencySigner
from takedown.files import file_sha256

__all__ = [
    "WACZ_FILE",
    "WACZ_MEDIA_TYPE",
    "WACZ_VERSION",
    "WaczInfo",
    "WaczPage",
    "check_wacz",
    "write_wacz",
]

WACZ_FILE: Final = "archive.wacz"
"""A capture's WACZ in its bundle folder."""

WACZ_MEDIA_TYPE: Final = "application/wacz"
"""The media type WACZ files are served with (not IANA-registered; what Webrecorder's tools use)."""

WACZ_VERSION: Final = "1.1.1"
"""The WACZ version written (``wacz_version`` in datapackage.json)."""

SIGNATURE_VERSION: Final = "0.1.0"
"""The version of "WACZ Signing and Verification" whose anonymous signature is written."""

_SIGNING_CURVE: Final = "secp384r1"
_ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class WaczPage:
    """One entry of ``pages/pages.jsonl``: a page the archive is about."""

    url: str
    ts: datetime
    title: str = ""


@dataclass(frozen=True)
class WaczInfo:
    """What :func:`write_wacz` wrote.

    Attributes:
        path: the WACZ file.
        signed: whether datapackage-digest.json carries a signature.
        signature: how it was signed (``"ECDSA P-384 (SHA-256), key of <agency>"``), or why it was not.
        resources: how many files datapackage.json lists.
        index_lines: how many lines the CDXJ index has.
    """

    path: Path
    signed: bool
    signature: str
    resources: int
    index_lines: int


def _created(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zip_time(value: datetime) -> tuple[int, int, int, int, int, int]:
    utc = value.astimezone(UTC)
    stamp = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    return max(stamp, _ZIP_EPOCH)


def _sha256_file(path: Path) -> tuple[int, str]:
    sha256, size = file_sha256(path)
    return size, f"sha256:{sha256}"


def _index(warcs: Sequence[Path]) -> bytes:
    """A sorted CDXJ index (``<surt> <timestamp> {json}``) of the WARC files, with file names as in ``archive/``."""
    try:
        indexer_module: Any = importlib.import_module("cdxj_indexer")
    except ImportError as exc:
        raise MissingDependencyError("cdxj-indexer", "warc", feature="a WACZ index") from exc
    out = io.StringIO()
    indexer = indexer_module.CDXJIndexer(out, [str(p) for p in warcs], sort=True)
    indexer.process_all()
    return out.getvalue().encode("utf-8")


def _pages(pages: Sequence[WaczPage]) -> bytes:
    lines = [{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}]
    for number, page in enumerate(pages, 1):
        entry: dict[str, Any] = {"id": f"page-{number}", "url": page.url,
                                 "ts": page.ts.astimezone(UTC).isoformat().replace("+00:00", "Z")}
        if page.title:
            entry["title"] = page.title
        lines.append(entry)
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def _signing_key(signer: AgencySigner | None) -> tuple[ec.EllipticCurvePrivateKey | None, str]:
    if signer is None:
        return None, "unsigned: no agency signing key is configured ([signing])"
    key = signer.key
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        kind = "RSA" if isinstance(key, rsa.RSAPrivateKey) else "Ed25519"
        return None, (f"unsigned: the agency key is {kind}; a WACZ signature is ECDSA P-384 (the bundle's seal "
                      "signature covers the WACZ)")
    if key.curve.name != _SIGNING_CURVE:
        return None, (f"unsigned: the agency key is ECDSA on {key.curve.name}; WACZ players verify anonymous "
                      "signatures on P-384 only (the bundle's seal signature covers the WACZ)")
    return key, f"ECDSA P-384 (SHA-256), key of {signer.name}"


def _signed_data(key: ec.EllipticCurvePrivateKey, digest: str, created: str, software: str) -> dict[str, str]:
    der = key.sign(digest.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    size = (key.curve.key_size + 7) // 8
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "hash": digest,
        "created": created,
        "software": software,
        "version": SIGNATURE_VERSION,
        "signature": base64.b64encode(r.to_bytes(size, "big") + s.to_bytes(size, "big")).decode("ascii"),
        "publicKey": base64.b64encode(public).decode("ascii"),
    }


def write_wacz(
    path: Path,
    warcs: Sequence[Path],
    *,
    pages: Sequence[WaczPage],
    created: datetime,
    title: str = "",
    description: str = "",
    signer: AgencySigner | None = None,
    software: str = f"takedown {__version__}",
) -> WaczInfo:
    """Package ``warcs`` as the WACZ file ``path`` (written to a temporary name, then moved into place).

    The same inputs give the same bytes, the signature aside (ECDSA signatures are randomised): entries are in a
    fixed order with ``created`` as their time, and ``created`` is datapackage.json's ``created``.

    Args:
        path: where the WACZ goes (conventionally :data:`WACZ_FILE` in the bundle folder).
        warcs: finished WARC files (``.warc.gz`` or ``.warc``), with distinct names.
        pages: the pages for ``pages/pages.jsonl``; the first is ``mainPageURL``.
        created: when the archive was made (datapackage.json ``created``; ZIP entry times).
        title: datapackage.json ``title``.
        description: datapackage.json ``description``.
        signer: the agency's signer; only an ECDSA P-384 key signs (see the module's docstring).
        software: datapackage.json ``software`` and the signature's ``software``.

    Raises:
        EvidenceError: a WARC cannot be read or indexed, or the file cannot be written.
        MissingDependencyError: cdxj-indexer (the ``warc`` extra) is not installed.
    """
    path = Path(path)
    names = [Path(w).name for w in warcs]
    if len(set(names)) != len(names):
        raise EvidenceError(f"WARC files for one WACZ need distinct names, got {names}")
    try:
        index = _index(warcs)
    except MissingDependencyError:
        raise
    except Exception as exc:  # OSError, or warcio's ArchiveLoadFailed: the indexer's errors share no narrower base
        raise EvidenceError(f"cannot index the WARC files for {path.name}: {exc}") from exc
    stamp = _created(created)
    when = _zip_time(created)
    members: list[tuple[str, bytes | Path, int]] = [
        *((f"archive/{name}", Path(warc), zipfile.ZIP_STORED) for name, warc in zip(names, warcs, strict=True)),
        ("indexes/index.cdx", index, zipfile.ZIP_DEFLATED),
        ("pages/pages.jsonl", _pages(pages), zipfile.ZIP_DEFLATED),
    ]
    key, note = _signing_key(signer)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        resources: list[dict[str, Any]] = []
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as archive:
            for name, content, compression in members:
                info = zipfile.ZipInfo(name, date_time=when)
                info.compress_type = compression
                info.external_attr = 0o644 << 16
                if isinstance(content, Path):
                    size, digest = _sha256_file(content)
                    large = size >= zipfile.ZIP64_LIMIT
                    with content.open("rb") as source, archive.open(info, "w", force_zip64=large) as target:
                        while chunk := source.read(1 << 20):
                            target.write(chunk)
                else:
                    size, digest = len(content), f"sha256:{hashlib.sha256(content).hexdigest()}"
                    archive.writestr(info, content)
                resources.append({"name": Path(name).name.lower(), "path": name, "hash": digest, "bytes": size})
            package: dict[str, Any] = {"profile": "data-package", "resources": resources}
            if title:
                package["title"] = title
            if description:
                package["description"] = description
            if pages:
                package["mainPageURL"] = pages[0].url
                package["mainPageDate"] = _created(pages[0].ts)
            package.update({"created": stamp, "wacz_version": WACZ_VERSION, "software": software})
            package_bytes = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
            digest_doc: dict[str, Any] = {"path": "datapackage.json",
                                          "hash": f"sha256:{hashlib.sha256(package_bytes).hexdigest()}"}
            if key is not None:
                digest_doc["signedData"] = _signed_data(key, digest_doc["hash"], stamp, software)
            for name, content_bytes in (
                ("datapackage.json", package_bytes),
                ("datapackage-digest.json", json.dumps(digest_doc, indent=2).encode("utf-8")),
            ):
                info = zipfile.ZipInfo(name, date_time=when)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, content_bytes)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise EvidenceError(f"cannot write the WACZ file {path}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WaczInfo(path=path, signed=key is not None, signature=note, resources=len(resources),
                    index_lines=index.count(b"\n"))


def check_wacz(path: Path, *, public_key: ec.EllipticCurvePublicKey | None = None) -> list[str]:
    """Every problem with a WACZ's integrity and signature; an empty list means it holds.

    Checked: every file datapackage.json lists is there with its size and SHA-256, no other file is, the hash in
    datapackage-digest.json is datapackage.json's, and a ``signedData`` signature (if any) verifies over that hash
    with its ``publicKey`` and carries datapackage.json's ``created``. With ``public_key`` (e.g. from the agency's
    certificate), the WACZ must be signed, and by that key. Never raises for a damaged file: that is a problem in
    the list.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            listed = {info.filename for info in archive.infolist() if not info.is_dir()}
            package_bytes = archive.read("datapackage.json")
            digest_doc = json.loads(archive.read("datapackage-digest.json"))
            package = json.loads(package_bytes)
            problems: list[str] = []
            seen = {"datapackage.json", "datapackage-digest.json"}
            for resource in package.get("resources", []):
                name = str(resource.get("path", ""))
                seen.add(name)
                if name not in listed:
                    problems.append(f"{name} is listed in datapackage.json but missing")
                    continue
                digest = hashlib.sha256()
                size = 0
                with archive.open(name) as member:
                    while chunk := member.read(1 << 20):
                        digest.update(chunk)
                        size += len(chunk)
                if f"sha256:{digest.hexdigest()}" != resource.get("hash") or size != resource.get("bytes"):
                    problems.append(f"{name} does not match its hash or size in datapackage.json")
            problems.extend(f"{name} is not listed in datapackage.json" for name in sorted(listed - seen))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, AttributeError, TypeError) as exc:
        return [f"the WACZ cannot be read: {exc}"]
    expected = f"sha256:{hashlib.sha256(package_bytes).hexdigest()}"
    if not isinstance(digest_doc, dict) or digest_doc.get("hash") != expected:
        problems.append("datapackage.json does not match the hash in datapackage-digest.json")
    signed = digest_doc.get("signedData") if isinstance(digest_doc, dict) else None
    if not isinstance(signed, dict):
        if public_key is not None:
            problems.append("the WACZ is not signed")
        return problems
    problems.extend(_signature_problems(signed, expected, package, public_key))
    return problems


def _signature_problems(
    signed: dict[str, Any], expected: str, package: dict[str, Any], public_key: ec.EllipticCurvePublicKey | None
) -> list[str]:
    problems: list[str] = []
    if signed.get("hash") != expected:
        problems.append("the signature is over another hash than datapackage.json's")
    if signed.get("created") != package.get("created"):
        problems.append("the signature's created time is not datapackage.json's")
    try:
        key = serialization.load_der_public_key(base64.b64decode(str(signed.get("publicKey", "")), validate=True))
        raw = base64.b64decode(str(signed.get("signature", "")), validate=True)
    except ValueError as exc:
        return [*problems, f"the signature or its public key cannot be read: {exc}"]
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return [*problems, "the signature's public key is not an ECDSA key"]
    size = (key.curve.key_size + 7) // 8
    if len(raw) == 2 * size:  # IEEE P1363 r || s, as written here and by WebCrypto
        der = utils.encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    else:
        der = raw
    try:
        key.verify(der, str(signed.get("hash", "")).encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        problems.append("the signature does not verify with its public key")
    if public_key is not None:
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_bytes(serialization.Encoding.DER, spki) != public_key.public_bytes(
            serialization.Encoding.DER, spki
        ):
            problems.append("the WACZ is signed by another key than the one expected")
    return problems
