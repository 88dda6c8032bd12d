"""Notices: jurisdictions, recipients, templates, drafting, review, messages, transports and follow-up.

The extension points are ``NoticeTemplate`` and ``Transport`` (``takedown.report.base``).
"""

from takedown.report.base import NoticeContext, NoticeTemplate, RenderedNotice, Transport
from takedown.report.draft import draft_notices
from takedown.report.jurisdictions import JURISDICTIONS, Jurisdiction, get_jurisdiction, missing_fields
from takedown.report.language import SUPPORTED_LOCALES, notice_locales
from takedown.report.locale_pack import LocalePackTemplate
from takedown.report.message import build_message
from takedown.report.plain import PlainTextTemplate
from takedown.report.rdap import RdapClient, registered_domain
from takedown.report.recipients import escalation_order, recipients_for, resolve_recipients
from takedown.report.review import (
    approve_notice,
    confirm_sent,
    edit_notice,
    reject_notice,
    send_notice,
    submit_notice,
)
from takedown.report.security_txt import SecurityTxt, parse_security_txt
from takedown.report.transports import OutboxTransport

__all__ = [
    "JURISDICTIONS",
    "SUPPORTED_LOCALES",
    "Jurisdiction",
    "LocalePackTemplate",
    "NoticeContext",
    "NoticeTemplate",
    "OutboxTransport",
    "PlainTextTemplate",
    "RdapClient",
    "RenderedNotice",
    "SecurityTxt",
    "Transport",
    "approve_notice",
    "build_message",
    "confirm_sent",
    "draft_notices",
    "edit_notice",
    "escalation_order",
    "get_jurisdiction",
    "missing_fields",
    "notice_locales",
    "parse_security_txt",
    "recipients_for",
    "registered_domain",
    "reject_notice",
    "resolve_recipients",
    "send_notice",
    "submit_notice",
]
