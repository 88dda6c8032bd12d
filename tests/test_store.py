from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from takedown.errors import StoreCorruptError, StoreError, StoreVersionError, UsageError
from takedown.store import SCHEMA_VERSION, CaseStore, SQLiteCaseStore, open_store
from takedown.testing import CaseStoreContract, memory_store, sample_case


class TestSQLiteOnDisk(CaseStoreContract):
    def make_store(self, folder: Path) -> CaseStore:
        return SQLiteCaseStore(folder / "takedown.sqlite")


class TestSQLiteInMemory(CaseStoreContract):
    def make_store(self, folder: Path) -> CaseStore:
        return memory_store(folder / "blobs")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_store_is_versioned_wal_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteCaseStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA application_id").fetchone()[0] == 0x54414B44
    db.close()


def test_store_from_a_newer_takedown_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteCaseStore(path) as store:
        store.put_case(sample_case())
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = _digest(path)
    with pytest.raises(StoreVersionError, match="newer"):
        SQLiteCaseStore(path)
    assert _digest(path) == before


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is a spreadsheet, not a database\x00" * 100)
    before = _digest(path)
    with pytest.raises(StoreCorruptError):
        SQLiteCaseStore(path)
    assert _digest(path) == before


def test_a_damaged_store_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteCaseStore(path) as store:
        for n in range(200):
            store.put_case(sample_case(id=f"case-{n}", notes="x" * 500))
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 2 + 512] = b"\xff" * 512  # overwrite part of a b-tree page
    path.write_bytes(bytes(data))
    before = _digest(path)
    with pytest.raises(StoreCorruptError, match="damaged"):
        SQLiteCaseStore(path)
    assert _digest(path) == before


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(StoreCorruptError, match="not a takedown store"):
        SQLiteCaseStore(path)


def test_the_custody_log_cannot_be_rewritten(store: SQLiteCaseStore) -> None:
    store.append_custody("bnd-1", "captured", actor="t")
    db = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE custody SET data = '{}'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM custody")
    db.close()


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///rel/a.sqlite").close()
    assert (tmp_path / "rel" / "a.sqlite").is_file()
    open_store(f"sqlite:///{tmp_path}/abs.sqlite").close()
    assert (tmp_path / "abs.sqlite").is_file()
    open_store(tmp_path / "plain.sqlite").close()
    with pytest.raises(UsageError, match="available: sqlite"):
        open_store("postgresql://db.example/takedown")


def test_blobs_are_content_addressed_and_verified(store: SQLiteCaseStore) -> None:
    sha = store.blobs.put(b"evidence")
    path = store.blobs.path(sha)
    assert path.name == sha and path.parent.name == sha[:2]
    assert sha in store.blobs
    path.write_bytes(b"tampered")
    with pytest.raises(StoreError, match="altered"):
        store.blobs.read(sha)
    with pytest.raises(StoreError, match="SHA-256"):
        store.blobs.path("../../etc/passwd")


def test_in_memory_store_needs_a_blob_folder() -> None:
    with pytest.raises(StoreError):
        SQLiteCaseStore(":memory:")
