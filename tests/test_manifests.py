from __future__ import annotations

import pytest

from takedown.errors import MalformedContentError, SiteError
from takedown.sites.manifests import parse_dash, parse_hls

MASTER = """#EXTM3U
#EXT-X-VERSION:4
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"
low/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="low/iframes.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2000000,RESOLUTION=1280x720,FRAME-RATE=29.970
https://cdn.example/hi/index.m3u8
"""

MEDIA = """#EXTM3U
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:3
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:6.0,
seg3.m4s
#EXT-X-DISCONTINUITY
#EXT-X-KEY:METHOD=AES-128,URI="/keys/k1",IV=0x0102
#EXT-X-BYTERANGE:1000@200
#EXTINF:5.5,second part
seg4.m4s
#EXT-X-KEY:METHOD=NONE
#EXTINF:2,
https://other.example/seg5.ts
#EXT-X-ENDLIST
"""


def test_hls_master_playlist_lists_variants_and_renditions() -> None:
    playlist = parse_hls(MASTER, "https://site.example/v/master.m3u8")
    assert playlist.is_master and playlist.segments == ()
    low, high = playlist.variants
    assert (low.url, low.bandwidth, low.resolution, low.codecs, low.audio) == (
        "https://site.example/v/low/index.m3u8", 800_000, (640, 360), "avc1.4d401e,mp4a.40.2", "aud")
    assert (high.url, high.average_bandwidth, high.frame_rate) == (
        "https://cdn.example/hi/index.m3u8", 2_000_000, 29.97)
    assert playlist.best_variant() == high
    (audio,) = playlist.renditions
    assert (audio.type, audio.group_id, audio.language, audio.url) == (
        "AUDIO", "aud", "en", "https://site.example/v/audio/en.m3u8")


def test_hls_media_playlist_lists_segments_keys_and_init_section() -> None:
    playlist = parse_hls(MEDIA.encode(), "https://site.example/v/hi/index.m3u8")
    assert not playlist.is_master and playlist.best_variant() is None
    assert playlist.segment_urls == ["https://site.example/v/hi/seg3.m4s", "https://site.example/v/hi/seg4.m4s",
                                     "https://other.example/seg5.ts"]
    assert playlist.init_url == "https://site.example/v/hi/init.mp4"
    assert (playlist.target_duration, playlist.media_sequence, playlist.playlist_type, playlist.ended) == (
        6, 3, "VOD", True)
    assert playlist.duration == pytest.approx(13.5)
    first, second, third = playlist.segments
    assert first.key is None and not first.discontinuity
    assert second.key is not None and (second.key.method, second.key.url, second.key.iv) == (
        "AES-128", "https://site.example/keys/k1", "0x0102")
    assert (second.title, second.byterange, second.discontinuity) == ("second part", (1000, 200), True)
    assert third.key is None and third.byterange is None  # METHOD=NONE ends encryption; a byte range is per segment
    assert playlist.encrypted


@pytest.mark.parametrize("garbage", [
    "", "<html><body>not a playlist</body></html>", "\x00\x01\x02", "#EXTM3U\n#EXTINF:abc,\nseg.ts",
    "#EXTM3U\n#EXTINF:nan,\nseg.ts", "#EXTM3U\n#EXTINF:4,\n", "#EXTM3U\nstray-uri.ts",
])
def test_hls_garbage_is_a_typed_error(garbage: str) -> None:
    with pytest.raises(MalformedContentError) as caught:
        parse_hls(garbage, "https://site.example/x.m3u8")
    assert isinstance(caught.value, SiteError) and caught.value.url == "https://site.example/x.m3u8"


def test_hls_segment_cap() -> None:
    text = "#EXTM3U\n" + "#EXTINF:1,\ns.ts\n" * 11
    assert len(parse_hls(text, "https://s.example/a.m3u8", max_segments=11).segments) == 11
    with pytest.raises(MalformedContentError, match="more than 10 segments"):
        parse_hls(text, "https://s.example/a.m3u8", max_segments=10)


DASH = """<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S">
 <BaseURL>media/</BaseURL>
 <Period>
  <AdaptationSet mimeType="video/mp4" codecs="avc1.64001f">
   <SegmentTemplate initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/seg-$Number%03d$.m4s"
                    duration="4000" timescale="1000" startNumber="0"/>
   <Representation id="v720" bandwidth="3000000" width="1280" height="720"/>
   <Representation id="v360" bandwidth="800000" width="640" height="360"/>
  </AdaptationSet>
  <AdaptationSet contentType="audio" mimeType="audio/mp4">
   <Representation id="a1" bandwidth="128000">
    <SegmentTemplate media="a/$Time$-$Bandwidth$.m4s" initialization="a/init.mp4" timescale="1000">
     <SegmentTimeline><S t="0" d="4000" r="1"/><S d="2000"/></SegmentTimeline>
    </SegmentTemplate>
   </Representation>
  </AdaptationSet>
  <AdaptationSet mimeType="video/mp4">
   <Representation id="list" bandwidth="500000">
    <SegmentList><Initialization sourceURL="l/init.mp4"/><SegmentURL media="l/1.m4s"/><SegmentURL media="l/2.m4s"/>
    </SegmentList>
   </Representation>
   <Representation id="single" bandwidth="100000"><BaseURL>https://cdn.example/full.mp4</BaseURL><SegmentBase/>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>"""


def test_dash_segment_template_list_and_base_url() -> None:
    manifest = parse_dash(DASH, "https://site.example/v/manifest.mpd")
    assert (manifest.type, manifest.duration) == ("static", 10.0)
    reps = {r.id: r for r in manifest.representations}
    assert reps["v720"].init_url == "https://site.example/v/media/v720/init.mp4"
    assert reps["v720"].segment_urls == tuple(f"https://site.example/v/media/v720/seg-{n:03d}.m4s" for n in range(3))
    assert reps["a1"].content_type == "audio"
    assert reps["a1"].segment_urls == tuple(
        f"https://site.example/v/media/a/{t}-128000.m4s" for t in (0, 4000, 8000))
    assert reps["list"].init_url == "https://site.example/v/media/l/init.mp4"
    assert reps["list"].segment_urls == ("https://site.example/v/media/l/1.m4s", "https://site.example/v/media/l/2.m4s")
    assert reps["single"].segment_urls == ("https://cdn.example/full.mp4",)
    best = manifest.best()
    assert best is not None and best.id == "v720" and (best.width, best.height) == (1280, 720)
    assert manifest.best("text") is None


def test_dash_timeline_repeat_to_period_end() -> None:
    mpd = """<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT0H0M9S"><Period>
      <AdaptationSet mimeType="video/mp4"><SegmentTemplate media="$Number$.m4s" timescale="1">
      <SegmentTimeline><S t="0" d="2" r="-1"/></SegmentTimeline></SegmentTemplate>
      <Representation id="v" bandwidth="1"/></AdaptationSet></Period></MPD>"""
    (rep,) = parse_dash(mpd.encode(), "https://s.example/m.mpd").representations
    assert rep.segment_urls == tuple(f"https://s.example/{n}.m4s" for n in range(1, 6))  # 5 x 2 s covers 9 s


@pytest.mark.parametrize("garbage", [
    b"", b"not xml at all", b"<html><body>x</body></html>", b"<MPD><Period>", b"\x1f\x8b garbage",
    b'<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY x SYSTEM "file:///etc/passwd">]><MPD>&x;</MPD>',
])
def test_dash_garbage_is_a_typed_error(garbage: bytes) -> None:
    with pytest.raises(MalformedContentError):
        parse_dash(garbage, "https://s.example/m.mpd")


def test_dash_segment_cap() -> None:
    mpd = """<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="P365D"><Period>
      <AdaptationSet mimeType="video/mp4"><SegmentTemplate media="$Number$.m4s" duration="1"/>
      <Representation id="v" bandwidth="1"/></AdaptationSet></Period></MPD>"""
    with pytest.raises(MalformedContentError, match="more than"):
        parse_dash(mpd, "https://s.example/m.mpd")
