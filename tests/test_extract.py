from __future__ import annotations

import pytest

from takedown.errors import UsageError
from takedown.models import MediaKind
from takedown.sites.extract import (
    ExtractLimits,
    HtmlDocument,
    extract,
    largest_candidate,
    parse_srcset,
    select_values,
)

BASE = "https://site.example/post/1"


def test_title_text_and_language() -> None:
    page = extract(
        "<html lang='ko'><head><title> A \n post </title><style>p{color:red}</style></head>"
        "<body><p>Hello<b>world</b></p><p>second</p><script>var hidden = 1;</script><noscript>nojs</noscript>"
        "<svg><title>icon</title></svg>tail</body></html>", BASE)
    assert page.title == "A post"
    assert page.language == "ko"
    assert page.text == "Helloworld second tail"  # inline markup joins, blocks separate


@pytest.mark.parametrize(("head", "language"), [
    ("<meta property='og:locale' content='ja_JP'>", "ja-JP"),
    ("<meta http-equiv='content-language' content='ru, en'>", "ru"),
    ("", None),
])
def test_language_falls_back_to_og_locale_then_content_language(head: str, language: str | None) -> None:
    assert extract(f"<html><head>{head}</head><body>x</body></html>", BASE).language == language


def test_open_graph_and_canonical() -> None:
    page = extract(
        "<head><meta property='og:title' content='OG title'><meta property='og:type' content='video.other'>"
        "<meta property='og:description' content='about'><meta property='og:image' content='/og.jpg'>"
        "<meta property='og:video' content='https://cdn.example/v.mp4'><link rel='canonical' href='/post/1?a=1'>"
        "</head><body></body>", BASE)
    assert page.title == "OG title"  # no <title>: og:title stands in
    assert page.open_graph == {"og:title": "OG title", "og:type": "video.other", "og:description": "about",
                               "og:image": "/og.jpg", "og:video": "https://cdn.example/v.mp4"}
    assert page.canonical_url == "https://site.example/post/1?a=1"
    assert [(i.url, i.source) for i in page.images] == [("https://site.example/og.jpg", "og")]
    assert [(v.url, v.source) for v in page.videos] == [("https://cdn.example/v.mp4", "og")]


def test_canonical_falls_back_to_og_url() -> None:
    page = extract("<meta property='og:url' content='https://site.example/p/9'>", BASE)
    assert page.canonical_url == "https://site.example/p/9"


def test_srcset_chooses_the_largest_and_keeps_all() -> None:
    page = extract("<img src='s.jpg' srcset='a-320.jpg 320w, a-1280.jpg 1280w, a-640.jpg 640w'>"
                   "<img src='d.jpg' srcset='d@2x.jpg 2x, d@3x.jpg 3x'>", BASE)
    first, second = page.images
    assert first.url == "https://site.example/post/a-1280.jpg"
    assert set(first.candidates) == {f"https://site.example/post/{n}" for n in
                                     ("s.jpg", "a-320.jpg", "a-640.jpg", "a-1280.jpg")}
    assert second.url == "https://site.example/post/d@3x.jpg"
    assert [m.url for m in page.media] == [first.url, second.url]  # one download per image, the largest


def test_srcset_parsing_keeps_commas_inside_urls() -> None:
    assert parse_srcset("/w_100,h_100/a.jpg 1x, /w_200,h_200/a.jpg 2x") == [
        ("/w_100,h_100/a.jpg", "1x"), ("/w_200,h_200/a.jpg", "2x")]
    assert parse_srcset("a.jpg, b.jpg 2x") == [("a.jpg", ""), ("b.jpg", "2x")]
    assert largest_candidate([("a", "2x"), ("b", "100w")]) == "b"  # widths outrank densities
    assert largest_candidate([]) is None


def test_picture_sources_and_lazy_load_attributes() -> None:
    page = extract(
        "<picture><source srcset='p.webp 1x, p@2x.webp 2x' type='image/webp'><img src='p.jpg'></picture>"
        "<img src='data:image/gif;base64,R0lGOD' data-src='/lazy/real.jpg'>"
        "<img data-srcset='/l/a.jpg 100w, /l/b.jpg 900w'>", BASE)
    assert [(i.url, i.source) for i in page.images] == [
        ("https://site.example/post/p@2x.webp", "picture"),
        ("https://site.example/lazy/real.jpg", "lazy"),
        ("https://site.example/l/b.jpg", "lazy"),
    ]
    assert "https://site.example/post/p.jpg" in page.images[0].candidates


def test_css_background_images_inline_and_in_style_blocks() -> None:
    page = extract(
        "<style>.hero { background-image: url(\"/css/hero.jpg\") } .b { background: #000 url(b.png) no-repeat }"
        "</style><div style=\"background-image:url('/css/inline.webp')\">x</div><div data-bg='/css/lazy.jpg'></div>",
        BASE)
    assert {i.url for i in page.images if i.source == "css"} == {
        "https://site.example/css/hero.jpg", "https://site.example/post/b.png", "https://site.example/css/inline.webp",
        "https://site.example/css/lazy.jpg"}


def test_videos_files_posters_links_and_manifests_in_scripts() -> None:
    page = extract(
        "<video poster='/p.jpg' src='/v/a.mp4'><source src='/v/a.webm' type='video/webm'>"
        "<source src='/v/a.m3u8' type='application/x-mpegURL'></video>"
        "<a href='/stream/manifest.mpd'>dash</a><a href='/dl/clip.mov?x=1'>download</a>"
        "<script>var player = {\"hls\":\"https:\\/\\/cdn.example\\/live\\/master.m3u8?token=abc\"};"
        "load('/rel/index.m3u8');</script>"
        "<script type='application/ld+json'>{\"contentUrl\": \"https://cdn.example/x/stream.mpd\"}</script>", BASE)
    found = {v.url: (v.format, v.source) for v in page.videos}
    assert found == {
        "https://site.example/v/a.mp4": ("file", "video"),
        "https://site.example/v/a.webm": ("file", "source"),
        "https://site.example/v/a.m3u8": ("hls", "source"),
        "https://site.example/stream/manifest.mpd": ("dash", "link"),
        "https://site.example/dl/clip.mov?x=1": ("file", "link"),
        "https://cdn.example/live/master.m3u8?token=abc": ("hls", "script"),
        "https://site.example/rel/index.m3u8": ("hls", "script"),
        "https://cdn.example/x/stream.mpd": ("dash", "script"),
    }
    assert page.videos[0].poster == "https://site.example/p.jpg"
    assert ("https://site.example/p.jpg", "poster") in [(i.url, i.source) for i in page.images]
    kinds = {m.url: m.kind for m in page.media}
    assert kinds["https://cdn.example/live/master.m3u8?token=abc"] is MediaKind.VIDEO
    assert kinds["https://site.example/p.jpg"] is MediaKind.IMAGE


def test_links_keep_rel_and_skip_non_http_schemes() -> None:
    page = extract("<a href='/a#frag' rel='nofollow ugc' class='x y'> A </a><a href='javascript:void(0)'>js</a>"
                   "<a href='tel:+100'>tel</a><a href='data:text/html,x'>d</a><a href='#top'>top</a>"
                   "<a href='http://[bad'>bad</a><a href='ftp://f.example/x'>ftp</a>", BASE)
    assert [(link.url, link.text, link.rel, link.classes) for link in page.links] == [
        ("https://site.example/a", "A", "nofollow ugc", "x y")]


def test_base_href_is_honoured() -> None:
    page = extract("<head><base href='https://cdn.example/root/'></head><a href='p/2'>2</a><img src='i.jpg'>", BASE)
    assert page.links[0].url == "https://cdn.example/root/p/2"
    assert page.media[0].url == "https://cdn.example/root/i.jpg"


@pytest.mark.parametrize("label", ["다음", "次へ", "下一页", "Следующая", "Siguiente", "Tiếp", "Next »", "›"])
def test_pagination_by_next_link_text(label: str) -> None:
    page = extract(f"<a href='/list?page=1'>1</a><a href='/list?page=3'>{label}</a>", BASE)
    assert page.next_page == "https://site.example/list?page=3"


def test_pagination_prefers_rel_next_in_head_then_in_body() -> None:
    page = extract("<head><link rel='next' href='/h2'></head><body><a rel='next' href='/b2'>more</a>"
                   "<a aria-label='Next page' href='/aria2'>→</a></body>", BASE)
    assert page.next_pages == ("https://site.example/h2", "https://site.example/b2", "https://site.example/aria2")
    assert extract("<a href='/x'>previous</a>", BASE).next_page is None


def test_contact_hints() -> None:
    page = extract("<a href='mailto:abuse@site.example?subject=x'>mail</a><a href='mailto:'>empty</a>"
                   "<a href='/about/contact-us'>About</a><a href='/help'>신고하기</a><a href='/x'>お問い合わせ</a>"
                   "<a href='/post/2'>a post</a>", BASE)
    assert page.emails == ("abuse@site.example",)
    assert page.contact_pages == ("https://site.example/about/contact-us", "https://site.example/help",
                                  "https://site.example/x")


def test_select_values_reads_text_and_resolved_attributes() -> None:
    html = ("<ul><li><a class='r' href='/p/1#c'> First <b>post</b></a></li><li><a class='r' href='p/2'>Two</a></li>"
            "<li><a class='r'>no href</a></li></ul><img class='t' srcset='/s.jpg 1x, /l.jpg 2x' data-id=' 7 '>")
    assert select_values(html, BASE, "a.r", attr="href") == ["https://site.example/p/1", "https://site.example/post/p/2"]
    assert select_values(html, BASE, "a.r") == ["First post", "Two", "no href"]
    assert select_values(html, BASE, "img.t", attr="srcset") == ["https://site.example/l.jpg"]
    assert select_values(html, BASE, "img.t", attr="data-id") == ["7"]
    assert select_values(html, BASE, "li:nth-child(2) a") == ["Two"]
    assert select_values("<title>T</title><p>a<script>x()</script>b</p>", BASE, "title, p") == ["T", "ab"]
    assert select_values("", BASE, "a") == []


def test_html_document_runs_several_selectors_over_one_parse() -> None:
    doc = HtmlDocument(b"<meta charset='utf-8'><h1>T\xc3\xadtulo</h1><a rel=next href='?page=2'>n</a>", BASE)
    assert doc.first("h1") == "Título"
    assert doc.first("a[rel=next]", attr="href") == "https://site.example/post/1?page=2"
    assert doc.count("a") == 1 and doc.first("video") is None


def test_an_invalid_selector_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="invalid CSS selector"):
        select_values("<p>x</p>", BASE, "a[[")


# -- hostile markup -----------------------------------------------------------------------------------------------


def test_deep_nesting_loses_nothing_after_it() -> None:
    html = "<body>" + "<div>" * 50_000 + "deep <a href='/post/deep'>d</a>" + "</div>" * 50_000
    page = extract(html + "<p>after <a href='/post/after'>a</a></p>", BASE)
    assert [link.url for link in page.links] == ["https://site.example/post/deep", "https://site.example/post/after"]
    assert "deep" in page.text and "after" in page.text


def test_a_huge_page_is_cut_at_the_limit() -> None:
    row = "<p>word <a href='/post/x'>link</a> <img src='/i.jpg'></p>\n"
    html = "<title>big</title>" + row * (10 * 1024 * 1024 // len(row) + 1)  # a little over 10 MB
    page = extract(html, BASE, limits=ExtractLimits(max_chars=2_000_000, max_text_chars=1000, max_links=50))
    assert page.truncated and page.title == "big"
    assert len(page.links) == 50 and len(page.text) <= 1000
    assert [m.url for m in page.media] == ["https://site.example/i.jpg"]  # repeated images are one


def test_invalid_bytes_and_declared_charsets() -> None:
    page = extract(b"<p>ok \x80\xff\x00 still</p><a href='/p/\xfe'>x</a>", BASE)
    assert page.text == "ok \ufffd\ufffd\ufffd still x"  # each bad byte (and NUL) is one replacement character
    assert [link.url for link in page.links] == ["https://site.example/p/\ufffd"]
    assert extract("<meta charset='shift_jis'><title>日本</title>".encode("shift_jis"), BASE).title == "日本"
    assert extract("<title>한국</title>".encode("euc-kr"), BASE, encoding="euc-kr").title == "한국"
    assert extract("<?xml version='1.0' encoding='utf-8'?><title>x\ud800y</title>", BASE).title == "x?y"


def test_script_only_and_empty_pages() -> None:
    page = extract("<script>document.write('<a href=/post/1>x</a>'); var src = '/v/a.m3u8';</script>", BASE)
    assert page.text == "" and page.links == ()
    assert [v.url for v in page.videos] == ["https://site.example/v/a.m3u8"]
    for empty in ("", "   ", b""):
        assert extract(empty, BASE).model_dump() == extract("", BASE).model_dump()
        assert extract(empty, BASE).links == ()
