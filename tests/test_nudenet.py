"""The NudeNet detector: its real ONNX model on synthetic media, and its verdict rules with a scripted model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from takedown.detect.nudenet_detector import NudeNetConfig, NudeNetDetector
from takedown.errors import DetectionError
from takedown.models import DetectionLabel, MediaKind
from takedown.testing import DetectorContract, sample_case, sample_finding, sample_media

pytest.importorskip("nudenet", reason="the nudenet extra (AGPL-3.0) is a test-only dependency here")


def picture(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (320, 240), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(5):
        x, y = (int(v) for v in rng.integers(0, 260, 2))
        draw.rectangle((x, y, x + 60, y + 40), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    image.save(path)
    return path


def video(path: Path, frames: int = 24) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(frames):
            pixels = np.full((120, 160, 3), (i * 10) % 255, dtype=np.uint8)
            pixels[20:60, i * 4 : i * 4 + 30] = (200, 40, 40)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def media(path: Path, kind: MediaKind = MediaKind.IMAGE) -> Any:
    return sample_media(path.read_bytes(), kind=kind, blob=path)


class Scripted:
    """A stand-in for NudeNet's model: the same detections for every picture, and a record of the calls."""

    def __init__(self, boxes: Sequence[dict[str, Any]] = (), fail: bool = False) -> None:
        self.boxes, self.fail = list(boxes), fail
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, picture: np.ndarray[Any, Any]) -> Sequence[dict[str, Any]]:
        self.shapes.append(picture.shape)
        if self.fail:
            raise RuntimeError("onnx session died")
        return self.boxes


def test_the_real_model_finds_nothing_to_flag_in_synthetic_media(tmp_path: Path) -> None:
    detector = NudeNetDetector()
    case = sample_case()
    still = detector.detect(media(picture(tmp_path / "a.png")), case=case)
    assert still.label is DetectionLabel.NO_MATCH and still.details["frames"] == "1"
    clip = detector.detect(media(video(tmp_path / "v.mp4"), MediaKind.VIDEO), case=case)
    assert clip.label is DetectionLabel.NO_MATCH and int(clip.details["frames"]) > 1
    assert clip.kind.value == "video" and clip.target == media(tmp_path / "v.mp4").sha256


def test_a_flagged_class_at_the_threshold_is_suspect_never_a_match(tmp_path: Path) -> None:
    path = picture(tmp_path / "a.png")
    case = sample_case()
    flagged = Scripted([{"class": "BUTTOCKS_EXPOSED", "score": 0.81, "box": [1, 2, 3, 4]},
                        {"class": "FACE_FEMALE", "score": 0.95, "box": [0, 0, 9, 9]}])
    detection = NudeNetDetector(model=flagged).detect(media(path), case=case)
    assert detection.label is DetectionLabel.SUSPECT and detection.score == 0.81
    assert detection.details["top_class"] == "BUTTOCKS_EXPOSED"
    assert detection.details["classes"].startswith("FACE_FEMALE 0.95")
    assert flagged.shapes == [(240, 320, 3)]
    low = NudeNetDetector(NudeNetConfig(suspect_threshold=0.9), model=flagged).detect(media(path), case=case)
    assert low.label is DetectionLabel.NO_MATCH and low.score == 0.81
    unflagged = Scripted([{"class": "FACE_FEMALE", "score": 0.99, "box": [0, 0, 9, 9]}])
    assert NudeNetDetector(model=unflagged).detect(media(path), case=case).label is DetectionLabel.NO_MATCH
    custom = NudeNetDetector(NudeNetConfig(flagged_classes=frozenset({"FACE_FEMALE"})), model=unflagged)
    assert custom.detect(media(path), case=case).label is DetectionLabel.SUSPECT


def test_video_frames_are_each_judged_and_the_frame_is_named(tmp_path: Path) -> None:
    model = Scripted([{"class": "ANUS_EXPOSED", "score": 0.6, "box": [0, 0, 1, 1]}])
    clip = video(tmp_path / "v.mp4")
    detection = NudeNetDetector(NudeNetConfig(video_frames=4), model=model).detect(
        media(clip, MediaKind.VIDEO), case=sample_case())
    assert len(model.shapes) == 4 and detection.details["frames"] == "4"
    assert "in frame 1 of 4" in detection.rationale


def test_bad_input_and_a_failing_model_are_detection_errors(tmp_path: Path) -> None:
    case = sample_case()
    corrupt = tmp_path / "bad.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff garbage")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    detector = NudeNetDetector(model=Scripted())
    for item in (media(corrupt), media(empty, MediaKind.VIDEO), sample_media(b"x"), sample_finding().candidate):
        with pytest.raises(DetectionError):
            detector.detect(item, case=case)
    with pytest.raises(DetectionError, match="onnx session died"):
        NudeNetDetector(model=Scripted(fail=True)).detect(media(picture(tmp_path / "a.png")), case=case)


@pytest.mark.parametrize(
    "answer",
    [None, "garbage", 3, {"class": "FACE_FEMALE", "score": 0.9}, [["FACE_FEMALE", 0.9]], [{"score": 0.9}],
     [{"class": "FACE_FEMALE"}], [{"class": "FACE_FEMALE", "score": "high"}], [{"class": None, "score": 0.5}],
     [{"class": "FACE_FEMALE", "score": float("nan")}], [{"class": "FACE_FEMALE", "score": 7.0}]],
)
def test_malformed_model_output_is_a_detection_error(tmp_path: Path, answer: object) -> None:
    detector = NudeNetDetector(model=lambda picture: cast(Any, answer))
    with pytest.raises(DetectionError, match="not a list of detections") as caught:
        detector.detect(media(picture(tmp_path / "a.png")), case=sample_case())
    assert caught.value.plugin == "nudenet"


class TestNudeNetContract(DetectorContract):
    def make_detector(self) -> NudeNetDetector:
        return NudeNetDetector()
