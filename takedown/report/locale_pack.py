"""Deletion requests from the locale packs: one subject and body per language and jurisdiction.

A locale pack is a folder ``takedown/locales/<tag>/`` holding

- ``strings.toml``: labels, material type names, date formats, and the sentences a notice states (per jurisdiction
  under ``[jurisdictions.<CODE>]``). Every value is a Jinja2 snippet, rendered in the sandbox with the notice's
  values, so a statement can name the agency or the site;
- ``subject.<CODE>.txt.j2`` and ``body.<CODE>.txt.j2`` for each jurisdiction code (``KR``, ``US``, ``EU``, ``UK``,
  ``AU``, ``JP``, ``OTHER``), which may extend or include other files of the same folder (``body.base.txt.j2``).

A locale is available when its folder has ``strings.toml``, ``subject.OTHER.txt.j2`` and ``body.OTHER.txt.j2``.
An agency may pass an ``overrides`` folder with the same layout: a file there replaces the shipped file of the same
name (``strings.toml`` is merged key by key), and a folder for a new tag adds a locale. Everything is rendered in
Jinja2's sandbox with ``StrictUndefined``; page-derived values (titles, site names, URLs) are passed in as values,
never as template source, and are stripped of control characters first.

``RenderedNotice.legal`` holds ``jurisdiction``, ``legal_basis`` and every field the jurisdiction requires (see
``takedown.report.jurisdictions``). A field is filled only when the rendered body states its value verbatim; a
value the agency settings lack (an empty registration number for KR) is left empty, so approval can refuse the
notice instead of sending an incomplete one.
"""

from __future__ import annotations

import functools
import html
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from itertools import groupby
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from babel import UnknownLocaleError
from babel.dates import format_date, format_time, get_timezone_gmt
from jinja2 import ChoiceLoader, FileSystemLoader, FunctionLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict

from takedown.errors import ReportError, UsageError
from takedown.models import EvidenceBundle, Finding, ReminderOf, utcnow
from takedown.report.base import NoticeContext, RenderedNotice
from takedown.report.jurisdictions import FIELD_KEYS, Jurisdiction, get_jurisdiction
from takedown.report.message import attachment_name, recipient_attachments
from takedown.settings import AgencySettings

__all__ = ["MATERIAL_TYPES", "LocalePackTemplate", "PackReview", "one_line", "pack_review", "text_to_html"]

_PACKAGE = "takedown.locales"
_REQUIRED_FILES = ("strings.toml", "subject.OTHER.txt.j2", "body.OTHER.txt.j2")
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_TITLE_LIMIT = 200

MATERIAL_TYPES: Mapping[str, str] = MappingProxyType({
    "illegally_filmed": "illegally_filmed",
    "edited_synthesised": "edited_synthesised",
    "edited_synthesized": "edited_synthesised",
    "synthetic": "edited_synthesised",
    "deepfake": "edited_synthesised",
    "child_sexual_exploitation": "child_sexual_exploitation",
    "csam": "child_sexual_exploitation",
})
"""Accepted values of ``Candidate.metadata["material_type"]`` and the material type each one means."""

_AGENCY_FIELDS: Mapping[str, str] = MappingProxyType({
    "requester": "name",
    "requester_registration": "registration_number",
    "contact_email": "email",
    "contact_phone": "phone",
})
"""Legal fields that are the agency's own details: an officer's value for one replaces that detail everywhere."""

# Control and format characters (CR, LF, tabs, bidi overrides, zero-width marks) and line/paragraph separators.
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})
_INVISIBLE = frozenset({"Cf"})


def one_line(value: str) -> str:
    """``value`` as one line: control characters and line breaks become spaces, format characters (bidi overrides,
    zero-width marks) are removed, and runs of whitespace collapse to one space.
    """
    kept = []
    for char in value:
        category = unicodedata.category(char)
        if category in _LINE_BREAKING:
            kept.append(" ")
        elif category not in _INVISIBLE:
            kept.append(char)
    return " ".join("".join(kept).split())


def _clean_url(url: str) -> str:
    """A URL that stays one token on one line: whitespace, control and format characters are percent-encoded."""

    def encode(char: str) -> str:
        if char.isspace() or unicodedata.category(char) in _LINE_BREAKING | _INVISIBLE:
            return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        return char

    return "".join(encode(c) for c in url.strip())


def _title(value: str) -> str:
    title = one_line(value)
    return title if len(title) <= _TITLE_LIMIT else title[: _TITLE_LIMIT - 1].rstrip() + "…"


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``extra``, tables merged key by key."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def _normalise_body(text: str) -> str:
    """Trailing blanks removed, at most one blank line in a row, and exactly one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


_LIST_ITEM = re.compile(r"^\s*[-•]\s+(?P<item>.*)$")


def text_to_html(text: str, *, lang: str, title: str) -> str:
    """A minimal HTML document with the same content as ``text``: paragraphs, and ``<ul>`` lists for ``- item`` lines.

    Every piece of text is escaped; nothing in ``text`` becomes markup or a link.
    """
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(lang)}">',
        f'<head><meta charset="utf-8"><title>{html.escape(title)}</title></head>',
        "<body>",
    ]
    for block in re.split(r"\n\s*\n", text.strip()):
        # Consecutive "- item" lines form a list; other consecutive lines a paragraph.
        for is_item, group in groupby(block.split("\n"), key=lambda line: _LIST_ITEM.match(line) is not None):
            lines = list(group)
            if is_item:
                items = (html.escape(_LIST_ITEM.sub(r"\g<item>", line)) for line in lines)
                parts.append("<ul>\n" + "\n".join(f"<li>{item}</li>" for item in items) + "\n</ul>")
            else:
                parts.append("<p>" + "<br>\n".join(html.escape(line.strip()) for line in lines) + "</p>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


class PackReview(BaseModel):
    """Who reviewed a shipped language pack (``[pack]`` in its ``strings.toml``), so officers know how far to trust
    its wording: a pack without a native-speaking lawyer's review is marked so in ``review`` and the console."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    language: str = ""
    native_review: bool = False
    reviewed_by: str = ""
    reviewed_on: str = ""
    note: str = ""

    def describe(self) -> str:
        """One line for an officer."""
        if self.native_review:
            return f"{self.language}: reviewed by {self.reviewed_by} on {self.reviewed_on}"
        return f"{self.language}: not reviewed by a native speaker ({self.note})" if self.note else (
            f"{self.language}: not reviewed by a native speaker")


@functools.cache
def pack_review(locale: str) -> PackReview | None:
    """The review record of the shipped pack for ``locale``, or ``None`` when no pack ships for it (read once per
    process: shipped packs do not change while it runs)."""
    try:
        data = (resources.files(_PACKAGE) / locale / "strings.toml").read_bytes()
        table = tomllib.loads(data.decode("utf-8")).get("pack", {})
    except (OSError, ValueError):
        return None
    return PackReview.model_validate({"language": locale, **table}) if isinstance(table, dict) else None


def _bundle_of(context: NoticeContext, finding_id: str) -> EvidenceBundle | None:
    bundle = context.bundles.get(finding_id)
    if bundle is None and context.bundle is not None and context.bundle.finding_id == finding_id:
        return context.bundle
    return bundle


def _locations(context: NoticeContext) -> tuple[list[dict[str, Any]], list[str]]:
    """What the body lists: each finding of its own with its title, media files (URL and SHA-256) and evidence
    bundle, and under it the pages that also show its media; and every URL listed, in order, once."""
    items = {item.finding_id: item for item in context.items}
    listed = context.listed
    ids = {f.id for f in listed}
    locations: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    urls: list[str] = []

    def media_of(finding: Finding) -> list[dict[str, str]]:
        item = items.get(finding.id)
        pairs = list(zip(item.media, item.sha256, strict=False)) if item is not None else [
            (m.url, m.sha256) for m in finding.media]
        out = []
        for url, sha in pairs:
            clean = _clean_url(url)
            if clean not in seen:
                seen.add(clean)
                urls.append(clean)
                out.append({"url": clean, "sha256": sha})
        return out

    for finding in listed:
        page = _clean_url(finding.candidate.url)
        if page not in seen:
            seen.add(page)
            urls.append(page)
        bundle = _bundle_of(context, finding.id)
        entry = {"url": page, "title": _title(finding.candidate.title), "media": media_of(finding),
                 "bundle": bundle.id if bundle is not None else "", "also": []}
        canonical = finding.canonical_id
        if canonical in ids and canonical in by_id:
            by_id[canonical]["also"].append(entry)
        else:
            locations.append(entry)
        by_id[finding.id] = entry
    return locations, urls


class LocalePackTemplate:
    """Renders deletion requests from the shipped locale packs, optionally overridden by an agency folder.

    Args:
        overrides: a folder laid out like ``takedown/locales`` (``<tag>/body.KR.txt.j2``, ``<tag>/strings.toml``,
            ...) whose files take precedence over the shipped ones; read when the template is built (the set of
            locales) and when a file changes (template sources).
        clock: the current time, for the notice's date and its re-check date (tests pass a fixed one).

    Raises:
        UsageError: ``overrides`` is given but is not a folder.
    """

    name: ClassVar[str] = "locale_pack"

    def __init__(self, *, overrides: Path | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        if overrides is not None and not Path(overrides).is_dir():
            raise UsageError(f"locale pack overrides {overrides} is not a folder")
        self._overrides = Path(overrides) if overrides is not None else None
        self._clock = clock
        self._package = resources.files(_PACKAGE)
        self._envs: dict[str, SandboxedEnvironment] = {}
        tags = {p.name for p in self._package.iterdir() if p.is_dir() and _TAG.match(p.name)}
        if self._overrides is not None:
            tags |= {p.name for p in self._overrides.iterdir() if p.is_dir() and _TAG.match(p.name)}
        self._locales = frozenset(t for t in tags if all(self._has(t, name) for name in _REQUIRED_FILES))

    @property
    def locales(self) -> frozenset[str]:
        """The locales whose pack has strings and ``OTHER`` templates, shipped or in the overrides folder."""
        return self._locales

    # -- files ---------------------------------------------------------------------------------------------------

    def _override_file(self, locale: str, name: str) -> Path | None:
        if self._overrides is None:
            return None
        path = self._overrides / locale / name
        return path if path.is_file() else None

    def _package_file(self, locale: str, name: str) -> Traversable | None:
        resource = self._package / locale / name
        return resource if resource.is_file() else None

    def _has(self, locale: str, name: str) -> bool:
        return self._override_file(locale, name) is not None or self._package_file(locale, name) is not None

    def _env(self, locale: str) -> SandboxedEnvironment:
        """The sandboxed environment of one locale: override folder first, then the shipped pack."""
        env = self._envs.get(locale)
        if env is not None:
            return env

        def shipped(name: str) -> tuple[str, str, Callable[[], bool]] | None:
            if "/" in name or "\\" in name or name.startswith("."):
                return None
            resource = self._package_file(locale, name)
            if resource is None:
                return None
            return resource.read_text(encoding="utf-8"), f"takedown/locales/{locale}/{name}", lambda: True

        loaders: list[Any] = []
        if self._overrides is not None:
            loaders.append(FileSystemLoader(self._overrides / locale, encoding="utf-8"))
        loaders.append(FunctionLoader(shipped))
        env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )
        self._envs[locale] = env
        return env

    def _strings(self, locale: str) -> dict[str, Any]:
        """The locale's ``strings.toml``, with the override's keys merged over the shipped ones."""
        data: dict[str, Any] = {}
        sources: list[tuple[str, str]] = []
        shipped = self._package_file(locale, "strings.toml")
        if shipped is not None:
            sources.append((f"takedown/locales/{locale}/strings.toml", shipped.read_text(encoding="utf-8")))
        override = self._override_file(locale, "strings.toml")
        if override is not None:
            try:
                sources.append((str(override), override.read_text(encoding="utf-8")))
            except OSError as exc:
                raise ReportError(f"cannot read {override}: {exc}", plugin=self.name) from exc
        for where, text in sources:
            try:
                data = _merge(data, tomllib.loads(text))
            except tomllib.TOMLDecodeError as exc:
                raise ReportError(f"{where} is not valid TOML: {exc}", plugin=self.name) from exc
        return data

    def _table(self, strings: Mapping[str, Any], key: str, locale: str) -> dict[str, Any]:
        table = strings.get(key)
        if not isinstance(table, dict):
            raise ReportError(f"strings.toml of {locale!r} has no [{key}] table", plugin=self.name)
        return table

    # -- rendering -----------------------------------------------------------------------------------------------

    def render(self, context: NoticeContext) -> RenderedNotice:
        """Render the subject, plain-text body and HTML body for ``context.locale`` and ``context.jurisdiction``.

        The jurisdiction's ``subject.<CODE>``/``body.<CODE>`` templates are used, or the ``OTHER`` ones where the
        pack has none for it; an unknown jurisdiction code renders as ``OTHER``.

        Returns:
            A one-line subject, the body, an escaped HTML rendering of it, and ``legal``: ``jurisdiction``,
            ``legal_basis`` and each required field the body states (empty where the agency settings lack it).

        Raises:
            ReportError: the locale has no pack, the jurisdiction is blank, or a template or string failed
                (including a sandbox violation in an override).
        """
        if context.locale not in self._locales:
            raise ReportError(
                f"no locale pack for {context.locale!r}; available: {', '.join(sorted(self._locales))}",
                plugin=self.name,
            )
        try:
            jurisdiction = get_jurisdiction(context.jurisdiction)
        except UsageError as exc:
            raise ReportError(str(exc), plugin=self.name) from exc
        try:
            return self._render(context, jurisdiction)
        except TemplateError as exc:  # includes jinja2's SecurityError from the sandbox
            raise ReportError(
                f"locale pack {context.locale}/{jurisdiction.code} failed: {type(exc).__name__}: {exc}",
                plugin=self.name,
            ) from exc

    def _as_reminder(
        self, env: SandboxedEnvironment, strings: Mapping[str, Any], locale: str, values: Mapping[str, Any],
        reminder: ReminderOf, when: Callable[[datetime], str], subject: str, body: str,
    ) -> tuple[str, str]:
        """The subject with the pack's reminder prefix, and the body after the pack's reminder paragraph, which names
        the first request's date and Message-ID (an escalation's paragraph says the site did not act)."""
        table = self._table(strings, "reminder", locale)
        key = "escalation_intro" if reminder.escalated else "intro"
        for needed in ("subject", key):
            if needed not in table:
                raise ReportError(f"strings.toml of {locale!r} has no [reminder] {needed}", plugin=self.name)
        facts = {**values, "n": reminder.number, "first_sent": when(reminder.first_sent_at),
                 "message_id": one_line(reminder.first_message_id), "checked": values["dated"]}
        prefix = one_line(env.from_string(str(table["subject"])).render(facts))
        intro = one_line(env.from_string(str(table[key])).render(facts))
        return f"{prefix} {subject}", _normalise_body(f"{intro}\n\n{body}")

    def _render(self, context: NoticeContext, jurisdiction: Jurisdiction) -> RenderedNotice:
        locale = context.locale
        env = self._env(locale)
        strings = self._strings(locale)
        code = jurisdiction.code
        finding = context.finding
        candidate = finding.candidate
        agency_settings = context.agency

        zone = ZoneInfo(agency_settings.time_zone)
        babel_locale = locale.replace("-", "_")
        formats = strings.get("formats", {})

        def when(moment: datetime) -> str:
            local = moment.astimezone(zone)
            try:
                parts = {
                    "date": format_date(local, format=formats.get("date", "long"), locale=babel_locale),
                    "time": format_time(local, format=formats.get("time", "HH:mm"), tzinfo=zone, locale=babel_locale),
                    "zone": get_timezone_gmt(local, width="long", locale=babel_locale),
                }
            except (UnknownLocaleError, ValueError, TypeError) as exc:  # Babel: unknown locale or a bad pattern
                raise ReportError(f"cannot format dates for {locale!r}: {exc}", plugin=self.name) from exc
            pattern = formats.get("datetime", "{{ date }} {{ time }} ({{ zone }})")
            return one_line(env.from_string(pattern).render(parts))

        raw_material = candidate.metadata.get("material_type", "illegally_filmed").strip().lower()
        material_code = MATERIAL_TYPES.get(raw_material)
        if material_code is None:
            raise ReportError(
                f"unknown material_type {raw_material!r} in the candidate's metadata; "
                f"expected one of {', '.join(sorted(set(MATERIAL_TYPES.values())))}",
                plugin=self.name,
            )
        kr_material = strings.get("kr_material", {}).get(material_code, {})  # what KR requests call the material
        material_names = self._table(strings, "material_types", locale)
        if material_code not in material_names:
            raise ReportError(f"strings.toml of {locale!r} does not name {material_code!r}", plugin=self.name)
        agency = {
            key: one_line(str(value))
            for key, value in agency_settings.model_dump(
                include={"name", "registration_number", "email", "phone", "address", "signer", "signer_title"}
            ).items()
        }
        if agency["signer_title"] == AgencySettings.model_fields["signer_title"].default:  # the English default
            labels = self._table(strings, "labels", locale)
            agency["signer_title"] = one_line(str(labels.get("default_signer_title", agency["signer_title"])))
        overrides = {key: one_line(value) for key, value in context.overrides.items() if key in FIELD_KEYS}
        # An officer's edit of a field the agency's details give changes it everywhere the notice states it.
        agency.update({field: overrides[key] for key, field in _AGENCY_FIELDS.items() if key in overrides})
        locations, urls = _locations(context)
        now = context.at or self._clock()
        listed = context.listed
        attached = [a for f in listed if (b := _bundle_of(context, f.id)) is not None
                    for a in recipient_attachments(b.artifacts)]  # what draft_notices attaches
        attachments = [
            {"name": attachment_name(a, attached), "path": a.path, "sha256": a.sha256, "role": a.role}
            for a in attached
        ]
        values: dict[str, Any] = {
            "locale": locale,
            "jurisdiction": {
                "code": code, "name": jurisdiction.name, "legal_basis": jurisdiction.legal_basis,
                "deadline_text": jurisdiction.deadline_text,
            },
            "agency": agency,
            "recipient_name": one_line(context.recipient.name),
            "recipient_address": one_line(context.recipient.address),
            "site": one_line(candidate.site),
            "title": _title(candidate.title),
            "urls": urls,
            "locations": locations,
            "page_url": urls[0],
            "media_count": sum(len(f.media) for f in listed),
            "page_count": len(listed),
            "searched": any(f.candidate.query is not None for f in listed),
            "case_ref": f"{context.case.id}/{finding.id}" if len(listed) == 1 else context.case.id,
            "dated": when(now),
            "detected_at": when(min(f.candidate.found_at for f in listed)),
            "recheck_at": when(now + recheck) if (recheck := context.deadline or jurisdiction.deadline) else "",
            "material_code": material_code,
            "material_type": one_line(str(material_names[material_code])),
            **{f"kr_{key}": one_line(str(kr_material[key])) for key in ("subject", "object", "statement")
               if key in kr_material},
            "attachments": attachments,
            "s": self._table(strings, "labels", locale),
        }
        signer = ", ".join(p for p in (agency["signer"], agency["signer_title"]) if p)
        values.update({
            "requester": agency["name"],
            "requester_registration": agency["registration_number"],
            "contact_email": agency["email"],
            "contact_phone": agency["phone"],
            "signature": f"/s/ {signer}" if agency["signer"] else "",
            "sender_name": ", ".join(p for p in (signer, agency["name"]) if p),
        })
        # Sentences from strings.toml: the general snippets, then the jurisdiction's own, which win. They are
        # rendered from the pack's text with the values above; page-derived values are never template source.
        snippets = dict(strings.get("snippets", {}))
        snippets.update(strings.get("jurisdictions", {}).get(code, {}))
        for key, source in snippets.items():
            values[key] = one_line(env.from_string(str(source)).render(values))
        values.update({key: value for key, value in overrides.items() if key not in ("urls",)})

        subject_name, body_name = (
            name if self._has(locale, name) else name.replace(f".{code}.", ".OTHER.")
            for name in (f"subject.{code}.txt.j2", f"body.{code}.txt.j2")
        )
        subject = one_line(env.get_template(subject_name).render(values))
        if not subject:
            raise ReportError(f"locale pack {locale}/{code} rendered an empty subject", plugin=self.name)
        body = _normalise_body(env.get_template(body_name).render(values))
        if context.reminder is not None:  # a reminder says so: in its subject and before anything else
            subject, body = self._as_reminder(env, strings, locale, values, context.reminder, when, subject, body)

        flat_body = " ".join(body.split())

        def stated(value: str) -> bool:
            return bool(value.strip()) and " ".join(value.split()) in flat_body

        legal = {"jurisdiction": code, "legal_basis": jurisdiction.legal_basis}
        for key in jurisdiction.required_fields:
            if key == "urls":
                legal[key] = " ".join(urls) if all(stated(u) for u in urls) else ""
            else:
                value = values.get(key, "") if key in FIELD_KEYS else ""
                legal[key] = value if isinstance(value, str) and stated(value) else ""
        return RenderedNotice(
            subject=subject,
            body_text=body,
            body_html=text_to_html(body, lang=locale, title=subject),
            legal=legal,
        )
