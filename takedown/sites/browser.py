"""A site adapter that renders pages in headless Chromium: JavaScript feeds, infinite scroll, gates and logins.

Many sites where copies are posted show nothing without JavaScript: the feed arrives from an API, more posts load
as the reader scrolls, an age gate or a cookie banner covers the page, and videos play from HLS playlists through
a script, so the page's HTML names no media file at all. :class:`BrowserSite` drives Chromium through Selenium
(see :mod:`takedown.sites.chromium`) to read such sites as a person would:

- ``search`` renders the search page (or the listing pages), clicks through gates, scrolls and clicks "load
  more" until no new results appear, follows "next page", and yields each result link once;
- ``fetch`` renders the post, reads the DOM as the browser built it (``Page.html``), its visible text, title and
  language, and collects the media the page loaded at run time from the browser's network log (images, videos,
  HLS playlists and their segments, the network URLs behind a ``blob:`` player), then downloads them through the
  guarded, size-capped :class:`~takedown.sites.fetcher.HttpFetcher` (an HLS stream arrives as one video).

Guarding: every navigation passes the :class:`~takedown.sites.guard.FetchGuard` before the browser is sent there,
and so does every media download. When the adapter starts its own browsers (no ``pool`` passed, or a pool built
with ``guard=``), every request the browser makes (sub-resources, scripts' requests, redirects) goes through a
:class:`~takedown.sites.guard_proxy.GuardProxy` that refuses what the guard refuses. Browsers started by a
``driver_factory`` or an unguarded pool you pass in are not behind the proxy: then only navigations and downloads
are guarded. Media that the guard refuses is left out of the page; the refusals are in :attr:`BrowserSite.blocked`.

Selenium is blocking: the adapter runs it in worker threads (``asyncio.to_thread``), one borrowed driver per call.
A driver that crashes is released as broken and the pool starts a new one for the next call.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar
from urllib.parse import quote_plus, urldefrag, urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from takedown.errors import EvidenceError, FetchBlockedError, MissingDependencyError, SiteError, UsageError
from takedown.models import Candidate, ContactHint, FetchedMedia, MediaKind, Page, SearchQuery, media_kind_of
from takedown.settings import EvidenceSettings, NetworkSettings
from takedown.sites.chromium import DriverPool, full_page_screenshot, is_alive, navigate
from takedown.sites.extract import extract
from takedown.sites.fetcher import HttpFetcher
from takedown.sites.guard import FetchGuard
from takedown.sites.guard_proxy import BlockedRequest

if TYPE_CHECKING:
    import httpx
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

__all__ = ["BrowserCookie", "BrowserLogin", "BrowserSite", "BrowserSiteConfig"]

_T = TypeVar("_T")
_SPACE: Final = re.compile(r"\s+")
_WAIT: Final = re.compile(r"load|idle(:\d{1,6})?|selector:.+", re.DOTALL)
_IDLE_MS: Final = 500
_POLL_S: Final = 0.05
_ACQUIRE_TIMEOUT_S: Final = 600.0
_HLS_TYPES: Final = frozenset({"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl",
                               "audio/x-mpegurl"})
_SEGMENT_TYPES: Final = frozenset({"video/mp2t", "video/iso.segment"})
_SEGMENT_SUFFIXES: Final = (".ts", ".m4s")
_SKIPPED_TYPES: Final = frozenset({"image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon",
                                   "application/dash+xml"})
# Requests that may stay open for as long as the page is shown: they never count against "network idle".
_LONG_LIVED: Final = frozenset({"Media", "EventSource", "WebSocket", "Ping"})


class BrowserCookie(BaseModel):
    """A cookie to put in the browser before every page: how a session copied from a signed-in browser is used."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str = Field(min_length=1)
    value: SecretStr
    domain: str | None = Field(default=None, description="default: the host of base_url (a host-only cookie)")
    path: str = "/"
    secure: bool = False
    http_only: bool = False


class BrowserLogin(BaseModel):
    """How to sign in with a user name and password; the session cookies it gets are reused for every page."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    url: str = Field(description="the sign-in page, absolute or relative to base_url")
    username: str
    password: SecretStr
    username_selector: str = "input[name=username], input[name=email], input[type=email]"
    password_selector: str = "input[type=password]"
    submit_selector: str | None = Field(
        default="button[type=submit], input[type=submit]", description="None: press Enter in the password field"
    )
    done_selector: str | None = Field(
        default=None,
        description="CSS that only a signed-in page shows; default: signing in succeeded when the browser left"
        " the sign-in page",
    )


class BrowserSiteConfig(BaseModel):
    """How to find and read one site in a browser.

    Gates (``cookie_banner``, then ``age_gate``) are lists of what to click if present: a CSS selector, or
    ``text=Label`` for a button or link whose visible text is ``Label`` (case-insensitive). ``wait`` says when a
    rendered page is ready: ``load`` (the load event), ``idle`` or ``idle:<ms>`` (no network request open and none
    for that many milliseconds, default 500), or ``selector:<css>`` (an element matching it exists). A page that
    never gets ready within ``wait_timeout_s`` is read as it is then.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    site: str = Field(description="a stable label for the site, e.g. its host name")
    base_url: str
    search_url: str | None = Field(
        default="/search?q={query}", description="{query} is replaced, URL-encoded; None: the site has no search"
    )
    listing_urls: tuple[str, ...] = Field(
        default=(), description="pages whose results are yielded for any query (a home feed, a 'latest' page)"
    )
    result_selector: str = Field(default="a[href]", description="CSS for the result links on search and listings")
    result_pattern: str | None = Field(default=None, description="a regex that result links' URLs must match")
    same_host: bool = Field(default=True, description="keep only results on base_url's host")
    media_selector: str = Field(
        default="img, video, audio, source", description="CSS for the media elements of a post page"
    )
    network_media: bool = Field(
        default=True, description="also take the media the page loaded at run time, from the network log"
    )
    load_more_selector: str | None = Field(default=None, description="a 'load more' button to click after scrolling")
    next_page_selector: str | None = Field(default=None, description="a link or button to the next page of results")
    wait: str = "idle"
    wait_timeout_s: float = Field(default=10.0, gt=0)
    max_scrolls: int = Field(default=20, ge=0, description="scrolls (and 'load more' clicks) per results page")
    scroll_pause_s: float = Field(
        default=1.0, gt=0,
        description="how long the network must stay quiet after a scroll before 'no new results' is concluded",
    )
    max_pages: int = Field(default=10, ge=1, description="results pages to follow per search or listing URL")
    cookie_banner: tuple[str, ...] = ()
    age_gate: tuple[str, ...] = ()
    cookies: tuple[BrowserCookie, ...] = ()
    login: BrowserLogin | None = None
    language: str | None = Field(default=None, description="the site's language, when a page does not say")
    max_media: int = Field(default=50, ge=0, description="the most media items downloaded per page")
    pool_size: int = Field(default=1, ge=1, description="browsers the adapter starts, when no pool is passed in")

    @field_validator("wait")
    @classmethod
    def _valid_wait(cls, value: str) -> str:
        if not _WAIT.fullmatch(value):
            raise ValueError("wait is 'load', 'idle', 'idle:<ms>' or 'selector:<css>'")
        return value

    @field_validator("result_pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @model_validator(mode="after")
    def _something_to_search(self) -> BrowserSiteConfig:
        if self.search_url is None and not self.listing_urls:
            raise ValueError("give a search_url, listing_urls, or both")
        if self.search_url is not None and "{query}" not in self.search_url:
            raise ValueError("search_url must contain {query}")
        return self


@dataclass
class _Lead:
    """A media URL the page showed or loaded, and what it seems to be."""

    url: str
    kind: MediaKind
    hls: bool = False
    segment: bool = False


@dataclass
class _Rendered:
    """What the browser saw of one page, read in the worker thread."""

    final_url: str
    status: int
    headers: dict[str, str]
    html: str
    body: bytes
    text: str
    title: str
    language: str | None
    leads: list[_Lead]
    cookies: list[dict[str, Any]] = field(default_factory=list)
    left_over: list[str] = field(default_factory=list)  # media URLs beyond max_media


class BrowserSite:
    """Searches and fetches a site in headless Chromium.

    Args:
        config: which site, and how to search and read it.
        network: timeouts, size limits and what the fetch guard allows.
        evidence: the Chromium paths and page-load timeout, for browsers the adapter starts.
        pool: browsers to borrow (shared with other adapters or the evidence capture); the caller closes it.
            Build it with ``guard=`` so the pages' own requests are guarded too.
        driver_factory: starts one driver; the adapter pools what it starts and quits them in ``aclose()``.
        client: an ``httpx.AsyncClient`` for the media downloads (tests pass one with a mock transport); the
            guard is added to it.
        fetcher: an ``HttpFetcher`` to download media with, shared with other adapters (one per-host limit for
            all); the caller closes it. Default: one built from ``network`` (and ``client``).

    Raises:
        UsageError: both ``pool`` and ``driver_factory``, or both ``client`` and ``fetcher``, were given.
    """

    name: ClassVar[str] = "browser"

    def __init__(
        self,
        config: BrowserSiteConfig,
        *,
        network: NetworkSettings | None = None,
        evidence: EvidenceSettings | None = None,
        pool: DriverPool | None = None,
        driver_factory: Callable[[], WebDriver] | None = None,
        client: httpx.AsyncClient | None = None,
        fetcher: HttpFetcher | None = None,
    ) -> None:
        if pool is not None and driver_factory is not None:
            raise UsageError("pass a driver pool or a driver factory, not both")
        if client is not None and fetcher is not None:
            raise UsageError("pass an httpx client or a fetcher, not both")
        self.config = config
        self.network = network or NetworkSettings()
        self.evidence = evidence or EvidenceSettings()
        self.guard = FetchGuard.for_network(self.network)
        self._owns_fetcher = fetcher is None
        self.fetcher = fetcher or HttpFetcher(self.network, client=client, plugin=self.name)
        self._pool = pool
        self._owns_pool = pool is None
        self._factory = driver_factory
        self._lock = threading.Lock()
        self._login_lock = threading.Lock()
        self._session: list[dict[str, Any]] | None = None

    @property
    def site(self) -> str:
        """The site's label."""
        return self.config.site

    @property
    def pool(self) -> DriverPool:
        """The browsers this adapter borrows from; one it builds is rebuilt after ``aclose()``."""
        with self._lock:
            if self._pool is None:
                if self._factory is not None:
                    self._pool = DriverPool(self.evidence, size=self.config.pool_size, factory=self._factory)
                else:
                    self._pool = DriverPool(
                        self.evidence, size=self.config.pool_size, network_log=True, guard=self.guard
                    )
            return self._pool

    @property
    def blocked(self) -> list[BlockedRequest]:
        """Requests of the pages that the guard refused (through the pool's proxy), oldest first."""
        with self._lock:
            pool = self._pool
        return pool.blocked if pool is not None else []

    async def aclose(self) -> None:
        """Quit the browsers the adapter started and close its HTTP client; a later call starts them again."""
        with self._lock:
            pool = self._pool if self._owns_pool else None
            if self._owns_pool:
                self._pool = None
        if pool is not None:
            await asyncio.to_thread(pool.close)
        if self._owns_fetcher:
            await self.fetcher.aclose()

    # -- the verbs -------------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> AsyncIterator[Candidate]:
        """Yield result pages for ``query.text`` from the search page, then the listing pages.

        Each results page is rendered, its gates clicked, scrolled (and "load more" clicked) until no new result
        appears or ``max_scrolls`` is reached, and followed to its next page up to ``max_pages``. Listing pages'
        results do not depend on the query. At most ``query.limit`` candidates, each URL once.

        Raises:
            FetchBlockedError: the guard refused a results page.
            SiteError: the browser could not load a results page, or failed.
        """
        starts: list[str] = []
        if self.config.search_url is not None:
            search = self.config.search_url.replace("{query}", quote_plus(query.text))
            starts.append(urljoin(self.config.base_url, search))
        starts += [urljoin(self.config.base_url, url) for url in self.config.listing_urls]
        seen: set[str] = set()
        for start in starts:
            if len(seen) >= query.limit:
                return
            work = functools.partial(self._results, start=start, known=frozenset(seen), room=query.limit - len(seen))
            found = await asyncio.to_thread(self._with_driver, start, work)
            for url, title, source in found:
                if url in seen:
                    continue
                seen.add(url)
                yield Candidate(
                    case_id=query.case_id, site=self.site, url=url, title=title, query=query.text,
                    language=self.config.language, metadata={"found_on": source},
                )
                if len(seen) >= query.limit:
                    return

    async def fetch(self, candidate: Candidate) -> Page:
        """Render the candidate's page and return it with the media it showed and loaded.

        ``Page.html`` is the DOM as the browser built it (scripts run, gates clicked); ``Page.body`` the document
        the server sent, when the network log has it. ``Page.status`` and ``Page.headers`` are the main
        document's. Media: the elements under ``media_selector`` first, then (with ``network_media``) what the
        network log shows the page loaded, up to ``max_media`` items; an HLS playlist becomes one video of its
        segments. A page that answered an HTTP error comes back with its status and no media.

        Raises:
            FetchBlockedError: the guard refused the page.
            SiteError: the page could not be rendered, or the browser failed. A media item that could not be
                downloaded (larger than ``max_media_bytes``, a timeout, an encrypted stream, an HTTP error) is left
                out and named in ``Page.skipped``; media the guard refuses is left out and listed in ``blocked``.
        """
        rendered = await asyncio.to_thread(
            self._with_driver, candidate.url, lambda driver, log: self._read(driver, log, candidate.url)
        )
        hints = [ContactHint(kind="email", value=e, source=rendered.final_url)
                 for e in extract(rendered.html, rendered.final_url).emails]
        media: list[FetchedMedia] = []
        skipped: list[str] = []
        if rendered.status < 400:
            media, skipped = await self._download_all(rendered)
        return Page(
            url=candidate.url, final_url=rendered.final_url, status=rendered.status, headers=rendered.headers,
            html=rendered.html, body=rendered.body, text=rendered.text, title=rendered.title,
            language=rendered.language or self.config.language, media=tuple(media), skipped=tuple(skipped),
            contacts=tuple(dict.fromkeys(hints)),
        )

    async def screenshot(self, url: str) -> bytes:
        """A PNG of the whole rendered page at ``url`` (gates clicked), for evidence.

        Raises:
            FetchBlockedError: the guard refused the URL.
            SiteError: the page could not be rendered or captured.
        """

        def work(driver: WebDriver, log: _NetworkLog) -> bytes:
            self._open(driver, log, url)
            try:
                return full_page_screenshot(driver)
            except EvidenceError as exc:
                raise SiteError(f"no screenshot: {exc}", plugin=self.name, url=url) from exc

        return await asyncio.to_thread(self._with_driver, url, work)

    # -- driver handling (worker threads) ----------------------------------------------------------------

    def _with_driver(self, url: str, work: Callable[[WebDriver, _NetworkLog], _T]) -> _T:
        """Borrow a driver, prepare its session, run ``work``, and give the driver back (as broken if it failed)."""
        try:
            import selenium  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError("selenium", "browser", feature="the browser site adapter") from exc
        from selenium.common.exceptions import (
            ElementClickInterceptedException,
            ElementNotInteractableException,
            JavascriptException,
            NoSuchElementException,
            StaleElementReferenceException,
            TimeoutException,
            WebDriverException,
        )
        from urllib3.exceptions import HTTPError as DriverConnectionError

        page_level = (ElementClickInterceptedException, ElementNotInteractableException, JavascriptException,
                      NoSuchElementException, StaleElementReferenceException, TimeoutException)
        pool = self.pool
        try:
            driver = pool.acquire(timeout=_ACQUIRE_TIMEOUT_S)
        except EvidenceError as exc:
            raise SiteError(f"no browser: {exc}", plugin=self.name, url=url) from exc
        broken = False
        try:
            log = _NetworkLog(driver)
            self._prepare(driver, log)
            return work(driver, log)
        except WebDriverException as exc:
            # A page's own trouble (a script error, an element gone) leaves the browser usable; anything else may
            # mean it crashed, and a crashed browser must not be lent again.
            broken = not isinstance(exc, page_level) or not is_alive(driver)
            raise SiteError(f"the browser failed: {_message(exc)}", plugin=self.name, url=url) from exc
        except (DriverConnectionError, ConnectionError) as exc:  # chromedriver itself is gone
            broken = True
            raise SiteError(f"the browser's driver is gone: {exc}", plugin=self.name, url=url) from exc
        except SiteError as exc:
            broken = isinstance(exc.__cause__, WebDriverException) and not is_alive(driver)
            raise
        finally:
            pool.release(driver, broken=broken)

    def _prepare(self, driver: WebDriver, log: _NetworkLog) -> None:
        """Give a borrowed browser this site's cookies and session (the pool hands drivers back without any)."""
        cookies = [self._cdp_cookie(c) for c in self.config.cookies] + self._signed_in(driver, log)
        if cookies:
            driver.execute_cdp_cmd("Network.setCookies", {"cookies": cookies})

    def _cdp_cookie(self, cookie: BrowserCookie) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": cookie.name, "value": cookie.value.get_secret_value(), "path": cookie.path,
            "secure": cookie.secure, "httpOnly": cookie.http_only,
        }
        if cookie.domain:
            out["domain"] = cookie.domain
        else:
            out["url"] = self.config.base_url
        return out

    def _signed_in(self, driver: WebDriver, log: _NetworkLog) -> list[dict[str, Any]]:
        """The session cookies of a sign-in, signing in once per adapter (threads wait for the first)."""
        with self._login_lock:
            if self._session is None and self.config.login is not None:
                self._session = self._sign_in(driver, log, self.config.login)
            return list(self._session or [])

    def _sign_in(self, driver: WebDriver, log: _NetworkLog, login: BrowserLogin) -> list[dict[str, Any]]:
        from selenium.webdriver.common.keys import Keys

        url = urljoin(self.config.base_url, login.url)
        self._open(driver, log, url)
        user = _first_visible(driver, login.username_selector)
        password = _first_visible(driver, login.password_selector)
        if user is None or password is None:
            raise SiteError("the sign-in page has no user name or password field", plugin=self.name, url=url)
        user.clear()
        user.send_keys(login.username)
        password.clear()
        password.send_keys(login.password.get_secret_value())
        before = driver.current_url
        submit = _first_visible(driver, login.submit_selector) if login.submit_selector else None
        if submit is not None:
            _click(driver, submit)
        else:
            password.send_keys(Keys.ENTER)
        deadline = time.monotonic() + self.config.wait_timeout_s
        while time.monotonic() < deadline:
            if login.done_selector is not None:
                if _first_visible(driver, login.done_selector) is not None:
                    break
            elif driver.current_url != before and _ready(driver):
                break
            time.sleep(_POLL_S)
        else:
            raise SiteError("signing in failed (still on the sign-in page)", plugin=self.name, url=url)
        self.guard.check(driver.current_url)
        return [_cdp_from_selenium(c) for c in driver.get_cookies()]

    # -- reading pages (worker threads) --------------------------------------------------------------------

    def _open(self, driver: WebDriver, log: _NetworkLog, url: str) -> str:
        """Navigate (guarded), wait until ready, click through the gates; return the URL the browser is on."""
        log.restart(driver)  # what earlier pages of this session loaded (a sign-in page) is not this page's
        final = navigate(driver, url, guard=self.guard)
        self._wait(driver, log)
        if self._click_gates(driver):
            self._wait(driver, log)
            final = str(driver.current_url)
            self.guard.check(final)  # a gate may navigate
        return final

    def _wait(self, driver: WebDriver, log: _NetworkLog) -> None:
        how, _, arg = self.config.wait.partition(":")
        deadline = time.monotonic() + self.config.wait_timeout_s
        quiet = (int(arg) if arg else _IDLE_MS) / 1000 if how == "idle" else 0.0
        while time.monotonic() < deadline:
            if _ready(driver):
                if how == "load":
                    return
                if how == "selector" and driver.execute_script("return document.querySelector(arguments[0]) !== null;",
                                                               arg):
                    return
                if how == "idle" and log.idle_for(driver) >= quiet:
                    return
            time.sleep(_POLL_S)

    def _click_gates(self, driver: WebDriver) -> int:
        clicked = 0
        for spec in (*self.config.cookie_banner, *self.config.age_gate):
            element = _find_gate(driver, spec)
            if element is not None:
                _click(driver, element)
                clicked += 1
        return clicked

    def _results(
        self, driver: WebDriver, log: _NetworkLog, *, start: str, known: frozenset[str], room: int
    ) -> list[tuple[str, str, str]]:
        """Result links of ``start`` and its next pages: (url, title, the page it was on), new ones only."""
        config = self.config
        pattern = re.compile(config.result_pattern) if config.result_pattern else None
        host = urlsplit(config.base_url).netloc
        found: dict[str, tuple[str, str, str]] = {}
        visited: set[str] = set()
        url: str | None = start
        there = False  # a "next" button took the browser to the next page already
        for _ in range(config.max_pages):
            if there:
                page_url = str(driver.current_url)
            elif url is None or url in visited:
                break
            else:
                page_url = self._open(driver, log, url)
            visited.add(url or page_url)
            before = len(found)
            for scroll in range(config.max_scrolls + 1):
                for href, title in _links(driver, config.result_selector):
                    link = urldefrag(href)[0]
                    if not link.startswith(("http://", "https://")) or link in known or link in found:
                        continue
                    if (config.same_host and urlsplit(link).netloc != host) or (pattern and not pattern.search(link)):
                        continue
                    found[link] = (link, title, page_url)
                    if len(found) >= room:
                        return list(found.values())
                if scroll == config.max_scrolls or not self._scroll_for_more(driver, log):
                    break
            if there and len(found) == before:
                break  # the "next" button brought nothing new: the last page
            url, there = self._next_page(driver, log, page_url)
            if url is None and not there:
                break
        return list(found.values())

    def _scroll_for_more(self, driver: WebDriver, log: _NetworkLog) -> bool:
        """Scroll to the bottom (and click "load more"); whether new results appeared within ``scroll_pause_s``."""
        count_script = "return document.querySelectorAll(arguments[0]).length;"
        before = int(driver.execute_script(count_script, self.config.result_selector))
        driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight);")
        if self.config.load_more_selector is not None:
            button = _first_visible(driver, self.config.load_more_selector)
            if button is not None:
                _click(driver, button)
        pause = self.config.scroll_pause_s
        start = time.monotonic()
        # "Nothing new" needs both: the pause has passed and the network has been quiet for a whole pause. A slow
        # machine or server stretches the wait (up to wait_timeout_s) instead of ending the scroll early.
        give_up = start + max(pause, self.config.wait_timeout_s)
        while True:
            time.sleep(_POLL_S)
            if int(driver.execute_script(count_script, self.config.result_selector)) > before:
                self._wait(driver, log)  # let the batch finish arriving
                return True
            now = time.monotonic()
            if now >= give_up or (now - start >= pause and log.idle_for(driver) >= pause):
                return False

    def _next_page(self, driver: WebDriver, log: _NetworkLog, page_url: str) -> tuple[str | None, bool]:
        """``(url, False)`` of the next results page to open, ``(None, True)`` when a "next" button without a link
        was clicked and the browser is on the next page, ``(None, False)`` at the end."""
        if self.config.next_page_selector is None:
            return None, False
        element = _first_visible(driver, self.config.next_page_selector)
        if element is None:
            return None, False
        href = element.get_attribute("href")
        if href and not href.lower().startswith("javascript:"):
            target = urldefrag(urljoin(page_url, href))[0]
            return (target, False) if target != page_url else (None, False)
        _click(driver, element)
        self._wait(driver, log)
        current = str(driver.current_url)
        self.guard.check(current)
        # A button that replaces the results in place leaves the URL as it was; the new links still count.
        return None, True

    def _read(self, driver: WebDriver, log: _NetworkLog, url: str) -> _Rendered:
        final = self._open(driver, log, url)
        # Scripts that load media as the reader scrolls (lazy images, players below the fold) get their turn.
        if driver.execute_script("return document.documentElement.scrollHeight > window.innerHeight;"):
            driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight);")
            self._wait(driver, log)
        final = str(driver.current_url) or final
        info = driver.execute_script(_PAGE_SCRIPT) or {}
        html = str(driver.page_source)
        log.poll(driver)
        document = log.document(final)
        status = (document.status if document and document.status else int(info.get("status") or 0)) or 200
        headers = document.headers if document else {}
        body = log.body(driver, document) if document else b""
        dom = [
            _Lead(u, MediaKind(k)) for u, k in driver.execute_script(_MEDIA_SCRIPT, self.config.media_selector) or []
            if isinstance(u, str) and k in ("image", "video", "audio")
        ]
        leads = _merge(dom, log.media() if self.config.network_media else [])
        if any(lead.hls for lead in leads):
            # A playlist is fetched whole (init section and every segment), so the segments the player happened
            # to load are in it already.
            leads = [lead for lead in leads if not lead.segment]
        return _Rendered(
            final_url=final, status=status, headers=headers, html=html, body=body,
            text=_SPACE.sub(" ", str(info.get("text") or "")).strip(),
            title=str(info.get("title") or "") or extract(html, final).title,
            language=str(info.get("lang") or "") or None, leads=leads[: self.config.max_media],
            cookies=list(driver.get_cookies()), left_over=[lead.url for lead in leads[self.config.max_media :]],
        )

    # -- media (the event loop) -------------------------------------------------------------------------

    async def _download_all(self, rendered: _Rendered) -> tuple[list[FetchedMedia], list[str]]:
        results = await asyncio.gather(*(self._download(lead, rendered) for lead in rendered.leads))
        media = [item for item in results if isinstance(item, FetchedMedia)]
        skipped = [item for item in results if isinstance(item, str)]
        skipped += [f"{url}: more than {self.config.max_media} media items on the page" for url in rendered.left_over]
        return media, skipped

    async def _download(self, lead: _Lead, rendered: _Rendered) -> FetchedMedia | str | None:
        """The item, or why it was left out (a ``str`` for ``Page.skipped``); ``None`` for what was never media."""
        headers: dict[str, str] = {}
        if referrer := _referrer(rendered.final_url, lead.url):
            headers["Referer"] = referrer
        cookie = _cookie_header(rendered.cookies, lead.url, rendered.final_url)
        if cookie:
            headers["Cookie"] = cookie
        try:
            result = await self.fetcher.get_media(lead.url, headers=headers)
        except FetchBlockedError:
            return None  # the browser was refused it too (behind the proxy); listed in self.blocked
        except SiteError as exc:  # over its cap, a web page, an encrypted stream: that item, not the page
            return f"{lead.url}: {exc}"
        if not result.ok:
            return f"{lead.url}: answered HTTP {result.status}"
        content_type = result.content_type or "application/octet-stream"
        kind = MediaKind.VIDEO if lead.hls else media_kind_of(lead.url.split("?", 1)[0], content_type) or lead.kind
        return FetchedMedia(url=lead.url, kind=kind, content_type=content_type, content=result.body)


# -- the network log ----------------------------------------------------------------------------------------


@dataclass
class _Response:
    request_id: str
    url: str
    status: int
    mime: str
    resource: str
    headers: dict[str, str]


class _NetworkLog:
    """The browser's network events for one borrowed session (``goog:loggingPrefs`` performance log).

    Created when a driver is borrowed, it throws away what earlier users left in the log. Without a performance
    log (a driver started without ``network_log``), it falls back to the page's Resource Timing entries, which
    give URLs but not content types or statuses.
    """

    def __init__(self, driver: WebDriver) -> None:
        from selenium.common.exceptions import WebDriverException

        self.available = True
        try:
            driver.get_log("performance")  # type: ignore[no-untyped-call]
        except WebDriverException:
            self.available = False
        self.responses: dict[str, _Response] = {}
        self.order: list[str] = []
        self.open: set[str] = set()
        self.last_event = time.monotonic()
        self._resources = -1

    def restart(self, driver: WebDriver) -> None:
        """Forget every event so far: the next page starts a clean record."""
        self.poll(driver)
        self.responses.clear()
        self.order.clear()
        self.open.clear()
        self._resources = -1

    def poll(self, driver: WebDriver) -> None:
        """Read the events that arrived since the last poll."""
        if not self.available:
            return
        entries = driver.get_log("performance")  # type: ignore[no-untyped-call]
        if entries:
            self.last_event = time.monotonic()
        for entry in entries:
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, TypeError, ValueError):
                continue
            method, params = message.get("method", ""), message.get("params") or {}
            request_id = str(params.get("requestId", ""))
            if method == "Network.requestWillBeSent":
                url = str((params.get("request") or {}).get("url", ""))
                if url.startswith(("http://", "https://")) and params.get("type") not in _LONG_LIVED:
                    self.open.add(request_id)
            elif method == "Network.responseReceived":
                response = params.get("response") or {}
                url = str(response.get("url", ""))
                if not url.startswith(("http://", "https://")):
                    continue
                if request_id not in self.responses:
                    self.order.append(request_id)
                self.responses[request_id] = _Response(
                    request_id=request_id, url=url, status=int(response.get("status") or 0),
                    mime=str(response.get("mimeType") or "").split(";", 1)[0].strip().lower(),
                    resource=str(params.get("type") or ""),
                    headers={str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()},
                )
            elif method in ("Network.loadingFinished", "Network.loadingFailed"):
                self.open.discard(request_id)

    def idle_for(self, driver: WebDriver) -> float:
        """Seconds the network has been quiet: no request open, no event since then."""
        if not self.available:
            count = int(driver.execute_script("return performance.getEntriesByType('resource').length;"))
            if count != self._resources:
                self._resources, self.last_event = count, time.monotonic()
            return time.monotonic() - self.last_event
        self.poll(driver)
        return 0.0 if self.open else time.monotonic() - self.last_event

    def document(self, final_url: str) -> _Response | None:
        """The main document's response: the last document answer for ``final_url``, else the first one."""
        documents = [self.responses[r] for r in self.order if self.responses[r].resource == "Document"]
        matching = [d for d in documents if urldefrag(d.url)[0] == urldefrag(final_url)[0]]
        if matching:
            return matching[-1]
        return documents[0] if documents else None

    def body(self, driver: WebDriver, document: _Response) -> bytes:
        """The document's body as the server sent it (decoded from any Content-Encoding), or ``b""``."""
        import base64
        import binascii

        from selenium.common.exceptions import WebDriverException

        try:
            answer = driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": document.request_id})
        except WebDriverException:  # evicted, or the network domain is off: the DOM is still in Page.html
            return b""
        text = str(answer.get("body", ""))
        if answer.get("base64Encoded"):
            try:
                return base64.b64decode(text)
            except binascii.Error:
                return b""
        charset = re.search(r"charset=([\w.:-]+)", document.headers.get("content-type", ""))
        try:
            return text.encode(charset.group(1) if charset else "utf-8")
        except (LookupError, UnicodeEncodeError):
            return b""

    def media(self) -> list[_Lead]:
        """The media the page loaded, in the order the answers arrived."""
        leads: list[_Lead] = []
        for request_id in self.order:
            response = self.responses[request_id]
            if not (200 <= response.status < 300) or response.mime in _SKIPPED_TYPES:
                continue
            path = urlsplit(response.url).path.lower()
            if response.mime in _HLS_TYPES or path.endswith(".m3u8"):
                leads.append(_Lead(response.url, MediaKind.VIDEO, hls=True))
            elif response.mime in _SEGMENT_TYPES or path.endswith(_SEGMENT_SUFFIXES):
                leads.append(_Lead(response.url, MediaKind.VIDEO, segment=True))
            elif path.endswith(".mpd"):
                continue  # DASH manifests are not assembled; their segments are taken one by one
            elif kind := media_kind_of(path, response.mime or None):
                leads.append(_Lead(response.url, kind))
            elif response.resource == "Media":
                leads.append(_Lead(response.url, MediaKind.VIDEO))
            elif response.resource == "Image":
                leads.append(_Lead(response.url, MediaKind.IMAGE))
        return leads


# -- helpers -------------------------------------------------------------------------------------------------


def _message(exc: BaseException) -> str:
    msg = str(getattr(exc, "msg", None) or exc).strip()
    return msg.splitlines()[0] if msg else type(exc).__name__


def _ready(driver: WebDriver) -> bool:
    from selenium.common.exceptions import JavascriptException

    try:
        return bool(driver.execute_script("return document.readyState === 'complete';"))
    except JavascriptException:  # the page is being replaced (a gate that reloads it): not ready yet
        return False


def _referrer(page_url: str, url: str) -> str:
    """The Referer a browser sends by default (strict-origin-when-cross-origin): the page, or only its origin."""
    page, target = urlsplit(page_url), urlsplit(url)
    if (page.scheme, page.netloc) == (target.scheme, target.netloc):
        return page_url
    if page.scheme == "https" and target.scheme != "https":
        return ""
    return f"{page.scheme}://{page.netloc}/"


def _merge(first: list[_Lead], then: list[_Lead]) -> list[_Lead]:
    """One lead per URL (without fragment), ``first`` in its order, then the rest of ``then``."""
    out: dict[str, _Lead] = {}
    for lead in [*first, *then]:
        url = urldefrag(lead.url)[0]
        if not url.startswith(("http://", "https://")):
            continue  # data: and blob: URLs: the bytes behind a blob: came over the network and are in the log
        if url in out:
            previous = out[url]
            out[url] = _Lead(url, previous.kind, previous.hls or lead.hls, previous.segment or lead.segment)
        else:
            hls = lead.hls or urlsplit(url).path.lower().endswith(".m3u8")
            out[url] = _Lead(url, MediaKind.VIDEO if hls else lead.kind, hls, lead.segment)
    return list(out.values())


def _cookie_header(cookies: list[dict[str, Any]], url: str, page_url: str) -> str:
    """The browser's cookies for ``url``, only when it is on the page's own host (no session goes elsewhere)."""
    parts, page = urlsplit(url), urlsplit(page_url)
    host = (parts.hostname or "").lower()
    if host != (page.hostname or "").lower():
        return ""
    pairs = []
    for cookie in cookies:
        domain = str(cookie.get("domain", "")).lower().lstrip(".")
        if host != domain and not host.endswith(f".{domain}"):
            continue
        if not (parts.path or "/").startswith(str(cookie.get("path") or "/")):
            continue
        if cookie.get("secure") and parts.scheme != "https":
            continue
        pairs.append(f"{cookie.get('name')}={cookie.get('value')}")
    return "; ".join(pairs)


def _cdp_from_selenium(cookie: dict[str, Any]) -> dict[str, Any]:
    out = {
        "name": cookie["name"], "value": cookie["value"], "domain": cookie.get("domain", ""),
        "path": cookie.get("path", "/"), "secure": bool(cookie.get("secure")), "httpOnly": bool(cookie.get("httpOnly")),
    }
    if "expiry" in cookie:
        out["expires"] = cookie["expiry"]
    if cookie.get("sameSite"):
        out["sameSite"] = cookie["sameSite"]
    return out


def _first_visible(driver: WebDriver, selector: str) -> WebElement | None:
    element: WebElement | None = driver.execute_script(_VISIBLE_SCRIPT, selector)
    return element


def _find_gate(driver: WebDriver, spec: str) -> WebElement | None:
    if spec.startswith("text="):
        element: WebElement | None = driver.execute_script(_TEXT_SCRIPT, spec.removeprefix("text="))
        return element
    return _first_visible(driver, spec)


def _click(driver: WebDriver, element: WebElement) -> None:
    """Click as a person would; if something covers the element (a banner), click it from script instead."""
    from selenium.common.exceptions import ElementClickInterceptedException, ElementNotInteractableException

    try:
        element.click()
    except (ElementClickInterceptedException, ElementNotInteractableException):
        driver.execute_script("arguments[0].click();", element)


def _links(driver: WebDriver, selector: str) -> Iterator[tuple[str, str]]:
    for item in driver.execute_script(_LINKS_SCRIPT, selector) or []:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            yield item[0], str(item[1] or "")


_VISIBLE_SCRIPT: Final = """
for (const el of document.querySelectorAll(arguments[0])) {
  if (el.getClientRects().length > 0 && !el.disabled) return el;
}
return null;
"""

_TEXT_SCRIPT: Final = """
const want = arguments[0].replace(/\\s+/g, " ").trim().toLowerCase();
const clickable = "button, a, input[type=button], input[type=submit], [role=button], label";
for (const el of document.querySelectorAll(clickable)) {
  const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").replace(/\\s+/g, " ").trim();
  if (text.toLowerCase() === want && el.getClientRects().length > 0 && !el.disabled) return el;
}
return null;
"""

_LINKS_SCRIPT: Final = """
const out = [];
for (const el of document.querySelectorAll(arguments[0])) {
  const href = typeof el.href === "string" ? el.href : "";
  if (!href) continue;
  const label = el.innerText || el.getAttribute("title") || el.getAttribute("aria-label") || "";
  out.push([href, label.replace(/\\s+/g, " ").trim()]);
}
return out;
"""

_MEDIA_SCRIPT: Final = """
const out = [];
const kindOf = (el) => {
  const tag = el.tagName.toLowerCase();
  if (tag === "img") return "image";
  if (tag === "video" || tag === "audio") return tag;
  if (tag === "source" && el.parentElement) {
    const parent = el.parentElement.tagName.toLowerCase();
    return parent === "picture" ? "image" : parent === "video" || parent === "audio" ? parent : null;
  }
  return null;
};
for (const el of document.querySelectorAll(arguments[0])) {
  const kind = kindOf(el);
  if (!kind) continue;
  const url = el.currentSrc || (typeof el.src === "string" ? el.src : "");
  if (url) out.push([url, kind]);
  if (kind === "video" && el.poster) out.push([el.poster, "image"]);
}
return out;
"""

_PAGE_SCRIPT: Final = """
const nav = performance.getEntriesByType("navigation")[0];
return {
  status: nav && nav.responseStatus ? nav.responseStatus : 0,
  lang: document.documentElement.lang || "",
  text: document.body ? document.body.innerText : "",
  title: document.title || "",
};
"""

