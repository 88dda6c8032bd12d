"""Wellness: what an officer is exposed to, kept small, deliberate and counted.

Media is shown masked (pixelated, greyscale) by default; ``takedown.console.views.masked_preview`` makes those
previews. Seeing a picture unmasked is a deliberate act with rules:

- it is allowed only where the organisation allows it (``[console] unblur``) and the officer has not turned it off
  for themselves;
- each unblur is recorded before anything is shown, in the officer's own log (``user:NAME``, action ``unblurred``)
  and in the case's custody log (``media_unblurred``), with the finding, the media's SHA-256 and the session;
- it grants one look: a single-use grant that runs out after ``unblur_seconds`` (the page masks the picture again
  after that time; a reload shows it masked);
- it counts against a daily exposure budget (unblurs and seconds, in the agency's time zone). Past the budget the
  officer is asked to stop (a soft stop): unblurring again needs an explicit "continue", which is logged as over
  the budget, and supervisors see every officer's exposure.

The organisation's values (``ConsoleSettings``) are defaults; an officer may choose stricter ones for themselves
(``User.unblur``, ``greyscale``, ``unblur_seconds``, ``daily_unblurs``, ``daily_seconds``): shorter times and
smaller budgets win, greyscale is their own choice.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from takedown.errors import NotFoundError, PermissionDeniedError
from takedown.models import MediaKind, User, utcnow
from takedown.settings import ConsoleSettings, Settings
from takedown.store.base import CaseStore

__all__ = ["Exposure", "OverBudgetError", "Wellness", "exposure", "take_grant", "team_exposure", "unblur",
           "wellness_of", "wellness_view"]

_GRANT_PREFIX = "unblur:"


class OverBudgetError(PermissionDeniedError):
    """The officer has used today's exposure budget: unblurring again needs their explicit choice to continue."""


@dataclass(frozen=True)
class Wellness:
    """One officer's effective rules: the organisation's, made stricter by their own choices."""

    unblur: bool
    greyscale: bool
    unblur_seconds: int
    daily_unblurs: int
    daily_seconds: int


def wellness_of(console: ConsoleSettings, user: User) -> Wellness:
    """The rules that hold for ``user``: an own choice may only make times shorter and budgets smaller."""

    def smaller(org: int, own: int | None) -> int:
        return org if own is None else min(org, own)

    return Wellness(
        unblur=console.unblur and user.unblur is not False,
        greyscale=console.greyscale if user.greyscale is None else user.greyscale,
        unblur_seconds=smaller(console.unblur_seconds, user.unblur_seconds),
        daily_unblurs=smaller(console.daily_unblurs, user.daily_unblurs),
        daily_seconds=smaller(console.daily_seconds, user.daily_seconds),
    )


@dataclass(frozen=True)
class Exposure:
    """What one officer has seen unmasked on one day."""

    username: str
    unblurs: int
    seconds: int
    over_budget: int
    budget_unblurs: int
    budget_seconds: int

    @property
    def spent(self) -> bool:
        """Whether the day's budget is used up (either count)."""
        return self.unblurs >= self.budget_unblurs or self.seconds >= self.budget_seconds


def _day_start(settings: Settings, now: datetime) -> datetime:
    zone = ZoneInfo(settings.agency.time_zone)
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def exposure(store: CaseStore, settings: Settings, user: User, *, now: datetime | None = None) -> Exposure:
    """``user``'s unblurs and seconds shown today (the agency's day), read from their log."""
    now = now or utcnow()
    since = _day_start(settings, now)
    rules = wellness_of(settings.console, user)
    until = since + timedelta(days=1)
    events = [e for e in store.custody_log(f"user:{user.username}")
              if e.action == "unblurred" and since <= e.at < until]
    return Exposure(
        username=user.username,
        unblurs=len(events),
        seconds=sum(int(e.details.get("seconds", "0") or 0) for e in events),
        over_budget=sum(e.details.get("over_budget") == "true" for e in events),
        budget_unblurs=rules.daily_unblurs,
        budget_seconds=rules.daily_seconds,
    )


def team_exposure(store: CaseStore, settings: Settings, *, now: datetime | None = None) -> list[Exposure]:
    """Every enabled user's exposure today, the most exposed first (what a supervisor watches)."""
    rows = [exposure(store, settings, u, now=now) for u in store.list_users() if not u.disabled]
    return sorted(rows, key=lambda e: (-e.seconds, -e.unblurs, e.username))


def unblur(
    store: CaseStore,
    settings: Settings,
    user: User,
    finding_id: str,
    sha256: str,
    *,
    context: dict[str, str],
    go_on: bool = False,
    now: datetime | None = None,
) -> str:
    """Record that ``user`` unblurs one picture of a finding, and return the single-use grant to see it.

    Args:
        go_on: the officer chose to continue past today's budget (the soft stop); logged as over the budget.
        context: who asked and through which session, for the logs.

    Raises:
        PermissionDeniedError: unblurring is off for the organisation or for this user.
        OverBudgetError: today's budget is used and ``go_on`` is false.
        NotFoundError: the finding holds no picture with that SHA-256.
    """
    now = now or utcnow()
    rules = wellness_of(settings.console, user)
    if not rules.unblur:
        raise PermissionDeniedError("unblurring is turned off here: only masked previews are shown")
    finding = store.get_finding(finding_id)
    media = next((m for m in finding.media if m.sha256 == sha256), None)
    if media is None or media.kind is not MediaKind.IMAGE:
        raise NotFoundError(f"finding {finding_id} holds no picture {sha256[:16]}")
    today = exposure(store, settings, user, now=now)
    if today.spent and not go_on:
        raise OverBudgetError(f"you have seen {today.unblurs} pictures unmasked ({today.seconds} s) today, your "
                              "budget; take a break, or choose to continue (it is logged)")
    details = {**context, "finding": finding_id, "media": sha256, "seconds": str(rules.unblur_seconds),
               "over_budget": "true" if today.spent else "false"}
    store.append_custody(f"user:{user.username}", "unblurred", actor=user.display_name, at=now, details=details)
    store.append_custody(finding.case_id, "media_unblurred", actor=user.display_name, at=now, details=details)
    token = secrets.token_urlsafe(24)
    until = now + timedelta(seconds=rules.unblur_seconds)
    store.set_checkpoint(_grant_key(token), f"{user.username}|{finding_id}|{sha256}|{until.isoformat()}")
    return token


def _grant_key(token: str) -> str:
    return _GRANT_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def take_grant(store: CaseStore, token: str, user: User, finding_id: str, sha256: str, *,
               now: datetime | None = None) -> None:
    """Use the grant ``token`` once: it must be this user's, for this picture, and not run out.

    Raises:
        NotFoundError: no such grant, used already, run out, or for another user or picture (all alike).
    """
    now = now or utcnow()
    key = _grant_key(token)
    value = store.get_checkpoint(key) or ""
    holder, finding, media, until = [*value.split("|"), "", "", "", ""][:4]
    store.set_checkpoint(key, "")  # single use, whatever the outcome
    valid = (holder == user.username and finding == finding_id and media == sha256 and until
             and datetime.fromisoformat(until) > now)
    if not valid:
        raise NotFoundError("this picture is shown masked: unblur it again to see it")


def wellness_view(store: CaseStore, settings: Settings, user: User) -> dict[str, Any]:
    """The officer's own rules and today's exposure, for their pages."""
    rules = wellness_of(settings.console, user)
    today = exposure(store, settings, user)
    return {"wellness": rules, "exposure": today}
