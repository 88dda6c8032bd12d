"""RDAP lookups: the abuse contacts of the network that hosts a site and of the registrar of its domain.

When a site's operator does not answer, a notice escalates to whoever hosts the site (the network that the
site's address belongs to) and then to the registrar of its domain. Both publish abuse contacts over RDAP
(RFC 9082/9083): ``RdapClient.ip_abuse`` reads an IP network object's ``abuse`` entities and
``RdapClient.domain_abuse`` reads the ``abuse`` entities nested in a domain object's ``registrar`` entity.

Which RDAP server answers for a TLD or an address block comes from IANA's bootstrap files (RFC 9224:
``dns.json``, ``ipv4.json``, ``ipv6.json``), fetched from ``bootstrap_base`` and cached on disk.

Every request passes the fetch guard, answers are capped at ``MAX_RESPONSE_BYTES`` (after decompression) and at
``NetworkSettings.timeout_s`` in all, and every failure (network, HTTP status, JSON, missing data, guard) is a
``ReportError`` with ``plugin="rdap"`` and the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import httpx

from takedown.addresses import check_email
from takedown.errors import FetchBlockedError, InvalidAddressError, ReportError
from takedown.models import Recipient, RecipientKind, utcnow
from takedown.settings import NetworkSettings
from takedown.sites.guard import FetchGuard, guard_client, guarded_client
from takedown.store.blobs import atomic_write

__all__ = ["MAX_RESPONSE_BYTES", "MULTI_LABEL_SUFFIXES", "RdapClient", "registered_domain"]

MAX_RESPONSE_BYTES = 1024 * 1024
"""The most bytes an RDAP or bootstrap answer may have, after decompression."""

IANA_BOOTSTRAP = "https://data.iana.org/rdap/"

MULTI_LABEL_SUFFIXES: frozenset[str] = frozenset({
    # Korea
    "co.kr", "or.kr", "go.kr", "ne.kr", "re.kr", "pe.kr", "ac.kr", "hs.kr", "ms.kr", "es.kr", "sc.kr", "kg.kr",
    "mil.kr", "seoul.kr",
    # Japan
    "co.jp", "ne.jp", "or.jp", "ac.jp", "ad.jp", "ed.jp", "go.jp", "gr.jp", "lg.jp",
    # China, Hong Kong, Taiwan
    "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn",
    "com.hk", "net.hk", "org.hk", "edu.hk", "gov.hk",
    "com.tw", "net.tw", "org.tw", "edu.tw", "gov.tw", "idv.tw",
    # South-east and south Asia
    "com.vn", "net.vn", "org.vn", "edu.vn", "gov.vn",
    "co.th", "in.th", "or.th", "ac.th", "go.th",
    "com.my", "net.my", "org.my", "edu.my", "gov.my",
    "com.sg", "net.sg", "org.sg", "edu.sg", "gov.sg",
    "com.ph", "net.ph", "org.ph",
    "co.id", "or.id", "web.id", "ac.id", "go.id",
    "co.in", "net.in", "org.in", "firm.in", "gen.in", "ind.in", "ac.in", "gov.in",
    "com.pk",
    # Oceania
    "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au", "id.au",
    "co.nz", "net.nz", "org.nz", "govt.nz", "ac.nz",
    # Europe, Middle East, Africa
    "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "ac.uk", "gov.uk", "nhs.uk", "sch.uk",
    "com.tr", "net.tr", "org.tr", "com.ua", "co.il", "org.il", "ac.il", "com.sa", "com.eg",
    "co.za", "org.za", "net.za", "gov.za", "ac.za", "co.ke",
    # Americas
    "com.br", "net.br", "org.br", "gov.br", "edu.br",
    "com.mx", "org.mx", "gob.mx", "com.ar", "org.ar", "com.co",
})
"""Public suffixes of more than one label that ``registered_domain`` knows without the Public Suffix List."""

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RETRY_AFTER_FAILURE = timedelta(minutes=15)
_MAX_DEPTH = 4  # how deep entities are searched for abuse contacts

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _error(message: str, url: str | None = None) -> ReportError:
    return ReportError(message, plugin=RdapClient.name, url=url)


def _ascii_host(host: str) -> str:
    """``host`` in lower-case A-labels, without a trailing dot.

    Raises:
        ReportError: ``host`` is empty, an IP address, or not a valid DNS name.
    """
    name = host.strip().rstrip(".").lower()
    if not name or _CONTROL.search(name) or any(c in name for c in " /\\:@[]?#"):
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            raise _error(f"{host!r} is not a host name") from None
        raise _error(f"{host!r} is an IP address, not a domain")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise _error(f"{host!r} is an IP address, not a domain")
    labels = []
    for label in name.split("."):
        try:
            ascii_label = label if label.isascii() else label.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise _error(f"{host!r} is not a valid international domain name: {exc}") from exc
        if not _LABEL.match(ascii_label):
            raise _error(f"{host!r} is not a valid host name (label {label!r})")
        labels.append(ascii_label)
    return ".".join(labels)


def registered_domain(host: str, *, suffixes: Iterable[str] = ()) -> str:
    """The registered domain of ``host``: its public suffix plus one label (``www.shop.co.kr`` → ``shop.co.kr``).

    The public suffix is the longest of ``MULTI_LABEL_SUFFIXES`` and the multi-label names in ``suffixes`` (e.g.
    an RDAP bootstrap's entries) that ``host`` ends with, else its last label. This is not the Public Suffix
    List: multi-label suffixes it does not know (``kyoto.jp``, ``blogspot.com``, ``github.io`` ...) are taken
    as registered domains, so ``user.github.io`` gives ``github.io``, which is, for a notice, the platform that
    answers for the user's pages anyway; an unknown ccTLD second level (``com.xx``) gives ``com.xx``, whose
    RDAP lookup then fails.

    Returns:
        The registered domain in lower-case A-labels (IDNA), without a trailing dot.

    Raises:
        ReportError: ``host`` is an IP address, not a valid host name, or is itself a public suffix.
    """
    name = _ascii_host(host)
    labels = name.split(".")
    known = MULTI_LABEL_SUFFIXES | {s.strip(".").lower() for s in suffixes if "." in s.strip(".")}
    suffix_labels = 1
    for i in range(len(labels) - 1):  # longest candidate first
        if ".".join(labels[i:]) in known:
            suffix_labels = len(labels) - i
            break
    if len(labels) <= suffix_labels:
        raise _error(f"{host!r} is a public suffix, not a registered domain")
    return ".".join(labels[-(suffix_labels + 1) :])


@dataclass(frozen=True)
class _Bootstrap:
    """One RFC 9224 bootstrap file: which base URLs serve which entries."""

    url: str
    fetched_at: datetime
    data: Mapping[str, Any]
    services: tuple[tuple[tuple[str, ...], str], ...]

    @classmethod
    def parse(cls, data: object, *, url: str, fetched_at: datetime) -> _Bootstrap:
        """Read a bootstrap file; ``ReportError`` if it has no usable service."""
        if not isinstance(data, dict) or not isinstance(data.get("services"), list):
            raise _error("not an RDAP bootstrap file (no 'services' list)", url)
        services = []
        for service in data["services"]:
            if not (isinstance(service, list) and len(service) >= 2):
                continue
            entries, urls = service[-2], service[-1]  # RFC 9224 §3; the object-tag file has a third, leading item
            if not (isinstance(entries, list) and isinstance(urls, list)):
                continue
            base = _pick_base([u for u in urls if isinstance(u, str)])
            names = tuple(e.strip().lower() for e in entries if isinstance(e, str) and e.strip())
            if base and names:
                services.append((names, base))
        if not services:
            raise _error("RDAP bootstrap file lists no usable service", url)
        return cls(url=url, fetched_at=fetched_at, data=data, services=tuple(services))

    def fresh(self, ttl: timedelta, now: datetime) -> bool:
        """Whether this copy is younger than ``ttl`` (a copy dated in the future is not)."""
        return self.fetched_at <= now and now - self.fetched_at < ttl

    @property
    def entries(self) -> list[str]:
        """Every entry (TLDs or address blocks) the file lists."""
        return [entry for names, _ in self.services for entry in names]

    def base_for_domain(self, domain: str) -> str:
        """The base URL whose entry is the longest suffix of ``domain``."""
        labels = domain.split(".")
        for i in range(len(labels)):
            suffix = ".".join(labels[i:])
            for names, base in self.services:
                if suffix in names:
                    return base
        raise _error(f"no RDAP service for .{labels[-1]} in the bootstrap file", self.url)

    def base_for_address(self, address: IPAddress) -> str:
        """The base URL whose address block is the longest prefix holding ``address``."""
        best: tuple[int, str] | None = None
        for names, base in self.services:
            for entry in names:
                try:
                    network = ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    continue
                if network.version == address.version and address in network and (
                    best is None or network.prefixlen > best[0]
                ):
                    best = (network.prefixlen, base)
        if best is None:
            raise _error(f"no RDAP service for {address} in the bootstrap file", self.url)
        return best[1]


def _pick_base(urls: Sequence[str]) -> str | None:
    """The first HTTPS base URL, else the first HTTP one, ending in ``/``."""
    usable = [u for u in urls if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc]
    usable.sort(key=lambda u: urlsplit(u).scheme != "https")
    if not usable:
        return None
    return usable[0] if usable[0].endswith("/") else usable[0] + "/"


def _decode(raw: bytes, encoding: str, url: str) -> bytes:
    """Undo gzip/deflate content codings without ever holding more than ``MAX_RESPONSE_BYTES`` (+1)."""
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
    data = raw
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            wbits = 16 + zlib.MAX_WBITS
        elif coding == "deflate":
            wbits = zlib.MAX_WBITS if data[:1] == b"\x78" else -zlib.MAX_WBITS  # zlib-wrapped or raw
        else:
            raise _error(f"unsupported content encoding {coding!r}", url)
        decompressor = zlib.decompressobj(wbits)
        try:
            out = decompressor.decompress(data, MAX_RESPONSE_BYTES + 1)
        except zlib.error as exc:
            raise _error(f"cannot decode the {coding} response: {exc}", url) from exc
        if len(out) > MAX_RESPONSE_BYTES or decompressor.unconsumed_tail:
            raise _error(f"response larger than {MAX_RESPONSE_BYTES} bytes once decompressed", url)
        data = out
    return data


def _clean(text: object, limit: int = 200) -> str:
    """A single line of printable text from a value an RDAP server sent (anything else gives ``""``)."""
    if not isinstance(text, str):
        return ""
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


def _valid_email(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    candidate = value.strip()
    candidate = candidate[7:] if candidate.lower().startswith("mailto:") else candidate
    if not candidate:
        return None
    try:
        return check_email(candidate)
    except InvalidAddressError:
        return None  # RDAP data is third-party: an unusable abuse address is left out, as drafting would


@dataclass
class _Card:
    """What takedown reads from an entity's jCard (RFC 7095)."""

    name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    country: str | None = None


def _card(entity: Mapping[str, Any]) -> _Card:
    card = _Card()
    array = entity.get("vcardArray")
    if not (isinstance(array, list) and len(array) >= 2 and array[0] == "vcard" and isinstance(array[1], list)):
        return card
    fn = org = ""
    for prop in array[1]:
        if not (isinstance(prop, list) and len(prop) >= 4 and isinstance(prop[0], str)):
            continue
        name, params, values = prop[0].lower(), prop[1] if isinstance(prop[1], dict) else {}, prop[3:]
        first = values[0]
        if name == "fn":
            fn = fn or _clean(first)
        elif name == "org":
            org = org or _clean(first[0] if isinstance(first, list) and first else first)
        elif name == "email":
            card.emails += [v for v in values if isinstance(v, str)]
        elif name == "tel":
            card.phones += [p for p in (_clean(v).removeprefix("tel:") for v in values) if p]
        elif name == "adr" and card.country is None:
            cc = params.get("cc")
            country = cc if isinstance(cc, str) else (first[-1] if isinstance(first, list) and first else None)
            if isinstance(country, str) and re.fullmatch(r"[A-Za-z]{2}", country.strip()):
                card.country = country.strip().upper()
    card.name = fn or org
    return card


def _roles(entity: Mapping[str, Any]) -> set[str]:
    roles = entity.get("roles")
    return {r.lower() for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()


def _entities(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = obj.get("entities")
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def _abuse_entities(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Entities with the ``abuse`` role, breadth first (the object's own before those nested in its entities)."""
    out: list[Mapping[str, Any]] = []
    level = _entities(obj)
    for _ in range(_MAX_DEPTH):
        out += [e for e in level if "abuse" in _roles(e)]
        level = [child for e in level for child in _entities(e)]
    return out


def _iana_id(entity: Mapping[str, Any]) -> str:
    ids = entity.get("publicIds")
    for item in ids if isinstance(ids, list) else []:
        if isinstance(item, dict) and _clean(item.get("type")).lower() == "iana registrar id":
            return _clean(item.get("identifier"), 20)
    return ""


def _check_class(data: Mapping[str, Any], expected: str, url: str) -> None:
    got = data.get("objectClassName")
    if not (isinstance(got, str) and got.lower() == expected):
        raise _error(f"expected an RDAP {expected!r} object, got objectClassName={_clean(got) or None!r}", url)


_Source = Callable[[str], str]
"""Builds a recipient's ``source`` from the abuse entity's phone numbers (``"; tel ..."`` or ``""``)."""


def _recipients(
    contacts: Iterable[tuple[Mapping[str, Any], _Source, str | None]], *, kind: RecipientKind, name: str
) -> list[Recipient]:
    """Recipients for each (abuse entity, source, country), de-duplicated, invalid addresses dropped."""
    out: dict[str, Recipient] = {}
    for entity, source, country in contacts:
        card = _card(entity)
        phones = f"; tel {', '.join(card.phones[:2])}" if card.phones else ""
        for raw in card.emails:
            address = _valid_email(raw)
            if address is not None and address.casefold() not in out:
                out[address.casefold()] = Recipient(
                    address=address, kind=kind, name=name or card.name, source=source(phones),
                    country=country or card.country,
                )
    return list(out.values())


def _unique(recipients: Iterable[Recipient]) -> list[Recipient]:
    out: dict[str, Recipient] = {}
    for recipient in recipients:
        out.setdefault(recipient.address.casefold(), recipient)
    return list(out.values())


class RdapClient:
    """Looks up abuse contacts over RDAP, with IANA's bootstrap files cached on disk.

    Args:
        client: an ``httpx.AsyncClient`` to use (the fetch guard is added to its request hooks); if omitted, one
            is built from ``network`` on first use and closed by ``aclose()``.
        network: timeouts, proxy and what the fetch guard allows (tests and the demo allow loopback).
        bootstrap_base: where ``dns.json``, ``ipv4.json`` and ``ipv6.json`` are fetched from.
        cache_dir: where bootstrap files are cached (``rdap-bootstrap-<file>``); ``None`` keeps them in memory
            only.
        cache_ttl: how long a cached bootstrap file is used before it is fetched again. A stale copy is still
            used when fetching a new one fails (and no new fetch is tried for 15 minutes, or ``cache_ttl`` if
            shorter).
    """

    name: ClassVar[str] = "rdap"

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        network: NetworkSettings | None = None,
        bootstrap_base: str = IANA_BOOTSTRAP,
        cache_dir: Path | None = None,
        cache_ttl: timedelta = timedelta(days=7),
    ) -> None:
        self.network = network or NetworkSettings()
        self.guard = FetchGuard.for_network(self.network)
        self.bootstrap_base = bootstrap_base if bootstrap_base.endswith("/") else bootstrap_base + "/"
        self.cache_dir = cache_dir
        self.cache_ttl = cache_ttl
        self._owns_client = client is None
        self._client = client
        if client is not None:  # a client passed in is guarded too, redirects included
            guard_client(client, self.guard)
        self._bootstraps: dict[str, _Bootstrap] = {}
        self._retry_after: dict[str, datetime] = {}

    async def __aenter__(self) -> RdapClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _new_client(self) -> httpx.AsyncClient:
        return guarded_client(self.guard, self.network)

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client; one this lookup built is (re)built on demand, so the client can be reused after close.

        Raises:
            ReportError: the client was passed in and its owner has closed it.
        """
        if self._client is None or self._client.is_closed:
            if not self._owns_client:
                raise _error("the httpx client passed to RdapClient is closed")
            self._client = self._new_client()
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client if this lookup built it."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()

    # -- HTTP --------------------------------------------------------------------------------------------------

    async def _get_json(self, url: str) -> dict[str, Any]:
        """GET ``url`` and return its JSON object, within the size cap and the time limit."""
        headers = {"Accept": "application/rdap+json, application/json;q=0.9", "Accept-Encoding": "gzip, deflate"}
        chunks: list[bytes] = []
        where, encoding = url, ""
        try:
            async with asyncio.timeout(self.network.timeout_s):
                async with self.client.stream("GET", url, headers=headers) as response:
                    where = str(response.url)
                    if response.status_code == 404:
                        raise _error("RDAP server has no such object (HTTP 404)", where)
                    if response.status_code >= 400:
                        raise _error(f"RDAP server answered HTTP {response.status_code}", where)
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                        raise _error(f"response larger than {MAX_RESPONSE_BYTES} bytes ({declared} declared)", where)
                    size = 0
                    async for chunk in response.aiter_raw():
                        size += len(chunk)
                        if size > MAX_RESPONSE_BYTES:
                            raise _error(f"response larger than {MAX_RESPONSE_BYTES} bytes", where)
                        chunks.append(chunk)
                    encoding = response.headers.get("content-encoding", "")
        except ReportError:
            raise
        except FetchBlockedError as exc:
            raise _error(f"blocked by the fetch guard: {exc}", url) from exc
        except TimeoutError as exc:
            raise _error(f"no complete answer within {self.network.timeout_s:g} s", url) from exc
        except httpx.HTTPError as exc:
            raise _error(f"request failed: {type(exc).__name__}: {exc}", url) from exc
        body = _decode(b"".join(chunks), encoding, where)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise _error(f"response is not valid JSON: {exc}", where) from exc
        if not isinstance(data, dict):
            raise _error("response is not a JSON object", where)
        return data

    # -- bootstrap ---------------------------------------------------------------------------------------------

    def _cache_path(self, name: str) -> Path | None:
        return self.cache_dir / f"rdap-bootstrap-{name}" if self.cache_dir is not None else None

    def _read_cache(self, name: str, url: str) -> _Bootstrap | None:
        path = self._cache_path(name)
        if path is None or not path.is_file():
            return None
        try:
            stored = json.loads(path.read_bytes())
            if stored.get("url") != url:
                return None
            fetched_at = datetime.fromisoformat(stored["fetched_at"])
            if fetched_at.tzinfo is None:
                return None
            return _Bootstrap.parse(stored["data"], url=url, fetched_at=fetched_at.astimezone(UTC))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, ReportError):
            return None  # a damaged cache is ignored and rewritten on the next fetch

    def _write_cache(self, name: str, boot: _Bootstrap) -> None:
        path = self._cache_path(name)
        if path is None:
            return
        payload = {"url": boot.url, "fetched_at": boot.fetched_at.isoformat(), "data": boot.data}
        with contextlib.suppress(OSError):  # the cache is an optimisation: a read-only folder costs a fetch next time
            atomic_write(path, json.dumps(payload, ensure_ascii=False).encode("utf-8"))

    async def _bootstrap(self, name: str) -> _Bootstrap:
        """The bootstrap file ``name``: from memory or disk while fresh, else fetched (a stale copy if that fails)."""
        url = self.bootstrap_base + name
        now = utcnow()
        held = self._bootstraps.get(name)
        if held is not None and held.fresh(self.cache_ttl, now):
            return held
        disk = self._read_cache(name, url)
        copies = [c for c in (held, disk) if c is not None]
        newest = max(copies, key=lambda c: c.fetched_at) if copies else None
        if newest is not None and newest.fresh(self.cache_ttl, now):
            self._bootstraps[name] = newest
            return newest
        if newest is not None and now < self._retry_after.get(name, now):
            return newest  # a refresh failed a moment ago; do not wait on a dead server for every lookup
        try:
            boot = _Bootstrap.parse(await self._get_json(url), url=url, fetched_at=utcnow())
        except ReportError:
            if newest is None:
                raise
            self._retry_after[name] = now + min(self.cache_ttl, _RETRY_AFTER_FAILURE)
            self._bootstraps[name] = newest
            return newest
        self._retry_after.pop(name, None)
        self._bootstraps[name] = boot
        self._write_cache(name, boot)
        return boot

    # -- lookups -----------------------------------------------------------------------------------------------

    async def domain_abuse(self, domain: str) -> list[Recipient]:
        """The abuse contacts of the registrar of ``domain``'s registered domain (kind ``registrar``).

        ``domain`` may be any host name: it is reduced to its registered domain first (see
        ``registered_domain``; the bootstrap's multi-label entries count as public suffixes). The registry's
        answer is read first; when it names no registrar abuse address, its ``related`` link to the
        registrar's own RDAP server is followed once. Abuse entities listed at the domain object's top level
        are used after the registrar's.

        Returns:
            At least one recipient, best first, each with the registrar's name in ``name`` and, in ``source``,
            the registrar's IANA id and abuse phone where given and the RDAP URL.

        Raises:
            ReportError: the domain is not a domain, no RDAP service covers its TLD, the lookup failed, or
                the answer holds no valid abuse address.
        """
        boot = await self._bootstrap("dns.json")
        name = registered_domain(domain, suffixes=boot.entries)
        url = f"{boot.base_for_domain(name)}domain/{name}"
        data = await self._get_json(url)
        _check_class(data, "domain", url)
        found = self._registrar_contacts(data, url)
        related = self._related(data, url)
        if not found and related:
            answer = await self._get_json(related)
            _check_class(answer, "domain", related)
            found = self._registrar_contacts(answer, related)
        if not found:
            raise _error(f"the RDAP answer for {name} names no valid registrar abuse address", url)
        return found

    @staticmethod
    def _registrar_contacts(data: Mapping[str, Any], url: str) -> list[Recipient]:
        contacts: list[Recipient] = []
        for registrar in (e for e in _entities(data) if "registrar" in _roles(e)):
            card = _card(registrar)
            name = card.name or _clean(registrar.get("handle"))
            iana = _iana_id(registrar)
            label = ", ".join(p for p in (name, f"IANA id {iana}" if iana else "") if p)
            source = f"rdap registrar abuse ({label}"

            def registrar_source(phones: str, head: str = source) -> str:
                return f"{head}{phones}) at {url}"

            abuse = [(e, registrar_source, card.country) for e in _abuse_entities(registrar)]
            contacts += _recipients(abuse, kind=RecipientKind.REGISTRAR, name=name)

        def domain_source(phones: str) -> str:
            return f"rdap domain abuse contact{phones} at {url}"

        top = [(e, domain_source, None) for e in _entities(data) if "abuse" in _roles(e)]
        contacts += _recipients(top, kind=RecipientKind.REGISTRAR, name="")
        return _unique(contacts)

    @staticmethod
    def _related(data: Mapping[str, Any], url: str) -> str | None:
        """The registrar's RDAP URL for this domain, from a ``related`` link (gTLD registries give one)."""
        links = data.get("links")
        for link in links if isinstance(links, list) else []:
            target = link.get("href") if isinstance(link, dict) and link.get("rel") == "related" else None
            if not isinstance(target, str):
                continue
            href = urljoin(url, target.strip())
            kind = link.get("type")
            if (
                urlsplit(href).scheme in ("http", "https")
                and "/domain/" in href
                and href != url
                and (kind is None or (isinstance(kind, str) and "json" in kind))
            ):
                return href
        return None

    async def ip_abuse(self, address: str) -> list[Recipient]:
        """The abuse contacts of the network ``address`` belongs to (kind ``host``).

        Abuse entities are searched at the network object's top level first, then nested in its other entities
        (RIRs nest them under the ``registrant`` or ``administrative`` organisation).

        Returns:
            At least one recipient, best first, each named after the network's registrant (or the network) and
            with the network's country where the answer gives one.

        Raises:
            ReportError: ``address`` is not an IP address, no RDAP service covers it, the lookup failed, or the
                answer holds no valid abuse address.
        """
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]").split("%", 1)[0])
        except ValueError:
            raise _error(f"{address!r} is not an IP address") from None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        boot = await self._bootstrap("ipv4.json" if ip.version == 4 else "ipv6.json")
        url = f"{boot.base_for_address(ip)}ip/{ip}"
        data = await self._get_json(url)
        _check_class(data, "ip network", url)
        registrant = next((_card(e).name for e in _entities(data) if "registrant" in _roles(e)), "")
        network = " ".join(p for p in (_clean(data.get("handle"), 60), _clean(data.get("name"), 60)) if p)
        code = _clean(data.get("country"))
        country = code.upper() if re.fullmatch(r"[A-Za-z]{2}", code) else None
        label = ", ".join(p for p in (registrant, network) if p)

        def network_source(phones: str) -> str:
            return f"rdap network abuse ({label}{phones}) for {ip} at {url}"

        abuse = [(e, network_source, country) for e in _abuse_entities(data)]
        found = _recipients(abuse, kind=RecipientKind.HOST, name=registrant or _clean(data.get("name")))
        if not found:
            raise _error(f"the RDAP answer for {ip} names no valid abuse address", url)
        return found
