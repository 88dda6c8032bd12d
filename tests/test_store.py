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


def test_migration_6_keeps_the_jurisdiction_of_notices_stored_before_it(tmp_path: Path) -> None:
    from takedown.models import Delivery, FindingState, Notice, NoticeState, Recipient, utcnow
    from takedown.store.sqlite import APPLICATION_ID, MIGRATIONS
    from takedown.testing import sample_finding

    path = tmp_path / "v5.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:5]:
        db.executescript(script)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 5")
    finding = sample_finding(state=FindingState.SENT)
    notice = Notice(case_id=finding.case_id, finding_id=finding.id, recipient=Recipient(address="a@b.example"),
                    jurisdiction="UK", locale="en", subject="s", body_text="b", state=NoticeState.SENT)
    now = utcnow()
    delivery = Delivery(notice_id=notice.id, transport="capture", message_id="<m@x>", approved_by="Officer",
                        approved_at=now, sent_at=now)
    db.execute("INSERT INTO findings (id, case_id, url, state, decision, seq, updated_at, data) "
               "VALUES (?, ?, ?, 'sent', 'match', 1, ?, ?)",
               (finding.id, finding.case_id, finding.candidate.url, now.isoformat(), finding.model_dump_json()))
    db.execute("INSERT INTO notices (id, case_id, finding_id, state, seq, updated_at, data) "
               "VALUES (?, ?, ?, 'sent', 1, ?, ?)",
               (notice.id, notice.case_id, finding.id, now.isoformat(), notice.model_dump_json()))
    db.execute("INSERT INTO notice_items (notice_id, finding_id, position) VALUES (?, ?, 0)", (notice.id, finding.id))
    db.execute("INSERT INTO deliveries (notice_id, message_id, sent_at, data) VALUES (?, ?, ?, ?)",
               (notice.id, delivery.message_id, now.isoformat(), delivery.model_dump_json()))
    db.close()
    with SQLiteCaseStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 6
        (sent,) = store.list_sent_notices(listing=[FindingState.SENT])
        assert (sent.notice_id, sent.jurisdiction, sent.listing, sent.sent_at) == (notice.id, "UK", 1, now)
        assert store.count_notices() == {NoticeState.SENT: 1}
        assert store.get_notice(notice.id) == notice


def test_pages_and_deadlines_are_read_through_indexes(tmp_path: Path) -> None:
    """The console's queries at scale: none of them reads a whole table of notices or findings."""
    from takedown.models import Decision, FindingState, NoticeState

    plans: list[list[str]] = []
    with SQLiteCaseStore(tmp_path / "s.sqlite") as store:
        db = store._db  # the plan of the store's own queries
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        store.list_notices(states=[NoticeState.SENT], limit=50, offset=100)
        store.list_notices("case-x", finding_id="fnd-x", states=[NoticeState.SENT])
        store.count_notices()
        store.list_findings(states=[FindingState.JUDGED], decision=Decision.REVIEW, limit=50)
        store.count_findings(states=[FindingState.JUDGED], decision=Decision.REVIEW)
        store.list_sent_notices(listing=[FindingState.SENT, FindingState.ESCALATED])
        db.set_trace_callback(None)
        for sql in statements:
            if sql.lstrip().upper().startswith("SELECT"):
                plans.append([row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")])
    assert len(plans) == 6
    scans = [step for plan in plans for step in plan if step.startswith("SCAN") and "COVERING INDEX" not in step]
    assert not scans, plans
    assert plans[1][0].startswith("SEARCH i USING INDEX notice_items_finding"), "a request's copies: by finding"
    assert plans[5][0].startswith("SEARCH f USING INDEX findings_state"), "deadlines: from the findings still up"
