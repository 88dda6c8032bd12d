"""Robustness benchmark: recall of PDQ matching under common edits, and its false-match rate, plain vs takedown.

    python benchmarks/robustness.py [--quick] [--bases N] [--pool N] [--out FILE.json] [--plot FILE.png]

Bases: ``--bases`` synthetic scenes (``image_hashing.synthetic_scene``, 480x360, seeded), hashed as references
(PDQ of the full image). Each is edited by every transformation below and the edit is matched against its base:

    jpeg 30/50/70/90 (quality), resize 25/50/150/200 %, crop 1/3/5/10 % (of each side's length, split at random
    between the two edges), flip (left-right), rotate 90/180, border (10 % coloured padding), text (a caption
    drawn over the picture), grey (greyscale), brightness +20 % / -20 %

Methods, all at PDQ's threshold (a match is <= 31 bits apart, both hashes of quality >= 50):

- **plain PDQ** (the peer, what StopNCII/HMA-style matching does): the edit's hash against the base's hash;
- **dihedral**: the edit's 8 rotations and flips (``PdqConfig(coarse_max_distance=None)``);
- **takedown** (``PdqDetector``'s defaults): dihedral, plus the crop-tolerant rule (the 64 lowest-frequency bits
  within 10 and the whole hash within 80 bits);
- **takedown + crops** (``PdqConfig(crops=(0.9, 0.8))``): also centre crops of the edit, 90 % and 80 %.

Recall = the share of bases (of quality >= 50) whose edit matches. False-match rate = the share of ordered pairs
(candidate, reference) of *different* scenes that match, over a pool of ``--pool`` scenes (pool x (pool - 1)
pairs, >= 1,000,000), computed with a vectorised popcount over hash matrices.

Caveat: unrelated synthetic scenes are not natural photos. Their hashes may be more alike (shared gradients) or
less (no common photographic structure) than those of real photos; the generator varies layout, palette and
texture per seed to keep them apart, but read the false-match rate as this corpus's, not the world's.

The last line printed is machine-readable:
``RESULT flip_recall_gain=X rotation_recall_gain=Y crop_recall_gain=Z false_match_rate=F ...`` where the gains are
takedown's recall minus plain PDQ's (percentage points / 100) on flips, rotations (mean of 90 and 180) and crops
(mean of the four), and the rate is takedown's default method's.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_hashing import synthetic_scene

from takedown.detect.pdq import (
    LOW_FREQUENCY_MASK,
    PdqConfig,
    distance_matrix,
    hash_matrix,
    match_mask,
    pdq_variants,
)

ROOT = Path(__file__).resolve().parent.parent
SIZE = (480, 360)
THRESHOLD = 31
MIN_QUALITY = 50
CROPS = (0.9, 0.8)
FULL = {"bases": 300, "pool": 2000}
QUICK = {"bases": 100, "pool": 1024}
METHODS = ("plain", "dihedral", "takedown", "takedown+crops")
CONFIGS = {
    "plain": PdqConfig(dihedral=False, coarse_max_distance=None),
    "dihedral": PdqConfig(coarse_max_distance=None),
    "takedown": PdqConfig(),
    "takedown+crops": PdqConfig(crops=CROPS),
}


# -- transformations ---------------------------------------------------------------------------------------------


def _jpeg(quality: int) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    def edit(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return edit


def _resize(percent: int) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    def edit(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = image.size
        return image.resize((max(8, w * percent // 100), max(8, h * percent // 100)), Image.Resampling.BICUBIC)
    return edit


def _crop(percent: int) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    def edit(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = image.size
        cut_w, cut_h = round(w * percent / 100), round(h * percent / 100)
        left, top = int(rng.integers(0, cut_w + 1)), int(rng.integers(0, cut_h + 1))
        return image.crop((left, top, w - (cut_w - left), h - (cut_h - top)))
    return edit


def _border(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    return ImageOps.expand(image, border=(w // 10, h // 10), fill=colour)


def _text(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    font = ImageFont.load_default(size=h // 9)
    y = int(rng.uniform(0.05, 0.8) * h)
    draw.text((w // 20, y), "@reposted_here 2026", fill=(255, 255, 255), font=font, stroke_width=2,
              stroke_fill=(0, 0, 0))
    return out


def _brightness(factor: float) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    def edit(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        return ImageEnhance.Brightness(image).enhance(factor)
    return edit


TRANSFORMS: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    **{f"jpeg{q}": _jpeg(q) for q in (30, 50, 70, 90)},
    **{f"resize{p}": _resize(p) for p in (25, 50, 150, 200)},
    **{f"crop{p}": _crop(p) for p in (1, 3, 5, 10)},
    "flip": lambda image, rng: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "rotate90": lambda image, rng: image.transpose(Image.Transpose.ROTATE_90),
    "rotate180": lambda image, rng: image.transpose(Image.Transpose.ROTATE_180),
    "border": _border,
    "text": _text,
    "grey": lambda image, rng: image.convert("L").convert("RGB"),
    "brighter20": _brightness(1.2),
    "darker20": _brightness(0.8),
}


# -- hashing -----------------------------------------------------------------------------------------------------


def variants(image: Image.Image, *, crops: bool = True) -> dict[str, tuple[list[str], int]]:
    """Per method, the candidate hashes of ``image`` and its quality (without ``crops``, +crops = takedown)."""
    pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    named = pdq_variants(pixels, dihedral=True, crops=CROPS if crops else ())
    quality = int(named[0][1].quality or 0)
    values = [h.value for _, h in named]
    return {"plain": (values[:1], quality), "dihedral": (values[:8], quality), "takedown": (values[:8], quality),
            "takedown+crops": (values, quality)}


def _matches(candidates: np.ndarray, references: np.ndarray, method: str) -> np.ndarray:  # recall: one reference
    """Which (candidate hash, reference) pairs match under ``method``'s rules."""
    full = distance_matrix(candidates, references)
    low = distance_matrix(candidates, references, mask=LOW_FREQUENCY_MASK)
    return match_mask(full, low, CONFIGS[method])


def _pool_entry(seed: int) -> dict[str, tuple[list[str], int]]:
    return variants(synthetic_scene(seed, SIZE))


def _pool_entry_no_crops(seed: int) -> dict[str, tuple[list[str], int]]:
    return variants(synthetic_scene(seed, SIZE), crops=False)


def _base_entry(seed: int) -> dict[str, dict[str, tuple[list[str], int]]]:
    scene = synthetic_scene(seed, SIZE)
    rng = np.random.default_rng([seed, 7])
    out = {"base": variants(scene)}
    for name, transform in TRANSFORMS.items():
        out[name] = variants(transform(scene, rng))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 bases, 1024-scene pool (under a minute)")
    parser.add_argument("--bases", type=int)
    parser.add_argument("--pool", type=int, help="scenes for the false-match rate (pairs = pool x (pool - 1))")
    parser.add_argument("--workers", type=int, help="processes for hashing (default: one per CPU, at most 8)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: docs/img/robustness.json; with --quick, a temporary folder")
    parser.add_argument("--plot", type=Path, default=None,
                        help="default: beside --out, as .png")
    args = parser.parse_args(argv)
    # A quick run must not overwrite the full run's figures that docs/benchmarks.md shows.
    folder = Path(tempfile.mkdtemp(prefix="takedown-bench-")) if args.quick else ROOT / "docs" / "img"
    args.out = args.out or folder / "robustness.json"
    args.plot = args.plot or args.out.with_suffix(".png")
    plan = QUICK if args.quick else FULL
    n_bases, n_pool = args.bases or plan["bases"], args.pool or plan["pool"]
    started = time.perf_counter()
    print(f"takedown robustness benchmark: {n_bases} bases x {len(TRANSFORMS)} edits, {n_pool}-scene pool "
          f"({n_pool * (n_pool - 1):,} unrelated pairs), PDQ threshold {THRESHOLD}, quality >= {MIN_QUALITY}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}")

    # The pool holds the bases too: scene i of the pool is base i. Hashing runs on every CPU.
    workers = max(1, min(args.workers or (os.cpu_count() or 1), 8))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        bases = list(pool.map(_base_entry, range(n_bases), chunksize=4))
        hash_scene = _pool_entry_no_crops if args.quick else _pool_entry
        pool_hashes = [b["base"] for b in bases] + list(pool.map(hash_scene, range(n_bases, n_pool), chunksize=16))
    recall_hits = {m: dict.fromkeys(TRANSFORMS, 0) for m in METHODS}
    usable = 0
    for entry in bases:
        reference, quality = entry["base"]["plain"][0][0], entry["base"]["plain"][1]
        if quality < MIN_QUALITY:
            continue
        usable += 1
        ref_matrix = hash_matrix([reference])
        for name in TRANSFORMS:
            for method in METHODS:
                values, q = entry[name][method]
                if q >= MIN_QUALITY and _matches(hash_matrix(values), ref_matrix, method).any():
                    recall_hits[method][name] += 1
    print(f"hashed in {time.perf_counter() - started:.1f} s ({workers} processes); {usable} of {n_bases} bases "
          f"have quality >= {MIN_QUALITY}")
    recall = {m: {t: recall_hits[m][t] / max(usable, 1) for t in TRANSFORMS} for m in METHODS}

    # False matches: candidate variants of scene i against the reference (plain hash) of scene j, i != j.
    good = [i for i, h in enumerate(pool_hashes) if h["plain"][1] >= MIN_QUALITY]
    references = hash_matrix(pool_hashes[i]["plain"][0][0] for i in good)
    pairs = len(good) * (len(good) - 1)
    false_matches: dict[str, int] = {}
    nearest_unrelated: dict[str, int] = {}
    coarse_margin: dict[str, int] = {}  # the closest low-frequency distance of an unrelated pair within 80 bits
    fmr_methods = [m for m in METHODS if not (args.quick and m == "takedown+crops")]  # quick: pool without crops
    for method in fmr_methods:
        owners = np.repeat(np.arange(len(good)), [len(pool_hashes[i][method][0]) for i in good])
        candidates = hash_matrix(v for i in good for v in pool_hashes[i][method][0])
        hit_pairs: set[tuple[int, int]] = set()
        nearest = 256
        coarse_nearest = 64
        config = CONFIGS[method]
        for start in range(0, candidates.shape[0], 2048):
            rows = owners[start : start + 2048]
            block = candidates[start : start + 2048]
            full = distance_matrix(block, references)
            low = distance_matrix(block, references, mask=LOW_FREQUENCY_MASK)
            full[np.arange(len(rows)), rows] = 256  # a scene against itself is not a false match
            low[np.arange(len(rows)), rows] = 64
            close = match_mask(full, low, config)
            # a (candidate scene, reference) pair counts once, however many of its variants hit
            hit_pairs |= {(int(rows[r]), int(c)) for r, c in zip(*np.nonzero(close), strict=True)}
            nearest = min(nearest, int(full.min()))
            if config.coarse_max_distance is not None:
                within = low[full <= config.coarse_full_max_distance]
                coarse_nearest = min(coarse_nearest, int(within.min()) if within.size else 64)
        false_matches[method] = len(hit_pairs)
        nearest_unrelated[method] = nearest
        if config.coarse_max_distance is not None:
            coarse_margin[method] = coarse_nearest
    fmr: dict[str, float | None] = {m: false_matches[m] / pairs if m in false_matches else None for m in METHODS}

    header = f"{'edit':<12}" + "".join(f"{m:>16}" for m in METHODS)
    print(f"\nrecall at <= {THRESHOLD} bits\n{header}")
    for name in TRANSFORMS:
        print(f"{name:<12}" + "".join(f"{recall[m][name]:>16.3f}" for m in METHODS))
    print(f"\nfalse matches over {pairs:,} unrelated pairs ({len(good)} scenes of quality >= {MIN_QUALITY})")
    for m in fmr_methods:
        margin = (f"; within {CONFIGS[m].coarse_full_max_distance} bits, the closest low-frequency bits "
                  f"{coarse_margin[m]} of 64 (rule: <= {CONFIGS[m].coarse_max_distance})" if m in coarse_margin else "")
        print(f"  {m:<16} {false_matches[m]:>6}  rate {fmr[m]:.2e}  nearest unrelated pair {nearest_unrelated[m]} bits"
              + margin)
    if len(fmr_methods) < len(METHODS):
        print("  takedown+crops   (not measured with --quick: the pool is hashed without crops)")

    def mean(method: str, names: list[str]) -> float:
        return float(np.mean([recall[method][n] for n in names]))

    crops = [f"crop{p}" for p in (1, 3, 5, 10)]
    rotations = ["rotate90", "rotate180"]
    gains = {
        "flip": recall["takedown"]["flip"] - recall["plain"]["flip"],
        "rotation": mean("takedown", rotations) - mean("plain", rotations),
        "crop": mean("takedown", crops) - mean("plain", crops),
        "crop_with_crops": mean("takedown+crops", crops) - mean("plain", crops),
        "border_with_crops": recall["takedown+crops"]["border"] - recall["plain"]["border"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "bases": n_bases, "usable_bases": usable, "pool": n_pool, "pool_quality_ok": len(good), "pairs": pairs,
        "threshold": THRESHOLD, "min_quality": MIN_QUALITY, "size": SIZE, "crops": CROPS, "recall": recall,
        "false_matches": false_matches, "false_match_rate": fmr, "nearest_unrelated": nearest_unrelated,
        "coarse_margin": coarse_margin,
        "gains": gains, "seconds": time.perf_counter() - started,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nraw numbers written to {args.out}")
    _plot(recall, fmr, pairs, args.plot)
    print(f"RESULT flip_recall_gain={gains['flip']:.3f} rotation_recall_gain={gains['rotation']:.3f} "
          f"crop_recall_gain={gains['crop']:.3f} false_match_rate={fmr['takedown']:.2e} "
          f"plain_false_match_rate={fmr['plain']:.2e} crops_false_match_rate={_rate(fmr['takedown+crops'])} "
          f"crop_recall_gain_with_crops={gains['crop_with_crops']:.3f} pairs={pairs}")
    return 0


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2e}"


def _plot(recall: dict[str, dict[str, float]], fmr: dict[str, float | None], pairs: int, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot", file=sys.stderr)
        return
    names = list(TRANSFORMS)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(12, 4.8))
    width = 0.2
    for k, method in enumerate(METHODS):
        label = f"{method} (false-match rate {_rate(fmr[method])})"
        ax.bar(x + (k - 1.5) * width, [recall[method][n] for n in names], width, label=label)
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylabel(f"recall at <= {THRESHOLD} bits")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"PDQ recall per edit on synthetic scenes; false matches over {pairs:,} unrelated pairs")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"plot written to {out}")


if __name__ == "__main__":
    sys.exit(main())
