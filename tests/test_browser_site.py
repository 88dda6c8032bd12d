"""BrowserSite in real headless Chromium against the demo site, and the guard proxy in front of the browser."""

from __future__ import annotations

import asyncio
import hashlib
import io
import socket
import sys
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from pydantic import ValidationError

from takedown.demo.site import ACCOUNT_PASSWORD, ACCOUNT_USER, DemoSite
from takedown.errors import FetchBlockedError, MissingDependencyError, SiteError, UsageError
from takedown.models import Candidate, MediaKind, Page, SearchQuery
from takedown.settings import EvidenceSettings, NetworkSettings
from takedown.sites.base import SiteAdapter
from takedown.sites.browser import BrowserCookie, BrowserLogin, BrowserSite, BrowserSiteConfig
from takedown.sites.chromium import DriverPool
from takedown.sites.extract import extract
from takedown.sites.fetcher import HttpFetcher
from takedown.sites.guard import FetchGuard, GuardConfig
from takedown.sites.guard_proxy import GuardProxy
from takedown.testing import SiteAdapterContract

if TYPE_CHECKING:
    from conftest import ServeHttp

T = TypeVar("T")
LOOPBACK = NetworkSettings(allow_loopback=True)
CASE = "case-browser"


@pytest.fixture(scope="module")
def pool() -> Iterator[DriverPool]:
    """One guarded browser with its network log, shared by the whole module."""
    settings = EvidenceSettings(page_load_timeout_s=15)
    with DriverPool(settings, size=1, network_log=True, guard=FetchGuard.for_network(LOOPBACK)) as drivers:
        yield drivers


def config(demo: DemoSite, **changes: Any) -> BrowserSiteConfig:
    """The demo site as a browser sees it: fast waits for a loopback server."""
    values: dict[str, Any] = {
        "site": "demo-sns.example", "base_url": demo.base_url, "result_selector": "a.result, a.post-link",
        "next_page_selector": "a[rel=next]", "wait": "idle:150", "scroll_pause_s": 0.6, "wait_timeout_s": 5,
    }
    return BrowserSiteConfig(**(values | changes))


def run(site: BrowserSite, steps: Callable[[BrowserSite], Awaitable[T]]) -> T:
    """Run ``steps`` on ``site`` in a fresh event loop and close the adapter afterwards."""

    async def main() -> T:
        try:
            return await steps(site)
        finally:
            await site.aclose()

    return asyncio.run(main())


def search(site: BrowserSite, text: str = "minji_cam", limit: int = 100) -> list[Candidate]:
    async def steps(s: BrowserSite) -> list[Candidate]:
        return [c async for c in s.search(SearchQuery(case_id=CASE, text=text, limit=limit))]

    return run(site, steps)


def fetch(site: BrowserSite, url: str) -> Any:
    return run(site, lambda s: s.fetch(Candidate(case_id=CASE, site=s.site, url=url)))


def ids(found: list[Candidate]) -> list[str]:
    return [c.url.rsplit("/", 1)[1] for c in found]


# -- search -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_search_renders_the_search_page_and_follows_next_pages(demo_site: DemoSite, pool: DriverPool) -> None:
    found = search(BrowserSite(config(demo_site), network=LOOPBACK, pool=pool))
    expected = [p.id for p in demo_site.manifest.posts
                if "minji_cam" in unicodedata.normalize("NFKC", p.title + p.text).casefold()]
    assert ids(found) == expected  # 11 hits over 3 result pages, the full-width one included
    assert {c.url for c in found} == {demo_site.url_for(i) for i in expected}
    first = found[0]
    assert (first.case_id, first.site, first.query, first.title) == (
        CASE, "demo-sns.example", "minji_cam", demo_site.manifest.post(expected[0]).title)
    assert first.metadata["found_on"].startswith(f"{demo_site.base_url}/search?q=minji_cam")
    assert found[-1].metadata["found_on"].endswith("page=3")

    limited = search(BrowserSite(config(demo_site), network=LOOPBACK, pool=pool), limit=4)
    assert ids(limited) == expected[:4]


@pytest.mark.slow
def test_the_home_feed_shows_nothing_until_the_age_gate_is_passed(demo_site: DemoSite, pool: DriverPool) -> None:
    home = {"search_url": None, "listing_urls": ("/",), "result_selector": "a.post-link"}
    gated = search(BrowserSite(config(demo_site, **home), network=LOOPBACK, pool=pool))
    assert gated == []  # the gate hides the feed and nothing is loaded behind it

    gates = {"age_gate": ("text=I am 18 or older",), "cookie_banner": ("#cookie-accept",)}
    everything = search(BrowserSite(config(demo_site, **home, **gates, load_more_selector="#more"),
                                    network=LOOPBACK, pool=pool))
    assert ids(everything) == [p.id for p in demo_site.manifest.posts]  # all 14, over three API pages

    unscrolled = search(BrowserSite(config(demo_site, **home, **gates, max_scrolls=0), network=LOOPBACK, pool=pool))
    assert ids(unscrolled) == [p.id for p in demo_site.manifest.posts[:5]]  # the rest loads only on scrolling


# -- fetch ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_fetch_finds_the_hls_stream_that_only_the_network_log_saw(demo_site: DemoSite, pool: DriverPool) -> None:
    manifest = demo_site.manifest
    stream = manifest.stream("p05")
    assert stream is not None
    url = demo_site.url_for("p05")
    served = httpx.get(url).content
    playlist_url = f"{demo_site.base_url}/{stream.playlist.removeprefix('site/')}"
    assert all(not ref.url.endswith(".m3u8") for ref in extract(served.decode(), url).media)
    assert b".m3u8" not in served  # a plain HTTP fetch of the post cannot see the stream

    page = fetch(BrowserSite(config(demo_site), network=LOOPBACK, pool=pool), url)
    assert (page.status, page.final_url, page.language) == (200, url, "ru")
    assert page.title == manifest.post("p05").title
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.body == served  # the document as the server sent it
    assert 'data-state="loaded"' in page.html  # ... and the DOM after the player script ran
    assert manifest.post("p05").text in page.text

    by_url = {m.url: m for m in page.media}
    mp4 = f"{demo_site.base_url}/{manifest.post('p05').media[0]}"
    assert list(by_url) == [mp4, playlist_url]
    assert hashlib.sha256(by_url[mp4].content).hexdigest() == manifest.item(manifest.post("p05").media[0]).sha256
    hls = by_url[playlist_url]
    assert (hls.kind, hls.content_type) == (MediaKind.VIDEO, "video/mp2t")
    assert hls.content == b"".join((demo_site.root / s).read_bytes() for s in stream.segments)


@pytest.mark.slow
def test_fetch_returns_images_and_a_removed_post_with_its_status(demo_site: DemoSite, pool: DriverPool) -> None:
    post = demo_site.manifest.post("p01")
    shared = HttpFetcher(LOOPBACK)  # one per-host limit for several adapters; its owner closes it

    async def with_shared(s: BrowserSite) -> Page:
        try:
            page = await s.fetch(Candidate(case_id=CASE, site=s.site, url=demo_site.url_for("p01")))
            await s.aclose()
            assert not shared.client.is_closed
            return page
        finally:
            await shared.aclose()

    page = run(BrowserSite(config(demo_site), network=LOOPBACK, pool=pool, fetcher=shared), with_shared)
    assert [m.url for m in page.media] == [f"{demo_site.base_url}/{f}" for f in post.media]
    assert [hashlib.sha256(m.content).hexdigest() for m in page.media] == [
        demo_site.manifest.item(f).sha256 for f in post.media
    ]
    assert all(m.kind == MediaKind.IMAGE for m in page.media)
    assert page.skipped == ()

    capped = fetch(BrowserSite(config(demo_site, max_media=1), network=LOOPBACK, pool=pool), demo_site.url_for("p01"))
    assert [m.url for m in capped.media] == [f"{demo_site.base_url}/{post.media[0]}"]
    assert capped.skipped == (f"{demo_site.base_url}/{post.media[1]}: more than 1 media items on the page",)

    demo_site.take_down("p01")
    try:
        gone = fetch(BrowserSite(config(demo_site), network=LOOPBACK, pool=pool), demo_site.url_for("p01"))
    finally:
        demo_site.restore("p01")
    assert (gone.status, gone.media) == (410, ())
    assert "This post was removed." in gone.text


@pytest.mark.slow
def test_login_by_cookie_reaches_the_account_page(demo_site: DemoSite, pool: DriverPool) -> None:
    account = f"{demo_site.base_url}/account"
    anonymous = fetch(BrowserSite(config(demo_site), network=LOOPBACK, pool=pool), account)
    assert anonymous.status == 401

    name, value = demo_site.session_cookie
    with_cookie = config(demo_site, cookies=(BrowserCookie(name=name, value=value, http_only=True),))
    page = fetch(BrowserSite(with_cookie, network=LOOPBACK, pool=pool), account)
    assert page.status == 200
    assert f"Signed in as {ACCOUNT_USER}." in page.text
    assert value not in repr(with_cookie)  # the session is a secret

    # The pool hands the browser back without cookies: the next adapter is anonymous again.
    assert fetch(BrowserSite(config(demo_site), network=LOOPBACK, pool=pool), account).status == 401


@pytest.mark.slow
def test_login_with_a_form_once_then_reuses_the_session(demo_site: DemoSite, pool: DriverPool) -> None:
    login = BrowserLogin(url="/login", username=ACCOUNT_USER, password=ACCOUNT_PASSWORD, done_selector="p.account")
    site = BrowserSite(config(demo_site, login=login), network=LOOPBACK, pool=pool)
    account = Candidate(case_id=CASE, site=site.site, url=f"{demo_site.base_url}/account")

    async def twice(s: BrowserSite) -> list[int]:
        return [(await s.fetch(account)).status for _ in range(2)]

    before = demo_site.requests_served
    assert run(site, twice) == [200, 200]
    assert demo_site.requests_served - before < 12  # one sign-in (form, post, redirect), then the session

    wrong = BrowserLogin(url="/login", username=ACCOUNT_USER, password="wrong")
    refused = BrowserSite(config(demo_site, login=wrong, wait_timeout_s=1.5), network=LOOPBACK, pool=pool)
    with pytest.raises(SiteError, match="signing in failed"):
        fetch(refused, f"{demo_site.base_url}/account")


@pytest.mark.slow
def test_screenshot_is_a_png_of_the_page_behind_the_gate(demo_site: DemoSite, pool: DriverPool) -> None:
    gates = config(demo_site, age_gate=("#age-yes",), cookie_banner=("text=accept cookies",))
    png = run(BrowserSite(gates, network=LOOPBACK, pool=pool), lambda s: s.screenshot(demo_site.base_url + "/"))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width == 1280 and image.height > 900  # the opened feed is taller than the window


_IN_PLACE = b"""<!doctype html><html lang="en"><head><title>list</title></head><body>
<ul id="results"></ul><button id="next" type="button">Next</button>
<script>
let page = 0;
function show() {
  page += 1;
  const list = document.getElementById("results");
  list.innerHTML = "";
  for (let i = 1; page <= 2 && i <= 3; i++) {
    const link = document.createElement("a");
    link.className = "item";
    link.href = "/item/" + page + "-" + i;
    link.textContent = "Item " + page + "-" + i;
    list.appendChild(document.createElement("li")).appendChild(link);
  }
}
document.getElementById("next").addEventListener("click", show);
show();
</script></body></html>"""


@pytest.mark.slow
def test_a_next_button_that_replaces_results_in_place_is_followed_to_the_end(
    pool: DriverPool, serve_http: ServeHttp
) -> None:
    with serve_http({"/list": ("text/html", _IN_PLACE)}) as base:
        config = BrowserSiteConfig(site="list", base_url=base, search_url=None, listing_urls=("/list",),
                                   result_selector="a.item", next_page_selector="#next", wait="idle:100",
                                   scroll_pause_s=0.2)
        found = search(BrowserSite(config, network=LOOPBACK, pool=pool))
    assert [(c.url.removeprefix(base), c.title) for c in found] == [
        (f"/item/{page}-{i}", f"Item {page}-{i}") for page in (1, 2) for i in (1, 2, 3)
    ]


# -- the guard -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_guard_refuses_navigations(demo_site: DemoSite, pool: DriverPool) -> None:
    site = BrowserSite(config(demo_site), network=LOOPBACK, pool=pool)
    with pytest.raises(FetchBlockedError, match="private"):
        fetch(site, "http://10.0.0.1/post/1")
    with pytest.raises(FetchBlockedError, match="scheme"):
        fetch(site, "file:///etc/passwd")
    strict = BrowserSite(config(demo_site), network=NetworkSettings(), pool=pool)  # no loopback
    with pytest.raises(FetchBlockedError, match="loopback"):
        fetch(strict, demo_site.url_for("p01"))
    with pytest.raises(FetchBlockedError, match="loopback"):
        search(BrowserSite(config(demo_site), network=NetworkSettings(), pool=pool))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 90)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.slow
def test_requests_the_page_makes_to_private_addresses_are_refused(pool: DriverPool, serve_http: ServeHttp) -> None:
    hostile = b"""<!doctype html><html lang="en"><head><title>hostile</title></head><body>
<img src="/ok.png"><img src="http://10.255.255.1/secret.png">
<script>fetch("http://169.254.169.254/latest/meta-data/").catch(() => 0);</script></body></html>"""
    with serve_http({"/": ("text/html", hostile), "/ok.png": ("image/png", _png())}) as base:
        site = BrowserSite(BrowserSiteConfig(site="hostile", base_url=base, wait="idle:150"), network=LOOPBACK,
                           pool=pool)
        before = len(pool.blocked)
        page = fetch(site, base + "/")
    assert [m.url for m in page.media] == [base + "/ok.png"]  # the private one is left out
    refused = {b.url for b in pool.blocked[before:]}
    assert {"http://10.255.255.1/secret.png", "http://169.254.169.254/latest/meta-data/"} <= refused
    reasons = {b.url: b.reason for b in pool.blocked[before:]}
    assert reasons["http://10.255.255.1/secret.png"].startswith("private or link-local address")
    assert reasons["http://169.254.169.254/latest/meta-data/"].startswith("cloud metadata address")


def test_the_guard_proxy_forwards_what_the_guard_allows_and_refuses_the_rest(serve_http: ServeHttp) -> None:
    with serve_http({"/hello": ("text/plain", b"hi")}) as base, GuardProxy(FetchGuard.for_network(LOOPBACK)) as proxy:
        with httpx.Client(proxy=proxy.url, timeout=10) as client:
            assert client.get(base + "/hello").text == "hi"
            refused = client.get("http://10.1.2.3/admin")
            assert refused.status_code == 403
            assert "private" in refused.headers["x-takedown-blocked"]
            with pytest.raises(httpx.ProxyError):
                client.get("https://192.168.7.7/")  # a CONNECT tunnel is checked too
        assert [b.url for b in proxy.blocked] == ["http://10.1.2.3/admin", "https://192.168.7.7/"]
    with (
        serve_http({"/hello": ("text/plain", b"hi")}) as base,
        GuardProxy(FetchGuard()) as strict,
        httpx.Client(proxy=strict.url, timeout=10) as client,
    ):
        assert client.get(base + "/hello").status_code == 403  # loopback, which this guard refuses
    with pytest.raises(UsageError):
        GuardProxy(FetchGuard(), host="0.0.0.0")


def _read_head(sock: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1024)
        if not chunk:
            break
        head += chunk
    return head


def test_a_tunnel_open_when_the_proxy_stops_is_closed_on_both_sides() -> None:
    # The proxy would keep a quiet tunnel for timeout_s (an hour here); the sockets' own 10 s timeouts only stop
    # this test from hanging if stop() leaves the tunnel open.
    proxy = GuardProxy(FetchGuard(GuardConfig(allow_loopback=True)), timeout_s=3600).start()
    with socket.create_server(("127.0.0.1", 0)) as upstream:
        port = upstream.getsockname()[1]
        try:
            with socket.create_connection(("127.0.0.1", urlsplit(proxy.url).port), timeout=10) as browser:
                browser.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                assert _read_head(browser).startswith(b"HTTP/1.1 200")
                far_end, _ = upstream.accept()
                with far_end:
                    far_end.settimeout(10)
                    browser.sendall(b"ping")
                    assert far_end.recv(4) == b"ping"
                    proxy.stop()
                    assert browser.recv(1024) == b"", "the browser's side of the tunnel was closed"
                    assert far_end.recv(1024) == b"", "the upstream side of the tunnel was closed"
        finally:
            proxy.stop()


# -- broken browsers ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_chromedriver_killed_behind_the_adapters_back_is_replaced(demo_site: DemoSite, pool: DriverPool) -> None:
    driver = pool.acquire()
    pool.release(driver)
    profile = driver.takedown_profile  # type: ignore[attr-defined]
    driver.service.process.kill()  # the idle browser's chromedriver dies; its Chromium is orphaned
    driver.service.process.wait()
    restarts = pool.restarts
    page = fetch(BrowserSite(config(demo_site), network=LOOPBACK, pool=pool), demo_site.url_for("p02"))
    assert page.status == 200 and page.media
    assert pool.restarts == restarts + 1
    assert not profile.exists()  # the orphaned browser was ended and its profile deleted


class _Service:
    def __init__(self) -> None:
        self.up = True

    def is_connectable(self) -> bool:
        return self.up


class _CrashingDriver:
    """A driver whose browser dies on the first page it is sent to."""

    def __init__(self) -> None:
        self.service = _Service()
        self.quits = 0

    def get_log(self, kind: str) -> list[Any]:
        from selenium.common.exceptions import WebDriverException

        raise WebDriverException(f"no {kind} log")

    def get(self, url: str) -> None:
        from selenium.common.exceptions import WebDriverException

        self.service.up = False
        raise WebDriverException("chrome not reachable")

    def quit(self) -> None:
        self.quits += 1


def test_a_browser_that_dies_during_a_fetch_is_released_as_broken(demo_site: DemoSite) -> None:
    made: list[_CrashingDriver] = []

    def factory() -> Any:
        made.append(_CrashingDriver())
        return made[-1]

    site = BrowserSite(config(demo_site), network=LOOPBACK, driver_factory=factory)

    async def steps(s: BrowserSite) -> int:
        for _ in range(2):
            with pytest.raises(SiteError, match="chrome not reachable"):
                await s.fetch(Candidate(case_id=CASE, site=s.site, url=demo_site.url_for("p01")))
        return s.pool.restarts

    assert run(site, steps) == 2
    assert len(made) == 2 and made[0].quits >= 1  # each crashed browser was quit, and a new one started


def test_without_selenium_the_error_names_the_extra(demo_site: DemoSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "selenium", None)
    with pytest.raises(MissingDependencyError, match=r"takedown\[browser\]"):
        fetch(BrowserSite(config(demo_site), network=LOOPBACK), demo_site.url_for("p01"))


# -- configuration ------------------------------------------------------------------------------------------


def test_the_config_refuses_what_cannot_work() -> None:
    with pytest.raises(ValidationError, match="search_url, listing_urls"):
        BrowserSiteConfig(site="s", base_url="https://s.example", search_url=None)
    with pytest.raises(ValidationError, match=r"\{query\}"):
        BrowserSiteConfig(site="s", base_url="https://s.example", search_url="/search")
    for wait in ("soon", "idle:x", "selector:"):
        with pytest.raises(ValidationError, match="wait is"):
            BrowserSiteConfig(site="s", base_url="https://s.example", wait=wait)
    with pytest.raises(UsageError):
        BrowserSite(BrowserSiteConfig(site="s", base_url="https://s.example"), pool=DriverPool(),
                    driver_factory=lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(UsageError, match="factory"):
        DriverPool(guard=FetchGuard(), factory=lambda: None)  # type: ignore[arg-type,return-value]
    site = BrowserSite(BrowserSiteConfig(site="s", base_url="https://s.example"))
    assert isinstance(site, SiteAdapter) and site.name == "browser" and site.site == "s"
    asyncio.run(site.aclose())  # closes its HTTP client; no browser was ever started


# -- the contract every site adapter keeps ----------------------------------------------------------------------


@pytest.mark.slow
class TestBrowserSiteOnTheDemoSite(SiteAdapterContract):
    @pytest.fixture(autouse=True)
    def _site(self, demo_site: DemoSite, pool: DriverPool) -> None:
        self.demo = demo_site
        self.drivers = pool

    def make_site(self) -> SiteAdapter:
        return BrowserSite(config(self.demo), network=LOOPBACK, pool=self.drivers)

    def make_query(self) -> SearchQuery:
        return SearchQuery(case_id="case-demo", text="minji_cam", limit=4)
