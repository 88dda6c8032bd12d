"""Masked previews of captured media for the people who read evidence: officers, reviewers, judges.

Human-facing outputs (reports, review screens, email attachments) show these previews by default, never the
originals: pictures are pixelated into coarse blocks (or blurred) so strongly that faces, bodies and text in the
picture cannot be recognised, while the overall layout and colours stay comparable. Originals go into a report
only when ``EvidenceSettings.include_originals`` is set (a court's request), and :func:`make_previews` reports
that choice so the caller records it in the custody log.

Previews are derived files: PNG, without any metadata of the source (no EXIF, no GPS), hashed like every other
artifact. Sources that cannot be previewed (undecodable bytes, decompression bombs, videos without the ``video``
extra) get a grey placeholder that says why, so a report never silently shows nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal

from PIL import Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from takedown.errors import EvidenceError, MissingDependencyError, TakedownError, UsageError
from takedown.models import Artifact, EvidenceBundle
from takedown.settings import EvidenceSettings
from takedown.store.blobs import atomic_write

__all__ = [
    "MAX_PREVIEW_PIXELS",
    "PreviewStyle",
    "make_previews",
    "placeholder_preview",
    "preview_image",
    "preview_screenshot",
    "preview_video",
    "unmasked_image",
]

PreviewStyle = Literal["pixelate", "blur"]

MAX_PREVIEW_PIXELS: Final = 100_000_000
"""The largest picture (width × height) a preview is made of; larger ones are treated as decompression bombs."""

_CELLS: Final = 20
"""Blocks along the longest side of a pixelated picture: ~24 px blocks at 480 px, never smaller than 16 px."""
_MIN_BLOCK: Final = 16
_BLUR_DIVISOR: Final = 12
"""Gaussian blur radius = longest side / this (40 px at 480 px): shapes dissolve into colour fields."""
_PAD: Final = 8
"""Pixels added around each masked region of a screenshot."""
_BACKGROUND: Final = (128, 128, 128)

Region = tuple[int, int, int, int]


def _open(data: bytes) -> Image.Image:
    """Decode a picture, refusing decompression bombs, with EXIF orientation applied, as RGB."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PREVIEW_PIXELS:
                raise EvidenceError(f"picture of {width}×{height} pixels is too large to preview (decompression bomb?)")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise EvidenceError(f"picture refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise EvidenceError("not a picture Pillow can read") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise EvidenceError(f"picture cannot be decoded: {exc}") from exc
    return _rgb(ImageOps.exif_transpose(image))


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    if max_side < 1:
        raise UsageError(f"max_side must be positive, got {max_side}")
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def _mask(image: Image.Image, style: PreviewStyle, *, reference: int | None = None) -> Image.Image:
    """Pixelate or blur the whole of ``image``; the strength scales with ``reference`` (default: its longest side)."""
    width, height = image.size
    side = reference or max(width, height)
    if style == "pixelate":
        block = max(_MIN_BLOCK, round(side / _CELLS))
        small = image.resize((max(1, round(width / block)), max(1, round(height / block))), Image.Resampling.BOX)
        return small.resize((width, height), Image.Resampling.NEAREST)
    if style == "blur":
        radius = max(8.0, side / _BLUR_DIVISOR)
        # Blurring a downscaled copy and scaling it back is the same low-pass filter, much faster on big pictures.
        factor = max(1, int(radius // 4))
        small = image.resize((max(1, width // factor), max(1, height // factor)), Image.Resampling.BOX)
        blurred = small.filter(ImageFilter.GaussianBlur(radius / factor))
        return blurred.resize((width, height), Image.Resampling.BICUBIC)
    raise UsageError(f"unknown preview style {style!r}; use 'pixelate' or 'blur'")


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)  # previews are small; speed matters more than bytes
    return out.getvalue()


def preview_image(data: bytes, *, style: PreviewStyle = "pixelate", max_side: int = 480) -> bytes:
    """A masked PNG preview of a picture, at most ``max_side`` pixels on its longest side.

    ``pixelate`` averages the picture into blocks of at least 16 px (about 20 blocks along the longest side) and
    scales them back up without smoothing; ``blur`` applies a Gaussian blur whose radius is a twelfth of the
    longest side. Either way faces, shapes and text are no longer recognisable. The preview carries no metadata of
    the source.

    Raises:
        EvidenceError: the bytes are not a picture, are corrupt, or decode to more than ``MAX_PREVIEW_PIXELS``.
        UsageError: an unknown ``style`` or a ``max_side`` below 1.
    """
    return _png(_mask(_fit(_open(data), max_side), style))


def unmasked_image(data: bytes, *, greyscale: bool = True, max_side: int = 480) -> bytes:
    """A picture unmasked, as an officer who deliberately unblurs it sees it: a PNG at most ``max_side`` pixels on
    its longest side, in greyscale unless ``greyscale`` is false, without any metadata of the source.

    Raises:
        EvidenceError: the bytes are not a picture, are corrupt, or decode to more than ``MAX_PREVIEW_PIXELS``.
        UsageError: a ``max_side`` below 1.
    """
    image = _fit(_open(data), max_side)
    return _png(image.convert("L") if greyscale else image)


def preview_screenshot(
    png: bytes,
    *,
    style: PreviewStyle = "pixelate",
    regions: Sequence[Region] | None = None,
    max_width: int = 1280,
) -> bytes:
    """A masked PNG preview of a page screenshot, at most ``max_width`` pixels wide (height follows).

    With ``regions`` (boxes ``(x, y, width, height)`` in the screenshot's pixels, as
    :func:`takedown.sites.chromium.media_regions` gives them), only those boxes, padded by 8 px, are masked, so the
    page's text stays readable while every picture and video on it is not; each box is masked as strongly as a
    media preview. Without ``regions`` the whole screenshot is masked, with blocks sized to the page's width.

    Raises:
        EvidenceError: the bytes are not a picture, or are too large.
        UsageError: an unknown ``style`` or a ``max_width`` below 1.
    """
    if max_width < 1:
        raise UsageError(f"max_width must be positive, got {max_width}")
    image = _open(png)
    scale = min(1.0, max_width / image.width)
    if regions is None:
        masked = _mask(image, style, reference=image.width)
    else:
        masked = image.copy()
        for x, y, w, h in regions:
            box = (max(0, x - _PAD), max(0, y - _PAD), min(image.width, x + w + _PAD), min(image.height, y + h + _PAD))
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            part = image.crop(box)
            masked.paste(_mask(part, style), box[:2])
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        masked = masked.resize(size, Image.Resampling.LANCZOS)
    return _png(masked)


def preview_video(
    path: Path, *, frames: int = 3, style: PreviewStyle = "pixelate", max_side: int = 480
) -> list[bytes]:
    """Masked PNG previews of ``frames`` evenly spaced frames of a video (at 1/2n, 3/2n, ... of its length).

    A video whose length is unknown is decoded once and frames are taken evenly from what it holds. A video with
    fewer frames gives fewer previews.

    Raises:
        MissingDependencyError: PyAV is not installed (the ``video`` extra).
        EvidenceError: the file is not a video PyAV can decode, or has no video stream.
        UsageError: ``frames`` below 1, an unknown ``style`` or a ``max_side`` below 1.
    """
    if frames < 1:
        raise UsageError(f"frames must be at least 1, got {frames}")
    try:
        import av
    except ImportError as exc:
        raise MissingDependencyError("av", "video", feature="a video preview") from exc
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise EvidenceError(f"{path.name} has no video stream")
            stream = container.streams.video[0]
            images = _sample_frames(container, stream, frames)
    except TakedownError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise EvidenceError(f"{path.name} cannot be decoded as a video: {exc}") from exc
    if not images:
        raise EvidenceError(f"{path.name} holds no decodable frame")
    return [_png(_mask(_fit(image, max_side), style)) for image in images]


def _sample_frames(container: Any, stream: Any, count: int) -> list[Image.Image]:
    """Frames at evenly spaced times (seeking), or, if the length is unknown, evenly from a full decode."""
    duration: float | None = None
    time_base = stream.time_base
    if stream.duration and time_base:
        duration = float(stream.duration * time_base)
    elif container.duration:
        duration = float(container.duration) / 1_000_000
    images: list[Image.Image] = []
    if duration and duration > 0 and time_base:
        for i in range(count):
            target = duration * (2 * i + 1) / (2 * count)
            container.seek(int(target / time_base), stream=stream, backward=True, any_frame=False)
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is not None and frame.time >= target:
                    break
            if chosen is not None:
                images.append(_rgb(chosen.to_image()))
        return images
    decoded = [_rgb(frame.to_image()) for frame in container.decode(stream)]
    if not decoded:
        return []
    picks = sorted({min(len(decoded) - 1, int(len(decoded) * (2 * i + 1) / (2 * count))) for i in range(count)})
    return [decoded[i] for i in picks]


def placeholder_preview(reason: str, *, size: tuple[int, int] = (480, 270)) -> bytes:
    """A grey PNG saying that no preview could be made, and why (so a report never shows a silent gap)."""
    image = Image.new("RGB", size, _BACKGROUND)
    draw = ImageDraw.Draw(image)
    text = "preview unavailable\n" + "\n".join(reason[i : i + 56] for i in range(0, min(len(reason), 224), 56))
    draw.multiline_text((12, 12), text, fill=(255, 255, 255))
    return _png(image)


def _artifact(path: Path, root: Path, data: bytes) -> Artifact:
    atomic_write(path, data)
    return Artifact(path=path.relative_to(root).as_posix(), sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data), media_type="image/png", role="preview")


def _regions(bundle: EvidenceBundle) -> list[Region] | None:
    raw = bundle.capture.get("media_regions")
    if not raw:
        return None
    try:
        value = json.loads(raw)
        return [(int(x), int(y), int(w), int(h)) for x, y, w, h in value]
    except (ValueError, TypeError):
        return None  # unreadable boxes: mask the whole screenshot instead


def make_previews(
    bundle: EvidenceBundle, *, root: Path, out: Path, settings: EvidenceSettings
) -> tuple[list[Artifact], bool]:
    """Write a masked preview of the bundle's screenshot and of each media item into ``out/previews/``.

    Names: ``previews/screenshot.png`` for the screenshot (media boxes masked when the bundle's capture has
    ``media_regions``, else all of it), ``previews/<media file stem>.png`` for a picture and
    ``previews/<media file stem>-<n>.png`` (n = 1, 2, 3) for frames of a video. Every file is written atomically
    and returned as an artifact with role ``preview``; a source that cannot be previewed gets a placeholder.

    Returns:
        the preview artifacts, and whether ``settings.include_originals`` lets human-facing reports show the
        unmasked originals: the caller must record that choice in the custody log.

    Raises:
        EvidenceError: a preview file could not be written.
    """
    artifacts: list[Artifact] = []
    folder = out / "previews"
    style = settings.preview_style
    try:
        for artifact in bundle.artifacts:
            source = root / artifact.path
            stem = Path(artifact.path).name.split(".", 1)[0]
            if artifact.role == "screenshot":
                try:
                    data = preview_screenshot(source.read_bytes(), style=style, regions=_regions(bundle))
                except EvidenceError as exc:
                    data = placeholder_preview(str(exc))
                artifacts.append(_artifact(folder / "screenshot.png", root, data))
            elif artifact.role == "media" and artifact.media_type.startswith("video/"):
                try:
                    frames = preview_video(source, style=style)
                except (EvidenceError, MissingDependencyError) as exc:
                    frames = [placeholder_preview(str(exc))]
                for index, data in enumerate(frames, start=1):
                    artifacts.append(_artifact(folder / f"{stem}-{index}.png", root, data))
            elif artifact.role == "media" and not artifact.media_type.startswith("audio/"):
                try:
                    data = preview_image(source.read_bytes(), style=style)
                except EvidenceError as exc:
                    data = placeholder_preview(str(exc))
                artifacts.append(_artifact(folder / f"{stem}.png", root, data))
    except OSError as exc:
        raise EvidenceError(f"cannot write previews for bundle {bundle.id}: {exc}") from exc
    return artifacts, settings.include_originals
