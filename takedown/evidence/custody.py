"""The custody log: verifying a subject's hash chain."""

from __future__ import annotations

from collections.abc import Sequence

from takedown.models import CustodyEvent
from takedown.store.base import GENESIS_HASH

__all__ = ["verify_chain"]


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
