"""The transformers-backed detectors, run through the real pipelines on tiny local models and synthetic media."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image, ImageDraw
from pydantic import ValidationError

pytest.importorskip("av")
pytest.importorskip("transformers")

from takedown.detect.base import BatchDetector, Detector
from takedown.detect.classifiers import (
    AudioTranscriptConfig,
    AudioTranscriptDetector,
    ImageClassifierConfig,
    ImageClassifierDetector,
    SpeechTranscriber,
    SpeechTranscriberConfig,
    TextClassifierConfig,
    TextClassifierDetector,
    VideoClassifierConfig,
    VideoClassifierDetector,
)
from takedown.detect.frames import extract_audio, load_image, sample_frames, sample_timed_frames
from takedown.detect.tiny_models import (
    build_image_classifier,
    build_speech_recognizer,
    build_text_classifier,
    build_zero_shot_image_classifier,
)
from takedown.errors import DetectionError, UsageError
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, Media, MediaKind
from takedown.testing import DetectorContract, sample_case, sample_media

RATE = 16000
TONE_HZ = 440.0


# -- synthetic media ---------------------------------------------------------------------------------------------


def _picture(index: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A gradient with a shape on it; each index gives a different picture."""
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    pixels = np.stack([ramp, np.full_like(ramp, (index * 47) % 256), 255 - ramp], axis=2).astype(np.uint8)
    image = Image.fromarray(pixels, mode="RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((index * 3 % width, index * 5 % height, width - 4, height - 4), fill=((index * 90) % 256, 30, 200))
    return image


def write_video(path: Path, *, seconds: float = 2.0, fps: int = 10, audio: bool = True,
                size: tuple[int, int] = (64, 48)) -> Path:
    """An H.264 MP4 whose frames get redder over time, with (optionally) a 440 Hz AAC tone."""
    import av

    frames = int(seconds * fps)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=RATE) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for i in range(frames):
            pixels = np.zeros((size[1], size[0], 3), np.uint8)
            pixels[..., 0] = int(255 * i / frames)
            pixels[:, : (i * size[0]) // frames, 1] = 200
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            t = np.arange(int(seconds * RATE)) / RATE
            tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
            for start in range(0, tone.size, 1024):
                frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="flt", layout="mono")
                frame.sample_rate = RATE
                frame.pts = start
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


def write_wav(path: Path, seconds: float = 1.5) -> Path:
    """A mono 16-bit WAV of noise (stdlib only)."""
    samples = (np.random.default_rng(1).normal(0, 0.1, int(seconds * RATE)).clip(-1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return path


def media_for(path: Path, kind: MediaKind = MediaKind.IMAGE) -> Media:
    return sample_media(path.read_bytes(), kind=kind, blob=path)


@dataclass(frozen=True)
class Files:
    images: list[Path]
    video: Path
    silent_video: Path
    wav: Path
    corrupt: Path
    empty: Path
    mpegts: Path


@dataclass(frozen=True)
class Models:
    image: Path
    zero_shot: Path
    text: Path
    speech: Path


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("media")
    images = []
    for i in range(5):
        path = folder / f"picture-{i}.png"
        _picture(i).save(path)
        images.append(path)
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    return Files(images=images, video=write_video(folder / "tone.mp4"),
                 silent_video=write_video(folder / "silent.mp4", audio=False), wav=write_wav(folder / "noise.wav"),
                 corrupt=corrupt, empty=empty, mpegts=_write_mpegts(folder / "clip.ts"))


def _write_mpegts(path: Path) -> Path:
    """MPEG-2 in MPEG-TS: a container whose seeking lands past the asked time (sampling must still work)."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg2video", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for i in range(20):
            pixels = np.zeros((48, 64, 3), np.uint8)
            pixels[..., 0] = i * 12
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    """The four tiny models, built once for the session."""
    folder = tmp_path_factory.mktemp("models")
    return Models(image=build_image_classifier(folder / "image"), zero_shot=build_zero_shot_image_classifier(
        folder / "clip"), text=build_text_classifier(folder / "text"), speech=build_speech_recognizer(folder / "asr"))


@pytest.fixture
def case() -> Case:
    return sample_case()


def image_detector(models: Models, **changes: object) -> ImageClassifierDetector:
    settings: dict[str, object] = {"model": models.image, "positive_labels": {"flag"}}
    settings.update(changes)
    return ImageClassifierDetector(ImageClassifierConfig.model_validate(settings))


def text_detector(models: Models, **changes: object) -> TextClassifierDetector:
    settings: dict[str, object] = {"model": models.text, "positive_labels": {"flag"}}
    settings.update(changes)
    return TextClassifierDetector(TextClassifierConfig.model_validate(settings))


def page(case: Case, text: str = "", title: str = "", **metadata: str) -> Candidate:
    return Candidate(case_id=case.id, site="mock.example", url="https://mock.example/p/1", title=title, text=text,
                     metadata=metadata)


# -- frames.py ---------------------------------------------------------------------------------------------------


def test_frames_are_spread_evenly_over_the_video_in_order(files: Files) -> None:
    frames = sample_timed_frames(files.video, count=4, max_side=32)
    assert [f.time for f in frames] == sorted(f.time for f in frames)
    assert len(frames) == 4
    gaps = np.diff([f.time for f in frames])
    assert np.allclose(gaps, 0.5, atol=0.11)  # a 2 s video, one frame per half second
    reds = [f.image.getpixel((0, 0))[0] for f in frames]  # type: ignore[index]
    assert reds == sorted(reds) and reds[-1] - reds[0] > 100  # the video gets redder: later frames were taken
    for f in frames:
        assert f.image.mode == "RGB"
        assert max(f.image.size) == 32


def test_sample_frames_gives_pictures_and_never_repeats_a_frame(files: Files) -> None:
    assert len(sample_frames(files.video, count=3)) == 3
    many = sample_timed_frames(files.video, count=100)
    assert 10 <= len(many) <= 20  # 20 frames in the file: each at most once
    assert len({f.time for f in many}) == len(many)


def test_an_image_file_is_its_own_single_frame(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGBA", (2000, 1000), (10, 20, 30, 0)).save(path)
    [frame] = sample_frames(path, count=8, max_side=100)
    assert frame.mode == "RGB" and frame.size == (100, 50)
    assert frame.getpixel((0, 0)) == (255, 255, 255)  # transparency composited on white
    assert load_image(path, max_side=100).size == (100, 50)


def test_frames_from_a_container_that_seeks_badly(files: Files) -> None:
    frames = sample_timed_frames(files.mpegts, count=4)
    assert len(frames) == 4
    reds = [f.image.getpixel((0, 0))[0] for f in frames]  # type: ignore[index]
    assert reds == sorted(reds) and len(set(reds)) == 4


@pytest.mark.parametrize("which", ["corrupt", "empty"])
def test_broken_files_are_detection_errors(files: Files, which: str) -> None:
    path: Path = getattr(files, which)
    for call in (lambda: sample_frames(path), lambda: extract_audio(path), lambda: load_image(path)):
        with pytest.raises(DetectionError, match=path.name):
            call()


def test_a_file_without_pictures_or_too_large_is_refused(files: Files, tmp_path: Path) -> None:
    with pytest.raises(DetectionError, match="no picture"):
        sample_frames(files.wav)
    with pytest.raises(DetectionError, match="pixels"):
        sample_frames(files.video, max_pixels=1000)
    with pytest.raises(DetectionError, match="pixels"):
        sample_frames(files.images[0], max_pixels=1000)
    with pytest.raises(DetectionError, match="not an image"):
        load_image(files.video)  # an image loader never hands back a video frame
    with pytest.raises(UsageError):
        sample_frames(files.video, count=0)


def test_audio_is_mono_float32_at_the_asked_rate(files: Files) -> None:
    audio = extract_audio(files.video)
    assert audio is not None and audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size / RATE - 2.0) < 0.1
    spectrum = np.abs(np.fft.rfft(audio))
    peak = np.fft.rfftfreq(audio.size, 1 / RATE)[int(np.argmax(spectrum))]
    assert abs(peak - TONE_HZ) < 5  # the tone that was written
    slower = extract_audio(files.video, sample_rate=8000)
    assert slower is not None and abs(slower.size - audio.size / 2) < 800
    short = extract_audio(files.video, max_seconds=0.5)
    assert short is not None and short.size == RATE // 2
    wav = extract_audio(files.wav)
    assert wav is not None and abs(wav.size - 1.5 * RATE) < 10


def test_no_audio_track_is_none(files: Files) -> None:
    assert extract_audio(files.silent_video) is None
    assert extract_audio(files.images[0]) is None


# -- image classifier --------------------------------------------------------------------------------------------


def test_thresholds_decide_the_label(models: Models, files: Files, case: Case) -> None:
    item = media_for(files.images[0])
    assert image_detector(models, suspect_threshold=0.0).detect(item, case=case).label is DetectionLabel.SUSPECT
    assert image_detector(models, suspect_threshold=1.0).detect(item, case=case).label is DetectionLabel.NO_MATCH
    matched = image_detector(models, suspect_threshold=0.0, match_threshold=0.0).detect(item, case=case)
    assert matched.label is DetectionLabel.MATCH
    assert matched.detector == "image_classifier" and matched.target == item.sha256 and matched.kind is ItemKind.IMAGE
    assert "flag=" in matched.details["top_labels"] and "safe=" in matched.details["top_labels"]


def test_positive_labels_choose_what_the_score_means(models: Models, files: Files, case: Case) -> None:
    item = media_for(files.images[1])
    flag = image_detector(models).detect(item, case=case).score
    safe = image_detector(models, positive_labels={"SAFE"}).detect(item, case=case).score  # any case
    assert flag + safe == pytest.approx(1.0, abs=1e-3)  # two labels of one softmax
    both = image_detector(models, positive_labels={"flag", "safe"}, positive_score="sum").detect(item, case=case)
    assert both.score == pytest.approx(1.0, abs=1e-3)


def test_an_unknown_positive_label_is_a_usage_error(models: Models, files: Files, case: Case) -> None:
    detector = image_detector(models, positive_labels={"nsfw"})
    with pytest.raises(UsageError, match="nsfw"):
        detector.detect(media_for(files.images[0]), case=case)


def test_batches_score_as_one_by_one_and_isolate_bad_items(models: Models, files: Files, case: Case) -> None:
    detector = image_detector(models, batch_size=2)
    items = [media_for(p) for p in files.images]
    bad = media_for(files.corrupt)
    batch = detector.detect_batch([items[0], bad, *items[1:]], case=case)
    single = [detector.detect(item, case=case) for item in items]
    assert [d.target for d in batch] == [items[0].sha256, bad.sha256, *(i.sha256 for i in items[1:])]
    assert batch[1].label is DetectionLabel.ERROR and "corrupt.mp4" in batch[1].rationale
    good = [batch[0], *batch[2:]]
    assert [d.score for d in good] == pytest.approx([d.score for d in single], abs=1e-4)
    assert len({d.score for d in single}) > 1  # the pictures really are scored differently
    assert isinstance(detector, BatchDetector)


def test_bad_items_are_detection_errors(models: Models, files: Files, case: Case, tmp_path: Path) -> None:
    detector = image_detector(models)
    text_file = tmp_path / "page.html"
    text_file.write_text("<html>not a picture</html>")
    for item in (media_for(text_file), media_for(files.empty), sample_media(b"x"), page(case, "text")):
        with pytest.raises(DetectionError):
            detector.detect(item, case=case)


class StandIn:
    """A stand-in pipeline: answers ``answer(inputs)`` to every call."""

    def __init__(self, answer: Callable[[list[object]], object]) -> None:
        self.answer = answer

    def __call__(self, inputs: list[object], **kwargs: object) -> object:
        return self.answer(inputs)


MALFORMED: list[Callable[[list[object]], object]] = [
    lambda inputs: None,
    lambda inputs: "garbage",
    lambda inputs: [],  # fewer results than inputs
    lambda inputs: [{"label": "flag", "score": 0.9} for _ in inputs],  # a dict where a list of them belongs
    lambda inputs: [["flag"] for _ in inputs],
    lambda inputs: [[{"label": "flag"}] for _ in inputs],
    lambda inputs: [[{"label": "flag", "score": "high"}] for _ in inputs],
    lambda inputs: [[{"label": "flag", "score": float("nan")}] for _ in inputs],
    lambda inputs: [[{"label": "flag", "score": 3.0}] for _ in inputs],
]


@pytest.mark.parametrize("answer", MALFORMED)
def test_malformed_model_output_is_a_detection_error(
    answer: Callable[[list[object]], object], files: Files, case: Case
) -> None:
    image = ImageClassifierDetector(ImageClassifierConfig(model="stand-in", positive_labels={"flag"}),
                                    pipeline=StandIn(answer))
    pictures = [media_for(path) for path in files.images[:2]]
    with pytest.raises(DetectionError) as caught:
        image.detect(pictures[0], case=case)
    assert caught.value.plugin == "image_classifier" and "stand-in" in str(caught.value)
    batch = image.detect_batch(pictures, case=case)
    assert [(d.target, d.label) for d in batch] == [(p.sha256, DetectionLabel.ERROR) for p in pictures]
    text = TextClassifierDetector(TextClassifierConfig(model="stand-in", positive_labels={"flag"}),
                                  pipeline=StandIn(answer))
    with pytest.raises(DetectionError) as caught:
        text.detect(page(case, "some words"), case=case)
    assert caught.value.plugin == "text_classifier"


def test_a_stand_in_pipeline_is_used_instead_of_a_model(files: Files, case: Case) -> None:
    def answer(inputs: list[object]) -> object:
        return [[{"label": "other", "score": 0.3}, {"label": "FLAG", "score": 0.7}] for _ in inputs]

    config = ImageClassifierConfig(model="stand-in", positive_labels={"flag"})
    detection = ImageClassifierDetector(config, pipeline=StandIn(answer)).detect(media_for(files.images[0]),
                                                                                case=case)
    assert (detection.label, detection.score) == (DetectionLabel.SUSPECT, 0.7)
    assert detection.details["top_labels"] == "FLAG=0.7000, other=0.3000"


def test_zero_shot_classifies_against_the_candidate_labels(models: Models, files: Files, case: Case) -> None:
    labels = ("a drawing", "a photo", "사진")
    detector = image_detector(models, model=models.zero_shot, task="zero-shot-image-classification",
                              candidate_labels=labels, positive_labels={"a photo"}, suspect_threshold=0.0)
    items = [media_for(p) for p in files.images[:3]]
    batch = detector.detect_batch(items, case=case)
    assert all(d.label is DetectionLabel.SUSPECT for d in batch)
    for d in batch:
        assert set(dict(part.split("=") for part in d.details["top_labels"].split(", "))) == set(labels)
    assert [d.score for d in batch] == pytest.approx([detector.detect(i, case=case).score for i in items], abs=1e-4)


@pytest.mark.parametrize("settings", [
    {"task": "zero-shot-image-classification", "candidate_labels": ("a", "b"), "positive_labels": {"c"}},
    {"task": "zero-shot-image-classification", "positive_labels": {"a"}},
    {"candidate_labels": ("a", "b"), "positive_labels": {"a"}},
    {"positive_labels": {"a"}, "suspect_threshold": 0.8, "match_threshold": 0.5},
    {"positive_labels": set()},
])
def test_inconsistent_configs_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ImageClassifierConfig.model_validate({"model": "folder", **settings})


def test_a_model_that_cannot_be_loaded_is_a_detection_error(files: Files, case: Case, tmp_path: Path) -> None:
    detector = ImageClassifierDetector(ImageClassifierConfig(model=tmp_path, positive_labels={"flag"}))
    with pytest.raises(DetectionError, match="cannot load"):
        detector.detect(media_for(files.images[0]), case=case)


def test_concurrent_calls_share_one_model(models: Models, files: Files, case: Case) -> None:
    detector = image_detector(models)
    items = [media_for(p) for p in files.images] * 3
    with ThreadPoolExecutor(4) as pool:
        scores = list(pool.map(lambda item: detector.detect(item, case=case).score, items))
    assert scores == pytest.approx([detector.detect(item, case=case).score for item in items], abs=1e-4)


# -- video classifier --------------------------------------------------------------------------------------------


def _frame_scores(detection: Detection) -> list[float]:
    return [float(part.split("=")[1]) for part in detection.details["frame_scores"].split(", ")]


def test_video_aggregation_modes(models: Models, files: Files, case: Case) -> None:
    item = media_for(files.video, MediaKind.VIDEO)

    def run(**changes: object) -> Detection:
        settings: dict[str, object] = {"model": models.image, "positive_labels": {"flag"}, "frames": 6}
        return VideoClassifierDetector(VideoClassifierConfig.model_validate({**settings, **changes})).detect(
            item, case=case)

    best = run(aggregate="max")
    scores = _frame_scores(best)
    assert len(scores) == 6 == int(best.details["frames"])
    assert len(set(scores)) > 1
    assert best.score == pytest.approx(max(scores), abs=1e-3)
    assert best.details["top_frames"].split(", ")[0].endswith(f"={max(scores):.4f}")
    assert run(aggregate="mean").score == pytest.approx(sum(scores) / 6, abs=1e-3)
    assert run(aggregate="mean").score < best.score
    ranked = sorted(scores)
    assert ranked[2] < ranked[3]
    middle = (ranked[2] + ranked[3]) / 2  # three frames score above this, three below
    assert run(aggregate="top_k_share", frame_threshold=middle).score == pytest.approx(0.5)
    assert run(aggregate="top_k_share", frame_threshold=0.0).score == 1.0
    assert run(aggregate="top_k_share", frame_threshold=1.0).label is DetectionLabel.NO_MATCH
    assert best.kind is ItemKind.VIDEO and best.detector == "video_classifier"


def test_broken_videos_are_detection_errors(models: Models, files: Files, case: Case) -> None:
    detector = VideoClassifierDetector(VideoClassifierConfig(model=models.image, positive_labels={"flag"}))
    for path in (files.corrupt, files.empty):
        with pytest.raises(DetectionError, match="video_classifier"):
            detector.detect(media_for(path, MediaKind.VIDEO), case=case)


# -- text classifier ---------------------------------------------------------------------------------------------


def test_text_thresholds_and_details(models: Models, case: Case) -> None:
    item = page(case, "a page about something", title="Title")
    low = text_detector(models, suspect_threshold=0.0).detect(item, case=case)
    assert low.label is DetectionLabel.SUSPECT and low.target == "text" and low.kind is ItemKind.TEXT
    assert text_detector(models, suspect_threshold=1.0).detect(item, case=case).label is DetectionLabel.NO_MATCH
    assert low.details["chunks"] == "1" and "text_cut" not in low.details


def test_enormous_text_is_cut_and_judged_in_chunks(models: Models, case: Case) -> None:
    text = "안녕하세요 world 世界 " * 20_000
    detection = text_detector(models, max_chars=5_000, chunk_chars=1_000).detect(page(case, text), case=case)
    assert "5000 of" in detection.details["text_cut"]
    assert detection.details["chunks"] == "5"


def test_odd_text_is_judged(models: Models, case: Case) -> None:
    odd = "bad bytes \udcff\udc80, a NUL \x00, controls \x1b[0m, emoji 🙂, RTL שלום"
    assert 0.0 <= text_detector(models).detect(page(case, odd), case=case).score <= 1.0


def test_empty_page_is_no_match_and_a_transcript_is_read(models: Models, case: Case) -> None:
    empty = text_detector(models).detect(page(case, "  "), case=case)
    assert empty.label is DetectionLabel.NO_MATCH and "no text" in empty.rationale
    heard = text_detector(models).detect(page(case, transcript="spoken words"), case=case)
    assert "spoken words" in heard.details["excerpt"]


def test_a_failing_model_is_a_detection_error_with_its_message(models: Models, case: Case, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(models.text, broken)
    settings = json.loads((broken / "tokenizer_config.json").read_text())
    settings["model_max_length"] = 100_000  # longer than the model's 128 positions: the model itself fails
    (broken / "tokenizer_config.json").write_text(json.dumps(settings))
    detector = TextClassifierDetector(TextClassifierConfig(model=broken, positive_labels={"flag"}))
    with pytest.raises(DetectionError, match="failed") as caught:
        detector.detect(page(case, "words " * 200), case=case)
    assert caught.value.plugin == "text_classifier"
    assert caught.value.__cause__ is not None


# -- speech and the audio path -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def transcriber(models: Models) -> SpeechTranscriber:
    return SpeechTranscriber(SpeechTranscriberConfig(model=models.speech, chunk_length_s=1.0))


def test_transcripts(transcriber: SpeechTranscriber, files: Files) -> None:
    spoken = transcriber.transcribe(files.video)
    assert spoken and spoken == transcriber.transcribe(files.video)  # something, and deterministic
    assert transcriber.transcribe(files.silent_video) == ""
    full = transcriber.transcribe_file(files.wav)
    assert full.audio_seconds == pytest.approx(1.5, abs=0.01) and not full.cut
    short = SpeechTranscriber(transcriber.config.model_copy(update={"max_seconds": 0.5})).transcribe_file(files.wav)
    assert short.cut and short.audio_seconds == pytest.approx(0.5)


class RecordingTextDetector:
    """Says ``suspect`` to every page and remembers the pages."""

    name: ClassVar[str] = "recording_text"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.TEXT})

    def __init__(self) -> None:
        self.pages: list[Candidate] = []

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        assert isinstance(item, Candidate)
        self.pages.append(item)
        return Detection(detector=self.name, target="text", kind=ItemKind.TEXT, label=DetectionLabel.SUSPECT,
                         score=0.7, rationale="it said so", details={"phrase": "x"})


def test_the_transcript_goes_to_the_text_detector(transcriber: SpeechTranscriber, files: Files, case: Case) -> None:
    inner = RecordingTextDetector()
    detector = AudioTranscriptDetector(transcriber, inner, AudioTranscriptConfig(excerpt_chars=10))
    item = media_for(files.video, MediaKind.VIDEO)
    detection = detector.detect(item, case=case)
    [seen] = inner.pages
    transcript = transcriber.transcribe(files.video)
    assert seen.text == seen.metadata["transcript"] == transcript
    assert (detection.detector, detection.target, detection.kind) == ("audio_transcript", item.sha256, ItemKind.VIDEO)
    assert detection.label is DetectionLabel.SUSPECT and detection.score == 0.7
    assert detection.details["transcript_excerpt"] == transcript[:10]
    assert detection.details["phrase"] == "x" and detection.details["text_detector"] == "recording_text"
    audio = detector.detect(media_for(files.wav, MediaKind.AUDIO), case=case)
    assert audio.kind is ItemKind.AUDIO and len(inner.pages) == 2


def test_no_audio_track_is_no_match_without_asking(transcriber: SpeechTranscriber, files: Files, case: Case) -> None:
    inner = RecordingTextDetector()
    detection = AudioTranscriptDetector(transcriber, inner).detect(media_for(files.silent_video, MediaKind.VIDEO),
                                                                   case=case)
    assert detection.label is DetectionLabel.NO_MATCH and detection.details["audio"] == "no audio track"
    assert inner.pages == []


def test_audio_path_with_the_text_classifier(transcriber: SpeechTranscriber, models: Models, files: Files,
                                            case: Case) -> None:
    detector = AudioTranscriptDetector(transcriber, text_detector(models, suspect_threshold=0.0))
    detection = detector.detect(media_for(files.video, MediaKind.VIDEO), case=case)
    assert detection.label is DetectionLabel.SUSPECT and detection.details["chunks"] == "1"
    with pytest.raises(DetectionError, match="audio_transcript"):
        detector.detect(media_for(files.corrupt, MediaKind.VIDEO), case=case)


def test_the_wrapped_detector_must_read_text(transcriber: SpeechTranscriber, models: Models) -> None:
    with pytest.raises(UsageError):
        AudioTranscriptDetector(transcriber, image_detector(models))


# -- contracts and imports ---------------------------------------------------------------------------------------


class _WithModels(DetectorContract):
    models: Models

    @pytest.fixture(autouse=True)
    def _models(self, models: Models) -> None:
        self.models = models


class TestImageClassifierContract(_WithModels):
    def make_detector(self) -> Detector:
        return image_detector(self.models)


class TestVideoClassifierContract(_WithModels):
    def make_detector(self) -> Detector:
        return VideoClassifierDetector(VideoClassifierConfig(model=self.models.image, positive_labels={"flag"}))


class TestTextClassifierContract(_WithModels):
    def make_detector(self) -> Detector:
        return text_detector(self.models)


class TestAudioTranscriptContract(_WithModels):
    def make_detector(self) -> Detector:
        speech = SpeechTranscriber(SpeechTranscriberConfig(model=self.models.speech))
        return AudioTranscriptDetector(speech, text_detector(self.models))


def test_importing_the_modules_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, takedown, takedown.detect.classifiers, takedown.detect.frames, takedown.detect.tiny_models\n"
        "print(','.join(m for m in ('torch', 'transformers', 'av') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
