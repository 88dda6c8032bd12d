from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable

import httpx
import pytest

from takedown.demo.site import DemoSite
from takedown.errors import FetchBlockedError, SiteError
from takedown.models import Candidate, MediaKind, SearchQuery
from takedown.settings import NetworkSettings
from takedown.sites.extract import extract
from takedown.sites.guard import FetchGuard, GuardConfig
from takedown.sites.http import HttpSite, HttpSiteConfig

PUBLIC = "http://93.184.216.34"  # an IP literal: the guard needs no DNS to check it


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://93.184.216.34/x",
        "http://127.0.0.1:8080/admin",
        "http://localhost/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http:///no-host",
    ],
)
def test_guard_refuses(url: str) -> None:
    with pytest.raises(FetchBlockedError):
        FetchGuard().check(url)


def test_guard_allows_public_and_what_the_caller_allows() -> None:
    FetchGuard().check(f"{PUBLIC}/page")
    FetchGuard(GuardConfig(allow_loopback=True)).check("http://127.0.0.1:9/")
    FetchGuard(GuardConfig(allow_private=True)).check("http://10.1.2.3/")
    with pytest.raises(FetchBlockedError):
        FetchGuard(GuardConfig(allow_loopback=True)).check("http://10.1.2.3/")
    asyncio.run(FetchGuard().acheck(f"{PUBLIC}/page"))


def test_extract_reads_hostile_markup() -> None:
    html = """<html lang="ko"><head><title> A  post </title><meta property="og:title" content="og">
    <script>var x = "<a href='/post/evil'>";</script><style>p{}</style></head>
    <body><p class=text>hello <b>world</b><a href="/post/2#top" rel="next" class="result">two</a>
    <a href="javascript:alert(1)">js</a><a href="mailto:abuse@site.example?subject=x">mail</a>
    <img src="data:image/png;base64,AAAA"><img src="/i/a.jpg"><video><source src="/v/b.mp4" type="video/mp4">
    </video><audio src="/a/c.mp3"></audio><div><p>unclosed"""
    content = extract(html, "https://site.example/post/1")
    assert content.title == "A post"
    assert content.language == "ko"
    assert "hello world" in content.text and "var x" not in content.text
    assert [link.url for link in content.links] == ["https://site.example/post/2"]
    assert content.links[0].rel == "next" and content.links[0].text == "two"
    assert content.emails == ("abuse@site.example",)
    kinds = {m.url: m.kind for m in content.media}
    assert kinds == {"https://site.example/i/a.jpg": MediaKind.IMAGE, "https://site.example/v/b.mp4": MediaKind.VIDEO,
                     "https://site.example/a/c.mp3": MediaKind.AUDIO}


def _site(handler: Callable[[httpx.Request], httpx.Response], **network: object) -> HttpSite:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    settings = NetworkSettings.model_validate({"retries": 0, "per_host_rate": 0, **network})
    return HttpSite(HttpSiteConfig(site="mock", base_url=PUBLIC), client=client, network=settings)


def _run(site: HttpSite, work: Callable[[HttpSite], object]) -> object:
    async def go() -> object:
        try:
            return await work(site)  # type: ignore[misc]
        finally:
            await site.client.aclose()  # a client passed in is its owner's to close

    return asyncio.run(go())


def test_search_follows_pagination_and_deduplicates() -> None:
    pages = {
        "/search": '<a class="result" href="/post/1">one</a><a href="/post/1?utm_source=x">dup</a>'
                   f'<a href="/about">x</a><a href="{PUBLIC}:99999/post/9">bad port</a>'
                   '<a rel="next" href="/search?q=k&page=2">next</a>',
        "/search2": '<a href="/post/2">two</a><a href="http://other.example/post/3">offsite</a>',
    }

    def handler(request: httpx.Request) -> httpx.Response:
        key = "/search2" if request.url.params.get("page") == "2" else request.url.path
        return httpx.Response(200, html=pages.get(key, ""))

    async def work(site: HttpSite) -> list[str]:
        return [c.url async for c in site.search(SearchQuery(case_id="c", text="k"))]

    assert _run(_site(handler), work) == [f"{PUBLIC}/post/1", f"{PUBLIC}/post/2"]


def test_a_redirect_to_loopback_is_blocked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            return httpx.Response(200, text="internal admin panel")
        return httpx.Response(302, headers={"location": "http://127.0.0.1/admin"})

    candidate = Candidate(case_id="c", site="mock", url=f"{PUBLIC}/post/1")
    with pytest.raises(FetchBlockedError, match="loopback"):
        _run(_site(handler), lambda site: site.fetch(candidate))


def test_oversized_media_is_left_out_and_broken_servers_are_site_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/post/1":
            return httpx.Response(200, html='<img src="/big.jpg"><img src="/pixel.gif"><img src="/ok.png">')
        if request.url.path == "/big.jpg":
            return httpx.Response(200, content=b"x" * 5000, headers={"content-type": "image/jpeg"})
        if request.url.path == "/pixel.gif":  # hotlink protection: a web page where an image should be
            return httpx.Response(200, html="<p>no hotlinking</p>")
        if request.url.path == "/ok.png":
            return httpx.Response(200, content=b"png" * 10, headers={"content-type": "image/png"})
        if request.url.path == "/search":
            return httpx.Response(503)
        raise httpx.ConnectError("connection refused", request=request)

    candidate = Candidate(case_id="c", site="mock", url=f"{PUBLIC}/post/1")
    page = _run(_site(handler, max_media_bytes=1000), lambda site: site.fetch(candidate))
    assert [m.url for m in page.media] == [f"{PUBLIC}/ok.png"], "one hostile item never hides the rest"
    assert len(page.skipped) == 2
    assert page.skipped[0].startswith(f"{PUBLIC}/big.jpg:") and "1000" in page.skipped[0]
    assert page.skipped[1].startswith(f"{PUBLIC}/pixel.gif:")
    with pytest.raises(SiteError, match="503"):
        _run(_site(handler), lambda site: anext(aiter(site.search(SearchQuery(case_id="c", text="k")))))
    gone = Candidate(case_id="c", site="mock", url=f"{PUBLIC}/elsewhere")
    with pytest.raises(SiteError, match="ConnectError"):
        _run(_site(handler), lambda site: site.fetch(gone))


def test_http_site_on_the_demo_site(demo_site: DemoSite) -> None:
    async def work() -> None:
        site = HttpSite(HttpSiteConfig(site="demo", base_url=demo_site.base_url),
                        network=NetworkSettings(allow_loopback=True))
        try:
            found = [c async for c in site.search(SearchQuery(case_id="c", text="minji_cam"))]
            post_ids = sorted(c.url.rsplit("/", 1)[1] for c in found)
            expected = sorted(p.id for p in demo_site.manifest.posts
                              if "minji_cam" in unicodedata.normalize("NFKC", p.title + p.text).lower())
            assert post_ids == expected
            page = await site.fetch(found[0])
            post = demo_site.manifest.post(found[0].url.rsplit("/", 1)[1])
            assert page.status == 200 and page.language == post.language
            assert len(page.media) == len(post.media)
            contacts = {(h.kind, h.value) for h in page.contacts}
            assert ("email", "abuse@demo-sns.example") in contacts
            assert ("security_txt", "security@demo-sns.example") in contacts
        finally:
            await site.aclose()

    asyncio.run(work())


def test_the_guard_is_on_by_default(demo_site: DemoSite) -> None:
    async def work() -> None:
        site = HttpSite(HttpSiteConfig(site="demo", base_url=demo_site.base_url))
        try:
            with pytest.raises(FetchBlockedError):
                await site.fetch(Candidate(case_id="c", site="demo", url=demo_site.url_for("p01")))
        finally:
            await site.aclose()

    asyncio.run(work())


def test_an_adapter_that_owns_its_client_can_be_reused_after_closing(demo_site: DemoSite) -> None:
    site = HttpSite(HttpSiteConfig(site="demo", base_url=demo_site.base_url),
                    network=NetworkSettings(allow_loopback=True))
    candidate = Candidate(case_id="c", site="demo", url=demo_site.url_for("p01"))

    async def fetch_then_close() -> int:
        try:
            return (await site.fetch(candidate)).status
        finally:
            await site.aclose()

    assert asyncio.run(fetch_then_close()) == 200
    assert asyncio.run(fetch_then_close()) == 200, "a second event loop gets a new client"


def test_a_closed_client_passed_in_is_a_site_error() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    site = HttpSite(HttpSiteConfig(site="mock", base_url=PUBLIC), client=client)
    asyncio.run(client.aclose())
    with pytest.raises(SiteError, match="closed"):
        asyncio.run(site.fetch(Candidate(case_id="c", site="mock", url=f"{PUBLIC}/post/1")))
