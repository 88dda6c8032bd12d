from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from takedown.detect.dhash import DHashDetector, dhash_image, dhash_path, hamming
from takedown.detect.exact import ExactHashDetector
from takedown.detect.policy import DecisionPolicy, PolicyConfig
from takedown.detect.references import reference_hashes, reference_hashes_of_bytes
from takedown.errors import DetectionError, UsageError
from takedown.models import Case, Decision, Detection, DetectionLabel, ItemKind, Media, MediaKind
from takedown.testing import sample_media


def _scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    pixels = np.stack([x * rng.uniform(0.3, 1), y * rng.uniform(0.3, 1), (x + y) * rng.uniform(0.1, 0.5)], axis=-1)
    for _ in range(6):
        cx, cy, r = rng.integers(0, size[0]), rng.integers(0, size[1]), rng.integers(15, 60)
        pixels[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.integers(0, 255, 3)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def _media(path: Path, kind: MediaKind = MediaKind.IMAGE) -> Media:
    return sample_media(path.read_bytes(), kind=kind, blob=path)


def test_dhash_survives_resize_and_recompression_but_not_another_picture(tmp_path: Path) -> None:
    original = _scene(1)
    base = dhash_image(original)
    smaller = Image.open(_save(original.resize((160, 120)), tmp_path / "s.jpg", quality=50))
    assert hamming(base, dhash_image(smaller)) <= 6
    assert hamming(base, dhash_image(_scene(2))) > 15


def test_reference_hashes_hold_hashes_only(tmp_path: Path) -> None:
    path = _save(_scene(3), tmp_path / "ref.png")
    refs = reference_hashes(path, label="ref-a")
    assert {r.algorithm for r in refs} == {"sha256", "md5", "dhash", "pdq"}
    assert all(r.reference == "ref-a" and r.kind is MediaKind.IMAGE for r in refs)
    with pytest.raises(UsageError):
        reference_hashes(_save(_scene(3), tmp_path / "x.png").with_suffix(".txt"))


def test_an_upload_is_hashed_in_memory_exactly_as_its_file(tmp_path: Path) -> None:
    path = _save(_scene(3), tmp_path / "ref.png")
    from_file = reference_hashes(path, label="ref.png")
    uploaded = reference_hashes_of_bytes(path.read_bytes(), "ref.png")
    assert uploaded == from_file and {h.algorithm for h in uploaded} >= {"sha256", "md5", "dhash", "pdq"}
    with pytest.raises(DetectionError):
        reference_hashes_of_bytes(b"\x89PNG not really", "broken.png")
    with pytest.raises(UsageError):
        reference_hashes_of_bytes(path.read_bytes(), "notes.txt")


def test_detectors_find_exact_and_altered_copies(tmp_path: Path) -> None:
    original = _scene(4)
    ref = _save(original, tmp_path / "ref.png")
    case = Case(title="t", references=reference_hashes(ref, label="ref"))
    exact, perceptual = ExactHashDetector(), DHashDetector()
    copy = _media(ref)
    assert exact.detect(copy, case=case).label is DetectionLabel.MATCH
    altered = _media(_save(original.resize((200, 150)), tmp_path / "alt.jpg", quality=60))
    assert exact.detect(altered, case=case).label is DetectionLabel.NO_MATCH
    found = perceptual.detect(altered, case=case)
    assert found.label is DetectionLabel.MATCH
    assert found.matched is not None and found.matched.reference == "ref"
    decoy = _media(_save(_scene(5), tmp_path / "decoy.png"))
    assert perceptual.detect(decoy, case=case).label is DetectionLabel.NO_MATCH


def test_video_frames_are_hashed_and_matched(demo_site) -> None:  # type: ignore[no-untyped-def]
    manifest = demo_site.manifest
    reference = next(m for m in manifest.references() if m.kind == "video")
    reencoded = next(m for m in manifest.copies() if m.kind == "video" and m.transform == "reencode")
    decoy = next(m for m in manifest.decoys() if m.kind == "video")
    ref_path = demo_site.root / reference.file
    frames = dhash_path(ref_path, MediaKind.VIDEO)
    assert len(frames) >= 3 and [f.frame for f in frames] == sorted(f.frame for f in frames)
    case = Case(title="t", references=reference_hashes(ref_path, label="clip"))
    detector = DHashDetector()
    copy_path = demo_site.root / reencoded.file
    assert detector.detect(_media(copy_path, MediaKind.VIDEO), case=case).label is DetectionLabel.MATCH
    decoy_path = demo_site.root / decoy.file
    assert detector.detect(_media(decoy_path, MediaKind.VIDEO), case=case).label is DetectionLabel.NO_MATCH


def test_corrupt_and_hostile_media_are_detection_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = Case(title="t")
    garbage = tmp_path / "bad.jpg"
    garbage.write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    with pytest.raises(DetectionError, match="cannot decode"):
        DHashDetector().detect(_media(garbage), case=case)
    not_video = tmp_path / "bad.mp4"
    not_video.write_bytes(b"not a video at all" * 10)
    with pytest.raises(DetectionError):
        DHashDetector().detect(_media(not_video, MediaKind.VIDEO), case=case)
    big = io.BytesIO()
    Image.new("L", (4000, 4000)).save(big, format="PNG")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(big.getvalue())
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(DetectionError, match="too large"):
        DHashDetector().detect(_media(bomb), case=case)


def test_audio_without_video_stream_is_an_error(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(DetectionError, match="no video stream"):
        dhash_path(path, MediaKind.VIDEO)


def _d(label: DetectionLabel, score: float = 0.0) -> Detection:
    return Detection(detector="d", target="t", kind=ItemKind.IMAGE, label=label, score=score, rationale="r")


def test_policy_decides_with_reasons() -> None:
    policy = DecisionPolicy(PolicyConfig(review_threshold=0.6))
    assert policy.decide([_d(DetectionLabel.NO_MATCH), _d(DetectionLabel.MATCH, 1)])[0] is Decision.MATCH
    assert policy.decide([_d(DetectionLabel.ERROR)])[0] is Decision.REVIEW, "an error never clears"
    assert policy.decide([_d(DetectionLabel.NO_MATCH, 0.7)])[0] is Decision.REVIEW
    decision, reasons = policy.decide([_d(DetectionLabel.NO_MATCH, 0.5)])
    assert decision is Decision.CLEAR and reasons


def test_video_without_pyav_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from takedown.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 64)
    with pytest.raises(MissingDependencyError, match=r"takedown\[video\]"):
        dhash_path(clip, MediaKind.VIDEO)
