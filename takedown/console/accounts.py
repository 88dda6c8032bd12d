"""Accounts: the people who approve, their passwords, roles and login sessions.

Nothing is sent without a recorded approval by an authenticated person. This module is what authenticates: an
officer's approval in the console records the signed-in user, whose display name and title sign the notice.

- **Passwords** are hashed with argon2id (argon2-cffi's defaults: RFC 9106's low-memory profile), in the PHC
  string format, and re-hashed on the next login when those parameters change. A password has at least
  ``MIN_PASSWORD_LENGTH`` characters and does not contain the user name.
- **Throttling and lock-out**: each failed login counts; after ``MAX_FAILED_LOGINS`` in a row the account is
  locked for ``LOCKOUT``, and a login with the right password is refused until then. An unknown name costs the
  same password check as a known one, and every failure gives the same message (``AuthenticationError``), so
  neither timing nor wording says which names exist.
- **Sessions**: a random 256-bit token for the browser's cookie, kept in the store only as its SHA-256, with its
  own CSRF token. A session ends at logout, when its user's password changes or the user is disabled, after
  ``SESSION_IDLE`` without use, and ``SESSION_LIFETIME`` after login at the latest.
- **Audit**: every account event (added, password changed, disabled, enabled, login, failed login, lock-out,
  logout) goes into the hash-chained custody log under ``user:<name>``.

Needs the ``console`` extra (argon2-cffi).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from takedown.errors import (
    AuthenticationError,
    MissingDependencyError,
    NotFoundError,
    PermissionDeniedError,
    UsageError,
)
from takedown.models import LoginSession, Role, User, check_username, utcnow
from takedown.settings import AgencySettings
from takedown.store.base import CaseStore

__all__ = [
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "add_user",
    "audit_subject",
    "authenticate",
    "check_password",
    "end_session",
    "hash_password",
    "require_role",
    "session_user",
    "set_password",
    "set_user_disabled",
    "signature_of",
    "start_session",
]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
"""Longer input is refused before hashing: argon2 over megabytes would let anyone tie up the server."""
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=12)

_FAILED = "wrong user name or password, or the account is locked or disabled"


@cache
def _hasher() -> Any:
    """One PasswordHasher for the process, so its parameters never drift between calls."""
    try:
        from argon2 import PasswordHasher
    except ImportError as exc:
        raise MissingDependencyError("argon2-cffi", "console", feature="password hashing") from exc
    return PasswordHasher()


def audit_subject(username: str) -> str:
    """The custody-log subject of a user's account events."""
    return f"user:{username}"


def check_password(password: str, *, username: str) -> str:
    """``password`` if it may be used: at least ``MIN_PASSWORD_LENGTH`` characters, not only one character
    repeated, and not containing the user name.

    Raises:
        UsageError: it may not; the message says why.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UsageError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    if len(set(password)) < 4:
        raise UsageError("a password needs more than a few different characters")
    if username.lower() in password.lower():
        raise UsageError("a password must not contain the user name")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (PHC string format)."""
    return str(_hasher().hash(password))


def _verify(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """The hash an unknown name is checked against, so it costs what a known one does."""
    return hash_password(secrets.token_urlsafe(24))


def add_user(
    store: CaseStore,
    username: str,
    password: str,
    *,
    roles: Iterable[Role | str],
    display_name: str,
    title: str = "",
    locale: str = "ko",
    by: str,
) -> User:
    """Add a user who can sign in with ``password``.

    Raises:
        UsageError: the name is invalid or taken, no role or an unknown role is given, the display name is
            empty, the password may not be used (``check_password``), or nobody is named as ``by``.
    """
    if not by.strip():
        raise UsageError("adding a user names who adds them")
    try:
        check_username(username)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        wanted = frozenset(Role(r) for r in roles)
    except ValueError as exc:
        raise UsageError(f"unknown role: {exc}; roles are {', '.join(r.value for r in Role)}") from exc
    if not wanted:
        raise UsageError("a user holds at least one role")
    if not display_name.strip():
        raise UsageError("a user needs a display name: approvals are recorded and notices signed with it")
    if locale not in ("ko", "en"):
        raise UsageError(f"the console speaks ko and en, not {locale!r}")
    check_password(password, username=username)
    with store.transaction():
        try:
            store.get_user(username)
        except NotFoundError:
            pass
        else:
            raise UsageError(f"user {username!r} exists already")
        user = User(username=username, display_name=display_name.strip(), title=title.strip(), roles=wanted,
                    password_hash=hash_password(password), locale=locale, created_by=by)
        store.put_user(user)
        store.append_custody(audit_subject(username), "user_added", actor=by, details={
            "roles": ",".join(sorted(r.value for r in wanted)), "display_name": user.display_name})
    return user


def set_password(store: CaseStore, username: str, password: str, *, by: str) -> User:
    """Change a user's password, unlock the account, and end every session of the user.

    Raises:
        NotFoundError: no such user.
        UsageError: the password may not be used, or nobody is named as ``by``.
    """
    if not by.strip():
        raise UsageError("a password change names who makes it")
    check_password(password, username=username)
    now = utcnow()
    with store.transaction():
        user = store.get_user(username)
        changed = user.model_copy(update={"password_hash": hash_password(password), "password_changed_at": now,
                                          "failed_logins": 0, "locked_until": None})
        store.put_user(changed)
        ended = store.end_sessions(username, at=now)
        store.append_custody(audit_subject(username), "password_changed", actor=by,
                             details={"sessions_ended": str(ended)})
    return changed


def set_user_disabled(store: CaseStore, username: str, *, disabled: bool, by: str, reason: str = "") -> User:
    """Disable a user (they cannot sign in, and their sessions end) or enable them again.

    Raises:
        NotFoundError: no such user.
        UsageError: nobody is named, or a user would disable themselves.
    """
    if not by.strip():
        raise UsageError("disabling or enabling a user names who does it")
    if disabled and by == username:
        raise UsageError("a user cannot disable themselves")
    now = utcnow()
    with store.transaction():
        user = store.get_user(username)
        changed = user.model_copy(update={"disabled": disabled, "failed_logins": 0, "locked_until": None})
        store.put_user(changed)
        details = {"reason": reason} if reason else {}
        if disabled:
            details["sessions_ended"] = str(store.end_sessions(username, at=now))
        store.append_custody(audit_subject(username), "user_disabled" if disabled else "user_enabled", actor=by,
                             details=details or None)
    return changed


def authenticate(store: CaseStore, username: str, password: str, *, now: datetime | None = None,
                 client: str = "") -> User:
    """The user, if ``password`` is theirs and the account may sign in now; the attempt is recorded either way.

    Raises:
        AuthenticationError: the name is unknown, the password is wrong, the account is locked or disabled (the
            message is the same for each).
    """
    now = now or utcnow()
    if len(password) > MAX_PASSWORD_LENGTH or len(username) > 64:
        password = password[:MAX_PASSWORD_LENGTH]  # checked, and wrong, at the cost of any other attempt
        username = username[:64]
        _verify(_dummy_hash(), password)
        raise AuthenticationError(_FAILED)
    try:
        user = store.get_user(username)
    except NotFoundError:
        _verify(_dummy_hash(), password)
        raise AuthenticationError(_FAILED) from None
    matches = _verify(user.password_hash, password)
    locked = user.locked_until is not None and user.locked_until > now
    subject = audit_subject(username)
    details = {"client": client} if client else {}
    if user.disabled or locked or not matches:
        with store.transaction():
            if not matches and not user.disabled:
                failures = user.failed_logins + 1
                lock = now + LOCKOUT if failures >= MAX_FAILED_LOGINS else user.locked_until
                user = user.model_copy(update={"failed_logins": failures, "locked_until": lock})
                store.put_user(user)
                if failures == MAX_FAILED_LOGINS:
                    store.append_custody(subject, "account_locked", actor="takedown",
                                         details={"until": str(lock), **details})
            why = "disabled" if user.disabled else "locked" if locked else "wrong password"
            store.append_custody(subject, "login_failed", actor=username, details={"why": why, **details})
        raise AuthenticationError(_FAILED)
    update: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
    if _hasher().check_needs_rehash(user.password_hash):
        update["password_hash"] = hash_password(password)
    with store.transaction():
        user = user.model_copy(update=update)
        store.put_user(user)
        store.append_custody(subject, "login", actor=username, details=details or None)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(store: CaseStore, user: User, *, now: datetime | None = None,
                  client: str = "") -> tuple[str, LoginSession]:
    """A new session for ``user`` (just authenticated): the token for the browser's cookie, and the record kept.

    The token is returned once and never stored; the store keeps its SHA-256.
    """
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session = LoginSession(token_sha256=_token_hash(token), username=user.username,
                           csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                           expires_at=now + SESSION_LIFETIME, client=client[:200])
    store.put_session(session)
    return token, session


def session_user(store: CaseStore, token: str, *, now: datetime | None = None) -> tuple[User, LoginSession]:
    """The user and session a browser's token stands for, if the session still holds; its use is recorded.

    Raises:
        AuthenticationError: no such session, or it ended, expired, sat idle past ``SESSION_IDLE``, or belongs
            to a user who is disabled or changed password since.
    """
    now = now or utcnow()
    if not token or len(token) > 200:
        raise AuthenticationError("not signed in")
    try:
        session = store.get_session(_token_hash(token))
        user = store.get_user(session.username)
    except NotFoundError:
        raise AuthenticationError("not signed in") from None
    if (session.ended_at is not None or now >= session.expires_at or now - session.last_seen_at > SESSION_IDLE
            or user.disabled or user.password_changed_at > session.created_at):
        raise AuthenticationError("the session has ended; sign in again")
    session = session.model_copy(update={"last_seen_at": now})
    store.put_session(session)
    return user, session


def end_session(store: CaseStore, token: str, *, now: datetime | None = None) -> None:
    """End the session the token stands for (logout); an unknown or ended one is left as it is."""
    now = now or utcnow()
    try:
        session = store.get_session(_token_hash(token))
    except NotFoundError:
        return
    if session.ended_at is None:
        with store.transaction():
            store.put_session(session.model_copy(update={"ended_at": now}))
            store.append_custody(audit_subject(session.username), "logout", actor=session.username)


def signature_of(user: User, agency: AgencySettings) -> tuple[str, str]:
    """The name and title a request is signed with when ``user`` approves it: theirs, or the agency's title when the
    account has none."""
    return user.display_name, user.title or agency.signer_title


def require_role(user: User, *allowed: Role) -> None:
    """Refuse ``user`` unless they hold one of the ``allowed`` roles.

    Raises:
        PermissionDeniedError: they hold none of them.
    """
    if not user.roles & set(allowed):
        wanted = " or ".join(r.value for r in allowed)
        raise PermissionDeniedError(f"{user.username} may not do this: it needs the {wanted} role")
