"""Drafting: one notice per locale for a recipient, listing one or more findings, rendered by the first template
that can."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from takedown.errors import ReportError
from takedown.models import Case, EvidenceBundle, Finding, Notice, Recipient, ReminderOf
from takedown.report.base import NoticeContext, NoticeTemplate
from takedown.report.grouping import notice_items
from takedown.report.jurisdictions import deadline_for
from takedown.report.message import recipient_attachments
from takedown.report.recipients import recipients_for
from takedown.settings import AgencySettings

__all__ = ["draft_notices"]


def draft_notices(
    findings: Finding | Sequence[Finding],
    *,
    case: Case,
    agency: AgencySettings,
    templates: Sequence[NoticeTemplate],
    locales: Sequence[str],
    bundle: EvidenceBundle | None = None,
    bundles: Mapping[str, EvidenceBundle] | None = None,
    recipient: Recipient | None = None,
    revision: int = 1,
    reminder: ReminderOf | None = None,
    deadline_hours: Mapping[str, float] | None = None,
) -> list[Notice]:
    """Draft notices (state ``draft``) listing ``findings`` (one, or several in notice order), in each of ``locales``.

    Templates are tried in list order; the first whose ``locales`` include the locale renders it. ``revision``
    is 2 or more when earlier drafts of these findings were withdrawn (a redraft): the new notices get new ids.
    Each listed finding's bundle gives its PDF report and the recipient's copy of its manifest as attachments
    (``recipient_attachments``); the agency's own manifest is never attached.

    Args:
        bundle: the bundle of a single finding (as ``bundles={finding.id: bundle}``).
        bundles: each listed finding's evidence bundle, by finding id.
        recipient: who the notice goes to; default: the first finding's best email recipient.
        reminder: for a follow-up, the request it follows up: the notices say they are reminders.
        deadline_hours: the agency's re-check hours by jurisdiction (``[report] deadline_hours``): the date a
            notice says it will check again after.

    Raises:
        ReportError: no findings, no recipient could be found, an address the site declared is refused (when
            ``recipient`` is not given: see ``recipients_for``), or no template renders one of the locales.
    """
    listed = [findings] if isinstance(findings, Finding) else list(findings)
    if not listed:
        raise ReportError("a notice lists at least one finding")
    lead = listed[0]
    by_finding = dict(bundles or {})
    if bundle is not None:
        by_finding.setdefault(bundle.finding_id, bundle)
    if recipient is None:
        found = [r for r in recipients_for(lead) if r.channel == "email"]
        if not found:
            raise ReportError(f"no email recipient for {lead.candidate.url}")
        recipient = found[0]
    jurisdiction = case.jurisdiction or agency.jurisdiction
    items = notice_items(listed, by_finding)
    attachments = tuple(a for f in listed if (b := by_finding.get(f.id)) is not None
                        for a in recipient_attachments(b.artifacts))
    notices = []
    for locale in dict.fromkeys(locales):
        template = next((t for t in templates if locale in t.locales), None)
        if template is None:
            names = ", ".join(t.name for t in templates) or "(none)"
            raise ReportError(f"no template renders locale {locale!r} (templates: {names})")
        rendered = template.render(
            NoticeContext(case=case, finding=lead, recipient=recipient, agency=agency, jurisdiction=jurisdiction,
                          locale=locale, bundle=by_finding.get(lead.id), findings=tuple(listed), items=items,
                          bundles=by_finding, reminder=reminder,
                          deadline=deadline_for(jurisdiction, deadline_hours) if deadline_hours else None)
        )
        notices.append(
            Notice(
                case_id=case.id, finding_id=lead.id, items=items, recipient=recipient, jurisdiction=jurisdiction,
                locale=locale, subject=rendered.subject, body_text=rendered.body_text, body_html=rendered.body_html,
                legal=rendered.legal, template=template.name, revision=revision, attachments=attachments,
                reminder_of=reminder,
            )
        )
    return notices
