"""The console's case pages as plain data, and a case made from what an officer uploads.

A case is made from reference media, hashed in memory as each upload is read and then dropped
(``reference_hashes_of_bytes``), and from hash lists pasted or uploaded (``takedown hash`` output, StopNCII /
ThreatExchange PDQ lines, CSV, JSONL). The case keeps hashes only.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takedown.errors import UsageError
from takedown.models import Case, CasePriority, ReferenceHash
from takedown.store.base import CaseStore

__all__ = ["MAX_REFERENCE_BYTES", "MAX_REFERENCE_FILES", "Upload", "case_from_form", "case_view", "cases_view"]

MAX_REFERENCE_BYTES = 512 * 1024 * 1024
"""The largest reference file one upload may be (a long video); a larger one is refused, unread beyond this."""
MAX_REFERENCE_FILES = 50


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name as the officer's computer gave it, and its bytes."""

    name: str
    data: bytes


def _words(value: str) -> list[str]:
    return list(dict.fromkeys(w.strip() for w in value.replace("\n", ",").split(",") if w.strip()))


def case_from_form(form: dict[str, str], uploads: Sequence[Upload], hash_lists: Sequence[Upload]) -> Case:
    """A new case from the console's form: title, keywords, jurisdiction, priority, languages, notes, with the
    hashes of the uploaded media and of the hash lists (uploaded, or pasted in ``form["hashes"]``).

    Raises:
        UsageError: no title, no reference at all, an unknown jurisdiction or priority, or a bad hash list.
        DetectionError: an uploaded file cannot be decoded.
    """
    from takedown.cases import case_hashes
    from takedown.detect.references import reference_hashes_of_bytes
    from takedown.report.jurisdictions import JURISDICTIONS

    title = form.get("title", "").strip()
    if not title:
        raise UsageError("a case needs a title")
    jurisdiction = form.get("jurisdiction", "KR").strip().upper()
    if jurisdiction not in JURISDICTIONS:
        raise UsageError(f"unknown jurisdiction {jurisdiction!r}; one of {', '.join(sorted(JURISDICTIONS))}")
    priority = form.get("priority", "normal")
    if priority not in {p.value for p in CasePriority}:
        raise UsageError(f"priority is one of {', '.join(p.value for p in CasePriority)}")
    references: list[ReferenceHash] = []
    for upload in uploads:  # each file's bytes are hashed here and dropped with the request
        references += reference_hashes_of_bytes(upload.data, Path(upload.name).name or "upload")
    pasted = form.get("hashes", "").strip()
    lists = [*hash_lists, *([Upload("pasted.txt", pasted.encode())] if pasted else [])]
    if lists:  # hashes are not media: the parser reads them from a private temporary folder
        with tempfile.TemporaryDirectory(prefix="takedown-hashlist-") as folder:
            paths = []
            for n, upload in enumerate(lists):
                path = Path(folder) / f"{n}{Path(upload.name).suffix.lower() or '.txt'}"
                path.write_bytes(upload.data)
                paths.append(path)
            found, _problems = case_hashes(hash_lists=paths)
            references += found
    keywords = _words(form.get("keywords", ""))
    if not references and not keywords:
        raise UsageError("a case needs reference media, a hash list or keywords to search for")
    languages = _words(form.get("languages", "")) or ["ko", "en"]
    return Case(title=title, references=references, keywords=keywords, jurisdiction=jurisdiction,
                priority=CasePriority(priority), languages=languages, notes=form.get("notes", "").strip())


def cases_view(store: CaseStore) -> dict[str, Any]:
    """Every case, the most urgent and newest first."""
    order = {p.value: n for n, p in enumerate(reversed(list(CasePriority)))}
    cases = sorted(store.list_cases(), key=lambda c: (order[c.priority.value], -c.created_at.timestamp()))
    return {"cases": [{"id": c.id, "title": c.title, "status": c.status.value, "priority": c.priority.value,
                       "jurisdiction": c.jurisdiction, "created": c.created_at.isoformat(timespec="minutes"),
                       "references": len({h.reference for h in c.references}), "keywords": len(c.keywords)}
                      for c in cases]}


def case_view(store: CaseStore, case_id: str) -> dict[str, Any]:
    """One case: what it searches for, what was found and asked for, and its last console scan.

    Raises:
        NotFoundError: no such case.
    """
    from takedown.console.scans import scan_state

    case = store.get_case(case_id)
    findings = store.list_findings(case_id)
    notices = store.list_notices(case_id)
    return {
        "case": {"id": case.id, "title": case.title, "status": case.status.value, "priority": case.priority.value,
                 "jurisdiction": case.jurisdiction, "keywords": case.keywords, "languages": case.languages,
                 "notes": case.notes, "created": case.created_at.isoformat(timespec="minutes"),
                 "open": case.status.value == "open",
                 "references": sorted(Counter(h.reference for h in case.references).items())},
        "decisions": sorted(Counter(f.decision.value if f.decision else "undecided" for f in findings).items()),
        "finding_states": sorted(Counter(f.state.value for f in findings).items()),
        "notice_states": sorted(Counter(n.state.value for n in notices).items()),
        "scan": scan_state(store, case_id),
    }
