"""The case store extension point: persistence of cases, findings, evidence, notices, deliveries and custody."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

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
)
from takedown.store.blobs import BlobStore

__all__ = ["GENESIS_HASH", "CaseStore", "SentNotice"]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first custody event of every subject."""


@dataclass(frozen=True)
class SentNotice:
    """A sent notice as ``CaseStore.list_sent_notices`` reads it: enough to tell when its recipient's time runs
    out without reading the whole notice."""

    notice_id: str
    jurisdiction: str
    sent_at: datetime
    """When its delivery was recorded."""
    listing: int
    """How many of the findings it lists are in the states asked for."""


@runtime_checkable
class CaseStore(Protocol):
    """Persists every record of every case; the workflow reads and writes nothing else.

    Inserts of records with deterministic ids (findings, bundles, notices, deliveries) are idempotent: adding
    one that exists returns ``False`` and changes nothing; bank entries are unique per bank by algorithm and
    value. State changes are compare-and-set on the state the caller read, so no move is ever made twice.
    ``transaction()`` groups writes so they land together or not at all; transactions nest (an inner one joins
    the outer).
    """

    name: ClassVar[str]

    @property
    def blobs(self) -> BlobStore:
        """The content-addressed store of raw bytes (pages, media, artifacts)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: all land, or none do."""
        ...

    def close(self) -> None:
        """Release the store; it is not used afterwards."""
        ...

    # cases
    def put_case(self, case: Case) -> None:
        """Insert or replace a case."""
        ...

    def get_case(self, case_id: str) -> Case:
        """The case with this id. Raises ``NotFoundError``."""
        ...

    def list_cases(self) -> list[Case]:
        """All cases, oldest first."""
        ...

    # findings
    def add_finding(self, finding: Finding) -> bool:
        """Insert a new finding; ``False`` (and no change) if one with its id exists."""
        ...

    def get_finding(self, finding_id: str) -> Finding:
        """The finding with this id. Raises ``NotFoundError``."""
        ...

    def update_finding(self, finding: Finding, *, expected: FindingState) -> None:
        """Replace a finding whose stored state is ``expected``.

        Raises:
            InvalidTransitionError: the stored state is no longer ``expected`` (someone moved it first).
            NotFoundError: no such finding.
        """
        ...

    def list_findings(
        self,
        case_id: str | None = None,
        *,
        states: Iterable[FindingState] | None = None,
        decision: Decision | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Finding]:
        """Findings, oldest first, filtered by case, states and decision; with ``limit``, at most that many after
        skipping the first ``offset`` (a page of them)."""
        ...

    def count_findings(
        self,
        case_id: str | None = None,
        *,
        states: Iterable[FindingState] | None = None,
        decision: Decision | None = None,
    ) -> int:
        """How many findings ``list_findings`` with the same filters returns (without reading them)."""
        ...

    # evidence
    def add_bundle(self, bundle: EvidenceBundle) -> bool:
        """Insert a bundle; ``False`` (and no change) if one with its id exists."""
        ...

    def get_bundle(self, bundle_id: str) -> EvidenceBundle:
        """The bundle with this id. Raises ``NotFoundError``."""
        ...

    def list_bundles(self, case_id: str | None = None) -> list[EvidenceBundle]:
        """Bundles, oldest first."""
        ...

    # notices
    def add_notice(self, notice: Notice) -> bool:
        """Insert a notice; ``False`` (and no change) if one with its id exists."""
        ...

    def get_notice(self, notice_id: str) -> Notice:
        """The notice with this id. Raises ``NotFoundError``."""
        ...

    def update_notice(self, notice: Notice, *, expected: NoticeState) -> None:
        """Replace a notice whose stored state is ``expected`` (compare-and-set, as ``update_finding``)."""
        ...

    def list_notices(
        self,
        case_id: str | None = None,
        *,
        finding_id: str | None = None,
        states: Iterable[NoticeState] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Notice]:
        """Notices, oldest first, filtered; with ``finding_id``, every notice that lists that finding; with
        ``limit``, at most that many after skipping the first ``offset`` (a page of them)."""
        ...

    def count_notices(self, case_id: str | None = None) -> dict[NoticeState, int]:
        """How many notices (of the case) are in each state; a state with none is left out."""
        ...

    def list_sent_notices(self, *, listing: Iterable[FindingState]) -> list[SentNotice]:
        """Every sent notice with a recorded delivery that lists at least one finding in ``listing`` states,
        earliest sent first (ties by notice id), read without loading the notices."""
        ...

    # deliveries and follow-ups
    def add_delivery(self, delivery: Delivery) -> bool:
        """Record that a notice was sent; ``False`` if a delivery for that notice is already recorded."""
        ...

    def get_delivery(self, notice_id: str) -> Delivery | None:
        """The delivery of a notice, or ``None`` if it was never sent."""
        ...

    def add_followup(self, followup: FollowUp) -> None:
        """Record one re-check of a sent notice."""
        ...

    def list_followups(self, notice_id: str) -> list[FollowUp]:
        """A notice's re-checks, oldest first."""
        ...

    # custody
    def append_custody(
        self,
        subject: str,
        action: str,
        *,
        actor: str,
        details: Mapping[str, str] | None = None,
        at: datetime | None = None,
    ) -> CustodyEvent:
        """Append an event to ``subject``'s hash-chained custody log and return it."""
        ...

    def custody_log(self, subject: str) -> list[CustodyEvent]:
        """``subject``'s custody events in order."""
        ...

    # checkpoints (monitoring, resumable discovery)
    def get_checkpoint(self, key: str) -> str | None:
        """The value saved under ``key``, or ``None`` if none was saved."""
        ...

    def set_checkpoint(self, key: str, value: str) -> None:
        """Save ``value`` under ``key``."""
        ...

    # hash banks (see takedown.detect.banks). Banks are not deleted: one is retired by putting it with active=False.
    def put_bank(self, bank: HashBank) -> None:
        """Insert a bank, or replace the settings of the bank with its name (its entries are kept)."""
        ...

    def get_bank(self, name: str) -> HashBank:
        """The bank with this name. Raises ``NotFoundError``."""
        ...

    def list_banks(self) -> list[HashBank]:
        """All banks, active or retired, by name."""
        ...

    def add_bank_entries(self, bank: str, entries: Iterable[BankEntry]) -> int:
        """Add entries to a bank, all or none; return how many were new.

        An entry whose ``(hash.algorithm, hash.value)`` the bank already holds is skipped (the first one added
        is kept, reference and all), so importing a list twice adds nothing the second time.

        Raises:
            NotFoundError: no bank with that name.
            UsageError: an entry names another bank (nothing is added).
        """
        ...

    def bank_entries(self, bank: str) -> Iterator[BankEntry]:
        """A bank's entries in the order they were added, read in pages (banks can hold millions).

        Raises ``NotFoundError`` at once (not on the first ``next``) when no bank has that name.
        """
        ...

    def count_bank_entries(self, bank: str) -> int:
        """How many entries a bank holds. Raises ``NotFoundError``."""
        ...

    # accounts (see takedown.console.accounts). Users are not deleted: one is disabled.
    def put_user(self, user: User) -> None:
        """Insert a user, or replace the user with that name."""
        ...

    def get_user(self, username: str) -> User:
        """The user with this name. Raises ``NotFoundError``."""
        ...

    def list_users(self) -> list[User]:
        """Every user, disabled ones too, by name."""
        ...

    def put_session(self, session: LoginSession) -> None:
        """Insert a login session, or replace the one with its token hash."""
        ...

    def get_session(self, token_sha256: str) -> LoginSession:
        """The session with this token hash. Raises ``NotFoundError``."""
        ...

    def end_sessions(self, username: str, *, at: datetime) -> int:
        """End every session of the user that has not ended; return how many were ended."""
        ...

    # API tokens (see takedown.console.tokens): kept by the SHA-256 of the token; revoked, never deleted.
    def put_api_token(self, token: ApiToken) -> None:
        """Insert an API token, or replace the one with its token hash."""
        ...

    def get_api_token(self, token_sha256: str) -> ApiToken:
        """The API token with this token hash. Raises ``NotFoundError``."""
        ...

    def list_api_tokens(self, username: str | None = None) -> list[ApiToken]:
        """Every API token (revoked and expired ones too), or only ``username``'s, oldest first."""
        ...
