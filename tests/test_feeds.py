from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from takedown.errors import MalformedContentError
from takedown.models import MediaKind
from takedown.sites.feeds import parse_feed, parse_sitemap, parse_xml

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Demo feed</title><link>https://site.example/</link>
 <item><title>Post 1</title><link>/post/1</link><guid isPermaLink="false">p-1</guid>
  <pubDate>Tue, 03 Jun 2025 09:39:21 +0900</pubDate>
  <description>&lt;p&gt;Hello &lt;b&gt;there&lt;/b&gt; &lt;img src="/i/1.jpg"&gt;&lt;/p&gt;</description>
  <enclosure url="https://site.example/v/1.mp4" type="video/mp4" length="123"/>
  <enclosure url="https://site.example/doc.pdf" type="application/pdf" length="1"/>
  <media:group><media:content url="/m/1.webm" medium="video"/></media:group>
  <media:thumbnail url="/t/1.jpg"/></item>
 <item><title>Without a link</title><description>skipped</description></item>
 <item><guid>https://site.example/post/2</guid><dc:date>2025-06-04T00:00:00Z</dc:date><title>Two</title>
  <content:encoded><![CDATA[<p>Body <img src="https://cdn.example/2.png"></p>]]></content:encoded></item>
 <item><link>https://site.example/post/3</link><pubDate>not a date</pubDate></item>
</channel></rss>"""


def test_rss_items_with_dates_summaries_and_media() -> None:
    feed = parse_feed(RSS, "https://site.example/feed.xml")
    assert (feed.kind, feed.title, feed.link) == ("rss", "Demo feed", "https://site.example/")
    assert [i.url for i in feed.items] == [f"https://site.example/post/{n}" for n in (1, 2, 3)]
    first, second, third = feed.items
    assert (first.title, first.id, first.summary) == ("Post 1", "p-1", "Hello there")
    assert first.published == datetime(2025, 6, 3, 0, 39, 21, tzinfo=UTC)
    assert {m.url: m.kind for m in first.media} == {
        "https://site.example/v/1.mp4": MediaKind.VIDEO, "https://site.example/m/1.webm": MediaKind.VIDEO,
        "https://site.example/t/1.jpg": MediaKind.IMAGE, "https://site.example/i/1.jpg": MediaKind.IMAGE,
    }  # the PDF enclosure is not media
    assert second.date == datetime(2025, 6, 4, tzinfo=UTC) and second.summary == "Body"
    assert [m.url for m in second.media] == ["https://cdn.example/2.png"]
    assert third.date is None  # an unreadable date is no date
    assert feed.newest == second.date


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title><link rel="self" href="/atom.xml"/>
 <link href="https://site.example/"/>
 <entry><title>E1</title><link rel="alternate" type="text/html" href="/post/a"/>
  <link rel="enclosure" href="/v/a.webm" type="video/webm"/><id>urn:uuid:1</id>
  <published>2025-05-31T10:00:00+02:00</published><updated>2025-06-01T10:00:00Z</updated>
  <summary type="html">&lt;b&gt;hi&lt;/b&gt;</summary></entry>
 <entry><title>E2</title><id>https://site.example/post/b</id><updated>2025-06-02</updated></entry>
 <entry><title>no link, no URL id</title><id>tag:site.example,2025:3</id></entry>
</feed>"""


def test_atom_entries() -> None:
    feed = parse_feed(ATOM, "https://site.example/atom.xml")
    assert (feed.kind, feed.title, feed.link) == ("atom", "Atom", "https://site.example/")
    first, second = feed.items
    assert (first.url, first.title, first.id, first.summary) == (
        "https://site.example/post/a", "E1", "urn:uuid:1", "hi")
    assert first.published == datetime(2025, 5, 31, 10, tzinfo=timezone(timedelta(hours=2)))
    assert first.date == datetime(2025, 6, 1, 10, tzinfo=UTC)
    assert [(m.url, m.kind) for m in first.media] == [("https://site.example/v/a.webm", MediaKind.VIDEO)]
    assert second.url == "https://site.example/post/b" and second.updated == datetime(2025, 6, 2, tzinfo=UTC)


def test_rss_1_0_rdf_items() -> None:
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
      <channel rdf:about="https://site.example/"><title>RDF</title></channel>
      <item rdf:about="https://site.example/post/r"><title>R</title></item></rdf:RDF>"""
    feed = parse_feed(rdf, "https://site.example/index.rdf")
    assert [(i.url, i.title) for i in feed.items] == [("https://site.example/post/r", "R")]


SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
        xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">
 <url><loc>https://site.example/post/1</loc><lastmod>2025-06-01</lastmod><changefreq>daily</changefreq>
  <priority>0.8</priority>
  <image:image><image:loc>https://site.example/i/1.jpg</image:loc></image:image>
  <video:video><video:thumbnail_loc>https://site.example/t/1.jpg</video:thumbnail_loc><video:title>Clip</video:title>
   <video:content_loc>https://site.example/v/1.mp4</video:content_loc></video:video></url>
 <url><loc>https://site.example/post/2</loc><lastmod>2025-06-02T10:00:00+09:00</lastmod></url>
 <url><loc>javascript:alert(1)</loc></url>
</urlset>"""


def test_sitemap_url_set_with_image_and_video_extensions() -> None:
    sitemap = parse_sitemap(SITEMAP, "https://site.example/sitemap.xml")
    assert sitemap.kind == "urlset" and sitemap.sitemaps == []
    first, second = sitemap.urls
    assert (first.url, first.lastmod, first.changefreq, first.priority, first.title) == (
        "https://site.example/post/1", datetime(2025, 6, 1, tzinfo=UTC), "daily", 0.8, "Clip")
    assert [(m.url, m.kind) for m in first.media] == [
        ("https://site.example/i/1.jpg", MediaKind.IMAGE), ("https://site.example/v/1.mp4", MediaKind.VIDEO),
        ("https://site.example/t/1.jpg", MediaKind.IMAGE)]
    assert sitemap.newest == second.lastmod == datetime(2025, 6, 2, 1, tzinfo=UTC)


def test_sitemap_index_and_gzip() -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>/sitemaps/posts-1.xml.gz</loc><lastmod>2025-01-01</lastmod></sitemap>
      <sitemap><loc>https://site.example/sitemaps/posts-2.xml.gz</loc></sitemap></sitemapindex>"""
    parsed = parse_sitemap(gzip.compress(index), "https://site.example/sitemap_index.xml.gz")
    assert parsed.kind == "index" and parsed.urls == ()
    assert parsed.sitemaps == ["https://site.example/sitemaps/posts-1.xml.gz",
                               "https://site.example/sitemaps/posts-2.xml.gz"]
    assert parsed.children[0].lastmod == datetime(2025, 1, 1, tzinfo=UTC) and parsed.children[1].lastmod is None
    assert len(parse_sitemap(gzip.compress(SITEMAP), "https://site.example/s.xml.gz").urls) == 2


def test_text_sitemap_and_entry_cap() -> None:
    text = "\ufeffhttps://site.example/a\nhttps://site.example/b\n\nnot a url\nhttps://site.example/c\n"
    sitemap = parse_sitemap(text.encode(), "https://site.example/sitemap.txt", max_entries=2)
    assert [u.url for u in sitemap.urls] == ["https://site.example/a", "https://site.example/b"] and sitemap.truncated


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<rss><channel><title>&lol9;</title><item><link>https://site.example/&lol9;</link></item></channel></rss>"""


def test_an_xml_bomb_is_refused() -> None:
    with pytest.raises(MalformedContentError):
        parse_feed(BOMB, "https://site.example/feed.xml")


def test_an_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>'
           '<rss><channel><title>&xxe;</title><item><link>https://site.example/&xxe;</link></item></channel></rss>')
    with pytest.raises(MalformedContentError, match="declares entities") as caught:
        parse_feed(xxe.encode(), "https://site.example/feed.xml")
    assert "TOP-SECRET" not in str(caught.value)
    # a DOCTYPE naming an external DTD is harmless: the DTD is not loaded
    root = parse_xml(b'<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/never.dtd"><rss><channel/></rss>')
    assert root.tag == "rss"


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    assert len(bomb) < 10_000
    with pytest.raises(MalformedContentError, match="inflates beyond"):
        parse_xml(bomb, max_bytes=1_000_000)


@pytest.mark.parametrize("garbage", [b"", b"   ", b"<html><body>not a feed</body></html>", b"<rss><channel>",
                                     b"\x1f\x8b\x08\x00broken", b"\xff\xfe\x00\x01"])
def test_garbage_is_a_typed_error(garbage: bytes) -> None:
    with pytest.raises(MalformedContentError):
        parse_feed(garbage, "https://site.example/feed.xml")
    with pytest.raises(MalformedContentError):
        parse_sitemap(garbage, "https://site.example/sitemap.xml")
