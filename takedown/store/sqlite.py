"""The default case store: one SQLite file in WAL mode, a versioned schema, blobs on disk beside it.

Records are kept as JSON (the pydantic models' own serialisation) with the columns that queries filter on
beside them, so a model can gain a field without a migration. Schema changes are numbered migrations; the
version lives in ``PRAGMA user_version`` and the file is marked as takedown's by ``PRAGMA application_id``.
A file from a newer takedown, or one that is not a takedown store, is refused before anything is written.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel

from takedown.errors import (
    InvalidTransitionError,
    NotFoundError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
    UsageError,
)
from takedown.models import (
    ApiToken,
    BankEntry,
    Case,
    CustodyEvent,
    Decision,
    Delivery,
    EvidenceBundle,
    Finding,
    FindingState,
    FollowUp,
    HashBank,
    LoginSession,
    Notice,
    NoticeState,
    User,
    utcnow,
)
from takedown.store.base import GENESIS_HASH, SentNotice
from takedown.store.blobs import BlobStore

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteCaseStore"]

APPLICATION_ID = 0x54414B44  # "TAKD"
_SQLITE_MAGIC = b"SQLite format 3\x00"

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE cases (
        id TEXT PRIMARY KEY, created_at TEXT NOT NULL, data TEXT NOT NULL);
    CREATE TABLE findings (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL, url TEXT NOT NULL, state TEXT NOT NULL,
        decision TEXT, seq INTEGER NOT NULL, updated_at TEXT NOT NULL, data TEXT NOT NULL);
    CREATE INDEX findings_case_state ON findings (case_id, state);
    CREATE TABLE bundles (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL, finding_id TEXT NOT NULL UNIQUE, seq INTEGER NOT NULL,
        data TEXT NOT NULL);
    CREATE TABLE notices (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL, finding_id TEXT NOT NULL, state TEXT NOT NULL,
        seq INTEGER NOT NULL, updated_at TEXT NOT NULL, data TEXT NOT NULL);
    CREATE INDEX notices_finding ON notices (finding_id);
    CREATE TABLE deliveries (
        notice_id TEXT PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, sent_at TEXT NOT NULL, data TEXT NOT NULL);
    CREATE TABLE followups (
        id INTEGER PRIMARY KEY AUTOINCREMENT, notice_id TEXT NOT NULL, checked_at TEXT NOT NULL,
        data TEXT NOT NULL);
    CREATE INDEX followups_notice ON followups (notice_id);
    CREATE TABLE custody (
        subject TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (subject, seq));
    CREATE TRIGGER custody_append_only_update BEFORE UPDATE ON custody
        BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END;
    CREATE TRIGGER custody_append_only_delete BEFORE DELETE ON custody
        BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END;
    CREATE TABLE checkpoints (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
    """,
    # 2: hash banks and their entries (one row per hash; unique per bank by algorithm and value).
    """
    CREATE TABLE banks (
        name TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at TEXT NOT NULL, data TEXT NOT NULL);
    CREATE TABLE bank_entries (
        seq INTEGER PRIMARY KEY, bank TEXT NOT NULL REFERENCES banks (name),
        algorithm TEXT NOT NULL, value TEXT NOT NULL, data TEXT NOT NULL,
        UNIQUE (bank, algorithm, value));
    CREATE INDEX bank_entries_bank_seq ON bank_entries (bank, seq);
    """,
    # 3: a notice lists one or more findings (grouped notices); each notice stored so far lists its one finding.
    """
    CREATE TABLE notice_items (
        notice_id TEXT NOT NULL REFERENCES notices (id), finding_id TEXT NOT NULL, position INTEGER NOT NULL,
        PRIMARY KEY (notice_id, finding_id));
    CREATE INDEX notice_items_finding ON notice_items (finding_id);
    INSERT INTO notice_items (notice_id, finding_id, position) SELECT id, finding_id, 0 FROM notices;
    """,
    # 4: the console's users and their login sessions (kept by the SHA-256 of the session token).
    """
    CREATE TABLE users (username TEXT PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users (username), expires_at TEXT NOT NULL,
        ended INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE INDEX sessions_user ON sessions (username, ended);
    """,
    # 5: the REST API's tokens (kept by the SHA-256 of the token, like sessions).
    """
    CREATE TABLE api_tokens (
        token_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users (username),
        created_at TEXT NOT NULL, data TEXT NOT NULL);
    CREATE INDEX api_tokens_user ON api_tokens (username, created_at);
    """,
    # 6: indexes for lists by state and their pages and counts (the console's queues at tens of thousands of
    # notices), and for the next seq of every insert (max(seq) read the whole table each time); a notice's
    # jurisdiction beside it, in one index with its id and state, so the legal deadlines of sent notices are found
    # without reading their JSON.
    """
    ALTER TABLE notices ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT '';
    UPDATE notices SET jurisdiction = coalesce(json_extract(data, '$.jurisdiction'), '');
    CREATE INDEX notices_id_state ON notices (id, state, jurisdiction);
    CREATE INDEX notices_state_seq ON notices (state, seq);
    CREATE INDEX notices_case_state ON notices (case_id, state);
    CREATE INDEX notices_seq ON notices (seq);
    CREATE INDEX findings_state_seq ON findings (state, seq);
    CREATE INDEX findings_decision_state_seq ON findings (decision, state, seq);
    CREATE INDEX findings_seq ON findings (seq);
    CREATE INDEX bundles_seq ON bundles (seq);
    """,
)
"""Each entry moves the schema up one version; never edit one that has shipped, append a new one."""

SCHEMA_VERSION = len(MIGRATIONS)

M = TypeVar("M", bound=BaseModel)


def _load(model: type[M], data: str) -> M:
    return model.model_validate_json(data)


class SQLiteCaseStore:
    """A ``CaseStore`` on one SQLite file (or ``:memory:``), with blobs in a folder.

    Args:
        path: the database file, created if missing; ``":memory:"`` for a throw-away store.
        blob_dir: where blobs go; default: ``<path's folder>/blobs``.

    Raises:
        StoreVersionError: the file was written by a newer takedown.
        StoreCorruptError: the file is damaged or not a takedown store. Nothing is written to it.
    """

    name: ClassVar[str] = "sqlite"

    def __init__(self, path: Path | str, *, blob_dir: Path | None = None) -> None:
        self.path = path if path == ":memory:" else Path(path)
        if isinstance(self.path, Path):
            self._check_header(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            default_blobs = self.path.parent / "blobs"
        else:
            if blob_dir is None:
                raise StoreError("an in-memory store needs a blob_dir")
            default_blobs = blob_dir
        self._blobs = BlobStore(blob_dir or default_blobs)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    # -- opening --------------------------------------------------------------------------------------------

    @staticmethod
    def _check_header(path: Path) -> None:
        if not path.exists() or path.stat().st_size == 0:
            return
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
        if head != _SQLITE_MAGIC:
            raise StoreCorruptError(f"{path} is not a SQLite database; refusing to open it as a case store")

    def _migrate(self) -> None:
        db = self._db
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptError(f"store {self.path} is damaged: {exc}") from exc
        if tables and app_id != APPLICATION_ID:
            raise StoreCorruptError(f"{self.path} is a SQLite database but not a takedown store")
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"store {self.path} has schema version {version}, newer than this takedown understands "
                f"({SCHEMA_VERSION}); upgrade takedown to open it"
            )
        if tables:
            try:
                check = db.execute("PRAGMA quick_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise StoreCorruptError(f"store {self.path} is damaged: {exc}") from exc
            if check != "ok":
                raise StoreCorruptError(f"store {self.path} is damaged: {check}")
        db.execute("PRAGMA busy_timeout = 10000")
        if isinstance(self.path, Path):
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        for number in range(version, SCHEMA_VERSION):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(MIGRATIONS[number]):
                    db.execute(statement)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {number + 1}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # -- plumbing -------------------------------------------------------------------------------------------

    @property
    def blobs(self) -> BlobStore:
        """The content-addressed store of raw bytes."""
        return self._blobs

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all land or none do. Nested transactions join the outer one."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> SQLiteCaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ids_with_prefix(self, kind: str, prefix: str, *, limit: int = 10) -> list[str]:
        """Ids of ``kind`` (case, finding, bundle or notice) that start with ``prefix``, at most ``limit``."""
        table = {"case": "cases", "finding": "findings", "bundle": "bundles", "notice": "notices"}.get(kind)
        if table is None:
            raise UsageError(f"no ids of kind {kind!r}")
        # substr, not LIKE: LIKE ignores case, and "alpha" must not name case "Alpha-1".
        return self._all(f"SELECT id FROM {table} WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT ?",
                         (len(prefix), prefix, limit))

    def _one(self, sql: str, params: Iterable[Any]) -> Any:
        with self._lock:
            row = self._db.execute(sql, tuple(params)).fetchone()
        return None if row is None else row[0]

    def _all(self, sql: str, params: Iterable[Any]) -> list[Any]:
        with self._lock:
            return [row[0] for row in self._db.execute(sql, tuple(params)).fetchall()]

    def _insert(self, sql: str, params: Iterable[Any]) -> bool:
        with self.transaction():
            cursor = self._db.execute(sql, tuple(params))
            return cursor.rowcount == 1

    def _next_seq(self, table: str) -> int:
        return int(self._db.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {table}").fetchone()[0])

    # -- cases ----------------------------------------------------------------------------------------------

    def put_case(self, case: Case) -> None:
        """Insert or replace a case."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO cases (id, created_at, data) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (case.id, case.created_at.isoformat(), case.model_dump_json()),
            )

    def get_case(self, case_id: str) -> Case:
        """The case with this id."""
        data = self._one("SELECT data FROM cases WHERE id = ?", (case_id,))
        if data is None:
            raise NotFoundError(f"no case {case_id!r}")
        return _load(Case, data)

    def list_cases(self) -> list[Case]:
        """All cases, oldest first."""
        return [_load(Case, d) for d in self._all("SELECT data FROM cases ORDER BY created_at, id", ())]

    # -- findings -------------------------------------------------------------------------------------------

    def add_finding(self, finding: Finding) -> bool:
        """Insert a new finding unless one with its id exists."""
        with self.transaction():
            return self._insert(
                "INSERT OR IGNORE INTO findings (id, case_id, url, state, decision, seq, updated_at, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    finding.id, finding.case_id, finding.candidate.url, finding.state.value,
                    finding.decision.value if finding.decision else None, self._next_seq("findings"),
                    utcnow().isoformat(), finding.model_dump_json(),
                ),
            )

    def get_finding(self, finding_id: str) -> Finding:
        """The finding with this id."""
        data = self._one("SELECT data FROM findings WHERE id = ?", (finding_id,))
        if data is None:
            raise NotFoundError(f"no finding {finding_id!r}")
        return _load(Finding, data)

    def update_finding(self, finding: Finding, *, expected: FindingState) -> None:
        """Replace a finding whose stored state is still ``expected``."""
        with self.transaction():
            cursor = self._db.execute(
                "UPDATE findings SET state = ?, decision = ?, updated_at = ?, data = ? WHERE id = ? AND state = ?",
                (
                    finding.state.value, finding.decision.value if finding.decision else None,
                    utcnow().isoformat(), finding.model_dump_json(), finding.id, FindingState(expected).value,
                ),
            )
            if cursor.rowcount != 1:
                current = self._one("SELECT state FROM findings WHERE id = ?", (finding.id,))
                if current is None:
                    raise NotFoundError(f"no finding {finding.id!r}")
                raise InvalidTransitionError(
                    f"finding {finding.id} (stored state changed)", current, finding.state.value, [expected]
                )

    def list_findings(
        self,
        case_id: str | None = None,
        *,
        states: Iterable[FindingState] | None = None,
        decision: Decision | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Finding]:
        """Findings, oldest first, filtered by case, states and decision; a page of them with ``limit``."""
        where, params = _finding_filter(case_id, states, decision)
        page, more = _page(limit, offset)
        rows = self._all(f"SELECT data FROM findings WHERE {where} ORDER BY seq{page}", [*params, *more])
        return [_load(Finding, d) for d in rows]

    def count_findings(
        self,
        case_id: str | None = None,
        *,
        states: Iterable[FindingState] | None = None,
        decision: Decision | None = None,
    ) -> int:
        """How many findings ``list_findings`` with the same filters returns."""
        where, params = _finding_filter(case_id, states, decision)
        return int(self._one(f"SELECT count(*) FROM findings WHERE {where}", params))

    # -- evidence -------------------------------------------------------------------------------------------

    def add_bundle(self, bundle: EvidenceBundle) -> bool:
        """Insert a bundle unless one with its id exists."""
        with self.transaction():
            return self._insert(
                "INSERT OR IGNORE INTO bundles (id, case_id, finding_id, seq, data) VALUES (?, ?, ?, ?, ?)",
                (bundle.id, bundle.case_id, bundle.finding_id, self._next_seq("bundles"), bundle.model_dump_json()),
            )

    def get_bundle(self, bundle_id: str) -> EvidenceBundle:
        """The bundle with this id."""
        data = self._one("SELECT data FROM bundles WHERE id = ?", (bundle_id,))
        if data is None:
            raise NotFoundError(f"no bundle {bundle_id!r}")
        return _load(EvidenceBundle, data)

    def list_bundles(self, case_id: str | None = None) -> list[EvidenceBundle]:
        """Bundles, oldest first."""
        if case_id is None:
            rows = self._all("SELECT data FROM bundles ORDER BY seq", ())
        else:
            rows = self._all("SELECT data FROM bundles WHERE case_id = ? ORDER BY seq", (case_id,))
        return [_load(EvidenceBundle, d) for d in rows]

    # -- notices --------------------------------------------------------------------------------------------

    def add_notice(self, notice: Notice) -> bool:
        """Insert a notice unless one with its id exists."""
        with self.transaction():
            added = self._insert(
                "INSERT OR IGNORE INTO notices (id, case_id, finding_id, state, seq, updated_at, data, jurisdiction) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    notice.id, notice.case_id, notice.finding_id, notice.state.value, self._next_seq("notices"),
                    utcnow().isoformat(), notice.model_dump_json(), notice.jurisdiction,
                ),
            )
            if added:
                self._db.executemany(
                    "INSERT INTO notice_items (notice_id, finding_id, position) VALUES (?, ?, ?)",
                    [(notice.id, finding_id, n) for n, finding_id in enumerate(notice.finding_ids)],
                )
            return added

    def get_notice(self, notice_id: str) -> Notice:
        """The notice with this id."""
        data = self._one("SELECT data FROM notices WHERE id = ?", (notice_id,))
        if data is None:
            raise NotFoundError(f"no notice {notice_id!r}")
        return _load(Notice, data)

    def update_notice(self, notice: Notice, *, expected: NoticeState) -> None:
        """Replace a notice whose stored state is still ``expected``."""
        with self.transaction():
            cursor = self._db.execute(
                "UPDATE notices SET state = ?, updated_at = ?, data = ?, jurisdiction = ? WHERE id = ? AND state = ?",
                (
                    notice.state.value, utcnow().isoformat(), notice.model_dump_json(), notice.jurisdiction,
                    notice.id, NoticeState(expected).value,
                ),
            )
            if cursor.rowcount != 1:
                current = self._one("SELECT state FROM notices WHERE id = ?", (notice.id,))
                if current is None:
                    raise NotFoundError(f"no notice {notice.id!r}")
                raise InvalidTransitionError(
                    f"notice {notice.id} (stored state changed)", current, notice.state.value, [expected]
                )

    def list_notices(
        self,
        case_id: str | None = None,
        *,
        finding_id: str | None = None,
        states: Iterable[NoticeState] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Notice]:
        """Notices, oldest first, filtered; a page of them with ``limit``."""
        if finding_id is not None:  # any notice that lists the finding: read from the few that do, never by state
            sql = ("SELECT n.data FROM notice_items i CROSS JOIN notices n ON n.id = i.notice_id "
                   "WHERE i.finding_id = ?")
            params: list[Any] = [finding_id]
        else:
            sql, params = "SELECT n.data FROM notices n WHERE 1=1", []
        if case_id is not None:
            sql, params = sql + " AND n.case_id = ?", [*params, case_id]
        if states is not None:
            wanted = [NoticeState(s).value for s in states]
            sql += f" AND n.state IN ({','.join('?' * len(wanted))})"
            params += wanted
        page, more = _page(limit, offset)
        return [_load(Notice, d) for d in self._all(sql + " ORDER BY n.seq" + page, [*params, *more])]

    def count_notices(self, case_id: str | None = None) -> dict[NoticeState, int]:
        """How many notices (of the case) are in each state; a state with none is left out."""
        sql, params = "SELECT state, count(*) FROM notices", list[str]()
        if case_id is not None:
            sql, params = sql + " WHERE case_id = ?", [case_id]
        with self._lock:
            rows = self._db.execute(sql + " GROUP BY state", params).fetchall()
        return {NoticeState(state): int(count) for state, count in rows}

    def list_sent_notices(self, *, listing: Iterable[FindingState]) -> list[SentNotice]:
        """Every sent notice with a delivery that lists a finding in ``listing`` states, earliest sent first."""
        wanted = [FindingState(s).value for s in listing]
        if not wanted:
            return []
        # From the few findings in those states to the notices that list them (never a scan of every notice), one
        # row per listed finding; counted here, which is cheaper than SQLite's GROUP BY over a temporary B-tree.
        sql = ("SELECT n.id, n.jurisdiction, d.sent_at "
               "FROM findings f CROSS JOIN notice_items i ON i.finding_id = f.id "
               "CROSS JOIN notices n ON n.id = i.notice_id CROSS JOIN deliveries d ON d.notice_id = n.id "
               f"WHERE f.state IN ({','.join('?' * len(wanted))}) AND n.state = ?")
        with self._lock:
            rows = self._db.execute(sql, [*wanted, NoticeState.SENT.value]).fetchall()
        counts: dict[str, int] = {}
        for notice_id, _, _ in rows:
            counts[notice_id] = counts.get(notice_id, 0) + 1
        sent = [SentNotice(notice_id=notice_id, jurisdiction=jurisdiction, sent_at=datetime.fromisoformat(sent_at),
                           listing=counts.pop(notice_id)) for notice_id, jurisdiction, sent_at in rows
                if notice_id in counts]
        sent.sort(key=lambda s: (s.sent_at, s.notice_id))
        return sent

    # -- deliveries and follow-ups --------------------------------------------------------------------------

    def add_delivery(self, delivery: Delivery) -> bool:
        """Record a delivery unless the notice already has one."""
        with self.transaction():
            return self._insert(
                "INSERT OR IGNORE INTO deliveries (notice_id, message_id, sent_at, data) VALUES (?, ?, ?, ?)",
                (delivery.notice_id, delivery.message_id, delivery.sent_at.isoformat(), delivery.model_dump_json()),
            )

    def get_delivery(self, notice_id: str) -> Delivery | None:
        """The notice's delivery, or ``None`` if it was never sent."""
        data = self._one("SELECT data FROM deliveries WHERE notice_id = ?", (notice_id,))
        return None if data is None else _load(Delivery, data)

    def add_followup(self, followup: FollowUp) -> None:
        """Record one re-check of a sent notice."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO followups (notice_id, checked_at, data) VALUES (?, ?, ?)",
                (followup.notice_id, followup.checked_at.isoformat(), followup.model_dump_json()),
            )

    def list_followups(self, notice_id: str) -> list[FollowUp]:
        """A notice's re-checks, oldest first."""
        rows = self._all("SELECT data FROM followups WHERE notice_id = ? ORDER BY id", (notice_id,))
        return [_load(FollowUp, d) for d in rows]

    # -- custody --------------------------------------------------------------------------------------------

    def append_custody(
        self,
        subject: str,
        action: str,
        *,
        actor: str,
        details: Mapping[str, str] | None = None,
        at: datetime | None = None,
    ) -> CustodyEvent:
        """Append an event to ``subject``'s hash-chained custody log."""
        with self.transaction():
            row = self._db.execute(
                "SELECT seq, hash FROM custody WHERE subject = ? ORDER BY seq DESC LIMIT 1", (subject,)
            ).fetchone()
            seq, prev = (1, GENESIS_HASH) if row is None else (int(row[0]) + 1, str(row[1]))
            when = at or utcnow()
            fields = dict(details or {})
            digest = CustodyEvent.compute_hash(
                seq=seq, subject=subject, action=action, actor=actor, at=when, details=fields, prev_hash=prev
            )
            event = CustodyEvent(
                seq=seq, subject=subject, action=action, actor=actor, at=when, details=fields,
                prev_hash=prev, hash=digest,
            )
            self._db.execute(
                "INSERT INTO custody (subject, seq, hash, data) VALUES (?, ?, ?, ?)",
                (subject, seq, digest, event.model_dump_json()),
            )
        return event

    def custody_log(self, subject: str) -> list[CustodyEvent]:
        """``subject``'s custody events in order."""
        rows = self._all("SELECT data FROM custody WHERE subject = ? ORDER BY seq", (subject,))
        return [_load(CustodyEvent, d) for d in rows]

    # -- checkpoints ----------------------------------------------------------------------------------------

    def get_checkpoint(self, key: str) -> str | None:
        """The value saved under ``key``."""
        value = self._one("SELECT value FROM checkpoints WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_checkpoint(self, key: str, value: str) -> None:
        """Save ``value`` under ``key``."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO checkpoints (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, utcnow().isoformat()),
            )

    # -- hash banks -----------------------------------------------------------------------------------------

    def put_bank(self, bank: HashBank) -> None:
        """Insert a bank or replace its settings (its entries are kept)."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO banks (name, kind, created_at, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, data = excluded.data",
                (bank.name, bank.kind.value, bank.created_at.isoformat(), bank.model_dump_json()),
            )

    def get_bank(self, name: str) -> HashBank:
        """The bank with this name."""
        data = self._one("SELECT data FROM banks WHERE name = ?", (name,))
        if data is None:
            raise NotFoundError(f"no hash bank {name!r}")
        return _load(HashBank, data)

    def list_banks(self) -> list[HashBank]:
        """All banks, by name."""
        return [_load(HashBank, d) for d in self._all("SELECT data FROM banks ORDER BY name", ())]

    def _require_bank(self, name: str) -> None:
        if self._one("SELECT 1 FROM banks WHERE name = ?", (name,)) is None:
            raise NotFoundError(f"no hash bank {name!r}")

    def add_bank_entries(self, bank: str, entries: Iterable[BankEntry]) -> int:
        """Add entries to a bank, all or none; return how many were new."""
        sql = "INSERT OR IGNORE INTO bank_entries (bank, algorithm, value, data) VALUES (?, ?, ?, ?)"
        with self.transaction():
            self._require_bank(bank)
            before = self._db.total_changes
            rows: list[tuple[str, str, str, str]] = []
            for entry in entries:
                if entry.bank != bank:
                    raise UsageError(f"an entry of bank {entry.bank!r} cannot be added to bank {bank!r}")
                rows.append((bank, entry.hash.algorithm, entry.hash.value, entry.model_dump_json()))
                if len(rows) >= _BANK_PAGE:
                    self._db.executemany(sql, rows)
                    rows.clear()
            self._db.executemany(sql, rows)
            return self._db.total_changes - before

    def bank_entries(self, bank: str) -> Iterator[BankEntry]:
        """A bank's entries in the order they were added, read in pages."""
        self._require_bank(bank)
        return self._bank_pages(bank)

    def _bank_pages(self, bank: str) -> Iterator[BankEntry]:
        last = 0
        while True:
            with self._lock:  # held per page only, never across a yield
                rows = self._db.execute(
                    "SELECT seq, data FROM bank_entries WHERE bank = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (bank, last, _BANK_PAGE),
                ).fetchall()
            if not rows:
                return
            for _, data in rows:
                yield _load(BankEntry, data)
            last = int(rows[-1][0])

    def count_bank_entries(self, bank: str) -> int:
        """How many entries a bank holds."""
        self._require_bank(bank)
        return int(self._one("SELECT count(*) FROM bank_entries WHERE bank = ?", (bank,)))

    # -- accounts -------------------------------------------------------------------------------------------

    def put_user(self, user: User) -> None:
        """Insert a user, or replace the user with that name."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO users (username, data) VALUES (?, ?) "
                "ON CONFLICT (username) DO UPDATE SET data = excluded.data",
                (user.username, user.model_dump_json()),
            )

    def get_user(self, username: str) -> User:
        """The user with this name."""
        data = self._one("SELECT data FROM users WHERE username = ?", (username,))
        if data is None:
            raise NotFoundError(f"no user {username!r}")
        return _load(User, data)

    def list_users(self) -> list[User]:
        """Every user, by name."""
        return [_load(User, d) for d in self._all("SELECT data FROM users ORDER BY username", ())]

    def put_session(self, session: LoginSession) -> None:
        """Insert a login session, or replace the one with its token hash."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO sessions (token_sha256, username, expires_at, ended, data) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (token_sha256) DO UPDATE SET expires_at = excluded.expires_at, "
                "ended = excluded.ended, data = excluded.data",
                (session.token_sha256, session.username, session.expires_at.isoformat(),
                 int(session.ended_at is not None), session.model_dump_json()),
            )

    def get_session(self, token_sha256: str) -> LoginSession:
        """The session with this token hash."""
        data = self._one("SELECT data FROM sessions WHERE token_sha256 = ?", (token_sha256,))
        if data is None:
            raise NotFoundError("no such session")
        return _load(LoginSession, data)

    def end_sessions(self, username: str, *, at: datetime) -> int:
        """End every session of the user that has not ended."""
        with self.transaction():
            rows = self._all("SELECT data FROM sessions WHERE username = ? AND ended = 0", (username,))
            for data in rows:
                self.put_session(_load(LoginSession, data).model_copy(update={"ended_at": at}))
            return len(rows)

    def put_api_token(self, token: ApiToken) -> None:
        """Insert an API token, or replace the one with its token hash."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO api_tokens (token_sha256, username, created_at, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (token_sha256) DO UPDATE SET data = excluded.data",
                (token.token_sha256, token.username, token.created_at.isoformat(), token.model_dump_json()),
            )

    def get_api_token(self, token_sha256: str) -> ApiToken:
        """The API token with this token hash."""
        data = self._one("SELECT data FROM api_tokens WHERE token_sha256 = ?", (token_sha256,))
        if data is None:
            raise NotFoundError("no such API token")
        return _load(ApiToken, data)

    def list_api_tokens(self, username: str | None = None) -> list[ApiToken]:
        """Every API token, or only ``username``'s, oldest first."""
        if username is None:
            rows = self._all("SELECT data FROM api_tokens ORDER BY created_at, token_sha256", ())
        else:
            rows = self._all("SELECT data FROM api_tokens WHERE username = ? ORDER BY created_at, token_sha256",
                             (username,))
        return [_load(ApiToken, d) for d in rows]


_BANK_PAGE = 5000


def _finding_filter(case_id: str | None, states: Iterable[FindingState] | None,
                    decision: Decision | None) -> tuple[str, list[str]]:
    """The WHERE clause and its parameters of ``list_findings`` and ``count_findings``."""
    where, params = "1=1", list[str]()
    if case_id is not None:
        where, params = where + " AND case_id = ?", [*params, case_id]
    if states is not None:
        wanted = [FindingState(s).value for s in states]
        where += f" AND state IN ({','.join('?' * len(wanted))})"
        params += wanted
    if decision is not None:
        where, params = where + " AND decision = ?", [*params, Decision(decision).value]
    return where, params


def _page(limit: int | None, offset: int) -> tuple[str, list[int]]:
    """The LIMIT clause of a page of ``limit`` rows after the first ``offset`` (all of them when ``limit`` is None)."""
    if offset < 0 or (limit is not None and limit < 0):
        raise UsageError(f"a page needs a limit and an offset of 0 or more, not {limit} and {offset}")
    if limit is None and not offset:
        return "", []
    return " LIMIT ? OFFSET ?", [-1 if limit is None else limit, offset]


def _split_sql(script: str) -> list[str]:
    """Split a migration into whole statements (``executescript`` would commit our open transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise StoreError(f"incomplete statement in migration: {current.strip()[:80]}")
    return statements
