"""Continuous monitoring: look for a case's media again and again, and report only what is new.

A ``Monitor`` runs a case through discovery on a schedule. Each tick it reads the watched feeds and sitemaps
(``FeedSource``; only items newer than the last seen date, child sitemaps only if changed), runs the workflow
(its site adapters search, and new pages are judged, evidenced and drafted), and reports the findings that
appeared since the last report. Everything it needs to remember lives in the case store's checkpoints, so a
monitor restarted on the same store neither reports again what it reported nor reads again what it read::

    monitor/<case>/reported                  how many of the case's findings were reported, and the last one's id
    monitor/<case>/last_run                  when the last tick finished
    monitor/<case>/site/<site>               per site: when it was last searched and how many new pages it gave
    monitor/<case>/source/<site>/<url>       per feed or sitemap: the newest item date or lastmod seen

The seam is the store: whatever adds findings to it (the workflow's discovery, the feed sources, another
process) is reported once, in the order the store lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import SiteError, TakedownError, UsageError
from takedown.models import Candidate, CaseStatus, Finding, utcnow
from takedown.sites.feeds import Sitemap, SitemapEntry, parse_feed, parse_sitemap
from takedown.sites.urls import canonicalize
from takedown.store.base import CaseStore

__all__ = ["FeedSource", "Monitor", "MonitorTick", "MonitoredWorkflow", "RunReport", "parse_interval"]

Fetch = Callable[[str], Awaitable[bytes]]
"""Fetches a URL's body (a feed or a sitemap) through the caller's guarded client; raises ``SiteError``."""


# The monitor is part of the sites area, which comes before the workflow that composes every stage: it drives a
# workflow through these two shapes and never imports takedown.workflow.


class RunReport(Protocol):
    """What a runner may return instead of ``None``: what failed in its run (``WorkflowResult`` is one)."""

    @property
    def errors(self) -> Sequence[str]:
        """What failed in the run; the tick records it."""
        ...


class MonitoredWorkflow(Protocol):
    """What ``Monitor.for_workflow`` uses of a workflow (``takedown.workflow.Workflow`` is one)."""

    @property
    def store(self) -> CaseStore:
        """The store the workflow writes to."""
        ...

    @property
    def sites(self) -> Mapping[str, object]:
        """The workflow's site adapters by label."""
        ...

    def run(self, case_id: str) -> Awaitable[RunReport]:
        """Run one case through the stages."""
        ...


class FeedSource(BaseModel):
    """A feed or sitemap to watch; its new items become candidates of ``site`` (the adapter that fetches them)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    site: str = Field(description="the label of the site adapter that fetches the pages (Workflow routes by it)")
    url: str
    kind: Literal["feed", "sitemap"] = "feed"
    max_sitemaps: int = Field(default=50, ge=1, description="sitemap files read per tick, indexes included")


class MonitorTick(BaseModel):
    """What one tick of monitoring one case found."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    tick: int = Field(description="1 for the first tick of this Monitor's run, counting up")
    started_at: datetime
    finished_at: datetime
    new: tuple[Finding, ...] = Field(default=(), description="findings not reported before, oldest first")
    errors: tuple[str, ...] = Field(default=(), description="what failed; it is tried again next tick")

    @property
    def candidates(self) -> list[Candidate]:
        """The new findings' candidates."""
        return [finding.candidate for finding in self.new]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """Seconds in an interval such as ``90``, ``30s``, ``10m``, ``2h`` or ``1d``.

    Raises:
        UsageError: not a positive interval.
    """
    value = text.strip().lower()
    unit = _UNITS.get(value[-1:]) if value else None
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise UsageError(f"not an interval: {text!r} (use e.g. 30s, 10m, 2h, 1d)") from None
    if not seconds > 0:
        raise UsageError(f"the interval must be positive: {text!r}")
    return seconds


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Monitor:
    """Runs cases through discovery on a schedule and reports each new finding once.

    Args:
        runner: an async function that takes a case id and adds findings to ``store``: ``workflow.run`` (new
            pages are then judged, evidenced and drafted; ``Monitor.for_workflow`` passes it), or a function
            that only discovers. It returns ``None`` or a ``RunReport`` (a ``WorkflowResult``) whose errors
            the tick records.
        store: the case store the runner writes to; the monitor's checkpoints live there too.
        interval: seconds between ticks (``parse_interval("10m")`` reads the CLI's form).
        jitter: each wait is ``interval`` times a random factor in ``[1 - jitter, 1 + jitter]``, so many
            monitors do not hit a site at the same moment.
        sites: the labels of the sites the runner searches, for their per-site checkpoints.
        sources: feeds and sitemaps to read each tick, incrementally; needs ``fetch``.
        fetch: fetches a source's bytes through a guarded client and raises ``SiteError`` on failure.
        on_tick: called with every ``MonitorTick`` as it completes (the CLI prints them).
        clock: the current time (tests pass a fake one).
        rng: the random source for jitter.

    Raises:
        UsageError: a non-positive interval, jitter outside ``[0, 1)``, or sources without ``fetch``.
    """

    def __init__(
        self,
        runner: Callable[[str], Awaitable[RunReport | None]],
        store: CaseStore,
        *,
        interval: float = 600.0,
        jitter: float = 0.1,
        sites: Sequence[str] = (),
        sources: Sequence[FeedSource] = (),
        fetch: Fetch | None = None,
        on_tick: Callable[[MonitorTick], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        if interval <= 0:
            raise UsageError("the monitoring interval must be positive")
        if not 0 <= jitter < 1:
            raise UsageError("jitter must be at least 0 and less than 1")
        if sources and fetch is None:
            raise UsageError("feed and sitemap sources need a fetch function")
        self.runner = runner
        self.store = store
        self.interval = interval
        self.jitter = jitter
        self.sites = list(sites)
        self.sources = list(sources)
        self.fetch = fetch
        self.on_tick = on_tick
        self.clock = clock
        self.rng = rng or random.Random()
        self._ticks = 0

    @classmethod
    def for_workflow(cls, workflow: MonitoredWorkflow, **options: Any) -> Monitor:
        """A monitor that runs ``workflow`` over its own store and records checkpoints for each of its sites.

        ``options`` are the other keyword arguments of ``Monitor``.
        """
        return cls(workflow.run, workflow.store, sites=list(workflow.sites), **options)

    # -- one tick -----------------------------------------------------------------------------------------------

    async def run_once(self, case_id: str) -> MonitorTick:
        """Read the sources, run the workflow and report the findings that are new since the last report.

        Failures of a source or a site are recorded in the tick's ``errors`` (and tried again next tick);
        a ``TakedownError`` from the runner is recorded too, and the findings it added before failing are
        still reported.

        Raises:
            NotFoundError: no case with this id.
        """
        case = self.store.get_case(case_id)  # fail early, before any network traffic, for an unknown case
        self._ticks += 1
        started = self.clock()
        errors: list[str] = []
        if case.status is not CaseStatus.OPEN:  # closed or withdrawn: nothing is searched any more
            tick = MonitorTick(case_id=case_id, tick=self._ticks, started_at=started, finished_at=started,
                               errors=(f"case {case_id} is {case.status.value}: it is not monitored",))
            if self.on_tick is not None:
                self.on_tick(tick)
            return tick
        for source in self.sources:
            try:
                await self._read_source(case_id, source)
            except SiteError as exc:
                errors.append(f"{source.kind} {source.url}: {exc}")
        try:
            result = await self.runner(case_id)
        except TakedownError as exc:
            errors.append(f"run: {type(exc).__name__}: {exc}")
        else:
            if result is not None:
                errors.extend(result.errors)
        new = self._take_new(case_id)
        finished = self.clock()
        self._record_sites(case_id, new, finished)
        self.store.set_checkpoint(f"monitor/{case_id}/last_run", finished.isoformat())
        tick = MonitorTick(case_id=case_id, tick=self._ticks, started_at=started, finished_at=finished,
                           new=tuple(new), errors=tuple(errors))
        if self.on_tick is not None:
            self.on_tick(tick)
        return tick

    def _take_new(self, case_id: str) -> list[Finding]:
        """The case's findings after the reported mark, and move the mark past them."""
        key = f"monitor/{case_id}/reported"
        findings = self.store.list_findings(case_id)
        saved = self.store.get_checkpoint(key)
        mark: dict[str, Any] = json.loads(saved) if saved else {"count": 0, "last_id": None}
        count, last_id = int(mark["count"]), mark["last_id"]
        if last_id is not None and not (0 < count <= len(findings) and findings[count - 1].id == last_id):
            # The store lists findings in another order than when the mark was set (another store
            # implementation, or a copy): find the last reported one by id instead of by position.
            ids = [f.id for f in findings]
            count = ids.index(last_id) + 1 if last_id in ids else len(findings)
        new = findings[count:]
        if new:
            self.store.set_checkpoint(key, json.dumps({"count": len(findings), "last_id": findings[-1].id}))
        return new

    def _record_sites(self, case_id: str, new: list[Finding], at: datetime) -> None:
        sites = dict.fromkeys([*self.sites, *(s.site for s in self.sources)])
        sites.update(dict.fromkeys(f.candidate.site for f in new))
        for site in sites:
            count = sum(f.candidate.site == site for f in new)
            self.store.set_checkpoint(f"monitor/{case_id}/site/{site}",
                                      json.dumps({"last_run": at.isoformat(), "new": count}))

    def last_run(self, case_id: str) -> datetime | None:
        """When the last tick for the case finished (from the store), or ``None`` if it never ran."""
        return _date(self.store.get_checkpoint(f"monitor/{case_id}/last_run"))

    def source_newest(self, case_id: str, source: FeedSource) -> datetime | None:
        """The newest item date (feed) or lastmod (sitemap) seen in ``source`` for the case, or ``None``."""
        return _date(self.store.get_checkpoint(self._source_key(case_id, source)))

    # -- feeds and sitemaps -------------------------------------------------------------------------------------

    @staticmethod
    def _source_key(case_id: str, source: FeedSource) -> str:
        return f"monitor/{case_id}/source/{source.site}/{source.url}"

    async def _get(self, url: str) -> bytes:
        assert self.fetch is not None  # checked in __init__
        return await self.fetch(url)

    async def _read_source(self, case_id: str, source: FeedSource) -> None:
        """Add the source's items newer than its checkpoint as findings, then move the checkpoint.

        Items without a date are always offered (the store ignores URLs it already has); an item dated exactly
        at the checkpoint is offered again, since two posts can share a second.
        """
        since = self.source_newest(case_id, source)
        if source.kind == "feed":
            feed = parse_feed(await self._get(source.url), source.url)
            items = [(i.url, i.date, i.title, i.summary, i.media) for i in feed.items]
            newest = feed.newest
        else:
            entries, newest = await self._read_sitemaps(source, since)
            items = [(e.url, e.lastmod, e.title, "", e.media) for e in entries]
        for url, date, title, text, media in items:
            if since is not None and date is not None and date < since:
                continue
            metadata = {"source": source.kind, "source_url": source.url}
            if date is not None:
                metadata["date"] = date.isoformat()
            try:
                url = canonicalize(url)
            except UsageError:
                continue
            candidate = Candidate(case_id=case_id, site=source.site, url=url, title=title, text=text,
                                  media=media, metadata=metadata)
            self.store.add_finding(Finding(case_id=case_id, candidate=candidate))
        if newest is not None and (since is None or newest > since):
            self.store.set_checkpoint(self._source_key(case_id, source), newest.isoformat())

    async def _read_sitemaps(
        self, source: FeedSource, since: datetime | None
    ) -> tuple[list[SitemapEntry], datetime | None]:
        """Walk a sitemap (index), skipping child sitemaps whose lastmod is older than ``since``."""
        host = urlsplit(source.url).hostname
        queue, read = [source.url], set[str]()
        entries: list[SitemapEntry] = []
        newest: datetime | None = None
        while queue and len(read) < source.max_sitemaps:
            url = queue.pop(0)
            if url in read:
                continue
            read.add(url)
            sitemap: Sitemap = parse_sitemap(await self._get(url), url)
            for child in sitemap.children:
                if child.lastmod is not None:
                    newest = max(newest, child.lastmod) if newest else child.lastmod
                    if since is not None and child.lastmod < since:
                        continue  # unchanged since it was last read
                if urlsplit(child.url).hostname == host:  # a sitemap may only list its own host's sitemaps
                    queue.append(child.url)
            for entry in sitemap.urls:
                if entry.lastmod is not None:
                    newest = max(newest, entry.lastmod) if newest else entry.lastmod
                entries.append(entry)
        return entries, newest

    # -- the schedule -------------------------------------------------------------------------------------------

    def next_wait(self) -> float:
        """Seconds to wait before the next tick: ``interval`` with jitter applied."""
        return self.interval * self.rng.uniform(1 - self.jitter, 1 + self.jitter)

    async def run(
        self, case_ids: Sequence[str], *, stop: asyncio.Event | None = None, max_ticks: int | None = None
    ) -> int:
        """Tick every case in turn, wait ``next_wait()`` seconds, and repeat.

        Each tick goes to ``on_tick`` as it completes and is not kept: a monitor that runs for months holds no
        more than the tick in hand (its findings are in the store).

        Args:
            case_ids: the cases to watch.
            stop: set it to end the loop (the current tick finishes first; a wait ends at once).
            max_ticks: end after this many rounds over the cases (``None``: until ``stop`` is set).

        Returns:
            How many ticks ran (one per case per round). A case that is closed or withdrawn is not searched
            again, and the loop ends when no open case is left.

        Raises:
            UsageError: ``max_ticks`` is below 1.
            NotFoundError: no case with one of the ids.
        """
        if max_ticks is not None and max_ticks < 1:
            raise UsageError("max_ticks must be at least 1")
        stop = stop or asyncio.Event()
        count = 0
        rounds = 0
        while not stop.is_set():
            for case_id in case_ids:
                await self.run_once(case_id)
                count += 1
                if stop.is_set():
                    break
            rounds += 1
            if max_ticks is not None and rounds >= max_ticks:
                break
            case_ids = [c for c in case_ids if self.store.get_case(c).status is CaseStatus.OPEN]
            if not case_ids:  # every case was closed or withdrawn meanwhile: monitoring stops
                break
            with contextlib.suppress(TimeoutError):  # the wait ran out: time for the next round
                await asyncio.wait_for(stop.wait(), timeout=self.next_wait())
        return count

