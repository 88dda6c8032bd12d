"""Parsing of RSS 2.0 and Atom feeds and of XML sitemaps (url sets with image and video extensions, indexes, gzip).

Pure functions over the bytes a server sent and the URL they came from; fetching is the site adapters' job.
XML is parsed without expanding entities, without DTDs and without network access (``parse_xml``), so an
"XML bomb" or an external entity stays inert, and gzip input is inflated only up to a limit.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import MalformedContentError
from takedown.models import MediaKind, MediaRef, media_kind_of
from takedown.sites.extract import extract

__all__ = [
    "Feed",
    "FeedItem",
    "Sitemap",
    "SitemapEntry",
    "parse_feed",
    "parse_sitemap",
    "parse_xml",
]

_MAX_XML_BYTES = 50 * 1024 * 1024  # the sitemap protocol caps an uncompressed sitemap at 50 MB
_GZIP_MAGIC = b"\x1f\x8b"


# -- safe XML ---------------------------------------------------------------------------------------------------


def _inflate(data: bytes, *, limit: int, url: str | None) -> bytes:
    """Gunzip ``data`` (if it is gzip), refusing output beyond ``limit`` bytes: a gzip bomb stops there."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise MalformedContentError(f"invalid gzip data: {exc}", url=url) from exc
    if len(out) > limit:
        raise MalformedContentError(f"gzip data inflates beyond {limit} bytes", url=url)
    return out


def parse_xml(data: bytes | str, *, url: str | None = None, max_bytes: int = _MAX_XML_BYTES) -> Any:
    """Parse untrusted XML safely and return its root element (an lxml element).

    Entities are not expanded, no DTD is loaded, nothing is fetched from the network, libxml2's limits on
    huge documents stay on, and gzip input is inflated (up to ``max_bytes``).

    Raises:
        MalformedContentError: the input is not well-formed XML, is empty, or is larger than ``max_bytes``.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else _inflate(data, limit=max_bytes, url=url)
    if len(raw) > max_bytes:
        raise MalformedContentError(f"XML larger than {max_bytes} bytes", url=url)
    if isinstance(data, str):  # lxml refuses str with an encoding declaration; bytes carry their own
        raw = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", raw, count=1)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_comments=True, remove_pis=True, recover=False,
    )
    try:
        root = etree.fromstring(raw, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MalformedContentError(f"not well-formed XML: {exc}", url=url) from exc
    if root is None:
        raise MalformedContentError("empty XML document", url=url)
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and list(dtd.iterentities()):
        # As defusedxml does: feeds, sitemaps and manifests never need entities; declaring one is an attack
        # (a "billion laughs" bomb, which libxml2 refuses on its own, or an external entity, left unloaded).
        raise MalformedContentError("XML that declares entities is refused", url=url)
    return root


def _local(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _children(element: Any, *names: str) -> Iterator[Any]:
    """Child elements by local name, whatever their namespace (feeds mix namespaces loosely)."""
    for child in element:
        if _local(child) in names:
            yield child


def _child_text(element: Any, *names: str) -> str:
    for child in _children(element, *names):
        text = "".join(child.itertext()).strip()
        if text:
            return text
    return ""


def _date(text: str) -> datetime | None:
    """An RFC 822 (RSS), RFC 3339 (Atom) or W3C (sitemap) date as an aware datetime; naive ones are UTC."""
    text = text.strip()
    if not text:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _url(base: str, value: str | None) -> str | None:
    """``value`` as an absolute http(s) URL without fragment, or ``None``."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        url = urldefrag(urljoin(base, value))[0]
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _media_kind(url: str, medium: str | None, content_type: str | None) -> MediaKind | None:
    if medium and medium.lower() in ("image", "video", "audio"):
        return MediaKind(medium.lower())
    return media_kind_of(urlsplit(url).path, content_type or None)


# -- feeds --------------------------------------------------------------------------------------------------------


class FeedItem(BaseModel):
    """One entry of a feed: a post to look at."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    url: str
    title: str = ""
    summary: str = Field(default="", description="the description or summary as plain text")
    id: str | None = Field(default=None, description="guid (RSS) or id (Atom)")
    published: datetime | None = None
    updated: datetime | None = None
    media: tuple[MediaRef, ...] = Field(
        default=(), description="enclosures, media:content, media:thumbnail, and images in the item's HTML"
    )

    @property
    def date(self) -> datetime | None:
        """The later of ``updated`` and ``published`` (what a monitor compares with its checkpoint)."""
        dates = [d for d in (self.updated, self.published) if d is not None]
        return max(dates) if dates else None


class Feed(BaseModel):
    """An RSS (2.0, also 0.9x and 1.0) or Atom feed."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: Literal["rss", "atom"]
    url: str = Field(description="where the feed was fetched from")
    title: str = ""
    link: str | None = Field(default=None, description="the site the feed belongs to")
    items: tuple[FeedItem, ...] = ()

    @property
    def newest(self) -> datetime | None:
        """The latest item date, or ``None`` if no item is dated."""
        dates = [item.date for item in self.items if item.date is not None]
        return max(dates) if dates else None


def _html_text_and_images(html: str, base: str) -> tuple[str, list[MediaRef]]:
    if "<" not in html:
        return _clean(html), []
    content = extract(html, base)
    return content.text, [ref for ref in content.media if ref.kind is MediaKind.IMAGE]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _item_media(item: Any, base: str) -> list[MediaRef]:
    found: dict[str, MediaRef] = {}

    def add(raw: str | None, medium: str | None = None, content_type: str | None = None, *,
            default: MediaKind | None = None) -> None:
        url = _url(base, raw)
        if url is None or url in found:
            return
        kind = _media_kind(url, medium, content_type) or default
        if kind is not None:
            found[url] = MediaRef(url=url, kind=kind)

    for element in item.iter():
        name = _local(element)
        if name == "enclosure" or (name == "link" and (element.get("rel") or "") == "enclosure"):
            add(element.get("url") or element.get("href"), None, element.get("type"))
        elif name == "content" and element.get("url"):  # media:content (Atom <content> has no url attribute)
            add(element.get("url"), element.get("medium"), element.get("type"))
        elif name == "thumbnail" and element.get("url"):
            add(element.get("url"), default=MediaKind.IMAGE)
    return list(found.values())


def _rss_item(item: Any, base: str) -> FeedItem | None:
    guid = next(_children(item, "guid"), None)
    guid_text = "".join(guid.itertext()).strip() if guid is not None else ""
    permalink = guid is not None and (guid.get("isPermaLink") or "true").lower() == "true"
    url = _url(base, _child_text(item, "link")) or (_url(base, guid_text) if permalink or "://" in guid_text else None)
    about = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    url = url or _url(base, about)
    media = _item_media(item, base)
    if url is None:
        return None
    html = _child_text(item, "encoded") or _child_text(item, "description")
    summary, images = _html_text_and_images(html, url)
    media += [ref for ref in images if ref.url not in {m.url for m in media}]
    return FeedItem(
        url=url, title=_clean(_child_text(item, "title")), summary=summary[:5000], id=guid_text or None,
        published=_date(_child_text(item, "pubdate") or _child_text(item, "date")),
        updated=_date(_child_text(item, "updated", "modified")), media=tuple(media),
    )


def _atom_link(entry: Any, base: str) -> str | None:
    links = list(_children(entry, "link"))
    for link in links:
        if (link.get("rel") or "alternate") == "alternate" and (link.get("type") or "text/html").startswith(
                ("text/html", "application/xhtml")):
            found = _url(base, link.get("href"))
            if found:
                return found
    return None


def _atom_entry(entry: Any, base: str) -> FeedItem | None:
    url = _atom_link(entry, base)
    entry_id = _child_text(entry, "id")
    url = url or (_url(base, entry_id) if entry_id.startswith(("http://", "https://")) else None)
    if url is None:
        return None
    media = _item_media(entry, base)
    html = _child_text(entry, "content") or _child_text(entry, "summary")
    summary, images = _html_text_and_images(html, url)
    media += [ref for ref in images if ref.url not in {m.url for m in media}]
    return FeedItem(
        url=url, title=_clean(_child_text(entry, "title")), summary=summary[:5000], id=entry_id or None,
        published=_date(_child_text(entry, "published", "issued")),
        updated=_date(_child_text(entry, "updated", "modified")), media=tuple(media),
    )


def parse_feed(data: bytes | str, url: str, *, max_items: int = 10_000) -> Feed:
    """Parse an RSS or Atom feed.

    Args:
        data: the feed as served (gzip is inflated).
        url: where it was fetched from; relative links resolve against it.
        max_items: items beyond this are ignored.

    Returns:
        The feed; items without a usable http(s) link are left out. Item dates are timezone-aware (UTC when the
        feed gives none); an unreadable date is ``None``.

    Raises:
        MalformedContentError: not well-formed XML, entities declared, or neither RSS nor Atom.
    """
    root = parse_xml(data, url=url)
    name = _local(root)
    if name == "feed":
        entries = [e for e in (_atom_entry(x, url) for x in _children(root, "entry")) if e is not None]
        return Feed(kind="atom", url=url, title=_clean(_child_text(root, "title")), link=_atom_link(root, url),
                    items=tuple(entries[:max_items]))
    if name in ("rss", "rdf"):
        channel = next(_children(root, "channel"), root)
        # RSS 2.0 nests items in <channel>; RSS 1.0 (RDF) puts them beside it
        raw = [*_children(channel, "item"), *(_children(root, "item") if channel is not root else [])]
        items = [i for i in (_rss_item(x, url) for x in raw[:max_items]) if i is not None]
        return Feed(kind="rss", url=url, title=_clean(_child_text(channel, "title")),
                    link=_url(url, _child_text(channel, "link")), items=tuple(items))
    raise MalformedContentError(f"not an RSS or Atom feed: the root element is <{name}>", url=url)


# -- sitemaps -------------------------------------------------------------------------------------------------------


class SitemapEntry(BaseModel):
    """One ``<url>`` of a sitemap, or one ``<sitemap>`` of a sitemap index."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    url: str
    lastmod: datetime | None = None
    changefreq: str | None = None
    priority: float | None = None
    media: tuple[MediaRef, ...] = Field(default=(), description="image:image and video:video (content, thumbnail)")
    title: str = Field(default="", description="video:title or image:title, when given")


class Sitemap(BaseModel):
    """A sitemap: a url set (``urls``) or a sitemap index (``children``, to fetch and parse in turn)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: Literal["urlset", "index"]
    url: str
    urls: tuple[SitemapEntry, ...] = Field(default=(), description="the pages of a url set")
    children: tuple[SitemapEntry, ...] = Field(default=(), description="the sitemaps an index lists")
    truncated: bool = Field(default=False, description="more entries than max_entries; the rest were ignored")

    @property
    def sitemaps(self) -> list[str]:
        """The URLs of the sitemaps an index lists (empty for a url set)."""
        return [child.url for child in self.children]

    @property
    def newest(self) -> datetime | None:
        """The latest ``lastmod`` of the pages (or of the child sitemaps of an index)."""
        dates = [e.lastmod for e in (*self.urls, *self.children) if e.lastmod is not None]
        return max(dates) if dates else None


def _sitemap_entry(element: Any, base: str) -> SitemapEntry | None:
    url = _url(base, _child_text(element, "loc"))
    if url is None:
        return None
    media: dict[str, MediaRef] = {}
    title = ""
    for image in _children(element, "image"):
        loc = _url(url, _child_text(image, "loc"))
        if loc:
            media.setdefault(loc, MediaRef(url=loc, kind=MediaKind.IMAGE))
        title = title or _clean(_child_text(image, "title"))
    for video in _children(element, "video"):
        content = _url(url, _child_text(video, "content_loc"))
        if content:
            media.setdefault(content, MediaRef(url=content, kind=MediaKind.VIDEO))
        thumbnail = _url(url, _child_text(video, "thumbnail_loc"))
        if thumbnail:
            media.setdefault(thumbnail, MediaRef(url=thumbnail, kind=MediaKind.IMAGE))
        title = title or _clean(_child_text(video, "title"))
    try:
        priority: float | None = float(_child_text(element, "priority"))
    except ValueError:
        priority = None
    return SitemapEntry(
        url=url, lastmod=_date(_child_text(element, "lastmod")), changefreq=_child_text(element, "changefreq") or None,
        priority=priority, media=tuple(media.values()), title=title,
    )


def parse_sitemap(data: bytes | str, url: str, *, max_entries: int = 50_000) -> Sitemap:
    """Parse a sitemap (sitemaps.org 0.9): a ``<urlset>``, a ``<sitemapindex>``, gzipped or not, or a text sitemap.

    Args:
        data: the sitemap as served; gzip (``sitemap.xml.gz``) is inflated up to 50 MB, as the protocol allows.
        url: where it was fetched from.
        max_entries: entries beyond this are ignored (the protocol allows 50,000 per file) and ``truncated`` set.

    Raises:
        MalformedContentError: not well-formed XML, entities declared, bad gzip, or not a sitemap.
    """
    raw = data if isinstance(data, str) else _inflate(data, limit=_MAX_XML_BYTES, url=url)
    text_head = raw[:200].lstrip() if isinstance(raw, str) else raw[:200].lstrip().decode("utf-8", "replace")
    text_head = text_head.lstrip("\ufeff")
    if text_head.startswith(("http://", "https://")):  # a text sitemap: one URL per line
        lines = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        urls = [u for u in (_url(url, line) for line in lines.lstrip("\ufeff").splitlines()) if u]
        listed = tuple(SitemapEntry(url=u) for u in urls[:max_entries])
        return Sitemap(kind="urlset", url=url, urls=listed, truncated=len(urls) > max_entries)
    root = parse_xml(raw, url=url)
    name = _local(root)
    if name not in ("urlset", "sitemapindex"):
        raise MalformedContentError(f"not a sitemap: the root element is <{name}>", url=url)
    children = list(_children(root, "url" if name == "urlset" else "sitemap"))
    entries = [e for e in (_sitemap_entry(x, url) for x in children[:max_entries]) if e is not None]
    truncated = len(children) > max_entries
    if name == "urlset":
        return Sitemap(kind="urlset", url=url, urls=tuple(entries), truncated=truncated)
    return Sitemap(kind="index", url=url, children=tuple(entries), truncated=truncated)
