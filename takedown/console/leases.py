"""Leases: a request being reviewed is held by one officer, so two never work the same one.

Opening a draft request in the console takes its lease (with its copies in other languages) for ``LEASE``; an
approval or rejection by anyone else is refused while it is held, and the holder's decision releases it. A lease
nobody renews runs out, so a request left open in a closed tab comes back to the queue. Leases are kept in the
store (one checkpoint per notice), so they hold across browser tabs and console processes on one store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from takedown.models import utcnow
from takedown.store.base import CaseStore

__all__ = ["LEASE", "lease_holder", "release", "take"]

LEASE = timedelta(minutes=10)


def _key(notice_id: str) -> str:
    return f"lease:{notice_id}"


def _read(store: CaseStore, notice_id: str, now: datetime) -> tuple[str, datetime] | None:
    value = store.get_checkpoint(_key(notice_id)) or ""
    holder, _, until = value.partition("|")
    if not holder or not until:
        return None
    try:
        expires = datetime.fromisoformat(until)
    except ValueError:
        return None
    return (holder, expires) if expires > now else None


def lease_holder(store: CaseStore, notice_id: str, *, now: datetime | None = None) -> tuple[str, datetime] | None:
    """Who holds the notice's lease and until when, or ``None`` when nobody does (or it ran out)."""
    return _read(store, notice_id, now or utcnow())


def take(store: CaseStore, notice_ids: Sequence[str], username: str, *,
         now: datetime | None = None) -> tuple[str, datetime] | None:
    """Take (or renew) the lease of every notice in ``notice_ids`` for ``username``, all or none.

    Returns:
        ``None`` when the user holds them now; else who holds one of them, and until when (nothing is taken).
    """
    now = now or utcnow()
    with store.transaction():
        for notice_id in notice_ids:
            held = _read(store, notice_id, now)
            if held is not None and held[0] != username:
                return held
        until = (now + LEASE).isoformat()
        for notice_id in notice_ids:
            store.set_checkpoint(_key(notice_id), f"{username}|{until}")
    return None


def release(store: CaseStore, notice_ids: Sequence[str], username: str) -> None:
    """Give back the leases ``username`` holds on these notices (others' leases are left as they are)."""
    with store.transaction():
        now = utcnow()
        for notice_id in notice_ids:
            held = _read(store, notice_id, now)
            if held is not None and held[0] == username:
                store.set_checkpoint(_key(notice_id), "")
