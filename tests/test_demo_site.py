"""The demo case generator and the loopback demo site, tested over real HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import io
import itertools
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from PIL import Image

from takedown.demo import DemoManifest, DemoSite, generate_demo_media
from takedown.demo.site import ACCOUNT_PASSWORD, ACCOUNT_USER
from takedown.errors import UsageError

LANGUAGES = {"ko", "en", "ja", "zh-Hans", "ru", "vi", "es"}
CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".mp4": "video/mp4"}
HLS_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _hrefs(page: str, css_class: str) -> list[str]:
    return re.findall(rf'<a class="{css_class}" href="([^"]+)"', page)


def _next_link(page: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def _follow(client: httpx.Client, first: str, css_class: str) -> tuple[list[str], int]:
    """Follow rel=next from ``first``; return the hrefs of ``css_class`` links and the number of pages."""
    hrefs: list[str] = []
    url: str | None = first
    pages = 0
    while url is not None:
        pages += 1
        assert pages <= 10, "pagination does not end"
        response = client.get(url)
        assert response.status_code == 200
        hrefs += _hrefs(response.text, css_class)
        url = _next_link(response.text)
    return hrefs, pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    with DemoSite(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture
def client(site: DemoSite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.base_url, timeout=10) as c:
        yield c


@pytest.fixture
def manifest(site: DemoSite) -> DemoManifest:
    return site.manifest


# -- generation ------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(
    site: DemoSite, tmp_path: Path
) -> None:
    again = generate_demo_media(tmp_path / "same", seed=7)
    assert again == site.manifest
    first, second = _hashes(site.root), _hashes(tmp_path / "same")
    streamed = sum(len(s.sha256) for s in site.manifest.streams)
    assert len(first) == 1 + len(site.manifest.media) + streamed  # media, HLS files and manifest.json, no more
    assert first == second

    other = generate_demo_media(tmp_path / "other", seed=8)
    assert other.seed == 8
    ours = {m.file: m.sha256 for m in site.manifest.references()}
    theirs = {m.file: m.sha256 for m in other.references()}
    assert ours.keys() == theirs.keys()
    assert all(ours[f] != theirs[f] for f in ours)


def test_second_run_with_same_seed_rewrites_nothing(site: DemoSite) -> None:
    before = _mtimes(site.root)
    assert generate_demo_media(site.root, seed=7) == site.manifest
    assert _mtimes(site.root) == before
    assert not list(site.root.rglob("*.tmp"))


def test_a_damaged_file_or_another_seed_makes_it_regenerate(tmp_path: Path) -> None:
    manifest = generate_demo_media(tmp_path, seed=3)
    victim = tmp_path / manifest.references()[0].file
    good = victim.read_bytes()
    victim.write_bytes(good[: len(good) // 2])  # as if a crash had cut it short
    assert generate_demo_media(tmp_path, seed=3) == manifest
    assert victim.read_bytes() == good

    regenerated = generate_demo_media(tmp_path, seed=4)
    assert regenerated.seed == 4
    saved = DemoManifest.model_validate_json((tmp_path / "manifest.json").read_bytes())
    assert saved == regenerated
    assert victim.read_bytes() != good


def test_manifest_ground_truth(manifest: DemoManifest) -> None:
    refs = manifest.references()
    assert [(m.kind, m.file) for m in refs] == [
        ("image", "reference/ref1.png"),
        ("image", "reference/ref2.png"),
        ("image", "reference/ref3.png"),
        ("video", "reference/ref_video.mp4"),
    ]
    copies = [m for m in manifest.media if m.role == "copy"]
    decoys = [m for m in manifest.media if m.role == "decoy"]
    assert len(copies) == 3 * 4 + 2
    assert sorted(m.transform for m in copies if m.kind == "image") == sorted(
        ["exact", "resize50", "jpeg55", "crop3"] * 3
    )
    assert sorted(m.transform for m in copies if m.kind == "video") == ["exact", "reencode"]
    assert {m.derived_from for m in copies} == {m.file for m in refs}
    assert (sum(m.kind == "image" for m in decoys), sum(m.kind == "video" for m in decoys)) == (5, 1)
    assert {Path(m.file).suffix for m in decoys if m.kind == "image"} == {".jpg", ".png"}
    # Names on the site reveal nothing about roles.
    for m in copies + decoys:
        assert re.fullmatch(r"site/media/m\d\d\.(jpg|png|mp4)", m.file), m.file

    posts = manifest.posts
    assert len(posts) == 14
    assert len({p.id for p in posts}) == 14
    assert {p.language for p in posts} == LANGUAGES
    assert all(len(p.media) <= 2 for p in posts)
    assert any(not p.media for p in posts if p.expected == "clear")
    held = [file for p in posts for file in p.media]
    assert sorted(f"site/{f}" for f in held if manifest.item(f).role == "copy") == sorted(
        m.file for m in copies
    )
    for p in posts:
        holds_copy = any(manifest.item(f).role == "copy" for f in p.media)
        assert p.expected == ("match" if holds_copy else "clear"), p.id
    assert [p.id for p in manifest.matching_posts()] == [
        "p01",
        "p02",
        "p04",
        "p05",
        "p07",
        "p09",
        "p10",
        "p13",
    ]
    assert manifest.post("p03").language == "ja"
    with pytest.raises(UsageError):
        manifest.post("p99")


def test_case_keyword_is_in_every_matching_post_and_not_in_all_others(manifest: DemoManifest) -> None:
    def mentions(text: str) -> bool:
        folded = unicodedata.normalize("NFKC", text).casefold()
        return "minji_cam" in folded or "민지" in folded

    assert all(mentions(p.title + p.text) for p in manifest.matching_posts())
    clear = [p for p in manifest.posts if p.expected == "clear"]
    assert 2 <= sum(mentions(p.title + p.text) for p in clear) < len(clear)


def test_copies_differ_from_their_reference_except_exact_ones(site: DemoSite, manifest: DemoManifest) -> None:
    for copy in manifest.copies():
        ref_bytes = (site.root / str(copy.derived_from)).read_bytes()
        copy_bytes = (site.root / copy.file).read_bytes()
        assert (copy_bytes == ref_bytes) == (copy.transform == "exact"), copy
        if copy.kind != "image":
            continue
        with Image.open(site.root / str(copy.derived_from)) as ref, Image.open(site.root / copy.file) as img:
            if copy.transform == "resize50":
                assert img.size == (ref.width // 2, ref.height // 2)
            elif copy.transform == "crop3":
                assert 0.9 * ref.width < img.width < ref.width
                assert 0.9 * ref.height < img.height < ref.height
            if copy.transform != "exact":
                assert img.format == "JPEG"
    for m in manifest.decoys():
        assert m.sha256 not in {r.sha256 for r in manifest.references()}


def test_videos_decode_and_change_over_time(site: DemoSite, manifest: DemoManifest) -> None:
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    videos = [m for m in manifest.media if m.kind == "video"]
    assert len(videos) == 4  # reference, exact copy, re-encode, decoy
    for m in videos:
        with av.open(str(site.root / m.file)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(frames) > 0, m.file
        expected = (180, 240) if m.transform == "reencode" else (240, 320)
        assert frames[0].shape[:2] == expected, m.file
    with av.open(str(site.root / "reference/ref_video.mp4")) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(stream)]
    assert len(frames) == 40
    per_second = frames[::10]
    for a, b in itertools.pairwise(per_second):
        assert float(np.abs(a - b).mean()) > 5.0


# -- the site ----------------------------------------------------------------------------------------


def test_every_post_page_and_its_media(site: DemoSite, client: httpx.Client, manifest: DemoManifest) -> None:
    for post in manifest.posts:
        url = site.url_for(post.id)
        assert url == f"{site.base_url}/post/{post.id}"
        response = client.get(url)
        assert response.status_code == 200, post.id
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert f'<html lang="{post.language}">' in page
        assert f"<title>{post.title}</title>" in page
        assert f'<meta property="og:title" content="{post.title}">' in page
        assert f"<h1>{post.title}</h1>" in page
        assert f'<p class="text">{post.text}</p>' in page
        assert '<a href="/contact">Contact</a>' in page
        assert '<a href="/report">Report abuse</a>' in page
        images = re.findall(r'<img src="([^"]+)" alt="[^"]+">', page)
        videos = re.findall(r'<video controls[^>]*><source src="([^"]+)" type="video/mp4"></video>', page)
        assert sorted(images + videos) == sorted(f"/{f}" for f in post.media)
        for src in images + videos:
            media = client.get(src)
            assert media.status_code == 200, src
            item = manifest.item(src.lstrip("/"))
            assert media.headers["content-type"] == CONTENT_TYPES[Path(src).suffix]
            assert int(media.headers["content-length"]) == len(media.content)
            assert hashlib.sha256(media.content).hexdigest() == item.sha256
            assert item.kind == ("video" if src in videos else "image")


def test_head_on_media_sends_headers_only(client: httpx.Client, manifest: DemoManifest) -> None:
    file = manifest.posts[0].media[0]
    response = client.head(f"/{file}")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == len(client.get(f"/{file}").content)


def test_search_finds_every_keyword_post_across_pages(client: httpx.Client, manifest: DemoManifest) -> None:
    hrefs, pages = _follow(client, "/search?q=MINJI_cam", "result")
    found = [h.removeprefix("/post/") for h in hrefs]
    expected = [
        p.id
        for p in manifest.posts
        if "minji_cam" in unicodedata.normalize("NFKC", p.title + p.text).casefold()
    ]
    assert found == expected
    assert pages == 3  # 11 hits, 5 per page
    assert "p10" in found  # written in full-width letters: only NFKC finds it
    assert {p.id for p in manifest.matching_posts()} <= set(found)
    assert {"p06", "p11", "p14"}.isdisjoint(found)

    hangul, _ = _follow(client, "/search?q=%EB%AF%BC%EC%A7%80", "result")  # 민지
    assert hangul == ["/post/p01", "/post/p08"]
    nothing = client.get("/search", params={"q": "no such words anywhere"})
    assert nothing.status_code == 200
    assert _hrefs(nothing.text, "result") == []
    assert _next_link(nothing.text) is None


def test_search_escapes_a_hostile_query(client: httpx.Client) -> None:
    hostile = '"><script>alert(1)</script><a href="x'
    response = client.get("/search", params={"q": hostile})
    assert response.status_code == 200
    assert "<script" not in response.text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert 'value="&quot;&gt;&lt;script&gt;' in response.text


def test_feed_pages_list_every_post_then_end(client: httpx.Client, manifest: DemoManifest) -> None:
    hrefs, pages = _follow(client, "/feed?page=1", "post-link")
    assert hrefs == [f"/post/{p.id}" for p in manifest.posts]
    assert pages == 3
    beyond = client.get("/feed", params={"page": 4})
    assert beyond.status_code == 200
    assert _hrefs(beyond.text, "post-link") == []
    assert _next_link(beyond.text) is None
    for bad in ("0", "abc", "-1", "٣"):
        assert client.get("/feed", params={"page": bad}).status_code == 400


def test_api_feed_json(site: DemoSite, client: httpx.Client, manifest: DemoManifest) -> None:
    ids: list[str] = []
    page: int | None = 1
    while page is not None:
        response = client.get("/api/feed", params={"page": page})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        data = response.json()
        assert set(data) == {"page", "next", "posts"}
        assert data["page"] == page
        assert 1 <= len(data["posts"]) <= 5
        for item in data["posts"]:
            assert set(item) == {"id", "url", "title", "language", "thumb"}
            post = manifest.post(item["id"])
            assert item["url"] == site.url_for(post.id)
            assert (item["title"], item["language"]) == (post.title, post.language)
            if item["thumb"] is None:
                assert all(f.endswith(".mp4") for f in post.media)
            else:
                assert urlsplit(item["thumb"]).path.lstrip("/") in post.media
            ids.append(item["id"])
        assert data["next"] in (None, page + 1)
        page = data["next"]
        assert len(ids) <= len(manifest.posts)
    assert ids == [p.id for p in manifest.posts]


def test_home_page_renders_the_feed_with_script_and_has_a_noscript_fallback(client: httpx.Client) -> None:
    page = client.get("/").text
    assert 'fetch("/api/feed?page="' in page
    assert re.search(r'<noscript>.*<a href="/feed\?page=1">.*</noscript>', page, re.S)
    assert 'id="more"' in page
    # The gates and the feed start hidden; the script (tested in a browser in test_browser_site.py) opens them.
    for element in ('<div id="age-gate"', '<div id="cookie-banner"', '<section id="feed"'):
        assert re.search(re.escape(element) + r"[^>]*\bhidden>", page), element
    assert "age_ok=1" in page and 'addEventListener("scroll"' in page


def test_a_video_is_also_an_hls_stream_that_only_the_player_script_names(
    site: DemoSite, client: httpx.Client, manifest: DemoManifest
) -> None:
    av = pytest.importorskip("av")
    [stream] = manifest.streams
    post = manifest.post(stream.post)
    assert post.expected == "match"
    assert f"site/{post.media[0]}" == stream.source
    page = client.get(site.url_for(post.id)).text
    playlist_url = "/" + stream.playlist.removeprefix("site/")
    assert playlist_url not in page  # only the API names it
    assert f'<video class="stream" muted playsinline data-player="/api/player/{post.id}"></video>' in page
    assert client.get(f"/api/player/{post.id}").json() == {"hls": playlist_url}
    assert client.get("/api/player/p01").status_code == 404

    playlist = client.get(playlist_url)
    assert playlist.headers["content-type"] == HLS_TYPES[".m3u8"]
    assert playlist.text.startswith("#EXTM3U") and playlist.text.rstrip().endswith("#EXT-X-ENDLIST")
    names = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    folder = stream.playlist.rsplit("/", 1)[0]
    assert [f"{folder}/{n}" for n in names] == stream.segments
    segments = []
    for name in names:
        response = client.get(urljoin(playlist_url, name))
        assert response.headers["content-type"] == HLS_TYPES[".ts"]
        assert hashlib.sha256(response.content).hexdigest() == stream.sha256[f"{folder}/{name}"]
        segments.append(response.content)
    with av.open(io.BytesIO(b"".join(segments))) as joined, av.open(str(site.root / stream.source)) as source:
        streamed = [f.to_ndarray(format="gray") for f in joined.decode(video=0)]
        original = [f.to_ndarray(format="gray") for f in source.decode(video=0)]
    assert len(streamed) == len(original) == 40
    assert all((a == b).all() for a, b in zip(streamed, original, strict=True))  # the same packets, remuxed

    try:
        site.take_down(post.id)
        assert client.get(f"/api/player/{post.id}").status_code == 410
        assert client.get(playlist_url).status_code == 404
    finally:
        site.restore(post.id)


def test_the_account_page_needs_the_session_cookie_that_signing_in_sets(site: DemoSite, client: httpx.Client) -> None:
    assert client.get("/account").status_code == 401
    assert '<form action="/login" method="post">' in client.get("/login").text
    wrong = client.post("/login", data={"username": ACCOUNT_USER, "password": "nope"})
    assert wrong.status_code == 401
    assert "session" not in wrong.headers.get("set-cookie", "")
    signed = client.post("/login", data={"username": ACCOUNT_USER, "password": ACCOUNT_PASSWORD})
    assert (signed.status_code, signed.headers["location"]) == (303, "/account")
    name, value = site.session_cookie
    assert f"{name}={value}" in signed.headers["set-cookie"]
    account = client.get("/account", headers={"Cookie": f"other=1; {name}={value}"})
    assert account.status_code == 200
    assert f"Signed in as {ACCOUNT_USER}." in account.text
    assert client.get("/account", headers={"Cookie": f"{name}=forged"}).status_code == 401


def test_contact_report_security_and_robots(site: DemoSite, client: httpx.Client) -> None:
    contact = client.get("/contact")
    assert '<a href="mailto:abuse@demo-sns.example">abuse@demo-sns.example</a>' in contact.text

    form = client.get("/report")
    assert re.search(r'<form action="/report" method="post">', form.text)
    sent = client.post("/report", data={"url": site.url_for("p01"), "reason": "ncii", "email": "a@b.example"})
    assert (sent.status_code, sent.text) == (200, "received")
    assert site.reports_received[-1] == {"url": site.url_for("p01"), "reason": "ncii", "email": "a@b.example"}

    security = client.get("/.well-known/security.txt")
    assert security.status_code == 200
    assert security.headers["content-type"].startswith("text/plain")
    fields = dict(line.split(": ", 1) for line in security.text.splitlines() if line)
    assert fields["Contact"] == "mailto:security@demo-sns.example"
    assert fields["Preferred-Languages"] == "en, ko"
    expires = dt.datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    ahead = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=360) < ahead <= dt.timedelta(days=366)

    robots = client.get("/robots.txt").text
    assert "User-agent: *" in robots
    assert "Disallow: /api/" in robots
    assert f"Sitemap: {site.base_url}/sitemap.xml" in robots
    sitemap = client.get("/sitemap.xml").text
    assert sitemap.count("<loc>") == len(site.manifest.posts)


def test_take_down_answers_gone_and_restore_brings_it_back(site: DemoSite, client: httpx.Client) -> None:
    post = site.manifest.post("p05")
    media = f"/{post.media[0]}"
    try:
        site.take_down("p05")
        assert site.is_taken_down("p05")
        assert client.get(site.url_for("p05")).status_code == 410
        assert client.get(media).status_code == 404
        assert "/post/p05" not in _follow(client, "/feed?page=1", "post-link")[0]
        assert "/post/p05" not in _follow(client, "/search?q=minji_cam", "result")[0]
        assert client.get(site.url_for("p04")).status_code == 200  # others stay up
    finally:
        site.restore("p05")
    assert client.get(site.url_for("p05")).status_code == 200
    assert client.get(media).status_code == 200
    with pytest.raises(UsageError):
        site.take_down("p99")


@pytest.mark.parametrize(
    "path",
    [
        "/media/../manifest.json",
        "/media/%2e%2e/manifest.json",
        "/media/..%2fmanifest.json",
        "/media/..%2F..%2Freference%2Fref1.png",
        "/media/",
        "/media/m01.jpg/",
        "/manifest.json",
        "/reference/ref1.png",
        "/site/media/m01.jpg",
        "/post/p99",
        "/post/",
        "/nothing-here",
    ],
)
def test_unknown_paths_and_traversal_are_404(site: DemoSite, path: str) -> None:
    # http.client sends the path exactly as written (httpx would remove the dot segments first).
    netloc = urlsplit(site.base_url)
    conn = http.client.HTTPConnection(str(netloc.hostname), netloc.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 404
    assert response.getheader("Content-Type", "").startswith("text/html")
    assert b'"version"' not in body
    assert not body.startswith(b"\x89PNG")


def test_requests_are_counted(site: DemoSite, client: httpx.Client) -> None:
    before = site.requests_served
    for _ in range(3):
        client.get("/robots.txt")
    assert site.requests_served == before + 3


def test_lifecycle(site: DemoSite) -> None:
    other = DemoSite(site.root)  # same root and seed: reuses the generated files
    with pytest.raises(UsageError):
        _ = other.base_url
    assert other.reference_files() == [site.root / m.file for m in site.manifest.references()]
    assert all(p.is_absolute() and p.is_file() for p in other.reference_files())
    with other:
        assert other.base_url != site.base_url
        with pytest.raises(UsageError):
            other.start()
        response = httpx.get(f"{other.base_url}/api/feed")
        assert json.loads(response.text)["page"] == 1
    other.stop()  # a second stop is harmless
    with pytest.raises(UsageError):
        other.url_for("p01")
