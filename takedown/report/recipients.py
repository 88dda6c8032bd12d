"""Who a notice goes to, in escalation order: the site's operator, then its host, then its registrar.

``recipients_for`` reads only what the site adapter already gathered (no network) and is what drafting uses;
``resolve_recipients`` adds the host's and the registrar's abuse contacts from RDAP. Every address is checked
with ``takedown.addresses.check_email`` (``email-validator``, no DNS: the same check a site file's ``[report]
email`` passes) and normalised; one that is malformed, on a special-use domain, or that smuggles a line break (a
header injection), is dropped. An address read off a web page is dropped quietly (pages are hostile and often
sloppy); one a site declared in its configuration is reported (``on_error``) or raised, never dropped unseen.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import unquote, urlsplit

from takedown.addresses import check_email
from takedown.errors import InvalidAddressError, ReportError
from takedown.models import ContactHint, Finding, Recipient, RecipientKind
from takedown.report.rdap import RdapClient, registered_domain
from takedown.report.security_txt import parse_security_txt

__all__ = ["email_addresses", "escalation_order", "recipients_for", "resolve_recipients"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SECURITY_FILE = re.compile(r"(?im)^\s*(contact|expires|-----begin pgp)\b")
_KIND_ORDER = {kind: i for i, kind in enumerate(RecipientKind)}
_MAX_ADDRESSES = 4  # IP addresses looked up per host

ResolveIp = Callable[[str], Awaitable[list[str]]]
"""Resolves a host name to its IP addresses (as strings)."""


def email_addresses(value: str) -> list[str]:
    """The valid addresses in ``value``: a bare address or a ``mailto:`` URI (several, comma-separated, allowed).

    Each is checked with ``takedown.addresses.check_email`` (``email_validator.validate_email(...,
    check_deliverability=False)``) and returned in its normalised form (ASCII domain where one exists). Anything
    holding a control character (CR, LF, NUL ...), raw or percent-encoded, is rejected: such a value is a header
    injection, never an address.

    Returns:
        The addresses in order, without repeats; ``[]`` when none is valid.
    """
    return _checked_addresses(value)[0]


def _checked_addresses(value: str) -> tuple[list[str], list[InvalidAddressError]]:
    """``email_addresses(value)``, and why each part that is not a usable address was refused."""
    text = value.strip()
    mailto = text.lower().startswith("mailto:")
    parts = [unquote(p) for p in text[7:].split("?", 1)[0].split(",")] if mailto else [text]
    out: list[str] = []
    refused: list[InvalidAddressError] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        try:
            address = check_email(part)
        except InvalidAddressError as exc:
            refused.append(exc)
            continue
        if address.casefold() not in {a.casefold() for a in out}:
            out.append(address)
    return out, refused


def _declared(hint: ContactHint) -> bool:
    """Whether a site declared the hint in its configuration (a site file's ``[report]``), not a web page.

    Hints read off the web name the page they were found on (an http(s) URL); declared ones name their
    configuration (``site config sites/sns.toml``).
    """
    return urlsplit(hint.source).scheme.lower() not in ("http", "https")


def _web_form(value: str, *, https_only: bool = False) -> str | None:
    """``value`` if it is a usable form URL (http(s), a host, no whitespace or control characters)."""
    url = value.strip()
    if not url or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    parts = urlsplit(url)
    schemes = ("https",) if https_only else ("http", "https")
    return url if parts.scheme.lower() in schemes and parts.hostname else None


def _security_contacts(hint: ContactHint) -> list[str]:
    """The contact URIs a ``security_txt`` hint gives: a whole file (parsed; nothing if it has expired) or one
    ``Contact`` value as the site adapter read it."""
    value = hint.value
    if "\n" in value or "\r" in value or _SECURITY_FILE.search(value):
        parsed = parse_security_txt(value, source=hint.source)
        return [] if parsed.expired else parsed.contacts
    single = value.strip()
    if single.lower().startswith(("mailto:", "https:", "tel:")):
        return [single]
    return [f"mailto:{single}"] if "@" in single else []


def _guess(finding: Finding) -> Recipient | None:
    host = urlsplit(finding.candidate.url).hostname or ""
    try:
        domain = registered_domain(host)
    except ReportError:
        return None  # an IP address or a malformed host: there is nothing to guess
    guessed = email_addresses(f"abuse@{domain}")
    if not guessed:
        return None
    return Recipient(address=guessed[0], kind=RecipientKind.SITE_OPERATOR,
                     source=f"guessed: abuse@ the registered domain {domain}")


def _unique(recipients: Iterable[Recipient]) -> list[Recipient]:
    """Each address once, at its best rank; a country or language declared for it elsewhere is kept."""
    out: dict[str, Recipient] = {}
    for recipient in recipients:
        key = recipient.address.casefold()
        kept = out.setdefault(key, recipient)
        declared = {k: v for k in ("country", "language")
                    if getattr(kept, k) is None and (v := getattr(recipient, k)) is not None}
        if declared:
            out[key] = kept.model_copy(update=declared)
    return list(out.values())


def recipients_for(finding: Finding, *, on_error: Callable[[ReportError], None] | None = None) -> list[Recipient]:
    """The site operator's addresses for a finding, best first, without network access.

    Email addresses come first: those linked on the page itself, then those on the site's contact pages, then
    the ``Contact`` addresses of its ``security.txt`` (in the file's order; an expired file is ignored when the
    hint holds the whole file). When none is found, ``abuse@<registered domain>`` is guessed. Web forms follow
    (``form`` hints, and ``https:`` contacts of ``security.txt``), as recipients with ``channel="web_form"``
    whose ``address`` is the form's URL; they come after every email recipient, since a form can only be used
    through a site adapter that submits to it (the workflow drafts for a form only then). Invalid addresses are
    dropped; repeats (case-insensitive) keep their best rank.

    An address the site declared in its configuration (a site file's ``[report] email``) that ``check_email``
    refuses is not dropped unseen: it is a ``ReportError`` naming the address, where it was declared and why it
    was refused, passed to ``on_error`` (the other recipients are still returned) or, without ``on_error``,
    raised.

    Returns:
        Recipients of kind ``site_operator``; empty only when there is no valid address, form or guess.

    Raises:
        ReportError: without ``on_error``, a declared address is refused.
    """
    page = finding.page
    on_page = {finding.candidate.url} | ({page.url, page.final_url} if page else set())
    emails: list[tuple[int, Recipient]] = []
    forms: list[tuple[int, Recipient]] = []
    for hint in page.contacts if page else ():
        kind = hint.kind.lower()
        here = hint.source in on_page
        declared = {"country": hint.country, "language": hint.language}  # where the site file says them
        if kind == "email":
            source = f"mailto on {hint.source}" if here else f"contact page {hint.source}"
            addresses, refused = _checked_addresses(hint.value)
            emails += [(0 if here else 1, Recipient(address=a, source=source, **declared)) for a in addresses]
            if refused and _declared(hint):
                why = "; ".join(str(exc) for exc in refused)
                error = ReportError(f"{hint.source}: a declared contact address is refused, no notice is drafted "
                                    f"to it: {why}")
                if on_error is None:
                    raise error
                on_error(error)
        elif kind == "form":
            url = _web_form(hint.value)
            if url is not None:
                forms.append((0 if here else 1, Recipient(address=url, channel="web_form",
                                                          source=f"web form linked from {hint.source}",
                                                          **declared)))
        elif kind == "security_txt":
            source = f"security.txt at {hint.source}"
            for contact in _security_contacts(hint):
                if contact.lower().startswith("mailto:"):
                    emails += [(2, Recipient(address=a, source=source)) for a in email_addresses(contact)]
                elif (url := _web_form(contact, https_only=True)) is not None:
                    forms.append((2, Recipient(address=url, channel="web_form", source=source)))
    ranked = [r for _, r in sorted(emails, key=lambda pair: pair[0])]
    if not ranked and (guess := _guess(finding)) is not None:
        ranked.append(guess)
    ranked += [r for _, r in sorted(forms, key=lambda pair: pair[0])]
    return _unique(ranked)


def escalation_order(recipients: Iterable[Recipient]) -> list[Recipient]:
    """``recipients`` sorted by kind: site operator, host, registrar, search engine, other.

    The sort is stable: recipients of one kind keep their order.
    """
    return sorted(recipients, key=lambda r: _KIND_ORDER[r.kind])


async def _resolve(host: str) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _hosts(finding: Finding) -> list[str]:
    urls = [finding.candidate.url, *([finding.page.final_url] if finding.page else [])]
    return list(dict.fromkeys(h for h in (urlsplit(u).hostname for u in urls) if h))


async def resolve_recipients(
    finding: Finding,
    *,
    rdap: RdapClient | None = None,
    resolve_ip: ResolveIp | None = None,
    on_error: Callable[[ReportError], None] | None = None,
) -> list[Recipient]:
    """Everyone a notice about ``finding`` can go to, in escalation order.

    First the site operator (``recipients_for``), then the host (RDAP abuse contacts of the networks the
    page's host resolves to, at most four addresses per host), then the registrar (RDAP abuse contacts of the
    registrar of the host's registered domain). Both the candidate's host and, after a redirect, the page's
    final host are looked up. An address found twice keeps its first (most specific) place. Every recipient's
    ``source`` says how it was found.

    A failed lookup never stops drafting: its ``ReportError`` (or the resolver's ``OSError``, wrapped in one)
    is passed to ``on_error`` and the lookup is skipped, so the result holds whatever else was found. The
    lookups run concurrently. A refused declared address is handled as ``recipients_for`` does (passed to
    ``on_error``, else raised).

    Args:
        finding: the finding, with its page's contact hints where it was fetched.
        rdap: the RDAP client to use; if omitted, one with default ``NetworkSettings`` (public addresses only,
            bootstrap cached in memory) is built and closed again.
        resolve_ip: resolves a host name to IP addresses; default: the system resolver.
        on_error: told of each lookup that failed, and of each declared address that was refused.

    Raises:
        ReportError: without ``on_error``, an address the site declared is refused (``recipients_for``).
    """
    site = recipients_for(finding, on_error=on_error)
    client = rdap or RdapClient()
    resolve = resolve_ip or _resolve

    def report(error: ReportError) -> None:
        if on_error is not None:
            on_error(error)

    async def host_abuse(host: str) -> list[Recipient]:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = list(dict.fromkeys(await resolve(host)))
            except ReportError as exc:
                report(exc)
                return []
            except OSError as exc:
                report(ReportError(f"cannot resolve {host}: {exc}", plugin=RdapClient.name))
                return []
        found: list[Recipient] = []
        for address in addresses[:_MAX_ADDRESSES]:
            try:
                found += await client.ip_abuse(address)
            except ReportError as exc:
                report(exc)
        return found

    async def registrar_abuse(host: str) -> list[Recipient]:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return []  # an IP address has no registrar
        try:
            return await client.domain_abuse(host)
        except ReportError as exc:
            report(exc)
            return []

    hosts = _hosts(finding)
    try:
        # Every lookup runs to its end (return_exceptions) before anything is raised or the client closed.
        results = await asyncio.gather(*(host_abuse(h) for h in hosts), *(registrar_abuse(h) for h in hosts),
                                       return_exceptions=True)
    finally:
        if rdap is None:
            await client.aclose()
    found = list(site)
    for result in results:  # host lookups first, then registrar lookups: the escalation order
        if isinstance(result, BaseException):
            raise result
        found += result
    return escalation_order(_unique(found))
