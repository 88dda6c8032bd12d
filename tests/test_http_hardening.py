"""The HTTP fetch path against hostile servers: limits, retries, the guard, decoding, proxies and HLS.

The end-to-end tests run the real ``HttpFetcher`` and ``HttpSite`` against ``tests/hostile_server.py`` on
127.0.0.1, reached through ``allow_hosts`` (that server's port only), so the rest of loopback stays refused.
Retry waits are observed through an injected clock, so no test sleeps through a backoff.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hostile_server import KOREAN, ForwardProxy, HostileServer, hls_segment, synthetic_png

from takedown.errors import ConfigError, FetchBlockedError, SiteError
from takedown.models import Candidate, MediaKind
from takedown.settings import NetworkSettings, Settings, load_settings
from takedown.sites.fetcher import FetchResult, HttpFetcher, decode_text
from takedown.sites.guard import FetchGuard, GuardConfig
from takedown.sites.http import HttpSite, HttpSiteConfig
from takedown.sites.limits import HostLimiter, Retry, RetryPolicy, parse_retry_after, retrying

T = TypeVar("T")
KiB = 1024


class FakeClock:
    """A clock that records the waits asked of it and moves on at once."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class RecordingTransport(httpx.AsyncBaseTransport):
    """The real transport, recording every URL it was asked to connect for."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


def network(server: HostileServer, **overrides: Any) -> NetworkSettings:
    """Small limits, no retries or rate limit unless asked; only the hostile server's port is allowed."""
    base: dict[str, Any] = {
        "allow_hosts": [f"127.0.0.1:{server.port}"], "timeout_s": 5, "read_timeout_s": 2, "connect_timeout_s": 2,
        "retries": 0, "per_host_rate": 0, "max_body_bytes": 256 * KiB, "max_media_bytes": 256 * KiB,
    }
    return NetworkSettings.model_validate({**base, **overrides})


def run(fetcher: HttpFetcher, work: Callable[[HttpFetcher], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await work(fetcher)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def get(server: HostileServer, path: str, **kwargs: Any) -> FetchResult:
    settings = kwargs.pop("settings", None) or network(server)
    fetcher = HttpFetcher(settings, clock=kwargs.pop("clock", None))
    return run(fetcher, lambda f: f.get(server.url(path), **kwargs))


# -- the hostile routes, each a typed error --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "settings", "message"),
    [
        ("/slow?s=30", {"read_timeout_s": 0.5}, "ReadTimeout"),
        ("/drip?every=0.1", {"timeout_s": 1}, r"no complete answer within 1 s \(timeout_s\)"),
        ("/endless", {}, r"page larger than 262144 bytes \(max_body_bytes\)"),
        ("/gzip-bomb?gb=4", {}, r"page larger than 262144 bytes"),
        ("/length-lie", {}, "Content-Length says 1000000000000"),
        ("/loop/a", {}, "redirect loop"),
        ("/hops?n=3", {"max_redirects": 2}, r"more than 2 redirects \(max_redirects\)"),
        ("/binary", {}, "unexpected content type 'application/octet-stream' for a page"),
        ("/image-page", {}, "unexpected content type 'image/png' for a page"),
    ],
)
def test_each_hostile_route_is_a_site_error(
    server: HostileServer, path: str, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(SiteError, match=message) as info:
        get(server, path, settings=network(server, **settings))
    assert not isinstance(info.value, FetchBlockedError)
    assert info.value.url == server.url(path) and info.value.plugin == "http"


def test_a_brotli_bomb_is_stopped_while_decoding(server: HostileServer) -> None:
    pytest.importorskip("brotli")
    with pytest.raises(SiteError, match="page larger than 262144 bytes"):
        get(server, "/brotli-bomb?gb=4")


def test_html_served_as_media_is_refused(server: HostileServer) -> None:
    with pytest.raises(SiteError, match="unexpected content type 'text/html' for a media"):
        get(server, "/html-as-image.png", kind="media")


def test_redirects_within_the_limit_are_followed_and_reported(server: HostileServer) -> None:
    result = get(server, "/hops?n=2", settings=network(server, max_redirects=2))
    assert result.status == 200 and result.final_url == server.url("/hops?n=0")
    assert result.redirects == (server.url("/hops?n=2"), server.url("/hops?n=1"))


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin", "http://[fd00::1]/",
     "file:///etc/passwd", "ftp://127.0.0.1/pub"],
)
def test_redirects_to_refused_addresses_are_blocked_before_connecting(server: HostileServer, target: str) -> None:
    transport = RecordingTransport()
    fetcher = HttpFetcher(network(server), client=httpx.AsyncClient(transport=transport))

    async def work(f: HttpFetcher) -> FetchResult:
        try:
            return await f.get(server.url(f"/redirect?to={target}"))
        finally:
            await transport.aclose()

    with pytest.raises(FetchBlockedError):
        run(fetcher, work)
    assert transport.urls == [server.url(f"/redirect?to={target}")], "the refused URL never reached the transport"


def test_loopback_on_another_port_is_refused_when_only_one_server_is_allowed(server: HostileServer) -> None:
    with HostileServer() as other:
        with pytest.raises(FetchBlockedError, match="loopback"):
            get(server, f"/redirect?to={other.url('/page')}")
        assert other.paths() == [], "nothing was sent to the server that was not allowed"
        # allow_loopback lets the whole of loopback through, that port included
        assert get(server, f"/redirect?to={other.url('/page')}",
                   settings=network(server, allow_loopback=True)).status == 200


# -- retries and Retry-After --------------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured(server: HostileServer) -> None:
    clock = FakeClock()
    result = get(server, "/retry-after?id=seconds&n=2&after=7", settings=network(server, retries=3), clock=clock)
    assert result.status == 200
    assert clock.sleeps == [7.0, 7.0]
    assert server.paths().count("/retry-after") >= 3


def test_retry_after_as_an_http_date_and_its_cap(server: HostileServer) -> None:
    clock = FakeClock()
    get(server, "/retry-after?id=date&n=1&after=date", settings=network(server, retries=1), clock=clock)
    assert len(clock.sleeps) == 1 and 0.0 <= clock.sleeps[0] <= 2.0
    clock = FakeClock()
    get(server, "/retry-after?id=capped&n=1&after=3600", settings=network(server, retries=1, max_retry_after_s=5),
        clock=clock)
    assert clock.sleeps == [5.0]


def test_a_real_one_second_retry_after(server: HostileServer) -> None:
    result = get(server, "/retry-after?id=real&n=1&after=1", settings=network(server, retries=1))
    assert result.status == 200 and result.text.endswith("</html>")


def test_503s_are_retried_with_jittered_backoff_then_returned(server: HostileServer) -> None:
    clock = FakeClock()
    settings = network(server, retries=3, backoff_s=0.5, max_backoff_s=30)
    assert get(server, "/flaky?id=a&n=2", settings=settings, clock=clock).status == 200
    assert len(clock.sleeps) == 2 and 0 <= clock.sleeps[0] <= 0.5 and 0 <= clock.sleeps[1] <= 1.0
    clock = FakeClock()
    assert get(server, "/flaky?id=b&n=9", settings=network(server, retries=1), clock=clock).status == 503
    assert len(clock.sleeps) == 1, "the last answer is returned once the retries are spent"


def test_connect_failures_are_retried_then_a_site_error() -> None:
    attempts: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(str(request.url))
        raise httpx.ConnectError("connection refused", request=request)

    clock = FakeClock()
    fetcher = HttpFetcher(NetworkSettings(retries=2), client=httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
                          clock=clock)
    with pytest.raises(SiteError, match="ConnectError"):
        run(fetcher, lambda f: f.get("http://93.184.216.34/"))
    assert len(attempts) == 3 and len(clock.sleeps) == 2


def test_retrying_unit() -> None:
    answers = iter([503, 429, 200])
    clock = FakeClock()

    async def attempt() -> int:
        return next(answers)

    def decide(status: int) -> Retry | None:
        return Retry(f"HTTP {status}", 2.0 if status == 429 else None) if status >= 400 else None

    result = asyncio.run(retrying(attempt, RetryPolicy(retries=3, backoff_s=1), decide=decide, clock=clock,
                                  random=lambda: 0.5))
    assert result == 200
    assert clock.sleeps == [0.5, 2.0], "full jitter: 0.5 x min(max, 1 x 2**0); then the server's 2 s"
    policy = RetryPolicy(backoff_s=1, max_backoff_s=4)
    assert [policy.delay(n, random=lambda: 1.0) for n in range(5)] == [1, 2, 4, 4, 4]
    assert policy.delay(0, retry_after=1e9) == policy.max_retry_after_s


def test_parse_retry_after() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# -- per-host limits ------------------------------------------------------------------------------------------------


def test_per_host_concurrency_is_respected(server: HostileServer) -> None:
    fetcher = HttpFetcher(network(server, per_host_concurrency=2))

    async def many(f: HttpFetcher) -> list[FetchResult]:
        return await asyncio.gather(*(f.get(server.url("/count?hold=0.3")) for _ in range(6)))

    assert [r.status for r in run(fetcher, many)] == [200] * 6
    assert server.max_in_flight == 2


def test_the_rate_limit_spaces_requests_per_host() -> None:
    clock = FakeClock()
    limiter = HostLimiter(concurrency=10, rate=2.0, burst=2, clock=clock)

    async def work() -> None:
        for _ in range(4):
            async with limiter.slot("a.example"):
                pass
        async with limiter.slot("b.example"):  # another host has its own bucket
            pass

    asyncio.run(work())
    assert clock.sleeps == [0.5, 0.5], "a burst of two, then one every 1/rate seconds; b.example did not wait"


def test_loopback_is_not_rate_limited_unless_asked() -> None:
    async def three(limiter: HostLimiter, host: str) -> None:
        for _ in range(3):
            async with limiter.slot(host):
                pass

    clock = FakeClock()
    for host in ["127.0.0.1", "localhost", "::1"]:
        asyncio.run(three(HostLimiter(rate=1, burst=1, clock=clock), host))
    assert clock.sleeps == [], "the caller's own machine: the demo and tests"
    asyncio.run(three(HostLimiter(rate=1, burst=1, clock=clock, limit_loopback_rate=True), "127.0.0.1"))
    assert clock.sleeps == [1.0, 1.0]


def test_the_concurrency_limit_unit() -> None:
    limiter = HostLimiter(concurrency=2, rate=0)
    inside = 0
    peak = 0

    async def one(host: str) -> None:
        nonlocal inside, peak
        async with limiter.slot(host):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside -= 1

    async def work() -> None:
        await asyncio.gather(*(one("a.example") for _ in range(5)))

    asyncio.run(work())
    assert peak == 2
    asyncio.run(work())  # a second event loop: the limiter is usable again
    assert peak == 2


# -- headers, cookies, proxy ----------------------------------------------------------------------------------------


def test_headers_and_cookies_reach_the_server(server: HostileServer) -> None:
    settings = network(server, headers={"X-Agency": "KR-0001"}, user_agent="takedown-test/1",
                       cookies={"127.0.0.1": {"age_ok": "1", "lang": "ko"}, "other.example": {"secret": "x"}})
    echoed = json.loads(get(server, "/echo", settings=settings).body)
    assert echoed["x-agency"] == "KR-0001" and echoed["user-agent"] == "takedown-test/1"
    assert echoed["cookie"] == "age_ok=1; lang=ko", "only the cookies for this host"
    assert "br" in echoed["accept-encoding"] or echoed["accept-encoding"] == "gzip, deflate"


def test_requests_go_through_the_proxy(server: HostileServer) -> None:
    with ForwardProxy() as proxy:
        result = get(server, "/echo", settings=network(server, proxy=proxy.url))
    assert proxy.forwarded == [server.url("/echo")]
    assert json.loads(result.body)["via"] == "1.1 test-proxy"


def test_the_guard_checks_the_target_not_the_proxy(server: HostileServer) -> None:
    with ForwardProxy() as proxy, pytest.raises(FetchBlockedError):
        get(server, "/page", settings=network(server, proxy=proxy.url, allow_hosts=[]))
    assert proxy.forwarded == []


# -- decoding ------------------------------------------------------------------------------------------------------


def test_a_misdeclared_charset_is_read_from_the_meta_tag(server: HostileServer) -> None:
    result = get(server, "/charset/misdeclared")
    assert result.charset == "utf-8" and KOREAN in result.text


def test_utf8_behind_a_latin1_header_is_read_as_utf8(server: HostileServer) -> None:
    assert KOREAN in get(server, "/charset/latin1-header").text


def test_decode_text_edge_cases() -> None:
    assert decode_text(b"\xef\xbb\xbf<p>bom</p>", "shift_jis") == "<p>bom</p>", "a byte-order mark wins"
    assert decode_text("<p>삭제</p>".encode("utf-16-le"), None) != "", "undecodable input still gives text"
    assert decode_text(b"<p>plain</p>", "no-such-charset") == "<p>plain</p>", "an unknown charset is ignored"


def test_an_undeclared_legacy_charset_is_guessed() -> None:
    pytest.importorskip("charset_normalizer")  # optional: without it, undecodable bytes become U+FFFD
    html = f"<html><body><p>{KOREAN}</p><p>{KOREAN}: 신고 접수 및 처리 절차</p></body></html>"
    assert decode_text(html.encode("euc-kr"), None) == html


def test_gzip_encoded_media_is_stored_decoded(server: HostileServer) -> None:
    site = HttpSite(HttpSiteConfig(site="hostile", base_url=server.base_url), network=network(server))

    async def work() -> Any:
        try:
            return await site.fetch(Candidate(case_id="c", site="hostile", url=server.url("/post/gzip-media")))
        finally:
            await site.aclose()

    page = asyncio.run(work())
    assert page.status == 200 and page.body.startswith(b"<html>") and "a post" in page.html
    assert [m.content for m in page.media] == [synthetic_png()]
    assert page.media[0].kind is MediaKind.IMAGE and page.media[0].content_type == "image/png"


def test_adapters_can_share_one_fetcher(server: HostileServer) -> None:
    fetcher = HttpFetcher(network(server))
    first = HttpSite(HttpSiteConfig(site="a", base_url=server.base_url), fetcher=fetcher)
    second = HttpSite(HttpSiteConfig(site="b", base_url=server.base_url), fetcher=fetcher)
    assert first.fetcher is second.fetcher and first.network is fetcher.network

    async def work() -> list[int]:
        pages = [await site.fetch(Candidate(case_id="c", site=site.site, url=server.url("/page")))
                 for site in (first, second)]
        await first.aclose()  # not the adapters' to close: the fetcher stays open for the other
        assert not fetcher.client.is_closed
        await fetcher.aclose()
        return [page.status for page in pages]

    assert asyncio.run(work()) == [200, 200]


def test_a_candidate_that_is_media_is_fetched_as_media(server: HostileServer) -> None:
    site = HttpSite(HttpSiteConfig(site="hostile", base_url=server.base_url), network=network(server))

    async def work(path: str) -> Any:
        try:
            return await site.fetch(Candidate(case_id="c", site="hostile", url=server.url(path)))
        finally:
            await site.aclose()

    page = asyncio.run(work("/media/gzipped.png"))
    assert page.html == "" and [m.content for m in page.media] == [synthetic_png()]
    with pytest.raises(SiteError, match="unexpected content type 'image/png'"):
        asyncio.run(work("/image-page"))


# -- HLS ----------------------------------------------------------------------------------------------------------


def test_an_hls_video_on_a_page_is_one_mpeg_ts_item(server: HostileServer) -> None:
    site = HttpSite(HttpSiteConfig(site="hostile", base_url=server.base_url), network=network(server))

    async def work() -> Any:
        try:
            return await site.fetch(Candidate(case_id="c", site="hostile", url=server.url("/post/hls")))
        finally:
            await site.aclose()

    page = asyncio.run(work())
    (video,) = page.media
    assert video.url == server.url("/hls/master.m3u8")
    assert video.kind is MediaKind.VIDEO and video.content_type == "video/mp2t"
    assert video.content == hls_segment(1) + hls_segment(2) + hls_segment(3), "the best variant, in order"
    assert "/hls/low.m3u8" not in server.paths()


def test_hls_limits_and_encryption(server: HostileServer) -> None:
    whole = 3 * len(hls_segment(1))
    with pytest.raises(SiteError, match=f"HLS video larger than {whole - 1} bytes"):
        run(HttpFetcher(network(server)), lambda f: f.get_media(server.url("/hls/master.m3u8"), max_bytes=whole - 1))
    with pytest.raises(SiteError, match="encrypted HLS"):
        run(HttpFetcher(network(server)), lambda f: f.get_media(server.url("/hls/encrypted.m3u8")))


# -- settings and the guard's allow list --------------------------------------------------------------------------


def test_network_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no takedown.toml here: the environment alone
    settings = load_settings(env={
        "TAKEDOWN_NETWORK__ALLOW_HOSTS": "127.0.0.1:8080, 10.20.0.0/16",
        "TAKEDOWN_NETWORK__HEADERS": '{"X-Agency": "KR-0001"}',
        "TAKEDOWN_NETWORK__COOKIES": '{"forum.example": {"session": "s1"}}',
        "TAKEDOWN_NETWORK__PER_HOST_RATE": "0.5",
    })
    net = settings.network
    assert net.allow_hosts == ("127.0.0.1:8080", "10.20.0.0/16")
    assert net.headers == {"X-Agency": "KR-0001"} and net.cookies == {"forum.example": {"session": "s1"}}
    assert net.per_host_rate == 0.5
    assert hash(settings) == hash(Settings.model_validate(settings.model_dump())), "settings stay hashable"
    with pytest.raises(ConfigError, match="allow_hosts"):
        load_settings(env={"TAKEDOWN_NETWORK__ALLOW_HOSTS": "127.0.0.1:99999"})
    with pytest.raises(ConfigError, match="headers"):
        load_settings(env={"TAKEDOWN_NETWORK__HEADERS": "not json"})


def test_the_guard_allow_list() -> None:
    guard = FetchGuard(GuardConfig(allow_hosts=frozenset({"127.0.0.1:8080", "10.20.0.0/16", "intranet.example",
                                                          "[::1]:9000"})))
    guard.check("http://127.0.0.1:8080/")
    guard.check("http://localhost:8080/")  # a name that resolves into an allowed address
    guard.check("http://10.20.3.4/")
    guard.check("http://intranet.example/")  # allowed by name: not even resolved
    guard.check("http://[::1]:9000/")
    for refused in ["http://127.0.0.1:8081/", "http://10.21.0.1/", "http://[::1]:9001/", "ftp://10.20.3.4/"]:
        with pytest.raises(FetchBlockedError):
            guard.check(refused)
    guard.check_endpoint("localhost", 8080, ipaddress.ip_address("127.0.0.1"), url="http://localhost:8080/")
    with pytest.raises(FetchBlockedError):
        guard.check_endpoint("localhost", 8081, ipaddress.ip_address("127.0.0.1"), url="http://localhost:8081/")
    https_only = FetchGuard.for_network(NetworkSettings(allowed_schemes=("https",)))
    with pytest.raises(FetchBlockedError, match="scheme 'http'"):
        https_only.check("http://93.184.216.34/")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("::ffff:169.254.169.254", "cloud metadata address 169.254.169.254"),
        ("2002:a9fe:a9fe::1", r"cloud metadata address 169.254.169.254 \(carried by 2002:a9fe:a9fe::1\)"),
        ("2002:7f00:1::1", "loopback address 127.0.0.1"),
        ("2002:a00:1::1", "private or link-local address 10.0.0.1"),
        ("2001:0:5ef5:79fd::5601:5601", "cloud metadata address 169.254.169.254"),  # Teredo, client 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private or link-local address 10.0.0.1"),  # Teredo, client 10.0.0.1
    ],
)
def test_ipv6_transition_addresses_are_judged_by_the_ipv4_address_they_carry(address: str, reason: str) -> None:
    with pytest.raises(FetchBlockedError, match=reason):
        FetchGuard().check(f"http://[{address}]/")


def test_ipv6_transition_addresses_of_public_hosts_pass() -> None:
    guard = FetchGuard()
    for public in ["2002:808:808::1", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"]:  # 6to4 and Teredo for 8.8.8.8
        guard.check_address(ipaddress.ip_address(public), url=f"http://[{public}]/")


def test_allow_private_does_not_open_the_cloud_metadata_endpoints() -> None:
    guard = FetchGuard(GuardConfig(allow_private=True))
    guard.check("http://169.254.1.1/")
    guard.check("http://10.0.0.1/")
    guard.check("http://[fd00::1]/")
    for metadata in ["169.254.169.254", "169.254.170.2", "100.100.100.200", "[fd00:ec2::254]", "[2002:a9fe:a9fe::1]"]:
        with pytest.raises(FetchBlockedError, match="cloud metadata address"):
            guard.check(f"http://{metadata}/latest/meta-data/")


def test_only_an_allow_hosts_entry_that_names_a_metadata_endpoint_opens_it() -> None:
    metadata = ipaddress.ip_address("169.254.169.254")
    url = "http://169.254.169.254/"
    network_wide = FetchGuard(GuardConfig(allow_hosts=frozenset({"169.254.0.0/16", "0.0.0.0/0"})))
    network_wide.check("http://169.254.1.1/")  # the network entry covers the rest of link-local
    with pytest.raises(FetchBlockedError, match="cloud metadata address"):
        network_wide.check(url)
    FetchGuard(GuardConfig(allow_hosts=frozenset({"169.254.169.254"}))).check(url)
    by_name = FetchGuard(GuardConfig(allow_hosts=frozenset({"metadata.google.internal"})))
    by_name.check("http://metadata.google.internal/")  # named: not even resolved
    by_name.check_endpoint("metadata.google.internal", 80, metadata, url="http://metadata.google.internal/")
    with pytest.raises(FetchBlockedError, match="cloud metadata address"):
        by_name.check_endpoint("elsewhere.example", 80, metadata, url="http://elsewhere.example/")


@pytest.mark.parametrize(
    ("url", "setting", "entry", "other_port"),
    [
        ("http://127.0.0.1:8080/admin", "allow_loopback", "127.0.0.1:8080", "http://127.0.0.1:8081/admin"),
        ("http://[::1]:9000/", "allow_loopback", "[::1]:9000", "http://[::1]:9001/"),
        # 6to4 carrying 127.0.0.1: the entry names the address the URL gives
        ("http://[2002:7f00:1::1]/", "allow_loopback", "[2002:7f00:1::1]:80", "http://[2002:7f00:1::1]:81/"),
        ("https://10.0.0.1/", "allow_private", "10.0.0.1:443", "http://10.0.0.1/"),
        ("http://169.254.1.1:81/", "allow_private", "169.254.1.1:81", "http://169.254.1.1:82/"),
        ("http://[fe80::1]/", "allow_private", "[fe80::1]:80", "https://[fe80::1]/"),
    ],
)
def test_a_refusal_names_the_settings_that_allow_it_and_they_do(
    url: str, setting: str, entry: str, other_port: str
) -> None:
    with pytest.raises(FetchBlockedError) as refused:
        FetchGuard().check(url)
    message = str(refused.value)
    assert f"set [network] {setting} = true" in message
    assert f'[network] allow_hosts = ["{entry}"]' in message
    # Each setting the message names lets the URL through; the allow_hosts entry lets only that host and port.
    FetchGuard(GuardConfig.model_validate({setting: True})).check(url)
    only = FetchGuard(GuardConfig(allow_hosts=frozenset({entry})))
    only.check(url)
    with pytest.raises(FetchBlockedError, match=setting):
        only.check(other_port)


def test_a_refused_host_name_is_suggested_by_name_for_allow_hosts() -> None:
    guard = FetchGuard()
    with pytest.raises(FetchBlockedError, match=r'allow_hosts = \["localhost:8080"\]'):
        guard.check("http://localhost:8080/")
    FetchGuard(GuardConfig(allow_hosts=frozenset({"localhost:8080"}))).check("http://localhost:8080/")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[2002:a9fe:a9fe::1]/"])
def test_a_metadata_refusal_says_no_network_setting_opens_it(url: str) -> None:
    with pytest.raises(FetchBlockedError) as refused:
        FetchGuard().check(url)
    message = str(refused.value)
    assert "no [network] setting that opens loopback or private addresses" in message
    assert "allow_private = true" not in message and "allow_loopback = true" not in message
    with pytest.raises(FetchBlockedError, match="cloud metadata address"):
        FetchGuard(GuardConfig(allow_loopback=True, allow_private=True)).check(url)
