"""vPDQ-compatible video hashing and matching, on small synthetic videos made here with PyAV."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from takedown.detect.hashing import hash_file
from takedown.detect.pdq import hamming
from takedown.detect.references import reference_hashes
from takedown.detect.video import (
    VideoHash,
    VideoPdqConfig,
    VideoPdqDetector,
    from_vpdq_lines,
    match_videos,
    to_vpdq_lines,
    vpdq_video,
)
from takedown.errors import DetectionError, MissingDependencyError, UsageError
from takedown.models import Candidate, Case, DetectionLabel, HashValue, Media, MediaKind, ReferenceHash
from takedown.testing import DetectorContract, sample_case, sample_media

av = pytest.importorskip("av")

FPS = 10
W, H = 192, 144


def frames(seed: int, count: int, *, start: int = 0) -> Iterator[np.ndarray]:
    """Slowly moving discs and bars over a bright gradient: frame ``start`` onwards of scene ``seed``."""
    rng = np.random.default_rng(seed)
    c0, c1 = rng.uniform(60, 200, 3).astype(np.float32), rng.uniform(60, 200, 3).astype(np.float32)
    x = np.linspace(0, 1, W, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    tiles = rng.uniform(-45, 45, (H // 12, W // 12, 1)).astype(np.float32).repeat(12, 0).repeat(12, 1)
    background = np.clip(c0 * (1 - x) + c1 * x * 0.8 + 40 * y + tiles, 0, 255).astype(np.uint8)
    shapes = [
        (rng.uniform(0, W), rng.uniform(0, H), rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), rng.uniform(10, 36),
         tuple(int(c) for c in rng.integers(0, 256, 3)), bool(rng.integers(0, 2)))
        for _ in range(10)
    ]
    for i in range(start, start + count):
        image = Image.fromarray(background)
        draw = ImageDraw.Draw(image)
        for x0, y0, vx, vy, r, colour, square in shapes:
            cx, cy = (x0 + vx * i) % W, (y0 + vy * i) % H
            (draw.rectangle if square else draw.ellipse)((cx - r, cy - r * 0.7, cx + r, cy + r * 0.7), fill=colour)
        yield np.asarray(image)


def encode(
    path: Path, arrays: Iterator[np.ndarray] | Sequence[np.ndarray], *, rotation: int = 0,
    pts_ms: Sequence[int] | None = None, container: str | None = None, bit_rate: int = 500_000,
) -> Path:
    """H.264 (x264 defaults but fast: B-frames included) into ``path``."""
    with av.open(str(path), "w", format=container) as out:
        stream = None
        for i, array in enumerate(arrays):
            if stream is None:
                stream = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast"})
                stream.height, stream.width = array.shape[:2]
                stream.pix_fmt, stream.bit_rate = "yuv420p", bit_rate
                if pts_ms is not None:
                    stream.codec_context.time_base = Fraction(1, 1000)
                if rotation:
                    stream.set_display_rotation(rotation)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        assert stream is not None
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def letterboxed(array: np.ndarray) -> np.ndarray:
    """The frame squeezed into 192x108 between black bars, as a 4:3 upload of a 16:9 video shows it."""
    canvas = np.zeros_like(array)
    canvas[18 : 18 + 108] = np.asarray(Image.fromarray(array).resize((W, 108), Image.Resampling.BILINEAR))
    return canvas


@dataclass
class Videos:
    reference: Path  # 20 s
    clip: Path  # 4 s from the middle (from 8.5 s), re-encoded smaller at a lower bit rate
    letterbox: Path  # 6 s, with black bars
    rotated: Path  # 3 s, stored sideways, with a display matrix that turns it upright
    decoy: Path  # 6 s of another scene


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Videos:
    folder = tmp_path_factory.mktemp("videos")
    small = [np.asarray(Image.fromarray(a).resize((160, 120))) for a in frames(1, 4 * FPS, start=85)]
    return Videos(
        reference=encode(folder / "reference.mp4", frames(1, 20 * FPS)),
        clip=encode(folder / "clip.mp4", small, bit_rate=150_000),
        letterbox=encode(folder / "letterbox.mp4", [letterboxed(a) for a in frames(1, 6 * FPS, start=40)]),
        rotated=encode(folder / "rotated.mp4", [np.rot90(a, k=-1) for a in frames(1, 3 * FPS)], rotation=90),
        decoy=encode(folder / "decoy.mp4", frames(2, 6 * FPS)),
    )


def media(path: Path) -> Media:
    return sample_media(path.read_bytes(), kind=MediaKind.VIDEO, blob=path)


def case_of(path: Path, label: str = "ref-video") -> Case:
    return Case(title="t", references=reference_hashes(path, label=label))


# -- hashing ---------------------------------------------------------------------------------------------------


def test_one_hash_per_second_with_frame_numbers_and_digests(videos: Videos) -> None:
    video = vpdq_video(videos.reference)
    assert [h.frame for h in video.frames] == list(range(0, 200, 10))
    assert [h.timestamp for h in video.frames] == [float(s) for s in range(20)]
    assert all(h.algorithm == "pdq" and len(h.value) == 64 and (h.quality or 0) >= 50 for h in video.frames)
    assert (video.width, video.height, video.frame_rate, video.rotation) == (W, H, 10.0, 0)
    assert not video.truncated and video.size == videos.reference.stat().st_size and video.duration == 19.9
    import hashlib

    assert video.sha256 == hashlib.sha256(videos.reference.read_bytes()).hexdigest()
    every = vpdq_video(videos.decoy, seconds_per_hash=0)
    assert [h.frame for h in every.frames] == list(range(60))
    half = vpdq_video(videos.decoy, seconds_per_hash=0.5)
    assert [h.timestamp for h in half.frames][:3] == [0.0, 0.5, 1.0]
    with pytest.raises(UsageError):
        vpdq_video(videos.decoy, seconds_per_hash=-1)


def test_frames_are_those_of_the_vpdq_package(videos: Videos) -> None:
    vpdq = pytest.importorskip("vpdq")  # Meta's package: a reference for this test, not a dependency
    theirs = {f.frame_number: f for f in vpdq.computeHash(str(videos.reference), seconds_per_hash=1.0)}
    ours = vpdq_video(videos.reference).frames
    assert sorted(theirs) == [h.frame for h in ours]
    for h in ours:
        assert h.frame is not None
        assert hamming(h.value, theirs[h.frame].hex) <= 2
        assert abs((h.timestamp or 0) - theirs[h.frame].timestamp) < 1e-3


def test_variable_frame_rate_is_sampled_by_presentation_time(tmp_path: Path) -> None:
    times = [0, 100, 350, 400, 1200, 1250, 1300, 2600, 2700, 3050, 3100]
    path = encode(tmp_path / "vfr.mp4", list(frames(3, len(times))), pts_ms=times)
    video = vpdq_video(path)
    assert [(h.frame, h.timestamp) for h in video.frames] == [(0, 0.0), (4, 1.2), (7, 2.6), (9, 3.05)]


def test_rotation_metadata_is_honoured(videos: Videos) -> None:
    rotated = vpdq_video(videos.rotated)
    assert rotated.rotation == 90 and (rotated.width, rotated.height) == (W, H)
    upright = vpdq_video(videos.reference).frames[:3]
    assert [hamming(a.value, b.value) for a, b in zip(rotated.frames, upright, strict=True)] == [0, 0, 0]


def test_letterbox_removal_crops_black_borders(videos: Videos) -> None:
    reference = vpdq_video(videos.reference).frames[4:10]  # the same moments: 4 s to 9 s
    plain = vpdq_video(videos.letterbox).frames
    cropped = vpdq_video(videos.letterbox, remove_letterbox=True)
    assert cropped.letterbox_removed
    far = [hamming(a.value, b.value) for a, b in zip(plain, reference, strict=True)]
    near = [hamming(a.value, b.value) for a, b in zip(cropped.frames, reference, strict=True)]
    assert max(near) <= 31 < min(far)
    assert vpdq_video(videos.reference, remove_letterbox=True).frames == vpdq_video(videos.reference).frames


def test_damaged_files(tmp_path: Path, videos: Videos) -> None:
    whole = encode(tmp_path / "whole.mkv", frames(4, 6 * FPS), container="matroska")
    data = whole.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    partial = vpdq_video(cut)
    assert partial.truncated and partial.problem and 1 <= len(partial.frames) < 6
    stub = tmp_path / "stub.mkv"
    stub.write_bytes(data[:600])
    with pytest.raises(DetectionError, match="no frame"):
        vpdq_video(stub)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 500)
    with pytest.raises(DetectionError):
        vpdq_video(garbage)
    headless = tmp_path / "headless.mp4"  # an mp4 whose index (moov, written last) was cut off
    headless.write_bytes(videos.decoy.read_bytes()[:4000])
    with pytest.raises(DetectionError):
        vpdq_video(headless)


def test_audio_only_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with pytest.raises(DetectionError, match="no video stream"):
        vpdq_video(path)


def test_without_pyav_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "av", None)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 64)
    with pytest.raises(MissingDependencyError, match=r"takedown\[video\]"):
        vpdq_video(clip)


# -- the text format and matching ------------------------------------------------------------------------------


def test_vpdq_lines_round_trip(videos: Videos) -> None:
    video = vpdq_video(videos.decoy)
    lines = to_vpdq_lines(video)
    assert lines[1].split(",")[0] == "10" and lines[1].endswith(",1.000") and len(lines[1].split(",")[2]) == 64
    assert from_vpdq_lines([*lines, ""]) == list(video.frames)
    with pytest.raises(UsageError, match="line 2"):
        from_vpdq_lines([lines[0], "10,100,nothex,1.000"])
    with pytest.raises(UsageError):
        from_vpdq_lines(["1,101," + "0" * 64 + ",0.000"])
    with pytest.raises(UsageError):
        to_vpdq_lines([HashValue(algorithm="pdq", value="0" * 64)])


def test_a_clip_cut_from_the_middle_matches_like_vpdq(videos: Videos) -> None:
    reference, clip, decoy = (vpdq_video(p) for p in (videos.reference, videos.clip, videos.decoy))
    query_share, target_share = match_videos(clip, reference)
    assert query_share >= 0.8 and target_share <= 0.35
    assert match_videos(reference, clip) == (target_share, query_share)
    assert max(match_videos(decoy, reference)) == 0.0
    assert match_videos([], reference) == (0.0, 0.0)
    low = [h.model_copy(update={"quality": 10}) for h in clip.frames]
    assert match_videos(low, reference) == (0.0, 0.0)


# -- the detector ----------------------------------------------------------------------------------------------


def test_detector_finds_the_clip_the_letterboxed_and_the_rotated_copy(videos: Videos) -> None:
    case = case_of(videos.reference)
    detector = VideoPdqDetector()
    for path in (videos.clip, videos.letterbox, videos.rotated, videos.reference):
        found = detector.detect(media(path), case=case)
        assert found.label is DetectionLabel.MATCH, (path.name, found.rationale)
        assert found.matched is not None and found.matched.reference == "ref-video" and found.score >= 0.8
    miss = detector.detect(media(videos.decoy), case=case)
    assert miss.label is DetectionLabel.NO_MATCH and miss.matched is None and miss.score < 0.4
    bare = VideoPdqDetector(VideoPdqConfig(remove_letterbox=False, dihedral=False))
    assert bare.detect(media(videos.letterbox), case=case).label is DetectionLabel.NO_MATCH


def test_detector_matches_a_candidate_that_contains_the_reference(videos: Videos) -> None:
    case = case_of(videos.clip, label="short")  # the reference is the 4 s clip; the candidate holds all of it
    found = VideoPdqDetector().detect(media(videos.reference), case=case)
    assert found.label is DetectionLabel.MATCH and "of the reference's in the video" in found.rationale
    vpdq_rule_only = VideoPdqDetector(VideoPdqConfig(reference_share=None))  # vPDQ's query threshold alone
    assert vpdq_rule_only.detect(media(videos.reference), case=case).label is DetectionLabel.SUSPECT


def test_detector_edge_cases(videos: Videos) -> None:
    detector = VideoPdqDetector()
    empty = detector.detect(media(videos.clip), case=Case(title="empty"))
    assert empty.label is DetectionLabel.NO_MATCH and "no vPDQ" in empty.rationale
    with pytest.raises(DetectionError):
        detector.detect(sample_media(b"img"), case=Case(title="t"))
    frames_only = [h for h in reference_hashes(videos.clip, label="c") if h.algorithm == "pdq"]
    item = sample_media(b"elsewhere", kind=MediaKind.VIDEO).model_copy(update={"hashes": tuple(frames_only)})
    stored = VideoPdqDetector(VideoPdqConfig(remove_letterbox=False, dihedral=False))
    assert stored.detect(item, case=Case(title="t", references=frames_only)).label is DetectionLabel.MATCH
    broken = [frames_only[0].model_copy(update={"value": "not hex"})]
    with pytest.raises(DetectionError, match="malformed"):
        stored.detect(item, case=Case(title="t", references=broken))


def test_reference_and_batch_hashes_of_a_video(videos: Videos) -> None:
    refs = reference_hashes(videos.decoy, label="v")
    pdq = [r for r in refs if r.algorithm == "pdq"]
    assert {r.algorithm for r in refs} == {"sha256", "md5", "dhash", "pdq"}
    assert [r.frame for r in pdq] == [0, 10, 20, 30, 40, 50] and all(r.kind is MediaKind.VIDEO for r in pdq)
    record = hash_file(videos.decoy)
    assert record.kind is MediaKind.VIDEO and [h.frame for h in record.pdq] == [0, 10, 20, 30, 40, 50]
    assert isinstance(vpdq_video(videos.decoy), VideoHash)


class TestVideoPdqDetector(DetectorContract):
    def make_detector(self) -> VideoPdqDetector:
        return VideoPdqDetector()

    def make_case(self) -> Case:
        values = [HashValue(algorithm="pdq", value=f"{n:064x}", quality=90, frame=n, timestamp=float(n))
                  for n in range(3)]
        return sample_case(references=[ReferenceHash(**v.model_dump(), reference="r", kind=MediaKind.VIDEO)
                                       for v in values])

    def make_items(self, folder: Path) -> list[Media | Candidate]:
        clip = encode(folder / "clip.mp4", frames(5, 2 * FPS))
        return [*super().make_items(folder), media(clip)]


def test_an_uploaded_video_is_hashed_as_its_file_and_nothing_is_kept(videos: Videos, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from takedown.detect.references import reference_hashes_of_bytes

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    path = videos.rotated  # the shortest
    uploaded = reference_hashes_of_bytes(path.read_bytes(), path.name)
    assert uploaded == reference_hashes(path, label=path.name)
    assert list(tmp_path.iterdir()) == [], "the temporary copy is gone"
