"""Sites described by TOML: loading and its errors, discovery and fetching against the demo site, web-form reports."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hostile_server import HostileServer, synthetic_png
from pydantic import BaseModel

from takedown.demo.site import DemoSite
from takedown.errors import (
    ConfigError,
    DeliveryError,
    DeliveryStateUnknownError,
    EvidenceError,
    MissingDependencyError,
    NotApprovedError,
    SiteError,
    UsageError,
)
from takedown.models import Candidate, MediaKind, Notice, NoticeState, Page, Recipient, SearchQuery, utcnow
from takedown.settings import EvidenceSettings, NetworkSettings
from takedown.sites.base import SiteAdapter
from takedown.sites.chromium import DriverPool
from takedown.sites.declarative import (
    BrowserSpec,
    ConfiguredSite,
    FetchSpec,
    FormSpec,
    FormSubmission,
    LimitsSpec,
    ListingSpec,
    ReportSpec,
    SearchSpec,
    SiteSpec,
    load_site,
    load_sites,
    read_spec,
)
from takedown.sites.guard import FetchGuard
from takedown.testing import SiteAdapterContract

if TYPE_CHECKING:
    from conftest import ServeHttp

DEMO_SITES = Path(__file__).resolve().parents[1] / "takedown" / "demo" / "sites"
HTTP_TOML = DEMO_SITES / "demo-sns.toml"
BROWSER_TOML = DEMO_SITES / "demo-sns-browser.toml"
LOOPBACK = NetworkSettings(allow_loopback=True, per_host_rate=0)
KEYWORD = "minji_cam"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _demo(site: DemoSite, **changes: Any) -> ConfiguredSite:
    """The HTTP demo config, optionally with some of its keys replaced."""
    spec = read_spec(HTTP_TOML, variables={"base_url": site.base_url})
    return load_site(spec.model_copy(update=changes), network=LOOPBACK)


async def _search(adapter: SiteAdapter, text: str = KEYWORD, *, limit: int = 100) -> list[Candidate]:
    try:
        return [c async for c in adapter.search(SearchQuery(case_id="case-1", text=text, limit=limit))]
    finally:
        await adapter.aclose()


def _post_id(candidate: Candidate) -> str:
    return candidate.url.rsplit("/", 1)[1]


# -- loading ----------------------------------------------------------------------------------------------------


GOOD = """
name = "sns.example"
base_url = "{base_url}"
language = "ko"
jurisdiction = "KR"
feeds = ["/rss.xml", "https://sns.example/atom.xml"]
sitemaps = ["/sitemap.xml"]

[search]
url = "/search?q={query}&page={page}"
results = "a.result"
match = "/post/"

[[listings]]
url = "/new?page={page}"
items = "li a::attr(data-href)"

[fetch]
media = ["div.player::attr(data-video)"]
title = "article h1"

[report.form]
url = "/report"
fields = { url = "url", body = "details" }
values = { reason = "ncii" }

[limits]
rate = 1.5
concurrency = 1
"""


def test_a_good_file_loads_with_variables_and_relative_urls_resolved(tmp_path: Path) -> None:
    spec = read_spec(_write(tmp_path, "sns.toml", GOOD), variables={"base_url": "https://sns.example/"})
    assert spec.name == "sns.example" and spec.base_url == "https://sns.example"
    assert spec.feeds == ("https://sns.example/rss.xml", "https://sns.example/atom.xml")
    assert spec.search is not None and spec.search.url == "https://sns.example/search?q={query}&page={page}"
    assert spec.listings[0].url == "https://sns.example/new?page={page}"
    assert spec.report.form is not None and spec.report.form.url == "https://sns.example/report"
    assert spec.engine_for("fetch") == "http" and not spec.uses_browser
    network = spec.limits.apply(NetworkSettings())
    assert (network.per_host_rate, network.per_host_concurrency, network.per_host_burst) == (1.5, 1, 8)

    adapter = load_site(_write(tmp_path, "sns.toml", GOOD), variables={"base_url": "https://sns.example"})
    assert isinstance(adapter, SiteAdapter)
    assert (adapter.name, adapter.site, adapter.network.per_host_rate) == ("configured", "sns.example", 1.5)
    _run(adapter.aclose())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name = "x"\nbase_url = "https://x.example"\nsearch_url = "/s"\n',
         "search_url: unknown key (known keys: name"),
        ('base_url = "https://x.example"\n', "name: required key is missing"),
        ('name = "x"\nbase_url = "ftp://x.example"\n', "base_url: base_url must be an absolute http or https URL"),
        ('name = "x"\nbase_url = "https://x.example"\nengine = "chrome"\n', "engine: Input should be 'http' or"),
        ('name = "x"\nbase_url = "https://x.example"\n[search]\nurl = "/s"\nresults = "a"\n',
         "search.url: the search URL must hold {query}"),
        ('name = "x"\nbase_url = "https://x.example"\n[search]\nurl = "/s?q={query}"\nresults = "a[[["\n',
         "search.results: invalid CSS selector 'a[[['"),
        ('name = "x"\nbase_url = "https://x.example"\n[[listings]]\nurl = "/{where}"\nitems = "a"\n',
         "listings[0].url: unknown variable {where}"),
        ('name = "x"\nbase_url = "https://x.example"\n[[listings]]\nurl = "/new"\n',
         "listings[0].items: required key is missing"),
        ('name = "x"\nbase_url = "https://x.example"\n[report]\nemail = "not an address"\n',
         "report.email: 'not an address' is not an email address"),
        ('name = "x"\nbase_url = "https://x.example"\n[report]\nemail = "abuse@x.test"\n',
         "report.email: 'abuse@x.test' is not an email address a notice can be drafted to: The part after the"
         " @-sign is a special-use or reserved name"),
        ('name = "x"\nbase_url = "https://x.example"\n[report]\nemail = "abuse@@x.example"\n',
         "report.email: 'abuse@@x.example' is not an email address"),
        ('name = "x"\nbase_url = "https://x.example"\n[report.form]\nurl = "/r"\nfields = { colour = "c" }\n',
         "report.form.fields: unknown notice value(s) colour"),
        ('name = "x"\nbase_url = "https://x.example"\n[browser]\nwait = "forever"\n', "browser.wait: use"),
        ('name = "x"\nbase_url = "https://x.example"\n[limits]\nconcurrency = 0\n', "limits.concurrency:"),
        # The TOML trap: a top-level key written after a table belongs to that table.
        ('name = "x"\nbase_url = "https://x.example"\n[search]\nurl = "/s?q={query}"\nresults = "a"\n'
         'sitemaps = ["/sitemap.xml"]\n', "search.sitemaps: unknown key"),
        ('name = "x"\nbase_url = \n', "not valid TOML: Invalid value (at line 2"),
    ],
)
def test_every_error_names_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, "broken.toml", text)
    with pytest.raises(ConfigError) as raised:
        read_spec(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.toml", 'name = "x"\nbase_url = "https://x.example"\nengine = "chrome"\n'
                  '[search]\nurl = "/s"\nreslts = "a"\n')
    with pytest.raises(ConfigError) as raised:
        read_spec(path)
    for key in ("engine:", "search.url:", "search.reslts: unknown key", "search.results: required key is missing"):
        assert key in str(raised.value)


@pytest.mark.parametrize(
    "address",
    ["abuse@demo-sns.example", "Abuse@Sub.Site.Example", "abuse@bücher.example", "abuse@x.test", "abuse@x.invalid",
     "abuse@x.localhost", "abuse@printer.local", "abuse@x.onion", "abuse@localhost", "abuse@x", "abuse@[127.0.0.1]",
     "Name <abuse@x.example>", "abuse x@x.example", "abuse@x.example\nBcc: y@y.example"],
)
def test_a_report_email_loads_exactly_when_drafting_would_use_it(address: str) -> None:
    from takedown.report.recipients import email_addresses  # the check drafting applies to a site's address

    drafted = email_addresses(address)
    try:
        spec = ReportSpec(email=address)
    except ValueError:
        assert drafted == [], f"{address!r}: refused in the site file but drafting would use it"
    else:
        assert spec.email == address and len(drafted) == 1, f"{address!r}: loads but drafting drops it"


def test_a_site_file_whose_report_email_drafting_refuses_is_not_loaded(tmp_path: Path) -> None:
    _write(tmp_path, "a.toml", 'name = "a.example"\nbase_url = "https://a.example"\n[report]\n'
                               'email = "abuse@a.invalid"\n')
    with pytest.raises(ConfigError) as raised:
        load_sites(tmp_path)
    assert f"{tmp_path / 'a.toml'}: report.email: 'abuse@a.invalid'" in str(raised.value)
    with pytest.raises(ConfigError, match=r"report\.email"):
        load_site(tmp_path / "a.toml")
    variables = {"base_url": "http://127.0.0.1:8080"}
    assert {read_spec(path, variables=variables).report.email for path in DEMO_SITES.glob("*.toml")} == {
        "abuse@demo-sns.example"}, "the demo's .example address passes"


def test_load_sites_checks_every_file_and_refuses_two_files_for_one_site(tmp_path: Path) -> None:
    _write(tmp_path, "a.toml", 'name = "a.example"\nbase_url = "https://a.example"\nsitemaps = ["/s.xml"]\n')
    _write(tmp_path, "b.toml", 'name = "b.example"\nbase_url = "https://b.example"\nsitemaps = ["/s.xml"]\n')
    _write(tmp_path, "notes.txt", "not a site file")
    sites = load_sites(tmp_path, network=LOOPBACK)
    assert [s.site for s in sites] == ["a.example", "b.example"]
    assert all(s.origin.endswith(".toml") for s in sites)

    _write(tmp_path, "c.toml", 'name = "a.example"\nbase_url = "https://a.example"\n')
    _write(tmp_path, "d.toml", 'name = "d.example"\nbase_url = "gopher://d.example"\n')
    with pytest.raises(ConfigError) as raised:
        load_sites(tmp_path)
    message = str(raised.value)
    assert "c.toml: name: site 'a.example' is already described by" in message and "a.toml" in message
    assert "d.toml: base_url:" in message, "every file's problems are reported together"
    with pytest.raises(ConfigError, match="not a folder"):
        load_sites(tmp_path / "missing")


def test_the_demo_configs_load() -> None:
    variables = {"base_url": "http://127.0.0.1:8080"}
    plain = read_spec(HTTP_TOML, variables=variables)
    assert plain.name == "demo-sns.example" and not plain.uses_browser
    assert plain.search is not None and plain.listings and plain.sitemaps
    assert plain.report.form is not None and plain.report.form.url == "http://127.0.0.1:8080/report"
    rendered = read_spec(BROWSER_TOML, variables=variables)
    assert rendered.name == plain.name and rendered.uses_browser
    assert [rendered.engine_for("listing", item) for item in rendered.listings] == ["browser", "http"]
    assert rendered.engine_for("fetch") == rendered.engine_for("search") == "http"
    assert rendered.browser.config()["age_gate"] == ("#age-yes",)
    with pytest.raises(ConfigError, match=r"unknown variable \{base_url\}"):
        read_spec(HTTP_TOML)
    with pytest.raises(ConfigError, match="already described by"):
        load_sites(DEMO_SITES, variables=variables)  # two descriptions of one site: load one of them


# -- discovery and fetching against the demo site -----------------------------------------------------------------


def test_search_comes_first_then_the_feed_each_post_once(demo_site: DemoSite) -> None:
    found = _run(_search(_demo(demo_site)))
    manifest = demo_site.manifest
    assert sorted(_post_id(c) for c in found) == sorted(p.id for p in manifest.posts), "every post, once"
    hits = [c for c in found if c.metadata["source"] == "search"]
    assert len(hits) == 11 and all(c.query == KEYWORD for c in hits)
    assert {p.id for p in manifest.matching_posts()} <= {_post_id(c) for c in hits}
    listed = [c for c in found if c.metadata["source"] == "listing"]
    assert len(listed) == 3 and all(c.query is None for c in listed)
    assert all(c.site == "demo-sns.example" and c.case_id == "case-1" for c in found)
    assert all(c.metadata["jurisdiction"] == "KR" and c.metadata["site_spec"] for c in found)
    assert all(c.url.startswith(demo_site.base_url + "/post/") for c in found)


def test_each_source_discovers_on_its_own(demo_site: DemoSite) -> None:
    everything = sorted(p.id for p in demo_site.manifest.posts)
    by_sitemap = _run(_search(_demo(demo_site, search=None, listings=())))
    assert sorted(_post_id(c) for c in by_sitemap) == everything
    assert {c.metadata["source"] for c in by_sitemap} == {"sitemap"}
    by_feed = _run(_search(_demo(demo_site, search=None, sitemaps=())))
    assert sorted(_post_id(c) for c in by_feed) == everything, "the feed's pages are followed by rel=next"
    nothing = _run(_search(_demo(demo_site, listings=(), sitemaps=()), "no such words anywhere"))
    assert nothing == []


def test_search_respects_the_limit(demo_site: DemoSite) -> None:
    for limit in (1, 4, 12):
        found = _run(_search(_demo(demo_site), limit=limit))
        assert len(found) == limit
        assert len({c.url for c in found}) == limit


def test_listings_are_read_once_for_several_keywords(demo_site: DemoSite) -> None:
    adapter = _demo(demo_site, search=None)

    async def twice() -> tuple[int, int, int]:
        try:
            start = demo_site.requests_served
            first = [c async for c in adapter.search(SearchQuery(case_id="c", text="one"))]
            middle = demo_site.requests_served
            second = [c async for c in adapter.search(SearchQuery(case_id="c", text="two"))]
            assert [c.url for c in first] == [c.url for c in second]
            return middle - start, demo_site.requests_served - middle, len(second)
        finally:
            await adapter.aclose()

    first_requests, second_requests, found = _run(twice())
    assert first_requests >= 4 and second_requests == 0 and found == 14


def test_fetch_returns_the_page_its_media_and_the_configured_report_channels(demo_site: DemoSite) -> None:
    post = next(p for p in demo_site.manifest.matching_posts() if any(m.endswith(".jpg") for m in p.media))
    adapter = _demo(demo_site)
    candidate = Candidate(case_id="c", site=adapter.site, url=demo_site.url_for(post.id))

    async def fetch() -> Any:
        try:
            return await adapter.fetch(candidate)
        finally:
            await adapter.aclose()

    page = _run(fetch())
    assert page.status == 200 and page.title == post.title
    assert len(page.media) == len(post.media)
    for item, file in zip(page.media, post.media, strict=True):
        assert item.content == (demo_site.root / "site" / file).read_bytes(), "raw bytes, as served"
    contacts = {(h.kind, h.value) for h in page.contacts}
    assert ("email", "abuse@demo-sns.example") in contacts
    assert ("form", f"{demo_site.base_url}/report") in contacts
    assert any(h.source.startswith("site config ") for h in page.contacts)


def test_fetch_reads_the_extra_selectors_and_a_gone_post_is_a_status(demo_site: DemoSite) -> None:
    post = demo_site.manifest.posts[0]
    spec = read_spec(HTTP_TOML, variables={"base_url": demo_site.base_url})
    extra = spec.fetch.model_copy(update={"title": "article p.text", "text": "h1",
                                          "media": ("meta[property='og:image']::attr(content)",)})
    adapter = load_site(spec.model_copy(update={"fetch": extra}), network=LOOPBACK)
    candidate = Candidate(case_id="c", site=adapter.site, url=demo_site.url_for(post.id))

    async def fetch_twice() -> tuple[Any, Any]:
        try:
            page = await adapter.fetch(candidate)
            demo_site.take_down(post.id)
            try:
                gone = await adapter.fetch(candidate)
            finally:
                demo_site.restore(post.id)
            return page, gone
        finally:
            await adapter.aclose()

    page, gone = _run(fetch_twice())
    assert page.title == post.text and page.text == post.title
    assert len({m.url for m in page.media}) == len(page.media), "media named twice is fetched once"
    assert gone.status == 410 and gone.media == ()


class TestConfiguredSiteContract(SiteAdapterContract):
    @pytest.fixture(autouse=True)
    def _site(self, demo_site: DemoSite) -> None:
        self.demo = demo_site

    def make_site(self) -> ConfiguredSite:
        return _demo(self.demo)

    def make_query(self) -> SearchQuery:
        return SearchQuery(case_id="case-1", text=KEYWORD, limit=5)


# -- discovery through feeds, against a site in the test ---------------------------------------------------------

BASE = "http://127.0.0.1:8765"
RSS = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Sunset one</title><link>{BASE}/p/1?utm_source=rss</link></item>
<item><title>Elsewhere</title><link>https://other.example/p/9</link></item>
<item><title>Sunset two</title><link>{BASE}/p/2</link></item></channel></rss>"""
ATOM = f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>Sunset two again</title><link href="{BASE}/p/2"/><id>2</id><updated>2025-01-01T00:00:00Z</updated></entry>
<entry><title>Sunset three</title><link href="/p/3"/><id>3</id><updated>2025-01-01T00:00:00Z</updated></entry></feed>"""
POST = """<html lang="en"><head><title>Sunset</title></head><body><article><h1>Sunset</h1>
<div class="player" data-video="/v/1.mp4"></div><img src="/i/1.png"></article></body></html>"""


def _fake_site(
    requests: list[str], *, sitemap_status: int = 200, report_status: int = 200
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/rss.xml":
            return httpx.Response(200, text=RSS, headers={"content-type": "application/rss+xml"})
        if path == "/atom.xml":
            return httpx.Response(200, text=ATOM, headers={"content-type": "application/atom+xml"})
        if path == "/sitemap.xml":
            return httpx.Response(sitemap_status, text="<urlset/>", headers={"content-type": "application/xml"})
        if path.startswith("/p/"):
            return httpx.Response(200, text=POST, headers={"content-type": "text/html; charset=utf-8"})
        if path == "/v/1.mp4":
            return httpx.Response(200, content=b"\x00\x00\x00\x18ftypmp42", headers={"content-type": "video/mp4"})
        if path == "/i/1.png":
            return httpx.Response(200, content=b"\x89PNG\r\n\x1a\n", headers={"content-type": "image/png"})
        if path == "/report":
            text = "thanks, we will look" if report_status == 200 else "oops"
            return httpx.Response(report_status, text=text, headers={"content-type": "text/plain"})
        return httpx.Response(404, text="no")

    return handler


def _fake_adapter(tmp_path: Path, requests: list[str], **kwargs: Any) -> ConfiguredSite:
    path = _write(tmp_path, "fake.toml", f"""
name = "fake.example"
base_url = "{BASE}"
feeds = ["/rss.xml", "/atom.xml"]
sitemaps = ["/sitemap.xml"]

[fetch]
media = ["div.player::attr(data-video)"]

[report.form]
url = "/report"
fields = {{ url = "link" }}
success = "received"
""")
    client = httpx.AsyncClient(transport=httpx.MockTransport(_fake_site(requests, **kwargs)))
    return load_site(path, network=LOOPBACK, client=client)


def test_feeds_are_discovered_canonicalised_and_kept_on_the_site(tmp_path: Path) -> None:
    found = _run(_search(_fake_adapter(tmp_path, [])))
    assert [c.url for c in found] == [f"{BASE}/p/1", f"{BASE}/p/2", f"{BASE}/p/3"]
    assert [c.title for c in found] == ["Sunset one", "Sunset two", "Sunset three"]
    assert {c.metadata["source"] for c in found} == {"feed"}


def test_a_failing_source_does_not_hide_the_others(tmp_path: Path) -> None:
    adapter = _fake_adapter(tmp_path, [], sitemap_status=500)
    found: list[Candidate] = []

    async def search() -> None:
        try:
            async for candidate in adapter.search(SearchQuery(case_id="c", text="x")):
                found.append(candidate)
        finally:
            await adapter.aclose()

    with pytest.raises(SiteError, match=r"1 source\(s\) failed: sitemap .*HTTP 500"):
        _run(search())
    assert len(found) == 3, "the feeds' candidates came first"


def test_fetch_adds_media_that_only_a_selector_finds(tmp_path: Path) -> None:
    adapter = _fake_adapter(tmp_path, [])

    async def fetch() -> Any:
        try:
            return await adapter.fetch(Candidate(case_id="c", site=adapter.site, url=f"{BASE}/p/1"))
        finally:
            await adapter.aclose()

    page = _run(fetch())
    assert [(m.url, m.kind) for m in page.media] == [(f"{BASE}/i/1.png", MediaKind.IMAGE),
                                                      (f"{BASE}/v/1.mp4", MediaKind.VIDEO)]


# -- media that cannot be had, against real servers on 127.0.0.1 ---------------------------------------------------


def _fetch_post(base: str, fetch: dict[str, Any], **network: Any) -> Page:
    spec = SiteSpec.model_validate({"name": "post.example", "base_url": base, "fetch": fetch})
    adapter = load_site(spec, network=LOOPBACK.model_copy(update={"retries": 0, **network}))

    async def fetch_page() -> Page:
        try:
            return await adapter.fetch(Candidate(case_id="c", site=adapter.site, url=f"{base}/post/1"))
        finally:
            await adapter.aclose()

    page: Page = _run(fetch_page())
    return page


def test_media_that_cannot_be_had_is_named_in_skipped_and_the_rest_is_kept(serve_http: ServeHttp) -> None:
    with HostileServer() as hostile:
        bad = {
            "/big.png": r"media larger than 262144 bytes \(max_media_bytes\)",
            "/gone.png": "answered HTTP 404",
            f"{hostile.base_url}/html-as-image.png": "unexpected content type 'text/html' for a media",
            f"{hostile.base_url}/hls/encrypted.m3u8": r"encrypted HLS \(EXT-X-KEY\)",
            "http://10.0.0.1/x.png": "private or link-local address 10.0.0.1 is not allowed",
        }
        good = f"{hostile.base_url}/media/gzipped.png"
        named = "".join(f'<div class="m" data-src="{url}"></div>' for url in [*bad, good])
        post = f'<html><body><p>a post</p><img src="/own.png">{named}</body></html>'.encode()
        routes = {"/post/1": ("text/html; charset=utf-8", post), "/own.png": ("image/png", synthetic_png()),
                  "/big.png": ("image/png", synthetic_png() + bytes(300 * 1024))}
        with serve_http(routes) as base:
            page = _fetch_post(base, {"media": ["div.m::attr(data-src)"]}, max_media_bytes=256 * 1024)
    assert page.status == 200
    assert [(m.url, m.content) for m in page.media] == [(f"{base}/own.png", synthetic_png()), (good, synthetic_png())]
    assert len(page.skipped) == len(bad)
    for (url, why), note in zip(bad.items(), page.skipped, strict=True):
        absolute = url if url.startswith("http") else base + url
        assert note.startswith(f"{absolute}: ") and re.search(why, note), note


def test_fetch_max_media_caps_the_media_per_page_selectors_included(serve_http: ServeHttp) -> None:
    extra = "".join(f'<div class="m" data-src="/m{n}.png"></div>' for n in range(3))
    post = f'<html><body><img src="/own.png">{extra}</body></html>'.encode()
    routes = {"/post/1": ("text/html", post), **{f"/{name}.png": ("image/png", synthetic_png())
                                                  for name in ("own", "m0", "m1", "m2")}}
    with serve_http(routes) as base:
        page = _fetch_post(base, {"media": ["div.m::attr(data-src)"], "max_media": 2})
    assert [m.url for m in page.media] == [f"{base}/own.png", f"{base}/m0.png"]
    assert page.skipped == tuple(f"{base}/m{n}.png: more than 2 media items on the page (max_media)" for n in (1, 2))


# -- reports by web form -----------------------------------------------------------------------------------------


def _notice(form_url: str, *, post_url: str, approved: bool = True) -> Notice:
    notice = Notice(
        case_id="case-1", finding_id="fnd-1", recipient=Recipient(address=form_url, channel="web_form"),
        jurisdiction="KR", locale="en", subject="Removal request", body_text="Please remove the post at the URL.",
        legal={"urls": post_url, "contact_email": "takedown@agency.example"},
    )
    if approved:
        notice = notice.advance(NoticeState.APPROVED, by="Officer Kim", approved_by="Officer Kim",
                                approved_at=utcnow())
    return notice


def _submit(adapter: ConfiguredSite, notice: Notice) -> FormSubmission:
    """Submit in one event loop and close the adapter there (its connections belong to that loop)."""

    async def submit() -> FormSubmission:
        try:
            return await adapter.report_form(notice)
        finally:
            await adapter.aclose()

    result: FormSubmission = _run(submit())
    return result


def test_an_approved_notice_is_submitted_to_the_form(demo_site: DemoSite) -> None:
    post_url = demo_site.url_for("p01")
    notice = _notice(f"{demo_site.base_url}/report", post_url=post_url)
    before = len(demo_site.reports_received)
    submission = _submit(_demo(demo_site), notice)
    received = demo_site.reports_received[before:]
    assert received == [{"reason": "ncii", "url": post_url, "details": notice.body_text,
                         "email": "takedown@agency.example"}]
    assert submission.fields == received[0] and submission.status == 200
    assert (submission.notice_id, submission.approved_by) == (notice.id, "Officer Kim")
    delivery = submission.delivery()
    assert delivery.transport == "web_form" and delivery.notice_id == notice.id
    assert delivery.message_id.startswith(f"<{notice.id}.form.") and delivery.approved_by == "Officer Kim"


@pytest.mark.parametrize("state", ["draft", "rejected"])
def test_a_notice_that_is_not_approved_is_never_submitted(demo_site: DemoSite, state: str) -> None:
    notice = _notice(f"{demo_site.base_url}/report", post_url=demo_site.url_for("p01"), approved=False)
    if state == "rejected":
        notice = notice.advance(NoticeState.REJECTED, by="Officer Kim", rejected_reason="wrong post")
    # Approval fields set by hand, without the approved state, do not count either.
    forged = notice.model_copy(update={"approved_by": "someone", "approved_at": utcnow()})
    before = len(demo_site.reports_received)
    for attempt in (notice, forged):
        with pytest.raises(NotApprovedError):
            _submit(_demo(demo_site), attempt)
    assert len(demo_site.reports_received) == before


def test_a_notice_for_another_recipient_or_lacking_a_value_is_not_submitted(demo_site: DemoSite) -> None:
    before = len(demo_site.reports_received)
    by_email = _notice(f"{demo_site.base_url}/report", post_url=demo_site.url_for("p01"))
    by_email = by_email.model_copy(update={"recipient": Recipient(address="abuse@demo-sns.example")})
    with pytest.raises(UsageError, match="addressed to email"):
        _submit(_demo(demo_site), by_email)
    elsewhere = _notice("https://other.example/report", post_url=demo_site.url_for("p01"))
    with pytest.raises(UsageError, match="not to this site's form"):
        _submit(_demo(demo_site), elsewhere)
    no_contact = _notice(f"{demo_site.base_url}/report", post_url=demo_site.url_for("p01"))
    no_contact = no_contact.model_copy(update={"legal": {"urls": demo_site.url_for("p01")}})
    with pytest.raises(DeliveryError, match="has no contact_email, which the form needs"):
        _submit(_demo(demo_site), no_contact)
    assert len(demo_site.reports_received) == before


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (200, DeliveryStateUnknownError, "answered HTTP 200 without 'received'"),
        (503, DeliveryStateUnknownError, "answered HTTP 503; check whether the site has the report"),
        (403, DeliveryError, "the form refused the request: HTTP 403"),
    ],
)
def test_an_unconfirmed_answer_is_reported_and_never_retried(
    tmp_path: Path, status: int, error: type[Exception], message: str
) -> None:
    requests: list[str] = []
    adapter = _fake_adapter(tmp_path, requests, report_status=status)
    with pytest.raises(error, match=message) as raised:
        _submit(adapter, _notice(f"{BASE}/report", post_url=f"{BASE}/p/1"))
    assert (type(raised.value) is DeliveryStateUnknownError) == (status != 403)
    assert requests == ["POST /report"], "submitted once, never retried"


def test_a_site_without_a_form_refuses(demo_site: DemoSite) -> None:
    spec = SiteSpec(name="plain.example", base_url=demo_site.base_url, sitemaps=("/sitemap.xml",))
    adapter = load_site(spec, network=LOOPBACK)
    with pytest.raises(UsageError, match=r"has no \[report.form\]"):
        _submit(adapter, _notice(f"{demo_site.base_url}/report", post_url=demo_site.url_for("p01")))


# -- the browser engine, and cookies ------------------------------------------------------------------------------


def test_a_browser_list_cannot_read_other_attributes(tmp_path: Path) -> None:
    path = _write(tmp_path, "js.toml", 'name = "x"\nbase_url = "https://x.example"\nengine = "browser"\n'
                  '[[listings]]\nurl = "/"\nitems = "li::attr(data-href)"\n')
    with pytest.raises(ConfigError, match=r"listings\[0\]\.items: ::attr\(\) works with the http engine only"):
        read_spec(path)


def test_browser_cookies_are_sent_over_http_too(demo_site: DemoSite) -> None:
    name, value = demo_site.session_cookie
    spec = SiteSpec.model_validate({
        "name": "demo-sns.example", "base_url": demo_site.base_url, "sitemaps": ["/sitemap.xml"],
        "browser": {"cookies": [{"name": name, "value": value}, {"name": "elsewhere", "value": "x",
                                                                "domain": "other.example"}]},
    })
    account = f"{demo_site.base_url}/account"

    async def fetch(adapter: ConfiguredSite) -> int:
        try:
            return (await adapter.fetch(Candidate(case_id="c", site=adapter.site, url=account))).status
        finally:
            await adapter.aclose()

    signed_in = load_site(spec, network=LOOPBACK)
    assert signed_in.network.cookies == {"127.0.0.1": {name: value}}, "only the site's own host gets them"
    assert _run(fetch(signed_in)) == 200
    assert _run(fetch(load_site(spec.model_copy(update={"browser": BrowserSpec()}), network=LOOPBACK))) == 401


def test_the_browser_parts_share_the_sites_one_fetcher_and_its_one_guard_check(tmp_path: Path) -> None:
    def no_browser() -> Any:
        raise EvidenceError("no browser in this test")

    spec = SiteSpec.model_validate({
        "name": "js.example", "base_url": BASE, "engine": "browser",
        "search": {"url": "/search?q={query}", "results": "a.result"}, "listings": [{"url": "/", "items": "a"}],
    })
    client = httpx.AsyncClient(transport=httpx.MockTransport(_fake_site([])))
    adapter = load_site(spec, network=LOOPBACK, client=client, drivers=DriverPool(factory=no_browser))

    async def use_every_part() -> None:
        with pytest.raises(SiteError, match=r"2 source\(s\) failed"):
            await _search(adapter)
        with pytest.raises(SiteError, match="no browser"):
            await adapter.fetch(Candidate(case_id="c", site=adapter.site, url=f"{BASE}/p/1"))
        await client.aclose()

    _run(use_every_part())
    assert client.event_hooks["request"] == [adapter.fetcher.guard.hook], "one guard check per request, not per part"


@pytest.mark.slow
def test_the_js_home_page_is_read_in_chromium_past_its_age_gate(demo_site: DemoSite) -> None:
    spec = read_spec(BROWSER_TOML, variables={"base_url": demo_site.base_url})
    home_only = spec.model_copy(update={"search": None, "sitemaps": (), "listings": spec.listings[:1]})
    gate_ignored = home_only.model_copy(update={"browser": home_only.browser.model_copy(update={"age_gate": ()})})
    in_browser = home_only.model_copy(update={"fetch": FetchSpec(engine="browser")})
    post = next(p for p in demo_site.manifest.matching_posts() if any(m.endswith(".jpg") for m in p.media))
    pool = DriverPool(EvidenceSettings(), network_log=True, guard=FetchGuard.for_network(LOOPBACK))

    async def scenario() -> tuple[list[Candidate], list[Candidate], Any]:
        adapters = [load_site(s, network=LOOPBACK, drivers=pool) for s in (gate_ignored, home_only, in_browser)]
        try:
            hidden = [c async for c in adapters[0].search(SearchQuery(case_id="c", text=KEYWORD))]
            listed = [c async for c in adapters[1].search(SearchQuery(case_id="c", text=KEYWORD))]
            page = await adapters[2].fetch(Candidate(case_id="c", site=spec.name, url=demo_site.url_for(post.id)))
            return hidden, listed, page
        finally:
            for adapter in adapters:
                await adapter.aclose()

    try:
        hidden, listed, page = _run(scenario())
    finally:
        pool.close()
    assert hidden == [], "behind the age gate the feed stays empty"
    assert sorted(_post_id(c) for c in listed) == sorted(p.id for p in demo_site.manifest.posts)
    assert {c.metadata["source"] for c in listed} == {"listing"} and all(c.title for c in listed)
    assert page.status == 200 and page.title == post.title and page.media
    assert ("form", f"{demo_site.base_url}/report") in {(h.kind, h.value) for h in page.contacts}


def test_every_key_is_in_the_reference_tables_of_the_docs() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "sites.md").read_text(encoding="utf-8")
    reference = text.split("### Every key", 1)[1].split("\n## ", 1)[0]
    tables: list[list[str]] = []
    for block in re.split(r"\n(?!\|)", reference):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            tables.append([re.findall(r"`([^`]+)`", row.split("|")[1])[0] for row in rows[2:]])
    models: list[type[BaseModel]] = [SiteSpec, SearchSpec, ListingSpec, FetchSpec, BrowserSpec, ReportSpec, FormSpec,
                                     LimitsSpec]
    assert len(tables) == len(models)
    for model, keys in zip(models, tables, strict=True):
        assert sorted(keys) == sorted(model.model_fields), f"the table for {model.__name__} lists every key once"


def test_a_browser_site_without_selenium_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "selenium" else real(name, *a))
    spec = read_spec(BROWSER_TOML, variables={"base_url": "http://127.0.0.1:8080"})
    with pytest.raises(MissingDependencyError, match=r"pip install 'takedown\[browser\]'"):
        load_site(spec)
