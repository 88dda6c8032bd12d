"""Rendering a stored notice again, so what an officer approves is what the recipient reads.

A draft is rendered once, when it is drafted. An officer may then set a legal field (``edit --set
contact_phone=...``), rewrite the subject or the body, and approve days later; the message goes out later still.
:class:`NoticeRenderer` renders the notice again from the store's records (its case, findings and evidence
bundles), the agency's settings, the officer's field edits (``Notice.legal_edits``) and a date:

- at approval (``approve_notice(..., renderer=...)``), so every part (subject, text, HTML) and ``legal`` show the
  approved fields, and approval checks them;
- at sending (``send_notice(..., renderer=...)``), so the notice is dated when it is sent and its "we will check
  again after ..." date counts from then.

Parts an officer rewrote by hand (``Notice.hand_edited``) are kept as written: a rewritten body is not replaced,
its HTML part is made from it, and every legal field must still be stated in it word for word, or approval refuses
the notice (``missing_fields`` counts the field as missing; ``IncompleteNoticeError`` names it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from takedown.errors import NotFoundError
from takedown.models import EvidenceBundle, Notice
from takedown.report.base import NoticeContext, NoticeTemplate
from takedown.report.jurisdictions import deadline_for
from takedown.report.message import recipient_attachments
from takedown.settings import AgencySettings
from takedown.store.base import CaseStore

__all__ = ["NoticeRenderer"]


class NoticeRenderer:
    """Renders stored notices again with the templates and agency settings a workflow drafts with.

    Args:
        templates: the notice templates (``build_templates()``); a notice is rendered by the one it was drafted
            with (``Notice.template``).
        agency: the agency's settings.
        deadline_hours: the agency's re-check hours by jurisdiction (``[report] deadline_hours``).
    """

    def __init__(self, templates: Sequence[NoticeTemplate], agency: AgencySettings,
                 deadline_hours: Mapping[str, float] | None = None) -> None:
        self.templates = {t.name: t for t in templates}
        self.agency = agency
        self.deadline_hours = dict(deadline_hours or {})

    def deadline(self, notice: Notice) -> timedelta | None:
        """When ``notice``'s locations are checked again after it is sent."""
        return deadline_for(notice.jurisdiction, self.deadline_hours)

    def __call__(self, store: CaseStore, notice: Notice, *, at: datetime, signer: tuple[str, str] | None = None
                 ) -> Notice:
        """``notice`` rendered again, dated ``at``, signed by ``signer`` (a name and a title) or by the officer who
        approved it (``Notice.signed_by``), else as the agency's settings say.

        A notice whose template is unknown here, or whose records are gone, is returned as it is (with a body the
        officer rewrote: its HTML part made from it, and its legal fields checked against it).
        """
        template = self.templates.get(notice.template)
        signer = signer or notice.signed_by
        context = self._context(store, notice, at=at, signer=signer) if template is not None else None
        if template is None or context is None:  # not one of ours to render: as it is, an officer's body checked
            hand = "body_text" in notice.hand_edited
            return self._checked(notice, notice.subject, notice.body_text) if hand else notice
        rendered = template.render(context)
        subject = notice.subject if "subject" in notice.hand_edited else rendered.subject
        if "body_text" in notice.hand_edited:
            updated = self._checked(notice, subject, notice.body_text, legal=rendered.legal)
        else:
            updated = notice.model_copy(update={"subject": subject, "body_text": rendered.body_text,
                                                "body_html": rendered.body_html, "legal": rendered.legal})
        # What the body lists as attached is what goes: the same selection from the same bundles.
        attachments = tuple(a for f in context.listed if (b := context.bundles.get(f.id)) is not None
                            for a in recipient_attachments(b.artifacts))
        return updated.model_copy(update={"attachments": attachments})

    def redated(self, store: CaseStore, notice: Notice, *, at: datetime) -> Notice:
        """An approved notice dated ``at`` (its sending time) instead of its approval time, when nothing else would
        change: rendered at its approval time it must give exactly the approved text, or it is returned as approved
        (the settings or templates changed since, and only what was approved is sent)."""
        if notice.approved_at is None or set(notice.hand_edited) >= {"subject", "body_text"}:
            return notice
        then = self(store, notice, at=notice.approved_at)
        if (then.subject, then.body_text, then.legal) != (notice.subject, notice.body_text, notice.legal):
            return notice
        return self(store, notice, at=at)

    def _context(self, store: CaseStore, notice: Notice, *, at: datetime, signer: tuple[str, str] | None
                 ) -> NoticeContext | None:
        try:
            case = store.get_case(notice.case_id)
            findings = tuple(store.get_finding(finding_id) for finding_id in notice.finding_ids)
        except NotFoundError:
            return None
        bundles: dict[str, EvidenceBundle] = {}
        for finding in findings:
            if finding.bundle_id:
                with contextlib.suppress(NotFoundError):  # a finding whose bundle is gone is listed without it
                    bundles[finding.id] = store.get_bundle(finding.bundle_id)
        agency = self.agency
        if signer is not None:
            agency = agency.model_copy(update={"signer": signer[0], "signer_title": signer[1]})
        return NoticeContext(
            case=case, finding=findings[0], recipient=notice.recipient, agency=agency,
            jurisdiction=notice.jurisdiction, locale=notice.locale, bundle=bundles.get(findings[0].id),
            findings=findings, items=notice.items, bundles=bundles, overrides=dict(notice.legal_edits), at=at,
            reminder=notice.reminder_of, deadline=self.deadline(notice),
        )

    @staticmethod
    def _checked(notice: Notice, subject: str, body: str, *, legal: dict[str, str] | None = None) -> Notice:
        """The notice with ``subject`` and ``body`` as written, its HTML made from that body, and its legal fields
        (``legal``, or its own, with the officer's edits): ``missing_fields`` reports those the body does not state."""
        from takedown.report.locale_pack import text_to_html

        fields = {**(legal if legal is not None else notice.legal), **notice.legal_edits}
        return notice.model_copy(update={
            "subject": subject, "body_text": body, "body_html": text_to_html(body, lang=notice.locale, title=subject),
            "legal": fields,
        })
