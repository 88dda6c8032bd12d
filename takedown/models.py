"""The data every stage shares: cases, candidates, media, detections, findings, evidence, notices, deliveries.

All models are pydantic v2. Ids are deterministic where a record has a natural key (a candidate is its case and
canonical URL; a finding is its candidate; a bundle is its finding), so re-running a stage after a crash finds the
record it already wrote instead of writing a second one.

A finding moves through ``FindingState`` one explicit step at a time (see ``FINDING_TRANSITIONS``);
``Finding.advance`` refuses any other move with ``InvalidTransitionError``.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from takedown.errors import InvalidTransitionError
from takedown.states import CasePriority, CaseStatus, Decision, FindingState, NoticeState

__all__ = [
    "API_TOKEN_LIFETIME",
    "FINDING_TRANSITIONS",
    "HEX_DIGITS",
    "NOTICE_TRANSITIONS",
    "PDQ",
    "PDQ_MAX_DISTANCE",
    "ApiToken",
    "Artifact",
    "BankEntry",
    "BankKind",
    "Candidate",
    "Case",
    "CasePriority",
    "CaseStatus",
    "ContactHint",
    "CustodyEvent",
    "Decision",
    "Delivery",
    "Detection",
    "DetectionLabel",
    "EvidenceBundle",
    "FetchedMedia",
    "Finding",
    "FindingState",
    "FollowUp",
    "FormSubmission",
    "HashBank",
    "HashValue",
    "ItemKind",
    "LoginSession",
    "MatchedReference",
    "Media",
    "MediaKind",
    "MediaRef",
    "Notice",
    "NoticeItem",
    "NoticeState",
    "OutgoingMessage",
    "Page",
    "PageRecord",
    "PolicyRule",
    "Recipient",
    "RecipientKind",
    "ReferenceHash",
    "ReminderOf",
    "Role",
    "SearchQuery",
    "StateChange",
    "TimestampToken",
    "User",
    "check_bank_name",
    "check_username",
    "make_id",
    "media_kind_of",
    "normalise_hash",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def make_id(prefix: str, *parts: str) -> str:
    """A short, stable id: ``prefix`` + the first 16 hex digits of SHA-256 over ``parts``.

    The same parts always give the same id, which is what makes every stage idempotent.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:16]}"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
_Frozen = ConfigDict(frozen=True, extra="forbid", defer_build=True)
_Mutable = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class MediaKind(StrEnum):
    """What a media item is."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


def media_kind_of(name: str, content_type: str | None = None) -> MediaKind | None:
    """The media kind a file name or Content-Type says, or ``None`` for anything else."""
    guessed = content_type or mimetypes.guess_type(name)[0] or ""
    major = guessed.split("/", 1)[0].lower()
    return {"image": MediaKind.IMAGE, "video": MediaKind.VIDEO, "audio": MediaKind.AUDIO}.get(major)


class ItemKind(StrEnum):
    """What a detector can be given: a media kind, or a page's text."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


class HashValue(BaseModel):
    """One hash of one item (or of one frame of a video)."""

    model_config = _Frozen

    algorithm: str = Field(description="sha256, md5, dhash, pdq, ...")
    value: str = Field(description="lower-case hex")
    frame: int | None = Field(default=None, description="frame index, for a hash of one video frame")
    timestamp: float | None = Field(default=None, description="seconds into the video")
    quality: int | None = Field(default=None, description="the hasher's quality score, where it gives one")


class ReferenceHash(HashValue):
    """A hash of one of the victim's media items: what detectors match against. Never the media itself."""

    reference: str = Field(description="a label for the reference item, e.g. 'ref-01' or its SHA-256")
    kind: MediaKind
    bank: str = "case"


class Case(BaseModel):
    """Who is being protected and how to recognise their media."""

    model_config = _Mutable

    id: str = Field(default_factory=lambda: f"case-{uuid.uuid4().hex[:16]}")
    title: str
    references: list[ReferenceHash] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    jurisdiction: str = "KR"
    requester: str | None = None
    notes: str = ""
    policy: list[PolicyRule] = Field(
        default_factory=list, description="this case's decision rules, tried before the policy's own",
    )
    priority: CasePriority = CasePriority.NORMAL
    status: CaseStatus = CaseStatus.OPEN
    status_changed_at: AwareDatetime | None = Field(default=None, description="when it was closed or withdrawn")
    created_at: AwareDatetime = Field(default_factory=utcnow)


class SearchQuery(BaseModel):
    """What a site adapter is asked to search for."""

    model_config = _Frozen

    case_id: str
    text: str
    language: str | None = None
    limit: int = Field(default=100, ge=1)


class MediaRef(BaseModel):
    """A media item a page refers to, not yet downloaded."""

    model_config = _Frozen

    url: str
    kind: MediaKind


class Candidate(BaseModel):
    """A page a site adapter found that may hold the victim's media."""

    model_config = _Frozen

    case_id: str
    site: str
    url: str
    title: str = ""
    text: str = ""
    language: str | None = None
    media: tuple[MediaRef, ...] = ()
    query: str | None = None
    found_at: AwareDatetime = Field(default_factory=utcnow)
    metadata: dict[str, str] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable per case and URL, so a page found twice is one candidate."""
        return make_id("cand", self.case_id, self.url)


class ContactHint(BaseModel):
    """Where a page says its operator can be reached."""

    model_config = _Frozen

    kind: str = Field(description="email, url, form or security_txt")
    value: str
    source: str = Field(description="the URL where the hint was found")
    country: str | None = Field(
        default=None, description="the operator's country (ISO 3166-1 alpha-2), where the site file declares it",
    )
    language: str | None = Field(
        default=None, description="the language the operator reads (BCP 47), where the site file declares it",
    )


class FetchedMedia(BaseModel):
    """A media item as a site adapter downloaded it: the raw bytes, unaltered."""

    model_config = _Frozen

    url: str
    kind: MediaKind
    content_type: str = "application/octet-stream"
    content: bytes


class Page(BaseModel):
    """A fetched candidate page: what the site served, with its media and contact hints."""

    model_config = _Frozen

    url: str
    final_url: str
    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    html: str = ""
    body: bytes = Field(default=b"", description="the response body as the server sent it (after Content-Encoding)")
    text: str = ""
    title: str = ""
    language: str | None = None
    media: tuple[FetchedMedia, ...] = ()
    skipped: tuple[str, ...] = Field(
        default=(), description="media the adapter could not fetch, each 'URL: why' (an officer reviews the page)",
    )
    contacts: tuple[ContactHint, ...] = ()
    fetched_at: AwareDatetime = Field(default_factory=utcnow)


class PageRecord(BaseModel):
    """What the store keeps of a fetched page: its metadata, with the HTML as a content-addressed blob."""

    model_config = _Frozen

    url: str
    final_url: str
    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    title: str = ""
    language: str | None = None
    html_sha256: str
    contacts: tuple[ContactHint, ...] = ()
    fetched_at: AwareDatetime


class Media(BaseModel):
    """One image, video or audio item, identified by its bytes."""

    model_config = _Frozen

    url: str
    kind: MediaKind
    content_type: str = "application/octet-stream"
    size: int = Field(ge=0)
    sha256: str
    md5: str
    hashes: tuple[HashValue, ...] = Field(default=(), description="perceptual hashes, once computed")
    blob: Path | None = Field(default=None, description="where the bytes lie in the blob store")


class MatchedReference(BaseModel):
    """Which reference a detection matched, and how closely."""

    model_config = _Frozen

    bank: str
    reference: str
    algorithm: str
    distance: float = Field(ge=0)


class DetectionLabel(StrEnum):
    """A detector's verdict on one item."""

    MATCH = "match"
    SUSPECT = "suspect"
    NO_MATCH = "no_match"
    ERROR = "error"


class Detection(BaseModel):
    """One detector's verdict on one item (a media item, or the page's text)."""

    model_config = _Frozen

    detector: str
    target: str = Field(description="the media's SHA-256, or 'text' for the page's text")
    kind: ItemKind
    label: DetectionLabel
    score: float = Field(ge=0.0, le=1.0)
    matched: MatchedReference | None = None
    rationale: str = ""
    details: dict[str, str] = Field(
        default_factory=dict,
        description="facts for the evidence report and the officer: which phrase matched where, what a judge saw",
    )
    at: AwareDatetime = Field(default_factory=utcnow)


class PolicyRule(BaseModel):
    """One rule of a decision policy: when a detection meets every condition given, its item gets ``decision``.

    A policy decides each item (a media item, or the page's text) by the first of its rules, in list order, that
    any of the item's detections meets; the finding takes the strongest of its items' decisions (see
    ``takedown.detect.policy``). Conditions left at their defaults match anything.
    """

    model_config = _Frozen

    decision: Decision
    detector: str = Field(default="*", description="an fnmatch pattern over detector names, e.g. 'pdq*'")
    labels: frozenset[DetectionLabel] = Field(default=frozenset(), description="empty: any label")
    kinds: frozenset[ItemKind] = Field(default=frozenset(), description="empty: any item kind")
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    bank: str | None = Field(default=None, description="an fnmatch pattern over the matched reference's bank")
    details: dict[str, str] = Field(
        default_factory=dict, description="fnmatch patterns the detection's details must match, key by key",
    )
    reason: str = Field(default="", description="said in the finding's reasons when this rule decides")


_S = FindingState
FINDING_TRANSITIONS: Mapping[FindingState, frozenset[FindingState]] = {
    _S.FOUND: frozenset({_S.JUDGED}),
    _S.JUDGED: frozenset({_S.JUDGED, _S.EVIDENCED}),
    _S.EVIDENCED: frozenset({_S.DRAFTED}),
    _S.DRAFTED: frozenset({_S.APPROVED, _S.EVIDENCED}),
    _S.APPROVED: frozenset({_S.SENT, _S.EVIDENCED}),
    _S.SENT: frozenset({_S.REMOVED, _S.RENOTIFIED, _S.ESCALATED}),
    _S.RENOTIFIED: frozenset({_S.REMOVED, _S.RENOTIFIED, _S.ESCALATED}),
    _S.ESCALATED: frozenset({_S.REMOVED, _S.RENOTIFIED, _S.ESCALATED}),
    _S.REMOVED: frozenset(),
}
"""The only moves a finding may make. ``removed`` is final.

``judged → judged`` is an officer settling a ``review`` decision (``takedown resolve``); ``drafted`` or
``approved → evidenced`` is a redraft before anything was sent (the old drafts are withdrawn first)."""


class StateChange(BaseModel):
    """One recorded move of a finding or notice."""

    model_config = _Frozen

    from_state: str | None
    to_state: str
    at: AwareDatetime = Field(default_factory=utcnow)
    by: str = "takedown"
    note: str = ""


class Finding(BaseModel):
    """A candidate with what the detectors said about it, the policy's decision, and its state."""

    model_config = _Frozen

    case_id: str
    candidate: Candidate
    state: FindingState = FindingState.FOUND
    page: PageRecord | None = None
    media: tuple[Media, ...] = ()
    detections: tuple[Detection, ...] = ()
    decision: Decision | None = None
    reasons: tuple[str, ...] = ()
    canonical_id: str | None = Field(
        default=None,
        description="set when this page only repeats media matched on another finding of its site (a home, "
        "archive, category, tag, author or search page): that finding's id. The page is listed under it as "
        "'also shown at', with its own evidence, and is not counted as a finding of its own",
    )
    history: tuple[StateChange, ...] = ()

    @property
    def id(self) -> str:
        """Stable per candidate: one candidate, one finding."""
        return make_id("fnd", self.case_id, self.candidate.url)

    @property
    def bundle_id(self) -> str:
        """The id of this finding's evidence bundle (whether or not it exists yet)."""
        return make_id("bnd", self.id)

    def can_advance(self, to: FindingState) -> bool:
        """Whether ``to`` is a move this finding may make now."""
        return to in FINDING_TRANSITIONS[self.state]

    def advance(self, to: FindingState, *, by: str = "takedown", note: str = "", **changes: Any) -> Finding:
        """A copy of this finding moved to ``to``, with ``changes`` applied and the move recorded.

        Raises:
            InvalidTransitionError: ``to`` is not reachable from the current state.
        """
        if not self.can_advance(to):
            allowed = sorted(s.value for s in FINDING_TRANSITIONS[self.state])
            raise InvalidTransitionError(f"finding {self.id}", self.state.value, FindingState(to).value, allowed)
        change = StateChange(from_state=self.state.value, to_state=FindingState(to).value, by=by, note=note)
        data = {**self.model_dump(), **changes, "state": to, "history": (*self.history, change)}
        return Finding.model_validate(data)


class Artifact(BaseModel):
    """One sealed file of evidence: where it is, what it is, and the SHA-256 of its bytes."""

    model_config = _Frozen

    path: str = Field(description="path relative to the evidence root, in POSIX form")
    sha256: str
    size: int = Field(ge=0)
    media_type: str
    role: str = Field(description="page_html, media, manifest, report, screenshot, warc, ...")
    created_at: AwareDatetime = Field(default_factory=utcnow)


class CustodyEvent(BaseModel):
    """One entry of the hash-chained custody log: each event holds the hash of the one before it."""

    model_config = _Frozen

    seq: int = Field(ge=1)
    subject: str = Field(description="the bundle, notice or finding the event is about")
    action: str = Field(description="captured, hashed, written, exported, viewed, approved, sent, ...")
    actor: str
    at: AwareDatetime
    details: dict[str, str] = Field(default_factory=dict)
    prev_hash: str
    hash: str

    @staticmethod
    def compute_hash(
        *, seq: int, subject: str, action: str, actor: str, at: datetime, details: Mapping[str, str], prev_hash: str
    ) -> str:
        """The SHA-256 that seals an event's content together with the previous event's hash."""
        fields = [str(seq), subject, action, actor, at.astimezone(UTC).isoformat(), prev_hash]
        fields += [f"{k}={details[k]}" for k in sorted(details)]
        return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()

    def verify(self) -> bool:
        """Whether this event's hash matches its content."""
        return self.hash == self.compute_hash(
            seq=self.seq, subject=self.subject, action=self.action, actor=self.actor,
            at=self.at, details=self.details, prev_hash=self.prev_hash,
        )


class TimestampToken(BaseModel):
    """An RFC 3161 time-stamp token over a digest, from a time-stamping authority."""

    model_config = _Frozen

    tsa_url: str
    digest_sha256: str
    token_der_b64: str
    at: AwareDatetime


class EvidenceBundle(BaseModel):
    """Everything captured and sealed about one finding."""

    model_config = _Frozen

    case_id: str
    finding_id: str
    captured_at: AwareDatetime = Field(default_factory=utcnow)
    capture: dict[str, str] = Field(default_factory=dict, description="url, final_url, status, tool, operator...")
    artifacts: tuple[Artifact, ...] = ()
    timestamps: tuple[TimestampToken, ...] = ()
    error: str | None = Field(default=None, description="why the capture failed, if it did")

    @property
    def id(self) -> str:
        """Stable per finding: one finding, one bundle."""
        return make_id("bnd", self.finding_id)


class RecipientKind(StrEnum):
    """Who a notice goes to, in escalation order."""

    SITE_OPERATOR = "site_operator"
    HOST = "host"
    REGISTRAR = "registrar"
    SEARCH_ENGINE = "search_engine"
    OTHER = "other"


class Recipient(BaseModel):
    """Where a notice goes and how that address was found."""

    model_config = _Frozen

    address: str = Field(description="an email address, or a form URL when channel is web_form")
    kind: RecipientKind = RecipientKind.SITE_OPERATOR
    channel: str = Field(default="email", description="email or web_form")
    name: str = ""
    source: str = Field(default="", description="how the address was found: mailto, security.txt, rdap, ...")
    country: str | None = None
    language: str | None = Field(default=None, description="the language the recipient declared it reads (BCP 47)")


_N = NoticeState
NOTICE_TRANSITIONS: Mapping[NoticeState, frozenset[NoticeState]] = {
    _N.DRAFT: frozenset({_N.DRAFT, _N.APPROVED, _N.REJECTED, _N.WITHDRAWN}),
    _N.APPROVED: frozenset({_N.SENT, _N.DRAFT, _N.WITHDRAWN}),
    _N.REJECTED: frozenset({_N.DRAFT, _N.WITHDRAWN}),
    _N.SENT: frozenset(),
    _N.WITHDRAWN: frozenset(),
}
"""A draft may be edited (draft → draft), approved or rejected; an approval may be withdrawn; sent is final.
``withdrawn`` is final too: a redraft or a withdrawn case replaced or cancelled the notice before it was sent."""


class NoticeItem(BaseModel):
    """One location a notice lists: a finding's page, its media files' URLs, and the evidence that proves it.

    A page that only repeats another finding's media (``Finding.canonical_id``) is listed after that finding, with
    ``also_shown_at_of`` naming it.
    """

    model_config = _Frozen

    finding_id: str
    url: str = Field(description="the page's URL")
    media: tuple[str, ...] = Field(default=(), description="the URLs of the matched media files on the page")
    sha256: tuple[str, ...] = Field(default=(), description="the SHA-256 of each of those media files, in order")
    bundle_id: str | None = Field(default=None, description="the page's sealed evidence bundle")
    also_shown_at_of: str | None = Field(default=None, description="the finding whose media this page repeats")


class ReminderOf(BaseModel):
    """What a reminder follows up: the first request of its thread, and which reminder this is."""

    model_config = _Frozen

    number: int = Field(ge=1, description="1 for the first reminder, 2 for the second ...")
    first_sent_at: AwareDatetime = Field(description="when the first request of the thread was sent")
    first_message_id: str = Field(description="the Message-ID (or form submission id) of that first request")
    escalated: bool = Field(default=False, description="the reminder goes to a recipient the thread had not written to")


class Notice(BaseModel):
    """A deletion request: to whom, under which law, in which language, and whether an officer approved it.

    A notice lists one or more locations (``items``): by default every finding of a case that goes to the same
    recipient in the same language is listed in one notice. ``finding_id`` is the first item's finding. A notice
    stored before items existed has none; ``finding_ids`` then gives its one finding.
    """

    model_config = _Frozen

    case_id: str
    finding_id: str = Field(description="the first listed finding (the only one of a notice with one item)")
    items: tuple[NoticeItem, ...] = Field(default=(), description="every location the notice lists, in order")
    recipient: Recipient
    jurisdiction: str
    locale: str
    subject: str
    body_text: str
    body_html: str | None = None
    attachments: tuple[Artifact, ...] = ()
    legal: dict[str, str] = Field(default_factory=dict, description="the legal fields the jurisdiction requires")
    legal_edits: dict[str, str] = Field(
        default_factory=dict, description="legal fields an officer set by hand; every new rendering states them"
    )
    hand_edited: tuple[str, ...] = Field(
        default=(), description="parts an officer rewrote (subject, body_text), which a new rendering keeps"
    )
    signed_by: tuple[str, str] | None = Field(
        default=None, description="the name and title the notice is signed with: the approving officer's"
    )
    template: str = ""
    kind: str = Field(default="initial", description="initial, or reminder for a follow-up of an earlier notice")
    attempt: int = Field(default=1, ge=1, description="1 for the first notice to this recipient, 2+ for reminders")
    revision: int = Field(default=1, ge=1, description="2+ for a notice drafted again after its drafts were withdrawn")
    in_reply_to: str | None = Field(default=None, description="the Message-ID this notice follows up")
    reminder_of: ReminderOf | None = Field(default=None, description="for a reminder: what it follows up")
    references: tuple[str, ...] = Field(default=(), description="Message-IDs of the earlier notices in the thread")
    state: NoticeState = NoticeState.DRAFT
    approved_by: str | None = None
    approved_at: AwareDatetime | None = None
    rejected_reason: str | None = None
    created_at: AwareDatetime = Field(default_factory=utcnow)
    history: tuple[StateChange, ...] = ()

    @property
    def finding_ids(self) -> tuple[str, ...]:
        """The findings the notice lists, in order (its one ``finding_id`` when it has no items)."""
        return tuple(item.finding_id for item in self.items) or (self.finding_id,)

    @property
    def id(self) -> str:
        """Stable per listed findings, recipient, language, attempt and revision.

        A notice listing one finding keeps the id it had before notices were grouped; one listing several is
        identified by its case and the sorted ids of its findings, so a later notice to the same recipient that
        lists other findings is a different notice.
        """
        findings = self.finding_ids
        if len(findings) == 1:
            parts = [findings[0], self.recipient.address, self.locale]
        else:
            parts = ["group", self.case_id, *sorted(findings), self.recipient.address, self.locale]
        if self.attempt != 1:
            parts.append(str(self.attempt))
        if self.revision != 1:
            parts.append(f"r{self.revision}")
        return make_id("ntc", *parts)

    def advance(self, to: NoticeState, *, by: str, note: str = "", **changes: Any) -> Notice:
        """A copy of this notice moved to ``to``, with ``changes`` applied and the move recorded.

        Raises:
            InvalidTransitionError: ``to`` is not reachable from the current state.
        """
        if to not in NOTICE_TRANSITIONS[self.state]:
            allowed = sorted(s.value for s in NOTICE_TRANSITIONS[self.state])
            raise InvalidTransitionError(f"notice {self.id}", self.state.value, NoticeState(to).value, allowed)
        change = StateChange(from_state=self.state.value, to_state=NoticeState(to).value, by=by, note=note)
        data = {**self.model_dump(), **changes, "state": to, "history": (*self.history, change)}
        return Notice.model_validate(data)


class OutgoingMessage(BaseModel):
    """A rendered, approved message ready for a transport: the raw RFC 5322 bytes and who approved it."""

    model_config = _Frozen

    notice_id: str
    message_id: str
    sender: str
    recipients: tuple[str, ...] = Field(min_length=1)
    subject: str
    raw: bytes
    approved_by: str
    approved_at: AwareDatetime


class Delivery(BaseModel):
    """That a notice was handed to a transport, when, by whose approval, and under which Message-ID."""

    model_config = _Frozen

    notice_id: str
    transport: str
    message_id: str
    approved_by: str
    approved_at: AwareDatetime
    sent_at: AwareDatetime = Field(default_factory=utcnow)
    detail: str = ""


class FormSubmission(BaseModel):
    """What a site's web form was sent for a notice, and what the site answered: the record of a form "send".

    A ``FormReporter`` (``takedown.sites.base``) returns one; ``delivery()`` is what the review step records.
    """

    model_config = _Frozen

    notice_id: str
    site: str
    url: str = Field(description="where the form was submitted")
    method: Literal["post", "get"]
    fields: dict[str, str] = Field(description="the form fields exactly as submitted")
    status: int
    final_url: str
    response_sha256: str = Field(description="SHA-256 of the site's answer (decoded, at most max_body_bytes)")
    approved_by: str
    approved_at: AwareDatetime
    submitted_at: AwareDatetime = Field(default_factory=utcnow)
    submission_id: str = Field(
        default_factory=lambda: secrets.token_hex(6), description="random, unique per submission"
    )

    def delivery(self) -> Delivery:
        """The ``Delivery`` to record for this submission (transport ``web_form``; a Message-ID-shaped id)."""
        host = urlsplit(self.url).hostname or "web-form.invalid"
        return Delivery(
            notice_id=self.notice_id, transport="web_form",
            message_id=f"<{self.notice_id}.form.{self.submission_id}@{host}>",
            approved_by=self.approved_by, approved_at=self.approved_at, sent_at=self.submitted_at,
            detail=f"{self.method.upper()} {self.url} answered HTTP {self.status}",
        )


class FollowUp(BaseModel):
    """One re-check of one location a sent notice listed."""

    model_config = _Frozen

    notice_id: str
    checked_at: AwareDatetime = Field(default_factory=utcnow)
    outcome: str = Field(description="removed, still_up or unreachable")
    detail: str = ""
    finding_id: str | None = Field(default=None, description="the listed finding re-checked (None: the notice's one)")
    url: str | None = Field(default=None, description="the URL re-checked")


# -- hash banks -----------------------------------------------------------------------------------------------------
# The data of hash banks (see ``takedown.detect.banks`` for what banks are and how they are matched). They live here,
# not beside the matcher, because the case store persists them and the store comes before the detectors.

PDQ = "pdq"
"""The algorithm name of PDQ hashes."""

PDQ_MAX_DISTANCE = 31
"""PDQ's recommended match threshold: Hamming distance at most 31 of 256 bits."""

HEX_DIGITS: dict[str, int] = {"pdq": 64, "md5": 32, "sha1": 40, "sha256": 64, "dhash": 16}
"""Hex digits of the hash algorithms whose length is known; others need only be non-empty hex."""

_BANK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_HEX = re.compile(r"^[0-9a-f]+$")


def check_bank_name(name: str) -> str:
    """``name`` if it is a valid bank name (lower_snake_case, at most 64 characters).

    Raises:
        ValueError: it is not.
    """
    if not isinstance(name, str) or not _BANK_NAME.match(name):
        raise ValueError(f"bank name {name!r} must be lower_snake_case (a-z, 0-9, _; at most 64 characters)")
    return name


def normalise_hash(algorithm: str, value: str) -> str:
    """``value`` in lower case, checked to be hex of the length ``algorithm`` has.

    Raises:
        ValueError: the algorithm name is not lower_snake_case, or the value is not valid hex for it.
    """
    if not _BANK_NAME.match(algorithm):
        raise ValueError(f"hash algorithm {algorithm!r} must be lower_snake_case")
    text = value.strip().lower()
    expected = HEX_DIGITS.get(algorithm)
    if expected is not None and len(text) != expected:
        raise ValueError(f"a {algorithm} hash is {expected} hex digits, got {len(text)}")
    if not text or not _HEX.match(text):
        raise ValueError(f"not a hexadecimal {algorithm} hash: {value[:80]!r}")
    return text


class BankKind(StrEnum):
    """Whether a bank's matches are wanted (``positive``) or are known false positives (``negative``)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class HashBank(BaseModel):
    """A named bank of hashes and the rules for matching against it."""

    model_config = _Frozen

    name: str = Field(description="lower_snake_case, unique in a store; how matches cite the bank")
    description: str = ""
    kind: BankKind = BankKind.POSITIVE
    max_distance: int = Field(default=PDQ_MAX_DISTANCE, ge=0, le=256, description="match at <= this many bits")
    min_quality: int = Field(default=50, ge=0, le=100, description="PDQ quality below which a hash is not matched")
    active: bool = Field(default=True, description="a retired bank (False) keeps its entries but is not matched")
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: AwareDatetime = Field(default_factory=utcnow)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_bank_name(value)


class BankEntry(BaseModel):
    """One hash in a bank: the hash, a label for what it is a hash of, and where it came from.

    Unique per bank by ``(hash.algorithm, hash.value)``: adding it twice to a bank keeps the first.
    """

    model_config = _Frozen

    bank: str
    hash: HashValue = Field(description="algorithm, lower-case hex value, and quality (0-100) if the hasher gives one")
    reference: str = Field(min_length=1, description="a label for the item hashed, cited by matches")
    source: str = Field(default="", description="where the hash came from: a file, a partner, a case")
    added_at: AwareDatetime = Field(default_factory=utcnow)

    @field_validator("bank")
    @classmethod
    def _check_bank(cls, value: str) -> str:
        return check_bank_name(value)

    @field_validator("hash")
    @classmethod
    def _check_hash(cls, value: HashValue) -> HashValue:
        normal = normalise_hash(value.algorithm, value.value)
        if value.quality is not None and not 0 <= value.quality <= 100:
            raise ValueError(f"quality must be between 0 and 100, not {value.quality}")
        return value if normal == value.value else value.model_copy(update={"value": normal})

    @classmethod
    def pdq(
        cls, bank: str, value: str, *, quality: int | None, reference: str | None = None, source: str = ""
    ) -> BankEntry:
        """A PDQ entry; ``reference`` defaults to the hash's first 16 hex digits."""
        text = value.strip().lower()
        return cls(bank=bank, hash=HashValue(algorithm=PDQ, value=text, quality=quality),
                   reference=reference or text[:16], source=source)


# -- accounts ---------------------------------------------------------------------------------------------------
# The people who use the officer console, and their login sessions (see ``takedown.console.accounts``). They live
# here because the case store persists them.

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def check_username(name: str) -> str:
    """``name`` if it is a valid user name: 2-64 characters, lower-case letters, digits, ``.``, ``_``, ``-``.

    Raises:
        ValueError: it is not.
    """
    if not isinstance(name, str) or not _USERNAME.match(name):
        raise ValueError(f"user name {name!r} must be 2-64 lower-case letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


class Role(StrEnum):
    """What a user may do in the console; a user holds one or more.

    ``officer`` reviews, decides, approves and sends; ``supervisor`` does that and watches the team (exposure,
    queues); ``auditor`` reads everything and the audit log but changes nothing; ``admin`` manages users and
    settings.
    """

    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


class User(BaseModel):
    """A person who signs in to the console. Their display name and title sign the notices they approve."""

    model_config = _Frozen

    username: str
    display_name: str = Field(min_length=1, description="the name an approval records and a notice is signed with")
    title: str = Field(default="", description="the title a notice is signed with, e.g. 'Deletion Support Officer'")
    roles: frozenset[Role] = Field(min_length=1)
    password_hash: str = Field(repr=False, description="argon2id, in the PHC string format")
    locale: str = Field(default="ko", description="the console's language for this user: ko or en")
    unblur: bool | None = Field(default=None, description="False: never offer this user an unblur; None: the "
                                                          "organisation's rule")
    greyscale: bool | None = Field(default=None, description="unblurred pictures in greyscale; None: the "
                                                             "organisation's default")
    unblur_seconds: int | None = Field(default=None, ge=1, le=120, description="their own, shorter unblur time")
    daily_unblurs: int | None = Field(default=None, ge=0, description="their own, smaller daily unblur budget")
    daily_seconds: int | None = Field(default=None, ge=0, description="their own, smaller daily budget of seconds")
    disabled: bool = False
    failed_logins: int = Field(default=0, ge=0, description="failed logins since the last one that succeeded")
    locked_until: AwareDatetime | None = None
    password_changed_at: AwareDatetime = Field(default_factory=utcnow)
    created_at: AwareDatetime = Field(default_factory=utcnow)
    created_by: str = ""

    @field_validator("username")
    @classmethod
    def _check_username(cls, value: str) -> str:
        return check_username(value)


class LoginSession(BaseModel):
    """One signed-in browser: stored by the SHA-256 of its token, never the token itself."""

    model_config = _Frozen

    token_sha256: str = Field(description="SHA-256 of the session token the browser holds in its cookie")
    username: str
    csrf_token: str = Field(repr=False, description="the token every state-changing request must carry")
    created_at: AwareDatetime = Field(default_factory=utcnow)
    last_seen_at: AwareDatetime = Field(default_factory=utcnow)
    expires_at: AwareDatetime
    ended_at: AwareDatetime | None = Field(default=None, description="when it was ended (logout, password change)")
    client: str = Field(default="", description="what the browser said it was, for the user's list of sessions")


API_TOKEN_LIFETIME = timedelta(days=90)
"""How long an API token holds unless it is issued for another time."""


class ApiToken(BaseModel):
    """A token a program uses to call the console's REST API as one user: stored by the SHA-256 of the token, never
    the token itself. It stops working when it is revoked, when it expires, and while its user is disabled."""

    model_config = _Frozen

    token_sha256: str = Field(description="SHA-256 of the token the program sends as 'Authorization: Bearer ...'")
    username: str
    name: str = Field(min_length=1, max_length=100, description="what the token is for, e.g. 'nightly case sync'")
    created_at: AwareDatetime = Field(default_factory=utcnow)
    expires_at: AwareDatetime | None = Field(default_factory=lambda: utcnow() + API_TOKEN_LIFETIME,
                                             description="when it stops working; None: never (not the default)")
    revoked_at: AwareDatetime | None = Field(default=None, description="when it was revoked")
    last_used_at: AwareDatetime | None = Field(default=None, description="its last use, to the minute")
    created_by: str = Field(default="", description="who issued it")

    @property
    def id(self) -> str:
        """The token's public id, which lists show and revocation names: the first 12 hex digits of its SHA-256."""
        return self.token_sha256[:12]
