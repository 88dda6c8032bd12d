"""The officer console's web application: server-rendered pages behind a signed-in session and a role.

``create_app(settings)`` builds the FastAPI application on the agency's store (``[storage]``). The security
boundary, route by route:

- **Sign-in is throttled twice**: an account locks after five failures in a row (``takedown.console.accounts``),
  and one client address is refused (HTTP 429) after ``ADDRESS_MAX_FAILURES`` failures in 15 minutes, whatever
  names it tries. Behind a proxy every client has the proxy's address: put the throttle there too.
- **Every page but the login page needs a session** (``takedown.console.accounts``): the browser's cookie holds a
  random token, ``HttpOnly``, ``SameSite=Strict``, and ``Secure`` unless the console serves plain HTTP on
  loopback. A login always starts a new session (no fixation); logout ends it in the store, so the old cookie is
  worthless.
- **Every state-changing request is a POST carrying the session's CSRF token** (the login form: a double-submit
  token in its own cookie); anything else is refused with 403 before it is read further.
- **Roles are checked on every action**: approving, rejecting and sending need ``officer`` or ``supervisor``;
  an ``auditor`` reads everything and changes nothing.
- **One officer per request**: opening a draft request takes its lease (``takedown.console.leases``); another
  officer sees it read-only and cannot decide it until the holder has, or the lease has run out. After a
  decision the next request nobody holds loads (``/next``).
- **Every response** has a strict Content-Security-Policy (no inline script or style, nothing from elsewhere, no
  framing), ``nosniff``, no referrer, and ``Cache-Control: no-store``. Pages are Jinja2 templates with
  autoescaping, so a hostile page title captured from a site is shown as text.

An approval made here records the signed-in user's display name and, in its custody event, the user name and
the session. Needs the ``console`` extra.
"""


import hmac
import ipaddress
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from takedown.console import leases
from takedown.console.accounts import (
    add_user,
    authenticate,
    end_session,
    require_role,
    session_user,
    set_password,
    set_user_disabled,
    signature_of,
    start_session,
)
from takedown.console.case_views import (
    MAX_REFERENCE_BYTES,
    MAX_REFERENCE_FILES,
    Upload,
    case_from_form,
    case_view,
    cases_view,
)
from takedown.console.followups import followup_view, start_followup
from takedown.console.i18n import CONSOLE_LOCALES, choose_locale, translations
from takedown.console.scans import start_scan
from takedown.console.views import (
    NOTICE_STATES,
    audit_view,
    copies_of,
    dashboard_view,
    evidence_file,
    finding_view,
    findings_view,
    masked_preview,
    notice_view,
    notices_view,
    sendable_view,
)
from takedown.console.wellness import take_grant, team_exposure, unblur, wellness_of, wellness_view
from takedown.errors import (
    AuthenticationError,
    DeliveryError,
    DetectionError,
    EvidenceError,
    IncompleteNoticeError,
    InvalidTransitionError,
    MissingDependencyError,
    NotApprovedError,
    NotFoundError,
    PermissionDeniedError,
    TakedownError,
    UsageError,
)
from takedown.models import LoginSession, NoticeState, Role, User
from takedown.report.base import Transport
from takedown.report.countersign import first_approval
from takedown.settings import Settings
from takedown.store.base import CaseStore

__all__ = ["CSP", "SESSION_COOKIE", "create_app"]

SESSION_COOKIE = "takedown_session"
LOGIN_COOKIE = "takedown_login"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
"""The Content-Security-Policy of every response: our own script and style files only, nothing inline."""

_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_DECIDERS = (Role.OFFICER, Role.SUPERVISOR)


@dataclass(frozen=True)
class SignedIn:
    """Who is making a request, and through which session."""

    user: User
    session: LoginSession


SPOOL_IN_MEMORY = 64 * 1024 * 1024
"""Uploads up to this size stay in memory while the console hashes them."""

ADDRESS_MAX_FAILURES = 20
ADDRESS_WINDOW_S = 900.0
"""Failed sign-ins one client address may make in ``ADDRESS_WINDOW_S`` seconds, whatever names it tries, before
it is refused (HTTP 429) until the oldest falls out of the window. Kept per console process."""


class ThrottledError(TakedownError):
    """Too many failed sign-ins from one address."""


class LeasedError(TakedownError):
    """Another officer holds the request's lease: they are reviewing it."""


class _NeedsLogin(Exception):
    """No valid session: a page answers with a redirect to the login page."""


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(
    settings: Settings,
    *,
    store: CaseStore | None = None,
    secure_cookies: bool | None = None,
    transport: Callable[[], Transport] | None = None,
) -> Any:
    """The console as an ASGI application (a ``fastapi.FastAPI``).

    Args:
        settings: the agency's settings; the store is opened from ``[storage]`` unless ``store`` is given.
        store: a store to use instead (the caller closes it).
        secure_cookies: mark cookies ``Secure``; ``None`` (default): yes, unless a request comes over plain HTTP
            to a loopback address.
        transport: makes the transport approved e-mail requests are sent through, one per send (default: SMTP
            from ``[smtp]``).

    Raises:
        MissingDependencyError: the ``console`` extra is not installed.
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
        from fastapi.staticfiles import StaticFiles
    except ImportError as exc:
        raise MissingDependencyError("fastapi", "console", feature="the officer console") from exc
    from importlib import resources

    from jinja2 import Environment, PackageLoader, select_autoescape

    pages: dict[str, Environment] = {}
    for locale in CONSOLE_LOCALES:  # one environment per language, each with its gettext
        env = Environment(loader=PackageLoader("takedown.console", "templates"), extensions=["jinja2.ext.i18n"],
                          autoescape=select_autoescape(default=True, default_for_string=True))
        env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
        pages[locale] = env
    owned = store is None
    failures: dict[str, list[float]] = {}  # client address -> monotonic times of its recent failed sign-ins

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if owned:
            from takedown.store import open_store

            app.state.store = open_store(settings.storage.store_url)
        else:
            app.state.store = store
        try:
            yield
        finally:
            if owned:
                app.state.store.close()

    app = FastAPI(title="takedown console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    from starlette.formparsers import MultiPartParser

    # Reference media is hashed in memory: an upload up to this size is never written to disk (Starlette's default
    # spools anything over 1 MiB to a temporary file); a larger one (a long video) spools to a private temporary
    # file that is deleted when the request ends.
    MultiPartParser.spool_max_size = SPOOL_IN_MEMORY
    static = resources.files("takedown.console") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers[name] = value
        return response

    def the_store(request: Request) -> CaseStore:
        current: CaseStore = request.app.state.store
        return current

    def secure(request: Request) -> bool:
        if secure_cookies is not None:
            return secure_cookies
        return request.url.scheme == "https" or not _loopback(request.url.hostname or "")

    def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        user: User | None = values.get("user")
        lang = choose_locale(user.locale if user else None, request.headers.get("accept-language", ""))
        return HTMLResponse(pages[lang].get_template(name).render(lang=lang, **values), status_code=status)

    def signed_in(request: Request) -> SignedIn:
        token = request.cookies.get(SESSION_COOKIE, "")
        try:
            user, session = session_user(the_store(request), token)
        except AuthenticationError:
            raise _NeedsLogin from None
        return SignedIn(user=user, session=session)

    async def checked_form(request: Request, who: SignedIn) -> dict[str, str]:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        if not hmac.compare_digest(values.get("csrf", ""), who.session.csrf_token):
            raise PermissionDeniedError("the form's security token is missing or stale; reload the page")
        return values

    async def acting(request: Request, *roles: Role) -> tuple[SignedIn, dict[str, str]]:
        """The checks of every action: a session, the form's CSRF token, then one of ``roles`` (when given)."""
        who = signed_in(request)
        form = await checked_form(request, who)
        if roles:
            require_role(who.user, *roles)
        return who, form

    def context(who: SignedIn) -> dict[str, str]:
        return {"via": "console", "user": who.user.username, "session": who.session.token_sha256[:16]}

    @app.exception_handler(_NeedsLogin)
    async def needs_login(request: Request, exc: _NeedsLogin) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(TakedownError)
    async def refused(request: Request, exc: TakedownError) -> Response:
        status = (429 if isinstance(exc, ThrottledError)
                  else 403 if isinstance(exc, PermissionDeniedError) else 404 if isinstance(exc, NotFoundError)
                  else 401 if isinstance(exc, AuthenticationError)
                  else 409 if isinstance(exc, InvalidTransitionError | EvidenceError | NotApprovedError | LeasedError
                                         | IncompleteNoticeError)
                  else 502 if isinstance(exc, DeliveryError)
                  else 400 if isinstance(exc, UsageError | DetectionError) else 500)
        if request.url.path.startswith("/api/"):  # the REST API answers in JSON, never with a page
            return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=status)
        return render(request, "error.html", status=status, status_code=status, message=str(exc), user=None)

    # -- signing in and out -------------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html", login_csrf=token, failed=False, user=None)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
                            path="/login", max_age=3600)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        sent = str(form.get("login_csrf", ""))
        kept = request.cookies.get(LOGIN_COOKIE, "")
        if not sent or not hmac.compare_digest(sent, kept):
            raise PermissionDeniedError("the login form's security token is missing or stale; reload the page")
        store = the_store(request)
        client = request.headers.get("user-agent", "")[:200]
        address = request.client.host if request.client else "unknown"
        now = time.monotonic()
        recent = [t for t in failures.get(address, []) if now - t < ADDRESS_WINDOW_S]
        failures[address] = recent
        if len(recent) >= ADDRESS_MAX_FAILURES:
            raise ThrottledError("too many failed sign-ins from this address; wait a few minutes and try again")
        try:
            user = authenticate(store, str(form.get("username", "")), str(form.get("password", "")), client=client)
        except AuthenticationError:
            failures[address].append(now)
            fresh = secrets.token_urlsafe(32)
            page = render(request, "login.html", status=401, login_csrf=fresh, failed=True, user=None)
            page.set_cookie(LOGIN_COOKIE, fresh, httponly=True, samesite="strict", secure=secure(request),
                            path="/login", max_age=3600)
            return page
        old = request.cookies.get(SESSION_COOKIE)
        if old:  # a new session every time: a cookie planted before login is worth nothing after it
            end_session(store, old)
        token, _ = start_session(store, user, client=client)
        done = RedirectResponse("/", status_code=303)
        done.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/")
        done.delete_cookie(LOGIN_COOKIE, path="/login")
        return done

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await acting(request)
        end_session(the_store(request), request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- pages --------------------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def dashboard(request: Request) -> Response:
        who = signed_in(request)
        return render(request, "dashboard.html", user=who.user, csrf=who.session.csrf_token,
                      **dashboard_view(the_store(request), settings.report.deadlines))

    @app.get("/notices", response_class=HTMLResponse)
    async def notices(request: Request, state: str = "draft", page: int = 1) -> Response:
        who = signed_in(request)
        if state not in NOTICE_STATES:
            raise UsageError(f"state is one of {', '.join(NOTICE_STATES)}")
        return render(request, "notices.html", user=who.user, csrf=who.session.csrf_token, state=state,
                      states=NOTICE_STATES, **notices_view(the_store(request), state, page=page))

    def request_ids(store: CaseStore, notice_id: str) -> list[str]:
        """The notice and its copies in other languages: one request, leased and decided together."""
        return [notice_id, *(n.id for n in copies_of(store, store.get_notice(notice_id)))]

    @app.get("/notices/{notice_id}", response_class=HTMLResponse)
    async def notice(request: Request, notice_id: str) -> Response:
        who = signed_in(request)
        store = the_store(request)
        view = notice_view(store, settings, notice_id)
        can_decide = bool(who.user.roles & set(_DECIDERS))
        first = first_approval(store, notice_id)
        first_is_mine = first is not None and first.username == who.user.username
        held_by = None
        if can_decide and view["notice"]["decidable"] and not first_is_mine:  # the first approver leaves it free
            held = leases.take(store, [notice_id, *(c["id"] for c in view["copies"])], who.user.username)
            if held is not None:  # another officer is reviewing it: read-only here
                can_decide = False
                held_by = {"user": held[0], "until": held[1].isoformat(timespec="minutes")}
        return render(request, "notice.html", user=who.user, csrf=who.session.csrf_token, can_decide=can_decide,
                      held_by=held_by, first=first, first_is_mine=first_is_mine, **view)

    @app.get("/next")
    async def next_request(request: Request) -> Response:
        """The oldest draft request nobody else is reviewing, or the list when there is none."""
        who = signed_in(request)
        store = the_store(request)
        page, pages = 1, 1
        while page <= pages:  # page by page, oldest first, until one is free
            view = notices_view(store, "draft", page=page)
            for entry in view["requests"]:
                ids = [c["id"] for c in entry["copies"]]
                held = [leases.lease_holder(store, i) for i in ids]
                mine = [first_approval(store, i) for i in ids]  # what this officer approved first waits for another
                if all(h is None or h[0] == who.user.username for h in held) and not any(
                        f is not None and f.username == who.user.username for f in mine):
                    return RedirectResponse(f"/notices/{ids[0]}", status_code=303)
            page, pages = page + 1, view["pages"]
        return RedirectResponse("/notices?state=draft", status_code=303)

    def decide(store: CaseStore, who: SignedIn, ids: list[str]) -> None:
        """Refuse a decision on a request another officer holds; take its lease otherwise (it may have run out)."""
        held = leases.take(store, ids, who.user.username)
        if held is not None:
            raise LeasedError(f"{held[0]} is reviewing this request (until {held[1].isoformat(timespec='minutes')})")

    # -- cases ----------------------------------------------------------------------------------------------------

    @app.get("/cases", response_class=HTMLResponse)
    async def cases(request: Request) -> Response:
        who = signed_in(request)
        return render(request, "cases.html", user=who.user, csrf=who.session.csrf_token,
                      can_decide=bool(who.user.roles & set(_DECIDERS)), **cases_view(the_store(request)))

    @app.get("/cases/new", response_class=HTMLResponse)
    async def new_case(request: Request) -> Response:
        from takedown.report.jurisdictions import JURISDICTIONS

        who = signed_in(request)
        require_role(who.user, *_DECIDERS)
        return render(request, "case_new.html", user=who.user, csrf=who.session.csrf_token,
                      jurisdictions=sorted(JURISDICTIONS), default_jurisdiction=settings.agency.jurisdiction)

    @app.post("/cases")
    async def create(request: Request) -> Response:
        """A new case from uploaded reference media (hashed in memory, never kept) and hash lists."""
        from starlette.datastructures import UploadFile

        from takedown.cases import create_case

        who = signed_in(request)
        require_role(who.user, *_DECIDERS)  # before a byte of the upload is read
        form = await request.form(max_files=MAX_REFERENCE_FILES + 5, max_fields=50)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        if not hmac.compare_digest(values.get("csrf", ""), who.session.csrf_token):
            raise PermissionDeniedError("the form's security token is missing or stale; reload the page")

        async def uploads(field: str) -> list[Upload]:
            out = []
            files = [f for f in form.getlist(field) if isinstance(f, UploadFile) and f.filename]
            if len(files) > MAX_REFERENCE_FILES:
                raise UsageError(f"at most {MAX_REFERENCE_FILES} files at once")
            for upload in files:
                data = await upload.read(MAX_REFERENCE_BYTES + 1)
                if len(data) > MAX_REFERENCE_BYTES:
                    raise UsageError(f"{upload.filename}: larger than {MAX_REFERENCE_BYTES // 2**20} MiB")
                out.append(Upload(name=upload.filename or "upload", data=data))
            return out

        try:
            case = case_from_form(values, await uploads("references"), await uploads("hashlist"))
        finally:
            await form.close()  # every upload's spool, read or not
        create_case(the_store(request), case, by=who.user.display_name, context=context(who))
        return RedirectResponse(f"/cases/{case.id}", status_code=303)

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    async def case_page(request: Request, case_id: str) -> Response:
        who = signed_in(request)
        return render(request, "case.html", user=who.user, csrf=who.session.csrf_token,
                      can_decide=bool(who.user.roles & set(_DECIDERS)), **case_view(the_store(request), case_id))

    @app.post("/cases/{case_id}/scan")
    async def scan(request: Request, case_id: str) -> Response:
        who, _ = await acting(request, *_DECIDERS)
        start_scan(the_store(request), settings, case_id, by=who.user.display_name, context=context(who))
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.post("/cases/{case_id}/status")
    async def case_status(request: Request, case_id: str) -> Response:
        """Close or reopen a case; or withdraw it (the victim withdrew consent), after an explicit confirmation."""
        from takedown.cases import set_case_status, withdraw_case
        from takedown.models import CaseStatus

        who, form = await acting(request, *_DECIDERS)
        store, action, reason = the_store(request), form.get("action", ""), form.get("reason", "").strip()
        if action == "withdraw":
            if form.get("confirm") != "yes" or not reason:
                raise UsageError("withdrawing erases the case's hashes and keywords: give the reason and tick the "
                                 "confirmation")
            withdraw_case(store, case_id, by=who.user.display_name, reason=reason, context=context(who))
        elif action in ("close", "reopen"):
            status = CaseStatus.CLOSED if action == "close" else CaseStatus.OPEN
            set_case_status(store, case_id, status, by=who.user.display_name, reason=reason, context=context(who))
        else:
            raise UsageError("close, reopen or withdraw")
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    # -- follow-up -----------------------------------------------------------------------------------------------

    @app.get("/followup", response_class=HTMLResponse)
    async def followup(request: Request, page: int = 1) -> Response:
        """Each sent request's legal clock and pages, what waits for approval, and removals per recipient."""
        who = signed_in(request)
        return render(request, "followup.html", user=who.user, csrf=who.session.csrf_token,
                      can_decide=bool(who.user.roles & set(_DECIDERS)),
                      **followup_view(the_store(request), page=page, hours=settings.report.deadlines))

    @app.post("/followup")
    async def followup_now(request: Request) -> Response:
        who, form = await acting(request, *_DECIDERS)
        start_followup(the_store(request), settings, by=who.user.display_name, context=context(who),
                       everything=form.get("everything") == "yes")
        return RedirectResponse("/followup", status_code=303)

    @app.get("/findings", response_class=HTMLResponse)
    async def findings(request: Request, page: int = 1) -> Response:
        who = signed_in(request)
        return render(request, "findings.html", user=who.user, csrf=who.session.csrf_token,
                      **findings_view(the_store(request), page=page))

    @app.get("/findings/{finding_id}", response_class=HTMLResponse)
    async def finding(request: Request, finding_id: str, shown: str = "", grant: str = "") -> Response:
        who = signed_in(request)
        store = the_store(request)
        return render(request, "finding.html", user=who.user, csrf=who.session.csrf_token,
                      can_decide=bool(who.user.roles & set(_DECIDERS)), shown=shown, grant=grant,
                      **finding_view(store, finding_id), **wellness_view(store, settings, who.user))

    @app.get("/findings/{finding_id}/preview/{sha256}.png")
    async def preview(request: Request, finding_id: str, sha256: str) -> Response:
        signed_in(request)
        return Response(masked_preview(the_store(request), settings, finding_id, sha256), media_type="image/png")

    @app.post("/findings/{finding_id}/unblur")
    async def unblur_media(request: Request, finding_id: str) -> Response:
        """Record a deliberate unblur (and count it against today's budget), then show the picture once."""
        who, form = await acting(request, *_DECIDERS)
        sha256 = form.get("media", "")
        grant = unblur(the_store(request), settings, who.user, finding_id, sha256, context=context(who),
                       go_on=form.get("go_on") == "yes")
        return RedirectResponse(f"/findings/{finding_id}?shown={sha256}&grant={grant}#media-{sha256[:16]}",
                                status_code=303)

    @app.get("/findings/{finding_id}/unblurred/{sha256}.png")
    async def unblurred(request: Request, finding_id: str, sha256: str, grant: str = "") -> Response:
        """The picture unmasked, once per unblur, while its grant holds; never cached."""
        from takedown.evidence.preview import unmasked_image

        who = signed_in(request)
        store = the_store(request)
        take_grant(store, grant, who.user, finding_id, sha256)
        rules = wellness_of(settings.console, who.user)
        try:
            data = store.blobs.read(sha256)
        except NotFoundError as exc:
            raise NotFoundError(f"the bytes of {sha256[:16]} are not in the store") from exc
        return Response(unmasked_image(data, greyscale=rules.greyscale), media_type="image/png")

    @app.get("/wellness", response_class=HTMLResponse)
    async def wellness(request: Request) -> Response:
        """Every officer's exposure today, for supervisors."""
        who = signed_in(request)
        require_role(who.user, Role.SUPERVISOR, Role.ADMIN)
        return render(request, "wellness.html", user=who.user, csrf=who.session.csrf_token,
                      team=team_exposure(the_store(request), settings), console=settings.console)

    @app.post("/findings/{finding_id}/resolve")
    async def resolve(request: Request, finding_id: str) -> Response:
        who, form = await acting(request, *_DECIDERS)
        from takedown.cases import resolve_finding
        from takedown.models import Decision

        decision = form.get("decision", "")
        if decision not in ("match", "clear"):
            raise UsageError("decide match or clear")
        resolve_finding(the_store(request), finding_id, Decision(decision), by=who.user.display_name,
                        reason=form.get("reason", ""), context=context(who))
        return RedirectResponse("/findings", status_code=303)

    @app.get("/account", response_class=HTMLResponse)
    async def account(request: Request) -> Response:
        who = signed_in(request)
        return render(request, "account.html", user=who.user, csrf=who.session.csrf_token, console=settings.console,
                      **wellness_view(the_store(request), settings, who.user))

    @app.post("/account/wellness")
    async def own_wellness(request: Request) -> Response:
        """The officer's own, stricter wellness choices (an empty field: the organisation's value)."""
        who, form = await acting(request)

        def number(name: str) -> int | None:
            value = form.get(name, "").strip()
            if not value:
                return None
            if not value.isdigit():
                raise UsageError(f"{name.replace('_', ' ')} is a whole number of at least 0")
            return int(value)

        seconds = number("unblur_seconds")
        if seconds is not None and not 1 <= seconds <= 120:
            raise UsageError("the unblur time is 1 to 120 seconds")
        store = the_store(request)
        changes = {"unblur": False if form.get("unblur") == "off" else None,
                   "greyscale": {"on": True, "off": False}.get(form.get("greyscale", "")),
                   "unblur_seconds": seconds, "daily_unblurs": number("daily_unblurs"),
                   "daily_seconds": number("daily_seconds")}
        store.put_user(store.get_user(who.user.username).model_copy(update=changes))
        store.append_custody(f"user:{who.user.username}", "wellness_changed", actor=who.user.display_name,
                             details={**context(who), **{k: "" if v is None else str(v) for k, v in changes.items()}})
        return RedirectResponse("/account", status_code=303)

    @app.post("/account/password")
    async def change_password(request: Request) -> Response:
        who, form = await acting(request)
        store = the_store(request)
        authenticate(store, who.user.username, form.get("current", ""), client="console: password change")
        if form.get("new", "") != form.get("again", ""):
            raise UsageError("the new password and its repetition differ")
        set_password(store, who.user.username, form.get("new", ""), by=who.user.display_name)
        response = RedirectResponse("/login", status_code=303)  # every session ended: sign in with the new one
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/users", response_class=HTMLResponse)
    async def users(request: Request) -> Response:
        who = signed_in(request)
        require_role(who.user, Role.ADMIN)
        return render(request, "users.html", user=who.user, csrf=who.session.csrf_token,
                      users=the_store(request).list_users(), roles=[r.value for r in Role])

    @app.post("/users")
    async def add(request: Request) -> Response:
        who, _ = await acting(request, Role.ADMIN)
        form = await request.form()
        roles = [str(r) for r in form.getlist("role")]
        add_user(the_store(request), str(form.get("username", "")), str(form.get("password", "")), roles=roles,
                 display_name=str(form.get("display_name", "")), title=str(form.get("title", "")),
                 locale=str(form.get("locale", "ko")), by=who.user.display_name)
        return RedirectResponse("/users", status_code=303)

    @app.post("/users/{username}/{action}")
    async def disable(request: Request, username: str, action: str) -> Response:
        who, form = await acting(request, Role.ADMIN)
        if action not in ("disable", "enable"):
            raise NotFoundError(f"no action {action!r}")
        if username == who.user.username:
            raise UsageError("an administrator cannot disable or enable their own account")
        set_user_disabled(the_store(request), username, disabled=action == "disable", by=who.user.display_name,
                          reason=form.get("reason", ""))
        return RedirectResponse("/users", status_code=303)

    @app.get("/settings", response_class=HTMLResponse)
    async def settings_page(request: Request) -> Response:
        """What the console and the pipeline run with, for administrators: read-only, secrets hidden."""
        from takedown.console.settings_view import settings_view

        who = signed_in(request)
        require_role(who.user, Role.ADMIN)
        return render(request, "settings.html", user=who.user, csrf=who.session.csrf_token,
                      **settings_view(settings))

    @app.get("/bundles/{bundle_id}", response_class=HTMLResponse)
    async def bundle_page(request: Request, bundle_id: str) -> Response:
        """A sealed bundle's files with their hashes, and whether it verifies now."""
        from takedown.console.evidence_views import bundle_view

        who = signed_in(request)
        return render(request, "bundle.html", user=who.user, csrf=who.session.csrf_token,
                      **bundle_view(the_store(request), settings, bundle_id))

    @app.get("/bundles/{bundle_id}/{name}")
    async def bundle_file(request: Request, bundle_id: str, name: str) -> Response:
        who = signed_in(request)
        store = the_store(request)
        path, media_type = evidence_file(store, settings, bundle_id, name)
        store.append_custody(bundle_id, "viewed", actor=who.user.display_name, details={**context(who), "file": name})
        inline = media_type in ("application/pdf", "application/json")
        return FileResponse(path, media_type=media_type, filename=name,
                            content_disposition_type="inline" if inline else "attachment")

    @app.get("/audit/{subject}", response_class=HTMLResponse)
    async def audit(request: Request, subject: str) -> Response:
        who = signed_in(request)
        if subject.startswith("user:") and subject != f"user:{who.user.username}":
            require_role(who.user, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)  # colleagues' sign-ins
        return render(request, "audit.html", user=who.user, csrf=who.session.csrf_token,
                      **audit_view(the_store(request), subject))

    from takedown.pipeline import notice_renderer

    renderer = notice_renderer(settings)  # approval and editing render a request again from its records

    async def deciding(request: Request, notice_id: str) -> tuple[SignedIn, dict[str, str], CaseStore, list[str]]:
        """The checks every decision on a request makes: session, CSRF, role, lease (taken for the decider)."""
        who, form = await acting(request, *_DECIDERS)
        store = the_store(request)
        whole = request_ids(store, notice_id)
        decide(store, who, whole)
        return who, form, store, whole

    @app.post("/notices/{notice_id}/edit")
    async def edit(request: Request, notice_id: str) -> Response:
        """Change a draft's subject, legal fields or text (what changed is recorded; an approval is withdrawn)."""
        from takedown.report.review import edit_notice

        who, form, store, _ = await deciding(request, notice_id)
        notice = store.get_notice(notice_id)
        given = {k.removeprefix("legal."): v.strip() for k, v in form.items() if k.startswith("legal.")}
        legal = {key: value for key, value in given.items() if notice.legal.get(key, "") != value}
        subject = form.get("subject")
        body = form.get("body", "").replace("\r\n", "\n")
        changes: dict[str, Any] = {"legal": legal or None,
                                   "subject": subject if subject and subject != notice.subject else None}
        if body.strip() and body != notice.body_text:
            changes |= {"body_text": body}  # the officer's own text: its HTML part is made from it
        if any(v is not None for v in changes.values()):
            edit_notice(store, notice_id, by=who.user.display_name, context=context(who), renderer=renderer, **changes)
        return RedirectResponse(f"/notices/{notice_id}", status_code=303)

    @app.post("/notices/{notice_id}/approve")
    async def approve(request: Request, notice_id: str) -> Response:
        from takedown.report.countersign import approve_with_rule

        who, form, store, whole = await deciding(request, notice_id)
        chosen = [notice_id]
        if form.get("copies") == "all":  # the request's copies in its other languages, each approved on its own
            chosen += [i for i in whole[1:] if store.get_notice(i).state is NoticeState.DRAFT]
        try:
            for one in chosen:  # under the four-eyes rule, a first approval leaves the request for a second officer
                approve_with_rule(store, one, rule=settings.console.four_eyes, username=who.user.username,
                                  by=who.user.display_name, note=form.get("note", ""), context=context(who),
                                  renderer=renderer, signer=signature_of(who.user, settings.agency))
        finally:
            leases.release(store, whole, who.user.username)
        return RedirectResponse("/next", status_code=303)  # the next request loads

    def make_transport() -> Transport:
        if transport is not None:
            return transport()
        from takedown.report.smtp import SmtpTransport

        return SmtpTransport(settings.smtp)

    async def send_chosen(request: Request, who: SignedIn, ids: list[str]) -> Response:
        """Send ``ids``; one request alone answers like any action (its error, or back to it), several with a page
        saying what became of each."""
        from takedown.console.sending import send_requests

        outcomes = await send_requests(the_store(request), settings, ids, make_transport=make_transport,
                                       actor=who.user.display_name, context=context(who))
        if len(outcomes) == 1:
            if outcomes[0].error is not None:
                raise outcomes[0].error
            return RedirectResponse(f"/notices/{ids[0]}", status_code=303)
        return render(request, "sent.html", user=who.user, csrf=who.session.csrf_token, outcomes=outcomes)

    @app.post("/notices/{notice_id}/send")
    async def send(request: Request, notice_id: str) -> Response:
        """Send the approved request (and its approved copies in other languages, unless unticked) once."""
        who, form = await acting(request, *_DECIDERS)
        if form.get("confirm") != "yes":
            raise UsageError("tick the box to confirm the recipient and the message before sending")
        store = the_store(request)
        ids = [notice_id]
        if form.get("copies") == "all":
            ids += [n.id for n in copies_of(store, store.get_notice(notice_id))
                    if n.state is NoticeState.APPROVED and store.get_delivery(n.id) is None]
        return await send_chosen(request, who, ids)

    @app.get("/send", response_class=HTMLResponse)
    async def send_page(request: Request, page: int = 1) -> Response:
        """The approved requests not yet sent, a page at a time, to send together after one confirmation."""
        who = signed_in(request)
        return render(request, "send.html", user=who.user, csrf=who.session.csrf_token,
                      can_send=bool(who.user.roles & set(_DECIDERS)), **sendable_view(the_store(request), page=page))

    @app.post("/send")
    async def send_many(request: Request) -> Response:
        who, _ = await acting(request, *_DECIDERS)
        form = await request.form()
        if form.get("confirm") != "yes":
            raise UsageError("tick the box to confirm the recipients and the messages before sending")
        ids = list(dict.fromkeys(str(v) for v in form.getlist("notice")))
        if not ids:
            raise UsageError("choose at least one request to send")
        return await send_chosen(request, who, ids)

    @app.post("/notices/{notice_id}/reject")
    async def reject(request: Request, notice_id: str) -> Response:
        from takedown.report.review import reject_notice

        who, form, store, whole = await deciding(request, notice_id)
        reject_notice(store, notice_id, by=who.user.display_name, reason=form.get("reason", ""),
                      context=context(who))
        leases.release(store, whole, who.user.username)
        return RedirectResponse("/next", status_code=303)

    from takedown.console.api import add_api

    add_api(app, settings, make_transport=make_transport)
    return app
