"""Evidence benchmark: seconds per court-ready bundle, against a plain Selenium screenshot + page-source save.

    python benchmarks/evidence.py [--quick] [--pages N] [--out timings.json]

For each post of the demo site (synthetic media only, on loopback), with a browser that is already running:

- **takedown**: a live capture (HTTP fetch of the page and its media with the raw exchanges in a WARC, TLS and
  server facts, a full-page screenshot, MHTML), masked previews, then the report writers and the seal that are
  installed in this tree (JSON manifest always; HWPX, HWP and PDF reports and ``seal.json`` when their modules
  import; a time stamp from a local RFC 3161 TSA when ``takedown.demo.tsa`` imports), each step timed;
- **plain capture** (the baseline, in the same run, with the same warm browser): ``driver.get(url)``, Selenium's
  viewport screenshot and ``driver.page_source``, both written to files. This is what an in-house Selenium script
  keeps; it is not evidence (no hashes, no raw bytes, no media, no custody), so the ratio is the price of evidence
  that holds up, not a like-for-like speed contest.

Not timed: generating the demo media, starting the site, the browser and the TSA, and one warm-up page. Baseline and
takedown alternate page by page. Every bundle is checked (no capture error, every role present, ``warcio check``
on the first WARC); a failed check makes the script exit 1.

The last line printed is machine-readable:
``RESULT seconds_per_bundle=X overhead_vs_plain_capture=Y plain_seconds=Z pages=N`` where ``Y`` = X / Z
(medians over the pages).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from takedown import __version__
from takedown.demo.site import DemoSite
from takedown.errors import TakedownError
from takedown.evidence.base import EvidenceWriter
from takedown.evidence.capture import CaptureConfig, Capturer, bundle_folder
from takedown.evidence.json_writer import JsonWriter
from takedown.evidence.preview import make_previews
from takedown.models import Candidate, EvidenceBundle, Finding
from takedown.settings import EvidenceSettings, NetworkSettings
from takedown.sites.chromium import DriverPool

GOAL_SECONDS = 3.0
"""The target: one bundle in at most 3 seconds."""
QUICK_PAGES = 3
REQUIRED_ROLES = {"page_html", "media", "warc", "screenshot", "mhtml", "preview", "manifest"}


class TimedCapturer(Capturer):
    """A capturer that also reports how long its HTTP part and its browser part took (for the breakdown)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last: dict[str, float] = {}

    async def _capture_http(self, run: Any) -> str | None:
        started = time.perf_counter()
        try:
            return await super()._capture_http(run)
        finally:
            self.last["http+warc"] = time.perf_counter() - started

    async def _capture_browser(self, run: Any) -> None:
        started = time.perf_counter()
        try:
            await super()._capture_browser(run)
        finally:
            self.last["browser"] = time.perf_counter() - started


def _optional_writers(agency: Any) -> tuple[list[EvidenceWriter], list[str]]:
    """The report writers the other modules provide, if they import and their dependencies are installed."""
    writers: list[EvidenceWriter] = [JsonWriter()]
    notes: list[str] = []
    try:
        content = importlib.import_module("takedown.evidence.report_content")
        config = content.ReportWriterConfig(agency=agency)
    except (ImportError, AttributeError, TakedownError) as exc:
        return writers, [f"report writers skipped: takedown.evidence.report_content: {exc}"]
    for module_name, class_names in (("takedown.evidence.hwpx_writer", ("HwpxWriter", "HwpWriter")),
                                     ("takedown.evidence.pdf_writer", ("PdfWriter",))):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            notes.append(f"{module_name} not measured: {exc}")
            continue
        for class_name in class_names:
            try:
                writers.append(getattr(module, class_name)(config))
            except (AttributeError, ImportError, TakedownError) as exc:
                notes.append(f"{module_name}.{class_name} not measured: {exc}")
    return writers, notes


class Sealer:
    """``seal_bundle`` (and a local TSA) when ``takedown.evidence.seal`` is there; else nothing to time."""

    def __init__(self, folder: Path) -> None:
        self.seal: Callable[..., Any] | None = None
        self.tsa_client: Any = None
        self._tsa: Any = None
        self.notes: list[str] = []
        try:
            self.seal = importlib.import_module("takedown.evidence.seal").seal_bundle
        except (ImportError, AttributeError) as exc:
            self.notes.append(f"seal not measured: {exc}")
            return
        try:
            local_tsa = importlib.import_module("takedown.demo.tsa").LocalTsa
            tsa_client = importlib.import_module("takedown.evidence.tsa").TsaClient
            self._tsa = local_tsa(folder / "tsa").start()
            self.tsa_client = tsa_client(self._tsa.settings())
        except (ImportError, AttributeError, OSError, TakedownError, subprocess.SubprocessError) as exc:
            self.notes.append(f"sealed without a time stamp: no local TSA ({exc})")
            self.close()

    def __call__(self, bundle: EvidenceBundle, root: Path) -> EvidenceBundle:
        assert self.seal is not None
        sealed, _artifact, _steps = self.seal(bundle, root=root, tsa=self.tsa_client)
        return sealed  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.tsa_client is not None:
            self.tsa_client.close()
            self.tsa_client = None
        if self._tsa is not None:
            self._tsa.stop()
            self._tsa = None


async def takedown_bundle(
    capturer: TimedCapturer, url: str, root: Path, writers: list[EvidenceWriter], sealer: Sealer, n: int
) -> tuple[dict[str, float], EvidenceBundle]:
    """One bundle, every step timed: capture, previews, each writer, seal."""
    finding = Finding(case_id="bench", candidate=Candidate(case_id="bench", site="demo", url=f"{url}#{n}"))
    out = bundle_folder(root, EvidenceBundle(case_id=finding.case_id, finding_id=finding.id))
    steps: dict[str, float] = {}
    started = time.perf_counter()
    bundle = await capturer.capture_url(url, out=out, root=root, case_id=finding.case_id, finding_id=finding.id,
                                        site="demo")
    steps["capture"] = time.perf_counter() - started
    steps.update({f"  {k}": v for k, v in capturer.last.items()})
    mark = time.perf_counter()
    previews, _originals = make_previews(bundle, root=root, out=out, settings=capturer.config.evidence)
    bundle = bundle.model_copy(update={"artifacts": (*bundle.artifacts, *previews)})
    steps["previews"] = time.perf_counter() - mark
    for writer in writers:
        mark = time.perf_counter()
        artifact = writer.write(bundle, finding, out=out, root=root)
        bundle = bundle.model_copy(update={"artifacts": (*bundle.artifacts, artifact)})
        steps[f"write {writer.name}"] = time.perf_counter() - mark
    if sealer.seal is not None:
        mark = time.perf_counter()
        bundle = sealer(bundle, root)
        steps["seal" + (" + TSA" if sealer.tsa_client is not None else "")] = time.perf_counter() - mark
    steps["total"] = time.perf_counter() - started
    return steps, bundle


def plain_capture(pool: DriverPool, url: str, folder: Path) -> float:
    """The baseline: Selenium's own screenshot (the viewport) and page source, saved to files."""
    folder.mkdir(parents=True, exist_ok=True)
    with pool.driver() as driver:
        started = time.perf_counter()
        driver.get(url)
        png = driver.get_screenshot_as_png()
        html = driver.page_source
        (folder / "screenshot.png").write_bytes(png)
        (folder / "page.html").write_text(html, encoding="utf-8")
        return time.perf_counter() - started


def _check(bundle: EvidenceBundle, root: Path, *, warc: bool) -> list[str]:
    problems = []
    if bundle.error:
        problems.append(f"capture error: {bundle.error}")
    if bundle.capture.get("browser_error"):
        problems.append(f"browser error: {bundle.capture['browser_error']}")
    missing = REQUIRED_ROLES - {a.role for a in bundle.artifacts}
    if missing:
        problems.append(f"missing roles: {sorted(missing)}")
    if warc:
        path = next(root / a.path for a in bundle.artifacts if a.role == "warc")
        warcio = Path(sys.executable).parent / "warcio"
        result = subprocess.run([str(warcio), "check", str(path)], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            problems.append(f"warcio check failed: {result.stdout}{result.stderr}")
    return problems


async def measure(pages: int | None, quick: bool) -> tuple[list[dict[str, float]], list[float], list[str], list[str]]:
    """Start everything (not timed), then capture page after page: baseline, then takedown."""
    rows: list[dict[str, float]] = []
    plain: list[float] = []
    problems: list[str] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="takedown-bench-evidence-") as tmp:
        folder = Path(tmp)
        prepared = time.perf_counter()
        site = DemoSite(folder / "demo").start()
        evidence = EvidenceSettings(page_load_timeout_s=30)
        pool = DriverPool(evidence, size=1)
        sealer = Sealer(folder)
        config = CaptureConfig(network=NetworkSettings(allow_loopback=True), evidence=evidence, operator="benchmark")
        capturer = TimedCapturer(config, drivers=pool)
        try:
            pool.warm()
            writers, notes = _optional_writers(config.agency)
            notes += sealer.notes
            browser = pool.acquire()
            version = browser.capabilities.get("browserVersion", "?")
            pool.release(browser)
            posts = [p for p in site.manifest.posts if p.media]
            wanted = pages if pages is not None else (QUICK_PAGES if quick else len(posts))
            posts = posts[: max(1, wanted)]
            print(f"demo site, browser (Chromium {version}) and TSA ready in {time.perf_counter() - prepared:.2f} s "
                  "(not counted)")
            print(f"measured: capture, previews, {', '.join(w.name for w in writers)}"
                  + (", seal" if sealer.seal else ""))
            for note in notes:
                print(f"  note: {note}")
            root = folder / "evidence"
            # warm-up (not counted): the first page pays for imports and caches on both sides
            plain_capture(pool, site.url_for(posts[0].id), folder / "plain" / "warmup")
            await takedown_bundle(capturer, site.url_for(posts[0].id), root, writers, sealer, -1)
            print(f"{len(posts)} pages, baseline and takedown alternating\n")
            for n, post in enumerate(posts):
                url = site.url_for(post.id)
                plain.append(plain_capture(pool, url, folder / "plain" / str(n)))
                steps, bundle = await takedown_bundle(capturer, url, root, writers, sealer, n)
                rows.append(steps)
                problems += [f"{post.id}: {p}" for p in _check(bundle, root, warc=n == 0)]
        finally:
            await capturer.aclose()
            sealer.close()
            pool.close()
            site.stop()
    return rows, plain, problems, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PAGES} pages instead of every post")
    parser.add_argument("--pages", type=int, default=None, help="how many posts to capture (overrides --quick)")
    parser.add_argument("--out", type=Path, default=None, help="write the raw timings as JSON here")
    args = parser.parse_args(argv)

    print(f"takedown {__version__} evidence benchmark: capture + previews + reports + seal, per bundle")
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.platform()}, "
          f"Python {platform.python_version()}")
    rows, plain, problems, notes = asyncio.run(measure(args.pages, args.quick))

    names = list(dict.fromkeys(k for row in rows for k in row if k != "total"))
    print(f"{'step (seconds per bundle)':<28} {'median':>8} {'mean':>8} {'max':>8}")
    for name in [*names, "total"]:
        values = [row.get(name, 0.0) for row in rows]
        print(f"{name:<28} {statistics.median(values):>8.3f} {statistics.mean(values):>8.3f} {max(values):>8.3f}")
    print(f"{'plain Selenium (baseline)':<28} {statistics.median(plain):>8.3f} {statistics.mean(plain):>8.3f} "
          f"{max(plain):>8.3f}")
    per_bundle = statistics.median(row["total"] for row in rows)
    baseline = statistics.median(plain)
    ratio = per_bundle / baseline
    core = statistics.median(row["capture"] + row["previews"] for row in rows)
    print(f"\ncapture + previews alone: {core:.3f} s per page, {core / baseline:.1f}x the plain capture")
    verdict = "meets" if per_bundle <= GOAL_SECONDS else "misses"
    print(f"per bundle {per_bundle:.3f} s: {verdict} the goal of {GOAL_SECONDS:g} s; "
          f"{ratio:.1f}x the plain capture ({baseline:.3f} s), {per_bundle - baseline:+.3f} s per page")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"takedown": rows, "plain": plain, "notes": notes}, indent=2))
        print(f"raw timings written to {args.out}")
    if problems:
        print("\nchecks failed:\n  " + "\n  ".join(problems), file=sys.stderr)
    print(f"RESULT seconds_per_bundle={per_bundle:.3f} overhead_vs_plain_capture={ratio:.2f} "
          f"plain_seconds={baseline:.3f} pages={len(rows)}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
