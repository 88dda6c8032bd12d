"""Image hashing benchmark: takedown's PDQ fast path against python-threatexchange's PDQ hasher, on 12 MP JPEGs.

    python benchmarks/image_hashing.py [--quick] [--images N] [--cache DIR] [--out FILE.json] [--plot FILE.png]

Images: synthetic 4000x3000 scenes (gradients, fractal "clouds", shapes, lines, text, blur, grain; a seeded
generator, ``synthetic_scene``, shared with the robustness benchmark) saved as JPEG at quality 70 to 95, generated
once into a cache folder (not committed). Nothing resembling a person.

Peer: ``threatexchange.signal_type.pdq.pdq_hasher.pdq_from_file`` (``pip install threatexchange``; a benchmark
dependency, not takedown's): Pillow decodes the whole image, ``pdqhash`` hashes it at full size. If
python-threatexchange cannot be imported, the peer is the same thing written out here (full Pillow decode +
``pdqhash.compute``), and the output says so.

takedown: ``takedown.detect.pdq.pdq_path(path, fast=True)``: libjpeg decodes the luma plane at 1/2, 1/4 or 1/8
scale (``Image.draft``) keeping the short side >= 1024 px (2000x1500 for these), then ``pdq_luma`` (takedown's
NumPy port of PDQ) hashes it.

Both run in this process, pinned to one CPU, alternating image by image; each image is hashed ``--repeats`` times
by each (median). Agreement: the Hamming distance between the two hashes of each image; ``max_distance`` is over
the images of quality >= 80.

The last line printed is machine-readable:
``RESULT speedup_vs_pytx=X max_distance=N images=K peer=pytx|pillow_pdqhash``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from takedown.detect.pdq import hamming, pdq_path

ROOT = Path(__file__).resolve().parent.parent
SIZE = (4000, 3000)
FULL = {"images": 200, "repeats": 3}
QUICK = {"images": 12, "repeats": 1}


# -- synthetic scenes --------------------------------------------------------------------------------------------


def _clouds(rng: np.random.Generator, width: int, height: int, octaves: int = 5) -> np.ndarray:
    """Fractal value noise: random grids of growing resolution, upscaled and summed."""
    out = np.zeros((height, width), np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        cw, ch = max(2, width >> (octaves - octave + 1)), max(2, height >> (octaves - octave + 1))
        grid = Image.fromarray((rng.random((ch, cw)) * 255).astype(np.uint8))
        out += amplitude * (np.asarray(grid.resize((width, height), Image.Resampling.BICUBIC), np.float32) - 128)
        amplitude *= 0.55
    return out


def synthetic_scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A varied, seeded synthetic RGB scene: a gradient or clouds, shapes, lines, text, maybe blur, and grain.

    Painted at most 1024 px wide and upscaled, so 12 MP scenes are cheap; every seed gives a different layout,
    palette and texture. Nothing in it resembles a person.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    scale = max(1, max(width, height) // 1024)
    sw, sh = width // scale, height // scale
    kind = int(rng.integers(0, 3))
    if kind == 0:
        angle = rng.uniform(0, 2 * np.pi)
        t = (np.arange(sw, dtype=np.float32)[None, :] * np.float32(np.cos(angle))
             + np.arange(sh, dtype=np.float32)[:, None] * np.float32(np.sin(angle)))
    elif kind == 1:
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        t = np.hypot(np.arange(sw, dtype=np.float32)[None, :] - np.float32(cx),
                     np.arange(sh, dtype=np.float32)[:, None] - np.float32(cy))
    else:
        t = _clouds(rng, sw, sh, 4)
    t = ((t - t.min()) / max(float(t.max() - t.min()), 1e-6))[..., None]
    c0, c1 = rng.uniform(0, 255, 3).astype(np.float32), rng.uniform(0, 255, 3).astype(np.float32)
    pixels = c0 + (c1 - c0) * t
    weights = (rng.uniform(0.1, 0.6) * rng.uniform(0.5, 1.5, 3)).astype(np.float32)
    pixels += _clouds(rng, sw, sh)[..., None] * weights
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 14))):
        shape = int(rng.integers(0, 5))
        x0, y0 = rng.uniform(-0.1, 1.0) * sw, rng.uniform(-0.1, 1.0) * sh
        bw, bh = rng.uniform(0.05, 0.5) * sw, rng.uniform(0.05, 0.5) * sh
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x0 + bw, y0 + bh), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x0 + bw, y0 + bh), fill=colour)
        elif shape == 2:
            points = [(x0 + rng.uniform(0, bw), y0 + rng.uniform(0, bh)) for _ in range(int(rng.integers(3, 7)))]
            draw.polygon(points, fill=colour)
        elif shape == 3:
            draw.line((x0, y0, x0 + bw, y0 + bh), fill=colour, width=int(rng.integers(2, max(3, sw // 40))))
        else:
            text = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(3, 10))))
            font = ImageFont.load_default(size=int(rng.integers(sh // 20, sh // 6 + 2)))
            draw.text((x0, y0), text, fill=colour, font=font)
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 3)))
    if scale > 1:
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    grain = rng.standard_normal((height, width, 1), dtype=np.float32) * np.float32(rng.uniform(1, 6))
    return Image.fromarray(np.clip(np.asarray(image, np.float32) + grain, 0, 255).astype(np.uint8))


def images(cache: Path, count: int) -> list[Path]:
    """The benchmark JPEGs (generated on first use)."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(count):
        path = cache / f"scene{n:04d}.jpg"
        if not path.exists():
            quality = int(np.random.default_rng(n).integers(70, 96))
            tmp = path.with_suffix(".part")
            synthetic_scene(5000 + n, SIZE).save(tmp, format="JPEG", quality=quality)
            tmp.replace(path)
        out.append(path)
    return out


# -- hashers -----------------------------------------------------------------------------------------------------


def _peer() -> tuple[str, Callable[[Path], tuple[str, int]]]:
    try:
        from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file
    except ImportError:
        return "pillow_pdqhash", _pillow_pdqhash

    def run(path: Path) -> tuple[str, int]:
        value, quality = pdq_from_file(path)
        return str(value), int(quality)

    return "pytx", run


def _pillow_pdqhash(path: Path) -> tuple[str, int]:
    import pdqhash

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    vector, quality = pdqhash.compute(pixels)
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex(), int(quality)


def _takedown(path: Path) -> tuple[str, int]:
    h = pdq_path(path, fast=True)
    return h.value, int(h.quality or 0)


def _time(fn: Callable[[Path], tuple[str, int]], path: Path) -> tuple[float, tuple[str, int]]:
    started = time.perf_counter()
    result = fn(path)
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="12 images, 1 run each (under a minute)")
    parser.add_argument("--images", type=int, help="how many images (default 200, quick 12)")
    parser.add_argument("--repeats", type=int, help="timed runs per image and hasher (median reported)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "takedown-bench" / "images")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: docs/img/image_hashing.json; with --quick, a temporary folder")
    parser.add_argument("--plot", type=Path, default=None,
                        help="default: beside --out, as .png")
    args = parser.parse_args(argv)
    # A quick run must not overwrite the full run's figures that docs/benchmarks.md shows.
    folder = Path(tempfile.mkdtemp(prefix="takedown-bench-")) if args.quick else ROOT / "docs" / "img"
    args.out = args.out or folder / "image_hashing.json"
    args.plot = args.plot or args.out.with_suffix(".png")
    if hasattr(os, "sched_setaffinity"):  # one CPU for both hashers (and the generator)
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    plan = QUICK if args.quick else FULL
    count, repeats = args.images or plan["images"], args.repeats or plan["repeats"]
    peer_name, peer = _peer()
    print(f"takedown image hashing benchmark: {count} synthetic {SIZE[0]}x{SIZE[1]} JPEGs, PDQ, vs {peer_name}")
    print(f"machine: {os.cpu_count()} CPUs (pinned to 1), {platform.machine()}, {platform.platform()}, "
          f"Python {platform.python_version()}")
    if peer_name != "pytx":
        print("NOTE: python-threatexchange is not installed; the peer is a full Pillow decode + pdqhash instead")
    started = time.perf_counter()
    paths = images(args.cache, count)
    print(f"images ready in {time.perf_counter() - started:.1f} s (cached in {args.cache})")
    peer(paths[0])
    _takedown(paths[0])

    rows: list[dict[str, Any]] = []
    for path in paths:
        peer_times, our_times = [], []
        peer_hash, our_hash = ("", 0), ("", 0)
        for _ in range(repeats):
            seconds, peer_hash = _time(peer, path)
            peer_times.append(seconds)
            seconds, our_hash = _time(_takedown, path)
            our_times.append(seconds)
        rows.append({
            "image": path.name, "bytes": path.stat().st_size, "peer_s": statistics.median(peer_times),
            "takedown_s": statistics.median(our_times), "peer_hash": peer_hash[0], "takedown_hash": our_hash[0],
            "quality": peer_hash[1], "distance": hamming(peer_hash[0], our_hash[0]),
        })
    peer_total = sum(r["peer_s"] for r in rows)
    our_total = sum(r["takedown_s"] for r in rows)
    speedup = peer_total / our_total
    good = [r for r in rows if r["quality"] >= 80]
    max_distance = max((r["distance"] for r in good), default=0)
    distances = [r["distance"] for r in rows]
    print(f"\n{'':<28}{'per image ms':>14}{'images/s':>10}")
    print(f"{peer_name:<28}{peer_total / len(rows) * 1000:>14.1f}{len(rows) / peer_total:>10.2f}")
    print(f"{'takedown (fast path)':<28}{our_total / len(rows) * 1000:>14.1f}{len(rows) / our_total:>10.2f}")
    print(f"speedup: {speedup:.2f}x")
    print(f"distance to the peer's hash: max {max(distances)}, mean {np.mean(distances):.2f}, "
          f"median {statistics.median(distances)} bits ({len(good)} of {len(rows)} images have quality >= 80; "
          f"max among them {max_distance})")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "pinned_cpus": 1, "platform": platform.platform(),
               "python": platform.python_version()}
    args.out.write_text(json.dumps({"peer": peer_name, "machine": machine, "repeats": repeats, "size": SIZE,
                                    "speedup": speedup, "max_distance_q80": max_distance, "images": rows},
                                   indent=2) + "\n")
    print(f"raw numbers written to {args.out}")
    _plot(rows, peer_name, args.plot)
    print(f"RESULT speedup_vs_{'pytx' if peer_name == 'pytx' else 'pillow'}={speedup:.2f} "
          f"max_distance={max_distance} images={len(rows)} peer={peer_name}")
    return 0


def _plot(rows: list[dict[str, Any]], peer_name: str, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot", file=sys.stderr)
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.hist([r["peer_s"] * 1000 for r in rows], bins=20, alpha=0.7, label=peer_name)
    left.hist([r["takedown_s"] * 1000 for r in rows], bins=20, alpha=0.7, label="takedown (fast path)")
    left.set_xlabel("ms per 12 MP JPEG (one CPU)")
    left.set_ylabel("images")
    left.legend()
    distances = [r["distance"] for r in rows]
    right.hist(distances, bins=range(0, max(distances) + 2), color="tab:green")
    right.set_xlabel("bits between takedown's and the peer's hash")
    right.set_ylabel("images")
    fig.suptitle("PDQ of synthetic 4000x3000 JPEGs")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"plot written to {out}")


if __name__ == "__main__":
    sys.exit(main())
