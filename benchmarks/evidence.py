"""Evidence benchmark: seconds per court-ready bundle as the workflow makes it, against the same bundle without the
extra stamp, signatures, WACZ and browser recording, and against a plain Selenium screenshot + page-source save.

    python benchmarks/evidence.py [--quick] [--pages N] [--out timings.json] [--plot evidence.png]

For each post of the demo site (synthetic media only, on loopback), with browsers that are already running, three
things alternate page by page:

- **takedown** (what users run): ``Workflow.seal_evidence``, the evidence step of every case run and of ``takedown
  capture``, assembled by ``build_workflow`` from settings with a local RFC 3161 TSA and an agency signing key
  (``make_agency_identity``): a live capture (HTTP with raw exchanges in a WARC, a full-page screenshot and MHTML
  in Chromium, the browser's own traffic in a second WARC, a signed WACZ), masked previews, the capture sealed and
  stamped, the JSON, HWPX, HWP and PDF reports (the PDF signed), then the final seal, signed and stamped;
- **unsigned** (the same run, the new safeguards switched off): ``[tsa] stamp_capture = false`` (one stamp),
  no ``[signing]`` key (no seal signature, no PDF signature, no WACZ signature), no WACZ, no browser recording
  (``max_browser_exchanges = 0``). The ratio of the two is what trust anchors and the archived page load cost;
- **plain capture** (the peer: what an in-house Selenium script keeps): ``driver.get(url)``, Selenium's viewport
  screenshot and ``driver.page_source``, written to files. It is not evidence (no hashes, no raw bytes, no media,
  no custody), so that ratio is the price of evidence that holds up, not a like-for-like speed contest.

Each takedown step is timed inside the full configuration (capture's HTTP and browser parts, previews, each writer,
each seal). Not timed: generating the demo media, starting the site, the browsers and the TSA, and one warm-up page
per side. Every full bundle is checked: ``verify_bundle`` against the TSA and agency CAs, every role present, and
``warcio check`` on the first page's WARCs; a failed check makes the script exit 1.

The last line printed is machine-readable:
``RESULT overhead_vs_plain_capture=Y overhead_vs_unsigned=U seconds_per_bundle=X unsigned_seconds=W
plain_seconds=Z pages=N`` where ``Y`` = X / Z and ``U`` = X / W (medians over the pages).
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import takedown.workflow as workflow_module
from takedown import __version__
from takedown.demo.site import DemoSite
from takedown.demo.tsa import LocalTsa
from takedown.evidence.capture import CaptureConfig, Capturer
from takedown.evidence.signing import make_agency_identity
from takedown.evidence.tsa import TsaClient
from takedown.evidence.verify import verify_bundle
from takedown.models import Candidate, EvidenceBundle, Finding
from takedown.pipeline import build_workflow
from takedown.settings import EvidenceSettings, NetworkSettings, Settings, SigningSettings, StorageSettings, TsaSettings
from takedown.sites.chromium import DriverPool
from takedown.store.sqlite import SQLiteCaseStore
from takedown.workflow import Workflow

GOAL_OVERHEAD = 1.25
"""The target: the full bundle costs at most 25 % more than the unsigned one."""
QUICK_PAGES = 3
REQUIRED_ROLES = {"page_html", "media", "warc", "browser_warc", "wacz", "screenshot", "mhtml", "preview", "manifest",
                  "report", "capture_seal", "capture_timestamp", "seal", "signature", "timestamp"}


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
            self.last["  http+warc"] = time.perf_counter() - started

    async def _capture_browser(self, run: Any) -> None:
        started = time.perf_counter()
        try:
            await super()._capture_browser(run)
        finally:
            self.last["  browser (+ its WARC)"] = time.perf_counter() - started


class Steps:
    """Seconds per step of the bundle being made, collected by the wrappers below."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timed(name):
                return function(*args, **kwargs)
        return timed


class TimedWriter:
    """An evidence writer that times its ``write`` (the workflow calls the writers in order)."""

    def __init__(self, writer: Any, steps: Steps) -> None:
        self.writer, self.steps = writer, steps
        self.name, self.media_type = writer.name, writer.media_type

    def write(self, *args: Any, **kwargs: Any) -> Any:
        with self.steps.timed(f"write {self.name}"):
            return self.writer.write(*args, **kwargs)


def settings_for(folder: Path, *, tsa: LocalTsa, signing: SigningSettings | None) -> Settings:
    evidence = EvidenceSettings(page_load_timeout_s=30)
    return Settings(storage=StorageSettings(data_dir=folder), network=NetworkSettings(allow_loopback=True),
                    evidence=evidence, tsa=TsaSettings(certificate=tsa.certificate, ca_file=tsa.ca_file,
                                                       stamp_capture=signing is not None),
                    signing=signing or SigningSettings())


def make_workflow(folder: Path, store: SQLiteCaseStore, tsa: LocalTsa, signing: SigningSettings | None,
                  steps: Steps | None) -> tuple[Workflow, Capturer]:
    """The evidence step as ``build_workflow`` assembles it; the unsigned one without WACZ or browser recording."""
    settings = settings_for(folder, tsa=tsa, signing=signing)
    workflow = build_workflow(settings, store, sites=[], operator="benchmark", tsa=TsaClient(tsa.settings()))
    changes: dict[str, Any] = {} if signing is not None else {"wacz": False, "max_browser_exchanges": 0}
    config = CaptureConfig.from_settings(settings, operator="benchmark", **changes)
    capturer = TimedCapturer(config) if steps is not None else Capturer(config)
    workflow.capturer = capturer
    if steps is not None:
        workflow.writers = [TimedWriter(w, steps) for w in workflow.writers]  # type: ignore[misc]
    return workflow, capturer


async def one_bundle(workflow: Workflow, url: str, n: int, label: str) -> tuple[float, EvidenceBundle, Path]:
    finding = Finding(case_id="bench", candidate=Candidate(case_id="bench", site="demo", url=f"{url}#{label}{n}"))
    started = time.perf_counter()
    sealed = await workflow.seal_evidence(finding)
    return time.perf_counter() - started, sealed.bundle, sealed.folder


def plain_capture(pool: DriverPool, url: str, folder: Path) -> float:
    """The peer: Selenium's own screenshot (the viewport) and page source, saved to files."""
    folder.mkdir(parents=True, exist_ok=True)
    with pool.driver() as driver:
        started = time.perf_counter()
        driver.get(url)
        png = driver.get_screenshot_as_png()
        html = driver.page_source
        (folder / "screenshot.png").write_bytes(png)
        (folder / "page.html").write_text(html, encoding="utf-8")
        return time.perf_counter() - started


def check(bundle: EvidenceBundle, folder: Path, root: Path, tsa: LocalTsa, agency: SigningSettings, *,
          warc: bool) -> list[str]:
    problems = []
    if bundle.error:
        problems.append(f"capture error: {bundle.error}")
    if bundle.capture.get("browser_error"):
        problems.append(f"browser error: {bundle.capture['browser_error']}")
    missing = REQUIRED_ROLES - {a.role for a in bundle.artifacts}
    if missing:
        problems.append(f"missing roles: {sorted(missing)}")
    report = verify_bundle(folder, certificate=tsa.certificate, ca_file=tsa.ca_file, agency_ca=agency.ca_file)
    problems += [f"verify: {p}" for p in report.problems]
    if warc:
        warcio = Path(sys.executable).parent / "warcio"
        for artifact in bundle.artifacts:
            if artifact.role in ("warc", "browser_warc"):
                result = subprocess.run([str(warcio), "check", str(root / artifact.path)], capture_output=True,
                                        text=True, timeout=120, check=False)
                if result.returncode != 0:
                    problems.append(f"warcio check {artifact.path} failed: {result.stdout}{result.stderr}")
    return problems


async def measure(pages: int | None, quick: bool) -> dict[str, Any]:
    """Start everything (not timed), then make bundles page after page: plain, unsigned, full."""
    full_rows: list[dict[str, float]] = []
    unsigned: list[float] = []
    plain: list[float] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="takedown-bench-evidence-") as tmp:
        folder = Path(tmp)
        prepared = time.perf_counter()
        site = DemoSite(folder / "demo").start()
        tsa = LocalTsa(folder / "tsa").start()
        agency = make_agency_identity(folder / "agency", name="Benchmark Support Centre")
        steps = Steps()
        stores = [SQLiteCaseStore(folder / f"{name}.sqlite") for name in ("full", "unsigned")]
        full, full_capturer = make_workflow(folder / "full", stores[0], tsa, agency, steps)
        bare, bare_capturer = make_workflow(folder / "unsigned", stores[1], tsa, None, None)
        pool = DriverPool(EvidenceSettings(page_load_timeout_s=30), size=1)
        originals = workflow_module.seal_capture, workflow_module.seal_bundle
        try:
            workflow_module.seal_capture = steps.wrap("seal capture (+ stamp)", originals[0])  # type: ignore[assignment]
            workflow_module.seal_bundle = steps.wrap("seal (+ sign, stamp)", originals[1])  # type: ignore[assignment]
            for warm in (pool, full_capturer, bare_capturer):
                warm.warm()
            browser = pool.acquire()
            version = browser.capabilities.get("browserVersion", "?")
            pool.release(browser)
            posts = [p for p in site.manifest.posts if p.media]
            wanted = pages if pages is not None else (QUICK_PAGES if quick else len(posts))
            posts = posts[: max(1, wanted)]
            print(f"demo site, browsers (Chromium {version}), TSA and agency key ready in "
                  f"{time.perf_counter() - prepared:.2f} s (not counted)")
            print(f"measured: Workflow.seal_evidence with writers {', '.join(w.name for w in full.writers)}")
            # warm-up (not counted): the first page pays for imports and caches on every side
            first = site.url_for(posts[0].id)
            plain_capture(pool, first, folder / "plain" / "warmup")
            await one_bundle(bare, first, -1, "u")
            await one_bundle(full, first, -1, "f")
            print(f"{len(posts)} pages; plain, unsigned and full alternating\n")
            for n, post in enumerate(posts):
                url = site.url_for(post.id)
                plain.append(plain_capture(pool, url, folder / "plain" / str(n)))
                unsigned.append((await one_bundle(bare, url, n, "u"))[0])
                steps.seconds = {}
                full_capturer.last = {}
                seconds, bundle, bundle_folder = await one_bundle(full, url, n, "f")
                row = {"capture": 0.0, **full_capturer.last, **steps.seconds}
                row["capture"] = sum(full_capturer.last.values())
                row["other (previews, WACZ, custody)"] = seconds - row["capture"] - sum(steps.seconds.values())
                row["total"] = seconds
                full_rows.append(row)
                problems += [f"{post.id}: {p}" for p in check(bundle, bundle_folder, folder / "full" / "evidence", tsa,
                                                              agency, warc=n == 0)]
        finally:
            workflow_module.seal_capture, workflow_module.seal_bundle = originals
            await full.aclose()
            await bare.aclose()
            for store in stores:
                store.close()
            pool.close()
            tsa.stop()
            site.stop()
    return {"full": full_rows, "unsigned": unsigned, "plain": plain, "problems": problems}


def plot(path: Path, results: dict[str, Any]) -> None:
    """The full bundle's median seconds per step as one stacked bar, beside the unsigned bundle and the peer."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install 'takedown[bench]' to write {path})")
        return
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    rows = results["full"]
    steps = [k for k in dict.fromkeys(k for row in rows for k in row)
             if k not in ("total", "capture") and not k.startswith("  ")]
    parts = [("capture: HTTP + WARC", "  http+warc"), ("capture: browser + its WARC", "  browser (+ its WARC)"),
             *((name, name) for name in steps)]
    fig, axis = plt.subplots(figsize=(10, 3.2))
    left = 0.0
    colours = plt.get_cmap("tab20").colors
    for index, (label, key) in enumerate(parts):
        value = statistics.median(row.get(key, 0.0) for row in rows)
        axis.barh(2, value, left=left, color=colours[index % len(colours)], label=label)
        left += value
    axis.barh(1, statistics.median(results["unsigned"]), color="#b0b0b0")
    axis.barh(0, statistics.median(results["plain"]), color="#606060")
    axis.set_yticks([2, 1, 0], ["takedown (full)", "unsigned (safeguards off)", "plain Selenium (peer)"])
    axis.set_xlabel("seconds per bundle (median)")
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, fontsize=7, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PAGES} pages instead of every post")
    parser.add_argument("--pages", type=int, default=None, help="how many posts to capture (overrides --quick)")
    parser.add_argument("--out", type=Path, default=None, help="write the raw timings as JSON here")
    parser.add_argument("--plot", type=Path, default=None, help="write a bar chart of the steps as PNG (matplotlib)")
    args = parser.parse_args(argv)

    print(f"takedown {__version__} evidence benchmark: Workflow.seal_evidence per bundle, full and unsigned")
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.platform()}, "
          f"Python {platform.python_version()}")
    results = asyncio.run(measure(args.pages, args.quick))
    rows, unsigned, plain = results["full"], results["unsigned"], results["plain"]

    names = list(dict.fromkeys(k for row in rows for k in row if k != "total"))
    print(f"{'step of the full bundle (s)':<30} {'median':>8} {'mean':>8} {'max':>8}")
    for name in [*names, "total"]:
        values = [row.get(name, 0.0) for row in rows]
        print(f"{name:<30} {statistics.median(values):>8.3f} {statistics.mean(values):>8.3f} {max(values):>8.3f}")
    for label, values in (("unsigned bundle", unsigned), ("plain Selenium (the peer)", plain)):
        print(f"{label:<30} {statistics.median(values):>8.3f} {statistics.mean(values):>8.3f} {max(values):>8.3f}")
    per_bundle = statistics.median(row["total"] for row in rows)
    bare = statistics.median(unsigned)
    baseline = statistics.median(plain)
    overhead = per_bundle / bare
    verdict = "meets" if overhead <= GOAL_OVERHEAD else "misses"
    print(f"\nfull bundle {per_bundle:.3f} s, unsigned {bare:.3f} s: the stamp, signatures, WACZ and browser "
          f"recording cost {per_bundle - bare:+.3f} s ({overhead:.2f}x), which {verdict} the goal of at most "
          f"{GOAL_OVERHEAD:.2f}x; {per_bundle / baseline:.1f}x the plain capture ({baseline:.3f} s)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
        print(f"raw timings written to {args.out}")
    if args.plot:
        plot(args.plot, results)
    if results["problems"]:
        print("\nchecks failed:\n  " + "\n  ".join(results["problems"]), file=sys.stderr)
    print(f"RESULT overhead_vs_plain_capture={per_bundle / baseline:.2f} overhead_vs_unsigned={overhead:.2f} "
          f"seconds_per_bundle={per_bundle:.3f} unsigned_seconds={bare:.3f} plain_seconds={baseline:.3f} "
          f"pages={len(rows)}")
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
