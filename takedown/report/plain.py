"""Plain-text notices from the locale packs (sandboxed Jinja2 templates in ``takedown/locales/<tag>/``)."""

from __future__ import annotations

from typing import ClassVar
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from takedown.errors import ReportError
from takedown.locales import available_locales, read_template
from takedown.report.base import NoticeContext, RenderedNotice

__all__ = ["LEGAL_BASES", "PlainTextTemplate"]

LEGAL_BASES: dict[str, str] = {
    # Sources: see DESIGN.md's table; the report issue replaces this with the jurisdiction registry.
    "KR": "Telecommunications Business Act Art. 22-5; Enforcement Decree Art. 30-5",
    "US": "TAKE IT DOWN Act (2025), notice-and-removal",
    "EU": "Digital Services Act, Art. 16",
    "UK": "Online Safety Act 2023",
    "AU": "Online Safety Act 2021, ss 77-78",
    "JP": "Act on Prevention of Victimization from Provision of Private Sexual Image Records (2014), Art. 4",
}
_IDENTIFICATION = {
    "en": "illegally filmed or distributed intimate material (matched to the victim's reference media)",
    "ko": "불법촬영물등 (피해자 원본 영상물과 해시 대조로 일치 확인)",
}


class PlainTextTemplate:
    """Renders a plain-text notice and subject in each locale that ships ``notice.txt.j2``."""

    name: ClassVar[str] = "plain_text"

    def __init__(self) -> None:
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

    @property
    def locales(self) -> frozenset[str]:
        """The locales with a notice template."""
        return available_locales()

    def render(self, context: NoticeContext) -> RenderedNotice:
        """Render the subject and body for ``context.locale``.

        Raises:
            ReportError: no template for the locale, or the template failed.
        """
        if context.locale not in self.locales:
            raise ReportError(
                f"no notice template for locale {context.locale!r}; available: {', '.join(sorted(self.locales))}",
                plugin=self.name,
            )
        zone = ZoneInfo(context.agency.time_zone)
        finding = context.finding
        detected = finding.candidate.found_at.astimezone(zone)
        legal_basis = LEGAL_BASES.get(context.jurisdiction, "DMCA 17 U.S.C. 512(c)(3) (closest general template)")
        values = {
            "agency": context.agency.model_dump(),
            "case_ref": f"{context.case.id}/{finding.id}" if len(context.listed) == 1 else context.case.id,
            "site": finding.candidate.site,
            "recipient_name": context.recipient.name,
            "urls": list(dict.fromkeys(
                url for f in context.listed for url in (f.candidate.url, *(m.url for m in f.media))
            )),
            "identification": _IDENTIFICATION.get(context.locale, _IDENTIFICATION["en"]),
            "detected_at": detected.strftime("%Y-%m-%d %H:%M %Z"),
            "legal_basis": legal_basis,
        }
        try:
            subject = self._env.from_string(read_template(context.locale, "subject.txt.j2")).render(values)
            body = self._env.from_string(read_template(context.locale, "notice.txt.j2")).render(values)
        except TemplateError as exc:
            raise ReportError(f"template for {context.locale} failed: {exc}", plugin=self.name) from exc
        return RenderedNotice(
            subject=" ".join(subject.split()),
            body_text=body,
            legal={"legal_basis": legal_basis, "urls": " ".join(values["urls"]), "signer": context.agency.signer},
        )
