"""The console's REST API under ``/api/v1``: token-authenticated, documented by its OpenAPI schema.

``add_api`` mounts it on the console application (``create_app`` calls it); ``api_schema`` is its OpenAPI schema,
which ``GET /api/v1/openapi.json`` serves and ``docs/api.md`` renders (``scripts/api_reference.py``). The security
boundary, route by route:

- **A bearer token, and nothing else, authenticates**: every route (the schema's too) needs
  ``Authorization: Bearer td_...``, an API token of ``takedown.console.tokens`` (``takedown token add``). The
  console's session cookie is never read here, so a page open in an officer's browser cannot make an API call with
  the officer's authority (a browser attaches cookies to cross-site requests by itself, never an ``Authorization``
  header): no ambient credential, so the API needs no CSRF token. A missing, malformed, unknown, revoked or expired
  token, or one of a disabled user, is refused with 401 and ``WWW-Authenticate: Bearer`` (one message for each).
- **Roles, as dependencies of every route**: reading needs ``officer``, ``supervisor`` or ``auditor``; approving
  and rejecting need ``officer`` or ``supervisor`` (an auditor's token gets 403); the schema needs only a valid
  token. Roles are the user's when the token is used, not when it was issued.
- **Leases hold here as in the console**: a decision on a request another officer holds (``takedown.console.leases``)
  is refused with 409; a decision takes the request's lease, and gives it back when done.
- **What is never answered**: password hashes, session and token hashes, the raw bytes of media, pages and
  screenshots, the blob store's paths, and a case's reference hashes, keywords, requester and notes. A bundle's
  reports, manifests and seals are served only while they match their sealed SHA-256 (``views.evidence_file``),
  each download recorded in the bundle's custody log (``viewed``, ``via=api``).
- **Every answer is JSON** (errors too: ``{"error": ClassName, "message": ...}``), with ``<``, ``>`` and ``&``
  escaped as ``\\u003c`` and so on, so a hostile title captured from a site is data wherever it is pasted; every
  response also carries the console's strict headers (``Cache-Control: no-store``, ``nosniff``, ...).

Approvals made here record the token's user's display name as the approver; the custody event names the user and
the token's id (``via=api``). Sending stays in the console and the CLI, behind their explicit confirmation.
"""

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from takedown._version import __version__
from takedown.console import leases
from takedown.console.accounts import require_role, signature_of
from takedown.console.tokens import token_user
from takedown.errors import (
    AuthenticationError,
    IncompleteNoticeError,
    MissingDependencyError,
    TakedownError,
)
from takedown.models import (
    ApiToken,
    Artifact,
    Case,
    CasePriority,
    CaseStatus,
    Decision,
    Delivery,
    Detection,
    Finding,
    FindingState,
    MediaKind,
    Notice,
    NoticeItem,
    NoticeState,
    Recipient,
    Role,
    StateChange,
    User,
)
from takedown.report.base import Transport
from takedown.report.followup import RecipientStats
from takedown.settings import Settings
from takedown.store.base import CaseStore

try:
    from fastapi import APIRouter, Depends, Path, Query, Request
    from fastapi.openapi.utils import get_openapi
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
except ImportError as exc:
    raise MissingDependencyError("fastapi", "console", feature="the REST API") from exc

__all__ = [
    "API_PREFIX",
    "DECIDERS",
    "READERS",
    "ApiError",
    "ApprovalRequest",
    "BundleOut",
    "CaseDetail",
    "CaseOut",
    "FindingOut",
    "FindingSummary",
    "NoticeOut",
    "NoticeSummary",
    "RejectionRequest",
    "SafeJSONResponse",
    "StatsOut",
    "add_api",
    "api_schema",
]

API_PREFIX = "/api/v1"
READERS = (Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR)
"""The roles that read cases, findings, requests, evidence and statistics through the API."""
DECIDERS = (Role.OFFICER, Role.SUPERVISOR)
"""The roles that approve and reject requests (the console's rule)."""

_MAX_LIMIT = 1000


class SafeJSONResponse(JSONResponse):
    """JSON with ``<``, ``>``, ``&`` and the line separators escaped (``\\u003c``...): the same data, but no hostile
    string a site sent can ever read as markup, wherever the answer ends up."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                              ("\u2029", "\\u2029")):
            text = text.replace(char, escaped)
        return text.encode("utf-8")


# -- what the API answers ------------------------------------------------------------------------------------------

_Out = ConfigDict(frozen=True, extra="forbid")


class ApiError(BaseModel):
    """A refusal: the error's class name and what went wrong."""

    model_config = _Out

    error: str = Field(description="the class of takedown's error, e.g. NotFoundError or PermissionDeniedError")
    message: str
    missing: list[str] | None = Field(default=None, description="IncompleteNoticeError: the legal fields missing")


class CaseOut(BaseModel):
    """A case, without what identifies the person it protects (reference hashes, keywords, requester, notes)."""

    model_config = _Out

    id: str
    title: str
    status: CaseStatus
    priority: CasePriority
    jurisdiction: str
    languages: list[str]
    created_at: datetime
    status_changed_at: datetime | None
    findings: int = Field(description="how many findings the case has")
    notices: int = Field(description="how many notices (requests, one per language) the case has")


class CaseDetail(CaseOut):
    """A case with its findings and notices counted by state."""

    findings_by_state: dict[str, int]
    notices_by_state: dict[str, int]


class CaseList(BaseModel):
    """Every case, oldest first."""

    model_config = _Out

    total: int
    items: list[CaseOut]


class MediaOut(BaseModel):
    """A media item found on a page: where it was and what it is, never its bytes."""

    model_config = _Out

    url: str
    kind: MediaKind
    content_type: str
    size: int
    sha256: str


class FindingSummary(BaseModel):
    """A finding as lists show it."""

    model_config = _Out

    id: str
    case_id: str
    url: str
    title: str
    state: FindingState
    decision: Decision | None
    media: int = Field(description="how many media items the page holds")
    bundle_id: str = Field(description="its evidence bundle's id (whether or not it was captured yet)")
    canonical_id: str | None = Field(description="the finding whose media this page only repeats, if any")


class FindingOut(FindingSummary):
    """A finding: the page, why it is here, every detector's verdict, its media (never their bytes), its history."""

    site: str
    text: str = Field(description="the page's text, as captured")
    language: str | None
    found_at: datetime
    reasons: list[str]
    media_items: list[MediaOut]
    detections: list[Detection]
    history: list[StateChange]


class FindingPage(BaseModel):
    """One page of findings, oldest first."""

    model_config = _Out

    total: int = Field(description="how many findings match the filters")
    limit: int
    offset: int
    items: list[FindingSummary]


class LeaseOut(BaseModel):
    """Who is reviewing a request, and until when."""

    model_config = _Out

    user: str
    until: datetime


class NoticeSummary(BaseModel):
    """A notice (a request in one language) as lists show it."""

    model_config = _Out

    id: str
    case_id: str
    state: NoticeState
    kind: str
    locale: str
    jurisdiction: str
    subject: str
    to: str = Field(description="the recipient's address (an e-mail address, or a form's URL)")
    channel: str
    finding_ids: list[str]
    missing: list[str] = Field(description="legal fields its jurisdiction requires that it does not give")
    approved_by: str | None
    created_at: datetime


class CopyOut(BaseModel):
    """The request's copy in another language."""

    model_config = _Out

    id: str
    locale: str
    state: NoticeState


class NoticeOut(NoticeSummary):
    """A notice as the officer checks it: recipient, legal fields, the pages it lists, the message, its history."""

    attempt: int
    revision: int
    recipient: Recipient
    items: list[NoticeItem]
    legal: dict[str, str]
    body_text: str
    body_html: str | None
    attachments: list[Artifact]
    approved_at: datetime | None
    rejected_reason: str | None
    history: list[StateChange]
    copies: list[CopyOut]
    delivery: Delivery | None = Field(description="how and when it was sent, once it was")
    held_by: LeaseOut | None = Field(description="the officer reviewing it now, if any (decisions wait for them)")


class NoticePage(BaseModel):
    """One page of notices, oldest first."""

    model_config = _Out

    total: int
    limit: int
    offset: int
    items: list[NoticeSummary]


class ApprovalRequest(BaseModel):
    """An approval: a note for the record, and whether the request's copies in other languages are approved too."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)
    copies: bool = Field(default=False, description="approve the request's draft copies in its other languages too")


class RejectionRequest(BaseModel):
    """A rejection, with the reason (recorded, and shown to whoever redrafts it)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000)


class DecisionOut(BaseModel):
    """The notices a decision changed, as they are now."""

    model_config = _Out

    notices: list[NoticeSummary]


class ArtifactOut(BaseModel):
    """One sealed file of a bundle. Reports, manifests and seals can be downloaded (``served``); raw media, pages and
    screenshots never are."""

    model_config = _Out

    name: str = Field(description="the file's name: GET /api/v1/bundles/{id}/files/{name} downloads a served one")
    path: str = Field(description="its path under the evidence root")
    role: str
    media_type: str
    sha256: str
    size: int
    served: bool


class BundleOut(BaseModel):
    """A finding's sealed evidence: what was captured, when, and every file with its SHA-256."""

    model_config = _Out

    id: str
    case_id: str
    finding_id: str
    captured_at: datetime
    capture: dict[str, str]
    error: str | None
    timestamps: int = Field(description="how many RFC 3161 time-stamp tokens seal it")
    artifacts: list[ArtifactOut]


class StatsOut(BaseModel):
    """Counts across every case, and how each recipient complies."""

    model_config = _Out

    cases: int
    cases_by_status: dict[str, int]
    findings: int
    findings_by_decision: dict[str, int] = Field(description="by the policy's decision; 'undecided' for none yet")
    findings_by_state: dict[str, int]
    notices: int
    notices_by_state: dict[str, int]
    removals: list[RecipientStats] = Field(description="per recipient address: findings notified, how many were "
                                                       "removed, and the median hours to removal")


# -- who is calling ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCaller:
    """Who is making an API request, and with which token."""

    user: User
    token: ApiToken

    def context(self) -> dict[str, str]:
        """How the caller was authenticated, for the custody log."""
        return {"via": "api", "user": self.user.username, "token": self.token.token_sha256[:16]}


_bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", bearerFormat="td_...",
    description="An API token from `takedown token add USER --name NAME --by WHO`, sent as "
                "`Authorization: Bearer td_...`. It acts as its user, with the user's roles.",
)


def _store(request: Request) -> CaseStore:
    store: CaseStore = request.app.state.store
    return store


async def _authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiCaller:
    """The token's user; cookies are never looked at."""
    if credentials is None:
        raise AuthenticationError("a valid API token is needed: send 'Authorization: Bearer td_...'")
    user, token = token_user(_store(request), credentials.credentials)
    return ApiCaller(user=user, token=token)


async def _reader(who: Annotated[ApiCaller, Depends(_authenticated)]) -> ApiCaller:
    require_role(who.user, *READERS)
    return who


async def _decider(who: Annotated[ApiCaller, Depends(_authenticated)]) -> ApiCaller:
    require_role(who.user, *DECIDERS)
    return who


Reader = Annotated[ApiCaller, Depends(_reader)]
Decider = Annotated[ApiCaller, Depends(_decider)]
Limit = Annotated[int, Query(ge=1, le=_MAX_LIMIT, description="at most this many items")]
Offset = Annotated[int, Query(ge=0, description="skip this many items first")]
CaseId = Annotated[str, Path(description="the case's id, e.g. case-2025-0142")]
FindingId = Annotated[str, Path(description="the finding's id (fnd-...)")]
NoticeId = Annotated[str, Path(description="the notice's id (ntc-...)")]
BundleId = Annotated[str, Path(description="the evidence bundle's id (bnd-...), as its finding gives it")]


# -- turning records into answers ----------------------------------------------------------------------------------


def _counts(values: Sequence[str], keys: Sequence[str]) -> dict[str, int]:
    counted = Counter(values)
    return {key: counted.get(key, 0) for key in keys}


def _case(case: Case, findings: int, notices: int) -> dict[str, Any]:
    return {"id": case.id, "title": case.title, "status": case.status, "priority": case.priority,
            "jurisdiction": case.jurisdiction, "languages": list(case.languages), "created_at": case.created_at,
            "status_changed_at": case.status_changed_at, "findings": findings, "notices": notices}


def _finding_summary(finding: Finding) -> dict[str, Any]:
    return {"id": finding.id, "case_id": finding.case_id, "url": finding.candidate.url,
            "title": finding.candidate.title, "state": finding.state, "decision": finding.decision,
            "media": len(finding.media), "bundle_id": finding.bundle_id, "canonical_id": finding.canonical_id}


def _notice_summary(notice: Notice) -> NoticeSummary:
    from takedown.report.jurisdictions import missing_fields

    return NoticeSummary(id=notice.id, case_id=notice.case_id, state=notice.state, kind=notice.kind,
                         locale=notice.locale, jurisdiction=notice.jurisdiction, subject=notice.subject,
                         to=notice.recipient.address, channel=notice.recipient.channel,
                         finding_ids=list(notice.finding_ids), missing=missing_fields(notice),
                         approved_by=notice.approved_by, created_at=notice.created_at)


def api_schema(app: Any) -> dict[str, Any]:
    """The REST API's OpenAPI schema: the API router's routes of ``app`` (a console from ``create_app``) only, with the
    bearer security scheme."""
    schema: dict[str, Any] = get_openapi(
        title="takedown API", version=__version__, routes=app.state.api_router.routes,
        summary="Cases, findings, deletion requests, evidence and statistics of a takedown console.",
        description="Every route needs an API token (`Authorization: Bearer td_...`) of a user with the role it "
                    "names (`x-roles`). Errors are JSON: `{\"error\": ClassName, \"message\": ...}`.",
    )
    return schema


def _roles(*roles: Role) -> dict[str, Any]:
    return {"x-roles": [r.value for r in roles]}


_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiError, "description": "no valid API token (with `WWW-Authenticate: Bearer`)"},
    403: {"model": ApiError, "description": "the token's user lacks the role"},
}
_MISSING: dict[int | str, dict[str, Any]] = {404: {"model": ApiError, "description": "no such record"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ApiError, "description": "not a draft, another officer holds its lease, or legal fields are "
                                            "missing (IncompleteNoticeError, with `missing`)"},
    400: {"model": ApiError, "description": "the request cannot be done as asked (UsageError)"},
}


def add_api(app: Any, settings: Settings, *, make_transport: Callable[[], Transport]) -> None:
    """Mount the REST API's routes on the console application ``app``, and answer refusals under ``/api/`` in JSON
    (401 with ``WWW-Authenticate: Bearer``; an incomplete notice's approval with 409 and the fields missing).

    ``make_transport`` is the console's; the API sends nothing (sending stays behind the console's and the CLI's
    explicit confirmation).
    """
    from takedown.console.app import LeasedError
    from takedown.console.views import SERVED_ROLES, copies_of, evidence_file
    from takedown.pipeline import notice_renderer

    renderer = notice_renderer(settings)  # approval renders a request again from its records
    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(_authenticated)],
                       default_response_class=SafeJSONResponse, responses=_REFUSALS,
                       generate_unique_id_function=lambda route: str(route.name))

    # -- cases ---------------------------------------------------------------------------------------------------

    @router.get("/cases", tags=["cases"], summary="List the cases", openapi_extra=_roles(*READERS))
    async def list_cases(request: Request, who: Reader) -> CaseList:
        """Every case, oldest first, with how many findings and notices each has."""
        store = _store(request)
        findings = Counter(f.case_id for f in store.list_findings())
        notices = Counter(n.case_id for n in store.list_notices())
        items = [CaseOut(**_case(c, findings[c.id], notices[c.id])) for c in store.list_cases()]
        return CaseList(total=len(items), items=items)

    @router.get("/cases/{case_id}", tags=["cases"], summary="Get a case",
                responses=_MISSING, openapi_extra=_roles(*READERS))
    async def get_case(request: Request, who: Reader, case_id: CaseId) -> CaseDetail:
        """One case, with its findings and notices counted by state."""
        store = _store(request)
        case = store.get_case(case_id)
        findings = [f.state.value for f in store.list_findings(case_id)]
        notices = [n.state.value for n in store.list_notices(case_id)]
        return CaseDetail(**_case(case, len(findings), len(notices)),
                          findings_by_state=_counts(findings, [s.value for s in FindingState]),
                          notices_by_state=_counts(notices, [s.value for s in NoticeState]))

    # -- findings ------------------------------------------------------------------------------------------------

    @router.get("/findings", tags=["findings"], summary="List findings",
                responses=_MISSING, openapi_extra=_roles(*READERS))
    async def list_findings(
        request: Request, who: Reader,
        case: Annotated[str | None, Query(description="only this case's findings")] = None,
        decision: Annotated[Decision | None, Query(description="only findings the policy decided so")] = None,
        state: Annotated[FindingState | None, Query(description="only findings in this state")] = None,
        limit: Limit = 100, offset: Offset = 0,
    ) -> FindingPage:
        """Findings, oldest first, filtered by case, decision and state (an unknown case is 404)."""
        store = _store(request)
        if case is not None:
            store.get_case(case)
        found = store.list_findings(case, states=None if state is None else [state], decision=decision)
        items = [FindingSummary(**_finding_summary(f)) for f in found[offset:offset + limit]]
        return FindingPage(total=len(found), limit=limit, offset=offset, items=items)

    @router.get("/findings/{finding_id}", tags=["findings"], summary="Get a finding",
                responses=_MISSING, openapi_extra=_roles(*READERS))
    async def get_finding(request: Request, who: Reader, finding_id: FindingId) -> FindingOut:
        """One finding: the page, why it is here, every detector's verdict, its media (never their bytes)."""
        finding = _store(request).get_finding(finding_id)
        return FindingOut(
            **_finding_summary(finding), site=finding.candidate.site, text=finding.candidate.text,
            language=finding.candidate.language, found_at=finding.candidate.found_at, reasons=list(finding.reasons),
            media_items=[MediaOut(url=m.url, kind=m.kind, content_type=m.content_type, size=m.size, sha256=m.sha256)
                         for m in finding.media],
            detections=list(finding.detections), history=list(finding.history))

    # -- notices -------------------------------------------------------------------------------------------------

    @router.get("/notices", tags=["notices"], summary="List notices",
                responses=_MISSING, openapi_extra=_roles(*READERS))
    async def list_notices(
        request: Request, who: Reader,
        case: Annotated[str | None, Query(description="only this case's notices")] = None,
        state: Annotated[NoticeState | None, Query(description="only notices in this state")] = None,
        limit: Limit = 100, offset: Offset = 0,
    ) -> NoticePage:
        """Notices (one per request and language), oldest first, filtered by case and state."""
        store = _store(request)
        if case is not None:
            store.get_case(case)
        found = store.list_notices(case, states=None if state is None else [state])
        return NoticePage(total=len(found), limit=limit, offset=offset,
                          items=[_notice_summary(n) for n in found[offset:offset + limit]])

    def notice_out(store: CaseStore, notice: Notice) -> NoticeOut:
        held = leases.lease_holder(store, notice.id)
        return NoticeOut(
            **_notice_summary(notice).model_dump(), attempt=notice.attempt, revision=notice.revision,
            recipient=notice.recipient, items=list(notice.items), legal=dict(notice.legal),
            body_text=notice.body_text, body_html=notice.body_html, attachments=list(notice.attachments),
            approved_at=notice.approved_at, rejected_reason=notice.rejected_reason, history=list(notice.history),
            copies=[CopyOut(id=n.id, locale=n.locale, state=n.state) for n in copies_of(store, notice)],
            delivery=store.get_delivery(notice.id),
            held_by=LeaseOut(user=held[0], until=held[1]) if held else None)

    @router.get("/notices/{notice_id}", tags=["notices"], summary="Get a notice",
                responses=_MISSING, openapi_extra=_roles(*READERS))
    async def get_notice(request: Request, who: Reader, notice_id: NoticeId) -> NoticeOut:
        """One notice as the officer checks it, with the legal fields it is missing and who is reviewing it.
        Reading it takes no lease."""
        store = _store(request)
        return notice_out(store, store.get_notice(notice_id))

    def deciding(store: CaseStore, who: ApiCaller, notice_id: str,
                 act: Callable[[list[str]], list[str]]) -> DecisionOut:
        """Take the request's lease (refused while another officer holds it), act, and give the lease back."""
        whole = [notice_id, *(n.id for n in copies_of(store, store.get_notice(notice_id)))]
        held = leases.take(store, whole, who.user.username)
        if held is not None:
            raise LeasedError(f"{held[0]} is reviewing this request (until {held[1].isoformat(timespec='minutes')})")
        try:
            changed = act(whole)
        finally:
            leases.release(store, whole, who.user.username)
        return DecisionOut(notices=[_notice_summary(store.get_notice(i)) for i in changed])

    @router.post("/notices/{notice_id}/approve", tags=["notices"], summary="Approve a request",
                 responses={**_MISSING, **_CONFLICT}, openapi_extra=_roles(*DECIDERS))
    async def approve(request: Request, who: Decider, notice_id: NoticeId, body: ApprovalRequest) -> DecisionOut:
        """Approve a draft request as the token's user (their display name signs it); with ``copies``, its draft
        copies in other languages too, each approved and recorded on its own. Under the four-eyes rule
        (``[console] four_eyes``) the first officer's approval leaves the request a draft (its state says so) until a
        second, different user approves it; the first approver's second try is 403. Refused (409) while another
        officer holds its lease, or when it is not a draft or lacks legal fields."""
        from takedown.report.countersign import approve_with_rule

        store = _store(request)

        def act(whole: list[str]) -> list[str]:
            chosen = [notice_id]
            if body.copies:
                chosen += [i for i in whole[1:] if store.get_notice(i).state is NoticeState.DRAFT]
            for one in chosen:
                approve_with_rule(store, one, rule=settings.console.four_eyes, username=who.user.username,
                                  by=who.user.display_name, note=body.note, context=who.context(),
                                  renderer=renderer, signer=signature_of(who.user, settings.agency))
            return chosen

        return deciding(store, who, notice_id, act)

    @router.post("/notices/{notice_id}/reject", tags=["notices"], summary="Reject a request",
                 responses={**_MISSING, **_CONFLICT}, openapi_extra=_roles(*DECIDERS))
    async def reject(request: Request, who: Decider, notice_id: NoticeId, body: RejectionRequest) -> DecisionOut:
        """Reject a draft request with a reason, as the token's user. Refused (409) while another officer holds its
        lease or when it is not a draft; an empty reason is 400."""
        from takedown.report.review import reject_notice

        store = _store(request)

        def act(whole: list[str]) -> list[str]:
            reject_notice(store, notice_id, by=who.user.display_name, reason=body.reason, context=who.context())
            return [notice_id]

        return deciding(store, who, notice_id, act)

    # -- evidence ------------------------------------------------------------------------------------------------

    @router.get("/bundles/{bundle_id}", tags=["bundles"], summary="Get an evidence bundle",
                responses=_MISSING, openapi_extra=_roles(*READERS))
    async def get_bundle(request: Request, who: Reader, bundle_id: BundleId) -> BundleOut:
        """A finding's sealed evidence bundle: every file with its role, SHA-256 and size."""
        bundle = _store(request).get_bundle(bundle_id)
        artifacts = [ArtifactOut(name=PurePosixPath(a.path).name, path=a.path, role=a.role, media_type=a.media_type,
                                 sha256=a.sha256, size=a.size, served=a.role in SERVED_ROLES)
                     for a in bundle.artifacts]
        return BundleOut(id=bundle.id, case_id=bundle.case_id, finding_id=bundle.finding_id,
                         captured_at=bundle.captured_at, capture=dict(bundle.capture), error=bundle.error,
                         timestamps=len(bundle.timestamps), artifacts=artifacts)

    @router.get(
        "/bundles/{bundle_id}/files/{name}", tags=["bundles"], summary="Download a report, manifest or seal",
        response_class=FileResponse, openapi_extra=_roles(*READERS),
        responses={**_MISSING, 200: {"description": "the file's bytes, as sealed", "content": {
            "application/pdf": {}, "application/json": {}, "application/octet-stream": {}}},
            409: {"model": ApiError, "description": "the file no longer matches its sealed SHA-256 (EvidenceError)"}},
    )
    async def bundle_file(
        request: Request, who: Reader, bundle_id: BundleId,
        name: Annotated[str, Path(description="a served file's name, as the bundle lists it")],
    ) -> Response:
        """Download a bundle's report, manifest or seal, only while it matches its sealed SHA-256; each download is
        recorded in the bundle's custody log (``viewed``). Raw media, pages and screenshots are never served (404)."""
        store = _store(request)
        path, media_type = evidence_file(store, settings, bundle_id, name)
        store.append_custody(bundle_id, "viewed", actor=who.user.display_name, details={**who.context(), "file": name})
        return FileResponse(path, media_type=media_type, filename=name, content_disposition_type="attachment")

    # -- statistics ----------------------------------------------------------------------------------------------

    @router.get("/stats", tags=["stats"], summary="Counts and removals", openapi_extra=_roles(*READERS))
    async def stats(request: Request, who: Reader) -> StatsOut:
        """Cases by status, findings by decision and state, notices by state, and removals per recipient."""
        from takedown.report.followup import compliance_stats

        store = _store(request)
        cases = [c.status.value for c in store.list_cases()]
        findings = store.list_findings()
        notices = [n.state.value for n in store.list_notices()]
        return StatsOut(
            cases=len(cases), cases_by_status=_counts(cases, [s.value for s in CaseStatus]),
            findings=len(findings),
            findings_by_decision=_counts([f.decision.value if f.decision else "undecided" for f in findings],
                                         [*(d.value for d in Decision), "undecided"]),
            findings_by_state=_counts([f.state.value for f in findings], [s.value for s in FindingState]),
            notices=len(notices), notices_by_state=_counts(notices, [s.value for s in NoticeState]),
            removals=compliance_stats(store))

    # -- the schema ----------------------------------------------------------------------------------------------

    schema: dict[str, Any] = {}

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> SafeJSONResponse:
        """The API's OpenAPI schema: any valid token (it holds no case data; docs/api.md publishes it too)."""
        if not schema:
            schema.update(api_schema(request.app))
        return SafeJSONResponse(schema)

    app.include_router(router)
    app.state.api_router = router

    # -- refusals in JSON --------------------------------------------------------------------------------------

    console_refusal = app.exception_handlers[TakedownError]

    async def refused(request: Request, exc: Exception) -> Response:
        response: Response = await console_refusal(request, exc)
        if not request.url.path.startswith(API_PREFIX + "/"):
            return response
        status = response.status_code
        body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, IncompleteNoticeError):  # a state of the notice, not a fault of the server
            status, body["missing"] = 409, list(exc.missing)
        answer = SafeJSONResponse(body, status_code=status)
        if isinstance(exc, AuthenticationError):
            sent = "authorization" in request.headers
            answer.headers["WWW-Authenticate"] = 'Bearer realm="takedown API"' + (
                ', error="invalid_token"' if sent else "")
        return answer

    app.add_exception_handler(TakedownError, refused)
