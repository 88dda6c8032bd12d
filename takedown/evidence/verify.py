"""Verification of a sealed bundle folder: does it still hold exactly what was captured, as documented?

:func:`verify_bundle` needs only the folder (and, to check the time stamp's signature, the TSA's certificate
and CA): ``seal.json``, the files it lists, ``custody.jsonl`` and ``seal.tsr``. It checks, and names what
fails:

1. ``seal.json`` is a seal this version understands;
2. every file it lists exists, with the listed size and SHA-256;
3. the custody log is an unbroken hash chain about this bundle, records each file's SHA-256 (``hashed``), and
   its last ``sealed`` event holds the SHA-256 of this very ``seal.json``;
4. the time stamp, if one was taken, stamps the SHA-256 of ``seal.json``, is the reply the custody log
   recorded, and (given the TSA certificate or CA) carries a valid TSA signature.

Some checks never fail a bundle, and are reported as warnings: files in the folder that the seal does not list
(a later copy, a viewer's side file: the sealed files are still intact, but someone put something there); what
could not be checked (no time stamp was taken; the TSA's signature was not checked because no certificate or
CA was given); and a stamp taken more than an hour after the seal's time (it proves existence at the TSA's time,
not at the seal's). Everything else is an error: ``report.ok`` is true only when no error check fails.

What it cannot see: events appended to the custody log after its export, or events cut from its end before
the ``sealed`` event's successors (a hash chain proves its order and content, not its length); compare the
export with the store's log (``CaseStore.custody_log``) for that.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict

from takedown.errors import EvidenceError
from takedown.evidence.custody import CUSTODY_FILE, load_custody, verify_chain
from takedown.evidence.seal import RESERVED, SEAL_FILE, SEAL_FORMAT, TOKEN_FILE, file_sha256
from takedown.evidence.tsa import decode_token, imprint_problems, verify_token
from takedown.models import CustodyEvent

__all__ = ["Check", "VerificationReport", "format_report", "verify_bundle"]

_MAX_NAMED = 10
_STAMP_DELAY = timedelta(hours=1)  # a stamp taken later than this after sealing is reported (as a warning)
_CLOCK_SKEW = timedelta(minutes=5)  # how far the agency's clock may run ahead of the TSA's
_UNSTAMPED_HINT = " (takedown verify --allow-unstamped accepts this as integrity only)"


class Check(BaseModel):
    """One thing verification looked at: its name, whether it holds, and what was found.

    ``level="warning"`` marks a check whose failure is reported but does not fail the bundle.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str
    ok: bool
    detail: str
    level: Literal["error", "warning"] = "error"


class VerificationReport(BaseModel):
    """What :func:`verify_bundle` found: ``ok`` is true only when every error-level check holds."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    folder: str
    bundle: str | None = None
    ok: bool
    checks: list[Check]

    @property
    def problems(self) -> list[str]:
        """Each failed error-level check, as ``name: detail``."""
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok and c.level == "error"]

    @property
    def warnings(self) -> list[str]:
        """Each failed warning-level check, as ``name: detail``."""
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok and c.level == "warning"]


class _SealedFile(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    path: str
    sha256: str
    size: int
    media_type: str = ""
    role: str = ""


class _Seal(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    format: str
    bundle: str
    case: str
    finding: str
    sealed_at: str
    artifacts: list[_SealedFile]


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMED])
    return shown + (f" and {len(items) - _MAX_NAMED} more" if len(items) > _MAX_NAMED else "")


def _read_seal(path: Path) -> tuple[_Seal | None, bytes | None, Check]:
    name = SEAL_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None, Check(name=name, ok=False, detail=f"{name} is missing: the folder is not a sealed bundle")
    except OSError as exc:
        return None, None, Check(name=name, ok=False, detail=f"{name} cannot be read: {exc}")
    try:
        seal = _Seal.model_validate(json.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        return None, data, Check(name=name, ok=False, detail=f"{name} is not a readable seal (altered?): {first}")
    if seal.format != SEAL_FORMAT:
        return None, data, Check(name=name, ok=False, detail=f"{name} has format {seal.format!r}, not {SEAL_FORMAT!r}")
    sha = hashlib.sha256(data).hexdigest()
    return seal, data, Check(
        name=name, ok=True,
        detail=f"bundle {seal.bundle} sealed {seal.sealed_at}, {len(seal.artifacts)} files; {name} SHA-256 {sha}",
    )


def _check_file(folder: Path, item: _SealedFile, recorded: set[str]) -> Check:
    name = f"file {item.path}"
    relative = PurePosixPath(item.path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts or str(relative) in RESERVED:
        return Check(name=name, ok=False, detail=f"{SEAL_FILE} lists {item.path!r}, which is not a file of the bundle")
    path = folder / relative
    if not path.is_file():
        return Check(name=name, ok=False, detail=f"{item.path} is missing (deleted or moved)")
    try:
        sha256, size = file_sha256(path)
    except OSError as exc:
        return Check(name=name, ok=False, detail=f"{item.path} cannot be read: {exc}")
    if sha256 != item.sha256.lower() or size != item.size:
        # Which side changed: the custody log's 'hashed' event says what the file was at capture.
        culprit = (f"the file is as {CUSTODY_FILE} recorded it at capture, so {SEAL_FILE} was altered"
                   if recorded == {sha256} else "the file was altered")
        return Check(name=name, ok=False,
                     detail=f"{item.path} has {size} bytes, SHA-256 {sha256}; {SEAL_FILE} lists {item.size} bytes, "
                            f"SHA-256 {item.sha256} ({culprit})")
    return Check(name=name, ok=True, detail=f"{size} bytes, SHA-256 {sha256}, as sealed")


def _unlisted(folder: Path, listed: set[str]) -> Check:
    extras = sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if (p.is_file() or p.is_symlink()) and p.relative_to(folder).as_posix() not in listed | RESERVED
    )
    if extras:
        return Check(name="unlisted files", ok=False,
                     detail=f"{len(extras)} file(s) not in {SEAL_FILE}: {_names(extras)} (added after sealing: a "
                            "bundle holds its sealed files only; move them out to verify what was sealed)")
    return Check(name="unlisted files", ok=True, detail="every file in the folder is sealed")


def _recorded_hashes(events: list[CustodyEvent], seal: _Seal) -> dict[str, set[str]]:
    """The SHA-256s the custody log's 'hashed' events give each file, by its path inside the bundle folder."""
    hashed: dict[str, set[str]] = {}
    prefix = f"{seal.case}/{seal.bundle}/"
    for event in events:
        if event.action == "hashed" and "path" in event.details:
            hashed.setdefault(event.details["path"].removeprefix(prefix), set()).add(event.details.get("sha256", ""))
    return hashed


def _last(events: list[CustodyEvent], action: str) -> CustodyEvent | None:
    return next((e for e in reversed(events) if e.action == action), None)


def _custody_checks(
    events: list[CustodyEvent], seal: _Seal | None, seal_sha256: str | None
) -> list[Check]:
    checks: list[Check] = []
    chain = verify_chain(events)
    if chain:
        checks.append(Check(name="custody chain", ok=False,
                            detail=f"{CUSTODY_FILE}: the hash chain is broken: " + "; ".join(chain)))
    else:
        checks.append(Check(name="custody chain", ok=True,
                            detail=f"{CUSTODY_FILE}: {len(events)} events, an unbroken hash chain from the first"))
    if seal is None:
        return checks
    strangers = sorted({e.subject for e in events if e.subject != seal.bundle})
    checks.append(
        Check(name="custody subject", ok=False,
              detail=f"{CUSTODY_FILE} holds events about {_names(strangers)}, not only bundle {seal.bundle}")
        if strangers else
        Check(name="custody subject", ok=True, detail=f"every event is about bundle {seal.bundle}")
    )
    sealed = _last(events, "sealed")
    if sealed is None:
        checks.append(Check(name="custody records the seal", ok=False,
                            detail=f"{CUSTODY_FILE} has no 'sealed' event: nothing records when {SEAL_FILE} was made"))
    elif sealed.details.get("sha256") != seal_sha256:
        checks.append(Check(name="custody records the seal", ok=False,
                            detail=f"{SEAL_FILE} has SHA-256 {seal_sha256}, but {CUSTODY_FILE} event {sealed.seq} "
                                   f"recorded {sealed.details.get('sha256')} ({SEAL_FILE} was altered or replaced)"))
    else:
        checks.append(Check(name="custody records the seal", ok=True,
                            detail=f"event {sealed.seq} ({sealed.at.isoformat()}) recorded this {SEAL_FILE}"))
    hashed = _recorded_hashes(events, seal)
    # Every 'hashed' event for a sealed file must give the sealed SHA-256: a later event with another one is a
    # file swapped after capture.
    wrong = [f.path for f in seal.artifacts if hashed.get(f.path, set()) != {f.sha256}]
    checks.append(
        Check(name="custody records each file", ok=False,
              detail=f"{CUSTODY_FILE} has no 'hashed' event, or one with another SHA-256, for {_names(wrong)}")
        if wrong else
        Check(name="custody records each file", ok=True,
              detail=f"a 'hashed' event with the same SHA-256 for each of the {len(seal.artifacts)} files")
    )
    return checks


def _delay_check(sealed_at: str, stamped_at: datetime) -> Check:
    name = "time stamp delay"
    try:
        sealed = datetime.fromisoformat(sealed_at)
        delay = stamped_at - sealed
    except (ValueError, TypeError):
        return Check(name=name, ok=False, level="warning", detail=f"{SEAL_FILE} gives no readable sealing time")
    if -_CLOCK_SKEW <= delay <= _STAMP_DELAY:
        return Check(name=name, ok=True, level="warning",
                     detail=f"the TSA's time is {round(delay.total_seconds())} s from the seal's time {sealed_at}")
    return Check(name=name, ok=False, level="warning",
                 detail=f"the TSA's time {stamped_at.isoformat()} is {delay} after the seal's time {sealed_at}: "
                        "the stamp proves the bundle existed no later than the TSA's time, not the seal's")


def _timestamp_checks(
    folder: Path,
    seal: _Seal | None,
    seal_sha256: str | None,
    events: list[CustodyEvent] | None,
    *,
    certificate: Path | None,
    ca_file: Path | None,
    allow_unstamped: bool,
) -> list[Check]:
    name = "time stamp"
    path = folder / TOKEN_FILE
    stamped = _last(events, "timestamped") if events is not None else None
    not_stamped = _last(events, "not_timestamped") if events is not None else None
    unstamped: Literal["error", "warning"] = "warning" if allow_unstamped else "error"
    if not path.is_file():
        if stamped is not None:
            return [Check(name=name, ok=False,
                          detail=f"{TOKEN_FILE} is missing, but {CUSTODY_FILE} event {stamped.seq} records a time "
                                 f"stamp by {stamped.details.get('tsa')}")]
        if events is None:
            why = f"without a readable {CUSTODY_FILE} it is unknown whether a time stamp was taken"
        else:
            why = not_stamped.details.get("reason", "no reason recorded") if not_stamped else "no reason recorded"
        return [Check(name=name, ok=False, level=unstamped,
                      detail=f"no {TOKEN_FILE} ({why}): integrity only, no trusted time; the sealing time rests on "
                             f"the custody log alone{_UNSTAMPED_HINT if not allow_unstamped else ''}")]
    data = path.read_bytes()
    checks: list[Check] = []
    try:
        reply = decode_token(data)
    except EvidenceError as exc:
        return [Check(name=name, ok=False, detail=f"{TOKEN_FILE} is not a time-stamp reply (altered?): {exc}")]
    if seal_sha256 is None:
        return [Check(name=name, ok=False, detail=f"{TOKEN_FILE} cannot be checked without a readable {SEAL_FILE}")]
    problems = [f"{p} (the SHA-256 of {SEAL_FILE})" for p in imprint_problems(reply, bytes.fromhex(seal_sha256))]
    token_sha256 = hashlib.sha256(data).hexdigest()
    if events is None:
        problems.append(f"{TOKEN_FILE} cannot be compared with the custody log, which cannot be read")
    elif stamped is None:
        problems.append(f"{CUSTODY_FILE} records no time stamp, yet {TOKEN_FILE} is there")
    elif stamped.details.get("sha256") != token_sha256:
        problems.append(f"{TOKEN_FILE} has SHA-256 {token_sha256}, but {CUSTODY_FILE} event {stamped.seq} "
                        f"recorded {stamped.details.get('sha256')} ({TOKEN_FILE} was altered or replaced)")
    stamped_at = reply.tst_info.gen_time
    when = stamped_at.isoformat()
    tsa = stamped.details.get("tsa", "an unnamed TSA") if stamped else "an unnamed TSA"
    if problems:
        checks.append(Check(name=name, ok=False, detail=f"{TOKEN_FILE}: " + "; ".join(problems)))
    else:
        checks.append(Check(name=name, ok=True,
                            detail=f"{TOKEN_FILE}: {tsa} stamped SHA-256 {seal_sha256} of {SEAL_FILE} at {when}"))
        if seal is not None:
            checks.append(_delay_check(seal.sealed_at, stamped_at))
    sig = "time-stamp signature"
    if certificate is None and ca_file is None:
        checks.append(Check(name=sig, ok=False, level=unstamped,
                            detail=f"not checked: no trusted TSA is configured, so anyone could have made "
                                   f"{TOKEN_FILE}; give the TSA certificate or CA file ([tsa] certificate, ca_file)"
                                   + (" (integrity only, no trusted time)" if allow_unstamped else _UNSTAMPED_HINT)))
        return checks
    # Only the signature here: verified over the digest the token itself stamps (a wrong digest is reported above).
    signature = verify_token(data, digest_sha256=reply.tst_info.message_imprint.message, certificate=certificate,
                             ca_file=ca_file)
    anchors = " and ".join(f"{what} {where}" for what, where in (("the TSA certificate", certificate),
                                                                  ("the CA in", ca_file)) if where is not None)
    checks.append(
        Check(name=sig, ok=False, detail=f"{TOKEN_FILE}: " + "; ".join(signature))
        if signature else
        Check(name=sig, ok=True, detail=f"{TOKEN_FILE} carries a valid signature by {anchors}")
    )
    return checks


def verify_bundle(
    folder: Path, *, certificate: Path | None = None, ca_file: Path | None = None, allow_unstamped: bool = False
) -> VerificationReport:
    """Check a sealed bundle folder: files against the seal, the custody chain, and the time stamp.

    A bundle verifies only with a time stamp whose signature chains to a trusted TSA (``certificate`` and/or
    ``ca_file``): a missing stamp, or one nobody could check, would let anyone re-seal altered evidence with a
    fresh, consistent seal and custody log. ``allow_unstamped`` accepts both as "integrity only, no trusted time"
    (a warning). Files in the folder that the seal does not list fail it.

    Args:
        folder: the bundle's folder (``<evidence root>/<case>/<bundle>/``), as sealed and exported.
        certificate: the TSA's certificate (PEM or DER), to check the time stamp's signer.
        ca_file: the CA certificates (PEM) the TSA chains to, to check the time stamp's signature.
        allow_unstamped: accept a bundle without a time stamp, or whose stamp's signer is not checked.

    Returns:
        A report whose ``ok`` is true only when every error-level check holds; failures of warning-level checks
        (with ``allow_unstamped``: no time stamp, signature not checked; a stamp taken long after sealing) are
        listed in ``warnings`` but do not fail it. Never raises for a damaged bundle: what is wrong is in the report.
    """
    folder = Path(folder)
    checks: list[Check] = []
    seal, seal_bytes, seal_check = _read_seal(folder / SEAL_FILE)
    seal_sha256 = hashlib.sha256(seal_bytes).hexdigest() if seal_bytes is not None else None

    events: list[CustodyEvent] | None = None
    custody: list[Check] = []
    custody_path = folder / CUSTODY_FILE
    if not custody_path.is_file():
        custody.append(Check(name=CUSTODY_FILE, ok=False,
                             detail=f"{CUSTODY_FILE} is missing: the custody log was not exported with the bundle"))
    else:
        try:
            events = load_custody(custody_path)
        except EvidenceError as exc:
            custody.append(Check(name=CUSTODY_FILE, ok=False,
                                 detail=f"{CUSTODY_FILE} cannot be read (altered?): {exc}"))
        else:
            custody.extend(_custody_checks(events, seal, seal_sha256))

    checks.append(seal_check)
    if seal is not None:
        recorded = _recorded_hashes(events or [], seal)
        checks.extend(_check_file(folder, item, recorded.get(item.path, set())) for item in seal.artifacts)
        checks.append(_unlisted(folder, {item.path for item in seal.artifacts}))
    checks.extend(custody)
    checks.extend(_timestamp_checks(folder, seal, seal_sha256, events, certificate=certificate, ca_file=ca_file,
                                    allow_unstamped=allow_unstamped))
    ok = all(c.ok for c in checks if c.level == "error")
    return VerificationReport(folder=str(folder), bundle=seal.bundle if seal else None, ok=ok, checks=checks)


def format_report(report: VerificationReport) -> str:
    """The report as text for a person: a verdict line, every check, then exactly what fails."""
    verdict = "VERIFIED" if report.ok else f"FAILED ({len(report.problems)} problem(s))"
    lines = [f"Bundle {report.bundle or '(unknown)'} in {report.folder}: {verdict}"]
    for check in report.checks:
        mark = "ok  " if check.ok else ("FAIL" if check.level == "error" else "warn")
        lines.append(f"  {mark}  {check.name}: {check.detail}")
    if report.problems:
        lines.append("What fails:")
        lines.extend(f"  - {problem}" for problem in report.problems)
    if report.warnings:
        lines.append("Warnings (do not fail the bundle):")
        lines.extend(f"  - {warning}" for warning in report.warnings)
    return "\n".join(lines) + "\n"

