"""``HttpFetcher``: the one HTTP GET that site adapters share, guarded, polite, retrying and size-capped.

Every request, each redirect hop included, is checked by the fetch guard, waits for a per-host slot
(``HostLimiter``), is retried after HTTP 429/502/503/504 or a failed connect (``RetryPolicy``, honouring
``Retry-After``), and must finish within ``timeout_s``. Bodies are streamed and decoded here, not by httpx, so
that the byte cap counts *decoded* bytes as they arrive: a gzip or brotli bomb stops at the cap, whatever its
``Content-Length`` says. Pages are refused when their content type is not a page's.

```python
fetcher = HttpFetcher(NetworkSettings())
page = await fetcher.get("https://sns.example/post/1")               # a page: text types only
media = await fetcher.get("https://sns.example/m/1.jpg", kind="media")  # up to max_media_bytes
await fetcher.aclose()
```
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import importlib
import itertools
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from takedown.errors import SiteError
from takedown.settings import NetworkSettings
from takedown.sites.guard import FetchGuard, guard_client, guarded_client
from takedown.sites.limits import Clock, HostLimiter, Retry, RetryPolicy, SystemClock, parse_retry_after, retrying
from takedown.sites.manifests import HlsPlaylist, parse_hls

__all__ = ["FetchKind", "FetchResult", "HttpFetcher", "decode_text", "is_hls"]

FetchKind = Literal["page", "media", "feed"]
"""What a URL is expected to be: it picks the byte cap, the ``Accept`` header and the content types allowed."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Gzipped sitemaps and feeds are often served as archives rather than with a Content-Encoding.
_FEED_EXTRA_TYPES = ("application/gzip", "application/x-gzip")
# A media URL that answers with a web page is a login wall, a soft 404 or hotlink protection, not the media.
_NOT_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ACCEPT: dict[str, str] = {
    "page": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "feed": "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.8",
    "media": "*/*",
}
_HLS_TYPES = frozenset({"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl"})
_MAX_HLS_SEGMENTS = 20_000  # bytes are capped anyway; this caps the requests a playlist of empty segments costs
_PIECE = 64 * 1024  # the most one decompression step may produce, so that a bomb never inflates in one go


class FetchResult(BaseModel):
    """One completed GET: the final response after redirects, with its body decoded and capped."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    url: str
    """The URL asked for."""
    final_url: str
    """The URL that answered, after redirects."""
    status: int
    """The final HTTP status; error statuses are returned, not raised (a 404 is what a removed post looks like)."""
    headers: dict[str, str]
    """The final response's headers, names in lower case (repeated headers joined with ``", "``)."""
    body: bytes
    """The body after Content-Encoding decoding (gzip, deflate, br), at most the kind's byte cap."""
    content_type: str
    """The media type, lower case, without parameters; ``""`` when the server sent none."""
    charset: str | None = None
    """The charset the Content-Type header declared, if any."""
    redirects: tuple[str, ...] = ()
    """The URLs that redirected, in order, starting with ``url``; empty when there was no redirect."""

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body as text, in the declared charset, else a ``<meta charset>``, else UTF-8 or a guess."""
        return decode_text(self.body, self.charset)


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        yield from ()


class _Zlib:
    """gzip or deflate, producing at most ``_PIECE`` bytes per step."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_fallback = encoding == "deflate"  # "deflate" is zlib-wrapped by the spec, raw by some servers
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while True:
            try:
                out = self._obj.decompress(pending, _PIECE)
            except zlib.error:
                if not self._raw_fallback:
                    raise
                self._raw_fallback = False
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._obj.decompress(pending, _PIECE)
            self._raw_fallback = False
            if out:
                yield out
            pending = self._obj.unconsumed_tail
            # A full piece may leave output inside zlib with no input left: ask again until it is drained.
            if not pending and len(out) < _PIECE:
                return

    def flush(self) -> Iterator[bytes]:
        rest = self._obj.flush()
        if rest:
            yield rest


class _Brotli:
    def __init__(self, module: Any) -> None:
        self._module = module
        self._obj = module.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        out: bytes = self._obj.process(data, output_buffer_limit=_PIECE)
        while True:
            if out:
                yield out
            if self._obj.can_accept_more_data():
                return
            out = self._obj.process(b"", output_buffer_limit=_PIECE)

    def flush(self) -> Iterator[bytes]:
        yield from ()


@functools.cache
def _brotli() -> Any:
    """The ``brotli`` module if it can decompress in bounded steps (Brotli >= 1.2), else ``None``."""
    try:
        module = importlib.import_module("brotli")
    except ImportError:
        return None
    return module if hasattr(module.Decompressor(), "can_accept_more_data") else None


def _brotli_errors() -> tuple[type[Exception], ...]:
    module = _brotli()
    return (module.error,) if module is not None else ()


def _through(decoder: _Decoder, pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from decoder.feed(piece)


class _Chain:
    """Content-Encoding stages in decoding order (the last encoding applied is undone first)."""

    def __init__(self, stages: list[_Decoder]) -> None:
        self.stages = stages

    def feed(self, data: bytes) -> Iterator[bytes]:
        pieces: Iterable[bytes] = (data,)
        for stage in self.stages:
            pieces = _through(stage, pieces)
        return iter(pieces)

    def flush(self) -> Iterator[bytes]:
        pieces: Iterator[bytes] = iter(())
        for stage in self.stages:
            pieces = itertools.chain(_through(stage, pieces), stage.flush())
        return pieces


def _decoder_for(content_encoding: str, *, url: str, plugin: str) -> _Chain:
    stages: list[_Decoder] = []
    for token in reversed([t.strip().lower() for t in content_encoding.split(",") if t.strip()]):
        if token == "identity":
            stages.append(_Identity())
        elif token in ("gzip", "x-gzip"):
            stages.append(_Zlib("gzip"))
        elif token == "deflate":
            stages.append(_Zlib("deflate"))
        elif token == "br" and (module := _brotli()) is not None:
            stages.append(_Brotli(module))
        else:
            raise SiteError(f"unsupported Content-Encoding {token!r}", plugin=plugin, url=url)
    return _Chain(stages or [_Identity()])


def _accept_encoding() -> str:
    return "gzip, deflate, br" if _brotli() is not None else "gzip, deflate"


_META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# Codecs that decode any byte string: a body "in" one of them may well be mis-declared UTF-8.
_DECODES_ANYTHING = frozenset({"latin-1", "iso8859-1", "cp1252", "ascii"})


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    # Browsers read both as windows-1252 (WHATWG Encoding), and so do we.
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def _guess(body: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # an optional helper; without it undecodable bytes become U+FFFD
        return None
    best = from_bytes(body[: 256 * 1024]).best()
    return _codec(best.encoding) if best is not None else None


def decode_text(body: bytes, declared: str | None = None) -> str:
    """Decode a page body as a browser would, and survive a wrong declaration.

    The order: a byte-order mark; the ``declared`` charset (from Content-Type); a ``<meta charset>`` in the
    first 4 KiB; UTF-8; a statistical guess. The first that decodes without error wins, except that a body
    that is valid UTF-8 is read as UTF-8 when the declaration is a single-byte Latin charset (a common server
    default that would otherwise garble it).

    Args:
        body: the bytes, already Content-Encoding-decoded.
        declared: the charset the Content-Type header named, if any.

    Returns:
        The text; bytes that no candidate can decode become U+FFFD.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, "replace")
    sniffed = _META_CHARSET.search(body[:4096])
    names = [_codec(declared), _codec(sniffed.group(1).decode("ascii") if sniffed else None), "utf-8"]
    for name in dict.fromkeys(n for n in names if n):
        try:
            text = body.decode(name)
        except UnicodeDecodeError:
            continue
        if name in _DECODES_ANYTHING or name == "cp1252":
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return text
    return body.decode(_guess(body) or names[0] or "utf-8", "replace")


def _media_type(header: str) -> tuple[str, str | None]:
    main, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return main.strip().lower(), charset


def _type_matches(content_type: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if content_type == pattern or (pattern.endswith("/*") and content_type.startswith(pattern[:-1])):
            return True
    return False


@dataclass
class _Hop:
    """One request's answer: a redirect (``location``) or a final response with its body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    location: str | None = None


def _header_dict(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers.multi_items():
        name = key.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _is_connect_failure(exc: Exception) -> bool:
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


class HttpFetcher:
    """GETs URLs for site adapters: guarded, rate-limited per host, retried, size-capped and decoded.

    Args:
        network: timeouts, limits, retries, politeness, proxy, headers and cookies, and what the guard allows.
        client: an ``httpx.AsyncClient`` to use (tests pass one with a mock transport); the guard is added to its
            request hooks. If omitted, one is built from ``network`` and closed by ``aclose()``.
        limiter: a per-host limiter to share with other fetchers (default: one built from ``network``).
        clock: the time source for the limiter and retry waits (tests pass a fake one).
        plugin: the plugin name errors carry in ``SiteError.plugin``.
    """

    def __init__(
        self,
        network: NetworkSettings | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        limiter: HostLimiter | None = None,
        clock: Clock | None = None,
        plugin: str = "http",
    ) -> None:
        self.network = network or NetworkSettings()
        self.guard = FetchGuard.for_network(self.network)
        self.clock: Clock = clock or SystemClock()
        self.limiter = limiter or HostLimiter.for_network(self.network, clock=self.clock)
        self.retry_policy = RetryPolicy.for_network(self.network)
        self.plugin = plugin
        self._owns_client = client is None
        self._client = client or guarded_client(self.guard, self.network)
        if client is not None:  # a client passed in is guarded too, redirects included
            guard_client(client, self.guard)

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client; one this fetcher built is rebuilt after ``aclose()``, so the fetcher can be reused.

        Raises:
            SiteError: the client was passed in and its owner has closed it.
        """
        if self._client.is_closed:
            if not self._owns_client:
                raise SiteError("the httpx client passed to this adapter is closed", plugin=self.plugin)
            self._client = guarded_client(self.guard, self.network)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client if this fetcher built it (a later request builds a new one)."""
        if self._owns_client:
            await self._client.aclose()

    def limit_for(self, kind: FetchKind) -> int:
        """The byte cap for ``kind``: ``max_media_bytes`` for media, else ``max_body_bytes``."""
        return self.network.max_media_bytes if kind == "media" else self.network.max_body_bytes

    async def get(
        self,
        url: str,
        *,
        kind: FetchKind = "page",
        max_bytes: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET ``url``, following redirects, and return the final response with its decoded body.

        Args:
            url: an absolute http(s) URL.
            kind: ``"page"`` (HTML and the text types in ``page_content_types``), ``"feed"`` (those and gzip
                archives, for feeds and sitemaps) or ``"media"`` (anything but a web page).
            max_bytes: a cap below the kind's default (``max_body_bytes`` or ``max_media_bytes``).
            headers: extra request headers for this request.

        Returns:
            The final response; an HTTP error status is returned, not raised (retried first if transient).

        Raises:
            FetchBlockedError: the guard refused the URL or a redirect target (before connecting to it).
            SiteError: a timeout, a failed connection (after retries), a body over the byte cap, a content type
                that ``kind`` does not allow, an unsupported or broken Content-Encoding, a redirect loop or
                more than ``max_redirects`` redirects.
        """
        limit = min(max_bytes, self.limit_for(kind)) if max_bytes is not None else self.limit_for(kind)
        return await self._get(url, kind=kind, limit=limit, headers=headers or {})

    async def _get(
        self, url: str, *, kind: FetchKind, limit: int, headers: Mapping[str, str], what: str | None = None
    ) -> FetchResult:
        redirects: list[str] = []
        current = url
        while True:
            self.guard.check_scheme(current)  # a file:// or ftp:// redirect is refused here, before anything else
            hop = await self._hop_with_retries(current, kind=kind, limit=limit, headers=headers, what=what)
            if hop.location is None:
                content_type, charset = _media_type(hop.headers.get("content-type", ""))
                return FetchResult(
                    url=url, final_url=hop.url, status=hop.status, headers=hop.headers, body=hop.body,
                    content_type=content_type, charset=charset, redirects=tuple(redirects),
                )
            target = urljoin(current, hop.location)
            redirects.append(current)
            if redirects.count(target) >= 2:  # a URL may redirect to itself once (to set a cookie), not again
                raise SiteError(f"redirect loop: {' -> '.join([*redirects, target])}", plugin=self.plugin, url=url)
            if len(redirects) > self.network.max_redirects:
                raise SiteError(
                    f"more than {self.network.max_redirects} redirects (max_redirects)", plugin=self.plugin, url=url
                )
            current = target

    async def _hop_with_retries(
        self, url: str, *, kind: FetchKind, limit: int, headers: Mapping[str, str], what: str | None
    ) -> _Hop:
        def decide(hop: _Hop) -> Retry | None:
            if hop.status not in self.retry_policy.statuses:
                return None
            return Retry(f"HTTP {hop.status}", parse_retry_after(hop.headers.get("retry-after")))

        try:
            return await retrying(
                lambda: self._hop(url, kind=kind, limit=limit, headers=headers, what=what), self.retry_policy,
                decide=decide, retry_on=_is_connect_failure, clock=self.clock,
            )
        except SiteError:
            raise
        except TimeoutError as exc:
            raise SiteError(
                f"no complete answer within {self.network.timeout_s:g} s (timeout_s)", plugin=self.plugin, url=url
            ) from exc
        except httpx.TimeoutException as exc:
            raise SiteError(f"timed out: {type(exc).__name__}: {exc}", plugin=self.plugin, url=url) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise SiteError(f"request failed: {type(exc).__name__}: {exc}", plugin=self.plugin, url=url) from exc

    def _request_headers(self, kind: FetchKind, extra: Mapping[str, str]) -> dict[str, str]:
        return {
            "User-Agent": self.network.user_agent,
            "Accept": _ACCEPT[kind],
            "Accept-Encoding": _accept_encoding(),  # only what can be decoded in bounded steps
            **self.network.headers,
            **extra,
        }

    async def _hop(
        self, url: str, *, kind: FetchKind, limit: int, headers: Mapping[str, str], what: str | None
    ) -> _Hop:
        network = self.network
        host = (urlsplit(url).hostname or "").lower()
        client = self.client
        request = client.build_request(
            "GET", url, headers=self._request_headers(kind, headers),
            timeout=httpx.Timeout(
                connect=network.connect_timeout_s, read=network.read_timeout_s, write=network.read_timeout_s,
                pool=network.timeout_s,
            ),
        )
        if configured := network.cookies.get(host):
            mine = "; ".join(f"{name}={value}" for name, value in configured.items())
            jar = request.headers.get("cookie")
            request.headers["Cookie"] = f"{mine}; {jar}" if jar else mine
        # The deadline starts once the slot is ours: waiting for the limiter is not the server being slow.
        async with self.limiter.slot(host), asyncio.timeout(network.timeout_s):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                found = _header_dict(response.headers)
                if response.status_code in _REDIRECTS and "location" in found:
                    return _Hop(str(response.url), response.status_code, found, location=found["location"])
                if 200 <= response.status_code < 300:
                    self._check_type(url, kind, found.get("content-type", ""))
                body = await self._read(response, found, url=url, kind=kind, limit=limit, what=what)
                return _Hop(str(response.url), response.status_code, found, body)
            finally:
                await response.aclose()

    def _check_type(self, url: str, kind: FetchKind, header: str) -> None:
        content_type, _ = _media_type(header)
        if not content_type:  # servers do omit it; the body is judged by whoever reads it
            return
        if kind == "media":
            allowed = content_type not in _NOT_MEDIA_TYPES
        elif kind == "feed":
            allowed = _type_matches(content_type, (*self.network.page_content_types, *_FEED_EXTRA_TYPES)) or (
                content_type == "application/octet-stream" and urlsplit(url).path.endswith(".gz")
            )
        else:
            allowed = _type_matches(content_type, self.network.page_content_types)
        if not allowed:
            raise SiteError(f"unexpected content type {content_type!r} for a {kind}", plugin=self.plugin, url=url)

    async def _read(
        self, response: httpx.Response, headers: dict[str, str], *, url: str, kind: FetchKind, limit: int,
        what: str | None,
    ) -> bytes:
        setting = "max_media_bytes" if kind == "media" else "max_body_bytes"
        too_big = what or f"{kind} larger than {limit} bytes ({setting})"
        encoding = headers.get("content-encoding", "")
        declared = headers.get("content-length", "")
        if not encoding and declared.isdigit() and int(declared) > limit:
            raise SiteError(f"{too_big}: Content-Length says {declared}", plugin=self.plugin, url=url)
        if response.is_stream_consumed:  # a mock transport's response arrives already read and decoded by httpx
            if len(response.content) > limit:
                raise SiteError(too_big, plugin=self.plugin, url=url)
            return response.content
        decoder = _decoder_for(encoding, url=url, plugin=self.plugin)
        broken: tuple[type[Exception], ...] = (zlib.error, *_brotli_errors())
        chunks: list[bytes] = []
        size = 0
        try:
            async for raw in response.aiter_raw():
                for piece in decoder.feed(raw):
                    size += len(piece)
                    if size > limit:
                        raise SiteError(too_big, plugin=self.plugin, url=url)
                    chunks.append(piece)
            for piece in decoder.flush():
                size += len(piece)
                if size > limit:
                    raise SiteError(too_big, plugin=self.plugin, url=url)
                chunks.append(piece)
        except broken as exc:
            raise SiteError(f"cannot decode the {encoding} body: {exc}", plugin=self.plugin, url=url) from exc
        return b"".join(chunks)

    async def get_media(
        self, url: str, *, max_bytes: int | None = None, headers: Mapping[str, str] | None = None
    ) -> FetchResult:
        """GET one media item; an HLS video is fetched whole.

        An HLS playlist (a ``.m3u8`` URL or an ``application/vnd.apple.mpegurl`` answer) is read with
        ``takedown.sites.manifests.parse_hls``: of a master playlist the variant with the highest bandwidth is
        taken, then its init section (if any) and every segment are fetched through this fetcher, in order, and
        returned as one body: ``video/mp2t`` (MPEG-TS segments) or ``video/mp4`` (fragmented MP4). Anything else is
        returned as ``get(url, kind="media")`` returns it. DASH manifests (``.mpd``) are returned as they are.

        Args:
            url: the media URL.
            max_bytes: a cap below ``max_media_bytes``, for the whole item (all segments together).
            headers: extra request headers (e.g. ``Referer``), sent with every request for the item.

        Returns:
            The item; ``status`` is the HTTP error status if the URL (or the playlist) answered one. For an HLS
            video, ``headers`` and ``redirects`` are the playlist's.

        Raises:
            FetchBlockedError: the guard refused the URL, a redirect or a segment.
            SiteError: as ``get``; also an encrypted HLS stream, a playlist that cannot be read, a segment that
                answered an HTTP error, or more than ``max_media_bytes`` in all.
        """
        limit = self.limit_for("media") if max_bytes is None else min(max_bytes, self.limit_for("media"))
        extra = dict(headers or {})
        first_cap = min(limit, self.network.max_body_bytes) if is_hls(url) else limit
        result = await self._get(url, kind="media", limit=first_cap, headers=extra)
        if not result.ok or not (is_hls(url) or result.content_type in _HLS_TYPES):
            return result
        return await self._hls(result, limit=limit, headers=extra)

    async def _hls(self, playlist: FetchResult, *, limit: int, headers: Mapping[str, str]) -> FetchResult:
        parsed = parse_hls(playlist.text, playlist.final_url, max_segments=_MAX_HLS_SEGMENTS)
        best = parsed.best_variant()
        if best is not None:  # a master playlist: one level down to the media playlist of the best variant
            variant = await self._get(best.url, kind="media", limit=self.network.max_body_bytes, headers=headers)
            if not variant.ok:
                raise SiteError(f"HLS variant playlist answered HTTP {variant.status}", plugin=self.plugin,
                                url=best.url)
            parsed = parse_hls(variant.text, variant.final_url, max_segments=_MAX_HLS_SEGMENTS)
            if parsed.is_master:
                raise SiteError("HLS variant is itself a master playlist", plugin=self.plugin, url=best.url)
        if parsed.encrypted:
            raise SiteError("encrypted HLS (EXT-X-KEY) cannot be fetched", plugin=self.plugin, url=playlist.url)
        parts: list[bytes] = []
        size = 0
        too_big = f"HLS video larger than {limit} bytes (max_media_bytes)"
        for url, byte_range in self._hls_requests(parsed):
            extra = {**headers, "Range": f"bytes={byte_range[0]}-{byte_range[1] - 1}"} if byte_range else headers
            part = await self._get(url, kind="media", limit=limit - size, headers=extra, what=too_big)
            if not part.ok:
                raise SiteError(f"HLS segment answered HTTP {part.status}", plugin=self.plugin, url=url)
            # A server that ignores Range sends the whole file (200, not 206): keep only the sub-range.
            body = part.body[byte_range[0] : byte_range[1]] if byte_range and part.status != 206 else part.body
            size += len(body)
            parts.append(body)
        return FetchResult(
            url=playlist.url, final_url=playlist.final_url, status=playlist.status, headers=playlist.headers,
            body=b"".join(parts), content_type="video/mp4" if parsed.init_url else "video/mp2t",
            redirects=playlist.redirects,
        )

    @staticmethod
    def _hls_requests(playlist: HlsPlaylist) -> Iterator[tuple[str, tuple[int, int] | None]]:
        """The init section and each segment: URL and byte range [start, end) of ``#EXT-X-BYTERANGE`` segments."""
        if playlist.init_url:
            yield playlist.init_url, None
        next_offset: dict[str, int] = {}  # a sub-range without an offset starts where the previous one ended
        for segment in playlist.segments:
            if segment.byterange is None:
                yield segment.url, None
                continue
            length, offset = segment.byterange
            start = offset if offset is not None else next_offset.get(segment.url, 0)
            next_offset[segment.url] = start + length
            yield segment.url, (start, start + length)


def is_hls(url: str) -> bool:
    """Whether ``url`` names an HLS playlist (its path ends in ``.m3u8``)."""
    return urlsplit(url).path.lower().endswith(".m3u8")
