"""Crawl benchmark: pages per second discovering and fetching a site, takedown's adapter against Scrapy, same run.

    python benchmarks/crawl.py [--quick] [--sites N] [--rounds R] [--concurrency C] [--out crawl.json]
                               [--plot docs/img/crawl.png]

The site: the demo site (synthetic media only), served ``--sites`` times on as many ports from one generated
media folder, by a separate server process, so that neither crawler shares its interpreter (and its GIL) with the
server. Generating the media and starting the servers are not timed.

The work, the same for both crawlers: discover every post of every site through its feed (an HTML listing with
``rel="next"`` pagination) and its sitemap, then fetch every post page and every image and video it shows, and
each site's contact page and ``security.txt``. A page counts when it and its media are in hand; the figures are
post pages per second of wall time, discovery included.

- takedown: one ``ConfiguredSite`` per site, from ``takedown/demo/sites/demo-sns.toml`` with its search left out
  (search results depend on a query; a crawl does not), all sites at once, each post fetched with
  ``ConfiguredSite.fetch`` (guard, per-host limiter, retries, byte caps, extraction, contact hints).
- Scrapy: a small spider (below) run with ``scrapy`` in a subprocess over the same start URLs. Equal settings:
  ``--concurrency`` requests in flight per site (Scrapy: one download slot per site), no delay, AutoThrottle off,
  ``robots.txt`` not read (takedown does not read it either), 3 retries, the same media size cap.
- browser: the same site with posts rendered in headless Chromium (``[fetch] engine = "browser"``), one browser,
  one page at a time, after the browser has started; pages per minute.

Rounds alternate takedown and Scrapy so that machine noise falls on both; medians are reported. Each crawl is
checked: every post of every site fetched, and the server's request count, so that both did the same work.

The last line printed is machine-readable:
``RESULT ratio_vs_scrapy=X http_pages_per_s=Y scrapy_pages_per_s=Z browser_pages_per_min=W``
(``ratio_vs_scrapy`` > 1 means takedown is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from takedown import __version__
from takedown.demo import DemoSite
from takedown.models import Candidate, SearchQuery
from takedown.settings import NetworkSettings
from takedown.sites.declarative import ConfiguredSite, FetchSpec, LimitsSpec, load_site, read_spec

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "takedown" / "demo" / "sites" / "demo-sns.toml"
QUICK = {"sites": 2, "rounds": 2, "browser_pages": 5}
FULL = {"sites": 8, "rounds": 5, "browser_pages": 14}
CONCURRENCY = 8
RETRIES = 3
MAX_MEDIA_BYTES = 64 * 1024 * 1024

# The Scrapy side: written out to a file and run in its own interpreter. It prints one JSON line of counts.
SPIDER = r'''
import json
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess


class DemoSpider(scrapy.Spider):
    """Feed (rel=next) and sitemap -> posts -> their images and videos; plus contact page and security.txt."""

    name = "demo"

    def __init__(self, bases, **kwargs):
        super().__init__(**kwargs)
        self.bases = bases
        self.counts = {"posts": 0, "media": 0, "media_bytes": 0, "other": 0}
        self.started = self.last = 0.0

    def _slot(self, url, **kwargs):
        # One download slot per site, as takedown keeps one limiter per site adapter.
        base = next(b for b in self.bases if url.startswith(b))
        return scrapy.Request(url, meta={"download_slot": base}, **kwargs)

    async def start(self):
        self.started = time.perf_counter()
        for base in self.bases:
            yield self._slot(f"{base}/feed?page=1", callback=self.listing)
            yield self._slot(f"{base}/sitemap.xml", callback=self.sitemap)
            yield self._slot(f"{base}/contact", callback=self.other)
            yield self._slot(f"{base}/.well-known/security.txt", callback=self.other)

    def _seen(self):
        self.last = time.perf_counter()

    def listing(self, response):
        self._seen()
        for href in response.css("a.post-link::attr(href)").getall():
            yield self._slot(response.urljoin(href), callback=self.post)
        following = response.css("a[rel=next]::attr(href)").get()
        if following:
            yield self._slot(response.urljoin(following), callback=self.listing)

    def sitemap(self, response):
        self._seen()
        response.selector.remove_namespaces()
        for loc in response.xpath("//url/loc/text()").getall():
            yield self._slot(loc.strip(), callback=self.post)

    def post(self, response):
        self._seen()
        self.counts["posts"] += 1
        for src in response.css("img::attr(src), video::attr(src), video source::attr(src)").getall():
            yield self._slot(response.urljoin(src), callback=self.media)

    def media(self, response):
        self._seen()
        self.counts["media"] += 1
        self.counts["media_bytes"] += len(response.body)

    def other(self, response):
        self._seen()
        self.counts["other"] += 1

    def closed(self, reason):
        print(json.dumps({**self.counts, "elapsed_s": self.last - self.started, "reason": reason}))


def main():
    bases, concurrency, retries, max_bytes = json.loads(sys.argv[1]), *map(int, sys.argv[2:5])
    process = CrawlerProcess(settings={
        "LOG_LEVEL": "ERROR",
        "ROBOTSTXT_OBEY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "CONCURRENT_REQUESTS": concurrency * len(bases),
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "RETRY_TIMES": retries,
        "DOWNLOAD_MAXSIZE": max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "USER_AGENT": "takedown-benchmark (scrapy)",
    })
    process.crawl(DemoSpider, bases=bases)
    process.start()


main()
'''


# -- the server process ------------------------------------------------------------------------------------------


def _serve(root: str, count: int, conn: Connection) -> None:
    """Serve the demo site ``count`` times from ``root``; answer "requests" with the total served, stop on "stop"."""
    sites = [DemoSite(Path(root)).start() for _ in range(count)]
    conn.send([site.base_url for site in sites])
    while (command := conn.recv()) != "stop":
        if command == "requests":
            conn.send(sum(site.requests_served for site in sites))
    for site in sites:
        site.stop()
    conn.send("stopped")


class Servers:
    """The demo sites in their own process."""

    def __init__(self, root: Path, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(str(root), count, child), daemon=True)
        self._process.start()
        self.bases: list[str] = self._conn.recv()

    def requests(self) -> int:
        self._conn.send("requests")
        served: int = self._conn.recv()
        return served

    def stop(self) -> None:
        self._conn.send("stop")
        self._conn.recv()
        self._process.join(timeout=10)


# -- the crawlers --------------------------------------------------------------------------------------------------


def _adapter(base: str, *, concurrency: int, browser: bool = False) -> ConfiguredSite:
    spec = read_spec(SITE_FILE, variables={"base_url": base})
    changes: dict[str, Any] = {"search": None, "limits": LimitsSpec(rate=0, concurrency=concurrency)}
    if browser:
        changes["fetch"] = FetchSpec(engine="browser")
    network = NetworkSettings(allow_loopback=True, retries=RETRIES, max_media_bytes=MAX_MEDIA_BYTES)
    return load_site(spec.model_copy(update=changes), network=network)


async def _crawl_site(adapter: ConfiguredSite) -> dict[str, int]:
    try:
        found = [c async for c in adapter.search(SearchQuery(case_id="bench", text="", limit=100_000))]
        pages = await asyncio.gather(*(adapter.fetch(candidate) for candidate in found))
    finally:
        await adapter.aclose()
    return {"posts": sum(1 for p in pages if p.status == 200), "media": sum(len(p.media) for p in pages),
            "media_bytes": sum(len(m.content) for p in pages for m in p.media)}


def crawl_takedown(servers: Servers, *, concurrency: int) -> dict[str, Any]:
    """One timed crawl of every site with takedown's configured adapters, all sites at once."""
    adapters = [_adapter(base, concurrency=concurrency) for base in servers.bases]
    before = servers.requests()

    async def crawl() -> list[dict[str, int]]:
        return await asyncio.gather(*(_crawl_site(adapter) for adapter in adapters))

    started = time.perf_counter()
    results = asyncio.run(crawl())
    elapsed = time.perf_counter() - started
    totals = {key: sum(r[key] for r in results) for key in ("posts", "media", "media_bytes")}
    return {"crawler": "takedown", "elapsed_s": elapsed, **totals, "requests": servers.requests() - before}


def crawl_scrapy(servers: Servers, *, concurrency: int, spider: Path) -> dict[str, Any]:
    """One crawl with Scrapy in a subprocess; its own clock starts at its first request (start-up not counted)."""
    before = servers.requests()
    done = subprocess.run(
        [sys.executable, str(spider), json.dumps(servers.bases), str(concurrency), str(RETRIES),
         str(MAX_MEDIA_BYTES)], capture_output=True, text=True, timeout=600, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the Scrapy crawl failed:\n{done.stderr[-3000:]}")
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{"))
    counts = json.loads(line)
    return {"crawler": "scrapy", "elapsed_s": counts["elapsed_s"], "posts": counts["posts"],
            "media": counts["media"], "media_bytes": counts["media_bytes"], "requests": servers.requests() - before}


def browser_rate(base: str, *, pages: int) -> dict[str, Any]:
    """Posts rendered in Chromium one at a time (after the browser has started), per minute."""
    adapter = _adapter(base, concurrency=CONCURRENCY, browser=True)

    async def run() -> tuple[float, float, int]:
        try:
            found = [c async for c in adapter.search(SearchQuery(case_id="bench", text="", limit=pages))]
            started = time.perf_counter()
            await adapter.fetch(Candidate(case_id="bench", site=adapter.site, url=found[0].url))  # starts Chromium
            start_up = time.perf_counter() - started
            started = time.perf_counter()
            fetched = [await adapter.fetch(candidate) for candidate in found]
            return start_up, time.perf_counter() - started, sum(1 for p in fetched if p.status == 200)
        finally:
            await adapter.aclose()

    start_up, elapsed, ok = asyncio.run(run())
    return {"pages": ok, "elapsed_s": elapsed, "first_page_s": start_up, "pages_per_min": ok / elapsed * 60}


# -- reporting -----------------------------------------------------------------------------------------------------


def _machine() -> dict[str, str]:
    scrapy: Any = importlib.import_module("scrapy")
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": str(os.cpu_count()),
            "processor": platform.processor() or platform.machine(), "takedown": __version__,
            "scrapy": str(scrapy.__version__)}


def _plot(runs: list[dict[str, Any]], browser: dict[str, Any], path: Path) -> None:
    """HTTP pages/s (median, whiskers min-max) for both crawlers, and the browser's pages/min beside them."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib to write {path})")
        return
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 2.6), dpi=100, gridspec_kw={"width_ratios": [2.2, 1]})
    names = ["takedown", "scrapy"]
    rates = [[r["pages_per_s"] for r in runs if r["crawler"] == name] for name in names]
    medians = [statistics.median(r) for r in rates]
    errors = [[m - min(r) for m, r in zip(medians, rates, strict=True)],
              [max(r) - m for m, r in zip(medians, rates, strict=True)]]
    left.barh(["takedown\n(ConfiguredSite)", "Scrapy"], medians, xerr=errors, color=["#4C72B0", "#999999"],
              capsize=3)
    left.invert_yaxis()
    left.set_xlabel("post pages per second (with their media)")
    left.set_title("HTTP crawl of the demo sites", fontsize=10)
    for y, (value, high) in enumerate(zip(medians, errors[1], strict=True)):
        left.text(value + high, y, f"  {value:.1f}", va="center", fontsize=8)
    left.set_xlim(0, max(m + h for m, h in zip(medians, errors[1], strict=True)) * 1.25)
    right.barh(["Chromium"], [browser["pages_per_min"]], color="#DD8452")
    right.set_xlabel("pages per minute")
    right.set_title("browser engine", fontsize=10)
    right.text(browser["pages_per_min"], 0, f"  {browser['pages_per_min']:.0f}", va="center", fontsize=8)
    right.set_xlim(0, browser["pages_per_min"] * 1.4)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"plot written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['sites']} sites, {QUICK['rounds']} rounds, {QUICK['browser_pages']} browser "
                        "pages: well under a minute")
    parser.add_argument("--sites", type=int, default=None, help="how many demo sites to crawl at once")
    parser.add_argument("--rounds", type=int, default=None, help="timed crawls per crawler")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="requests in flight per site")
    parser.add_argument("--out", type=Path, default=None, help="write the raw timings as JSON here")
    parser.add_argument("--plot", type=Path, default=None, help="write the bars here as PNG (needs matplotlib)")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    sites, rounds = args.sites or preset["sites"], args.rounds or preset["rounds"]
    if sites < 1 or rounds < 1 or args.concurrency < 1:
        parser.error("--sites, --rounds and --concurrency must be at least 1")

    machine = _machine()
    print(f"takedown {machine['takedown']} crawl benchmark against Scrapy {machine['scrapy']}")
    print(f"machine: {machine['cpus']} CPUs, {machine['processor']}, {machine['platform']}, Python {machine['python']}")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="takedown-bench-crawl-") as folder:
        root = Path(folder)
        spider = root / "spider.py"
        spider.write_text(SPIDER, encoding="utf-8")
        prepared = time.perf_counter()
        manifest = DemoSite(root / "demo").manifest  # generates the media once: not counted
        servers = Servers(root / "demo", sites)
        try:
            posts = len(manifest.posts) * sites
            print(f"{sites} demo sites ({posts} posts) served by a separate process, ready in "
                  f"{time.perf_counter() - prepared:.1f} s (not counted); concurrency {args.concurrency} per site; "
                  f"{rounds} rounds\n")
            for _ in range(rounds):
                runs.append(crawl_takedown(servers, concurrency=args.concurrency))
                runs.append(crawl_scrapy(servers, concurrency=args.concurrency, spider=spider))
            browser = browser_rate(servers.bases[0], pages=preset["browser_pages"])
        finally:
            servers.stop()

    for run in runs:
        run["pages_per_s"] = run["posts"] / run["elapsed_s"]
    print(f"{'crawler':<9} {'posts':>5} {'media':>5} {'MB':>6} {'requests':>8} {'seconds':>8} {'pages/s':>8}")
    for run in runs:
        print(f"{run['crawler']:<9} {run['posts']:>5} {run['media']:>5} {run['media_bytes'] / 1e6:>6.1f} "
              f"{run['requests']:>8} {run['elapsed_s']:>8.3f} {run['pages_per_s']:>8.1f}")
    ours = statistics.median(r["pages_per_s"] for r in runs if r["crawler"] == "takedown")
    theirs = statistics.median(r["pages_per_s"] for r in runs if r["crawler"] == "scrapy")
    print(f"\nmedian pages/s: takedown {ours:.1f}, Scrapy {theirs:.1f}; takedown/Scrapy = {ours / theirs:.2f}")
    print(f"browser engine: {browser['pages']} pages in {browser['elapsed_s']:.2f} s = "
          f"{browser['pages_per_min']:.0f} pages/min (the first page, with Chromium's start, took "
          f"{browser['first_page_s']:.2f} s; not counted)")
    incomplete = [r for r in runs if r["posts"] != posts]
    if incomplete:
        print(f"\n{len(incomplete)} crawl(s) did not fetch all {posts} posts: "
              f"{[(r['crawler'], r['posts']) for r in incomplete]}", file=sys.stderr)

    if args.out is not None:
        data = {"benchmark": "crawl", "machine": machine, "sites": sites, "posts": posts,
                "concurrency": args.concurrency, "runs": runs, "browser": browser,
                "median_pages_per_s": {"takedown": ours, "scrapy": theirs}}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"\nraw timings written to {args.out}")
    plot_path = args.plot or (args.out.with_suffix(".png") if args.out else None)
    if plot_path is not None:
        _plot(runs, browser, plot_path)

    print(f"RESULT ratio_vs_scrapy={ours / theirs:.2f} http_pages_per_s={ours:.1f} scrapy_pages_per_s={theirs:.1f} "
          f"browser_pages_per_min={browser['pages_per_min']:.0f}")
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
