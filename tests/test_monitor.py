from __future__ import annotations

import asyncio
import gc
import json
import random
import re
import shutil
import weakref
from pathlib import Path

import pytest
from typer.testing import CliRunner

from takedown.cli import app
from takedown.demo.run import DEMO_CASE_ID, demo_case, demo_site_file
from takedown.demo.site import DemoSite
from takedown.errors import NotFoundError, SiteError, UsageError
from takedown.models import FindingState, Page
from takedown.settings import Settings, StorageSettings
from takedown.sites.monitor import FeedSource, Monitor, MonitorTick, parse_interval
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import MockSite, sample_case
from takedown.workflow import Workflow

CASE = "case-sample"


def _page(n: int) -> Page:
    url = f"https://mock.example/post/{n}"
    return Page(url=url, final_url=url, status=200, title=f"sample post {n}", text="sample", html=f"<p>{n}</p>")


def _workflow(store: SQLiteCaseStore, tmp_path: Path, site: MockSite) -> Workflow:
    return Workflow(store, settings=Settings(storage=StorageSettings(data_dir=tmp_path)), sites=[site])


def _open(tmp_path: Path) -> SQLiteCaseStore:
    return SQLiteCaseStore(tmp_path / "store" / "takedown.sqlite")


def test_new_pages_are_reported_once_and_a_restart_reports_nothing_again(tmp_path: Path) -> None:
    site = MockSite({p.url: p for p in (_page(1), _page(2))})
    with _open(tmp_path) as store:
        store.put_case(sample_case())
        monitor = Monitor.for_workflow(_workflow(store, tmp_path, site))
        first = asyncio.run(monitor.run_once(CASE))
        assert sorted(c.url for c in first.candidates) == ["https://mock.example/post/1", "https://mock.example/post/2"]
        assert all(f.state is FindingState.JUDGED for f in first.new) and first.errors == ()
        assert asyncio.run(monitor.run_once(CASE)).new == ()  # the second tick: nothing new

        site.pages["https://mock.example/post/3"] = _page(3)  # a new post appears
        third = asyncio.run(monitor.run_once(CASE))
        assert [c.url for c in third.candidates] == ["https://mock.example/post/3"]
        fourth = asyncio.run(monitor.run_once(CASE))
        assert fourth.new == ()
        assert sorted(site.fetches) == [f"https://mock.example/post/{n}" for n in (1, 2, 3)]  # each page fetched once
        assert monitor.last_run(CASE) == fourth.finished_at

    site.fetches.clear()
    with _open(tmp_path) as store:  # a restart: a new monitor over the same store on disk
        monitor = Monitor.for_workflow(_workflow(store, tmp_path, site))
        assert asyncio.run(monitor.run_once(CASE)).new == ()
        assert site.fetches == []  # nothing already seen is fetched again
        site_mark = json.loads(store.get_checkpoint(f"monitor/{CASE}/site/mock.example") or "{}")
        assert site_mark["new"] == 0 and "last_run" in site_mark


def test_findings_added_by_anyone_are_reported_once(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    site = MockSite({p.url: p for p in (_page(1),)})
    workflow = _workflow(store, tmp_path, site)

    async def discover_only(case_id: str) -> None:
        await workflow.discover(store.get_case(case_id))

    monitor = Monitor(discover_only, store)
    assert [f.state for f in asyncio.run(monitor.run_once(CASE)).new] == [FindingState.FOUND]
    assert asyncio.run(monitor.run_once(CASE)).new == ()
    with pytest.raises(NotFoundError):
        asyncio.run(monitor.run_once("no-such-case"))


def test_failures_are_recorded_and_do_not_stop_the_monitor(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())

    def broken_search(query: object) -> list[str]:
        raise SiteError("the site is down", url="https://mock.example/search")

    site = MockSite(search_fn=broken_search)
    monitor = Monitor.for_workflow(_workflow(store, tmp_path, site))
    tick = asyncio.run(monitor.run_once(CASE))
    assert tick.new == () and len(tick.errors) == 1 and "the site is down" in tick.errors[0]


RSS_HEAD = '<?xml version="1.0"?><rss version="2.0"><channel><title>posts</title>'


def _rss(*items: tuple[int, str]) -> bytes:
    body = "".join(f"<item><title>sample post {n}</title><link>https://mock.example/post/{n}?utm_source=rss</link>"
                   f"<pubDate>{date}</pubDate></item>" for n, date in items)
    return f"{RSS_HEAD}{body}</channel></rss>".encode()


def test_a_feed_is_read_incrementally(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    served: dict[str, bytes] = {"https://mock.example/feed.xml": _rss((1, "Mon, 02 Jun 2025 10:00:00 GMT"))}

    async def fetch(url: str) -> bytes:
        return served[url]

    site = MockSite({p.url: p for p in (_page(1), _page(2), _page(9))}, search_fn=lambda query: [])
    source = FeedSource(site="mock.example", url="https://mock.example/feed.xml")
    monitor = Monitor.for_workflow(_workflow(store, tmp_path, site), sources=[source], fetch=fetch)
    first = asyncio.run(monitor.run_once(CASE))
    assert [c.url for c in first.candidates] == ["https://mock.example/post/1"]  # canonicalised: no utm_source
    assert first.new[0].candidate.metadata["source"] == "feed"
    assert first.new[0].state is FindingState.JUDGED  # the workflow judged what the feed found
    assert monitor.source_newest(CASE, source) is not None

    served[source.url] = _rss((2, "Tue, 03 Jun 2025 10:00:00 GMT"), (1, "Mon, 02 Jun 2025 10:00:00 GMT"),
                              (9, "Sun, 01 Jun 2025 10:00:00 GMT"))  # post 9 is older than what was seen
    second = asyncio.run(monitor.run_once(CASE))
    assert [c.url for c in second.candidates] == ["https://mock.example/post/2"]
    assert asyncio.run(monitor.run_once(CASE)).new == ()


def test_a_sitemap_index_skips_child_sitemaps_that_did_not_change(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

    def index(new_lastmod: str) -> bytes:
        return (f'<sitemapindex {ns}><sitemap><loc>https://mock.example/old.xml</loc><lastmod>2025-01-01</lastmod>'
                f'</sitemap><sitemap><loc>https://mock.example/new.xml</loc><lastmod>{new_lastmod}</lastmod></sitemap>'
                f'<sitemap><loc>https://elsewhere.example/s.xml</loc></sitemap></sitemapindex>').encode()

    def urlset(*posts: tuple[int, str]) -> bytes:
        rows = "".join(f"<url><loc>https://mock.example/post/{n}</loc><lastmod>{d}</lastmod></url>" for n, d in posts)
        return f"<urlset {ns}>{rows}</urlset>".encode()

    served = {"https://mock.example/sitemap.xml": index("2025-06-01"),
              "https://mock.example/old.xml": urlset((1, "2025-01-01")),
              "https://mock.example/new.xml": urlset((2, "2025-06-01"))}
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        if url not in served:
            raise SiteError("not found", url=url)
        return served[url]

    site = MockSite({p.url: p for p in (_page(1), _page(2), _page(3))}, search_fn=lambda query: [])
    source = FeedSource(site="mock.example", url="https://mock.example/sitemap.xml", kind="sitemap")
    monitor = Monitor.for_workflow(_workflow(store, tmp_path, site), sources=[source], fetch=fetch)
    first = asyncio.run(monitor.run_once(CASE))
    assert sorted(c.url for c in first.candidates) == ["https://mock.example/post/1", "https://mock.example/post/2"]
    assert fetched == ["https://mock.example/sitemap.xml", "https://mock.example/old.xml",
                       "https://mock.example/new.xml"]  # never the other host's sitemap

    fetched.clear()
    served["https://mock.example/sitemap.xml"] = index("2025-06-05")
    served["https://mock.example/new.xml"] = urlset((2, "2025-06-01"), (3, "2025-06-05"))
    second = asyncio.run(monitor.run_once(CASE))
    assert [c.url for c in second.candidates] == ["https://mock.example/post/3"]
    assert fetched == ["https://mock.example/sitemap.xml", "https://mock.example/new.xml"]  # old.xml is unchanged


def test_a_failing_source_is_an_error_of_the_tick(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())

    async def fetch(url: str) -> bytes:
        return b"<html>not a feed</html>"

    site = MockSite({}, search_fn=lambda query: [])
    monitor = Monitor.for_workflow(_workflow(store, tmp_path, site),
                                   sources=[FeedSource(site="mock.example", url="https://mock.example/feed")],
                                   fetch=fetch)
    tick = asyncio.run(monitor.run_once(CASE))
    assert tick.errors and "not an RSS or Atom feed" in tick.errors[0]


def test_run_ticks_on_a_schedule_until_told_to_stop(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    store.put_case(sample_case(id="case-two"))
    site = MockSite({p.url: p for p in (_page(1),)})
    seen: list[MonitorTick] = []
    monitor = Monitor.for_workflow(_workflow(store, tmp_path, site), interval=0.01, jitter=0.5, on_tick=seen.append,
                                   rng=random.Random(7))
    assert asyncio.run(monitor.run([CASE, "case-two"], max_ticks=2)) == 4
    assert [(t.case_id, t.tick, len(t.new)) for t in seen] == [(CASE, 1, 1), ("case-two", 2, 1), (CASE, 3, 0),
                                                               ("case-two", 4, 0)]

    async def stopped_after_first_tick() -> int:
        stop = asyncio.Event()
        monitor.on_tick = lambda tick: stop.set()
        monitor.interval = 3600.0  # the stop event must end the wait, not the interval
        return await monitor.run([CASE], stop=stop)

    assert asyncio.run(stopped_after_first_tick()) == 1


def test_an_unbounded_run_keeps_no_tick_it_has_handed_on(store: SQLiteCaseStore, tmp_path: Path) -> None:
    store.put_case(sample_case())
    site = MockSite({p.url: p for p in (_page(1),)})
    handed_on: list[weakref.ref[MonitorTick]] = []
    alive_earlier: list[int] = []
    stop = asyncio.Event()

    def on_tick(tick: MonitorTick) -> None:
        gc.collect()
        alive_earlier.append(sum(ref() is not None for ref in handed_on))
        handed_on.append(weakref.ref(tick))
        if len(handed_on) == 5:
            stop.set()

    monitor = Monitor.for_workflow(_workflow(store, tmp_path, site), interval=0.001, jitter=0, on_tick=on_tick)
    assert asyncio.run(monitor.run([CASE], stop=stop)) == 5
    assert alive_earlier == [0, 0, 0, 0, 0], "earlier ticks (and their findings) were freed while the monitor ran"


def test_jitter_stays_within_bounds(store: SQLiteCaseStore) -> None:
    async def nothing(case_id: str) -> None:
        return None

    monitor = Monitor(nothing, store, interval=100, jitter=0.2, rng=random.Random(1))
    waits = [monitor.next_wait() for _ in range(200)]
    assert all(80 <= w <= 120 for w in waits) and len(set(waits)) > 1


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400),
                                               ("1.5m", 90)])
def test_parse_interval(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "ten minutes", "0", "-5m"])
def test_parse_interval_refuses_nonsense(text: str) -> None:
    with pytest.raises(UsageError):
        parse_interval(text)


def test_bad_settings_are_usage_errors(store: SQLiteCaseStore) -> None:
    async def nothing(case_id: str) -> None:
        return None

    for options in ({"interval": 0}, {"jitter": 1.0}, {"sources": [FeedSource(site="s", url="https://s.example/f")]}):
        with pytest.raises(UsageError):
            Monitor(nothing, store, **options)


@pytest.mark.slow
def test_the_monitor_command_reports_the_demo_site_once(demo_site: DemoSite, tmp_path: Path) -> None:
    config = tmp_path / "takedown.toml"
    config.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n\n[network]\nallow_loopback = true\n')
    with SQLiteCaseStore(tmp_path / "data" / "takedown.sqlite") as store:
        store.put_case(demo_case(demo_site))
    sites = tmp_path / "sites"
    sites.mkdir()
    shutil.copy(demo_site_file(), sites / "demo-sns.toml")
    args = ["monitor", DEMO_CASE_ID, "--sites", str(sites), "--var", f"base_url={demo_site.base_url}", "--once",
            "--config", str(config)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    reported = re.findall(r"^\s+(match|review|clear)\s+demo-sns\.example (\S+)$", first.output, re.MULTILINE)
    assert len(reported) >= 14 and {d for d, _ in reported} >= {"match", "clear"}
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and re.search(rf"{DEMO_CASE_ID}: 0 new", second.output), second.output
