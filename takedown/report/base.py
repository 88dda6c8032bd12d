"""The report extension points: notice templates (what a deletion request says) and transports (how it goes)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from takedown.models import (
    Case,
    Delivery,
    EvidenceBundle,
    Finding,
    NoticeItem,
    OutgoingMessage,
    Recipient,
    ReminderOf,
)
from takedown.settings import AgencySettings

__all__ = ["NoticeContext", "NoticeTemplate", "RenderedNotice", "Transport"]


class NoticeContext(BaseModel):
    """Everything a template may use to render one notice.

    A notice lists one or more locations: ``items`` (with ``findings`` and ``bundles`` behind them, in the same
    order). ``finding`` and ``bundle`` are the first; a template that lists only them renders a notice approval
    refuses when it lists more (its body must state every listed URL).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    case: Case
    finding: Finding
    recipient: Recipient
    agency: AgencySettings
    jurisdiction: str
    locale: str
    bundle: EvidenceBundle | None = None
    findings: tuple[Finding, ...] = Field(default=(), description="every listed finding, in order; () means finding")
    items: tuple[NoticeItem, ...] = Field(default=(), description="what the notice lists of each finding")
    bundles: dict[str, EvidenceBundle] = Field(default_factory=dict, description="finding id -> its bundle")
    overrides: dict[str, str] = Field(
        default_factory=dict,
        description="legal fields an officer set (FIELD_KEYS): a template states these values instead of its own",
    )
    at: AwareDatetime | None = Field(default=None, description="when the notice is dated; None: the template's clock")
    reminder: ReminderOf | None = Field(default=None, description="for a reminder: the request it follows up")
    deadline: timedelta | None = Field(
        default=None, description="when the locations are checked again after sending; None: the jurisdiction's"
    )

    @property
    def listed(self) -> tuple[Finding, ...]:
        """Every listed finding, in order (``finding`` alone for a context built without ``findings``)."""
        return self.findings or (self.finding,)


class RenderedNotice(BaseModel):
    """A template's output: subject, bodies, and the legal fields it filled in."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    subject: str
    body_text: str
    body_html: str | None = None
    legal: dict[str, str] = Field(default_factory=dict)


@runtime_checkable
class NoticeTemplate(Protocol):
    """Renders the subject and body of a deletion request in one or more languages."""

    name: ClassVar[str]

    @property
    def locales(self) -> frozenset[str]:
        """The locales (BCP 47 tags, e.g. ``ko``, ``zh-Hans``) this template can render."""
        ...

    def render(self, context: NoticeContext) -> RenderedNotice:
        """Render a notice for ``context``.

        Raises:
            ReportError: the template cannot render this context (e.g. an unsupported locale).
        """
        ...


@runtime_checkable
class Transport(Protocol):
    """Hands an approved message to the outside world (SMTP, an outbox folder, a capture list in tests)."""

    name: ClassVar[str]

    def send(self, message: OutgoingMessage) -> Delivery:
        """Send ``message`` once and say so.

        Raises:
            DeliveryError: the message could not be sent.
        """
        ...

    def close(self) -> None:
        """Release connections; the transport is not used afterwards."""
        ...
