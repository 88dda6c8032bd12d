"""Sealing: one file that fixes every artifact of a bundle by its SHA-256, optionally time-stamped by a TSA.

:func:`seal_bundle` writes ``seal.json`` into the bundle's folder (``root/<case>/<bundle>/``): the bundle, case
and finding, the capture metadata, the sealing time, and every artifact (path inside the folder, SHA-256, size,
media type, role), sorted by path. Its own SHA-256 is then the one number that stands for the whole bundle: it
goes into the custody log (``sealed``) and, when a time-stamping authority is configured, is stamped by it
(``seal.tsr``, an RFC 3161 reply), which proves that the bundle existed, exactly so, no later than the TSA's
time. Without a TSA, the custody log says that no time stamp was taken, and why (``not_timestamped``).

A bundle's folder, once sealed and its custody log exported (:func:`takedown.evidence.custody.export_custody`),
holds everything :func:`takedown.evidence.verify.verify_bundle` needs:

```
<bundle>/
  page.html, media/..., manifest.json, ...   the artifacts, each listed in seal.json
  seal.json                                  the seal
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
from takedown.evidence.tsa import REPLY_MEDIA_TYPE, TsaClient
from takedown.models import Artifact, EvidenceBundle, TimestampToken, utcnow
from takedown.store.blobs import atomic_write

__all__ = [
    "RESERVED",
    "SEAL_FILE",
    "SEAL_FORMAT",
    "TOKEN_FILE",
    "CustodyStep",
    "file_sha256",
    "seal_bundle",
]

SEAL_FILE: Final = "seal.json"
"""The seal's file name in a bundle's folder."""

TOKEN_FILE: Final = "seal.tsr"
"""The time-stamp reply's file name in a bundle's folder (DER, as the TSA sent it)."""

SEAL_FORMAT: Final = "takedown-seal/1"
"""The ``format`` field of ``seal.json``; a new layout gets a new number."""

RESERVED: Final = frozenset({SEAL_FILE, TOKEN_FILE, CUSTODY_FILE})
"""File names at the top of a bundle's folder that only sealing and the custody export write."""

CustodyStep = tuple[str, dict[str, str]]
"""A custody event for the caller to append: (action, details)."""

_CHUNK: Final = 1 << 20


def file_sha256(path: Path) -> tuple[str, int]:
    """The SHA-256 (hex) and size of a file, read in chunks.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


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


def _seal_document(bundle: EvidenceBundle, listed: list[tuple[str, Artifact]], sealed_at: datetime) -> bytes:
    document: dict[str, object] = {
        "format": SEAL_FORMAT,
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
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def seal_bundle(
    bundle: EvidenceBundle,
    *,
    root: Path,
    tsa: TsaClient | None,
    now: datetime | None = None,
    require_timestamp: bool = False,
) -> tuple[EvidenceBundle, Artifact, list[CustodyStep]]:
    """Seal a captured bundle: write ``seal.json`` (and ``seal.tsr`` when a TSA stamps it) into its folder.

    Every artifact is hashed again from disk first: a file that no longer matches its ``Artifact`` is never
    sealed. The seal lists the artifacts sorted by their path inside the bundle folder and is written
    atomically. With a ``tsa``, its SHA-256 is time-stamped and the reply written to ``seal.tsr``; the token is
    added to ``bundle.timestamps``. If the TSA fails, the bundle is still sealed (the page may be gone by the
    time the TSA is back) and the custody steps say ``not_timestamped`` with the TSA's error, unless
    ``require_timestamp`` asks for an ``EvidenceError`` instead. A ``seal.tsr`` left by an earlier run that
    took no stamp is removed, so a folder never holds a stamp of another seal.

    Args:
        bundle: a bundle as ``capture_finding`` returned it (not sealed yet).
        root: the evidence root the artifacts' paths are relative to.
        tsa: the time-stamping client, or ``None`` when no TSA is configured.
        now: the sealing time (timezone-aware); the current time by default.
        require_timestamp: raise instead of sealing without a stamp when ``tsa`` fails.

    Returns:
        The bundle with the ``seal`` artifact (and ``timestamp`` artifact and token, when stamped) added; the
        seal artifact; and the custody steps the caller must append to the bundle's log, in order: ``hashed``
        for each artifact (path, sha256, size, role), ``sealed`` (path, sha256, artifacts, sealed_at), then
        ``timestamped`` (tsa, at, digest, path, sha256 of seal.tsr) or ``not_timestamped`` (reason).

    Raises:
        UsageError: the bundle is already sealed, an artifact uses a reserved name, or ``now`` is naive.
        EvidenceError: an artifact is missing, outside the bundle folder or changed since it was hashed; a file
            cannot be written; or the TSA failed and ``require_timestamp`` is set.
    """
    sealed_at = utcnow() if now is None else now
    if sealed_at.tzinfo is None:
        raise UsageError("the sealing time must be timezone-aware")
    if any(a.role in ("seal", "timestamp") for a in bundle.artifacts):
        raise UsageError(f"bundle {bundle.id} is already sealed")
    root = Path(root)
    folder = bundle_folder(root, bundle)
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

    data = _seal_document(bundle, listed, sealed_at)
    digest = hashlib.sha256(data).digest()
    seal_path, token_path = folder / SEAL_FILE, folder / TOKEN_FILE
    try:
        atomic_write(seal_path, data)
    except OSError as exc:
        raise EvidenceError(f"cannot write {seal_path}: {exc}", plugin="seal") from exc
    seal = Artifact(path=seal_path.relative_to(root).as_posix(), sha256=digest.hex(), size=len(data),
                    media_type="application/json", role="seal", created_at=sealed_at)
    steps: list[CustodyStep] = [
        ("hashed", {"path": a.path, "sha256": a.sha256, "size": str(a.size), "role": a.role}) for a in bundle.artifacts
    ]
    steps.append(("sealed", {"path": seal.path, "sha256": seal.sha256, "artifacts": str(len(listed)),
                             "sealed_at": sealed_at.isoformat()}))

    token: TimestampToken | None = None
    reason = "no time-stamping authority is configured"
    if tsa is not None:
        try:
            token = tsa.stamp(digest)
        except EvidenceError as exc:
            if require_timestamp:
                raise
            reason = f"the time-stamping authority at {tsa.url} failed: {exc}"
    if token is None:
        try:
            token_path.unlink(missing_ok=True)
        except OSError as exc:
            raise EvidenceError(f"cannot remove a stale {token_path}: {exc}", plugin="seal") from exc
        steps.append(("not_timestamped", {"reason": reason, "seal_sha256": seal.sha256}))
        return bundle.model_copy(update={"artifacts": (*bundle.artifacts, seal)}), seal, steps

    reply = base64.b64decode(token.token_der_b64)
    try:
        atomic_write(token_path, reply)
    except OSError as exc:
        raise EvidenceError(f"cannot write {token_path}: {exc}", plugin="seal") from exc
    stamp = Artifact(path=token_path.relative_to(root).as_posix(), sha256=hashlib.sha256(reply).hexdigest(),
                     size=len(reply), media_type=REPLY_MEDIA_TYPE, role="timestamp", created_at=sealed_at)
    steps.append(("timestamped", {"tsa": token.tsa_url, "at": token.at.isoformat(), "digest": token.digest_sha256,
                                  "path": stamp.path, "sha256": stamp.sha256}))
    sealed = bundle.model_copy(update={
        "artifacts": (*bundle.artifacts, seal, stamp),
        "timestamps": (*bundle.timestamps, token),
    })
    return sealed, seal, steps

