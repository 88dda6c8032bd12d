"""The custody log: verifying a subject's hash chain, and carrying it beside the evidence as JSON Lines.

A bundle's custody log lives in the case store (``CaseStore.append_custody``). :func:`export_custody` writes
it into the bundle's folder as ``custody.jsonl``, one event per line, so that the folder alone can be handed
to a court or an expert and checked (:func:`takedown.evidence.verify.verify_bundle`); :func:`load_custody`
reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from takedown.errors import EvidenceError
from takedown.models import CustodyEvent
from takedown.store.base import GENESIS_HASH
from takedown.store.blobs import atomic_write

__all__ = ["CUSTODY_FILE", "chain_events", "export_custody", "load_custody", "verify_chain"]

CUSTODY_FILE = "custody.jsonl"
"""The name of the exported custody log in a bundle's folder."""


def verify_chain(events: Sequence[CustodyEvent]) -> list[str]:
    """Every problem in a custody chain, in order; an empty list means the chain holds.

    Each event must hash to its own ``hash``, be numbered one after the other from 1, and hold the hash of the
    event before it (the first holds ``GENESIS_HASH``).
    """
    problems: list[str] = []
    prev = GENESIS_HASH
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            problems.append(f"event {event.seq}: expected number {expected_seq} (an event is missing or moved)")
        if event.prev_hash != prev:
            problems.append(f"event {event.seq}: does not follow the event before it")
        if not event.verify():
            problems.append(f"event {event.seq} ({event.action}): content does not match its hash")
        prev = event.hash
    return problems


def export_custody(events: Sequence[CustodyEvent], path: Path) -> None:
    """Write ``events`` to ``path`` as JSON Lines (one event per line, in the order given), atomically.

    Each line is the event's JSON (``CustodyEvent.model_dump_json()``), so the file reads back into the same
    events and their hashes still verify. Export again after every new event: the file is a copy of the log at
    the time it was written, and the store's log is the original.

    Raises:
        EvidenceError: the file cannot be written.
    """
    data = "".join(event.model_dump_json() + "\n" for event in events).encode("utf-8")
    try:
        atomic_write(Path(path), data)
    except OSError as exc:
        raise EvidenceError(f"cannot write the custody log {path}: {exc}", plugin="custody") from exc


def load_custody(path: Path) -> list[CustodyEvent]:
    """The events of a custody log that :func:`export_custody` wrote, in file order (the chain is not checked).

    The file must be UTF-8, hold one event per line, and end with a newline; blank lines are not allowed.

    Raises:
        EvidenceError: the file cannot be read, or a line is not a custody event (the message names the line).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise EvidenceError(f"cannot read the custody log {path.name}: {exc}", plugin="custody") from exc
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"{path.name} is not UTF-8 text: {exc}", plugin="custody") from exc
    if not text:
        return []
    if not text.endswith("\n"):
        raise EvidenceError(f"{path.name} does not end with a newline (it was cut short or altered)",
                            plugin="custody")
    events: list[CustodyEvent] = []
    # Split on "\n" only: str.splitlines() would also split on other control characters inside a line.
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        try:
            events.append(CustodyEvent.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise EvidenceError(f"{path.name} line {number} is not a custody event ({where}: {first['msg']})",
                                plugin="custody") from exc
    return events


def chain_events(
    subject: str, steps: Sequence[tuple[str, str, datetime, Mapping[str, str]]], *, prev_hash: str = GENESIS_HASH
) -> list[CustodyEvent]:
    """The events a store would append for ``steps`` (action, actor, time, details), chained from ``prev_hash``.

    Appending the same steps with the same times to a subject with no events gives exactly these events, so a
    report can show the custody log before the store records it in the transaction that finishes the step.
    """
    events: list[CustodyEvent] = []
    for seq, (action, actor, at, details) in enumerate(steps, start=1):
        fields = dict(details)
        digest = CustodyEvent.compute_hash(seq=seq, subject=subject, action=action, actor=actor, at=at, details=fields,
                                           prev_hash=prev_hash)
        events.append(CustodyEvent(seq=seq, subject=subject, action=action, actor=actor, at=at, details=fields,
                                   prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    return events
