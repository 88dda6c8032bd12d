"""A case's life: created from hashes, settled by officers, closed, or withdrawn by the victim.

Used by ``takedown case ...`` and ``takedown resolve``, and open to any agency tool (the console builds on it).
Every change is recorded in the case's custody log (subject: the case id) with the person who made it.

- ``case_hashes`` turns reference media (hashed here, never copied) and hash lists (``takedown hash`` output,
  StopNCII / ThreatExchange PDQ lists, CSV, JSONL) into a case's reference hashes.
- ``create_case`` stores a new case; ``set_case_status`` closes or reopens one.
- ``withdraw_case``: the victim withdrew consent. Monitoring and scanning stop, drafts not yet sent are withdrawn,
  the reference hashes and keywords are erased, and what must be kept for legal reasons (notices already sent,
  their deliveries, sealed evidence, custody logs) is listed in the returned report and in the custody log.
- ``resolve_finding``: an officer settles a ``review`` finding as a match (it gets evidence and drafts on the next
  run) or clears it.
- ``export_case`` / ``import_case`` move a case's definition (hashes, keywords, rules; never media) between stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from takedown.errors import NotFoundError, UsageError
from takedown.models import (
    Case,
    CasePriority,
    CaseStatus,
    Decision,
    Finding,
    FindingState,
    MediaKind,
    NoticeState,
    ReferenceHash,
    utcnow,
)
from takedown.report.review import case_withdrawn, intent_key
from takedown.store.base import CaseStore

__all__ = [
    "CASE_EXPORT_FORMAT",
    "WithdrawalReport",
    "case_hashes",
    "create_case",
    "export_case",
    "import_case",
    "resolve_finding",
    "set_case_status",
    "withdraw_case",
]

CASE_EXPORT_FORMAT = "takedown.case/1"
"""The ``format`` field of an exported case file."""

_MEDIA_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".mp4", ".webm",
                             ".mov", ".mkv", ".avi", ".m4v"})


def _media_files(paths: Iterable[Path]) -> list[Path]:
    files: set[Path] = set()
    for path in paths:
        if path.is_dir():
            files.update(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _MEDIA_SUFFIXES)
        elif path.is_file():
            files.add(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return sorted(files)


def _hash_tool_records(path: Path) -> bool:
    """Whether ``path`` is ``takedown hash`` output (JSON lines with ``file`` and ``pdq`` keys)."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            for line in fh:
                if line.strip():
                    first = json.loads(line)
                    return isinstance(first, dict) and "file" in first and "pdq" in first
    except (OSError, ValueError):
        return False
    return False


def _from_hash_tool(path: Path) -> tuple[list[ReferenceHash], list[str]]:
    from takedown.detect.hashing import read_jsonl

    hashes: list[ReferenceHash] = []
    problems: list[str] = []
    for record in read_jsonl(path):
        if record.error or record.sha256 is None:
            problems.append(f"{record.file}: {record.error or 'no hashes'}")
            continue
        kind = record.kind or MediaKind.IMAGE
        hashes.append(ReferenceHash(algorithm="sha256", value=record.sha256, reference=record.file, kind=kind))
        if record.md5:
            hashes.append(ReferenceHash(algorithm="md5", value=record.md5, reference=record.file, kind=kind))
        hashes += [ReferenceHash(**h.model_dump(), reference=record.file, kind=kind) for h in record.pdq]
    return hashes, problems


def _from_hash_list(path: Path) -> list[ReferenceHash]:
    from takedown.detect.hashlists import read_hashlist

    return [
        ReferenceHash(algorithm=r.algorithm, value=r.value, quality=r.quality, reference=r.reference or r.value[:16],
                      kind=MediaKind.IMAGE)  # exchanged PDQ lists hash pictures (and video frames as pictures)
        for r in read_hashlist(path)
    ]


def case_hashes(
    media: Sequence[Path] = (), hash_lists: Sequence[Path] = ()
) -> tuple[list[ReferenceHash], list[str]]:
    """A case's reference hashes from media files or folders (hashed locally, never copied) and hash lists.

    Media: every image and video in the files and folders given (folders searched recursively), each named in
    findings by its file name. Hash lists: ``takedown hash`` output (all its SHA-256, MD5 and PDQ hashes), or any
    list ``read_hashlist`` reads (StopNCII / ThreatExchange PDQ lines, CSV, JSONL).

    Returns:
        The hashes, and the problems of items that were skipped (a hash record that holds an error).

    Raises:
        UsageError: a path does not exist, no media file was found in the folders given, or a hash list is bad.
        DetectionError: a media file cannot be decoded.
    """
    from takedown.detect.references import reference_hashes

    hashes: list[ReferenceHash] = []
    problems: list[str] = []
    files = _media_files(media)
    if media and not files:
        raise UsageError(f"no images or videos in {', '.join(str(p) for p in media)}")
    for file in files:
        hashes += reference_hashes(file, label=file.name)
    for path in hash_lists:
        if not path.is_file():
            raise UsageError(f"{path}: no such hash list")
        if _hash_tool_records(path):
            found, skipped = _from_hash_tool(path)
            hashes += found
            problems += skipped
        else:
            hashes += _from_hash_list(path)
    return hashes, problems


def create_case(store: CaseStore, case: Case, *, by: str, context: Mapping[str, str] | None = None) -> Case:
    """Store a new case and record who created it.

    Raises:
        UsageError: a case with this id exists already, or nobody is named.
    """
    if not by.strip():
        raise UsageError("creating a case names the person who does it")
    try:
        store.get_case(case.id)
    except NotFoundError:
        pass
    else:
        raise UsageError(f"case {case.id} exists already; choose another id")
    with store.transaction():
        store.put_case(case)
        store.append_custody(case.id, "case_created", actor=by, details={
            "references": str(len(case.references)), "keywords": str(len(case.keywords)),
            "jurisdiction": case.jurisdiction, "priority": case.priority.value, **(context or {}),
        })
    return case


def set_case_status(
    store: CaseStore, case_id: str, status: CaseStatus, *, by: str, reason: str = "",
    context: Mapping[str, str] | None = None,
) -> Case:
    """Close (``closed``) or reopen (``open``) a case; a withdrawn case stays withdrawn (see ``withdraw_case``).

    Raises:
        UsageError: nobody is named, the case is withdrawn, or ``status`` is ``withdrawn``.
        NotFoundError: no such case.
    """
    if not by.strip():
        raise UsageError("changing a case's status names the person who does it")
    if status is CaseStatus.WITHDRAWN:
        raise UsageError("a case is withdrawn with withdraw_case, which erases its hashes and withdraws its drafts")
    with store.transaction():
        case = store.get_case(case_id)
        if case.status is CaseStatus.WITHDRAWN:
            raise UsageError(f"case {case_id} was withdrawn; it cannot be {status.value}ed again")
        if case.status is status:
            return case
        changed = case.model_copy(update={"status": status, "status_changed_at": utcnow()})
        store.put_case(changed)
        details = {**({"reason": reason} if reason else {}), **(context or {})}
        store.append_custody(case_id, f"case_{'reopened' if status is CaseStatus.OPEN else 'closed'}", actor=by,
                             details=details or None)
    return changed


class WithdrawalReport(BaseModel):
    """What ``withdraw_case`` did, and what it kept and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    by: str
    reason: str
    references_erased: int
    keywords_erased: int
    notices_withdrawn: tuple[str, ...] = ()
    unconfirmed_sends: tuple[str, ...] = Field(
        default=(), description="approved notices whose send may have happened: settle them with confirm_sent"
    )
    kept: dict[str, int] = Field(default_factory=dict, description="what was kept, by kind, and how many")
    kept_why: str = (
        "notices already sent and their deliveries, every sealed evidence bundle (with the fetched copies of the "
        "pages and media it holds, and the detections that may quote a keyword) and every custody log are kept: "
        "they record what was found, what the agency asked of whom and when, and may be needed in proceedings"
    )


def withdraw_case(
    store: CaseStore, case_id: str, *, by: str, reason: str, context: Mapping[str, str] | None = None
) -> WithdrawalReport:
    """The victim withdrew consent: stop all work on the case and erase what identifies her media.

    In one transaction: the case becomes ``withdrawn`` (no scan or monitor touches it again); every draft,
    approved or rejected notice not yet sent is ``withdrawn`` (an approved one whose send may already have left,
    an unconfirmed send, is listed instead so an officer settles it, and it is withdrawn then, never sent); the
    reference hashes and keywords are erased from the case, and the search keyword each finding remembers is
    blanked. What is kept is counted in the report and recorded with the reason in the case's custody log.
    From then on nothing of the case is scanned, monitored, followed up, resolved, drafted, approved or sent.

    Raises:
        UsageError: nobody or no reason is given, or the case was withdrawn already.
        NotFoundError: no such case.
    """
    if not by.strip() or not reason.strip():
        raise UsageError("a withdrawal names the person who records it and the reason")
    with store.transaction():
        case = store.get_case(case_id)
        if case.status is CaseStatus.WITHDRAWN:
            raise UsageError(f"case {case_id} was withdrawn already")
        withdrawn: list[str] = []
        unconfirmed: list[str] = []
        pending = [NoticeState.DRAFT, NoticeState.APPROVED, NoticeState.REJECTED]
        for notice in store.list_notices(case_id, states=pending):
            if store.get_checkpoint(intent_key(notice.id)):
                unconfirmed.append(notice.id)
                continue
            store.update_notice(notice.advance(NoticeState.WITHDRAWN, by=by, note=f"case withdrawn: {reason}"),
                                expected=notice.state)
            store.append_custody(notice.id, "withdrawn", actor=by, details={"why": "case withdrawn"})
            withdrawn.append(notice.id)
        findings = store.list_findings(case_id)
        for finding in findings:  # the query a site was searched with is the case's keyword
            if finding.candidate.query:
                candidate = finding.candidate.model_copy(update={"query": None})
                store.update_finding(finding.model_copy(update={"candidate": candidate}), expected=finding.state)
        sent = store.list_notices(case_id, states=[NoticeState.SENT])
        kept = {
            "sent notices": len(sent),
            "deliveries": sum(store.get_delivery(n.id) is not None for n in sent),
            "evidence bundles": len(store.list_bundles(case_id)),
            "findings (URLs, hashes and detections of the copies found)": len(findings),
        }
        report = WithdrawalReport(
            case_id=case_id, by=by, reason=reason, references_erased=len(case.references),
            keywords_erased=len(case.keywords), notices_withdrawn=tuple(withdrawn),
            unconfirmed_sends=tuple(unconfirmed), kept=kept,
        )
        store.put_case(case.model_copy(update={
            "status": CaseStatus.WITHDRAWN, "status_changed_at": utcnow(), "references": [], "keywords": [],
        }))
        details = {
            "reason": reason, "references_erased": str(report.references_erased),
            "keywords_erased": str(report.keywords_erased), "notices_withdrawn": str(len(withdrawn)),
            "unconfirmed_sends": ", ".join(unconfirmed), "kept_why": report.kept_why,
            **{f"kept: {k}": str(v) for k, v in kept.items()}, **(context or {}),
        }
        store.append_custody(case_id, "case_withdrawn", actor=by, details=details)
    return report


def resolve_finding(
    store: CaseStore, finding_id: str, decision: Decision, *, by: str, reason: str = "",
    context: Mapping[str, str] | None = None,
) -> Finding:
    """An officer settles a finding the policy sent to review: ``match`` or ``clear``.

    A match gets evidence and drafts on the case's next run (``takedown scan`` or ``monitor``, or
    ``Workflow.collect_evidence`` and ``draft``); a clear is final unless resolved again. The decision, the
    officer and the reason go into the finding's history, its reasons and the custody log.

    Raises:
        UsageError: nobody is named, ``decision`` is ``review``, the finding's case was withdrawn, or the finding
            is not a judged one (its evidence or notices exist already).
        NotFoundError: no such finding.
    """
    if not by.strip():
        raise UsageError("a resolution names the officer who makes it")
    if decision is Decision.REVIEW:
        raise UsageError("resolve a finding as match or clear")
    with store.transaction():
        finding = store.get_finding(finding_id)
        if case_withdrawn(store, finding.case_id):
            raise UsageError(f"case {finding.case_id} was withdrawn; its findings are not resolved any more")
        if finding.state is not FindingState.JUDGED:
            raise UsageError(f"finding {finding_id} is {finding.state.value}; only a judged finding is resolved "
                             "(one with evidence or notices was decided already)")
        was = finding.decision.value if finding.decision else "none"
        note = f"resolved as {decision.value} by {by}" + (f": {reason}" if reason else "")
        resolved = finding.advance(FindingState.JUDGED, by=by, note=note, decision=decision,
                                   reasons=(note, *finding.reasons))
        store.update_finding(resolved, expected=FindingState.JUDGED)
        store.append_custody(finding_id, "resolved", actor=by,
                             details={"from": was, "to": decision.value, **({"reason": reason} if reason else {}),
                                      **(context or {})})
    return resolved


def export_case(case: Case) -> str:
    """The case's definition as JSON: id, title, hashes, keywords, languages, rules; never media or findings."""
    data = {"format": CASE_EXPORT_FORMAT, "case": json.loads(case.model_dump_json())}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def import_case(store: CaseStore, text: str, *, by: str, case_id: str | None = None,
                priority: CasePriority | None = None, context: Mapping[str, str] | None = None) -> Case:
    """Store a case from ``export_case`` output, as a new open case (under ``case_id`` if given).

    Raises:
        UsageError: the text is not an exported case, or a case with its id exists.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"not an exported case: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != CASE_EXPORT_FORMAT or "case" not in data:
        raise UsageError(f"not an exported case (expected format {CASE_EXPORT_FORMAT!r})")
    try:
        case = Case.model_validate(data["case"])
    except ValidationError as exc:
        raise UsageError(f"the exported case is invalid: {exc}") from exc
    changes: dict[str, object] = {"status": CaseStatus.OPEN, "status_changed_at": None, "created_at": utcnow()}
    if case_id:
        changes["id"] = case_id
    if priority is not None:
        changes["priority"] = priority
    return create_case(store, case.model_copy(update=changes), by=by, context=context)
