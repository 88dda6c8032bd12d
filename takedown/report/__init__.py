"""Notices: recipients, templates, drafting, review and transports (see ``NoticeTemplate``, ``Transport``)."""

from takedown.report.base import NoticeContext, NoticeTemplate, RenderedNotice, Transport
from takedown.report.draft import draft_notices
from takedown.report.plain import PlainTextTemplate
from takedown.report.recipients import recipients_for
from takedown.report.review import approve_notice, build_message, confirm_sent, reject_notice, send_notice
from takedown.report.transports import OutboxTransport

__all__ = [
    "NoticeContext",
    "NoticeTemplate",
    "OutboxTransport",
    "PlainTextTemplate",
    "RenderedNotice",
    "Transport",
    "approve_notice",
    "build_message",
    "confirm_sent",
    "draft_notices",
    "recipients_for",
    "reject_notice",
    "send_notice",
]
