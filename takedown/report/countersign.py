"""The four-eyes rule: some requests need a second, different officer's approval before they can be sent.

Which ones is the agency's choice (``[console] four_eyes``): requests under a jurisdiction (``"KR"``), of a kind
(``"initial"``, ``"reminder"``), or every request (``"*"``). For those, an officer's approval is recorded as a
*first approval* (custody action ``first_approval``, naming the officer and how they signed in) and the request
stays a draft; only an approval by another user approves it, and that approval's note names the first. The
officer who gave the first approval cannot give the second, whatever name they sign with: users are compared by
their user names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from takedown.errors import IncompleteNoticeError, PermissionDeniedError
from takedown.models import Notice, NoticeState, utcnow
from takedown.report.jurisdictions import missing_fields
from takedown.report.review import approve_notice
from takedown.store.base import CaseStore

if TYPE_CHECKING:
    from takedown.report.rerender import NoticeRenderer

__all__ = ["FirstApproval", "approve_with_rule", "first_approval", "needs_countersign"]


@dataclass(frozen=True)
class FirstApproval:
    """Who gave a request its first of two approvals."""

    username: str
    display_name: str
    at: str


def needs_countersign(notice: Notice, rule: Sequence[str]) -> bool:
    """Whether ``notice`` needs two officers under ``rule`` (``[console] four_eyes``)."""
    wanted = {r.strip().casefold() for r in rule if r.strip()}
    return bool(wanted & {"*", notice.jurisdiction.casefold(), notice.kind.casefold()})


def first_approval(store: CaseStore, notice_id: str) -> FirstApproval | None:
    """The first approval a draft holds, if any (one recorded after its last state change)."""
    first = None
    for event in store.custody_log(notice_id):
        if event.action == "first_approval":
            first = FirstApproval(username=event.details.get("user", ""), display_name=event.actor,
                                  at=event.at.isoformat(timespec="minutes"))
        elif event.action in ("approved", "rejected", "edited", "withdrawn"):
            first = None
    return first


def approve_with_rule(
    store: CaseStore,
    notice_id: str,
    *,
    rule: Sequence[str],
    username: str,
    by: str,
    note: str = "",
    context: Mapping[str, str] | None = None,
    renderer: NoticeRenderer | None = None,
    signer: tuple[str, str] | None = None,
) -> Notice:
    """Approve a draft as the signed-in ``username`` (signing as ``by``), under the four-eyes ``rule``.

    ``renderer`` and ``signer`` are as ``approve_notice`` takes them: the notice is rendered again before it is
    checked, and signed by the approving officer (the second one, under the rule).

    Returns:
        The notice: approved, or, when it needs two officers and this is the first approval, still a draft.

    Raises:
        PermissionDeniedError: the officer who gave the first approval tries to give the second.
        InvalidTransitionError: the notice is not a draft.
        IncompleteNoticeError, UsageError: as ``approve_notice``.
    """
    notice = store.get_notice(notice_id)
    if not needs_countersign(notice, rule):
        return approve_notice(store, notice_id, by=by, note=note, context=context, renderer=renderer, signer=signer)
    if notice.state is not NoticeState.DRAFT:
        notice.advance(NoticeState.APPROVED, by=by)  # raises InvalidTransitionError, naming the states allowed
    first = first_approval(store, notice_id)
    if first is None:
        checked = renderer(store, notice, at=utcnow(), signer=signer) if renderer is not None else notice
        if missing := missing_fields(checked):
            raise IncompleteNoticeError(notice_id, notice.jurisdiction, missing)
        details = {**(context or {}), "user": username, **({"note": note} if note else {})}
        store.append_custody(notice_id, "first_approval", actor=by, details=details)
        return notice
    if first.username == username:
        raise PermissionDeniedError(f"you gave this request its first approval ({first.at}); a second, different "
                                    "officer must approve it too")
    second = f"countersigns the approval of {first.display_name} ({first.at})"
    return approve_notice(store, notice_id, by=by, note=f"{note}; {second}" if note else second,
                          context={**(context or {}), "first_approval": first.username}, renderer=renderer,
                          signer=signer)
