"""Headless Chromium: the driver factory, the pool, CDP screenshots and MHTML, and the guard in front of them."""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from takedown.errors import EvidenceError, FetchBlockedError, MissingDependencyError, SiteError, UsageError
from takedown.settings import EvidenceSettings
from takedown.sites.chromium import (
    DriverPool,
    NetworkExchange,
    browser_version,
    chromium_driver,
    full_page_screenshot,
    media_regions,
    mhtml_snapshot,
    navigate,
    page_exchanges,
    response_body,
)
from takedown.sites.guard import FetchGuard, GuardConfig

if TYPE_CHECKING:
    from conftest import ServeHttp

LOOPBACK = FetchGuard(GuardConfig(allow_loopback=True))
LONG_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>long</title></head>"
    b"<body style='margin:0'><h1>Top</h1>"
    b"<div style='height:3000px;background:linear-gradient(#fff,#00f)'></div>"
    b"<img src='/pic.png' width='200' height='100' style='display:block'><p>Bottom</p></body></html>"
)


def _pic() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def pool() -> Iterator[DriverPool]:
    with DriverPool(EvidenceSettings(page_load_timeout_s=10), size=1) as drivers:
        yield drivers


@pytest.fixture(scope="module")
def long_page(serve_http: ServeHttp) -> Iterator[str]:
    def slow() -> tuple[int, str, bytes]:
        time.sleep(3)
        return 200, "text/html", b"<p>late</p>"

    with serve_http({
        "/": ("text/html; charset=utf-8", LONG_PAGE),
        "/pic.png": ("image/png", _pic()),
        "/slow": slow,
    }) as base:
        yield base


@pytest.mark.slow
def test_full_page_screenshot_mhtml_and_media_boxes(pool: DriverPool, long_page: str) -> None:
    with pool.driver() as driver:
        final = navigate(driver, long_page + "/", guard=LOOPBACK)
        assert final == long_page + "/"
        viewport = driver.execute_script("return [window.innerWidth, window.innerHeight];")
        png = full_page_screenshot(driver)
        mhtml = mhtml_snapshot(driver)
        regions = media_regions(driver)
        version = browser_version(driver)
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG"
    assert image.width >= viewport[0] - 20  # the vertical scrollbar may be left out
    assert image.height > viewport[1]  # beyond the viewport: the whole document
    assert image.height >= 3000
    assert mhtml.startswith(b"From: <Saved by Blink>")
    head = mhtml.split(b"\r\n\r\n", 1)[0]
    assert b"MIME-Version: 1.0" in head and b"multipart/related" in head
    assert b"Snapshot-Content-Location: " + long_page.encode() in head
    assert any(w == 200 and h == 100 and y > 3000 for _, y, w, h in regions)
    assert version.startswith("Chromium ") and version != "Chromium unknown"


@pytest.mark.slow
def test_navigate_refuses_what_the_guard_refuses(pool: DriverPool, long_page: str) -> None:
    strict = FetchGuard()  # no loopback
    with pool.driver() as driver:
        before = driver.current_url
        with pytest.raises(FetchBlockedError, match="loopback"):
            navigate(driver, long_page + "/?refused", guard=strict)
        assert driver.current_url == before  # nothing was loaded
        with pytest.raises(FetchBlockedError, match="scheme"):
            navigate(driver, "file:///etc/passwd", guard=LOOPBACK)


@pytest.mark.slow
def test_a_page_load_timeout_is_a_site_error(pool: DriverPool, long_page: str) -> None:
    with pool.driver() as driver:
        driver.set_page_load_timeout(1)
        try:
            with pytest.raises(SiteError, match="timed out"):
                navigate(driver, long_page + "/slow", guard=LOOPBACK)
        finally:
            driver.set_page_load_timeout(10)
    with pool.driver() as driver:  # the same browser, reset, still works
        assert navigate(driver, long_page + "/", guard=LOOPBACK).endswith("/")


STORE_EVERYTHING = b"""<!doctype html><html><body><script>
localStorage.setItem("k", "v");
sessionStorage.setItem("k", "v");
document.cookie = "c=v; max-age=3600";
window.open("/popup");
Promise.all([
  new Promise((done) => { indexedDB.open("db", 1).onsuccess = done; }),
  caches.open("cache").then((cache) => cache.put("/cached", new Response("x"))),
  navigator.serviceWorker.register("/sw.js").then(() => navigator.serviceWorker.ready),
]).then(() => { document.title = "stored"; }, (error) => { document.title = "failed " + error; });
</script></body></html>"""
READ_EVERYTHING = """const done = arguments[0];
Promise.all([indexedDB.databases(), caches.keys(), navigator.serviceWorker.getRegistrations()]).then(
  ([databases, cacheNames, workers]) => done({
    local: localStorage.getItem("k"), session: sessionStorage.getItem("k"), cookie: document.cookie,
    databases: databases.map((d) => d.name), caches: cacheNames, workers: workers.length,
  }), (error) => done({error: String(error)}));"""


@pytest.mark.slow
def test_a_driver_comes_back_from_a_lending_with_nothing_a_site_stored(pool: DriverPool, serve_http: ServeHttp) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    routes = {"/store": ("text/html", STORE_EVERYTHING), "/sw.js": ("text/javascript", b"self.onfetch = () => {};"),
              "/popup": ("text/html", b"<p>a window the page opened</p>"), "/read": ("text/html", b"<p>read</p>")}
    with serve_http(routes) as base:
        elsewhere = base.replace("127.0.0.1", "localhost")  # another origin, on the same server
        with pool.driver() as first:
            navigate(first, base + "/store", guard=LOOPBACK)
            WebDriverWait(first, 10).until(lambda d: d.title != "")
            assert first.title == "stored"
            assert first.execute_async_script(READ_EVERYTHING) == {
                "local": "v", "session": "v", "cookie": "c=v", "databases": ["db"], "caches": ["cache"], "workers": 1,
            }, "the page stored all of it"
            navigate(first, elsewhere + "/read", guard=LOOPBACK)  # the storing origin is now only in the history
        with pool.driver() as second:
            assert second is first, "the same browser, lent again"
            assert second.window_handles == [second.current_window_handle], "the page's window was closed"
            navigate(second, base + "/read", guard=LOOPBACK)
            left = second.execute_async_script(READ_EVERYTHING)
    assert left == {"local": None, "session": None, "cookie": "", "databases": [], "caches": [], "workers": 0}


@pytest.mark.slow
def test_pool_replaces_a_crashed_driver_and_deletes_profiles(pool: DriverPool, long_page: str) -> None:
    restarts = pool.restarts
    with pool.driver() as first:
        profile = first.takedown_profile  # type: ignore[attr-defined]
        assert isinstance(profile, Path) and profile.is_dir()
        first.quit()  # the browser dies under the pool's feet
    assert not profile.exists()
    assert pool.restarts == restarts + 1
    with pool.driver() as second:
        assert second is not first
        assert navigate(second, long_page + "/", guard=LOOPBACK).endswith("/")
        second_profile = second.takedown_profile  # type: ignore[attr-defined]
    pool.close()
    assert not second_profile.exists()  # close() quit it and removed its profile


def test_chromium_driver_reports_missing_binaries(tmp_path: Path) -> None:
    settings = EvidenceSettings(chromedriver=tmp_path / "nope")
    with pytest.raises(EvidenceError, match="chromedriver not found"):
        chromium_driver(settings)
    with pytest.raises(UsageError):
        chromium_driver(EvidenceSettings(), window=(0, 10))


@pytest.mark.slow
def test_chromium_that_will_not_start_is_an_evidence_error() -> None:
    before = set(Path("/tmp").glob("takedown-chromium-*"))
    with pytest.raises(EvidenceError, match="would not start"):
        chromium_driver(EvidenceSettings(chromium=Path("/bin/false")))
    assert set(Path("/tmp").glob("takedown-chromium-*")) <= before  # its profile was removed


def test_without_selenium_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "selenium", None)
    with pytest.raises(MissingDependencyError, match=r"takedown\[browser\]"):
        chromium_driver(EvidenceSettings())


class FakeService:
    def __init__(self) -> None:
        self.up = True

    def is_connectable(self) -> bool:
        return self.up


class FakeDriver:
    """Just enough of a WebDriver for the pool: health checks, reset, quit."""

    def __init__(self) -> None:
        self.service = FakeService()
        self.quits = 0
        self.resets = 0

    def get(self, url: str) -> None:
        pass

    @property
    def current_url(self) -> str:
        from selenium.common.exceptions import InvalidSessionIdException

        if not self.service.up:
            raise InvalidSessionIdException("session deleted")
        return "about:blank"

    def execute_cdp_cmd(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        if cmd == "Network.clearBrowserCookies":
            self.resets += 1
        return {}

    def quit(self) -> None:
        self.quits += 1
        self.service.up = False


def test_pool_lends_resets_and_restarts_with_a_fake_factory() -> None:
    made: list[FakeDriver] = []

    def factory() -> Any:
        made.append(FakeDriver())
        return made[-1]

    pool = DriverPool(size=2, factory=factory)
    with pool.driver() as a, pool.driver() as b:
        assert a is not b and len(made) == 2
    assert made[0].resets == 1 and made[1].resets == 1  # each went back without cookies or cache
    with pool.driver() as again:
        assert id(again) in {id(d) for d in made}
    made[0].service.up = made[1].service.up = False  # both crashed while idle
    with pool.driver() as fresh:
        assert id(fresh) not in {id(d) for d in made[:2]}
    assert pool.restarts >= 1
    with pytest.raises(RuntimeError), pool.driver():
        raise RuntimeError("the capture failed; the driver is healthy and goes back")
    pool.close()
    assert all(d.quits >= 1 for d in made)
    with pytest.raises(UsageError):
        pool.acquire()
    with pytest.raises(UsageError):
        DriverPool(size=0)


def test_a_browser_that_starts_while_the_pool_closes_is_quit() -> None:
    entered, go_on = threading.Event(), threading.Event()
    made: list[FakeDriver] = []

    def slow_factory() -> Any:
        entered.set()
        go_on.wait(10)
        made.append(FakeDriver())
        return made[-1]

    pool = DriverPool(size=1, factory=slow_factory)
    failures: list[BaseException] = []

    def warm() -> None:
        try:
            pool.warm()
        except BaseException as exc:  # handed to the test's thread
            failures.append(exc)

    warming = threading.Thread(target=warm)
    warming.start()
    assert entered.wait(10)
    pool.close()  # while the browser is starting
    go_on.set()
    warming.join(10)
    assert [type(exc) for exc in failures] == [UsageError]
    assert len(made) == 1 and made[0].quits == 1, "the browser that started after close() was quit, not kept"


def test_pool_times_out_when_every_driver_is_lent() -> None:
    pool = DriverPool(size=1, factory=lambda: FakeDriver())  # type: ignore[arg-type,return-value]
    with pool.driver(), pytest.raises(EvidenceError, match="no browser became free"):
        pool.acquire(timeout=0.05)
    pool.close()


# -- the browser's own traffic, from DevTools events ---------------------------------------------------------


def _event(method: str, **params: Any) -> dict[str, Any]:
    return {"method": f"Network.{method}", "params": params}


def _sent(request_id: str, url: str, *, kind: str = "Image", wall: float = 1_700_000_000.0,
          **more: Any) -> dict[str, Any]:
    return _event("requestWillBeSent", requestId=request_id, type=kind, wallTime=wall,
                  request={"url": url, "method": "GET", "headers": {"User-Agent": "UA (before sending)"}}, **more)


def test_page_exchanges_follow_redirects_and_match_the_headers_as_sent_and_received() -> None:
    redirect = {"status": 302, "statusText": "Found", "protocol": "http/1.1", "headers": {"Location": "/p"},
                "remoteIPAddress": "93.184.215.14", "remotePort": 80}
    events = [
        _sent("ntp", "chrome://new-tab-page/", kind="Document"),  # the browser's own page: never part of a load
        _sent("old", "http://93.184.215.14/stale.png"),  # before the page's document request: not this load
        _sent("doc", "http://93.184.215.14/r", kind="Document", wall=1_700_000_001.0),
        _event("requestWillBeSentExtraInfo", requestId="doc",
               headers={"Host": "93.184.215.14", "Cookie": "a=1", "User-Agent": "UA"}),
        _event("responseReceivedExtraInfo", requestId="doc", statusCode=302,
               headers={"Location": "/p"}, headersText="HTTP/1.1 302 Found\r\nLocation: /p\r\n\r\n"),
        _sent("doc", "http://93.184.215.14/p", kind="Document", wall=1_700_000_002.0, redirectResponse=redirect,
              redirectHasExtraInfo=True),
        _event("requestWillBeSentExtraInfo", requestId="doc", headers={"Host": "93.184.215.14", "Cookie": "a=1"}),
        _event("responseReceived", requestId="doc", hasExtraInfo=True, response={
            "status": 200, "statusText": "OK", "protocol": "http/1.1", "charset": "utf-8",
            "headers": {"Content-Type": "text/html"}, "remoteIPAddress": "93.184.215.14", "remotePort": 80}),
        _event("responseReceivedExtraInfo", requestId="doc", statusCode=200,
               headers={"content-type": "text/html", "Set-Cookie": "b=2\nc=3"},
               headersText="HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nSet-Cookie: b=2\r\nSet-Cookie: c=3\r\n\r\n"),
        _event("loadingFinished", requestId="doc", encodedDataLength=500),
        _sent("inline", "data:image/png;base64,AAAA", wall=1_700_000_003.0),  # not HTTP: left out
        _sent("pic", "https://cdn.example/a.png", wall=1_700_000_004.0),
        _event("responseReceived", requestId="pic", hasExtraInfo=True, response={
            "status": 200, "protocol": "h2", "headers": {"content-type": "image/png"},
            "securityDetails": {"protocol": "TLS 1.3", "cipher": "AES_128_GCM", "subjectName": "cdn.example",
                                "issuer": "Synthetic CA", "validFrom": 1_700_000_000, "validTo": 1_800_000_000}}),
        _event("responseReceivedExtraInfo", requestId="pic", statusCode=404, headers={"x": "y"}),  # not its own
        _event("loadingFinished", requestId="pic", encodedDataLength=90),
        _sent("gone", "http://93.184.215.14/gone.js", kind="Script", wall=1_700_000_005.0),
        _event("loadingFailed", requestId="gone", errorText="net::ERR_CONNECTION_REFUSED", canceled=False),
    ]
    exchanges = page_exchanges(events)
    assert [(e.url, e.hop) for e in exchanges] == [
        ("http://93.184.215.14/r", 0), ("http://93.184.215.14/p", 1), ("https://cdn.example/a.png", 0),
        ("http://93.184.215.14/gone.js", 0),
    ]
    first, second, picture, gone = exchanges
    assert first.status == 302 and first.is_redirect and not first.finished
    assert first.head_text == "HTTP/1.1 302 Found\r\nLocation: /p\r\n\r\n"
    assert first.request_headers_sent and ("Cookie", "a=1") in first.request_headers
    assert first.started_at.timestamp() == 1_700_000_001.0 and first.remote_ip == "93.184.215.14"
    assert second.status == 200 and second.finished and not second.is_redirect and second.encoded_length == 500
    assert second.response_headers_raw and second.response_headers == (
        ("content-type", "text/html"), ("Set-Cookie", "b=2"), ("Set-Cookie", "c=3"))
    assert second.charset == "utf-8" and second.request_id == first.request_id == "doc"
    assert picture.head_text is None and not picture.response_headers_raw  # another status: never attached
    assert picture.response_headers == (("content-type", "image/png"),) and picture.protocol == "h2"
    assert not picture.request_headers_sent and picture.request_headers == (("User-Agent", "UA (before sending)"),)
    assert picture.security["protocol"] == "TLS 1.3" and picture.security["valid_to"].startswith("2027-01-15")
    assert gone.status is None and gone.error == "net::ERR_CONNECTION_REFUSED" and not gone.finished


class BodyDriver:
    def __init__(self, result: dict[str, Any] | Exception) -> None:
        self.result = result

    def execute_cdp_cmd(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        assert cmd == "Network.getResponseBody" and args == {"requestId": "r1"}
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def _exchange(headers: tuple[tuple[str, str], ...], charset: str = "") -> NetworkExchange:
    from datetime import UTC, datetime

    return NetworkExchange(request_id="r1", hop=0, url="http://93.184.215.14/", method="GET", resource_type="Document",
                           started_at=datetime.now(UTC), request_headers=(), request_headers_sent=False, status=200,
                           response_headers=headers, charset=charset, finished=True)


def test_response_body_gives_bytes_and_encodes_text_back_to_the_length_received() -> None:
    import base64

    from selenium.common.exceptions import WebDriverException

    picture = _pic()
    driver: Any = BodyDriver({"body": base64.b64encode(picture).decode(), "base64Encoded": True})
    assert response_body(driver, _exchange(())) == (picture, "as received")
    korean = "<p>합성 시험 페이지</p>"
    wire = korean.encode("euc-kr")
    headers = (("Content-Type", "text/html; charset=EUC-KR"), ("Content-Length", str(len(wire))))
    driver = BodyDriver({"body": korean, "base64Encoded": False})
    body, how = response_body(driver, _exchange(headers))  # Chromium did not say the charset: UTF-8 is too long
    assert body == wire and how == "text from Chromium, encoded as euc-kr (the length received)"
    body, how = response_body(driver, _exchange((("Content-Length", "3"),), charset="utf-8"))
    assert body == korean.encode() and "the bytes may differ" in how
    with pytest.raises(EvidenceError, match="getResponseBody failed"):
        response_body(BodyDriver(WebDriverException("No resource with given identifier found")),  # type: ignore[arg-type]
                      _exchange(()))


def test_a_pool_without_a_guard_has_no_proxy() -> None:
    pool = DriverPool(size=1, factory=lambda: FakeDriver())  # type: ignore[arg-type,return-value]
    with pool.driver():
        assert pool.proxy_url == "" and pool.blocked == []
    pool.close()
