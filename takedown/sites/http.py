"""A site adapter over plain HTTP (httpx): search through the site's search URL, fetch pages and their media.

Every request, redirects included, passes the fetch guard. Media downloads stop at ``max_media_bytes``.
Contact hints come from ``mailto:`` links on the page, the site's contact pages and ``security.txt``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import ClassVar
from urllib.parse import quote_plus, urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from takedown.detect.references import media_kind_of
from takedown.errors import FetchBlockedError, SiteError
from takedown.models import Candidate, ContactHint, FetchedMedia, MediaKind, Page, SearchQuery
from takedown.report.security_txt import parse_security_txt
from takedown.settings import NetworkSettings
from takedown.sites.extract import extract
from takedown.sites.guard import FetchGuard, guard_client, guarded_client

__all__ = ["HttpSite", "HttpSiteConfig"]

_CONTACT_WORDS = re.compile(r"contact|abuse|report|dmca|takedown|문의|신고|連絡|お問い合わせ|联系|举报", re.IGNORECASE)


class HttpSiteConfig(BaseModel):
    """How to search one site over HTTP and recognise its result pages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str = Field(description="a stable label for the site, e.g. its host name")
    base_url: str
    search_path: str = Field(default="/search?q={query}", description="{query} is replaced, URL-encoded")
    result_pattern: str = Field(default=r"/post/", description="a regex that result links' URLs match")
    max_pages: int = Field(default=10, ge=1, description="how many result pages to follow")
    contact_pages: int = Field(default=2, ge=0, description="contact pages to read for addresses, per site")
    language: str | None = None


class HttpSite:
    """Searches a site through its search URL and fetches pages over HTTP.

    Args:
        config: which site and how to search it.
        network: timeouts, size limits and what the fetch guard allows.
        client: an ``httpx.AsyncClient`` to use (tests pass one with a mock transport); if omitted, one is built
            from ``network`` and closed by ``aclose()``.
    """

    name: ClassVar[str] = "http"

    def __init__(
        self,
        config: HttpSiteConfig,
        *,
        network: NetworkSettings | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.network = network or NetworkSettings()
        self.guard = FetchGuard.for_network(self.network)
        self._owns_client = client is None
        self._client = client or self._new_client()
        if client is not None:  # a client passed in is guarded too, redirects included
            guard_client(client, self.guard)
        self._contacts: dict[str, tuple[ContactHint, ...]] = {}

    @property
    def site(self) -> str:
        """The site's label."""
        return self.config.site

    def _new_client(self) -> httpx.AsyncClient:
        return guarded_client(self.guard, self.network)

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client; one this adapter built is rebuilt after ``aclose()``, so the adapter can be reused.

        Raises:
            SiteError: the client was passed in and its owner has closed it.
        """
        if self._client.is_closed:
            if not self._owns_client:
                raise SiteError("the httpx client passed to this adapter is closed", plugin=self.name)
            self._client = self._new_client()
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter built it (a later request builds a new one)."""
        if self._owns_client:
            await self._client.aclose()

    async def _get(self, url: str) -> httpx.Response:
        try:
            return await self.client.get(url)
        except FetchBlockedError:
            raise
        except httpx.HTTPError as exc:
            raise SiteError(f"request failed: {type(exc).__name__}: {exc}", plugin=self.name, url=url) from exc

    async def search(self, query: SearchQuery) -> AsyncIterator[Candidate]:
        """Yield result pages of the site's search for ``query.text``, following ``rel=next`` pagination."""
        url: str | None = urljoin(self.config.base_url, self.config.search_path.format(query=quote_plus(query.text)))
        pattern = re.compile(self.config.result_pattern)
        host = urlsplit(self.config.base_url).netloc
        seen: set[str] = set()
        pages = 0
        while url and pages < self.config.max_pages and len(seen) < query.limit:
            response = await self._get(url)
            if response.status_code >= 400:
                raise SiteError(f"search answered HTTP {response.status_code}", plugin=self.name, url=url)
            content = extract(response.text, str(response.url))
            for link in content.links:
                if urlsplit(link.url).netloc != host or not pattern.search(link.url) or link.url in seen:
                    continue
                seen.add(link.url)
                yield Candidate(
                    case_id=query.case_id, site=self.site, url=link.url, title=link.text, query=query.text,
                    language=self.config.language,
                )
                if len(seen) >= query.limit:
                    break
            following = [link.url for link in content.links if "next" in link.rel.split()]
            url = following[0] if following and following[0] != url else None
            pages += 1

    async def fetch(self, candidate: Candidate) -> Page:
        """Fetch the page, its media (raw bytes, up to ``max_media_bytes`` each) and contact hints.

        An HTTP error status is returned in ``Page.status`` (a 404 or 410 is what a removed post looks like);
        network failures raise ``SiteError``.
        """
        response = await self._get(candidate.url)
        final_url = str(response.url)
        headers = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code >= 400:
            return Page(url=candidate.url, final_url=final_url, status=response.status_code, headers=headers)
        content = extract(response.text, final_url)
        media = [await self._download(ref.url, ref.kind) for ref in content.media]
        hints = [ContactHint(kind="email", value=e, source=final_url) for e in content.emails]
        hints += await self._site_contacts(final_url, [link.url for link in content.links if _CONTACT_WORDS.search(
            f"{link.url} {link.text}")])
        return Page(
            url=candidate.url, final_url=final_url, status=response.status_code, headers=headers,
            html=response.text, text=content.text, title=content.title,
            language=content.language or self.config.language,
            media=tuple(m for m in media if m is not None), contacts=tuple(dict.fromkeys(hints)),
        )

    async def _download(self, url: str, kind: MediaKind) -> FetchedMedia | None:
        limit = self.network.max_media_bytes
        try:
            async with self.client.stream("GET", url) as response:
                if response.status_code >= 400:
                    return None
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise SiteError(f"media larger than {limit} bytes", plugin=self.name, url=url)
                chunks, size = [], 0
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if size > limit:
                        raise SiteError(f"media larger than {limit} bytes", plugin=self.name, url=url)
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0]
        except FetchBlockedError:
            raise
        except httpx.HTTPError as exc:
            raise SiteError(f"media download failed: {exc}", plugin=self.name, url=url) from exc
        actual = media_kind_of(url, content_type) or kind
        return FetchedMedia(url=url, kind=actual, content_type=content_type, content=b"".join(chunks))

    async def _site_contacts(self, page_url: str, contact_links: list[str]) -> list[ContactHint]:
        parts = urlsplit(page_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._contacts:
            hints: list[ContactHint] = []
            for link in [u for u in dict.fromkeys(contact_links) if u.startswith(origin)][: self.config.contact_pages]:
                try:
                    response = await self._get(link)
                except SiteError:
                    continue
                if response.status_code < 400:
                    emails = extract(response.text, link).emails
                    hints += [ContactHint(kind="email", value=e, source=link) for e in emails]
            security = f"{origin}/.well-known/security.txt"
            try:
                found: httpx.Response | None = (await self._get(security)).raise_for_status()
            except (SiteError, httpx.HTTPStatusError):
                found = None
            if found is not None and found.headers.get("content-type", "").startswith("text/plain"):
                parsed = parse_security_txt(found.text, source=security)
                if not parsed.expired:  # an expired file is stale by its own statement (RFC 9116 2.5.5)
                    hints += [ContactHint(kind="security_txt", value=c, source=security) for c in parsed.emails]
            self._contacts[origin] = tuple(hints)
        return list(self._contacts[origin])
