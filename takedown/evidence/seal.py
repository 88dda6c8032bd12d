"""Sealing: files that fix every artifact of a bundle by its SHA-256, signed by the agency and time-stamped by a TSA.

A bundle is sealed twice, so that what its reports say about their seal is true when they are written:

1. :func:`seal_capture`, right after the capture: ``capture-seal.json`` lists the raw artifacts (page, media,
   WARC, screenshot, previews), and a TSA stamps it (``capture-seal.tsr``). The reports, written next, cite that
   stamp and the custody events so far.
2. :func:`seal_bundle`, after the reports: ``seal.json`` lists every artifact, the reports and the capture seal
   included, with the hash of the custody log's last event before it (``custody_head``). The agency signs it
   (``seal.sig``, certificate chain ``seal.pem``: who sealed it; see :mod:`takedown.evidence.signing`), and a TSA
   stamps its SHA-256 (``seal.tsr``: when). Re-sealing altered evidence then needs the agency's key, and events
   appended to the custody log after the seal's own are flagged.

Without a TSA or a key, the custody log says that no time stamp was taken, and why (``not_timestamped``), and
``verify`` accepts such a bundle only as "integrity only".

A bundle's folder, once sealed and its custody log exported (:func:`takedown.evidence.custody.export_custody`),
holds everything :func:`takedown.evidence.verify.verify_bundle` needs:

```
<bundle>/
  page.html, media/..., manifest.json, ...   the artifacts, each listed in seal.json
  capture-seal.json, capture-seal.tsr        the seal of the raw capture and its stamp (listed in seal.json)
  seal.json                                  the seal
  seal.sig, seal.pem                         the agency's signature over seal.json and its certificate chain
  seal.tsr                                   the TSA's reply over sha256(seal.json), when one was taken
  custody.jsonl                              the bundle's custody log, one event per line
```
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Final

from takedown.errors import EvidenceError, UsageError
from takedown.evidence.base import bundle_folder
from takedown.evidence.custody import CUSTODY_FILE
from takedown.evidence.signing import CHAIN_FILE, SIGNATURE_FILE, AgencySigner
from takedown.evidence.tsa import REPLY_MEDIA_TYPE, TsaClient
from takedown.files import file_sha256
from takedown.models import Artifact, EvidenceBundle, TimestampToken, utcnow
from takedown.store.blobs import atomic_write

__all__ = [
    "CAPTURE_SEAL_FILE",
    "CAPTURE_TOKEN_FILE",
    "FINAL_ROLES",
    "RESERVED",
    "SEAL_FILE",
    "SEAL_FORMAT",
    "SEAL_ROLES",
    "TOKEN_FILE",
    "CustodyStep",
    "file_sha256",
    "seal_bundle",
    "seal_capture",
]

SEAL_FILE: Final = "seal.json"
"""The seal's file name in a bundle's folder."""

TOKEN_FILE: Final = "seal.tsr"
"""The time-stamp reply's file name in a bundle's folder (DER, as the TSA sent it)."""

SEAL_FORMAT: Final = "takedown-seal/2"
"""The ``format`` field of ``seal.json``; a new layout gets a new number (``/2`` added ``stage`` and
``custody_head``; ``verify`` still reads ``/1``)."""

CAPTURE_SEAL_FILE: Final = "capture-seal.json"
"""The seal of the raw capture, written before any report (``seal_capture``); ``seal.json`` lists it."""

CAPTURE_TOKEN_FILE: Final = "capture-seal.tsr"
"""The time-stamp reply over ``capture-seal.json``."""

RESERVED: Final = frozenset({SEAL_FILE, TOKEN_FILE, CUSTODY_FILE, SIGNATURE_FILE, CHAIN_FILE})
"""File names at the top of a bundle's folder that only sealing and the custody export write."""

SEAL_ROLES: Final = frozenset({"capture_seal", "capture_timestamp", "seal", "timestamp", "signature",
                               "signature_chain"})
"""Artifact roles that sealing adds."""

FINAL_ROLES: Final = SEAL_ROLES - {"capture_seal", "capture_timestamp"}
"""Artifact roles that only the final seal adds."""

CustodyStep = tuple[str, dict[str, str]]
"""A custody event for the caller to append: (action, details)."""

def _inside(folder: Path, root: Path, artifact: Artifact) -> str:
    """The artifact's path relative to the bundle folder, checked to lie inside it."""
    relative = PurePosixPath(artifact.path)
    prefix = PurePosixPath(folder.relative_to(root).as_posix())
    if relative.is_absolute() or ".." in relative.parts or not relative.is_relative_to(prefix):
        raise EvidenceError(f"artifact {artifact.path} is not inside the bundle folder {prefix}", plugin="seal")
    inner = relative.relative_to(prefix).as_posix()
    if inner in RESERVED:
        raise UsageError(f"artifact {artifact.path} uses the name {inner}, which sealing reserves")
    return inner


def _seal_document(
    bundle: EvidenceBundle, listed: list[tuple[str, Artifact]], sealed_at: datetime, *, stage: str,
    custody_head: str | None,
) -> bytes:
    document: dict[str, object] = {
        "format": SEAL_FORMAT,
        "stage": stage,
        "hash_algorithm": "sha256",
        "bundle": bundle.id,
        "case": bundle.case_id,
        "finding": bundle.finding_id,
        "captured_at": bundle.captured_at.isoformat(),
        "capture": dict(sorted(bundle.capture.items())),
        "error": bundle.error,
        "sealed_at": sealed_at.isoformat(),
        "artifacts": [
            {"path": inner, "sha256": a.sha256, "size": a.size, "media_type": a.media_type, "role": a.role}
            for inner, a in listed
        ],
    }
    if custody_head is not None:
        document["custody_head"] = custody_head
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _listed(bundle: EvidenceBundle, root: Path, folder: Path) -> list[tuple[str, Artifact]]:
    """Each artifact with its path inside the bundle folder, hashed again from disk, sorted by that path."""
    listed: list[tuple[str, Artifact]] = []
    for artifact in bundle.artifacts:
        inner = _inside(folder, root, artifact)
        try:
            sha256, size = file_sha256(folder / inner)
        except OSError as exc:
            raise EvidenceError(f"cannot read {inner} to seal it: {exc}", plugin="seal") from exc
        if (sha256, size) != (artifact.sha256, artifact.size):
            raise EvidenceError(
                f"{inner} changed after it was captured (SHA-256 {sha256}, {size} bytes; the bundle recorded "
                f"{artifact.sha256}, {artifact.size} bytes): it is not sealed", plugin="seal",
            )
        listed.append((inner, artifact))
    listed.sort(key=lambda item: item[0])
    if len({inner for inner, _ in listed}) != len(listed):
        raise UsageError(f"bundle {bundle.id} lists one file twice")
    return listed


def _write(path: Path, data: bytes, root: Path, *, media_type: str, role: str, at: datetime) -> Artifact:
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise EvidenceError(f"cannot write {path}: {exc}", plugin="seal") from exc
    return Artifact(path=path.relative_to(root).as_posix(), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                    media_type=media_type, role=role, created_at=at)


def _stamp(
    tsa: TsaClient | None, seal: Artifact, token_path: Path, root: Path, *, role: str, action: str, at: datetime,
    require_timestamp: bool, reason: str = "no time-stamping authority is configured",
) -> tuple[Artifact | None, TimestampToken | None, CustodyStep]:
    """Have ``tsa`` stamp ``seal``'s SHA-256 and write its reply to ``token_path`` (an artifact of ``role``).

    Returns the reply's artifact, the token and the custody step ``action`` (tsa, at, digest, path, sha256); or,
    without a stamp, ``None``, ``None`` and ``not_<action>`` with why there is none (``reason`` when there is no
    TSA). A stale reply at ``token_path`` is then removed, so a folder never holds a stamp of another seal.
    """
    if tsa is not None:
        try:
            token = tsa.stamp(bytes.fromhex(seal.sha256))
        except EvidenceError as exc:
            if require_timestamp:
                raise
            reason = f"the time-stamping authority at {tsa.url} failed: {exc}"
        else:
            reply = _write(token_path, base64.b64decode(token.token_der_b64), root, media_type=REPLY_MEDIA_TYPE,
                           role=role, at=at)
            return reply, token, (action, {"tsa": token.tsa_url, "at": token.at.isoformat(),
                                           "digest": token.digest_sha256, "path": reply.path, "sha256": reply.sha256})
    try:
        token_path.unlink(missing_ok=True)
    except OSError as exc:
        raise EvidenceError(f"cannot remove a stale {token_path}: {exc}", plugin="seal") from exc
    unstamped = action.replace("timestamped", "not_timestamped")
    return None, None, (unstamped, {"reason": reason, "seal_sha256": seal.sha256})


def _with(bundle: EvidenceBundle, added: list[Artifact], stamp: Artifact | None,
          token: TimestampToken | None) -> EvidenceBundle:
    """``bundle`` with the sealing's files (and the stamp's reply and token, when one was taken) added."""
    stamped = [stamp] if stamp is not None else []
    tokens = [token] if token is not None else []
    return bundle.model_copy(update={"artifacts": (*bundle.artifacts, *added, *stamped),
                                     "timestamps": (*bundle.timestamps, *tokens)})


def _now(now: datetime | None) -> datetime:
    at = utcnow() if now is None else now
    if at.tzinfo is None:
        raise UsageError("the sealing time must be timezone-aware")
    return at


def seal_capture(
    bundle: EvidenceBundle,
    *,
    root: Path,
    tsa: TsaClient | None,
    now: datetime | None = None,
    require_timestamp: bool = False,
    unstamped_reason: str = "no time-stamping authority is configured",
) -> tuple[EvidenceBundle, list[CustodyStep]]:
    """Seal and time-stamp what was captured, before any report is written about it.

    Writes ``capture-seal.json`` (the same layout as ``seal.json``, ``"stage": "capture"``) over the bundle's
    artifacts as they are, and with a ``tsa`` stamps it into ``capture-seal.tsr``. Reports written afterwards can
    then cite a time stamp that really exists (the token is added to ``bundle.timestamps``), and ``seal_bundle``
    later lists both files, so the final seal fixes them too. Without a ``tsa``, the custody step gives
    ``unstamped_reason``.

    Returns:
        The bundle with the ``capture_seal`` (and ``capture_timestamp``) artifacts and the token added, and the
        custody steps: ``capture_sealed`` (path, sha256, artifacts), then ``capture_timestamped`` (tsa, at, digest,
        path, sha256) or ``capture_not_timestamped`` (reason).

    Raises:
        UsageError: the bundle is already sealed, an artifact uses a reserved name, or ``now`` is naive.
        EvidenceError: an artifact is missing or changed; a file cannot be written; or the TSA failed and
            ``require_timestamp`` is set.
    """
    sealed_at = _now(now)
    if any(a.role in SEAL_ROLES for a in bundle.artifacts):
        raise UsageError(f"bundle {bundle.id} is already sealed")
    root = Path(root)
    folder = bundle_folder(root, bundle)
    data = _seal_document(bundle, _listed(bundle, root, folder), sealed_at, stage="capture", custody_head=None)
    seal = _write(folder / CAPTURE_SEAL_FILE, data, root, media_type="application/json", role="capture_seal",
                  at=sealed_at)
    steps: list[CustodyStep] = [("capture_sealed", {"path": seal.path, "sha256": seal.sha256,
                                                    "artifacts": str(len(bundle.artifacts))})]
    stamp, token, step = _stamp(tsa, seal, folder / CAPTURE_TOKEN_FILE, root, role="capture_timestamp",
                                action="capture_timestamped", at=sealed_at, require_timestamp=require_timestamp,
                                reason=unstamped_reason)
    steps.append(step)
    return _with(bundle, [seal], stamp, token), steps


def seal_bundle(
    bundle: EvidenceBundle,
    *,
    root: Path,
    tsa: TsaClient | None,
    now: datetime | None = None,
    require_timestamp: bool = False,
    signer: AgencySigner | None = None,
    custody_head: str | None = None,
) -> tuple[EvidenceBundle, Artifact, list[CustodyStep]]:
    """Seal a captured bundle: write ``seal.json`` (and ``seal.sig``, ``seal.pem`` and ``seal.tsr``) into its folder.

    Every artifact is hashed again from disk first: a file that no longer matches its ``Artifact`` is never
    sealed. The seal lists the artifacts sorted by their path inside the bundle folder and is written
    atomically. With a ``signer``, the agency signs ``seal.json`` (``seal.sig``, with its certificate chain in
    ``seal.pem``; see :mod:`takedown.evidence.signing`). With a ``tsa``, its SHA-256 is time-stamped and the
    reply written to ``seal.tsr``; the token is added to ``bundle.timestamps``. If the TSA fails, the bundle is
    still sealed (the page may be gone by the time the TSA is back) and the custody steps say ``not_timestamped``
    with the TSA's error, unless ``require_timestamp`` asks for an ``EvidenceError`` instead. A ``seal.tsr`` left
    by an earlier run that took no stamp is removed, so a folder never holds a stamp of another seal.

    Args:
        bundle: a bundle as ``capture_finding`` returned it, perhaps with ``seal_capture``'s files (not sealed yet).
        root: the evidence root the artifacts' paths are relative to.
        tsa: the time-stamping client, or ``None`` when no TSA is configured.
        now: the sealing time (timezone-aware); the current time by default.
        require_timestamp: raise instead of sealing without a stamp when ``tsa`` fails.
        signer: the agency's signing key, or ``None`` to leave the seal unsigned.
        custody_head: the hash of the bundle's last custody event before these steps; the seal records it, so
            the stamp fixes the log up to there and ``verify_bundle`` flags any event after the seal's own.

    Returns:
        The bundle with the ``seal`` artifact (and ``signature``, ``signature_chain`` and ``timestamp`` artifacts
        and the token, when signed and stamped) added; the seal artifact; and the custody steps the caller must
        append to the bundle's log, in order: ``hashed`` for each artifact (path, sha256, size, role), ``sealed``
        (path, sha256, artifacts, sealed_at), ``signed`` (signer, path, sha256, certificate_sha256) when signed,
        then ``timestamped`` (tsa, at, digest, path, sha256 of seal.tsr) or ``not_timestamped`` (reason).

    Raises:
        UsageError: the bundle is already sealed, an artifact uses a reserved name, or ``now`` is naive.
        EvidenceError: an artifact is missing, outside the bundle folder or changed since it was hashed; a file
            cannot be written; or the TSA failed and ``require_timestamp`` is set.
    """
    sealed_at = _now(now)
    if any(a.role in FINAL_ROLES for a in bundle.artifacts):
        raise UsageError(f"bundle {bundle.id} is already sealed")
    root = Path(root)
    folder = bundle_folder(root, bundle)
    listed = _listed(bundle, root, folder)
    data = _seal_document(bundle, listed, sealed_at, stage="final", custody_head=custody_head)
    seal = _write(folder / SEAL_FILE, data, root, media_type="application/json", role="seal", at=sealed_at)
    added = [seal]
    steps: list[CustodyStep] = [
        ("hashed", {"path": a.path, "sha256": a.sha256, "size": str(a.size), "role": a.role}) for a in bundle.artifacts
    ]
    steps.append(("sealed", {"path": seal.path, "sha256": seal.sha256, "artifacts": str(len(listed)),
                             "sealed_at": sealed_at.isoformat()}))
    for stale in (SIGNATURE_FILE, CHAIN_FILE):
        try:
            (folder / stale).unlink(missing_ok=True)
        except OSError as exc:
            raise EvidenceError(f"cannot remove a stale {folder / stale}: {exc}", plugin="seal") from exc
    if signer is not None:
        signature = _write(folder / SIGNATURE_FILE, signer.sign(data), root, media_type="application/octet-stream",
                           role="signature", at=sealed_at)
        chain = _write(folder / CHAIN_FILE, signer.chain_pem(), root, media_type="application/x-pem-file",
                       role="signature_chain", at=sealed_at)
        added += [signature, chain]
        steps.append(("signed", {"signer": signer.name, "path": signature.path, "sha256": signature.sha256,
                                 "certificate_sha256": chain.sha256}))

    stamp, token, step = _stamp(tsa, seal, folder / TOKEN_FILE, root, role="timestamp", action="timestamped",
                                at=sealed_at, require_timestamp=require_timestamp)
    steps.append(step)
    return _with(bundle, added, stamp, token), seal, steps
