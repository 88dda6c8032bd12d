"""The named states, decisions and levels of cases, findings and notices: plain enumerations, no models.

They live apart from ``takedown.models`` (which re-exports them) so that what only needs the names, such as the
command line's options, can import them without building any pydantic model.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CasePriority", "CaseStatus", "Decision", "FindingState", "NoticeState"]


class CaseStatus(StrEnum):
    """Whether a case is worked on.

    ``open`` cases are scanned and monitored; a ``closed`` case is finished (its records stay, nothing new is
    searched); a ``withdrawn`` case is one the victim withdrew consent for: its reference hashes are erased, its
    pending drafts withdrawn, and only what the law requires is kept (see ``takedown.cases.withdraw_case``).
    """

    OPEN = "open"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class CasePriority(StrEnum):
    """How urgent a case is: officers' lists sort by it (a named level, never a number)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Decision(StrEnum):
    """The policy's decision on a finding."""

    MATCH = "match"
    REVIEW = "review"
    CLEAR = "clear"


class FindingState(StrEnum):
    """Where a finding is in the flow."""

    FOUND = "found"
    JUDGED = "judged"
    EVIDENCED = "evidenced"
    DRAFTED = "drafted"
    APPROVED = "approved"
    SENT = "sent"
    REMOVED = "removed"
    RENOTIFIED = "renotified"
    ESCALATED = "escalated"


class NoticeState(StrEnum):
    """Where a notice is between draft and sent."""

    DRAFT = "draft"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    WITHDRAWN = "withdrawn"
