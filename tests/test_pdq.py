"""PDQ image hashing: formats, the fast path, dihedral variants, the detector, reference hashes, batch hashing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from takedown.detect.hashing import HashRecord, hash_file, hash_files, read_jsonl, write_jsonl
from takedown.detect.pdq import (
    BITS,
    DIHEDRAL,
    DRAFT_MIN_SIDE,
    LOW_FREQUENCY_MASK,
    PdqConfig,
    PdqDetector,
    distance_matrix,
    hamming,
    hash_matrix,
    load_rgb,
    pdq_bytes,
    pdq_dihedral,
    pdq_image,
    pdq_luma,
    pdq_path,
    rgb_luma,
)
from takedown.detect.references import reference_hashes
from takedown.errors import DetectionError, UsageError
from takedown.models import Candidate, Case, DetectionLabel, HashValue, Media, MediaKind, ReferenceHash
from takedown.testing import DetectorContract, sample_case, sample_media


def scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A seeded synthetic scene: gradient, soft clouds, shapes and a bar of text; nothing resembling a person.

    Painted at most 640 px wide and scaled up, so large scenes are cheap (and smooth, as photos are).
    """
    rng = np.random.default_rng(seed)
    w, h = size
    scale = max(1.0, max(w, h) / 640)
    pw, ph = max(8, round(w / scale)), max(8, round(h / scale))
    angle = rng.uniform(0, 2 * np.pi)
    t = np.arange(pw, dtype=np.float32)[None, :] * np.cos(angle) + np.arange(ph, dtype=np.float32)[:, None] * np.sin(
        angle
    )
    t = ((t - t.min()) / (t.max() - t.min()))[..., None]
    c0, c1 = rng.uniform(0, 255, 3).astype(np.float32), rng.uniform(0, 255, 3).astype(np.float32)
    clouds = Image.fromarray((rng.random((6, 8)) * 255).astype(np.uint8)).resize((pw, ph), Image.Resampling.BICUBIC)
    pixels = c0 + (c1 - c0) * t + (np.asarray(clouds, np.float32)[..., None] - 128) * np.float32(0.4)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 9))):
        x, y = rng.uniform(0, pw), rng.uniform(0, ph)
        r = rng.uniform(0.05, 0.25) * min(pw, ph)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r * 0.6, x + r, y + r * 0.6), fill=colour)
    draw.text((pw * 0.05, ph * 0.8), "SYNTHETIC", fill=(255, 255, 255))
    return image if (pw, ph) == (w, h) else image.resize((w, h), Image.Resampling.BICUBIC)


def jpeg_bytes(image: Image.Image, quality: int = 90, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, **options)
    return buffer.getvalue()


def media(path: Path, kind: MediaKind = MediaKind.IMAGE) -> Media:
    return sample_media(path.read_bytes(), kind=kind, blob=path)


def case_of(path: Path, label: str = "ref") -> Case:
    return Case(title="t", references=reference_hashes(path, label=label))


# -- format and bit order --------------------------------------------------------------------------------------


def test_hex_is_the_reference_format_and_matches_python_threatexchange(tmp_path: Path) -> None:
    import pdqhash

    image = scene(1)
    vector, quality = pdqhash.compute(np.asarray(image))
    # python-threatexchange's pdq_hasher: the vector's bits, most significant first, as one hex number
    expected = f"{int(''.join(str(int(b)) for b in vector), 2):064x}"
    value = pdq_image(image)
    assert value.algorithm == "pdq" and value.quality == quality
    assert value.value == expected and len(value.value) == 64 and value.value == value.value.lower()
    path = tmp_path / "scene.png"
    image.save(path)
    hasher = pytest.importorskip("threatexchange.signal_type.pdq.pdq_hasher")
    assert hasher.pdq_from_file(path) == (value.value, quality)


def test_numpy_port_equals_pdqhash_including_rotations_and_flips() -> None:
    for seed, size in [(2, (320, 240)), (3, (257, 101)), (4, (99, 431)), (5, (640, 480))]:
        image = scene(seed, size)
        reference = pdq_dihedral(image)
        ported = pdq_luma(rgb_luma(np.asarray(image)), dihedral=True)
        assert [h.value for h in ported] == [h.value for h in reference]
        assert ported[0].quality == reference[0].quality


def test_hamming_and_matrices_agree() -> None:
    values = [pdq_image(scene(s)).value for s in range(6)]
    matrix = distance_matrix(hash_matrix(values), hash_matrix(values))
    assert all(matrix[i, j] == hamming(values[i], values[j]) for i in range(6) for j in range(6))
    assert hamming("f" * 64, "0" * 64) == BITS
    low = distance_matrix(hash_matrix(["f" * 64]), hash_matrix(["0" * 64]), mask=LOW_FREQUENCY_MASK)
    assert low[0, 0] == 64
    with pytest.raises(UsageError):
        hamming("ab", "abcd")
    with pytest.raises(UsageError):
        hash_matrix(["xyz"])


# -- odd inputs ------------------------------------------------------------------------------------------------


def test_exif_orientation_is_honoured(tmp_path: Path) -> None:
    upright = scene(6)
    # stored turned a quarter, with an EXIF tag (6: rotate 90 clockwise to display) that turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    data = jpeg_bytes(stored, 95, exif=exif.tobytes())
    assert hamming(pdq_bytes(data, fast=False).value, pdq_image(upright).value) <= 10
    assert hamming(pdq_image(stored).value, pdq_image(upright).value) > 31


def test_alpha_is_composited_on_white() -> None:
    base = scene(7)
    rgba = base.convert("RGBA")
    alpha = Image.new("L", base.size, 255)
    ImageDraw.Draw(alpha).rectangle((0, 0, 160, 240), fill=0)
    rgba.putalpha(alpha)
    on_white = base.copy()
    ImageDraw.Draw(on_white).rectangle((0, 0, 160, 240), fill=(255, 255, 255))
    assert pdq_image(rgba).value == pdq_image(on_white).value
    la = rgba.convert("LA")
    assert hamming(pdq_image(la).value, pdq_image(on_white.convert("L")).value) <= 2


def test_palette_cmyk_grey_and_one_bit_images_hash() -> None:
    base = scene(8)
    reference = pdq_image(base).value
    palette = base.quantize(256)
    assert hamming(pdq_image(palette).value, reference) <= 20
    transparent = palette.copy()
    transparent.info["transparency"] = 0
    assert pdq_image(transparent).quality is not None
    assert hamming(pdq_image(base.convert("CMYK")).value, reference) <= 6
    grey = pdq_image(base.convert("L")).value
    assert hamming(grey, reference) <= 6
    assert pdq_image(base.convert("1")).quality is not None


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    grey = np.asarray(scene(9).convert("L"), dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(grey * 257).save(path)  # the same picture in 16 bits
    with Image.open(path) as opened:
        assert opened.mode.startswith("I")
    assert hamming(pdq_path(path, fast=False).value, pdq_image(Image.fromarray(grey.astype(np.uint8))).value) <= 2


def test_animated_images_hash_their_first_frame(tmp_path: Path) -> None:
    first, second = scene(10), scene(11)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    value = pdq_path(path, fast=False).value
    assert hamming(value, pdq_image(first.quantize(256)).value) <= 10
    assert hamming(value, pdq_image(second).value) > 31


def test_bombs_corrupt_and_truncated_files_are_detection_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = jpeg_bytes(scene(12, (400, 300)))
    with pytest.raises(DetectionError, match="cannot decode"):
        pdq_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(DetectionError, match="cannot decode"):
        pdq_bytes(good[: len(good) // 2], fast=False)
    with pytest.raises(DetectionError):
        pdq_bytes(b"")
    big = tmp_path / "big.png"
    Image.new("L", (2000, 2000), 128).save(big)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # 4 MP: a warning-sized bomb
    with pytest.raises(DetectionError, match="too large"):
        pdq_path(big)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # more than twice the limit: Pillow's error
    with pytest.raises(DetectionError, match="too large"):
        pdq_path(big)


def test_tiny_and_flat_images_hash_with_low_quality() -> None:
    assert pdq_image(Image.new("RGB", (3, 3), (10, 20, 30))).quality == 0
    assert (pdq_image(Image.new("RGB", (300, 200), (90, 90, 90))).quality or 0) < 50


# -- the fast path ---------------------------------------------------------------------------------------------


def _sample_scenes() -> list[Image.Image]:
    """Ordinary-scene sample images bundled with matplotlib: terrain models, shaded, and a clip-art gift box."""
    from matplotlib import cbook

    out = []
    for name in ("topobathy.npz", "jacksboro_fault_dem.npz"):
        with np.load(cbook.get_sample_data(name, asfileobj=False)) as data:
            key = "topo" if "topo" in data else "elevation"
            z = np.asarray(data[key], dtype=np.float64)
        z = (z - z.min()) / (z.max() - z.min())
        shaded = np.clip(np.gradient(z, axis=1) * 40 + 0.5, 0, 1)
        rgb = np.stack([z, shaded, 1 - z], axis=-1) * 255
        out.append(Image.fromarray(rgb.astype(np.uint8)).resize((1400, 1100), Image.Resampling.BICUBIC))
    with Image.open(cbook.get_sample_data("Minduka_Present_Blue_Pack.png", asfileobj=False)) as gift:
        out.append(gift.convert("RGB").resize((1200, 1200), Image.Resampling.BICUBIC))
    return out


def test_fast_path_stays_within_10_bits_of_the_full_decode() -> None:
    rng = np.random.default_rng(0)
    sizes = [(int(rng.integers(1030, 1300)), int(rng.integers(700, 1000))) for _ in range(28)]
    sizes += [(int(rng.integers(2060, 2200)), int(rng.integers(2050, 2100))) for _ in range(5)]  # decoded at 1/2
    images = [scene(100 + n, size) for n, size in enumerate(sizes)]
    images += _sample_scenes()
    checked = 0
    for n, image in enumerate(images):
        data = jpeg_bytes(image, 80 + n % 16)
        full, fast = pdq_bytes(data, fast=False), pdq_bytes(data, fast=True)
        assert min(load_rgb(data, fast=True).shape[:2]) >= min(DRAFT_MIN_SIDE, *image.size)
        if (full.quality or 0) >= 80:
            checked += 1
            assert hamming(full.value, fast.value) <= 10, n
    assert checked >= 30
    png = io.BytesIO()
    images[0].save(png, format="PNG")  # other formats are box-reduced after decoding
    assert hamming(pdq_bytes(png.getvalue(), fast=False).value, pdq_bytes(png.getvalue()).value) <= 10


# -- dihedral variants and the detector ------------------------------------------------------------------------


def test_dihedral_variants_are_the_hashes_of_the_transformed_image() -> None:
    # PDQ's even box windows and sampling grid are not symmetric, so a variant is near (not equal to) the hash of
    # the transformed pixels; a smooth image of a size that is no multiple of 64 shows it best
    image = scene(13, (500, 380)).filter(ImageFilter.GaussianBlur(2))
    variants = dict(zip(DIHEDRAL, pdq_dihedral(image), strict=True))
    transposed = {
        "rotate90": Image.Transpose.ROTATE_90, "rotate180": Image.Transpose.ROTATE_180,
        "rotate270": Image.Transpose.ROTATE_270, "flip_x": Image.Transpose.FLIP_TOP_BOTTOM,
        "flip_y": Image.Transpose.FLIP_LEFT_RIGHT, "flip_plus1": Image.Transpose.TRANSPOSE,
        "flip_minus1": Image.Transpose.TRANSVERSE,
    }
    for name, method in transposed.items():
        actual = pdq_image(image.transpose(method)).value
        nearest = min(variants, key=lambda n: hamming(variants[n].value, actual))
        assert nearest == name and hamming(variants[name].value, actual) <= 12, name
    assert variants["original"] == pdq_image(image)


@pytest.mark.parametrize(
    "transpose", [Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180]
)
def test_detector_finds_flipped_and_rotated_copies_that_plain_pdq_misses(
    tmp_path: Path, transpose: Image.Transpose
) -> None:
    original = scene(14)
    ref = tmp_path / "ref.png"
    original.save(ref)
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(jpeg_bytes(original.transpose(transpose), 85))
    case = case_of(ref)
    plain = PdqDetector(PdqConfig(dihedral=False, coarse_max_distance=None)).detect(media(copy), case=case)
    assert plain.label is DetectionLabel.NO_MATCH
    found = PdqDetector().detect(media(copy), case=case)
    assert found.label is DetectionLabel.MATCH and found.matched is not None
    assert found.matched.reference == "ref" and found.matched.algorithm == "pdq" and found.matched.distance <= 31
    assert "(as " in found.rationale and 0.5 < found.score <= 1


def test_detector_verdicts(tmp_path: Path) -> None:
    original = scene(15)
    ref = tmp_path / "ref.png"
    original.save(ref)
    case = case_of(ref)
    detector = PdqDetector()
    resized = tmp_path / "small.jpg"
    resized.write_bytes(jpeg_bytes(original.resize((200, 150)), 60))
    match = detector.detect(media(resized), case=case)
    assert match.label is DetectionLabel.MATCH and "(as" not in match.rationale
    decoy = tmp_path / "decoy.png"
    scene(16).save(decoy)
    miss = detector.detect(media(decoy), case=case)
    assert miss.label is DetectionLabel.NO_MATCH and miss.score == 0 and miss.matched is None
    assert "nearest" in miss.rationale
    # a 5 % crop (8 px off each side): beyond plain PDQ (52 bits), found by the crop-tolerant rule (5 of 64)
    w, h = original.size
    cropped = tmp_path / "crop.png"
    original.crop((8, 6, w - 8, h - 6)).save(cropped)
    strict = PdqDetector(PdqConfig(coarse_max_distance=None)).detect(media(cropped), case=case)
    assert strict.label is DetectionLabel.NO_MATCH
    tolerant = detector.detect(media(cropped), case=case)
    assert tolerant.label is DetectionLabel.MATCH and "crop-tolerant" in tolerant.rationale
    # no references, or not an image: a no_match and a typed error
    empty = detector.detect(media(resized), case=Case(title="empty"))
    assert empty.label is DetectionLabel.NO_MATCH and "no PDQ" in empty.rationale
    with pytest.raises(DetectionError):
        detector.detect(sample_media(b"x", kind=MediaKind.VIDEO), case=case)


def test_low_quality_hashes_never_match_only_suspect(tmp_path: Path) -> None:
    flat = Image.new("RGB", (320, 240), (120, 120, 124))
    ImageDraw.Draw(flat).rectangle((150, 110, 152, 112), fill=(125, 120, 124))
    ref = tmp_path / "flat.png"
    flat.save(ref)
    case = case_of(ref)
    quality = next(r.quality for r in case.references if r.algorithm == "pdq")
    assert quality is not None and quality < 50
    same = tmp_path / "same.png"
    flat.save(same, optimize=True)
    suspect = PdqDetector().detect(media(same), case=case)
    assert suspect.label is DetectionLabel.SUSPECT and "low quality" in suspect.rationale
    other = tmp_path / "other.png"
    other_flat = Image.new("RGB", (320, 240), (30, 60, 90))
    ImageDraw.Draw(other_flat).ellipse((40, 40, 44, 44), fill=(32, 60, 90))
    other_flat.save(other)
    verdict = PdqDetector(PdqConfig(low_quality_max_distance=0)).detect(media(other), case=case)
    assert verdict.label is DetectionLabel.NO_MATCH and "quality" in verdict.rationale


def test_detector_uses_stored_hashes_when_it_needs_no_pixels() -> None:
    reference = pdq_image(scene(17))
    case = Case(title="t", references=[ReferenceHash(**reference.model_dump(), reference="r", kind=MediaKind.IMAGE)])
    item = sample_media(b"bytes elsewhere").model_copy(update={"hashes": (reference,)})
    found = PdqDetector(PdqConfig(dihedral=False)).detect(item, case=case)
    assert found.label is DetectionLabel.MATCH and found.matched is not None and found.matched.distance == 0
    with pytest.raises(DetectionError, match="blob"):
        PdqDetector().detect(item, case=case)
    bad = ReferenceHash(algorithm="pdq", value="zz", reference="r", kind=MediaKind.IMAGE)
    broken = Case(title="t", references=[bad])
    with pytest.raises(DetectionError, match="malformed"):
        PdqDetector(PdqConfig(dihedral=False)).detect(item, case=broken)


class TestPdqDetector(DetectorContract):
    def make_detector(self) -> PdqDetector:
        return PdqDetector()

    def make_case(self) -> Case:
        value = pdq_image(scene(18))
        return sample_case(references=[ReferenceHash(**value.model_dump(), reference="ref", kind=MediaKind.IMAGE)])

    def make_items(self, folder: Path) -> list[Media | Candidate]:
        copy = folder / "copy.jpg"
        copy.write_bytes(jpeg_bytes(scene(18).transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
        return [*super().make_items(folder), media(copy)]


# -- references and batch hashing ------------------------------------------------------------------------------


def test_reference_hashes_add_exact_pdq_and_keep_dhash(tmp_path: Path) -> None:
    path = tmp_path / "ref.jpg"
    path.write_bytes(jpeg_bytes(scene(19, (1200, 1100))))
    refs = reference_hashes(path, label="ref-a")
    assert {r.algorithm for r in refs} == {"sha256", "md5", "dhash", "pdq"}
    pdq = next(r for r in refs if r.algorithm == "pdq")
    assert pdq.value == pdq_path(path, fast=False).value and pdq.quality is not None and pdq.frame is None


def test_hash_files_writes_hashes_only(tmp_path: Path) -> None:
    folder = tmp_path / "victim"
    (folder / "sub").mkdir(parents=True)
    images = []
    for n in range(3):
        path = folder / ("sub" if n else ".") / f"photo{n}.jpg"
        path.write_bytes(jpeg_bytes(scene(20 + n, (900, 700)), 92))
        images.append(path)
    broken = folder / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    notes = folder / "notes.txt"
    notes.write_text("not media")
    seen: list[tuple[int, int, str]] = []
    out = tmp_path / "out" / "hashes.jsonl"
    count = write_jsonl(
        hash_files([*images, broken, notes], root=folder, progress=lambda d, t, p: seen.append((d, t, p.name))),
        out,
    )
    assert count == 5 and [s[0] for s in seen] == [1, 2, 3, 4, 5] and seen[-1] == (5, 5, "notes.txt")
    media_bytes = sum(p.stat().st_size for p in images)
    assert out.stat().st_size < 4000 < media_bytes  # hashes, not pictures
    text = out.read_text()
    assert all(json.loads(line) for line in text.splitlines())
    records = list(read_jsonl(out))
    assert [r.file for r in records] == ["photo0.jpg", "sub/photo1.jpg", "sub/photo2.jpg", "broken.png", "notes.txt"]
    first = records[0]
    assert first.kind is MediaKind.IMAGE and first.error is None and len(first.pdq) == 1
    assert first.pdq[0] == pdq_path(images[0], fast=False) and first.size == images[0].stat().st_size
    assert records[3].error and "decode" in records[3].error and not records[3].pdq
    assert records[4].error and records[4].kind is None
    assert not list(tmp_path.joinpath("out").glob(".*.tmp"))  # the temporary file was moved into place


def test_hash_files_in_worker_processes_keeps_the_order(tmp_path: Path) -> None:
    paths = []
    for n in range(3):
        path = tmp_path / f"p{n}.png"
        scene(30 + n).save(path)
        paths.append(path)
    single = [r.pdq for r in hash_files(paths)]
    parallel = list(hash_files(paths, workers=2))
    assert [r.pdq for r in parallel] == single and [r.file for r in parallel] == ["p0.png", "p1.png", "p2.png"]
    with pytest.raises(UsageError):
        list(hash_files(paths, workers=0))


def test_write_jsonl_leaves_the_old_file_when_hashing_fails(tmp_path: Path) -> None:
    out = tmp_path / "hashes.jsonl"
    out.write_text("previous\n")

    def failing() -> object:
        yield HashRecord(file="a.jpg", pdq=(HashValue(algorithm="pdq", value="0" * 64, quality=90),))
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_jsonl(failing(), out)  # type: ignore[arg-type]
    assert out.read_text() == "previous\n" and len(list(tmp_path.iterdir())) == 1
    assert hash_file(tmp_path / "missing.jpg").error is not None
