"""A site adapter over plain HTTP: search through the site's search URL, fetch pages and their media.

Every request goes through ``HttpFetcher``: the fetch guard (redirects included), a per-host limiter, retries,
timeouts, and byte caps counted after decompression. Pages must have a page's content type; media is stored
decoded, as the site serves it; an HLS video (``.m3u8``) is fetched segment by segment into one MPEG-TS item.
Contact hints come from ``mailto:`` links on the page, the site's contact pages and ``security.txt``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from typing import ClassVar
from urllib.parse import quote_plus, urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import SiteError, UsageError
from takedown.models import Candidate, ContactHint, FetchedMedia, MediaKind, MediaRef, Page, SearchQuery, media_kind_of
from takedown.security_txt import parse_security_txt
from takedown.settings import NetworkSettings
from takedown.sites.extract import extract
from takedown.sites.fetcher import FetchResult, HttpFetcher, is_hls
from takedown.sites.urls import canonicalize

__all__ = ["HttpSite", "HttpSiteConfig"]


class HttpSiteConfig(BaseModel):
    """How to search one site over HTTP and recognise its result pages."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    site: str = Field(description="a stable label for the site, e.g. its host name")
    base_url: str
    search_path: str = Field(default="/search?q={query}", description="{query} is replaced, URL-encoded")
    result_pattern: str = Field(default=r"/post/", description="a regex that result links' URLs match")
    max_pages: int = Field(default=10, ge=1, description="how many result pages to follow")
    contact_pages: int = Field(default=2, ge=0, description="contact pages to read for addresses, per site")
    max_media: int = Field(default=50, ge=0, description="the most media items downloaded per page")
    max_page_media_bytes: int = Field(default=256 * 1024 * 1024, gt=0,
                                      description="media bytes downloaded per page, all items together")
    language: str | None = None


class HttpSite:
    """Searches a site through its search URL and fetches pages over HTTP.

    Args:
        config: which site and how to search it.
        network: timeouts, size limits, retries, per-host limits and what the fetch guard allows.
        client: an ``httpx.AsyncClient`` to use (tests pass one with a mock transport); if omitted, one is built
            from ``network`` and closed by ``aclose()``.
        fetcher: an ``HttpFetcher`` to share with other adapters (its ``network`` then applies); ``client`` is
            ignored when it is given.
    """

    name: ClassVar[str] = "http"

    def __init__(
        self,
        config: HttpSiteConfig,
        *,
        network: NetworkSettings | None = None,
        client: httpx.AsyncClient | None = None,
        fetcher: HttpFetcher | None = None,
    ) -> None:
        self.config = config
        self.fetcher = fetcher or HttpFetcher(network, client=client, plugin=self.name)
        self.network = self.fetcher.network
        self.guard = self.fetcher.guard
        self._owns_fetcher = fetcher is None
        self._contacts: dict[str, tuple[ContactHint, ...]] = {}
        self._contact_locks: dict[tuple[int, str], asyncio.Lock] = {}

    @property
    def site(self) -> str:
        """The site's label."""
        return self.config.site

    @property
    def client(self) -> httpx.AsyncClient:
        """The fetcher's HTTP client (rebuilt after ``aclose()`` if the adapter built it).

        Raises:
            SiteError: the client was passed in and its owner has closed it.
        """
        return self.fetcher.client

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter built it (a later request builds a new one)."""
        if self._owns_fetcher:
            await self.fetcher.aclose()

    async def search(self, query: SearchQuery) -> AsyncIterator[Candidate]:
        """Yield result pages of the site's search for ``query.text``, following ``rel=next`` pagination.

        Raises:
            SiteError: a search page failed, answered an HTTP error, or is not a page.
        """
        url: str | None = urljoin(self.config.base_url, self.config.search_path.format(query=quote_plus(query.text)))
        pattern = re.compile(self.config.result_pattern)
        host = urlsplit(canonicalize(self.config.base_url)).netloc
        seen: set[str] = set()
        visited: set[str] = set()
        pages = 0
        while url and pages < self.config.max_pages and len(seen) < query.limit:
            visited.add(url)
            result = await self.fetcher.get(url)
            if result.status >= 400:
                raise SiteError(f"search answered HTTP {result.status}", plugin=self.name, url=url)
            content = extract(result.text, result.final_url)
            for link in content.links:
                try:
                    found = canonicalize(link.url)  # one page under two spellings (tracking tags, ports): one candidate
                except UsageError:  # a malformed link (a port out of range, a bad host) is no candidate
                    continue
                if urlsplit(found).netloc != host or not pattern.search(found) or found in seen:
                    continue
                seen.add(found)
                yield Candidate(
                    case_id=query.case_id, site=self.site, url=found, title=link.text, query=query.text,
                    language=self.config.language,
                )
                if len(seen) >= query.limit:
                    break
            following = content.next_page
            url = following if following and following not in visited else None
            pages += 1

    async def fetch(self, candidate: Candidate) -> Page:
        """Fetch the page, its media (decoded bytes, up to ``max_media_bytes`` each) and contact hints.

        A candidate whose URL is itself an image, video or HLS playlist is fetched as media: the page then holds
        that one item. An HTTP error status is returned in ``Page.status`` (a 404 or 410 is what a removed post
        looks like). A media item that cannot be had (an error status, a blocked address, over its byte cap, a web
        page where media was expected, beyond ``max_media`` or the page's byte budget) is left out and named in
        ``Page.skipped``, so one hostile item never hides the rest of the page.

        Raises:
            FetchBlockedError: the guard refused the page or a redirect of it.
            SiteError: a timeout or failed connection, a page over its byte cap, or a page whose content type is
                not a page's (an image, ``application/octet-stream``).
        """
        if is_hls(candidate.url) or media_kind_of(urlsplit(candidate.url).path) is not None:
            return await self._fetch_media_page(candidate)
        result = await self.fetcher.get(candidate.url)
        final_url = result.final_url
        if result.status >= 400:
            return Page(url=candidate.url, final_url=final_url, status=result.status, headers=result.headers)
        html = result.text
        content = extract(html, final_url)
        media, skipped = await self._download_all(content.media, referer=final_url)
        hints = [ContactHint(kind="email", value=e, source=final_url) for e in content.emails]
        hints += await self._site_contacts(final_url, list(content.contact_pages))
        return Page(
            url=candidate.url, final_url=final_url, status=result.status, headers=result.headers,
            html=html, body=result.body, text=content.text, title=content.title,
            language=content.language or self.config.language,
            media=tuple(media), skipped=tuple(skipped), contacts=tuple(dict.fromkeys(hints)),
        )

    async def _download_all(self, refs: Sequence[MediaRef], *, referer: str) -> tuple[list[FetchedMedia], list[str]]:
        media: list[FetchedMedia] = []
        skipped = [f"{ref.url}: more than {self.config.max_media} media items on the page"
                   for ref in refs[self.config.max_media :]]
        budget = self.config.max_page_media_bytes
        for ref in refs[: self.config.max_media]:
            if budget <= 0:
                skipped.append(f"{ref.url}: the page's media budget ({self.config.max_page_media_bytes} B) is spent")
                continue
            try:
                item = await self._download(ref.url, ref.kind, referer=referer)
            except SiteError as exc:  # FetchBlockedError included: that item is refused, not the page
                skipped.append(f"{ref.url}: {exc}")
                continue
            if item is None:
                skipped.append(f"{ref.url}: answered an HTTP error")
                continue
            budget -= len(item.content)
            media.append(item)
        return media, skipped

    async def _fetch_media_page(self, candidate: Candidate) -> Page:
        result = await self.fetcher.get_media(candidate.url)
        page = Page(url=candidate.url, final_url=result.final_url, status=result.status, headers=result.headers,
                    language=self.config.language)
        if result.status >= 400:
            return page
        return page.model_copy(update={"media": (_as_media(result, None),)})

    async def _download(self, url: str, kind: MediaKind, *, referer: str) -> FetchedMedia | None:
        # The page as Referer, as a browser sends it: hotlink protection otherwise answers with a web page.
        result = await self.fetcher.get_media(url, headers={"Referer": referer})
        if result.status >= 400:
            return None
        return _as_media(result, kind)

    async def _site_contacts(self, page_url: str, contact_links: list[str]) -> list[ContactHint]:
        parts = urlsplit(page_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        # Posts fetched at once would each read the contact pages before the first read is cached: one reads.
        # One lock per event loop too: an asyncio lock cannot be shared by two loops (a reused adapter).
        key = (id(asyncio.get_running_loop()), origin)
        async with self._contact_locks.setdefault(key, asyncio.Lock()):
            if origin not in self._contacts:
                self._contacts[origin] = await self._read_contacts(origin, contact_links)
        return list(self._contacts[origin])

    async def _read_contacts(self, origin: str, contact_links: list[str]) -> tuple[ContactHint, ...]:
        hints: list[ContactHint] = []
        for link in [u for u in dict.fromkeys(contact_links) if u.startswith(origin)][: self.config.contact_pages]:
            found = await self._optional(link)
            if found is not None:
                hints += [ContactHint(kind="email", value=e, source=link) for e in extract(found.text, link).emails]
        security = f"{origin}/.well-known/security.txt"
        answer = await self._optional(security)
        if answer is not None and answer.content_type == "text/plain":
            parsed = parse_security_txt(answer.text, source=security)
            if not parsed.expired:  # an expired file is stale by its own statement (RFC 9116 2.5.5)
                hints += [ContactHint(kind="security_txt", value=c, source=security) for c in parsed.emails]
        return tuple(hints)

    async def _optional(self, url: str) -> FetchResult | None:
        """A page that helps but is not needed (a contact page, security.txt): any failure is ``None``."""
        try:
            result = await self.fetcher.get(url)
        except SiteError:
            return None
        return result if result.ok else None


def _as_media(result: FetchResult, kind: MediaKind | None) -> FetchedMedia:
    content_type = result.content_type or "application/octet-stream"
    actual = media_kind_of(result.url, content_type) or kind or MediaKind.VIDEO
    return FetchedMedia(url=result.url, kind=actual, content_type=content_type, content=result.body)
