"""Masked previews: far enough from the original that shapes and text cannot be made out (synthetic media only)."""

from __future__ import annotations

import hashlib
import io
import struct
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile, ImageFont

from takedown.errors import EvidenceError, MissingDependencyError, UsageError
from takedown.evidence.preview import (
    PreviewStyle,
    make_previews,
    placeholder_preview,
    preview_image,
    preview_screenshot,
    preview_video,
)
from takedown.models import Artifact, EvidenceBundle
from takedown.settings import EvidenceSettings


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def synthetic_picture(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Sharp shapes and text on white: fine stripes, a checkerboard, a circle, a triangle and a line of text."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for x in range(0, width // 2, 8):
        draw.rectangle((x, 0, x + 3, height // 2), fill="black")
    for y in range(0, height // 2, 10):
        for x in range(width // 2, width, 10):
            if (x // 10 + y // 10) % 2:
                draw.rectangle((x, y, x + 9, y + 9), fill=(20, 20, 160))
    draw.ellipse((30, height // 2 + 20, 170, height // 2 + 160), fill=(200, 30, 30))
    draw.polygon([(220, height - 30), (300, height // 2 + 20), (380, height - 30)], fill=(30, 160, 30))
    draw.text((400, height // 2 + 60), "SYNTH\n123", fill="black", font=_font(48))
    return image


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float64)


def colours(image: Image.Image) -> int:
    """How many distinct RGB colours a picture holds."""
    return len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0))


def laplacian_variance(image: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian: how much sharp detail (edges, strokes) a picture holds."""
    a = _gray(image)
    lap = a[1:-1, :-2] + a[1:-1, 2:] + a[:-2, 1:-1] + a[2:, 1:-1] - 4 * a[1:-1, 1:-1]
    return float(lap.var())


def mean_abs_diff(original: Image.Image, preview: Image.Image) -> float:
    """Mean absolute grey-level difference after bringing the original to the preview's size."""
    scaled = original.resize(preview.size, Image.Resampling.BOX)
    return float(np.abs(_gray(scaled) - _gray(preview)).mean())


def edge_correlation(original: Image.Image, preview: Image.Image) -> float:
    """Correlation of the two pictures' edge magnitudes: near 1 when the preview keeps the original's outlines."""

    def edges(image: Image.Image) -> np.ndarray:
        a = _gray(image)
        gx = a[1:-1, 2:] - a[1:-1, :-2]
        gy = a[2:, 1:-1] - a[:-2, 1:-1]
        magnitude: np.ndarray = np.hypot(gx, gy).ravel()
        return magnitude

    e1, e2 = edges(original.resize(preview.size, Image.Resampling.BOX)), edges(preview)
    if e1.std() == 0 or e2.std() == 0:
        return 0.0
    return float(np.corrcoef(e1, e2)[0, 1])


@pytest.mark.parametrize("style", ["pixelate", "blur"])
def test_preview_is_far_from_the_original(style: PreviewStyle) -> None:
    original = synthetic_picture()
    preview = Image.open(io.BytesIO(preview_image(_png(original), style=style)))
    assert preview.format == "PNG"
    assert max(preview.size) == 480
    assert preview.size == (480, 360)  # the aspect ratio is kept

    sharp = laplacian_variance(original.resize(preview.size, Image.Resampling.BOX))
    assert laplacian_variance(preview) < 0.1 * sharp  # strokes and stripes are gone
    assert mean_abs_diff(original, preview) > 25  # far from the original, not a light touch-up
    assert edge_correlation(original, preview) < 0.35  # the outlines that remain are not the original's


def test_pixelate_leaves_only_coarse_blocks() -> None:
    preview = Image.open(io.BytesIO(preview_image(_png(synthetic_picture()), style="pixelate")))
    # 480 px wide: blocks of 24 px, 20 across and 15 down; every block is one flat colour.
    assert colours(preview) <= 20 * 15
    block = np.asarray(preview.convert("RGB"))[24:48, 24:48]
    assert (block == block[0, 0]).all()


def test_text_cannot_be_read_after_masking() -> None:
    """A line of text: after masking, no column or row profile of the strokes is left."""
    image = Image.new("RGB", (480, 160), "white")
    ImageDraw.Draw(image).text((10, 30), "SECRET 42", fill="black", font=_font(80))
    styles: tuple[PreviewStyle, ...] = ("pixelate", "blur")
    for style in styles:
        preview = Image.open(io.BytesIO(preview_image(_png(image), style=style)))
        contrast = _gray(preview).max() - _gray(preview).min()
        assert contrast < 0.6 * 255  # no black-on-white stroke survives


def test_preview_strips_metadata_and_keeps_small_pictures_small() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SyntheticCam"  # Make
    exif[0x8825] = {1: "N", 2: (37.0, 33.0, 0.0)}  # GPS
    source = io.BytesIO()
    synthetic_picture((200, 100)).save(source, format="JPEG", exif=exif)
    preview = Image.open(io.BytesIO(preview_image(source.getvalue())))
    assert preview.size == (200, 100)  # never upscaled
    assert not preview.getexif()
    assert "exif" not in preview.info


def test_preview_of_transparent_and_palette_pictures() -> None:
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    ImageDraw.Draw(rgba).rectangle((16, 16, 48, 48), fill=(0, 0, 255, 255))
    assert Image.open(io.BytesIO(preview_image(_png(rgba)))).mode == "RGB"
    palette = synthetic_picture((100, 80)).convert("P")
    assert Image.open(io.BytesIO(preview_image(_png(palette), style="blur"))).size == (100, 80)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size but holds almost nothing: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(100_000, 100_000), (11_000, 10_000)])
def test_decompression_bombs_are_refused(size: tuple[int, int]) -> None:
    with pytest.raises(EvidenceError, match=r"decompression bomb|too large"):
        preview_image(_png_header_only(*size))


def test_truncated_pictures_follow_pillows_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow decides: weasyprint, once imported, sets ``LOAD_TRUNCATED_IMAGES`` for the whole process."""
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    whole = _png(Image.fromarray(noise))
    truncated = whole[: len(whole) // 2]
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    with pytest.raises(EvidenceError, match="cannot be decoded"):
        preview_image(truncated)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert Image.open(io.BytesIO(preview_image(truncated))).size == (64, 64)  # what could be read, masked


def test_bad_input_is_an_evidence_error() -> None:
    with pytest.raises(EvidenceError, match="not a picture"):
        preview_image(b"this is not an image")
    with pytest.raises(UsageError):
        preview_image(_png(synthetic_picture((64, 64))), style="swirl")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        preview_image(_png(synthetic_picture((64, 64))), max_side=0)


def test_screenshot_preview_masks_only_media_regions() -> None:
    page = Image.new("RGB", (800, 1200), "white")
    draw = ImageDraw.Draw(page)
    draw.text((20, 20), "Page title", fill="black", font=_font(40))
    photo = synthetic_picture((320, 240))
    page.paste(photo, (100, 300))
    shot = _png(page)

    masked = Image.open(io.BytesIO(preview_screenshot(shot, regions=[(100, 300, 320, 240)])))
    assert masked.size == (800, 1200)
    gray, original = _gray(masked), _gray(page)
    assert np.array_equal(gray[:100, :], original[:100, :])  # the text above stays readable
    inside = masked.crop((100, 300, 420, 540))
    assert laplacian_variance(inside) < 0.1 * laplacian_variance(photo)
    assert edge_correlation(photo, inside) < 0.35

    whole = Image.open(io.BytesIO(preview_screenshot(shot, max_width=400)))
    assert whole.size == (400, 600)
    assert laplacian_variance(whole) < 0.1 * laplacian_variance(page.resize((400, 600), Image.Resampling.BOX))


def synthetic_video(path: Path, *, frames: int = 30, size: tuple[int, int] = (160, 120)) -> Path:
    """A 3-second MPEG-4 video of a white square moving across a gradient."""
    import av

    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        for i in range(frames):
            array = np.zeros((height, width, 3), dtype=np.uint8)
            array[..., 0] = ramp
            array[..., 2] = ramp[::-1]
            x = int((width - 40) * i / (frames - 1))
            array[40:80, x : x + 40] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_video_preview_takes_evenly_spaced_masked_frames(tmp_path: Path) -> None:
    video = synthetic_video(tmp_path / "clip.mp4")
    previews = preview_video(video, frames=3)
    assert len(previews) == 3
    images = [Image.open(io.BytesIO(p)) for p in previews]
    assert all(image.format == "PNG" and image.size == (160, 120) for image in images)
    # blocks of 16 px: at most 10 x 8 flat colours per frame
    assert all(colours(image) <= 10 * 8 for image in images)
    # the square moves: frames from the start, middle and end differ
    assert len({hashlib.sha256(p).hexdigest() for p in previews}) == 3
    assert len(preview_video(video, frames=1, style="blur")) == 1


def test_video_preview_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(EvidenceError):
        preview_video(bad)
    with pytest.raises(UsageError):
        preview_video(bad, frames=0)
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(MissingDependencyError, match=r"takedown\[video\]"):
        preview_video(bad)


def _artifact(root: Path, rel: str, data: bytes, media_type: str, role: str) -> Artifact:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Artifact(path=rel, sha256=hashlib.sha256(data).hexdigest(), size=len(data), media_type=media_type,
                    role=role)


@pytest.mark.parametrize("include_originals", [False, True])
def test_make_previews(tmp_path: Path, include_originals: bool) -> None:
    root = tmp_path / "evidence"
    out = root / "case" / "bnd"
    video = synthetic_video(tmp_path / "v.mp4").read_bytes()
    artifacts = (
        _artifact(root, "case/bnd/page.html", b"<html></html>", "text/html", "page_html"),
        _artifact(root, "case/bnd/media/aaaa.png", _png(synthetic_picture()), "image/png", "media"),
        _artifact(root, "case/bnd/media/bbbb.mp4", video, "video/mp4", "media"),
        _artifact(root, "case/bnd/media/cccc.jpg", b"broken", "image/jpeg", "media"),
        _artifact(root, "case/bnd/media/dddd.mp3", b"ID3", "audio/mpeg", "media"),
        _artifact(root, "case/bnd/screenshot.png", _png(synthetic_picture((400, 900))), "image/png", "screenshot"),
    )
    bundle = EvidenceBundle(case_id="case", finding_id="f", artifacts=artifacts,
                            capture={"media_regions": "[[0, 0, 400, 240]]"})
    settings = EvidenceSettings(include_originals=include_originals, preview_style="blur")
    made, originals = make_previews(bundle, root=root, out=out, settings=settings)
    assert originals is include_originals
    names = sorted(Path(a.path).name for a in made)
    assert names == ["aaaa.png", "bbbb-1.png", "bbbb-2.png", "bbbb-3.png", "cccc.png", "screenshot.png"]
    for artifact in made:
        data = (root / artifact.path).read_bytes()
        assert artifact.role == "preview" and artifact.media_type == "image/png"
        assert artifact.sha256 == hashlib.sha256(data).hexdigest() and artifact.size == len(data)
        assert artifact.path.startswith("case/bnd/previews/")
    broken = next(a for a in made if a.path.endswith("cccc.png"))
    assert (root / broken.path).read_bytes() == placeholder_preview("not a picture Pillow can read")
    assert not list(out.rglob("*.tmp"))
