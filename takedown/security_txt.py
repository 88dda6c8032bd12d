"""A tolerant parser for ``security.txt`` files (RFC 9116).

A site's ``/.well-known/security.txt`` names where it takes security and abuse reports. What sites serve there
ranges from a signed, well-formed file to their home page's HTML; ``parse_security_txt`` reads what it can and
never raises: every problem it meets is a line in ``SecurityTxt.errors``, and a file it cannot read at all is an
empty result.

Read fields: ``Contact`` (kept in order: the RFC lists them in order of preference), ``Expires``,
``Preferred-Languages``, ``Policy``, ``Canonical`` and ``Encryption``. ``Hiring``, ``Acknowledgments`` and
unknown fields are skipped. Contacts are ``mailto:``, ``https:`` and ``tel:`` URIs; a bare address with an ``@``
is read as ``mailto:`` (common, though not what the RFC asks), anything else is dropped with an error.

A base module, not part of a stage: site adapters read security.txt as a contact hint and the report stage's
recipient finder reads it again (``takedown.report.security_txt`` re-exports it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from takedown.models import utcnow

__all__ = ["SecurityTxt", "parse_security_txt"]

MAX_CHARS = 256 * 1024
"""Text beyond this is not read (RFC 9116 files are a few hundred bytes)."""

_MAX_ERRORS = 20
_FIELD = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)\s*:\s*(.*)$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SIGNED_BEGIN = "-----BEGIN PGP SIGNED MESSAGE-----"
_SIGNATURE_BEGIN = "-----BEGIN PGP SIGNATURE-----"
_SIGNATURE_END = "-----END PGP SIGNATURE-----"
_SCHEMES = ("mailto:", "https:", "tel:")


class SecurityTxt(BaseModel):
    """What a ``security.txt`` file says, as far as it could be read.

    ``expired`` is true only when an ``Expires`` date was read and lies in the past; a file without one is
    not expired (its missing field is noted in ``errors``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    source: str = Field(description="where the file was read from (its URL)")
    contacts: list[str] = Field(default_factory=list, description="mailto:, https: and tel: URIs, best first")
    expires: datetime | None = None
    expired: bool = False
    preferred_languages: list[str] = Field(default_factory=list)
    policy: list[str] = Field(default_factory=list)
    canonical: list[str] = Field(default_factory=list)
    encryption: list[str] = Field(default_factory=list)
    signed: bool = Field(default=False, description="the content was wrapped in an OpenPGP cleartext signature")
    errors: list[str] = Field(default_factory=list, description="what could not be read, one line each")

    @property
    def emails(self) -> list[str]:
        """The ``mailto:`` contacts' addresses (not validated), in order."""
        return [c[len("mailto:") :] for c in self.contacts if c.startswith("mailto:")]

    @property
    def web_contacts(self) -> list[str]:
        """The ``https:`` contacts (report forms or pages), in order."""
        return [c for c in self.contacts if c.startswith("https:")]

    @property
    def phones(self) -> list[str]:
        """The ``tel:`` contacts, in order."""
        return [c for c in self.contacts if c.startswith("tel:")]


def _unwrap_signature(lines: list[str], errors: list[str]) -> tuple[list[str], bool]:
    """The signed content of an OpenPGP cleartext-signed message (RFC 4880 §7), or ``lines`` unchanged.

    The signature itself is not verified: takedown has no key to verify it against.
    """
    starts = [i for i, line in enumerate(lines) if line.strip() == _SIGNED_BEGIN]
    if not starts:
        if any(line.strip() in (_SIGNATURE_BEGIN, _SIGNATURE_END) for line in lines):
            errors.append("a PGP signature without a signed-message header; armour lines skipped")
            return [line for line in lines if not line.startswith("-----")], False
        return lines, False
    i = starts[0] + 1
    while i < len(lines) and lines[i].strip():  # armour headers ("Hash: SHA256") end at the first blank line
        i += 1
    body: list[str] = []
    for line in lines[i + 1 :]:
        if line.strip() == _SIGNATURE_BEGIN:
            break
        body.append(line[2:] if line.startswith("- ") else line)  # dash-escaping
    else:
        errors.append("signed message has no signature block")
    return body, True


def _contact(value: str, errors: list[str], lineno: int) -> str | None:
    lower = value.lower()
    for scheme in _SCHEMES:
        if lower.startswith(scheme):
            rest = value[len(scheme) :].strip()
            if not rest or (scheme == "https:" and not rest.startswith("//")):
                break
            return scheme + rest
    else:
        if "@" in value and ":" not in value and " " not in value:
            errors.append(f"line {lineno}: contact {value!r} has no mailto: scheme; read as an email address")
            return "mailto:" + value
    errors.append(f"line {lineno}: contact {value!r} is not a mailto:, https: or tel: URI; skipped")
    return None


def _expires(value: str, errors: list[str], lineno: int) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            errors.append(f"line {lineno}: Expires {value!r} has no time zone; read as UTC")
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        errors.append(f"line {lineno}: Expires {value!r} is not an RFC 3339 date-time")
        return None


def parse_security_txt(text: str, *, source: str, now: datetime | None = None) -> SecurityTxt:
    """Read a ``security.txt`` file; never raises.

    Args:
        text: the file's text (CRLF or LF line ends; an OpenPGP cleartext signature is unwrapped, not verified).
        source: where it was read from, kept in the result.
        now: the time ``Expires`` is compared with (default: now).

    Returns:
        The fields that could be read. Text that is not a ``security.txt`` at all (HTML, binary) gives an
        empty result whose ``errors`` say why.
    """
    errors: list[str] = []
    if not isinstance(text, str):  # a caller that handed over bytes or None still gets a result
        return SecurityTxt(source=source, errors=[f"expected text, got {type(text).__name__}"])
    if len(text) > MAX_CHARS:
        errors.append(f"file longer than {MAX_CHARS} characters; the rest was not read")
        text = text[:MAX_CHARS]
    text = text.lstrip("\ufeff")
    head = text.lstrip()[:256].lower()
    if head.startswith("<") and ("<html" in head or "<!doctype" in head or "<head" in head or "<body" in head):
        return SecurityTxt(source=source, errors=["the response is an HTML page, not a security.txt file"])
    if "\x00" in text:
        return SecurityTxt(source=source, errors=["the response is binary, not a security.txt file"])

    lines, signed = _unwrap_signature(text.splitlines(), errors)
    contacts: list[str] = []
    expires: datetime | None = None
    saw_expires = False
    languages: list[str] = []
    policy: list[str] = []
    canonical: list[str] = []
    encryption: list[str] = []
    not_fields = 0
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _FIELD.match(line)
        if match is None or _CONTROL.search(line):
            not_fields += 1
            if not_fields <= 3:
                errors.append(f"line {lineno}: not a 'Field: value' line; skipped")
            continue
        name, value = match.group(1).lower(), match.group(2).strip()
        if not value:
            errors.append(f"line {lineno}: {match.group(1)} has no value")
            continue
        if name == "contact":
            contact = _contact(value, errors, lineno)
            if contact is not None and contact not in contacts:
                contacts.append(contact)
        elif name == "expires":
            if saw_expires:
                errors.append(f"line {lineno}: Expires appears more than once; the first is used")
            else:
                saw_expires = True
                expires = _expires(value, errors, lineno)
        elif name == "preferred-languages":
            if languages:
                errors.append(f"line {lineno}: Preferred-Languages appears more than once; the first is used")
            else:
                languages = [tag.strip() for tag in value.split(",") if tag.strip()]
        elif name == "policy":
            policy.append(value)
        elif name == "canonical":
            canonical.append(value)
        elif name == "encryption":
            encryption.append(value)
        # Hiring, Acknowledgments and fields this parser does not know are skipped (RFC 9116 §2.4).
    if not_fields > 3:
        errors.append(f"{not_fields - 3} more lines were not 'Field: value' lines")
    if not contacts:
        errors.append("no usable Contact field")
    if not saw_expires:
        errors.append("no Expires field")
    expired = expires is not None and expires < (now or utcnow()).astimezone(UTC)
    if len(errors) > _MAX_ERRORS:
        errors = [*errors[:_MAX_ERRORS], f"... and {len(errors) - _MAX_ERRORS} more problems"]
    return SecurityTxt(
        source=source, contacts=contacts, expires=expires, expired=expired, preferred_languages=languages,
        policy=policy, canonical=canonical, encryption=encryption, signed=signed, errors=errors,
    )
