"""Notices: jurisdictions, recipients, templates, drafting, review, messages, transports and follow-up.

The extension points are ``NoticeTemplate`` and ``Transport`` (``takedown.report.base``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown._lazy import lazy_exports

if TYPE_CHECKING:
    from takedown.report.base import (
        NoticeContext,
        NoticeTemplate,
        RenderedNotice,
        Transport,
    )
    from takedown.report.draft import (
        draft_notices,
    )
    from takedown.report.jurisdictions import (
        JURISDICTIONS,
        Jurisdiction,
        get_jurisdiction,
        missing_fields,
    )
    from takedown.report.language import (
        SUPPORTED_LOCALES,
        notice_locales,
    )
    from takedown.report.locale_pack import (
        LocalePackTemplate,
    )
    from takedown.report.message import (
        build_message,
    )
    from takedown.report.plain import (
        PlainTextTemplate,
    )
    from takedown.report.rdap import (
        RdapClient,
        registered_domain,
    )
    from takedown.report.recipients import (
        escalation_order,
        recipients_for,
        resolve_recipients,
    )
    from takedown.report.review import (
        approve_notice,
        confirm_sent,
        edit_notice,
        reject_notice,
        send_notice,
        submit_notice,
    )
    from takedown.report.security_txt import (
        SecurityTxt,
        parse_security_txt,
    )
    from takedown.report.transports import (
        OutboxTransport,
    )

_LAZY: dict[str, str] = {
    "JURISDICTIONS": "takedown.report.jurisdictions",
    "Jurisdiction": "takedown.report.jurisdictions",
    "LocalePackTemplate": "takedown.report.locale_pack",
    "NoticeContext": "takedown.report.base",
    "NoticeTemplate": "takedown.report.base",
    "OutboxTransport": "takedown.report.transports",
    "PlainTextTemplate": "takedown.report.plain",
    "RdapClient": "takedown.report.rdap",
    "RenderedNotice": "takedown.report.base",
    "SUPPORTED_LOCALES": "takedown.report.language",
    "SecurityTxt": "takedown.report.security_txt",
    "Transport": "takedown.report.base",
    "approve_notice": "takedown.report.review",
    "build_message": "takedown.report.message",
    "confirm_sent": "takedown.report.review",
    "draft_notices": "takedown.report.draft",
    "edit_notice": "takedown.report.review",
    "escalation_order": "takedown.report.recipients",
    "get_jurisdiction": "takedown.report.jurisdictions",
    "missing_fields": "takedown.report.jurisdictions",
    "notice_locales": "takedown.report.language",
    "parse_security_txt": "takedown.report.security_txt",
    "recipients_for": "takedown.report.recipients",
    "registered_domain": "takedown.report.rdap",
    "reject_notice": "takedown.report.review",
    "resolve_recipients": "takedown.report.recipients",
    "send_notice": "takedown.report.review",
    "submit_notice": "takedown.report.review",
}
"""Where each name lives: imported on first use, so importing one module of the package stays light."""

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
