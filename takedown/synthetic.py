"""Synthetic media: gradients, shapes, text and noise, as images and deterministic videos.

takedown ships no real imagery. The demo site, the benchmark datasets, the examples and the tests all paint what
they need with these helpers: nothing they draw resembles a person. Videos are encoded with PyAV (the ``video``
extra) to the same bytes on every run, so hashes of generated media are reproducible.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageFont

from takedown.errors import MissingDependencyError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "RGB",
    "VIDEO_FPS",
    "add_noise",
    "default_font",
    "encode_video",
    "import_av",
    "jpeg_bytes",
    "linear_gradient",
    "png_bytes",
    "radial_gradient",
    "random_colour",
    "random_point",
    "reencode_video",
    "to_image",
]

RGB = tuple[int, int, int]
"""A colour as 8-bit red, green and blue."""

VIDEO_FPS = 10
"""Frames per second of the videos ``encode_video`` writes."""


# -- images --------------------------------------------------------------------------------------------------------


def png_bytes(image: Image.Image) -> bytes:
    """``image`` as PNG bytes."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """``image`` as JPEG bytes at ``quality`` (1-95)."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def linear_gradient(width: int, height: int, c0: RGB, c1: RGB, angle_deg: float) -> NDArray[np.float64]:
    """A ``(height, width, 3)`` gradient from ``c0`` to ``c1`` along ``angle_deg``."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    a = np.deg2rad(angle_deg)
    t = xs * np.cos(a) + ys * np.sin(a)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-9)
    start, end = np.asarray(c0, dtype=np.float64), np.asarray(c1, dtype=np.float64)
    result: NDArray[np.float64] = start * (1.0 - t[..., None]) + end * t[..., None]
    return result


def radial_gradient(width: int, height: int, inner: RGB, outer: RGB, cx: float, cy: float) -> NDArray[np.float64]:
    """A ``(height, width, 3)`` gradient from ``inner`` at ``(cx, cy)`` (fractions of the size) to ``outer``."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    r = np.hypot(xs - cx * width, ys - cy * height)
    t = np.clip(r / float(r.max()), 0.0, 1.0)
    start, end = np.asarray(inner, dtype=np.float64), np.asarray(outer, dtype=np.float64)
    result: NDArray[np.float64] = start * (1.0 - t[..., None]) + end * t[..., None]
    return result


def to_image(pixels: NDArray[np.float64]) -> Image.Image:
    """Float RGB pixels, rounded and clipped to 0-255, as an RGB image."""
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), mode="RGB")


def add_noise(image: Image.Image, rng: np.random.Generator, sigma: float) -> Image.Image:
    """``image`` with Gaussian noise of standard deviation ``sigma`` added to every channel."""
    pixels = np.asarray(image, dtype=np.float64)
    return to_image(pixels + rng.normal(0.0, sigma, pixels.shape))


def default_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in font at ``size`` pixels (no font files needed)."""
    return ImageFont.load_default(size=size)


def random_colour(rng: np.random.Generator, low: int = 30, high: int = 230) -> RGB:
    """A colour whose channels lie in ``[low, high)``."""
    r, g, b = (int(v) for v in rng.integers(low, high, size=3))
    return (r, g, b)


def random_point(rng: np.random.Generator, width: int, height: int) -> tuple[int, int]:
    """A point inside a ``width`` x ``height`` image."""
    return int(rng.integers(0, width)), int(rng.integers(0, height))


# -- video ---------------------------------------------------------------------------------------------------------


def import_av() -> Any:
    """PyAV, or a ``MissingDependencyError`` naming the ``video`` extra."""
    try:
        import av
    except ImportError as exc:
        raise MissingDependencyError("av", "video", feature="generating synthetic videos") from exc
    return av


def _video_codec(av: Any) -> tuple[str, dict[str, str]]:
    """H.264 when this PyAV build has libx264, else MPEG-4 Part 2; options that keep output deterministic."""
    if "libx264" in av.codecs_available:
        return "libx264", {"threads": "1", "preset": "veryfast", "tune": "zerolatency"}
    return "mpeg4", {"threads": "1"}


def encode_video(frames: Iterator[NDArray[np.uint8]], *, bit_rate: int) -> bytes:
    """Encode RGB frames (``(h, w, 3)`` uint8) to an MP4 at ``VIDEO_FPS``, the same bytes on every run.

    Raises:
        MissingDependencyError: PyAV is not installed.
    """
    av = import_av()
    codec, options = _video_codec(av)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream: Any = None
        for array in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=VIDEO_FPS, options=options)
                stream.width, stream.height = array.shape[1], array.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.bit_rate = bit_rate
                stream.codec_context.gop_size = VIDEO_FPS
                stream.codec_context.thread_count = 1
                stream.codec_context.time_base = Fraction(1, VIDEO_FPS)
                stream.codec_context.flags |= av.codec.context.Flags.bitexact
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def reencode_video(data: bytes, size: tuple[int, int], *, bit_rate: int) -> bytes:
    """Decode an MP4 and encode it again at ``size`` (width, height) and ``bit_rate``: a typical repost.

    Raises:
        MissingDependencyError: PyAV is not installed.
    """
    av = import_av()

    def frames() -> Iterator[NDArray[np.uint8]]:
        with av.open(io.BytesIO(data), mode="r") as source:
            for frame in source.decode(video=0):
                yield frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()

    return encode_video(frames(), bit_rate=bit_rate)
