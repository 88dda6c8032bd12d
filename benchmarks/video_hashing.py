"""Video hashing benchmark: takedown's vPDQ-compatible hasher against Meta's ``vpdq`` package, one hash a second.

    python benchmarks/video_hashing.py [--quick] [--repeats N] [--cache DIR] [--out FILE.json] [--plot FILE.png]

Clips: synthetic 720p (1280x720) H.264 at 30 fps (moving shapes over a drifting gradient with texture and a
running clock), encoded once with PyAV/libx264 into a cache folder (not committed). Half use x264's default
group of pictures (a keyframe at most every 250 frames), half a 2-second one (Apple's HLS authoring spec
and most streaming ladders); both have x264's default 3 B-frames.

Peer: ``vpdq.computeHash(path, seconds_per_hash=1, thread_count=1)`` (``pip install vpdq``; it builds against the
system FFmpeg: ``apt-get install libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev
pkg-config cmake``). If ``vpdq`` cannot be imported, the peer is a naive PyAV hasher (decode every frame, convert
the sampled ones to RGB at full size, ``pdqhash`` them), and the output says so.

Fairness: the whole process is pinned to one CPU (``os.sched_setaffinity``) before anything starts a thread;
vpdq's hashing runs with ``thread_count=1`` and its decoder (slice threads, count "auto") then has one CPU;
takedown decodes with slice threads on the same single CPU. Runs alternate between the two hashers and the
median of ``--repeats`` runs per clip is reported. Both sides include opening the file; takedown's time also
includes the SHA-256 and MD5 of the file, which vpdq does not compute.

Agreement: for each frame both hashed (same frame number), the Hamming distance between the two hashes.

The last line printed is machine-readable:
``RESULT speedup_vs_vpdq=X max_bits=N clips=K frames=F peer=vpdq|naive_pyav``.
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

if hasattr(os, "sched_setaffinity"):  # before numpy/av start any thread pool of their own
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import av

from takedown.detect.pdq import hamming
from takedown.detect.video import vpdq_video

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT, FPS = 1280, 720, 30
FULL = {"clips": 8, "seconds": 20, "repeats": 3}
QUICK = {"clips": 2, "seconds": 8, "repeats": 1}
GOPS = {"x264-default": 250, "2s-gop": 2 * FPS}


# -- synthetic clips ---------------------------------------------------------------------------------------------


def _frames(seed: int, seconds: int) -> Iterator[np.ndarray]:
    """Moving shapes over a drifting, textured gradient, with a clock: nothing resembling a person."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    c0, c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = (xs / WIDTH)[..., None]
    u = (ys / HEIGHT)[..., None]
    base = c0 * (1 - t) * (1 - u) + c1 * t + c2 * u * (1 - t)
    texture = rng.normal(0, 14, (HEIGHT // 8, WIDTH // 8, 3)).repeat(8, 0).repeat(8, 1)
    background = np.clip(base + texture, 0, 255).astype(np.uint8)
    shapes = [
        (rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT), rng.uniform(-9, 9), rng.uniform(-6, 6),
         int(rng.integers(30, 170)), tuple(int(c) for c in rng.integers(0, 256, 3)), int(rng.integers(0, 2)))
        for _ in range(int(rng.integers(6, 12)))
    ]
    font = ImageFont.load_default(size=48)
    for i in range(seconds * FPS):
        image = Image.fromarray(np.roll(background, (i * 3) % WIDTH, axis=1))
        draw = ImageDraw.Draw(image)
        for x, y, vx, vy, r, colour, square in shapes:
            cx, cy = (x + vx * i) % WIDTH, (y + vy * i) % HEIGHT
            box = (cx - r, cy - r, cx + r, cy + r)
            (draw.rectangle if square else draw.ellipse)(box, fill=colour)
        draw.text((40, 40), f"{i / FPS:6.2f} s", fill=(255, 255, 255), font=font)
        yield np.asarray(image)


def make_clip(path: Path, *, seed: int, seconds: int, gop: int) -> None:
    """Encode one clip with libx264 (veryfast, default B-frames), written atomically."""
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "g": str(gop)})
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = WIDTH, HEIGHT, "yuv420p", 3_000_000
        for array in _frames(seed, seconds):
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.replace(path)


def clips(cache: Path, count: int, seconds: int) -> list[tuple[Path, str]]:
    """The benchmark clips (generated on first use): (path, GOP setting)."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(count):
        setting = list(GOPS)[n % len(GOPS)]
        path = cache / f"clip{n:02d}-{seconds}s-{setting}.mp4"
        if not path.exists():
            started = time.perf_counter()
            make_clip(path, seed=1000 + n, seconds=seconds, gop=GOPS[setting])
            print(f"  generated {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
        out.append((path, setting))
    return out


# -- hashers -----------------------------------------------------------------------------------------------------


def _peer() -> tuple[str, Callable[[Path], dict[int, str]]]:
    try:
        import vpdq  # type: ignore[import-not-found]  # a benchmark peer, not a dependency
    except ImportError:
        return "naive_pyav", _naive

    def run(path: Path) -> dict[int, str]:
        return {f.frame_number: f.hex for f in vpdq.computeHash(str(path), seconds_per_hash=1.0, thread_count=1)}
    return "vpdq", run


def _naive(path: Path) -> dict[int, str]:
    """Decode every frame, hash every ``int(fps)``-th at full size with pdqhash (vPDQ's sampling)."""
    import pdqhash

    out = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        every = max(1, int(float(stream.average_rate or 1)))
        for index, frame in enumerate(container.decode(stream)):
            if index % every == 0:
                vector, _ = pdqhash.compute(frame.to_ndarray(format="rgb24", interpolation="AREA", threads=1))
                out[index] = np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()
    return out


def _takedown_frames(path: Path) -> dict[int, str]:
    return {int(h.frame): h.value for h in vpdq_video(path, seconds_per_hash=1.0).frames if h.frame is not None}


def _timed(fn: Callable[[Path], dict[int, str]], path: Path) -> tuple[float, dict[int, str]]:
    started = time.perf_counter()
    result = fn(path)
    return time.perf_counter() - started, result


# -- main --------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 short clips, 1 run each (under a minute)")
    parser.add_argument("--repeats", type=int, help="timed runs per clip and hasher (median reported)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "takedown-bench" / "video")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: docs/img/video_hashing.json; with --quick, a temporary folder")
    parser.add_argument("--plot", type=Path, default=None,
                        help="default: beside --out, as .png")
    args = parser.parse_args(argv)
    # A quick run must not overwrite the full run's figures that docs/benchmarks.md shows.
    folder = Path(tempfile.mkdtemp(prefix="takedown-bench-")) if args.quick else ROOT / "docs" / "img"
    args.out = args.out or folder / "video_hashing.json"
    args.plot = args.plot or args.out.with_suffix(".png")
    plan = QUICK if args.quick else FULL
    repeats = args.repeats or plan["repeats"]
    peer_name, peer = _peer()

    print(f"takedown video hashing benchmark: 720p H.264 at {FPS} fps, 1 hash per second, vs {peer_name}")
    print(f"machine: {os.cpu_count()} CPUs (pinned to 1), {platform.machine()}, {platform.platform()}, "
          f"Python {platform.python_version()}, PyAV {av.__version__}")
    if peer_name != "vpdq":
        print("NOTE: the vpdq package is not installed; the peer is a naive PyAV decoder + pdqhash instead")
    clip_list = clips(args.cache, plan["clips"], plan["seconds"])
    _takedown_frames(clip_list[0][0])  # warm-up: imports, caches
    peer(clip_list[0][0])

    rows: list[dict[str, Any]] = []
    print(f"\n{'clip':<28}{'GOP':>14}{'frames':>8}{peer_name + ' s':>10}{'takedown s':>12}{'speedup':>9}"
          f"{'max bits':>10}")
    for path, setting in clip_list:
        peer_times, ours_times = [], []
        peer_hashes: dict[int, str] = {}
        our_hashes: dict[int, str] = {}
        for _ in range(repeats):  # alternate, so load on a shared machine hits both sides alike
            seconds, peer_hashes = _timed(peer, path)
            peer_times.append(seconds)
            seconds, our_hashes = _timed(_takedown_frames, path)
            ours_times.append(seconds)
        common = sorted(set(peer_hashes) & set(our_hashes))
        bits = [hamming(peer_hashes[i], our_hashes[i]) for i in common]
        row: dict[str, Any] = {
            "clip": path.name, "gop": setting, "frames_peer": len(peer_hashes), "frames_takedown": len(our_hashes),
            "frames_common": len(common), "peer_s": peer_times, "takedown_s": ours_times,
            "peer_median_s": statistics.median(peer_times), "takedown_median_s": statistics.median(ours_times),
            "max_bits": max(bits, default=0), "mean_bits": float(np.mean(bits)) if bits else 0.0,
        }
        rows.append(row)
        print(f"{path.name:<28}{setting:>14}{len(common):>8}{row['peer_median_s']:>10.3f}"
              f"{row['takedown_median_s']:>12.3f}{row['peer_median_s'] / row['takedown_median_s']:>8.2f}x"
              f"{row['max_bits']:>10}")

    total_peer = sum(r["peer_median_s"] for r in rows)
    total_ours = sum(r["takedown_median_s"] for r in rows)
    speedup = total_peer / total_ours
    max_bits = max(r["max_bits"] for r in rows)
    frames = sum(r["frames_common"] for r in rows)
    by_gop = {
        g: sum(r["peer_median_s"] for r in rows if r["gop"] == g) / sum(r["takedown_median_s"] for r in rows
                                                                          if r["gop"] == g)
        for g in GOPS if any(r["gop"] == g for r in rows)
    }
    mismatched = [r["clip"] for r in rows if r["frames_common"] != r["frames_peer"]]
    print(f"\ntotal: {peer_name} {total_peer:.2f} s, takedown {total_ours:.2f} s: {speedup:.2f}x; "
          + ", ".join(f"{g}: {s:.2f}x" for g, s in by_gop.items()))
    print(f"agreement: {frames} frames hashed by both, max {max_bits} bits apart"
          + (f"; frame sets differ in {mismatched}" if mismatched else "; same frames sampled"))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "pinned_cpus": 1, "platform": platform.platform(),
               "python": platform.python_version(), "pyav": av.__version__}
    args.out.write_text(json.dumps({"peer": peer_name, "machine": machine, "repeats": repeats, "clips": rows,
                                    "speedup": speedup, "speedup_by_gop": by_gop, "max_bits": max_bits},
                                   indent=2) + "\n")
    print(f"raw numbers written to {args.out}")
    _plot(rows, peer_name, args.plot)
    print(f"RESULT speedup_vs_{'vpdq' if peer_name == 'vpdq' else 'naive'}={speedup:.2f} max_bits={max_bits} "
          f"clips={len(rows)} frames={frames} peer={peer_name}")
    return 0


def _plot(rows: list[dict[str, Any]], peer_name: str, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot", file=sys.stderr)
        return
    labels = [f"{r['clip'].split('-')[0]}\n{r['gop']}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 1.1), 4))
    ax.bar(x - 0.2, [r["peer_median_s"] for r in rows], 0.4, label=peer_name)
    ax.bar(x + 0.2, [r["takedown_median_s"] for r in rows], 0.4, label="takedown")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("seconds per clip (median)")
    ax.set_title("vPDQ hashing of 720p H.264 clips, 1 hash/s, one CPU")
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"plot written to {out}")


if __name__ == "__main__":
    sys.exit(main())
