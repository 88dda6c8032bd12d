"""API tokens: how a program calls the console's REST API as one user.

- **A token** is ``td_`` followed by 43 random URL-safe characters (256 bits from ``secrets``). It is shown once,
  when it is issued (``issue_token``, ``takedown token add``); the store keeps only its SHA-256 (``ApiToken``), so
  a copy of the database holds no token that works.
- **A token acts as its user**, with the roles the user holds when it is used: an auditor's token reads, an
  officer's approves. It stops working when it is revoked, when it expires (``API_TOKEN_LIFETIME``, 90 days, unless
  issued for another time) and while its user is disabled.
- **Every issue and revocation** goes into the user's custody log (``user:<name>``: ``token_issued``,
  ``token_revoked``) with who did it; a token's last use is kept to the minute (``ApiToken.last_used_at``).
- **Refusals say nothing about why** (``AuthenticationError``, one message): an unknown, malformed, revoked or
  expired token and a disabled user read alike.

A token's public id is the first 12 hex digits of its SHA-256 (``ApiToken.id``): lists show it and revocation names
it. It says nothing about the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from takedown.console.accounts import audit_subject
from takedown.errors import AuthenticationError, NotFoundError, UsageError
from takedown.models import API_TOKEN_LIFETIME, ApiToken, User, utcnow
from takedown.store.base import CaseStore

__all__ = ["TOKEN_PREFIX", "USE_RECORDED_EVERY", "issue_token", "revoke_token", "token_hash", "token_user"]

TOKEN_PREFIX = "td_"
"""What every API token starts with, so a secret scanner (and a person) can tell one in a log or a commit."""
USE_RECORDED_EVERY = timedelta(minutes=1)
"""A token's ``last_used_at`` is written at most this often, so a busy program does not write on every call."""

_TOKEN = re.compile(r"td_[A-Za-z0-9_-]{43}")
_FAILED = "a valid API token is needed: send 'Authorization: Bearer td_...'"
_MAX_DAYS = 366


def token_hash(token: str) -> str:
    """The SHA-256 (hex) the store keeps of ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(store: CaseStore, username: str, name: str, *, by: str, days: int | None = API_TOKEN_LIFETIME.days,
                now: datetime | None = None) -> str:
    """Issue an API token for ``username`` and return it: the only time it is ever shown.

    Args:
        name: what the token is for (shown in lists, recorded), at most 100 characters.
        by: who issues it (recorded).
        days: how long it holds, 1 to 366; ``None``: until it is revoked.

    Raises:
        NotFoundError: no such user.
        UsageError: nobody is named as ``by``, the name is empty or too long, ``days`` is out of range, the user is
            disabled, or they hold a live token of that name already.
    """
    if not by.strip():
        raise UsageError("issuing an API token names who issues it")
    name = name.strip()
    if not name or len(name) > 100:
        raise UsageError("an API token needs a name of 1 to 100 characters: what it is for")
    if days is not None and not 1 <= days <= _MAX_DAYS:
        raise UsageError(f"an API token holds 1 to {_MAX_DAYS} days (or until it is revoked)")
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction():
        user = store.get_user(username)
        if user.disabled:
            raise UsageError(f"user {username!r} is disabled; enable them before issuing a token")
        if any(t.name == name and _live(t, now) for t in store.list_api_tokens(username)):
            raise UsageError(f"{username} holds a live API token named {name!r} already; revoke it or choose "
                             "another name")
        record = ApiToken(token_sha256=token_hash(token), username=username, name=name, created_at=now,
                          expires_at=None if days is None else now + timedelta(days=days), created_by=by.strip())
        store.put_api_token(record)
        store.append_custody(audit_subject(username), "token_issued", actor=by.strip(), details={
            "token": record.id, "name": name,
            "expires": record.expires_at.isoformat(timespec="seconds") if record.expires_at else "never"})
    return token


def _live(token: ApiToken, now: datetime) -> bool:
    return token.revoked_at is None and (token.expires_at is None or now < token.expires_at)


def token_user(store: CaseStore, token: str, *, now: datetime | None = None) -> tuple[User, ApiToken]:
    """The user an API token stands for, and its record, if it holds now; its use is recorded (to the minute).

    Raises:
        AuthenticationError: the token is malformed or unknown, revoked or expired, or its user is disabled (the
            message is the same for each).
    """
    now = now or utcnow()
    if not _TOKEN.fullmatch(token):
        raise AuthenticationError(_FAILED)
    digest = token_hash(token)
    try:
        record = store.get_api_token(digest)
        user = store.get_user(record.username)
    except NotFoundError:
        raise AuthenticationError(_FAILED) from None
    # Found by its hash, so the comparison is a formality; made in constant time all the same.
    if not hmac.compare_digest(record.token_sha256, digest) or not _live(record, now) or user.disabled:
        raise AuthenticationError(_FAILED)
    if record.last_used_at is None or now - record.last_used_at >= USE_RECORDED_EVERY:
        record = record.model_copy(update={"last_used_at": now})
        store.put_api_token(record)
    return user, record


def revoke_token(store: CaseStore, which: str, *, by: str, username: str | None = None,
                 now: datetime | None = None) -> ApiToken:
    """Revoke the live API token ``which`` names: its id (or a prefix of it, at least 6 hex digits) or its name.

    Args:
        username: only this user's tokens (to tell apart two users' tokens of one name).

    Raises:
        NotFoundError: no live token has that id or name.
        UsageError: nobody is named as ``by``, ``which`` is empty, or it names several live tokens (they are listed).
    """
    if not by.strip():
        raise UsageError("revoking an API token names who revokes it")
    which = which.strip()
    if not which:
        raise UsageError("name the token to revoke: its id (takedown token list shows it) or its name")
    now = now or utcnow()
    with store.transaction():
        live = [t for t in store.list_api_tokens(username) if _live(t, now)]
        by_id = [t for t in live if len(which) >= 6 and t.token_sha256.startswith(which.lower())]
        found = by_id or [t for t in live if t.name == which]
        if not found:
            raise NotFoundError(f"no live API token {which!r}" + (f" of {username}" if username else ""))
        if len(found) > 1:
            shown = ", ".join(f"{t.id} ({t.username}: {t.name})" for t in found[:5])
            raise UsageError(f"{which!r} could be any of these tokens: {shown}; give its id")
        revoked = found[0].model_copy(update={"revoked_at": now})
        store.put_api_token(revoked)
        store.append_custody(audit_subject(revoked.username), "token_revoked", actor=by.strip(),
                             details={"token": revoked.id, "name": revoked.name})
    return revoked
