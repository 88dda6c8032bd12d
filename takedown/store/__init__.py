"""Case stores: where cases, findings, evidence, notices and custody logs persist.

``open_store(url)`` opens one by URL; ``sqlite:///path/to/file.sqlite`` is the default and only built-in
backend (a PostgreSQL one can be added behind the same ``CaseStore`` Protocol).
"""

from __future__ import annotations

from pathlib import Path

from takedown.errors import UsageError
from takedown.store.base import GENESIS_HASH, CaseStore, SentNotice
from takedown.store.blobs import BlobStore, atomic_write
from takedown.store.sqlite import SCHEMA_VERSION, SQLiteCaseStore

__all__ = ["GENESIS_HASH", "SCHEMA_VERSION", "BlobStore", "CaseStore", "SQLiteCaseStore", "SentNotice", "atomic_write",
           "open_store"]


def open_store(url: str | Path) -> SQLiteCaseStore:
    """Open the case store at ``url``: ``sqlite:///relative/or/absolute.sqlite``, or a plain file path.

    Raises:
        UsageError: the URL names a backend takedown does not have.
        StoreVersionError, StoreCorruptError: see ``SQLiteCaseStore``.
    """
    text = str(url)
    if "://" not in text:
        return SQLiteCaseStore(Path(text))
    scheme, _, rest = text.partition("://")
    if scheme != "sqlite":
        raise UsageError(f"no case store for {scheme!r} URLs; available: sqlite")
    # sqlite:///rel/path and sqlite:////abs/path, as SQLAlchemy spells them.
    return SQLiteCaseStore(Path(rest[1:]) if rest.startswith("/") else Path(rest))
