"""Extraction of what takedown needs from an HTML page, and CSS selection for declarative sites.

``extract`` reads a page's title, language, visible text, Open Graph tags, links, pagination, canonical URL,
images (``srcset`` and lazy-load attributes included, CSS backgrounds too), videos (files and HLS/DASH
manifests, also those named only in inline scripts), audio and contact hints. ``select_values`` (and
``HtmlDocument`` for several selectors over one page) reads elements by CSS selector.

Both are built on lxml's HTML parser, which is fast and tolerant: hostile or broken markup (deep nesting, invalid
bytes, pages that are one big script) yields what could be read, never an exception. Work is capped: input beyond
``ExtractLimits.max_chars`` is not parsed (``PageContent.truncated`` says so) and each list is capped.
URLs are absolute (``<base href>`` honoured), ``http``/``https`` only, without fragments.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import UsageError
from takedown.models import MediaKind, MediaRef

__all__ = [
    "CONTACT_WORDS",
    "ExtractLimits",
    "HtmlDocument",
    "ImageRef",
    "Link",
    "PageContent",
    "VideoRef",
    "extract",
    "largest_candidate",
    "parse_srcset",
    "select_values",
]

CONTACT_WORDS = re.compile(
    r"contact|abuse|report|dmca|takedown|take-down|complain|legal|impressum"
    r"|문의|신고|연락|連絡|お問い合わせ|問い合わせ|通報|联系|聯繫|举报|舉報|投诉"
    r"|contacto|denuncia|reportar|контакт|связ|жалоб|пожаловаться|liên hệ|báo cáo|khiếu nại",
    re.IGNORECASE,
)
"""Words in a link's URL or text that mark a contact, abuse or report page."""

# Link texts that mean "next page" (compared after removing arrows and punctuation, case-insensitively).
_NEXT_TEXTS = frozenset({
    "next", "next page", "older", "older posts", "load more",
    "다음", "다음 페이지", "다음페이지", "次へ", "次", "次のページ", "次ページ", "下一页", "下一頁", "下页", "下頁",
    "следующая", "следующая страница", "далее", "вперёд", "вперед", "siguiente", "página siguiente",
    "tiếp", "tiếp theo", "trang sau", "trang tiếp", "suivant", "page suivante", "weiter", "nächste", "nächste seite",
    "próxima", "próximo", "successiva", "avanti", "sonraki", "selanjutnya", "berikutnya", "ถัดไป",
})
_ARROWS = re.compile(r"[\s»›>→▶▸⟩〉≫.…:|\[\]()«‹<←]+")
_SPACE = re.compile(r"\s+")
_SKIP_TEXT = ("script", "style", "noscript", "template", "title", "svg", "math")
_BLOCKS = (
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "option", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
)
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-hi-res-src")
_LAZY_SRCSET = ("data-srcset", "data-lazy-srcset")
_IMG_ATTRS = frozenset({"src", "srcset", *_LAZY_SRC, *_LAZY_SRCSET})
_URL_ATTRS = frozenset({
    "href", "src", "action", "poster", "data-src", "data-href", "data-url", "data-original", "data-lazy-src",
    "cite", "formaction", "content", "srcset", "data-srcset",
})
_CSS_BACKGROUND = re.compile(r"background(?:-image)?\s*:([^;}]*)", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.IGNORECASE)
# Manifest URLs in scripts and JSON: quoted strings ending in .m3u8 or .mpd, JSON-escaped slashes allowed.
_SCRIPT_MANIFEST = re.compile(r"""["']((?:[^"'\s<>\\]|\\/)+?\.(?:m3u8|mpd)(?:\?(?:[^"'\s<>\\]|\\/)*)?)["']""",
                              re.IGNORECASE)
_MEDIA_HREF = re.compile(r"\.(?:m3u8|mpd|mp4|m4v|webm|mov|mkv|ogv)(?:[?#]|$)", re.IGNORECASE)
_VIDEO_FILE = re.compile(r"\.(?:mp4|m4v|webm|mov|mkv|ogv)$", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*>")
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
})
_KEEP_WHEN_DEEP = frozenset({"a", "audio", "picture", "script", "style", "title", "video", "head", "body", "html"})


class ExtractLimits(BaseModel):
    """Caps on the work ``extract`` does for one page, so a hostile page costs bounded time and memory."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    max_chars: int = Field(default=10 * 1024 * 1024, ge=1, description="input beyond this is not parsed")
    max_text_chars: int = Field(default=1_000_000, ge=0, description="visible text is cut here")
    max_links: int = Field(default=20_000, ge=0)
    max_media: int = Field(default=2_000, ge=0, description="images, videos and audio items, each")
    max_depth: int = Field(default=200, ge=16, description="element nesting kept when a page nests deeper")


class Link(BaseModel):
    """A hyperlink on a page."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    url: str
    text: str = ""
    rel: str = ""
    classes: str = ""


class ImageRef(BaseModel):
    """An image on a page: ``url`` is the largest candidate; ``candidates`` holds every URL offered for it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    url: str
    candidates: tuple[str, ...] = ()
    source: Literal["img", "lazy", "picture", "css", "og", "poster"] = "img"


class VideoRef(BaseModel):
    """A video on a page: a file, or an HLS (``.m3u8``) or DASH (``.mpd``) manifest to read with ``manifests``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    url: str
    format: Literal["file", "hls", "dash"] = "file"
    poster: str | None = None
    source: Literal["video", "source", "og", "link", "script"] = "video"


class PageContent(BaseModel):
    """What ``extract`` read from a page. URLs are absolute, ``http``/``https``, without fragments.

    ``media`` is what to download: the chosen URL of each image, each video (manifests included, as
    ``MediaKind.VIDEO``) and each audio item, de-duplicated, in that order.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    title: str = ""
    language: str | None = None
    text: str = ""
    links: tuple[Link, ...] = ()
    media: tuple[MediaRef, ...] = ()
    emails: tuple[str, ...] = Field(default=(), description="addresses of mailto: links")
    meta: dict[str, str] = Field(default_factory=dict, description="<meta> name/property → content, keys lowercase")
    open_graph: dict[str, str] = Field(default_factory=dict, description="og:* properties (first value of each)")
    canonical_url: str | None = Field(default=None, description="<link rel=canonical>, else og:url")
    images: tuple[ImageRef, ...] = ()
    videos: tuple[VideoRef, ...] = ()
    next_pages: tuple[str, ...] = Field(default=(), description="pagination links, most certain first")
    contact_pages: tuple[str, ...] = Field(default=(), description="links that look like contact/abuse/report pages")
    truncated: bool = Field(default=False, description="the input was longer than the limit and was cut")

    @property
    def next_page(self) -> str | None:
        """The most likely next page of a listing, or ``None``."""
        return self.next_pages[0] if self.next_pages else None


# -- parsing ------------------------------------------------------------------------------------------------


def _decode(body: bytes, encoding: str | None) -> str:
    """Bytes to text: the given encoding, else a BOM, else a <meta charset>, else UTF-8 (invalid bytes replaced)."""
    candidates: list[str] = []
    if encoding:
        candidates.append(encoding)
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            candidates.insert(0, name)
    declared = _META_CHARSET.search(body[:4096])
    if declared:
        name = declared.group(1).decode("ascii", "replace")
        # A <meta> that could be read as ASCII cannot be UTF-16: the HTML standard reads such a page as UTF-8.
        candidates.append("utf-8" if name.lower().replace("_", "-").startswith("utf-16") else name)
    for name in candidates:
        try:
            codecs.lookup(name)
        except LookupError:
            continue
        return body.decode(name, errors="replace")
    return body.decode("utf-8", errors="replace")


def _flatten_deep(text: str, max_depth: int) -> str:
    """Drop container tags nested deeper than ``max_depth``, keeping their text and the tags that matter.

    libxml2 stops parsing at a nesting depth of 256, which would lose everything after a deeply nested block.
    """
    out: list[str] = []
    depth = 0
    dropped: list[int] = []  # depths at which a start tag was dropped, so its end tag is dropped too
    last = 0
    for match in _TAG.finditer(text):
        closing, name = match.group(1), match.group(2).lower()
        if name in _VOID:
            continue
        if not closing:
            depth += 1
            if depth > max_depth and name not in _KEEP_WHEN_DEEP:
                out.append(text[last:match.start()])
                last = match.end()
                dropped.append(depth)
        else:
            if dropped and dropped[-1] == depth:
                dropped.pop()
                out.append(text[last:match.start()])
                last = match.end()
            depth = max(depth - 1, 0)
    out.append(text[last:])
    return "".join(out)


def _fromstring(data: bytes) -> tuple[Any, bool]:
    """The parsed document (``None`` if empty) and whether libxml2 gave up on its nesting depth."""
    # Plain etree elements: lxml.html's element classes cost a class lookup per element, a third of the time.
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None, False
    # libxml2 2.12+ reports ERR_RESOURCE_LIMIT; older versions only say so in the message
    return root, any(e.type_name == "ERR_RESOURCE_LIMIT" or "Excessive depth" in e.message for e in parser.error_log)


def _parse(html: str | bytes, *, encoding: str | None, limits: ExtractLimits) -> tuple[Any, bool]:
    """The lxml document for ``html`` (``None`` for an empty one) and whether the input was truncated."""
    cut_bytes = isinstance(html, bytes) and len(html) > 4 * limits.max_chars  # 4 bytes hold any character
    text = _decode(html[: 4 * limits.max_chars], encoding) if isinstance(html, bytes) else html
    truncated = cut_bytes or len(text) > limits.max_chars
    if truncated:
        text = text[: limits.max_chars]
    if not text.strip():
        return None, truncated
    # Always hand lxml UTF-8 bytes with the encoding fixed: str input with an XML declaration is refused by lxml,
    # and a <meta charset> must not re-decode text that is already decoded. Lone surrogates become "?".
    data = text.encode("utf-8", errors="replace")
    root, too_deep = _fromstring(data)
    if too_deep:
        root, _ = _fromstring(_flatten_deep(text, limits.max_depth).encode("utf-8", errors="replace"))
    return root, truncated


def _base_url(root: Any, base_url: str) -> str:
    for base in root.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            resolved = _resolve(base_url, href)
            return resolved or base_url
    return base_url


def _resolve(base: str, value: str | None) -> str | None:
    """``value`` as an absolute http(s) URL without fragment, or ``None`` for data:, javascript: and the like."""
    if not value:
        return None
    value = value.strip().replace("\t", "").replace("\n", "").replace("\r", "")
    if not value or value.startswith("#"):
        return None
    try:
        url = urldefrag(urljoin(base, value))[0]
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    return url if scheme in ("http", "https") else None


def _text_of(element: Any) -> str:
    text: str = etree.tostring(element, method="text", encoding="unicode", with_tail=False)
    return text


def _clean(text: str | None) -> str:
    return _SPACE.sub(" ", text or "").strip()


# -- srcset ---------------------------------------------------------------------------------------------------


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """Split a ``srcset`` value into ``(url, descriptor)`` pairs, as the HTML standard's algorithm does.

    URLs may contain commas (``/w_100,h_100/a.jpg 1x``); a candidate without descriptor gets ``""``.
    """
    out: list[tuple[str, str]] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        if not url:
            break
        if url.endswith(","):
            out.append((url.rstrip(","), ""))
            continue
        start = i
        depth = 0
        while i < n and (value[i] != "," or depth):
            depth += {"(": 1, ")": -1}.get(value[i], 0)
            i += 1
        out.append((url, value[start:i].strip()))
    return out


def _size(descriptor: str) -> tuple[int, float]:
    """Sort key: width descriptors outrank densities; no descriptor means 1x."""
    d = descriptor.strip().lower()
    try:
        size = float(d[:-1]) if d[-1:] in ("w", "x") else 1.0
    except ValueError:
        size = 1.0
    if not math.isfinite(size) or size <= 0:
        size = 1.0
    return (1 if d.endswith("w") else 0), size


def largest_candidate(candidates: Iterable[tuple[str, str]]) -> str | None:
    """The URL with the largest width (``640w``) or, if none has a width, the largest density (``2x``).

    Ties go to the first; returns ``None`` for no candidates.
    """
    best: str | None = None
    best_key: tuple[int, float] | None = None
    for url, descriptor in candidates:
        key = _size(descriptor)
        if best_key is None or key > best_key:
            best, best_key = url, key
    return best


# -- CSS selection --------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _compiled(css: str) -> Any:
    from cssselect import SelectorError
    from lxml.cssselect import CSSSelector

    try:
        return CSSSelector(css, translator="html")
    except SelectorError as exc:
        raise UsageError(f"invalid CSS selector {css!r}: {exc}") from exc


class HtmlDocument:
    """A parsed page to run several CSS selectors over (``select_values`` parses on every call).

    Args:
        html: the page, as text or as bytes (decoded by BOM, ``<meta charset>``, else UTF-8).
        base_url: the page's URL; relative URLs resolve against it (or against its ``<base href>``).
        encoding: the charset the server declared for bytes, if any.
        limits: caps on the input size.
    """

    def __init__(
        self, html: str | bytes, base_url: str, *, encoding: str | None = None, limits: ExtractLimits | None = None
    ) -> None:
        self._root, self.truncated = _parse(html, encoding=encoding, limits=limits or ExtractLimits())
        self.base_url = base_url if self._root is None else _base_url(self._root, base_url)

    def _select(self, css: str) -> list[Any]:
        selector = _compiled(css)
        if self._root is None:
            return []
        return list(selector(self._root))

    def values(self, css: str, *, attr: str | None = None) -> list[str]:
        """The text or an attribute of every element ``css`` selects, in document order.

        Args:
            css: a CSS selector (cssselect's dialect: CSS3 plus ``:contains()``).
            attr: ``None`` for each element's text (whitespace collapsed, script and style left out); a URL
                attribute (``href``, ``src``, ``poster``, ``action``, ``data-src`` ...) for absolute URLs;
                ``srcset``/``data-srcset`` for the largest candidate's URL; any other name for its raw value.

        Returns:
            The values, without empty ones and without elements that lack ``attr``.

        Raises:
            UsageError: ``css`` is not a valid selector.
        """
        out: list[str] = []
        for element in self._select(css):
            value = self._value(element, attr)
            if value:
                out.append(value)
        return out

    def first(self, css: str, *, attr: str | None = None) -> str | None:
        """The first of ``values(css, attr=attr)``, or ``None``."""
        found = self.values(css, attr=attr)
        return found[0] if found else None

    def count(self, css: str) -> int:
        """How many elements ``css`` selects."""
        return len(self._select(css))

    def _value(self, element: Any, attr: str | None) -> str | None:
        if attr is None:
            return _visible_text(element, limit=1_000_000)
        raw = element.get(attr)
        if raw is None:
            return None
        name = attr.lower()
        if name in ("srcset", "data-srcset"):
            return _resolve(self.base_url, largest_candidate(parse_srcset(raw)))
        if name in _URL_ATTRS and not (name == "content" and "://" not in raw and not raw.startswith("/")):
            return _resolve(self.base_url, raw)
        return str(raw).strip()


def select_values(
    html: str | bytes, base_url: str, css: str, *, attr: str | None = None, encoding: str | None = None
) -> list[str]:
    """The text or an attribute of every element that a CSS selector picks out of a page.

    ``attr="href"`` or ``"src"`` (and the other URL attributes) give absolute ``http``/``https`` URLs without
    fragments; ``attr=None`` gives each element's visible text. See ``HtmlDocument.values`` for the details.

    Raises:
        UsageError: ``css`` is not a valid selector.
    """
    return HtmlDocument(html, base_url, encoding=encoding).values(css, attr=attr)


# -- extraction -----------------------------------------------------------------------------------------------


def _visible_text(element: Any, *, limit: int) -> str:
    """An element's text without script/style, with a space at block boundaries; the tree is not changed."""
    parts: list[str] = []
    size = 0
    skip_depth = 0
    for event, el in etree.iterwalk(element, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP_TEXT and el is not element:  # a selected <title> has text; one inside does not count
            if event == "start":
                skip_depth += 1
            else:
                skip_depth -= 1
                if el.tail and not skip_depth:
                    parts.append(el.tail)
            continue
        if skip_depth:
            continue
        if event == "start":
            if tag in _BLOCKS:
                parts.append(" ")
            if el.text:
                parts.append(el.text)
                size += len(el.text)
        else:
            if tag in _BLOCKS:
                parts.append(" ")
            if el is not element and el.tail:
                parts.append(el.tail)
                size += len(el.tail)
        if size > limit * 2:
            break
    return _clean("".join(parts))[:limit]


def _page_text(element: Any, *, limit: int) -> str:
    """``_visible_text`` for a tree that is not used afterwards: edits it in place, which is much faster."""
    etree.strip_elements(element, *_SKIP_TEXT, with_tail=False)
    for block in element.iter(*_BLOCKS):
        block.text = " " + (block.text or "")
        block.tail = " " + (block.tail or "")
    return _clean(_text_of(element)[: limit * 2])[:limit]


class _Extraction:
    """One page's extraction; each method reads one feature from the parsed tree."""

    def __init__(self, root: Any, base_url: str, limits: ExtractLimits) -> None:
        self.root = root
        self.base = _base_url(root, base_url)
        self.limits = limits
        self.meta: dict[str, str] = {}
        self.og: dict[str, str] = {}
        self.og_all: dict[str, list[str]] = {}
        self.images: dict[str, ImageRef] = {}
        self.videos: dict[str, VideoRef] = {}
        self.audio: dict[str, None] = {}
        self._resolved: dict[str, str | None] = {}

    def iter(self, *tags: str) -> Iterator[Any]:
        yield from self.root.iter(*tags)

    def url(self, value: str | None) -> str | None:
        # Pages repeat the same few URLs thousands of times; resolving is the costliest step, so memoise it.
        if value is None:
            return None
        try:
            return self._resolved[value]
        except KeyError:
            resolved = self._resolved[value] = _resolve(self.base, value) if len(self._resolved) < 100_000 else None
            return resolved

    # metadata
    def read_meta(self) -> None:
        for meta in self.iter("meta"):
            key = meta.get("property") or meta.get("name") or meta.get("http-equiv")
            content = meta.get("content")
            if not key or content is None:
                continue
            key = key.strip().lower()
            self.meta.setdefault(key, content.strip())
            if key.startswith("og:"):
                self.og.setdefault(key, content.strip())
                self.og_all.setdefault(key, []).append(content.strip())

    def title(self) -> str:
        for title in self.iter("title"):
            if not any(a.tag == "svg" for a in title.iterancestors()):
                text = _clean(_text_of(title))
                if text:
                    return text
        return self.og.get("og:title", "")

    def language(self) -> str | None:
        lang = (self.root.get("lang") or self.root.get("xml:lang") or "").strip()
        if lang:
            return lang
        locale = self.og.get("og:locale", "").strip()
        if locale:
            return locale.replace("_", "-")
        declared = self.meta.get("content-language", "").split(",")[0].strip()
        return declared or None

    def canonical(self) -> str | None:
        for link in self.iter("link"):
            if "canonical" in (link.get("rel") or "").lower().split():
                found = self.url(link.get("href"))
                if found:
                    return found
        return self.url(self.og.get("og:url"))

    # links, pagination, contacts
    def links(self) -> tuple[list[Link], list[str]]:
        links: list[Link] = []
        emails: dict[str, None] = {}
        for anchor in self.iter("a", "area"):
            if len(links) >= self.limits.max_links:
                break
            href = (anchor.get("href") or "").strip()
            if href.lower().startswith("mailto:"):
                address = href[7:].split("?", 1)[0].strip()
                if address and "@" in address:
                    emails[address] = None
                continue
            url = self.url(href)
            if url is None:
                continue
            links.append(Link(
                url=url, text=_clean(_text_of(anchor))[:500],
                rel=_clean(anchor.get("rel")), classes=_clean(anchor.get("class")),
            ))
        return links, list(emails)

    def next_pages(self, links: list[Link]) -> list[str]:
        found: dict[str, None] = {}
        for link in self.iter("link"):
            if "next" in (link.get("rel") or "").lower().split():
                url = self.url(link.get("href"))
                if url:
                    found[url] = None
        for item in links:
            if "next" in item.rel.lower().split():
                found[item.url] = None
        for item in links:
            words = _ARROWS.sub(" ", item.text).strip().lower()
            if words in _NEXT_TEXTS or (not words and item.text.strip() in ("»", "›", "→", ">", ">>")):
                found[item.url] = None
        for anchor in self.iter("a"):
            label = (anchor.get("aria-label") or "").strip().lower()
            if label and _ARROWS.sub(" ", label).strip() in _NEXT_TEXTS:
                url = self.url(anchor.get("href"))
                if url:
                    found[url] = None
        return list(found)

    # images
    def add_image(self, candidates: list[tuple[str, str, str]], source: str) -> None:
        """Add one image offered as ``(url, descriptor, origin)`` candidates; the largest is chosen."""
        if len(self.images) >= self.limits.max_media:
            return
        resolved = [(u, d, o) for raw, d, o in candidates if (u := self.url(raw))]
        if not resolved:
            return
        best = largest_candidate((u, d) for u, d, _ in resolved)
        assert best is not None  # resolved is not empty
        origin = next(o for u, _, o in resolved if u == best)
        if origin == "lazy" and source == "img":
            source = "lazy"
        if best not in self.images:
            self.images[best] = ImageRef(
                url=best, candidates=tuple(dict.fromkeys(u for u, _, _ in resolved)), source=source
            )

    @staticmethod
    def img_candidates(attrs: dict[str, str]) -> list[tuple[str, str, str]]:
        """``(url, descriptor, origin)`` for one element's image attributes; lazy-load ones first, ``src`` last."""
        out: list[tuple[str, str, str]] = []
        for attr in _LAZY_SRCSET:
            out += [(u, d, "lazy") for u, d in parse_srcset(attrs.get(attr, ""))]
        out += [(u, d, "srcset") for u, d in parse_srcset(attrs.get("srcset", ""))]
        out += [(attrs[attr], "", "lazy") for attr in _LAZY_SRC if attrs.get(attr)]
        if attrs.get("src"):
            out.append((attrs["src"], "", "src"))
        return out

    def read_images(self) -> None:
        has_picture = self.root.find(".//picture") is not None
        seen: set[tuple[tuple[str, str], ...]] = set()
        for img in self.iter("img"):
            if len(self.images) >= self.limits.max_media:
                break
            # libxml2 does not know <source> as a void element inside <picture>: the <img> ends up in it.
            picture = next(img.iterancestors("picture"), None) if has_picture else None
            elements = [*picture.iter("source"), img] if picture is not None else [img]
            key = tuple((k, v) for element in elements for k, v in element.items() if k in _IMG_ATTRS and v)
            if key in seen:  # the same image repeated (a hostile page may repeat one thousands of times)
                continue
            seen.add(key)
            candidates: list[tuple[str, str, str]] = []
            for element in elements:
                candidates += self.img_candidates({k: v for k, v in element.items() if k in _IMG_ATTRS and v})
            self.add_image(candidates, "picture" if picture is not None else "img")
        for element in self.root.xpath("//*[@data-bg or @data-background or @data-background-image]"):
            for attr in ("data-bg", "data-background", "data-background-image"):
                if element.get(attr):
                    self.add_image([(_css_url_or_plain(element.get(attr)), "", "lazy")], "css")
        for element in self.root.xpath("//*[@style]"):
            if len(self.images) >= self.limits.max_media:
                break
            for url in _css_backgrounds(element.get("style")):
                self.add_image([(url, "", "css")], "css")
        for style in self.iter("style"):
            for url in _css_backgrounds(_text_of(style)):
                self.add_image([(url, "", "css")], "css")
        for prop in ("og:image", "og:image:url", "og:image:secure_url", "twitter:image"):
            for value in self.og_all.get(prop, []) or ([self.meta[prop]] if prop in self.meta else []):
                self.add_image([(value, "", "og")], "og")

    # videos and audio
    def add_video(self, raw: str | None, source: str, *, type_hint: str = "", poster: str | None = None) -> None:
        url = self.url(raw)
        if url is None or url in self.videos or len(self.videos) >= self.limits.max_media:
            return
        self.videos[url] = VideoRef(url=url, format=_video_format(url, type_hint), poster=poster, source=source)

    def read_videos(self) -> None:
        for video in self.iter("video"):
            get = video.get
            poster = self.url(get("poster"))
            if poster:
                self.add_image([(poster, "", "poster")], "poster")
            for attr in ("src", "data-src"):
                self.add_video(get(attr), "video", poster=poster)
            for source in video.iter("source"):
                self.add_video(source.get("src") or source.get("data-src"), "source",
                               type_hint=source.get("type") or "", poster=poster)
        for audio in self.iter("audio"):
            for raw in [audio.get("src")] + [s.get("src") for s in audio.iter("source")]:
                url = self.url(raw)
                if url and len(self.audio) < self.limits.max_media:
                    self.audio[url] = None
        for key in ("og:video", "og:video:url", "og:video:secure_url"):
            for value in self.og_all.get(key, []):
                self.add_video(value, "og", type_hint=self.og.get("og:video:type", ""))
        for anchor in self.iter("a", "link"):
            href = anchor.get("href") or ""
            if not _MEDIA_HREF.search(href) and not anchor.get("type"):
                continue
            url = self.url(href)
            if url is None:
                continue
            type_hint = anchor.get("type") or ""
            if _video_format(url, type_hint) != "file" or _VIDEO_FILE.search(urlsplit(url).path):
                self.add_video(url, "link", type_hint=type_hint)
        for script in self.iter("script"):
            code = script.text or ""
            for match in _SCRIPT_MANIFEST.finditer(code):
                self.add_video(match.group(1).replace("\\/", "/"), "script")

    def media(self) -> list[MediaRef]:
        refs: dict[str, MediaRef] = {}
        for url in self.images:
            refs.setdefault(url, MediaRef(url=url, kind=MediaKind.IMAGE))
        for url in self.videos:
            refs.setdefault(url, MediaRef(url=url, kind=MediaKind.VIDEO))
        for url in self.audio:
            refs.setdefault(url, MediaRef(url=url, kind=MediaKind.AUDIO))
        return list(refs.values())


def _css_backgrounds(css: str | None) -> list[str]:
    out: list[str] = []
    for declaration in _CSS_BACKGROUND.finditer(css or ""):
        for match in _CSS_URL.finditer(declaration.group(1)):
            url = next((g for g in match.groups() if g), "")
            if url:
                out.append(url)
    return out


def _css_url_or_plain(value: str) -> str:
    found = _css_backgrounds(f"background:{value}")
    return found[0] if found else value


def _video_format(url: str, type_hint: str) -> Literal["file", "hls", "dash"]:
    path = url.split("?", 1)[0].lower()
    hint = type_hint.lower()
    if path.endswith(".m3u8") or "mpegurl" in hint:
        return "hls"
    if path.endswith(".mpd") or "dash+xml" in hint:
        return "dash"
    return "file"


def extract(
    html: str | bytes, base_url: str, *, encoding: str | None = None, limits: ExtractLimits | None = None
) -> PageContent:
    """Read everything takedown uses from an HTML page.

    Args:
        html: the page, as text or as bytes (decoded by ``encoding``, a BOM or ``<meta charset>``, else as UTF-8
            with invalid bytes replaced).
        base_url: the URL the page was fetched from; relative URLs resolve against it (or its ``<base href>``).
        encoding: the charset the server declared, for bytes.
        limits: caps on input size, text length and list lengths (default ``ExtractLimits()``).

    Returns:
        The page's content; an empty ``PageContent`` for an empty or unparseable page. It never raises for bad
        markup.
    """
    limits = limits or ExtractLimits()
    root, truncated = _parse(html, encoding=encoding, limits=limits)
    if root is None:
        return PageContent(truncated=truncated)
    page = _Extraction(root, base_url, limits)
    page.read_meta()
    links, emails = page.links()
    page.read_images()
    page.read_videos()
    title, language, canonical = page.title(), page.language(), page.canonical()
    body = root.find("body")
    text = _page_text(body if body is not None else root, limit=limits.max_text_chars)  # last: it edits the tree
    return PageContent(
        title=title,
        language=language,
        text=text,
        links=tuple(links),
        media=tuple(page.media()),
        emails=tuple(emails),
        meta=page.meta,
        open_graph=page.og,
        canonical_url=canonical,
        images=tuple(page.images.values()),
        videos=tuple(page.videos.values()),
        next_pages=tuple(page.next_pages(links)),
        contact_pages=tuple(dict.fromkeys(
            link.url for link in links if CONTACT_WORDS.search(f"{urlsplit(link.url).path} {link.text}")
        )),
        truncated=truncated,
    )
