"""URL canonicalisation, so that one page found under several spellings is one candidate.

``canonicalize`` maps the spellings of a URL that servers treat alike to one string: ``HTTP://Site.Example:80/a/./b``
and ``http://site.example/a/b`` are one page, and so are a link with ``utm_source`` or ``fbclid`` tracking
parameters and one without. ``UrlSet`` de-duplicates by canonical form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote, urlsplit, urlunsplit

from takedown.errors import UsageError

__all__ = ["TRACKING_PARAMS", "UrlSet", "canonicalize", "dedupe"]

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id",
    "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id",
    "vero_id", "wickedid", "rb_clickid", "s_cid", "ncid", "ref_src", "ref_url",
})
"""Query parameters that only say where a click came from; ``canonicalize`` drops them (and every ``utm_*``)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_PATH_SAFE = "!$&'()*+,;=:@/"
_QUERY_SAFE = "!$'()*+,;:@/?"  # "&" and "=" separate parameters and are handled apart


def _escapes(part: str, safe: str) -> str:
    """Normalise percent-encoding: decode escapes of unreserved characters, upper-case the others, and encode
    what may not appear raw (spaces, non-ASCII as UTF-8, a ``%`` that starts no escape)."""
    out: list[str] = []
    last = 0
    for match in _ESCAPE.finditer(part):
        out.append(quote(part[last:match.start()], safe=safe))
        char = chr(int(match.group()[1:], 16))
        out.append(char if char in _UNRESERVED else match.group().upper())
        last = match.end()
    out.append(quote(part[last:], safe=safe))
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: resolve ``.`` and ``..`` segments."""
    segments = path.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def _host(host: str) -> str:
    host = host.lower().rstrip(".")
    if not host or host.startswith("[") or (host.isascii() and not host.startswith("xn--") and ".xn--" not in host):
        return host
    try:
        import idna  # a dependency of httpx; UTS 46 mapping like browsers

        return str(idna.encode(host, uts46=True).decode("ascii"))
    except (ImportError, UnicodeError, ValueError):
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return host


def _query(query: str, drop: frozenset[str]) -> str:
    pairs: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        name, value = _escapes(name, _QUERY_SAFE), _escapes(value, _QUERY_SAFE + "=")
        plain = name.lower()
        if plain.startswith("utm_") or plain in drop:
            continue
        pairs.append((name, f"{sep}{value}"))
    return "&".join(name + rest for name, rest in sorted(pairs))


def canonicalize(url: str, *, drop_params: Iterable[str] = TRACKING_PARAMS) -> str:
    """The canonical spelling of an ``http``/``https`` URL.

    Scheme and host are lower-cased, the host IDNA-encoded and stripped of a trailing dot, a default port
    dropped, percent-encoding normalised (unreserved characters decoded, hex upper-cased, the rest encoded as
    UTF-8), ``.`` and ``..`` path segments resolved, an empty path made ``/``, ``utm_*`` and the other
    ``drop_params`` removed, the query sorted (a bare ``?`` is dropped) and the fragment removed, unless it is a
    ``#!`` route of a script-driven site. A trailing slash is kept: ``/a`` and ``/a/`` may be different pages.
    Other schemes (``mailto:``, ``ftp:``) lose only their fragment and have their scheme lower-cased.
    The result is stable: ``canonicalize(canonicalize(u)) == canonicalize(u)``.

    Raises:
        UsageError: ``url`` is not absolute (it has no scheme, or an http(s) URL has no host).
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # e.g. an unbalanced IPv6 bracket
        raise UsageError(f"not a valid URL: {url!r}") from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise UsageError(f"not an absolute URL: {url!r}")
    if scheme not in _DEFAULT_PORTS:
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    if not parts.hostname:
        raise UsageError(f"an {scheme} URL without a host: {url!r}")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host = _host(parts.hostname if not hostport.startswith("[") else hostport[: hostport.index("]") + 1])
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"not a valid port in {url!r}") from exc
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if userinfo:
        netloc = f"{_escapes(userinfo, '!$&()*+,;=:')}@{netloc}"
    path = _remove_dot_segments(_escapes(parts.path, _PATH_SAFE)) if parts.path else "/"
    query = _query(parts.query, frozenset(p.lower() for p in drop_params))
    fragment = _escapes(parts.fragment, _PATH_SAFE + "?") if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, path, query, fragment))


def dedupe(urls: Iterable[str]) -> list[str]:
    """The URLs without repeats by canonical form, each kept as first spelled, in their order."""
    seen = UrlSet()
    return [url for url in urls if seen.add(url)]


class UrlSet:
    """A set of URLs compared by canonical form (``canonicalize``), iterated in insertion order.

    Args:
        urls: URLs to start with.
        drop_params: query parameters to ignore besides ``utm_*`` (default ``TRACKING_PARAMS``).
    """

    def __init__(self, urls: Iterable[str] = (), *, drop_params: Iterable[str] = TRACKING_PARAMS) -> None:
        self._drop = frozenset(drop_params)
        self._seen: dict[str, None] = {}
        for url in urls:
            self.add(url)

    def canonical(self, url: str) -> str:
        """``url`` in the canonical form this set compares by."""
        return canonicalize(url, drop_params=self._drop)

    def add(self, url: str) -> bool:
        """Add ``url``; ``True`` if it was new, ``False`` if a spelling of it was already in the set.

        Raises:
            UsageError: ``url`` is not absolute.
        """
        key = self.canonical(url)
        if key in self._seen:
            return False
        self._seen[key] = None
        return True

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str):
            return False
        try:
            return self.canonical(url) in self._seen
        except UsageError:
            return False

    def __len__(self) -> int:
        return len(self._seen)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._seen))
