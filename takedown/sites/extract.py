"""Extraction of what takedown needs from an HTML page: title, language, text, links, media, contacts.

Built on the standard library's tolerant ``html.parser``: hostile or broken markup yields what could be read,
never an exception.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

from pydantic import BaseModel, ConfigDict

from takedown.detect.references import media_kind_of
from takedown.models import MediaKind, MediaRef

__all__ = ["Link", "PageContent", "extract"]

_SKIP = {"script", "style", "noscript", "template"}
_SPACE = re.compile(r"\s+")


class Link(BaseModel):
    """A hyperlink on a page."""

    model_config = ConfigDict(frozen=True)

    url: str
    text: str = ""
    rel: str = ""
    classes: str = ""


class PageContent(BaseModel):
    """What ``extract`` read from a page. URLs are absolute, without fragments."""

    model_config = ConfigDict(frozen=True)

    title: str = ""
    language: str | None = None
    text: str = ""
    links: tuple[Link, ...] = ()
    media: tuple[MediaRef, ...] = ()
    emails: tuple[str, ...] = ()
    meta: dict[str, str] = {}


class _Parser(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.title = ""
        self.language: str | None = None
        self.text: list[str] = []
        self.links: list[Link] = []
        self.media: dict[str, MediaRef] = {}
        self.emails: dict[str, None] = {}
        self.meta: dict[str, str] = {}
        self._skip = 0
        self._in_title = False
        self._anchor: dict[str, str] | None = None
        self._anchor_text: list[str] = []
        self._video_depth = 0
        self._audio_depth = 0

    def _abs(self, value: str) -> str:
        return urldefrag(urljoin(self.base_url, value.strip()))[0]

    def _add_media(self, src: str | None, kind: MediaKind | None, type_hint: str | None = None) -> None:
        if not src or src.startswith("data:"):
            return
        url = self._abs(src)
        kind = kind or media_kind_of(url.split("?", 1)[0], type_hint)
        if kind is not None and url not in self.media:
            self.media[url] = MediaRef(url=url, kind=kind)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in _SKIP:
            self._skip += 1
        elif tag == "html" and a.get("lang"):
            self.language = a["lang"]
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            key = a.get("property") or a.get("name")
            if key and "content" in a:
                self.meta[key.lower()] = a["content"]
        elif tag == "a" and a.get("href"):
            href = a["href"].strip()
            if href.lower().startswith("mailto:"):
                address = href[7:].split("?", 1)[0].strip()
                if address:
                    self.emails[address] = None
            self._anchor, self._anchor_text = a, []
        elif tag == "img":
            self._add_media(a.get("src"), MediaKind.IMAGE)
        elif tag == "video":
            self._video_depth += 1
            self._add_media(a.get("src"), MediaKind.VIDEO)
        elif tag == "audio":
            self._audio_depth += 1
            self._add_media(a.get("src"), MediaKind.AUDIO)
        elif tag == "source":
            inside = MediaKind.VIDEO if self._video_depth else MediaKind.AUDIO if self._audio_depth else None
            self._add_media(a.get("src"), inside, a.get("type"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag == "video" and self._video_depth:
            self._video_depth -= 1
        elif tag == "audio" and self._audio_depth:
            self._audio_depth -= 1
        elif tag == "a" and self._anchor is not None:
            href = self._anchor["href"]
            if not href.lower().startswith(("mailto:", "javascript:", "tel:")):
                self.links.append(
                    Link(
                        url=self._abs(href), text=_SPACE.sub(" ", "".join(self._anchor_text)).strip(),
                        rel=self._anchor.get("rel", ""), classes=self._anchor.get("class", ""),
                    )
                )
            self._anchor = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
            return
        if self._anchor is not None:
            self._anchor_text.append(data)
        self.text.append(data)


def extract(html: str, base_url: str) -> PageContent:
    """Read a page's title, language, visible text, links, media references and email addresses."""
    parser = _Parser(base_url)
    parser.feed(html)
    parser.close()
    return PageContent(
        title=_SPACE.sub(" ", parser.title).strip() or parser.meta.get("og:title", ""),
        language=parser.language,
        text=_SPACE.sub(" ", " ".join(parser.text)).strip(),
        links=tuple(parser.links),
        media=tuple(parser.media.values()),
        emails=tuple(parser.emails),
        meta=parser.meta,
    )
