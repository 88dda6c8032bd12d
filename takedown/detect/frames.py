"""Pictures and sound out of a media file, for detectors that look or listen: sampled frames and mono audio.

``sample_frames`` gives a handful of frames spread evenly over a video (an image file gives itself), upright and
scaled down, ready for an image model; ``extract_audio`` gives the sound track as mono float32 samples at the rate
a speech model wants. Both read what PyAV (FFmpeg) or Pillow can open and turn every failure of theirs into a
``DetectionError``: a classifier never sees a PyAV or Pillow exception.

Frames are found by seeking to the keyframe before each sampled time and decoding forward from there (or, for a time
less than two seconds ahead, by decoding on), so the cost grows with the number of frames and the keyframe interval,
not with the length of the video. Where seeking fails (MPEG-TS seeks past the end, raw streams have no timestamps),
the file is decoded once from the start instead.

The ``video`` extra (PyAV) is needed for video and audio: ``pip install 'takedown[video]'``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from takedown.detect.pdq import _normalised
from takedown.detect.video import _import_av, _rotation
from takedown.errors import DetectionError, UsageError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["SampledFrame", "extract_audio", "load_image", "sample_frames", "sample_timed_frames"]

_PLUGIN = "frames"
_SEEK_GAP_SECONDS = 2  # a target this much past the last decoded frame is sought; a nearer one is decoded to
DEFAULT_MAX_PIXELS = 100_000_000
"""Frames (or images) larger than this many pixels are refused: decoding them would take gigabytes."""

_TRANSPOSE = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class SampledFrame:
    """One sampled frame: an upright RGB picture and when it is shown (seconds after the first frame)."""

    time: float
    image: Image.Image


def sample_frames(
    path: Path, *, count: int = 8, max_side: int = 512, max_pixels: int = DEFAULT_MAX_PIXELS
) -> list[Image.Image]:
    """``count`` frames spread evenly over a video's duration, as RGB pictures no larger than ``max_side``.

    A still image file gives itself, as one frame. See ``sample_timed_frames`` for the frames' times.

    Args:
        path: a video or image file.
        count: how many frames to sample; a short video gives fewer (each distinct frame at most once).
        max_side: the longest side of a returned picture (pictures are only ever scaled down).
        max_pixels: refuse frames of more pixels than this (decompression bombs, absurd resolutions).

    Returns:
        Upright (rotation metadata and EXIF orientation applied) RGB pictures, in presentation order.

    Raises:
        UsageError: ``count`` or ``max_side`` is below 1.
        DetectionError: the file is empty, cannot be opened or decoded, has no picture, or its frames are too large.
        MissingDependencyError: the file is not an image and PyAV is not installed.
    """
    return [f.image for f in sample_timed_frames(path, count=count, max_side=max_side, max_pixels=max_pixels)]


def sample_timed_frames(
    path: Path, *, count: int = 8, max_side: int = 512, max_pixels: int = DEFAULT_MAX_PIXELS
) -> list[SampledFrame]:
    """``sample_frames``, with the time each frame is shown at (0.0 for a still image).

    Raises:
        UsageError: ``count`` or ``max_side`` is below 1.
        DetectionError: as ``sample_frames``.
    """
    if count < 1 or max_side < 1:
        raise UsageError(f"count and max_side must be at least 1 (got count={count}, max_side={max_side})")
    path = Path(path)
    _check_file(path)
    image = _open_image(path, max_side=max_side, max_pixels=max_pixels)
    if image is not None:
        return [SampledFrame(time=0.0, image=image)]
    return _video_frames(path, count=count, max_side=max_side, max_pixels=max_pixels)


def load_image(path: Path, *, max_side: int = 512, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """An image file as an upright RGB picture no larger than ``max_side`` (Pillow only: never a video frame).

    Raises:
        UsageError: ``max_side`` is below 1.
        DetectionError: the file is empty, is not an image Pillow can decode, or has more than ``max_pixels``.
    """
    if max_side < 1:
        raise UsageError(f"max_side must be at least 1 (got {max_side})")
    path = Path(path)
    _check_file(path)
    image = _open_image(path, max_side=max_side, max_pixels=max_pixels)
    if image is None:
        raise DetectionError(f"{path.name} is not an image that can be decoded", plugin=_PLUGIN)
    return image


def extract_audio(path: Path, *, sample_rate: int = 16000, max_seconds: float = 600) -> NDArray[np.float32] | None:
    """The first audio track of a file as mono float32 samples in [-1, 1] at ``sample_rate``.

    Args:
        path: a video or audio file.
        sample_rate: samples per second of the result (speech models want 16000).
        max_seconds: read at most this much sound from the start; the rest is left out.

    Returns:
        A 1-D array of at most ``sample_rate * max_seconds`` samples, or ``None`` when the file has no audio track
        (a silent video, an image).

    Raises:
        UsageError: ``sample_rate`` or ``max_seconds`` is not positive.
        DetectionError: the file is empty or cannot be opened, or its audio track holds nothing that decodes.
        MissingDependencyError: PyAV is not installed.
    """
    if sample_rate < 1 or not max_seconds > 0:
        raise UsageError(f"sample_rate and max_seconds must be positive (got {sample_rate}, {max_seconds})")
    path = Path(path)
    _check_file(path)
    av = _import_av()
    errors = _av_errors(av)
    limit = int(sample_rate * max_seconds)
    chunks: list[NDArray[np.float32]] = []
    have = 0
    problem: str | None = None
    with _open_container(av, path, errors) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)

        def keep(frames: list[Any]) -> None:
            nonlocal have
            for out in frames:
                samples = np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1)
                chunks.append(samples[: limit - have])
                have += min(samples.size, limit - have)

        try:
            for frame in container.decode(stream):
                keep(resampler.resample(frame))
                if have >= limit:
                    break
            else:
                keep(resampler.resample(None))  # what the resampler still holds
        except errors as exc:
            problem = str(exc)
    if not chunks or have == 0:
        why = f": {problem}" if problem else ""
        raise DetectionError(f"the audio track of {path.name} holds nothing that decodes{why}", plugin=_PLUGIN)
    audio = np.concatenate(chunks)[:limit]
    return np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False)


# -- helpers -----------------------------------------------------------------------------------------------------


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DetectionError(f"cannot read {path.name}: {exc}", plugin=_PLUGIN) from exc
    if size == 0:
        raise DetectionError(f"{path.name} is empty (0 bytes)", plugin=_PLUGIN)


def _av_errors(av: Any) -> tuple[type[BaseException], ...]:
    return (av.FFmpegError, OSError, EOFError, ValueError, MemoryError)


def _open_container(av: Any, path: Path, errors: tuple[type[BaseException], ...]) -> Any:
    try:
        return av.open(str(path))
    except errors as exc:
        raise DetectionError(f"cannot open {path.name} as media: {exc}", plugin=_PLUGIN) from exc


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(width, height)`` scaled down to fit ``max_side`` (never up), at least 1 px each, aspect kept."""
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _open_image(path: Path, *, max_side: int, max_pixels: int) -> Image.Image | None:
    """The file as an upright RGB picture, or ``None`` when Pillow does not recognise it (try it as video)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # untrusted files warn about odd EXIF, palettes...: not our concern
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise DetectionError(
                        f"{path.name} is {width}x{height} pixels, more than the {max_pixels} allowed", plugin=_PLUGIN
                    )
                if image.format == "JPEG":
                    image.draft("RGB", (max_side, max_side))  # libjpeg scales while decoding: much less work
                image.load()
                upright = _normalised(image).convert("RGB")
                upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                return upright
    except UnidentifiedImageError:
        return None
    except DetectionError:
        raise
    except (OSError, ValueError, SyntaxError, MemoryError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise DetectionError(f"cannot decode image {path.name}: {exc}", plugin=_PLUGIN) from exc


def _picture(frame: Any, stream: Any, max_side: int) -> Image.Image:
    """A decoded frame as an upright RGB picture fitting ``max_side`` (scaled while converting: cheap)."""
    rotation = _rotation(frame, stream)
    width, height = _fit(int(frame.width), int(frame.height), max_side)
    image: Image.Image = frame.to_image(width=width, height=height, interpolation="AREA")
    if rotation:
        image = image.transpose(_TRANSPOSE[rotation])
    return image


def _time_base(stream: Any) -> Fraction:
    return Fraction(stream.time_base) if stream.time_base else Fraction(1, 1_000_000)


def _span(container: Any, stream: Any, errors: tuple[type[BaseException], ...]) -> tuple[int, int] | None:
    """(first pts, duration) of the video stream in its time base, from the headers or else by reading packets."""
    base = _time_base(stream)
    start = int(stream.start_time) if stream.start_time is not None else 0
    if stream.duration:
        return start, int(stream.duration)
    if container.duration:
        return start, int(Fraction(int(container.duration), 1_000_000) / base)
    stamps: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                stamps.append(int(packet.pts))
    except errors:
        pass  # a damaged tail: plan over what was read
    if not stamps:
        return None
    return min(stamps), max(stamps) - min(stamps)


def _video_frames(path: Path, *, count: int, max_side: int, max_pixels: int) -> list[SampledFrame]:
    av = _import_av()
    errors = _av_errors(av)
    with _open_container(av, path, errors) as container:
        if not container.streams.video:
            raise DetectionError(f"{path.name} has no picture (no video stream, not an image)", plugin=_PLUGIN)
        stream = container.streams.video[0]
        width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
        if width * height > max_pixels:
            raise DetectionError(
                f"{path.name} has {width}x{height} frames, more than the {max_pixels} pixels allowed", plugin=_PLUGIN
            )
        stream.codec_context.thread_type = "AUTO"
        span = _span(container, stream, errors)
        base = _time_base(stream)
        frames: dict[int, SampledFrame] = {}
        problem: str | None = None
        if span is not None:
            start, duration = span
            # the middle of each of ``count`` equal slices: skips the fade-in frame and never asks past the end
            targets = [start + int(duration * (2 * i + 1) / (2 * count)) for i in range(count)]
            try:
                _seek_and_take(container, stream, targets, start, base, max_side, frames)
            except _SeekFailed as exc:
                problem = str(exc)
            except errors as exc:
                problem = str(exc)
            if problem is not None:
                frames.clear()
        if span is None or problem is not None or not frames:
            problem = _decode_through(av, path, errors, count, span, base, max_side, frames) or problem
    if not frames:
        why = f": {problem}" if problem else ""
        raise DetectionError(f"no frame of {path.name} could be decoded{why}", plugin=_PLUGIN)
    return [frames[pts] for pts in sorted(frames)]


class _SeekFailed(Exception):
    """Seeking gave no frame: the container cannot seek well (MPEG-TS seeks past the end); decode instead."""


def _seek_and_take(
    container: Any, stream: Any, targets: list[int], start: int, base: Fraction, max_side: int,
    frames: dict[int, SampledFrame],
) -> None:
    """For each target, keep the first frame shown at or after it (or the stream's last one).

    A target far ahead of the last decoded frame is reached by seeking to the keyframe before it; a near one by
    decoding on, which is cheaper than going back to a keyframe.

    Raises:
        _SeekFailed: a seek was followed by no frame at all.
    """
    gap = int(Fraction(_SEEK_GAP_SECONDS) / base)
    decoder: Iterator[Any] | None = None
    last: int | None = None
    for target in targets:
        sought = decoder is None or last is None or target - last > gap
        if sought:
            container.seek(target, stream=stream, backward=True, any_frame=False)
            decoder = iter(container.decode(stream))
        assert decoder is not None
        chosen: Any = None
        for frame in decoder:
            if frame.pts is None:
                continue
            chosen = frame
            last = int(frame.pts)
            if last >= target:
                break
        if chosen is None:
            if sought:
                raise _SeekFailed(f"seeking to {float(target * base):.2f} s gave no frame")
            continue  # decoding on reached the end: the stream's last frame is already kept
        if int(chosen.pts) not in frames:
            when = round(float((int(chosen.pts) - start) * base), 3)
            frames[int(chosen.pts)] = SampledFrame(time=max(when, 0.0), image=_picture(chosen, stream, max_side))


def _decode_through(
    av: Any, path: Path, errors: tuple[type[BaseException], ...], count: int, span: tuple[int, int] | None,
    base: Fraction, max_side: int, frames: dict[int, SampledFrame],
) -> str | None:
    """Decode the file from the start, keeping the frames nearest the sampling targets; returns what went wrong.

    Used when seeking fails or no timestamps give the duration. Without a duration the frames are counted in a
    first pass (decoded, not converted), so that the spacing can be chosen.
    """
    frames.clear()
    problem: str | None = None
    wanted: set[int] = set()
    if span is None:
        total = 0
        with _open_container(av, path, errors) as container:
            try:
                for _ in container.decode(container.streams.video[0]):
                    total += 1
            except errors as exc:
                problem = str(exc)
        wanted = {(2 * i + 1) * total // (2 * count) for i in range(count)} if total else set()
    targets = [span[0] + int(span[1] * (2 * i + 1) / (2 * count)) for i in range(count)] if span else []
    with _open_container(av, path, errors) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        try:
            for index, frame in enumerate(container.decode(stream)):
                if span is None:
                    if index in wanted:
                        when = float(frame.time) if frame.time is not None else index / rate if rate else 0.0
                        frames[index] = SampledFrame(time=round(when, 3), image=_picture(frame, stream, max_side))
                    if len(frames) == len(wanted):
                        break
                    continue
                if frame.pts is None or not targets or int(frame.pts) < targets[0]:
                    continue
                pts = int(frame.pts)
                when = round(float((pts - span[0]) * base), 3)
                frames[pts] = SampledFrame(time=max(when, 0.0), image=_picture(frame, stream, max_side))
                while targets and pts >= targets[0]:
                    targets.pop(0)
                if not targets:
                    break
        except errors as exc:
            problem = str(exc)
    return problem
