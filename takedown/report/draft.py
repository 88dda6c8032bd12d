"""Drafting: one notice per locale for a finding's best recipient, rendered by the first template that can."""

from __future__ import annotations

from collections.abc import Sequence

from takedown.errors import ReportError
from takedown.models import Case, EvidenceBundle, Finding, Notice, Recipient
from takedown.report.base import NoticeContext, NoticeTemplate
from takedown.report.recipients import recipients_for
from takedown.settings import AgencySettings

__all__ = ["draft_notices"]


def draft_notices(
    finding: Finding,
    *,
    case: Case,
    agency: AgencySettings,
    templates: Sequence[NoticeTemplate],
    locales: Sequence[str],
    bundle: EvidenceBundle | None = None,
    recipient: Recipient | None = None,
    revision: int = 1,
) -> list[Notice]:
    """Draft notices (state ``draft``) for ``finding`` in each of ``locales``.

    Templates are tried in list order; the first whose ``locales`` include the locale renders it. ``revision``
    is 2 or more when the finding's earlier drafts were withdrawn (a redraft): the new notices get new ids.

    Raises:
        ReportError: no recipient could be found, an address the site declared is refused (when ``recipient`` is
            not given: see ``recipients_for``), or no template renders one of the locales.
    """
    if recipient is None:
        found = [r for r in recipients_for(finding) if r.channel == "email"]
        if not found:
            raise ReportError(f"no email recipient for {finding.candidate.url}")
        recipient = found[0]
    jurisdiction = case.jurisdiction or agency.jurisdiction
    notices = []
    for locale in dict.fromkeys(locales):
        template = next((t for t in templates if locale in t.locales), None)
        if template is None:
            names = ", ".join(t.name for t in templates) or "(none)"
            raise ReportError(f"no template renders locale {locale!r} (templates: {names})")
        rendered = template.render(
            NoticeContext(case=case, finding=finding, recipient=recipient, agency=agency,
                          jurisdiction=jurisdiction, locale=locale, bundle=bundle)
        )
        notices.append(
            Notice(
                case_id=case.id, finding_id=finding.id, recipient=recipient, jurisdiction=jurisdiction,
                locale=locale, subject=rendered.subject, body_text=rendered.body_text, body_html=rendered.body_html,
                legal=rendered.legal, template=template.name, revision=revision,
                attachments=tuple(a for a in (bundle.artifacts if bundle else ()) if a.role == "manifest"),
            )
        )
    return notices
