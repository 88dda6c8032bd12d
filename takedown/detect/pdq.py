"""PDQ: Meta's 256-bit perceptual image hash, as StopNCII, HMA (python-threatexchange) and NCMEC exchange it.

Hashing goes through ``pdqhash`` (the reference C++ implementation). What takedown adds around it:

- **Every image Pillow opens**, normalised the same way: EXIF orientation applied; alpha (RGBA, LA, PA, palette or
  greyscale with a transparent colour) composited on white; palette, CMYK, YCbCr, 1-bit converted to RGB;
  16-bit greyscale (``I;16``) and 32-bit (``I``, ``F``) scaled to 8 bits; animated images hashed by their
  **first frame** only. Decompression bombs, corrupt and truncated files raise ``DetectionError``.
- **A fast path** (``fast=True``, the default for candidates): a JPEG is decoded by libjpeg at a reduced scale
  (``Image.draft``: 1/2, 1/4 or 1/8, keeping the short side at least ``DRAFT_MIN_SIDE``, 1024 pixels) and, for a
  colour JPEG, as luma only (JPEG's Y is PDQ's luma); other formats are box-reduced to that size after decoding.
  The hash is then computed by ``pdq_luma``. PDQ blurs every image down to 64x64 anyway, so the hash barely moves
  (at most 10 bits from the exact hash for images of quality >= 80, tested; 6 at most measured) while a 12 MP JPEG
  hashes about 20 times faster. Reference hashes use ``fast=False``: a full decode hashed by ``pdqhash``, the exact
  hash python-threatexchange gives.
- **Dihedral variants** (``pdq_dihedral``): the hashes of the 8 rotations and flips of an image, from one DCT.
  ``PdqDetector`` matches a candidate if any variant is near a reference: mirrored and rotated reposts, which plain
  PDQ misses, are found. A crop-tolerant rule on the 64 lowest-frequency bits finds most lightly cropped copies.
- ``pdq_luma``: a NumPy port of PDQ's downsampling, quality metric, DCT and median (the reference's exact box
  filters, evaluated only where PDQ samples them). It gives the same bits as ``pdqhash`` on our test images (rarely
  2 bits differ, where two coefficients straddle the median) and is several times faster on large images, where
  ``pdqhash``'s own luma conversion (double precision, in Python) dominates. Video frames and the fast path use it.

Hex format: 64 lower-case hex digits, the reference implementation's ``Hash256::format`` (16-bit words, most
significant word first), which is also what python-threatexchange's ``pdq_hasher`` writes: the hash as one
256-bit integer whose bit ``k`` is DCT coefficient ``k = 16 * row + column`` (set when above the median).
``pdqhash.compute`` returns that integer's bits most significant first, so packing its vector in order gives the
hex directly.
"""

from __future__ import annotations

import functools
import io
import struct
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import DetectionError, MissingDependencyError, UsageError
from takedown.models import (
    Candidate,
    Case,
    Detection,
    DetectionLabel,
    HashValue,
    ItemKind,
    MatchedReference,
    Media,
    MediaKind,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "ALGORITHM",
    "BITS",
    "DIHEDRAL",
    "DRAFT_MIN_SIDE",
    "LOW_FREQUENCY_MASK",
    "PdqConfig",
    "PdqDetector",
    "distance_matrix",
    "hamming",
    "hash_matrix",
    "load_rgb",
    "match_mask",
    "pdq_bytes",
    "pdq_dihedral",
    "pdq_image",
    "pdq_luma",
    "pdq_path",
    "pdq_variants",
    "rgb_luma",
]

ALGORITHM = "pdq"
BITS = 256
HEX_DIGITS = BITS // 4
DRAFT_MIN_SIDE = 1024
"""The fast path keeps at least this many pixels on an image's short side (PDQ itself works at 64x64).

Measured on 50 synthetic JPEGs of 1-13 MP, quality 80-95 (bits from the exact hash, max / mean): 512 px 8 / 3.5,
768 px 6 / 1.8, 1024 px 6 / 1.4; one test image reached 12 bits at 512 px. 1024 keeps a 12 MP JPEG hashing in
about 40 ms on one CPU.
"""

DIHEDRAL: tuple[str, ...] = (
    "original", "rotate90", "rotate180", "rotate270", "flip_x", "flip_y", "flip_plus1", "flip_minus1",
)
"""Names of the 8 variants ``pdq_dihedral`` returns, in order (``pdqhash.compute_dihedral``'s order).

``rotate90`` is the hash of the image turned 90 degrees anticlockwise, ``rotate270`` clockwise; ``flip_x`` of the
image mirrored top to bottom, ``flip_y`` left to right; ``flip_plus1`` of its transpose (mirrored on the main
diagonal), ``flip_minus1`` of its anti-transpose.
"""

_MIN_HASHABLE_DIM = 5
_PLUGIN = "pdq"


def _pdqhash() -> Any:
    try:
        import pdqhash
    except ImportError as exc:  # pragma: no cover - a core dependency; only a broken install lacks it
        raise MissingDependencyError("pdqhash", "all", feature="PDQ hashing") from exc
    return pdqhash


# -- hex, distances ----------------------------------------------------------------------------------------------


def _vector_hex(vector: NDArray[Any]) -> str:
    """The hex of a ``pdqhash`` bit vector (most significant bit first)."""
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def hamming(a: str, b: str) -> int:
    """The number of bits in which two hex hashes of equal length differ.

    Raises:
        UsageError: the two hashes differ in length.
        ValueError: a hash is not hexadecimal.
    """
    if len(a) != len(b):
        raise UsageError(f"cannot compare hashes of {len(a) * 4} and {len(b) * 4} bits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def hash_matrix(values: Iterable[str]) -> NDArray[np.uint64]:
    """PDQ hex hashes as an ``(n, 4)`` array of 64-bit words, for vectorised distances.

    Raises:
        UsageError: a value is not 64 hex digits.
    """
    rows = []
    for value in values:
        if len(value) != HEX_DIGITS:
            raise UsageError(f"a PDQ hash is {HEX_DIGITS} hex digits, not {len(value)}: {value[:70]!r}")
        try:
            rows.append(bytes.fromhex(value))
        except ValueError as exc:
            raise UsageError(f"not a hex hash: {value!r}") from exc
    if not rows:
        return np.zeros((0, 4), dtype=np.uint64)
    return np.frombuffer(b"".join(rows), dtype=">u8").reshape(-1, 4).astype(np.uint64)


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(words: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Set bits per element, summed over the last axis."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        counted: NDArray[np.int64] = np.bitwise_count(words).sum(axis=-1, dtype=np.int64)
        return counted
    as_bytes = words.view(np.uint8).reshape(*words.shape[:-1], -1)
    table: NDArray[np.int64] = _POPCOUNT8[as_bytes].sum(axis=-1, dtype=np.int64)
    return table


def distance_matrix(
    a: NDArray[np.uint64], b: NDArray[np.uint64], *, mask: NDArray[np.uint64] | None = None, chunk: int = 1024
) -> NDArray[np.int64]:
    """All Hamming distances between the rows of two ``hash_matrix`` arrays: an ``(len(a), len(b))`` array.

    With ``mask`` (4 words, e.g. ``LOW_FREQUENCY_MASK``), only the bits set in it are counted.
    """
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.int64)
    for start in range(0, a.shape[0], chunk):
        block = a[start : start + chunk, None, :] ^ b[None, :, :]
        out[start : start + chunk] = _popcount(block if mask is None else block & mask)
    return out


# -- decoding ----------------------------------------------------------------------------------------------------

_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct.error)


def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.mode or "a" in image.mode or "transparency" in image.info


def _normalised(image: Image.Image) -> Image.Image:
    """``image`` upright, as 8-bit RGB or L: EXIF orientation applied, alpha composited on white."""
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("RGB", "L") and "transparency" not in image.info:
        return image
    if mode.startswith("I") or mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        peak = float(pixels.max()) if pixels.size else 0.0
        if mode == "F" and peak <= 1.0:
            pixels = pixels * 255.0  # float images in [0, 1]
        elif mode.startswith("I;16") or peak > 255.0:
            pixels = pixels / 257.0  # 16-bit range to 8 bits
        return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), mode="L")
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def _rgb(pixels: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Grey pixels as RGB (the three channels equal); RGB pixels as they are."""
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return np.ascontiguousarray(pixels)


def _pixels_of(image: Image.Image, *, fast: bool, what: str) -> NDArray[np.uint8]:
    """The normalised pixels of an opened image, ``(h, w)`` grey or ``(h, w, 3)`` RGB, reduced on the fast path.

    Pillow's errors become ``DetectionError``.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # untrusted files warn about odd EXIF, palettes...: not our concern
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if fast and image.format == "JPEG":
                # libjpeg scales while decoding (1/2, 1/4, 1/8) and, for a colour JPEG, decodes only the luma
                # plane: PDQ hashes luma, and JPEG's Y is PDQ's 0.299 R + 0.587 G + 0.114 B (before rounding)
                image.draft("L" if image.mode == "RGB" else image.mode, (DRAFT_MIN_SIDE, DRAFT_MIN_SIDE))
            image.load()
            upright = _normalised(image)
            if fast:
                factor = min(upright.size) // DRAFT_MIN_SIDE
                if factor >= 2:
                    upright = upright.reduce(factor)
            return np.ascontiguousarray(np.asarray(upright, dtype=np.uint8))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DetectionError(f"{what} is too large to decode safely: {exc}", plugin=_PLUGIN) from exc
    except _DECODE_ERRORS as exc:
        raise DetectionError(f"cannot decode {what}: {exc}", plugin=_PLUGIN) from exc


def _load_pixels(source: Path | bytes, *, fast: bool) -> NDArray[np.uint8]:
    what = f"image {source.name}" if isinstance(source, Path) else "image bytes"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DetectionError(f"{what} is too large to decode safely: {exc}", plugin=_PLUGIN) from exc
    except _DECODE_ERRORS as exc:
        raise DetectionError(f"cannot decode {what}: {exc}", plugin=_PLUGIN) from exc
    with opened as image:
        return _pixels_of(image, fast=fast, what=what)


def load_rgb(source: Path | bytes, *, fast: bool = True) -> NDArray[np.uint8]:
    """Decode an image file (a path or its bytes) to upright 8-bit RGB ``(h, w, 3)``, normalised as PDQ hashes it.

    With ``fast``, a JPEG is decoded at a reduced scale, luma only (so its three channels are equal), and other
    formats are box-reduced, keeping the short side at least ``DRAFT_MIN_SIDE`` pixels. Animated images give their
    first frame.

    Raises:
        DetectionError: the file is not an image Pillow can decode, is truncated, or is a decompression bomb
            (more than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels).
    """
    return _rgb(_load_pixels(source, fast=fast))


# -- hashing -----------------------------------------------------------------------------------------------------


def _hash_exact(pixels: NDArray[np.uint8], *, dihedral: bool = False) -> list[HashValue]:
    """Through ``pdqhash``, the reference implementation (what python-threatexchange computes)."""
    if dihedral:
        vectors, quality = _pdqhash().compute_dihedral(_rgb(pixels))
    else:
        vector, quality = _pdqhash().compute(_rgb(pixels))
        vectors = [vector]
    return [HashValue(algorithm=ALGORITHM, value=_vector_hex(v), quality=int(quality)) for v in vectors]


def _hash_fast(pixels: NDArray[np.uint8], *, dihedral: bool = False) -> list[HashValue]:
    """Through ``pdq_luma`` (the NumPy port): the same bits in our tests, several times faster on large images."""
    luma = pixels.astype(np.float32) if pixels.ndim == 2 else rgb_luma(pixels)
    return pdq_luma(luma, dihedral=dihedral)


def pdq_image(image: Image.Image) -> HashValue:
    """The PDQ hash (with its quality, 0-100) of a Pillow image, normalised as described in the module docstring.

    The whole image is hashed at its full size by ``pdqhash``: the hash equals python-threatexchange's for an RGB
    image.

    Raises:
        DetectionError: the image cannot be decoded (a lazily opened, corrupt or truncated file).
    """
    return _hash_exact(_pixels_of(image, fast=False, what="image"))[0]


def pdq_dihedral(image: Image.Image) -> list[HashValue]:
    """The PDQ hashes of the 8 rotations and flips of an image, in the order of ``DIHEDRAL`` (original first).

    Raises:
        DetectionError: the image cannot be decoded.
    """
    return _hash_exact(_pixels_of(image, fast=False, what="image"), dihedral=True)


def pdq_bytes(data: bytes, *, fast: bool = True) -> HashValue:
    """The PDQ hash of an image file's bytes.

    With ``fast`` (the default, for candidates), the image is decoded at reduced scale (see ``load_rgb``) and hashed
    by ``pdq_luma``; at most 10 bits from the exact hash for images of quality >= 80 (tested). Without, it is
    decoded whole and hashed by ``pdqhash``: python-threatexchange's hash, for reference hash lists.

    Raises:
        DetectionError: the bytes are not a decodable image, or a decompression bomb.
    """
    pixels = _load_pixels(data, fast=fast)
    return (_hash_fast(pixels) if fast else _hash_exact(pixels))[0]


def pdq_path(path: Path, *, fast: bool = True) -> HashValue:
    """The PDQ hash of an image file (``fast`` as for ``pdq_bytes``).

    Raises:
        DetectionError: the file is not a decodable image, or a decompression bomb.
    """
    pixels = _load_pixels(Path(path), fast=fast)
    return (_hash_fast(pixels) if fast else _hash_exact(pixels))[0]


# -- PDQ in NumPy (video frames) ---------------------------------------------------------------------------------

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def rgb_luma(pixels: NDArray[np.uint8]) -> NDArray[np.float32]:
    """PDQ's luma of an ``(h, w, 3)`` RGB array: ``0.299 R + 0.587 G + 0.114 B`` in single precision."""
    luma: NDArray[np.float32] = pixels.astype(np.float32) @ _LUMA
    return luma


@functools.lru_cache(maxsize=32)
def _jarosz(length: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Two passes of PDQ's box filter along one axis of ``length``, sampled at PDQ's 64 decimation points.

    Returns ``(index, weight)``, each ``(64, span)``: output ``k`` is ``sum(x[index[k]] * weight[k])``. Window size,
    the shrinking windows at the edges and the sampling points are those of the reference
    ``jaroszFilterFloat`` / ``decimateFloat``.
    """
    window = (length + 2 * 64 - 1) // (2 * 64)
    half = (window + 2) // 2
    ahead, behind = half - 1, window - half
    lo = np.maximum(np.arange(length) - behind, 0)
    hi = np.minimum(np.arange(length) + ahead + 1, length)
    points = ((np.arange(64) + 0.5) * length / 64).astype(np.intp)
    starts = np.array([lo[lo[p]] for p in points], dtype=np.intp)  # support of output k: [starts[k], ends[k])
    ends = np.array([hi[hi[p] - 1] for p in points], dtype=np.intp)
    span = int((ends - starts).max())
    starts = np.minimum(starts, length - span)  # one span for all outputs; stays inside the axis
    weight = np.zeros((64, span), dtype=np.float64)
    for k, p in enumerate(points):
        outer = 1.0 / (hi[p] - lo[p])
        for q in range(lo[p], hi[p]):
            weight[k, lo[q] - starts[k] : hi[q] - starts[k]] += outer / (hi[q] - lo[q])
    index = starts[:, None] + np.arange(span)[None, :]
    return index, weight


_DCT = (
    np.sqrt(2.0 / 64) * np.cos((np.pi / 2.0 / 64) * (np.arange(16)[:, None] + 1) * (2 * np.arange(64)[None, :] + 1))
).astype(np.float32).astype(np.float64)

_ODD = (np.arange(16) % 2 == 1)
_SIGN_J = np.where(_ODD, 1.0, -1.0)[None, :]  # by column: +1 at odd index
_SIGN_I = np.where(_ODD, 1.0, -1.0)[:, None]  # by row
_SIGN_IJ = np.where((np.arange(16)[:, None] + np.arange(16)[None, :]) % 2 == 1, -1.0, 1.0)


def _dct_variants(dct: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """The 16x16 DCT of the 8 dihedral transforms of an image, from the original's (reference sign tables)."""
    return [
        dct,
        (dct * _SIGN_J).T,
        dct * _SIGN_IJ,
        (dct * _SIGN_I).T,
        dct * _SIGN_I,
        dct * _SIGN_J,
        dct.T,
        (dct * _SIGN_IJ).T,
    ]


def _bits_hex(dct: NDArray[np.float64]) -> str:
    flat = dct.ravel()
    median = np.partition(flat, 127)[127]  # Torben's median of 256 values: the 128th smallest
    return np.packbits((flat > median)[::-1]).tobytes().hex()


def pdq_luma(luma: NDArray[np.float32], *, dihedral: bool = False) -> list[HashValue]:
    """PDQ hashes of a luma image (``rgb_luma``'s output), computed in NumPy.

    A port of the reference ``pdqHash256FromFloatLuma``: the same Jarosz box filters (evaluated only at the 64x64
    sampling points, in double precision), quality metric, 16x16 DCT and median. It agrees with ``pdqhash`` bit for
    bit on our test images; the reference's single-precision rounding can order two coefficients at the median
    differently, flipping 2 bits (1 of 160 benchmark video frames).

    Returns:
        One hash (``dihedral=False``) or the 8 of ``DIHEDRAL``; images smaller than 5x5 hash to zero, quality 0.
    """
    rows, cols = luma.shape
    if rows < _MIN_HASHABLE_DIM or cols < _MIN_HASHABLE_DIM:
        zero = HashValue(algorithm=ALGORITHM, value="0" * HEX_DIGITS, quality=0)
        return [zero] * (8 if dihedral else 1)
    col_index, col_weight = _jarosz(cols)
    row_index, row_weight = _jarosz(rows)
    across = np.einsum("rks,ks->rk", luma[:, col_index], col_weight)
    grid = np.einsum("ksc,ks->kc", across[row_index, :], row_weight).astype(np.float32)
    scale, span = np.float32(100), np.float32(255)
    down = np.trunc((grid[:-1, :] - grid[1:, :]) * scale / span).astype(np.int64)
    right = np.trunc((grid[:, :-1] - grid[:, 1:]) * scale / span).astype(np.int64)
    quality = min(100, int((np.abs(down).sum() + np.abs(right).sum()) // 90))
    dct = _DCT @ grid.astype(np.float64) @ _DCT.T
    variants = _dct_variants(dct) if dihedral else [dct]
    return [HashValue(algorithm=ALGORITHM, value=_bits_hex(v), quality=quality) for v in variants]


# -- detector ----------------------------------------------------------------------------------------------------


LOW_FREQUENCY_BITS = 64
_LOW_FREQUENCY_INT = sum(1 << (16 * i + j) for i in range(8) for j in range(8))
LOW_FREQUENCY_MASK: NDArray[np.uint64] = hash_matrix([f"{_LOW_FREQUENCY_INT:064x}"])[0]
"""The 64 bits of a PDQ hash that come from the lowest 8x8 DCT frequencies (bit ``16 * i + j``, ``i, j < 8``).

They move least when an image is cropped: ``PdqConfig.coarse_max_distance`` matches on them.
"""


class PdqConfig(BaseModel):
    """Thresholds and options of ``PdqDetector``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    max_distance: int = Field(default=31, ge=0, le=BITS, description="a match is this many bits apart or fewer")
    coarse_max_distance: int | None = Field(
        default=10, ge=0, le=LOW_FREQUENCY_BITS,
        description="crop-tolerant rule: also a match when the 64 low-frequency bits are this close and the whole "
        "hash within coarse_full_max_distance (None: off). Measured on synthetic scenes only; see "
        "docs/benchmarks.md",
    )
    coarse_full_max_distance: int = Field(
        default=80, ge=0, le=BITS, description="the whole-hash bound of the crop-tolerant rule"
    )
    min_quality: int = Field(
        default=50, ge=0, le=100, description="hashes of lower quality (flat, featureless images) are unreliable"
    )
    low_quality_max_distance: int = Field(
        default=10, ge=0, le=BITS,
        description="an unreliable pair this close is a 'suspect' for an officer to review, never a match",
    )
    dihedral: bool = Field(default=True, description="also match the candidate's 8 rotations and flips")
    crops: tuple[float, ...] = Field(
        default=(),
        description="centre crops of the candidate (fractions of each side, e.g. 0.9) also matched; off by "
        "default (they help with added borders only, at 3x the hashing cost; see docs/benchmarks.md)",
    )
    fast: bool = Field(default=True, description="decode the candidate at reduced scale (see pdq.load_rgb)")


def match_mask(
    full: NDArray[np.int64], low: NDArray[np.int64] | None, config: PdqConfig | None = None
) -> NDArray[np.bool_]:
    """Which pairs match under ``config``'s distance rules (qualities aside), from their whole-hash distances and
    low-frequency distances (``distance_matrix(..., mask=LOW_FREQUENCY_MASK)``; ``None`` skips the coarse rule)."""
    config = config or PdqConfig()
    ok: NDArray[np.bool_] = full <= config.max_distance
    if config.coarse_max_distance is not None and low is not None:
        ok = ok | ((low <= config.coarse_max_distance) & (full <= config.coarse_full_max_distance))
    return ok


def _centre_crop(pixels: NDArray[np.uint8], fraction: float) -> NDArray[np.uint8]:
    h, w = pixels.shape[:2]
    ch, cw = max(1, round(h * fraction)), max(1, round(w * fraction))
    top, left = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(pixels[top : top + ch, left : left + cw, ...])


def pdq_variants(
    pixels: NDArray[np.uint8], *, dihedral: bool = True, crops: Iterable[float] = (), exact: bool = False
) -> list[tuple[str, HashValue]]:
    """The hashes ``PdqDetector`` matches for one image (``load_rgb``'s pixels, or grey ``(h, w)``), each named.

    The original first; with ``dihedral`` the other 7 of ``DIHEDRAL``; then, for each fraction in ``crops``, the
    centred crop keeping that share of each side (``crop90``, and its rotations and flips as ``crop90_flip_y``...).
    Hashed by ``pdq_luma``, or by ``pdqhash`` with ``exact``.
    """
    hasher = _hash_exact if exact else _hash_fast
    names = DIHEDRAL if dihedral else DIHEDRAL[:1]
    named = list(zip(names, hasher(pixels, dihedral=dihedral), strict=True))
    for fraction in crops:
        label = f"crop{round(fraction * 100)}"
        hashes = hasher(_centre_crop(pixels, fraction), dihedral=dihedral)
        named += [(label if n == "original" else f"{label}_{n}", h) for n, h in zip(names, hashes, strict=True)]
    return named


class PdqDetector:
    """Perceptual match of images against the case's ``pdq`` references, with rotations, flips and crops.

    Each of the candidate's variants (``pdq_variants``: the original, its rotations and flips, optional centre
    crops) is compared with each PDQ image reference. The verdict, for the closest pair:

    - ``match``: both hashes have quality >= ``min_quality`` and they are within ``max_distance`` bits (PDQ's rule);
      or, failing that, the crop-tolerant rule holds: the 64 low-frequency bits are within
      ``coarse_max_distance`` and the whole hashes within ``coarse_full_max_distance`` (the rationale says so);
    - ``suspect``: one of the two hashes has lower quality (a flat image: its bits are mostly noise), but they are
      within ``low_quality_max_distance`` bits: an officer decides;
    - ``no_match`` otherwise, with the nearest distance (and the low quality, if so) in the rationale.

    The score is ``1 - distance / 256`` for a match or a suspect, 0 for no match.
    """

    name: ClassVar[str] = "pdq"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.IMAGE})

    def __init__(self, config: PdqConfig | None = None) -> None:
        self.config = config or PdqConfig()

    def candidate_hashes(self, item: Media) -> list[tuple[str, HashValue]]:
        """The candidate's hashes to match, each with the variant's name (``original``, ``flip_y``, ``crop90``...).

        Raises:
            DetectionError: the media has no bytes on disk, or cannot be decoded.
        """
        config = self.config
        stored = [h for h in item.hashes if h.algorithm == ALGORITHM and h.frame is None]
        if stored and not config.dihedral and not config.crops:
            return [("original", stored[0])]
        if item.blob is None:
            raise DetectionError("pdq judges downloaded media (the item has no blob)", plugin=self.name)
        pixels = _load_pixels(Path(item.blob), fast=config.fast)
        return pdq_variants(pixels, dihedral=config.dihedral, crops=config.crops, exact=not config.fast)

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """Match an image against the case's PDQ image references (see the class docstring for the verdicts).

        Raises:
            DetectionError: the item is not a downloaded image, or cannot be decoded.
        """
        if not isinstance(item, Media) or item.kind is not MediaKind.IMAGE:
            raise DetectionError("pdq judges downloaded images", plugin=self.name)
        config = self.config
        refs = [
            r for r in case.references if r.algorithm == ALGORITHM and r.kind is MediaKind.IMAGE and r.frame is None
        ]
        hashes = self.candidate_hashes(item)

        def verdict(label: DetectionLabel, rationale: str, pair: tuple[int, int] | None = None) -> Detection:
            matched, score = None, 0.0
            if pair is not None:
                distance, ref = int(full[pair]), refs[pair[1]]
                matched = MatchedReference(bank=ref.bank, reference=ref.reference, algorithm=ALGORITHM,
                                           distance=float(distance))
                score = round(1 - distance / BITS, 4)
            return Detection(detector=self.name, target=item.sha256, kind=ItemKind.IMAGE, label=label,
                             score=score, matched=matched, rationale=rationale)

        if not refs:
            return verdict(DetectionLabel.NO_MATCH, "the case has no PDQ image references")
        candidates = hash_matrix(h.value for _, h in hashes)
        try:
            references = hash_matrix(r.value for r in refs)
        except UsageError as exc:
            raise DetectionError(f"the case holds a malformed PDQ reference: {exc}", plugin=self.name) from exc
        full = distance_matrix(candidates, references)
        low = distance_matrix(candidates, references, mask=LOW_FREQUENCY_MASK)
        quality = hashes[0][1].quality
        candidate_ok = quality is None or quality >= config.min_quality
        reliable = np.array([candidate_ok and (r.quality is None or r.quality >= config.min_quality) for r in refs])

        def describe(pair: tuple[int, int]) -> str:
            variant = hashes[pair[0]][0]
            how = "" if variant == "original" else f" (as {variant.replace('_', ' ')})"
            return f"PDQ of reference {refs[pair[1]].reference}: {int(full[pair])} bits apart{how}"

        strict = (full <= config.max_distance) & reliable[None, :]
        if strict.any():
            pair = _closest(full, strict)
            return verdict(DetectionLabel.MATCH, describe(pair), pair)
        coarse = match_mask(full, low, config) & reliable[None, :]
        if coarse.any():
            pair = _closest(full, coarse)
            return verdict(
                DetectionLabel.MATCH,
                f"{describe(pair)}; crop-tolerant rule: the low-frequency bits are {int(low[pair])} of 64 apart",
                pair,
            )
        weak = (full <= config.low_quality_max_distance) & ~reliable[None, :]
        if weak.any():
            pair = _closest(full, weak)
            which = "image's" if not candidate_ok else f"reference {refs[pair[1]].reference}'s"
            return verdict(
                DetectionLabel.SUSPECT,
                f"{describe(pair)}, but the {which} hash has low quality (< {config.min_quality}): an officer "
                "should compare them",
                pair,
            )
        nearest = int(full.min())
        if not candidate_ok:
            return verdict(DetectionLabel.NO_MATCH, f"the image's PDQ quality is {quality} (< {config.min_quality}): "
                           f"too flat to match reliably; nearest reference {nearest} bits apart")
        return verdict(DetectionLabel.NO_MATCH,
                       f"no PDQ reference within {config.max_distance} bits (nearest: {nearest})")


def _closest(distances: NDArray[np.int64], allowed: NDArray[np.bool_]) -> tuple[int, int]:
    """(variant row, reference column) of the smallest allowed distance; ties go to the earliest variant."""
    masked = np.where(allowed, distances, np.iinfo(np.int64).max)
    row, column = divmod(int(np.argmin(masked)), distances.shape[1])
    return row, column
