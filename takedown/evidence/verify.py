"""Verification of a sealed bundle folder: does it still hold exactly what was captured, as documented, sealed
by the agency and time-stamped by a trusted TSA?

:func:`verify_bundle` needs only the folder and the trust anchors (the TSA's certificate or CA, the agency's
CA): ``seal.json``, the files it lists, ``custody.jsonl``, ``seal.sig``/``seal.pem`` and ``seal.tsr``. It checks,
and names what fails:

1. ``seal.json`` is a seal this version understands;
2. every file it lists exists, with the listed size and SHA-256, and no other file is in the folder;
3. the custody log is an unbroken hash chain about this bundle, records each file's SHA-256 (``hashed``), its
   last ``sealed`` event holds the SHA-256 of this very ``seal.json``, and after the custody head that
   ``seal.json`` records come only the seal's own events (an event appended later, even with a correct chain
   hash, fails);
4. the agency's signature over ``seal.json`` verifies, by a certificate that chains to the trusted agency CA;
5. the time stamp stamps the SHA-256 of ``seal.json``, is the reply the custody log recorded, and carries a
   valid signature of a trusted TSA;
6. the seal of the raw capture (``capture-seal.json``, taken before the reports) lists what ``seal.json`` lists
   for the same files, and its time stamp (which the reports cite) holds as in 5.

A missing or unchecked signature or stamp fails the bundle unless ``allow_unsigned``/``allow_unstamped`` accept it
as "integrity only". Warnings never fail a bundle: those accepted gaps, a stamp taken more than an hour after the
seal's time (it proves existence at the TSA's time, not at the seal's), a capture that was not time-stamped
before its reports, and an older seal that records no custody head.

What it cannot see: events cut from the custody log's end together with the seal's own events would leave
``seal.json`` without its ``sealed`` event, which fails; but the store's log (``CaseStore.custody_log``) stays the
original for events about the case after sealing.
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
from takedown.evidence.seal import (
    CAPTURE_SEAL_FILE,
    CAPTURE_TOKEN_FILE,
    RESERVED,
    SEAL_FILE,
    SEAL_FORMAT,
    TOKEN_FILE,
    file_sha256,
)
from takedown.evidence.signing import CHAIN_FILE, SIGNATURE_FILE, verify_signature
from takedown.evidence.tsa import decode_token, imprint_problems, verify_token
from takedown.models import CustodyEvent

__all__ = ["Check", "VerificationReport", "format_report", "verify_bundle"]

_MAX_NAMED = 10
_STAMP_DELAY = timedelta(hours=1)  # a stamp taken later than this after sealing is reported (as a warning)
_CLOCK_SKEW = timedelta(minutes=5)  # how far the agency's clock may run ahead of the TSA's
_UNSTAMPED_HINT = " (takedown verify --allow-unstamped accepts this as integrity only)"
_UNSIGNED_HINT = " (takedown verify --allow-unsigned accepts this as integrity only)"
_FORMATS = frozenset({"takedown-seal/1", SEAL_FORMAT})
_MAX_SIDE_FILE = 1 << 20  # seal.sig, seal.pem, *.tsr: a few KiB each
# What the seal's own steps append to the custody log after the head it records, and how often each may occur.
_AFTER_SEAL = {"sealed": (1, 1), "signed": (0, 1), "timestamped": (0, 1), "not_timestamped": (0, 1),
               "originals_included": (0, 1)}


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
    stage: str = "final"
    bundle: str
    case: str
    finding: str
    sealed_at: str
    artifacts: list[_SealedFile]
    custody_head: str | None = None

    @property
    def sealed_time(self) -> datetime | None:
        try:
            at = datetime.fromisoformat(self.sealed_at)
        except (ValueError, TypeError):
            return None
        return at if at.tzinfo is not None else None


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
    if seal.format not in _FORMATS or seal.stage != "final":
        return None, data, Check(name=name, ok=False,
                                 detail=f"{name} has format {seal.format!r}, stage {seal.stage!r}, not {SEAL_FORMAT!r}")
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
    checks.append(_after_seal_check(events, seal))
    return checks


def _after_seal_check(events: list[CustodyEvent], seal: _Seal) -> Check:
    """The events after the custody head that ``seal.json`` records must be the seal's own steps, once each."""
    name = "custody ends with the seal"
    if seal.custody_head is None:
        return Check(name=name, ok=False, level="warning",
                     detail=f"{SEAL_FILE} records no custody head (an older seal): events appended to {CUSTODY_FILE} "
                            "after sealing cannot be told apart")
    at = next((i for i, e in enumerate(events) if e.hash == seal.custody_head), None)
    if at is None:
        return Check(name=name, ok=False,
                     detail=f"{CUSTODY_FILE} has no event with the hash {seal.custody_head} that {SEAL_FILE} records "
                            "as its last event before sealing (the log was rewritten)")
    after = events[at + 1:]
    counts: dict[str, int] = {}
    for event in after:
        counts[event.action] = counts.get(event.action, 0) + 1
    hashed = counts.pop("hashed", 0)
    wrong = [f"{action} x{count}" for action, count in sorted(counts.items())
             if not _AFTER_SEAL.get(action, (1, 0))[0] <= count <= _AFTER_SEAL.get(action, (1, 0))[1]]
    wrong += [f"{action} x0" for action, (least, _) in _AFTER_SEAL.items() if least and action not in counts]
    if counts.get("timestamped", 0) + counts.get("not_timestamped", 0) > 1:
        wrong.append("timestamped and not_timestamped")
    if hashed != len(seal.artifacts):
        wrong.append(f"hashed x{hashed} for {len(seal.artifacts)} sealed files")
    if wrong:
        return Check(name=name, ok=False,
                     detail=f"after event {events[at].seq}, the custody head {SEAL_FILE} records, {CUSTODY_FILE} "
                            f"holds events that sealing does not write: {_names(wrong)} (appended after sealing)")
    return Check(name=name, ok=True,
                 detail=f"event {events[at].seq} is the head {SEAL_FILE} records; after it only the seal's own "
                        f"{len(after)} events")


def _side_file(path: Path) -> bytes | None:
    """A small file of the bundle (signature, chain, time stamp), or ``None`` when it is not a readable file."""
    if not path.is_file() or path.is_symlink():
        return None
    try:
        with path.open("rb") as fh:
            return fh.read(_MAX_SIDE_FILE + 1)
    except OSError:
        return None


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


def _stamp_checks(
    folder: Path,
    token_file: str,
    digest_hex: str | None,
    sealed_name: str,
    events: list[CustodyEvent] | None,
    *,
    stamped_action: str,
    not_stamped_action: str,
    certificate: Path | None,
    ca_file: Path | None,
    allow_unstamped: bool,
    missing_level: Literal["error", "warning"] | None = None,
    name: str = "time stamp",
    sealed_at: str | None = None,
) -> list[Check]:
    """The checks of one time stamp, ``token_file`` over the SHA-256 ``digest_hex`` of ``sealed_name``."""
    path = folder / token_file
    stamped = _last(events, stamped_action) if events is not None else None
    not_stamped = _last(events, not_stamped_action) if events is not None else None
    unstamped: Literal["error", "warning"] = "warning" if allow_unstamped else "error"
    if not path.exists() and not path.is_symlink():
        if stamped is not None:
            return [Check(name=name, ok=False,
                          detail=f"{token_file} is missing, but {CUSTODY_FILE} event {stamped.seq} records a time "
                                 f"stamp by {stamped.details.get('tsa')}")]
        if events is None:
            why = f"without a readable {CUSTODY_FILE} it is unknown whether a time stamp was taken"
        else:
            why = not_stamped.details.get("reason", "no reason recorded") if not_stamped else "no reason recorded"
        return [Check(name=name, ok=False, level=missing_level or unstamped,
                      detail=f"no {token_file} ({why}): integrity only, no trusted time for {sealed_name}"
                             f"{_UNSTAMPED_HINT if not allow_unstamped and missing_level is None else ''}")]
    data = _side_file(path)
    if data is None or len(data) > _MAX_SIDE_FILE:
        return [Check(name=name, ok=False, detail=f"{token_file} is not a readable file of a time-stamp reply")]
    checks: list[Check] = []
    try:
        reply = decode_token(data)
    except EvidenceError as exc:
        return [Check(name=name, ok=False, detail=f"{token_file} is not a time-stamp reply (altered?): {exc}")]
    if digest_hex is None:
        return [Check(name=name, ok=False, detail=f"{token_file} cannot be checked without a readable {sealed_name}")]
    problems = [f"{p} (the SHA-256 of {sealed_name})" for p in imprint_problems(reply, bytes.fromhex(digest_hex))]
    token_sha256 = hashlib.sha256(data).hexdigest()
    if events is None:
        problems.append(f"{token_file} cannot be compared with the custody log, which cannot be read")
    elif stamped is None:
        problems.append(f"{CUSTODY_FILE} records no time stamp, yet {token_file} is there")
    elif stamped.details.get("sha256") != token_sha256:
        problems.append(f"{token_file} has SHA-256 {token_sha256}, but {CUSTODY_FILE} event {stamped.seq} "
                        f"recorded {stamped.details.get('sha256')} ({token_file} was altered or replaced)")
    stamped_at = reply.tst_info.gen_time
    when = stamped_at.isoformat()
    tsa = stamped.details.get("tsa", "an unnamed TSA") if stamped else "an unnamed TSA"
    if problems:
        checks.append(Check(name=name, ok=False, detail=f"{token_file}: " + "; ".join(problems)))
    else:
        checks.append(Check(name=name, ok=True,
                            detail=f"{token_file}: {tsa} stamped SHA-256 {digest_hex} of {sealed_name} at {when}"))
        if sealed_at is not None:
            checks.append(_delay_check(sealed_at, stamped_at))
    sig = f"{name.removesuffix('time stamp')}time-stamp signature"
    if certificate is None and ca_file is None:
        checks.append(Check(name=sig, ok=False, level=unstamped,
                            detail=f"not checked: no trusted TSA is configured, so anyone could have made "
                                   f"{token_file}; give the TSA certificate or CA file ([tsa] certificate, ca_file)"
                                   + (" (integrity only, no trusted time)" if allow_unstamped else _UNSTAMPED_HINT)))
        return checks
    # Only the signature here: verified over the digest the token itself stamps (a wrong digest is reported above).
    signature = verify_token(data, digest_sha256=reply.tst_info.message_imprint.message, certificate=certificate,
                             ca_file=ca_file)
    anchors = " and ".join(f"{what} {where}" for what, where in (("the TSA certificate", certificate),
                                                                  ("the CA in", ca_file)) if where is not None)
    checks.append(
        Check(name=sig, ok=False, detail=f"{token_file}: " + "; ".join(signature))
        if signature else
        Check(name=sig, ok=True, detail=f"{token_file} carries a valid signature by {anchors}")
    )
    return checks


def _signature_checks(
    folder: Path,
    seal: _Seal | None,
    seal_bytes: bytes | None,
    events: list[CustodyEvent] | None,
    *,
    agency_ca: Path | None,
    allow_unsigned: bool,
) -> list[Check]:
    name = "agency signature"
    level: Literal["error", "warning"] = "warning" if allow_unsigned else "error"
    signed = _last(events, "signed") if events is not None else None
    signature, chain = _side_file(folder / SIGNATURE_FILE), _side_file(folder / CHAIN_FILE)
    if signature is None:
        if signed is not None:
            return [Check(name=name, ok=False,
                          detail=f"{SIGNATURE_FILE} is missing or unreadable, but {CUSTODY_FILE} event {signed.seq} "
                                 f"records a signature by {signed.details.get('signer')}")]
        return [Check(name=name, ok=False, level=level,
                      detail=f"no {SIGNATURE_FILE}: no agency key vouches for {SEAL_FILE}, so anyone could have "
                             f"rebuilt it{_UNSIGNED_HINT if not allow_unsigned else ' (integrity only)'}")]
    if chain is None or seal_bytes is None:
        missing = CHAIN_FILE if chain is None else f"a readable {SEAL_FILE}"
        return [Check(name=name, ok=False, detail=f"{SIGNATURE_FILE} cannot be checked without {missing}")]
    problems: list[str] = []
    if events is not None:
        if signed is None:
            problems.append(f"{CUSTODY_FILE} records no signature, yet {SIGNATURE_FILE} is there")
        elif signed.details.get("sha256") != hashlib.sha256(signature).hexdigest():
            problems.append(f"{SIGNATURE_FILE} is not the signature {CUSTODY_FILE} event {signed.seq} recorded")
        elif signed.details.get("certificate_sha256") != hashlib.sha256(chain).hexdigest():
            problems.append(f"{CHAIN_FILE} is not the certificate chain {CUSTODY_FILE} event {signed.seq} recorded")
    if agency_ca is None:
        hint = _UNSIGNED_HINT if not allow_unsigned else " (integrity only)"
        return [
            *([Check(name=name, ok=False, detail="; ".join(problems))] if problems else []),
            Check(name=name, ok=False, level=level,
                  detail=f"not checked: no trusted agency CA is configured ([signing] ca_file, --agency-ca), so "
                         f"anyone's key could have made {SIGNATURE_FILE}{hint}"),
        ]
    problems.extend(verify_signature(seal_bytes, signature, chain, ca_file=agency_ca,
                                     at=seal.sealed_time if seal is not None else None))
    if problems:
        return [Check(name=name, ok=False, detail=f"{SIGNATURE_FILE}: " + "; ".join(problems))]
    who = signed.details.get("signer", "the agency") if signed is not None else "the agency"
    return [Check(name=name, ok=True, detail=f"{SIGNATURE_FILE}: {who} signed {SEAL_FILE}, a certificate that "
                                             f"chains to the trusted agency CA in {agency_ca}")]


def _capture_checks(
    folder: Path,
    seal: _Seal,
    events: list[CustodyEvent] | None,
    *,
    certificate: Path | None,
    ca_file: Path | None,
    allow_unstamped: bool,
) -> list[Check]:
    """The seal of the raw capture, taken before the reports: what it lists is what the final seal lists, and its
    time stamp (which the reports cite) stamps it."""
    listed = {item.path: item for item in seal.artifacts}
    if CAPTURE_SEAL_FILE not in listed:
        return []
    name = "capture seal"
    data = _side_file(folder / CAPTURE_SEAL_FILE)
    if data is None:
        return []  # reported missing by its file check
    try:
        early = _Seal.model_validate(json.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, ValueError) as exc:
        return [Check(name=name, ok=False, detail=f"{CAPTURE_SEAL_FILE} is not a readable seal: "
                                                  f"{str(exc).splitlines()[0]}")]
    problems = [] if early.stage == "capture" and early.bundle == seal.bundle else [
        f"{CAPTURE_SEAL_FILE} is the {early.stage!r} seal of bundle {early.bundle}, not the capture seal of "
        f"{seal.bundle}"]
    changed = [item.path for item in early.artifacts
               if item.path not in listed or (listed[item.path].sha256, listed[item.path].size)
               != (item.sha256, item.size)]
    if changed:
        problems.append(f"{_names(changed)} differ from what {CAPTURE_SEAL_FILE} recorded at capture (changed "
                        "before the final seal)")
    checks = [Check(name=name, ok=not problems,
                    detail="; ".join(problems) if problems else
                    f"{CAPTURE_SEAL_FILE} ({early.sealed_at}) lists {len(early.artifacts)} captured files, each as "
                    f"{SEAL_FILE} lists it")]
    checks.extend(_stamp_checks(
        folder, CAPTURE_TOKEN_FILE, hashlib.sha256(data).hexdigest(), CAPTURE_SEAL_FILE, events,
        stamped_action="capture_timestamped", not_stamped_action="capture_not_timestamped",
        certificate=certificate, ca_file=ca_file, allow_unstamped=allow_unstamped, missing_level="warning",
        name="capture time stamp"))
    return checks


def verify_bundle(
    folder: Path,
    *,
    certificate: Path | None = None,
    ca_file: Path | None = None,
    allow_unstamped: bool = False,
    agency_ca: Path | None = None,
    allow_unsigned: bool = False,
) -> VerificationReport:
    """Check a sealed bundle folder: files against the seal, the custody log, the agency's signature and the
    time stamps.

    A bundle verifies only with a time stamp whose signature chains to a trusted TSA (``certificate`` and/or
    ``ca_file``: *when*) and an agency signature over ``seal.json`` that chains to a trusted agency CA
    (``agency_ca``: *who*). A TSA stamps whatever it is sent, so without the signature anyone could rebuild altered
    evidence with a fresh, consistent seal and custody log and have it stamped; without the stamp, the time rests
    on the agency's word. ``allow_unstamped`` and ``allow_unsigned`` accept a missing or unchecked stamp or
    signature as "integrity only" (a warning). Files in the folder that the seal does not list fail it, and so
    do custody events after the head the seal records, other than the seal's own.

    Args:
        folder: the bundle's folder (``<evidence root>/<case>/<bundle>/``), as sealed and exported.
        certificate: the TSA's certificate (PEM or DER), to check the time stamps' signer.
        ca_file: the CA certificates (PEM) the TSA chains to, to check the time stamps' signature.
        allow_unstamped: accept a bundle without a time stamp, or whose stamp's signer is not checked.
        agency_ca: the CA certificates (PEM) trusted for agency signatures (``[signing] ca_file``).
        allow_unsigned: accept a bundle without an agency signature, or whose signer is not checked.

    Returns:
        A report whose ``ok`` is true only when every error-level check holds; failures of warning-level checks
        (with ``allow_unstamped``/``allow_unsigned``: no stamp or signature, or one not checked; a stamp taken long
        after sealing; no time stamp of the raw capture) are listed in ``warnings`` but do not fail it. Never raises
        for a damaged bundle: what is wrong is in the report.
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
    checks.extend(_signature_checks(folder, seal, seal_bytes, events, agency_ca=agency_ca,
                                    allow_unsigned=allow_unsigned))
    checks.extend(_stamp_checks(folder, TOKEN_FILE, seal_sha256, SEAL_FILE, events, stamped_action="timestamped",
                                not_stamped_action="not_timestamped", certificate=certificate, ca_file=ca_file,
                                allow_unstamped=allow_unstamped, sealed_at=seal.sealed_at if seal else None))
    if seal is not None:
        checks.extend(_capture_checks(folder, seal, events, certificate=certificate, ca_file=ca_file,
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

