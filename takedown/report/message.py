"""The email of a deletion request: MIME structure, safe headers, sealed attachments, and the bytes a transport sends.

What goes out is built from values that may come from a hostile web page (the page title in the subject, an
operator's name and address scraped from the page), so every header value is checked here, in one place:

- text (subject, display names) goes through ``sanitize_header``: control, format and line-separator characters
  are removed, runs of white space become one space, and RFC 2047 encoded-word syntax (``=?``) is broken up;
  Python's header parser decodes encoded words, and before 3.11.10 / 3.12.5 it would then write a decoded CR/LF
  straight into the header block (CVE-2024-6923), so ``=?utf-8?q?=0D=0ABcc:...?=`` in a page title must never
  reach it intact. Each header is read back after it is set and must equal what was set;
- Subject, From and To are folded here, not by the stdlib, whose folder loses the space between two words when
  it lands between two encoded words ("긴 경우" arrives as "긴경우" in RFC 2047 decoders) and puts msg-ids that do
  not fit on a line into encoded words (In-Reply-To and References are folded here too);
- addresses go through ``check_address``: plain ``local@domain`` only (no display name, no comments, no lists,
  no quoted local parts), ASCII local part, an internationalised domain becomes its IDNA (punycode) form;
- Message-IDs go through a strict ``<left@right>`` check;
- ``message_bytes`` checks every folded header once more before it returns the bytes.

Attachments are evidence: a file is attached only if its bytes still hash to the SHA-256 the evidence was sealed
with. Only reports and the manifest are ever attached, never raw media, page captures or screenshots (which may
show the imagery unblurred): a PDF report always, an HWP/HWPX report only to a Korean-language recipient, the
JSON manifest always.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from email.errors import MessageError
from email.headerregistry import (
    Address,
    AddressHeader,
    BaseHeader,
    HeaderRegistry,
    UniqueAddressHeader,
    UnstructuredHeader,
)
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime
from pathlib import Path, PurePosixPath

import idna

from takedown.errors import DeliveryError, NotApprovedError, UsageError
from takedown.models import Artifact, Notice, NoticeState, OutgoingMessage

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "SIZE_FOOTER",
    "attachment_files",
    "attachment_name",
    "build_message",
    "check_address",
    "check_message_id",
    "message_bytes",
    "outgoing_message",
    "recipient_attachments",
    "sanitize_header",
]

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""The default cap on the total size of a message's attachments (their file sizes, before base64)."""

SIZE_FOOTER = "Attachments not included (size limit): "
"""How the plain-text footer that lists the attachments left out for size begins."""


def _encoded_words(text: str, *, first: int, rest: int = 75) -> list[str]:
    """``text`` as RFC 2047 B-encoded UTF-8 words, the first at most ``first`` characters long, the others ``rest``.

    Words are split between characters, never inside one, and every space stays *inside* a word: white space
    between two encoded words is dropped by decoders (RFC 2047 6.2), so a space used as the fold would be lost.
    """
    words: list[str] = []
    chunk = b""
    limit = first
    for ch in text:
        data = ch.encode("utf-8")
        if chunk and len(chunk) + len(data) > (limit - 12) // 4 * 3:  # "=?utf-8?b?" + base64 + "?="
            words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
            chunk, limit = b"", rest
        chunk += data
    words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
    return words


def _fold_ascii(name: str, text: str, linesep: str) -> str | None:
    """``Name: text`` folded at its single spaces to 78 columns; ``None`` if a word would pass 998 (RFC 5322 2.1.1).

    The stdlib's folder is not used: when the first word does not fit beside the name it breaks right after the
    colon, and its parser then reads the value back with a leading space.
    """
    lines = [f"{name}:"]
    for word in text.split(" ") if text else ():
        if lines[-1] == f"{name}:" or len(lines[-1]) + 1 + len(word) <= 78:
            lines[-1] += f" {word}"
        else:
            lines.append(f" {word}")
    return linesep.join(lines) + linesep if all(len(line) <= 998 for line in lines) else None


def _fold_encoded(name: str, text: str, linesep: str, *, tail: str = "") -> str:
    """``Name: =?utf-8?b?...?=`` folded between encoded words (each line at most 76 characters), then ``tail``."""
    words = _encoded_words(text, first=76 - len(name) - 2)
    lines = [f"{name}: {words[0]}", *(f" {word}" for word in words[1:])]
    if tail and len(lines[-1]) + 1 + len(tail) <= 76:
        lines[-1] += f" {tail}"
    elif tail:
        lines.append(f" {tail}")
    return linesep.join(lines) + linesep


class _TextHeader(UnstructuredHeader, BaseHeader):
    """Subject: folded at spaces when it is ASCII, else encoded as UTF-8 encoded words, losslessly either way.

    (The stdlib's folder can put the space between two words as the folding white space between two encoded
    words, where RFC 2047 decoders drop it: "긴 경우" arrives as "긴경우".)
    """

    def fold(self, *, policy: Policy) -> str:
        """The header as it goes on the wire."""
        text = str(self)
        folded = _fold_ascii(self.name, text, policy.linesep) if text.isascii() else None
        return folded if folded is not None else _fold_encoded(self.name, text, policy.linesep)


class _AddressHeader(UniqueAddressHeader, BaseHeader):  # type: ignore[misc]  # typeshed: mixin vs. BaseHeader
    """From and To with one address: the display name quoted if ASCII and short, else encoded, losslessly."""

    def fold(self, *, policy: Policy) -> str:
        """The header as it goes on the wire: ``Name: "display name" <addr>`` or ``Name: =?utf-8?b?...?= <addr>``."""
        if len(self.addresses) != 1:
            return super().fold(policy=policy)
        address, sep = self.addresses[0], policy.linesep
        angle = f"<{address.addr_spec}>"
        if not address.display_name:
            return f"{self.name}: {address.addr_spec}{sep}"
        if address.display_name.isascii():
            phrase = str(address).removesuffix(f" {angle}")
            if len(f"{self.name}: {phrase} {angle}") <= 78:
                return f"{self.name}: {phrase} {angle}{sep}"
            if len(f"{self.name}: {phrase}") <= 78:
                return f"{self.name}: {phrase}{sep} {angle}{sep}"
        return _fold_encoded(self.name, address.display_name, sep, tail=angle)


class _MessageIdListHeader(UnstructuredHeader, BaseHeader):
    """In-Reply-To and References: msg-ids folded one per line, never turned into encoded words.

    The stdlib treats these as unstructured text and, when an id does not fit on the first line, folds it as an
    RFC 2047 encoded word, which no mail client reads as a message id (so the reminder would not thread).
    """

    def fold(self, *, policy: Policy) -> str:
        """``Name: <id1>`` then one ``<id>`` per continuation line (ids are at most 250 characters)."""
        return f"{self.name}: " + f"{policy.linesep} ".join(str(self).split()) + policy.linesep


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", _TextHeader)
_HEADERS.map_to_type("from", _AddressHeader)
_HEADERS.map_to_type("to", _AddressHeader)
_HEADERS.map_to_type("in-reply-to", _MessageIdListHeader)
_HEADERS.map_to_type("references", _MessageIdListHeader)

# Bodies are encoded as quoted-printable or base64 (cte_type="7bit"), so the message is pure ASCII and needs
# neither 8BITMIME nor SMTPUTF8 from the server; CRLF line endings and strict header checks as email.policy.SMTP.
_POLICY = SMTP.clone(cte_type="7bit", header_factory=_HEADERS)

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_MESSAGE_ID = re.compile(rf"<({_ATEXT}+(?:\.{_ATEXT}+)*)@({_ATEXT}+(?:\.{_ATEXT}+)*)>")
_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,127}")
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_CONTINUATION_BREAK = re.compile(r"\r\n(?![ \t])|\r(?!\n)|(?<!\r)\n")

_PDF = frozenset({"application/pdf"})
_HWP = frozenset({
    "application/x-hwp", "application/haansofthwp", "application/vnd.hancom.hwp",
    "application/hwp+zip", "application/haansofthwpx", "application/vnd.hancom.hwpx",
})
_HWP_SUFFIXES = frozenset({".hwp", ".hwpx"})
_JSON = frozenset({"application/json"})


def sanitize_header(value: str) -> str:
    """``value`` made safe for one header line: the text a reader should see, and nothing a parser could act on.

    Control characters (CR, LF, NUL, ...), Unicode format characters (bidi overrides, zero-width characters, ...),
    line and paragraph separators, surrogates, private-use and unassigned code points are removed; every run of
    white space becomes one space and the ends are trimmed; ``=?`` (which opens an RFC 2047 encoded word, which a
    parser would decode into arbitrary characters) becomes ``= ?``.

    The result is idempotent: ``sanitize_header(sanitize_header(s)) == sanitize_header(s)``.
    """
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if ch.isspace() or unicodedata.category(ch) not in _REMOVED_CATEGORIES
    )
    return " ".join(kept.split()).replace("=?", "= ?")


def check_address(address: str, *, what: str = "address") -> str:
    """The ASCII form of a bare email address (``local@domain``), fit for a header and an SMTP envelope.

    An internationalised domain is converted to IDNA (punycode); the local part must be ASCII dot-atom text,
    because takedown never asks a server for SMTPUTF8.

    Raises:
        DeliveryError: the address holds white space, control characters, a display name, a list, comments,
            a quoted or non-ASCII local part, or is otherwise not one plain address. The message names ``what``.
    """
    if not isinstance(address, str) or not address:
        raise DeliveryError(f"{what}: empty email address")
    shown = ascii(address)
    if any(ch.isspace() or unicodedata.category(ch) in _REMOVED_CATEGORIES for ch in address):
        raise DeliveryError(f"{what}: email address {shown} contains white space or control characters")
    if address.count("@") != 1:
        raise DeliveryError(f"{what}: email address {shown} must contain exactly one '@'")
    local, _, domain = address.partition("@")
    if not local.isascii() or not _DOT_ATOM.fullmatch(local) or len(local) > 64:
        raise DeliveryError(f"{what}: the part before '@' in {shown} is not a plain ASCII local part")
    try:
        ascii_domain = domain if domain.isascii() else idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise DeliveryError(f"{what}: the domain of {shown} is not a valid domain name: {exc}") from exc
    labels = ascii_domain.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels) or len(ascii_domain) > 253:
        raise DeliveryError(f"{what}: the domain of {shown} is not a valid domain name")
    result = f"{local}@{ascii_domain}"
    if len(result) > 254:
        raise DeliveryError(f"{what}: email address {shown} is too long")
    return result


def check_message_id(message_id: str, *, what: str = "Message-ID") -> str:
    """``message_id`` if it is one ``<left@right>`` msg-id of dot-atom text (RFC 5322 3.6.4), short enough.

    ``=?`` is refused too: a parser would take it for the start of an RFC 2047 encoded word.

    Raises:
        DeliveryError: it is anything else (white space, CR/LF, several ids, missing brackets, ...).
    """
    if (not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id) or len(message_id) > 250
            or "=?" in message_id):
        raise DeliveryError(f"{what} {message_id!a} is not a single <left@right> message id")
    return message_id


def attachment_files(notice: Notice, root: Path) -> list[tuple[Artifact, Path]]:
    """Each of the notice's attachments with the file it lies in under the evidence ``root``.

    Raises:
        DeliveryError: an artifact's path is absolute or leaves ``root``.
    """
    out = []
    base = Path(root).resolve()
    for artifact in notice.attachments:
        relative = PurePosixPath(artifact.path)
        path = (base / relative).resolve()
        if relative.is_absolute() or not path.is_relative_to(base):
            raise DeliveryError(f"attachment {artifact.path!r} lies outside the evidence root {root}")
        out.append((artifact, path))
    return out


def recipient_attachments(artifacts: Sequence[Artifact]) -> list[Artifact]:
    """What a deletion request attaches of an evidence bundle's ``artifacts``: its PDF report (masked previews) and
    the recipient's copy of its manifest (``recipient.json``), in that order. The agency's own ``manifest.json``
    (reference labels, keywords, detections, internal ids), the raw media and captures stay with the agency."""
    pdf = [a for a in artifacts if _kind(a) == "pdf"]
    shared = [a for a in artifacts if _kind(a) == "manifest"]
    return [*pdf, *shared]


def _kind(artifact: Artifact) -> str | None:
    """``pdf``, ``hwp`` or ``manifest`` (the recipient's copy) for what may be attached; ``None`` for what never
    is (the agency's own ``manifest.json`` among them)."""
    media_type = artifact.media_type.split(";")[0].strip().lower()
    suffix = PurePosixPath(artifact.path).suffix.lower()
    if artifact.role == "report" and media_type in _PDF:
        return "pdf"
    if artifact.role == "report" and (media_type in _HWP or suffix in _HWP_SUFFIXES):
        return "hwp"
    if artifact.role == "recipient_manifest" and media_type in _JSON:
        return "manifest"
    return None


def _is_korean(locale: str) -> bool:
    return locale.replace("_", "-").split("-")[0].lower() == "ko"


def _read_sealed(artifact: Artifact, path: Path) -> bytes:
    """The file's bytes, if they still hash to the artifact's SHA-256."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DeliveryError(f"cannot read attachment {path}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != artifact.sha256.lower():
        raise DeliveryError(
            f"attachment {path} no longer matches its sealed SHA-256 (sealed {artifact.sha256}, now {digest}); "
            "altered evidence is never sent"
        )
    return data


def _clean_name(name: str) -> str:
    return sanitize_header(name).replace('"', "").replace("\\", "")


def attachment_name(artifact: Artifact, among: Sequence[Artifact] = ()) -> str:
    """The file name ``artifact`` is attached under: its own (``manifest.json``), or, when another of ``among``
    (a notice's attachments) has the same name, its folder's name before it (``bnd-…-manifest.json``): a notice
    listing several findings attaches a manifest of each bundle."""
    path = PurePosixPath(artifact.path)
    name = _clean_name(path.name) or "attachment"
    if sum(1 for other in among if PurePosixPath(other.path).name == path.name) > 1 and path.parent.name:
        name = _clean_name(f"{path.parent.name}-{path.name}") or name
    return name


def _set_text(message: EmailMessage, name: str, value: str) -> None:
    """Set an unstructured header and check that the parser kept exactly that text."""
    message[name] = value
    if str(message[name]) != value:
        raise DeliveryError(f"{name} header {value!a} does not survive parsing unchanged")


def _set_address(message: EmailMessage, name: str, display_name: str, addr_spec: str) -> None:
    """Set an address header to one address and check that it parses back to that one address."""
    message[name] = Address(display_name=display_name, addr_spec=addr_spec)
    header = message[name]
    addresses = header.addresses if isinstance(header, AddressHeader) else ()
    if len(addresses) != 1 or (addresses[0].display_name, addresses[0].addr_spec) != (display_name, addr_spec):
        raise DeliveryError(f"{name} header for {display_name!a} <{addr_spec}> does not parse back unchanged")


def _with_footer_html(body_html: str, line: str) -> str:
    footer = f"<p>{html.escape(line)}</p>"
    at = body_html.lower().rfind("</body>")
    return body_html[:at] + footer + body_html[at:] if at >= 0 else f"{body_html}\n{footer}"


def build_message(
    notice: Notice,
    *,
    sender: str,
    sender_name: str = "",
    message_id: str,
    attachments: Sequence[tuple[Artifact, Path]] = (),
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    now: datetime | None = None,
    documents: Sequence[tuple[str, bytes, str]] = (),
) -> EmailMessage:
    """The email for a notice: plain text (and HTML, if the template gave one) in UTF-8, with its evidence attached.

    Args:
        notice: the deletion request (its recipient, subject, bodies and thread: ``in_reply_to``, ``references``).
        sender: the agency's address (``From`` and, later, the SMTP envelope sender).
        sender_name: the agency's display name; any script (encoded per RFC 2047).
        message_id: this message's ``<left@right>`` Message-ID.
        attachments: each artifact to attach, with the file it lies in (see ``attachment_files``). Every one must
            be among ``notice.attachments`` (what the officer approved). Only reports and the recipient's copy of
            the manifest are attached: a PDF report always, an HWP/HWPX report only when ``notice.locale`` is Korean
            (``ko``), ``recipient.json`` always; other artifacts (the agency's own ``manifest.json``, raw media,
            page captures, screenshots) are never attached.
            They are attached in the order given; one that would push the total file size above
            ``max_attachment_bytes`` is left out and named in a footer line of the body
            (``Attachments not included (size limit): ...``).
        max_attachment_bytes: the cap on the total size of the attached files (before base64).
        documents: files made for this message, as (name, bytes, media type): the machine-readable notice and its
            signature (``takedown.report.notice_json``). Attached after the evidence, always (a few KiB).
        now: the ``Date`` (timezone-aware); default: the current time.

    Raises:
        DeliveryError: an address or Message-ID is invalid or could inject a header; an attachment cannot be read
            or no longer hashes to its sealed SHA-256 (altered evidence is never sent).
        UsageError: ``now`` is naive, ``max_attachment_bytes`` is negative, or an attachment is not one of the
            notice's.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise UsageError("build_message: now must be timezone-aware")
    if max_attachment_bytes < 0:
        raise UsageError("build_message: max_attachment_bytes must not be negative")
    from_addr = check_address(sender, what="sender")
    to_addr = check_address(notice.recipient.address, what="recipient")
    check_message_id(message_id)
    thread = [check_message_id(ref, what="References entry") for ref in notice.references]
    if notice.in_reply_to is not None:
        thread.append(check_message_id(notice.in_reply_to, what="In-Reply-To"))

    approved = {(a.path, a.sha256.lower()) for a in notice.attachments}
    attach_korean = _is_korean(notice.locale)
    chosen: list[tuple[Artifact, Path]] = []
    left_out: list[str] = []
    total = 0
    for artifact, path in attachments:
        if (artifact.path, artifact.sha256.lower()) not in approved:
            raise UsageError(f"attachment {artifact.path!r} is not one of notice {notice.id}'s approved attachments")
        kind = _kind(artifact)
        if kind is None or (kind == "hwp" and not attach_korean):
            continue
        if total + artifact.size > max_attachment_bytes:
            left_out.append(attachment_name(artifact, notice.attachments))
            continue
        total += artifact.size
        chosen.append((artifact, path))
    files = [(artifact, _read_sealed(artifact, path)) for artifact, path in chosen]

    message = EmailMessage(policy=_POLICY)
    _set_address(message, "From", sanitize_header(sender_name), from_addr)
    _set_address(message, "To", sanitize_header(notice.recipient.name), to_addr)
    _set_text(message, "Subject", sanitize_header(notice.subject))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    if notice.in_reply_to is not None:
        message["In-Reply-To"] = notice.in_reply_to
    if thread:
        message["References"] = " ".join(dict.fromkeys(thread))

    body_text = notice.body_text
    body_html = notice.body_html
    if left_out:
        line = SIZE_FOOTER + ", ".join(left_out)
        body_text = f"{body_text.rstrip()}\n\n{line}\n"
        body_html = _with_footer_html(body_html, line) if body_html else body_html
    message.set_content(body_text, charset="utf-8")
    if body_html:
        message.add_alternative(body_html, subtype="html", charset="utf-8")
    for artifact, data in files:
        maintype, _, subtype = artifact.media_type.split(";")[0].strip().lower().partition("/")
        if not (_TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)):
            maintype, subtype = "application", "octet-stream"
        name = attachment_name(artifact, notice.attachments)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    for name, data, media_type in documents:
        maintype, _, subtype = media_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=_clean_name(name) or "notice")
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire: ``email.policy.SMTP`` (CRLF line endings).

    Raises:
        DeliveryError: a folded header would start a new header line (a header injection that got past the
            checks: refused rather than sent).
    """
    try:
        for part in message.walk():
            for name, value in part.items():
                folded = SMTP.fold(name, value)
                if _CONTINUATION_BREAK.search(folded.removesuffix("\r\n")):
                    raise DeliveryError(f"header {name} would break the header block: refused")
        return message.as_bytes(policy=SMTP)
    except MessageError as exc:  # HeaderWriteError, on Pythons that check folded headers themselves
        raise DeliveryError(f"the message cannot be written safely: {exc}") from exc


def outgoing_message(notice: Notice, message: EmailMessage) -> OutgoingMessage:
    """The transport's view of ``message`` for ``notice``: envelope, raw bytes, and who approved it.

    Raises:
        NotApprovedError: the notice is not in state ``approved`` with an officer and a time recorded.
        UsageError: the message is not addressed to the notice's recipient, or lacks a Message-ID or sender.
        DeliveryError: see ``message_bytes``.
    """
    if notice.state is not NoticeState.APPROVED or not notice.approved_by or notice.approved_at is None:
        raise NotApprovedError(f"notice {notice.id} has no recorded approval (it is {notice.state.value}); "
                               "only an approved notice is sent")
    from_header, to_header = message["From"], message["To"]
    senders = from_header.addresses if isinstance(from_header, AddressHeader) else ()
    recipients = tuple(a.addr_spec for a in to_header.addresses) if isinstance(to_header, AddressHeader) else ()
    message_id = message["Message-ID"]
    if len(senders) != 1 or message_id is None:
        raise UsageError("the message needs exactly one From address and a Message-ID")
    if recipients != (check_address(notice.recipient.address, what="recipient"),):
        raise UsageError(f"the message is addressed to {', '.join(recipients) or 'nobody'}, "
                         f"not to notice {notice.id}'s recipient")
    return OutgoingMessage(
        notice_id=notice.id, message_id=check_message_id(str(message_id)), sender=senders[0].addr_spec,
        recipients=recipients, subject=str(message["Subject"] or ""), raw=message_bytes(message),
        approved_by=notice.approved_by, approved_at=notice.approved_at,
    )
