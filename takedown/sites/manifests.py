"""Parsing of streaming manifests: HLS playlists (``.m3u8``) and DASH MPDs (``.mpd``).

A video on a page is often no file at all but a manifest that lists the segments a player fetches. These
functions turn a manifest into the URLs to download (absolute, resolved against the manifest's own URL);
fetching them is the site adapters' job. Anything that is not a manifest raises ``MalformedContentError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import MalformedContentError
from takedown.sites.feeds import parse_xml

__all__ = [
    "DashManifest",
    "DashRepresentation",
    "HlsKey",
    "HlsPlaylist",
    "HlsRendition",
    "HlsSegment",
    "HlsVariant",
    "parse_dash",
    "parse_hls",
]

_Frozen = ConfigDict(frozen=True, defer_build=True)
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
_MAX_MANIFEST_CHARS = 20 * 1024 * 1024


# -- HLS --------------------------------------------------------------------------------------------------------


class HlsVariant(BaseModel):
    """One stream of a master playlist (``#EXT-X-STREAM-INF``): a media playlist at one quality."""

    model_config = _Frozen

    url: str
    bandwidth: int | None = None
    average_bandwidth: int | None = None
    resolution: tuple[int, int] | None = Field(default=None, description="width, height")
    codecs: str | None = None
    frame_rate: float | None = None
    audio: str | None = Field(default=None, description="the GROUP-ID of its audio renditions")


class HlsRendition(BaseModel):
    """An alternative rendition of a master playlist (``#EXT-X-MEDIA``): audio, subtitles, another angle."""

    model_config = _Frozen

    type: str
    group_id: str
    name: str = ""
    language: str | None = None
    url: str | None = Field(default=None, description="None when the rendition is muxed into the variants")


class HlsKey(BaseModel):
    """How the segments after an ``#EXT-X-KEY`` are encrypted."""

    model_config = _Frozen

    method: str = Field(description="NONE, AES-128 or SAMPLE-AES (and vendor methods)")
    url: str | None = None
    iv: str | None = None
    keyformat: str | None = None


class HlsSegment(BaseModel):
    """One media segment of a media playlist."""

    model_config = _Frozen

    url: str
    duration: float
    title: str = ""
    byterange: tuple[int, int | None] | None = Field(default=None, description="length and offset, if a sub-range")
    key: HlsKey | None = Field(default=None, description="the encryption in force, None when clear")
    discontinuity: bool = False


class HlsPlaylist(BaseModel):
    """An HLS playlist: a master (``variants``, ``renditions``) or a media playlist (``segments``)."""

    model_config = _Frozen

    url: str
    variants: tuple[HlsVariant, ...] = ()
    renditions: tuple[HlsRendition, ...] = ()
    segments: tuple[HlsSegment, ...] = ()
    target_duration: float | None = None
    media_sequence: int = 0
    playlist_type: str | None = Field(default=None, description="VOD or EVENT, when declared")
    ended: bool = Field(default=False, description="#EXT-X-ENDLIST: no more segments will be added")
    init_url: str | None = Field(default=None, description="the #EXT-X-MAP initialisation section (fMP4)")

    @property
    def is_master(self) -> bool:
        """Whether this playlist lists variant streams rather than segments."""
        return bool(self.variants)

    @property
    def encrypted(self) -> bool:
        """Whether any segment is encrypted (its bytes are useless for hashing without the key)."""
        return any(s.key is not None for s in self.segments)

    @property
    def duration(self) -> float:
        """The sum of the segments' durations, in seconds."""
        return sum(s.duration for s in self.segments)

    @property
    def segment_urls(self) -> list[str]:
        """The segments' URLs in play order (without the initialisation section)."""
        return [s.url for s in self.segments]

    def best_variant(self) -> HlsVariant | None:
        """The variant with the highest bandwidth (then resolution), or ``None`` for a media playlist."""
        if not self.variants:
            return None

        def rank(v: HlsVariant) -> tuple[int, int]:
            area = v.resolution[0] * v.resolution[1] if v.resolution else 0
            return (v.bandwidth or v.average_bandwidth or 0, area)

        return max(self.variants, key=rank)


def _attributes(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip('"') for m in _ATTRIBUTE.finditer(text)}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _resolution(value: str | None) -> tuple[int, int] | None:
    if not value or "x" not in value.lower():
        return None
    width, _, height = value.lower().partition("x")
    w, h = _int(width), _int(height)
    return (w, h) if w and h else None


def parse_hls(text: str | bytes, base_url: str, *, max_segments: int = 100_000) -> HlsPlaylist:
    """Parse an HLS playlist (RFC 8216), master or media.

    Args:
        text: the playlist as served (bytes are read as UTF-8).
        base_url: the playlist's own URL; relative URIs resolve against it.
        max_segments: more segments than this raise (a hostile playlist could list millions).

    Returns:
        The playlist: variants and renditions for a master, segments (with keys, byte ranges and the
        initialisation section) for a media playlist.

    Raises:
        MalformedContentError: not an HLS playlist (no ``#EXTM3U`` header), an ``#EXTINF`` without a valid
            duration or URI, too large, or too many segments.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if len(text) > _MAX_MANIFEST_CHARS:
        raise MalformedContentError(f"playlist larger than {_MAX_MANIFEST_CHARS} characters", url=base_url)
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line]
    if not lines or not lines[0].startswith("#EXTM3U"):
        raise MalformedContentError("not an HLS playlist: it does not start with #EXTM3U", url=base_url)

    def url(uri: str) -> str:
        return urljoin(base_url, uri.strip())

    variants: list[HlsVariant] = []
    renditions: list[HlsRendition] = []
    segments: list[HlsSegment] = []
    fields: dict[str, Any] = {}
    pending_variant: dict[str, str] | None = None
    pending_segment: tuple[float, str] | None = None
    byterange: tuple[int, int | None] | None = None
    key: HlsKey | None = None
    discontinuity = False
    for number, line in enumerate(lines[1:], start=2):
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-STREAM-INF":
            pending_variant = _attributes(value)
        elif tag == "#EXT-X-MEDIA":
            a = _attributes(value)
            renditions.append(HlsRendition(
                type=a.get("TYPE", ""), group_id=a.get("GROUP-ID", ""), name=a.get("NAME", ""),
                language=a.get("LANGUAGE"), url=url(a["URI"]) if a.get("URI") else None,
            ))
        elif tag == "#EXTINF":
            duration, _, title = value.partition(",")
            try:
                seconds = float(duration)
            except ValueError:
                raise MalformedContentError(f"line {number}: #EXTINF without a valid duration", url=base_url) from None
            if not math.isfinite(seconds) or seconds < 0:
                raise MalformedContentError(f"line {number}: #EXTINF duration {duration!r}", url=base_url)
            pending_segment = (seconds, title.strip())
        elif tag == "#EXT-X-BYTERANGE":
            length, _, offset = value.partition("@")
            size = _int(length)
            byterange = (size, _int(offset)) if size is not None else None
        elif tag == "#EXT-X-KEY":
            a = _attributes(value)
            method = a.get("METHOD", "NONE").upper()
            key = None if method == "NONE" else HlsKey(
                method=method, url=url(a["URI"]) if a.get("URI") else None, iv=a.get("IV"),
                keyformat=a.get("KEYFORMAT"),
            )
        elif tag == "#EXT-X-MAP":
            a = _attributes(value)
            if a.get("URI") and "init_url" not in fields:
                fields["init_url"] = url(a["URI"])
        elif tag == "#EXT-X-TARGETDURATION":
            fields["target_duration"] = _int(value)
        elif tag == "#EXT-X-MEDIA-SEQUENCE":
            fields["media_sequence"] = _int(value) or 0
        elif tag == "#EXT-X-PLAYLIST-TYPE":
            fields["playlist_type"] = value.strip().upper() or None
        elif tag == "#EXT-X-ENDLIST":
            fields["ended"] = True
        elif tag == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith("#"):
            continue  # comments and tags that do not change what to download
        elif pending_variant is not None:
            a = pending_variant
            variants.append(HlsVariant(
                url=url(line), bandwidth=_int(a.get("BANDWIDTH")), average_bandwidth=_int(a.get("AVERAGE-BANDWIDTH")),
                resolution=_resolution(a.get("RESOLUTION")), codecs=a.get("CODECS"),
                frame_rate=_float(a.get("FRAME-RATE")), audio=a.get("AUDIO"),
            ))
            pending_variant = None
        elif pending_segment is not None:
            if len(segments) >= max_segments:
                raise MalformedContentError(f"playlist lists more than {max_segments} segments", url=base_url)
            segments.append(HlsSegment(
                url=url(line), duration=pending_segment[0], title=pending_segment[1], byterange=byterange, key=key,
                discontinuity=discontinuity,
            ))
            pending_segment, byterange, discontinuity = None, None, False
        else:
            raise MalformedContentError(f"line {number}: a URI without #EXTINF or #EXT-X-STREAM-INF", url=base_url)
    if pending_segment is not None:
        raise MalformedContentError("the last #EXTINF has no URI", url=base_url)
    return HlsPlaylist(url=base_url, variants=tuple(variants), renditions=tuple(renditions),
                       segments=tuple(segments), **fields)


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


# -- DASH -------------------------------------------------------------------------------------------------------


class DashRepresentation(BaseModel):
    """One representation (a quality of one stream) of a DASH manifest, with the URLs of its segments."""

    model_config = _Frozen

    id: str
    period: int = Field(default=0, description="index of its Period in the manifest")
    content_type: Literal["video", "audio", "text", "other"] = "other"
    mime_type: str | None = None
    codecs: str | None = None
    bandwidth: int | None = None
    width: int | None = None
    height: int | None = None
    init_url: str | None = Field(default=None, description="the initialisation segment, if separate")
    segment_urls: tuple[str, ...] = Field(default=(), description="media segments in play order")


class DashManifest(BaseModel):
    """A DASH Media Presentation Description."""

    model_config = _Frozen

    url: str
    type: Literal["static", "dynamic"] = "static"
    duration: float | None = Field(default=None, description="mediaPresentationDuration in seconds, if given")
    representations: tuple[DashRepresentation, ...] = ()

    def best(self, content_type: str = "video") -> DashRepresentation | None:
        """The representation of ``content_type`` with the highest bandwidth (then size), or ``None``."""
        chosen = [r for r in self.representations if r.content_type == content_type]
        if not chosen:
            return None
        return max(chosen, key=lambda r: (r.bandwidth or 0, (r.width or 0) * (r.height or 0)))


_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_TEMPLATE_ID = re.compile(r"\$(RepresentationID|Number|Time|Bandwidth)(%0(\d+)d)?\$|\$\$")


def _seconds(value: str | None) -> float | None:
    """An ISO 8601 duration (``PT1H2M3.5S``, ``P1DT2H``) in seconds, or ``None``."""
    match = _ISO_DURATION.match((value or "").strip())
    if not match or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


def _kids(element: Any, name: str) -> Iterator[Any]:
    for child in element:
        if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == name:
            yield child


def _kid(element: Any, name: str) -> Any | None:
    return next(_kids(element, name), None)


def _base(element: Any, parent: str) -> str:
    found = _kid(element, "BaseURL")
    text = (found.text or "").strip() if found is not None else ""
    return urljoin(parent, text) if text else parent


def _fill(template: str, *, rep_id: str, bandwidth: int | None, number: int | None = None,
          time: int | None = None) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, width = match.group(1), match.group(3)
        value: object = {"RepresentationID": rep_id, "Number": number, "Time": time, "Bandwidth": bandwidth}[name]
        if value is None:
            return match.group(0)
        return str(value).zfill(int(width)) if width and isinstance(value, int) else str(value)

    return _TEMPLATE_ID.sub(one, template)


def _content_type(attrs: dict[str, str]) -> Literal["video", "audio", "text", "other"]:
    kind = (attrs.get("contentType") or attrs.get("mimeType") or "").split("/", 1)[0].lower()
    if kind in ("video", "audio", "text"):
        return kind  # type: ignore[return-value]
    if kind == "application" and "mp4" in attrs.get("mimeType", "") and "stpp" in attrs.get("codecs", ""):
        return "text"
    return "other"


def _segments_from_template(
    template: dict[str, str], timeline: Any | None, *, base: str, rep_id: str, bandwidth: int | None,
    period_seconds: float | None, max_segments: int, url: str,
) -> tuple[str | None, list[str]]:
    init = template.get("initialization")
    init_url = urljoin(base, _fill(init, rep_id=rep_id, bandwidth=bandwidth)) if init else None
    media = template.get("media")
    if not media:
        return init_url, []
    start = _int(template.get("startNumber"))
    start = 1 if start is None else start
    timescale = _int(template.get("timescale")) or 1
    out: list[str] = []

    def add(number: int, time: int | None) -> None:
        if len(out) >= max_segments:
            raise MalformedContentError(f"manifest lists more than {max_segments} segments", url=url)
        out.append(urljoin(base, _fill(media, rep_id=rep_id, bandwidth=bandwidth, number=number, time=time)))

    if timeline is not None:
        number, time = start, 0
        end = period_seconds * timescale if period_seconds is not None else None
        for s in _kids(timeline, "S"):
            t, d, r = _int(s.get("t")), _int(s.get("d")), _int(s.get("r")) or 0
            if d is None or d <= 0:
                raise MalformedContentError("SegmentTimeline <S> without a positive duration", url=url)
            time = t if t is not None else time
            if r < 0:  # repeat until the end of the period (or once, if its length is unknown)
                r = max(math.ceil((end - time) / d) - 1, 0) if end is not None else 0
            for _ in range(r + 1):
                add(number, time)
                number, time = number + 1, time + d
        return init_url, out
    duration = _int(template.get("duration"))
    if duration and period_seconds is not None:
        count = math.ceil(period_seconds * timescale / duration - 1e-9)
        if count > max_segments:
            raise MalformedContentError(f"manifest lists more than {max_segments} segments", url=url)
        for number in range(start, start + count):
            add(number, (number - start) * duration)
    elif "$Number" not in media and "$Time" not in media:
        add(start, None)  # one file for the whole representation
    return init_url, out


def parse_dash(xml: str | bytes, base_url: str, *, max_segments: int = 100_000) -> DashManifest:
    """Parse a DASH MPD (ISO/IEC 23009-1) into its representations and their segment URLs.

    ``BaseURL`` elements nest (MPD, Period, AdaptationSet, Representation); ``SegmentTemplate`` (with
    ``$Number$``/``$Time$`` and a ``SegmentTimeline`` or a fixed ``duration``), ``SegmentList`` and a plain
    ``BaseURL`` (one file, ``SegmentBase``) are understood, inherited from AdaptationSet or Period as the
    standard says. A live (``dynamic``) manifest without a duration lists the segments its timeline names.

    Args:
        xml: the manifest as served.
        base_url: the manifest's own URL.
        max_segments: more segments than this in one representation raise.

    Raises:
        MalformedContentError: not well-formed XML, not an MPD, or too many segments.
    """
    root = parse_xml(xml, url=base_url)
    if not isinstance(root.tag, str) or root.tag.rsplit("}", 1)[-1] != "MPD":
        raise MalformedContentError("not a DASH manifest: the root element is not <MPD>", url=base_url)
    total = _seconds(root.get("mediaPresentationDuration"))
    mpd_base = _base(root, base_url)
    representations: list[DashRepresentation] = []
    periods = list(_kids(root, "Period"))
    for index, period in enumerate(periods):
        period_seconds = _seconds(period.get("duration"))
        if period_seconds is None and len(periods) == 1:
            period_seconds = total
        period_base = _base(period, mpd_base)
        for adaptation in _kids(period, "AdaptationSet"):
            set_base = _base(adaptation, period_base)
            set_attrs = dict(adaptation.attrib)
            for rep in _kids(adaptation, "Representation"):
                attrs = {**set_attrs, **dict(rep.attrib)}
                rep_id = attrs.get("id", str(len(representations)))
                bandwidth = _int(attrs.get("bandwidth"))
                rep_base = _base(rep, set_base)
                # the nearest SegmentTemplate wins, attribute by attribute (Representation over set over Period)
                template: dict[str, str] = {}
                timeline = None
                for level in (period, adaptation, rep):
                    found = _kid(level, "SegmentTemplate")
                    if found is not None:
                        template.update(found.attrib)
                        inner = _kid(found, "SegmentTimeline")
                        timeline = inner if inner is not None else timeline
                segment_list = next((x for x in (_kid(rep, "SegmentList"), _kid(adaptation, "SegmentList"),
                                                 _kid(period, "SegmentList")) if x is not None), None)
                init_url: str | None
                if template:
                    init_url, urls = _segments_from_template(
                        template, timeline, base=rep_base, rep_id=rep_id, bandwidth=bandwidth,
                        period_seconds=period_seconds, max_segments=max_segments, url=base_url,
                    )
                elif segment_list is not None:
                    init = _kid(segment_list, "Initialization")
                    init_url = urljoin(rep_base, init.get("sourceURL")) if init is not None and init.get(
                        "sourceURL") else None
                    urls = [urljoin(rep_base, s.get("media") or "") for s in _kids(segment_list, "SegmentURL")]
                    if len(urls) > max_segments:
                        raise MalformedContentError(f"manifest lists more than {max_segments} segments", url=base_url)
                else:  # SegmentBase or nothing: the representation is one file at its BaseURL, if it has one
                    init_url, urls = None, ([rep_base] if rep_base != mpd_base else [])
                representations.append(DashRepresentation(
                    id=rep_id, period=index, content_type=_content_type(attrs), mime_type=attrs.get("mimeType"),
                    codecs=attrs.get("codecs"), bandwidth=bandwidth, width=_int(attrs.get("width")),
                    height=_int(attrs.get("height")), init_url=init_url, segment_urls=tuple(urls),
                ))
    kind = "dynamic" if root.get("type") == "dynamic" else "static"
    return DashManifest(url=base_url, type=kind, duration=total, representations=tuple(representations))
