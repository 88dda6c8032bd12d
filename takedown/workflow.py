"""The workflow: runs a case through discover → judge → evidence → draft, persisting every step.

Each stage reads the findings in the state it handles and moves each one forward in a single store transaction,
so the workflow can be killed at any point and run again: finished steps are not repeated (ids are
deterministic and moves are compare-and-set) and unfinished ones are redone from the start of that step.
Network stages run under a concurrency limit on the event loop; hashing and detection run in a thread pool.
Nothing here sends a notice: drafts wait for an officer's approval (see ``takedown.report.review``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from takedown.detect.base import Detector, detect_items
from takedown.detect.policy import DecisionPolicy
from takedown.detect.repeats import find_repeats
from takedown.errors import EvidenceError, ReportError, SiteError, UsageError
from takedown.evidence.base import EvidenceWriter
from takedown.evidence.capture import Capturer, bundle_folder, capture_finding, capture_finding_live
from takedown.evidence.custody import CUSTODY_FILE, chain_events, export_custody
from takedown.evidence.preview import make_previews
from takedown.evidence.seal import seal_bundle, seal_capture
from takedown.evidence.signing import AgencySigner
from takedown.evidence.tsa import TsaClient
from takedown.models import (
    Candidate,
    Case,
    CaseStatus,
    Decision,
    Detection,
    EvidenceBundle,
    Finding,
    FindingState,
    ItemKind,
    Media,
    Notice,
    NoticeState,
    Page,
    PageRecord,
    Recipient,
    SearchQuery,
    utcnow,
)
from takedown.report.base import NoticeTemplate
from takedown.report.draft import draft_notices
from takedown.report.grouping import NoticeGroup, absorbs, group_findings, order_findings, sites_language
from takedown.report.language import notice_locales
from takedown.report.rdap import RdapClient
from takedown.report.recipients import recipients_for, resolve_recipients
from takedown.report.review import withdraw_notice
from takedown.settings import Settings
from takedown.sites.base import FormReporter, SiteAdapter, submits_to
from takedown.store.base import CaseStore

__all__ = ["STAGES", "ProgressEvent", "SealedEvidence", "Workflow", "WorkflowResult", "require_open"]

T = TypeVar("T")
STAGES = ("discover", "judge", "evidence", "draft")
"""Stage names as progress events give them; methods: discover, judge, collect_evidence, draft."""


class ProgressEvent(BaseModel):
    """How far a stage has got; ``total`` is ``None`` while it is not known (discovery)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    stage: str
    done: int
    total: int | None = None
    message: str = ""


class WorkflowResult(BaseModel):
    """What a case looks like after a run: counts over the whole case, not just this run's work."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    candidates: int
    findings: int = Field(description="candidates decided match or review, less the pages that repeat another's media")
    matches: int
    reviews: int
    also_shown_at: int = Field(default=0, description="pages that only repeat a finding's media, listed under it")
    bundles: int
    notices: int
    locales: list[str]
    errors: list[str] = Field(default_factory=list, description="what failed in this run; it is retried next run")
    seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        """The result as plain JSON-ready data."""
        return self.model_dump(mode="json")


def require_open(case: Case) -> None:
    """Refuse to search for a case that is closed or withdrawn (``run()`` and the CLI's scan and monitor).

    Raises:
        UsageError: the case is not open; the message says whether and how it can be reopened.
    """
    if case.status is CaseStatus.CLOSED:
        raise UsageError(f"case {case.id} is closed; reopen it first: takedown case reopen {case.id} --by NAME")
    if case.status is CaseStatus.WITHDRAWN:
        raise UsageError(f"case {case.id} was withdrawn: it is never searched again")


def _refuse_withdrawn(case: Case) -> None:
    if case.status is CaseStatus.WITHDRAWN:
        raise UsageError(f"case {case.id} was withdrawn; nothing of it is captured or drafted any more")


class SealedEvidence(BaseModel):
    """One finding's sealed evidence: the bundle, its folder, and the custody events planned for it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

    bundle: EvidenceBundle
    folder: Path
    events: tuple[tuple[str, str, datetime, dict[str, str]], ...]


class Workflow:
    """Runs cases through the stages with the plugins given, in list order.

    Args:
        store: where everything is persisted.
        settings: the agency's settings (who is asking, where evidence goes).
        sites: site adapters; candidates are routed back to the adapter whose ``site`` found them.
        detectors: run on every item of a kind they accept (a ``BatchDetector`` on all of a page's items in one
            call); an item a detector fails or crashes on gets an ``error`` detection and goes to review.
        writers: evidence writers, run in order for every bundle.
        templates: notice templates; for each locale the first that renders it is used.
        policy: turns detections into a decision (default: ``DecisionPolicy()``).
        locales: the languages every notice is drafted in; ``None`` (the default) chooses per finding from the
            recipient's country or the page's language (English as fallback), see ``notice_locales``.
        bilingual: with automatic locales, also draft an English notice beside a local-language one.
        capturer: captures each match live (HTTP with WARC, Chromium screenshot and MHTML); without it, evidence
            is built from what the site adapter fetched.
        tsa: time-stamps each bundle's capture and seal (RFC 3161); without it bundles are sealed by hashes and the
            custody log, and the log says no time stamp was taken.
        signer: the agency's key, which signs each bundle's seal (``[signing]``, see ``AgencySigner``); without it
            bundles are unsigned, which ``verify`` accepts only as integrity.
        rdap: when given, recipients are resolved in full (site operator, host and registrar abuse contacts over
            RDAP) and notices go to the first email recipient; without it, to the contacts the site declares.
            A finding whose site adapter files requests through the site's web form (a ``FormReporter``) also
            gets one notice addressed to that form.
        evidence_for: the decisions that get an evidence bundle and drafts (default: match only).
        concurrency: how many pages are fetched at once.
        cpu_workers: threads for hashing and detection.
        progress: called with a ``ProgressEvent`` as work completes.
        operator: who runs the workflow, recorded in the custody log.
        closing: called by ``aclose()``, for other resources the owner hands over (an LLM judge's HTTP client).
    """

    def __init__(
        self,
        store: CaseStore,
        *,
        settings: Settings | None = None,
        sites: Sequence[SiteAdapter] = (),
        detectors: Sequence[Detector] = (),
        writers: Sequence[EvidenceWriter] = (),
        templates: Sequence[NoticeTemplate] = (),
        policy: DecisionPolicy | None = None,
        locales: Sequence[str] | None = None,
        bilingual: bool = True,
        rdap: RdapClient | None = None,
        capturer: Capturer | None = None,
        tsa: TsaClient | None = None,
        signer: AgencySigner | None = None,
        evidence_for: Sequence[Decision] = (Decision.MATCH,),
        concurrency: int = 8,
        cpu_workers: int = 2,
        progress: Callable[[ProgressEvent], None] | None = None,
        operator: str = "takedown",
        closing: Sequence[Callable[[], object]] = (),
    ) -> None:
        if concurrency < 1 or cpu_workers < 1:
            raise UsageError("concurrency and cpu_workers must be at least 1")
        self.store = store
        self.settings = settings or Settings()
        self.sites = {site.site: site for site in sites}
        if len(self.sites) != len(sites):
            raise UsageError("two site adapters cover the same site")
        self.detectors = list(detectors)
        self.writers = list(writers)
        self.templates = list(templates)
        self.policy = policy or DecisionPolicy()
        self.locales = list(locales) if locales is not None else None
        self.bilingual = bilingual
        self.rdap = rdap
        self.capturer = capturer
        self.tsa = tsa
        self.signer = signer
        self.evidence_for = frozenset(evidence_for)
        self.concurrency = concurrency
        self.cpu_workers = cpu_workers
        self.progress = progress
        self.operator = operator
        self.closing = list(closing)
        self.evidence_root = Path(self.settings.storage.evidence_root)
        self._errors: list[str] = []
        self._pool: ThreadPoolExecutor | None = None  # run() provides one; stages alone use the loop's default

    # -- running --------------------------------------------------------------------------------------------

    async def run(self, case_id: str) -> WorkflowResult:
        """Run every stage for a case, resuming wherever an earlier run stopped."""
        started = time.perf_counter()
        self.clear_errors()
        case = self.store.get_case(case_id)
        require_open(case)
        with ThreadPoolExecutor(max_workers=self.cpu_workers, thread_name_prefix="takedown-cpu") as pool:
            self._pool = pool
            try:
                await self.discover(case)
                await self.judge(case)
                await self.collect_evidence(case)
                await self.draft(case)
            finally:
                self._pool = None
        return self.result(case_id, seconds=time.perf_counter() - started)

    def run_sync(self, case_id: str) -> WorkflowResult:
        """``run`` for callers without an event loop (scripts, the CLI).

        It runs in an event loop of its own and closes the site adapters at the end, since their connections
        belong to that loop.
        """

        async def run_and_close() -> WorkflowResult:
            try:
                return await self.run(case_id)
            finally:
                await self.aclose()

        return asyncio.run(run_and_close())

    async def aclose(self) -> None:
        """Close every site adapter, the capturer, the TSA and the RDAP client (the workflow owns what it is given;
        closing twice is harmless)."""
        for site in self.sites.values():
            await site.aclose()
        if self.capturer is not None:
            await self.capturer.aclose()
        if self.rdap is not None:
            await self.rdap.aclose()
        if self.tsa is not None:
            self.tsa.close()
        for close in self.closing:
            close()

    @property
    def errors(self) -> list[str]:
        """What failed since the last ``run()`` began (or since construction, when stages are called alone)."""
        return list(self._errors)

    def clear_errors(self) -> None:
        """Forget the recorded failures (``run()`` does this when it starts)."""
        self._errors = []

    def result(self, case_id: str, *, seconds: float = 0.0) -> WorkflowResult:
        """The case's counts as they stand in the store."""
        everything = self.store.list_findings(case_id)
        findings = [f for f in everything if f.canonical_id is None]
        notices = self.store.list_notices(case_id)
        return WorkflowResult(
            case_id=case_id,
            candidates=len(everything),
            findings=sum(f.decision in (Decision.MATCH, Decision.REVIEW) for f in findings),
            matches=sum(f.decision is Decision.MATCH for f in findings),
            reviews=sum(f.decision is Decision.REVIEW for f in findings),
            also_shown_at=len(everything) - len(findings),
            bundles=len(self.store.list_bundles(case_id)),
            notices=len(notices),
            locales=sorted({n.locale for n in notices}),
            errors=list(self._errors),
            seconds=round(seconds, 3),
        )

    def _report(self, stage: str, done: int, total: int | None, message: str = "") -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(stage=stage, done=done, total=total, message=message))

    def _fail(self, what: str, exc: BaseException) -> None:
        self._errors.append(f"{what}: {type(exc).__name__}: {exc}")

    async def _off_loop(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def _bounded(self, stage: str, items: Sequence[T], work: Callable[[T], Awaitable[None]]) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        done = 0
        self._report(stage, 0, len(items))

        async def one(item: T) -> None:
            nonlocal done
            async with gate:
                await work(item)
            done += 1
            self._report(stage, done, len(items))

        await asyncio.gather(*(one(item) for item in items))

    # -- discover -------------------------------------------------------------------------------------------

    async def discover(self, case: Case) -> None:
        """Search every site for every keyword of the case; each new page becomes a ``found`` finding."""
        found = 0
        queries = case.keywords or [""]

        async def search(site: SiteAdapter) -> None:
            nonlocal found
            for text in queries:
                try:
                    async for candidate in site.search(SearchQuery(case_id=case.id, text=text)):
                        if self.store.add_finding(Finding(case_id=case.id, candidate=candidate)):
                            found += 1
                            self._report("discover", found, None, candidate.url)
                except SiteError as exc:
                    self._fail(f"search {site.site} for {text!r}", exc)

        self._report("discover", 0, None)
        await asyncio.gather(*(search(site) for site in self.sites.values()))

    # -- judge ----------------------------------------------------------------------------------------------

    async def judge(self, case: Case) -> None:
        """Fetch each ``found`` page, store its bytes, run the detectors and record the policy's decision."""
        pending = self.store.list_findings(case.id, states=[FindingState.FOUND])
        await self._bounded("judge", pending, lambda finding: self._judge_one(case, finding))
        self.mark_repeats(case)

    def mark_repeats(self, case: Case) -> list[Finding]:
        """Mark the judged pages that only repeat another finding's media on their site (``find_repeats``: home,
        archive, tag, author and search pages) as listed under that finding ("also shown at").

        Only findings whose decision gets evidence are considered, and only judged ones are decided; one decided
        earlier keeps what it is. ``judge`` calls this when it is done.

        Returns:
            The findings marked now.
        """
        wanted = [f for f in self.store.list_findings(case.id) if f.decision in self.evidence_for]
        undecided = {f.id for f in wanted if f.state is FindingState.JUDGED and f.canonical_id is None}
        by_site: dict[str, list[Finding]] = {}
        for finding in wanted:
            by_site.setdefault(finding.candidate.site, []).append(finding)
        marked = []
        byid = {f.id: f for f in wanted}
        for findings in by_site.values():
            for repeat_id, canonical_id in find_repeats(findings, undecided=undecided).items():
                finding = byid[repeat_id]
                moved = finding.advance(
                    FindingState.JUDGED, canonical_id=canonical_id,
                    note=f"only repeats the media of {canonical_id} ({byid[canonical_id].candidate.url}): "
                         "listed under it as also shown at",
                )
                self.store.update_finding(moved, expected=FindingState.JUDGED)
                marked.append(moved)
        return marked

    async def _judge_one(self, case: Case, finding: Finding) -> None:
        site = self.sites.get(finding.candidate.site)
        if site is None:
            self._fail(f"judge {finding.id}", UsageError(f"no site adapter for {finding.candidate.site!r} in this run"))
            return
        try:
            page = await site.fetch(finding.candidate)
        except SiteError as exc:
            self._fail(f"fetch {finding.candidate.url}", exc)
            return
        record, media = await self._off_loop(lambda: self._store_page(page))
        candidate = finding.candidate.model_copy(
            update={"title": page.title or finding.candidate.title, "text": page.text,
                    "language": page.language or finding.candidate.language}
        )
        detections = await self._off_loop(lambda: self._detect(case, candidate, media))
        decision, reasons = self.policy.decide(detections, case=case)
        if page.status >= 400:
            reasons = (f"the page answered HTTP {page.status}", *reasons)
        if page.skipped:  # media that could not be had was not judged: an officer looks, it is never cleared
            if decision is Decision.CLEAR:
                decision, reasons = Decision.REVIEW, ()
            reasons = (*reasons, *(f"media left out: {note}" for note in page.skipped))
        judged = finding.advance(
            FindingState.JUDGED, candidate=candidate, page=record, media=media, detections=detections,
            decision=decision, reasons=reasons,
        )
        self.store.update_finding(judged, expected=FindingState.FOUND)

    def _store_page(self, page: Page) -> tuple[PageRecord, tuple[Media, ...]]:
        blobs = self.store.blobs
        html_sha = blobs.put(page.body or page.html.encode("utf-8"))
        media = []
        for item in page.media:
            sha = blobs.put(item.content)
            media.append(
                Media(
                    url=item.url, kind=item.kind, content_type=item.content_type, size=len(item.content), sha256=sha,
                    md5=hashlib.md5(item.content, usedforsecurity=False).hexdigest(), blob=blobs.path(sha),
                )
            )
        record = PageRecord(
            url=page.url, final_url=page.final_url, status=page.status, headers=page.headers, title=page.title,
            language=page.language, html_sha256=html_sha, contacts=page.contacts, fetched_at=page.fetched_at,
        )
        return record, tuple(media)

    def _detect(self, case: Case, candidate: Candidate, media: Sequence[Media]) -> tuple[Detection, ...]:
        """Every detector's verdict on every item it accepts, item by item (the media, then the text) and within
        an item in detector order. A batch detector gets all of the page's items it accepts in one call; an item
        a detector fails on, or crashes on, gets an ``error`` detection (``detect_items``)."""
        items: list[Media | Candidate] = [*media, candidate]
        kinds = [ItemKind(m.kind.value) for m in media] + [ItemKind.TEXT]
        verdicts: dict[tuple[int, int], Detection] = {}  # (item, detector) -> detection
        for which, detector in enumerate(self.detectors):
            accepted = [index for index, kind in enumerate(kinds) if kind in detector.accepts]
            detections = detect_items(detector, [items[index] for index in accepted], case=case)
            verdicts.update(((index, which), d) for index, d in zip(accepted, detections, strict=True))
        return tuple(verdicts[key] for key in sorted(verdicts))

    # -- evidence -------------------------------------------------------------------------------------------

    async def collect_evidence(self, case: Case) -> None:
        """Capture and seal a bundle for each judged finding whose decision asks for evidence.

        Raises:
            UsageError: the case was withdrawn (nothing of it is captured or drafted any more).
        """
        _refuse_withdrawn(case)
        pending = [
            f for f in self.store.list_findings(case.id, states=[FindingState.JUDGED])
            if f.decision in self.evidence_for
        ]
        await self._bounded("evidence", pending, self._evidence_one)

    async def seal_evidence(self, finding: Finding, *, keep_failed: bool = False) -> SealedEvidence:
        """Capture, preview, write up and seal one finding's evidence, and export its custody log; store nothing.

        This is the evidence step of ``run()`` (which then records the bundle and its custody events in the store)
        and of ``capture_url`` (which has no store record). In order: the capture; its seal and time stamp
        (``seal_capture``), so the reports can cite a stamp that exists; the reports, which see the custody events
        so far (planned here and exported beside the files first); then the final seal over everything, signed
        and stamped, which records the custody head it follows.

        Args:
            finding: the finding (its candidate's URL is captured live when the workflow has a capturer, else its
                fetched page and media are taken from the blob store).
            keep_failed: seal a capture that failed too (what was captured, without reports), instead of raising.

        Raises:
            EvidenceError: the capture failed (unless ``keep_failed``), or a writer or the seal failed.
        """
        root = self.evidence_root
        if self.capturer is not None:
            bundle = await capture_finding_live(finding, capturer=self.capturer, root=root, previews=True)
        else:
            bundle = await self._off_loop(lambda: self._capture_offline(finding))
        if bundle.error is not None and not keep_failed:
            raise EvidenceError(f"capture failed: {bundle.error}", url=finding.candidate.url)
        out = bundle_folder(root, bundle)
        events: list[tuple[str, str, datetime, dict[str, str]]] = [
            ("captured", self.operator, bundle.captured_at, self._capture_details(finding, bundle))]
        if bundle.error is None:
            tsa, why = self.tsa, "no time-stamping authority is configured"
            if tsa is not None and not self.settings.tsa.stamp_capture:
                tsa, why = None, "[tsa] stamp_capture is off: only the final seal is stamped"
            bundle, steps = await self._off_loop(lambda: seal_capture(bundle, root=root, tsa=tsa, unstamped_reason=why))
            events += [(action, self.operator, utcnow(), details) for action, details in steps]
        head = chain_events(bundle.id, events)
        export_custody(head, out / CUSTODY_FILE)
        if bundle.error is None:
            bundle = await self._off_loop(lambda: self._write_reports(bundle, finding, out))
        bundle, _, steps = await self._off_loop(lambda: seal_bundle(
            bundle, root=root, tsa=self.tsa, signer=self.signer, custody_head=head[-1].hash))
        events += [(action, self.operator, utcnow(), details) for action, details in steps]
        if bundle.capture.get("previews_include_originals") == "true":
            events.append(("originals_included", self.operator, utcnow(),
                           {"why": "settings: evidence.include_originals"}))
        export_custody(chain_events(bundle.id, events), out / CUSTODY_FILE)
        return SealedEvidence(bundle=bundle, folder=out, events=tuple(events))

    async def capture_url(self, url: str, *, case_id: str = "adhoc", site: str = "adhoc") -> SealedEvidence:
        """Capture one page as sealed evidence outside any case run (what ``takedown capture`` does).

        The same step as a case's evidence (``seal_evidence``: live capture, previews, every writer, the seal and
        the time stamp); a failed capture is sealed too, and its ``bundle.error`` says why. Nothing is stored.
        """
        if self.capturer is None:
            raise UsageError("capturing a URL needs live capture: set [evidence] live = true")
        candidate = Candidate(case_id=case_id, site=site, url=url)
        return await self.seal_evidence(Finding(case_id=case_id, candidate=candidate), keep_failed=True)

    async def _evidence_one(self, finding: Finding) -> None:
        """Seal one finding's evidence, then record the bundle, its custody events and the move to ``evidenced``
        in one transaction. A crash before that transaction leaves files that the rerun overwrites, and no record.
        """
        try:
            sealed = await self.seal_evidence(finding)
        except EvidenceError as exc:
            self._fail(f"evidence for {finding.id}", exc)
            return
        store, bundle = self.store, sealed.bundle
        with store.transaction():
            store.add_bundle(bundle)
            for action, actor, at, details in sealed.events:
                store.append_custody(bundle.id, action, actor=actor, at=at, details=details)
            export_custody(store.custody_log(bundle.id), sealed.folder / CUSTODY_FILE)
            store.update_finding(finding.advance(FindingState.EVIDENCED, note=bundle.id),
                                 expected=FindingState.JUDGED)

    def _capture_offline(self, finding: Finding) -> EvidenceBundle:
        """The page and media the site adapter fetched, from the blob store, with masked previews."""
        bundle = capture_finding(finding, blobs=self.store.blobs, root=self.evidence_root, writers=(),
                                 operator=self.operator)
        out = bundle_folder(self.evidence_root, bundle)
        made, originals = make_previews(bundle, root=self.evidence_root, out=out, settings=self.settings.evidence)
        return bundle.model_copy(update={
            "artifacts": (*bundle.artifacts, *made),
            "capture": {**bundle.capture, "previews_include_originals": "true" if originals else "false"},
        })

    def _write_reports(self, bundle: EvidenceBundle, finding: Finding, out: Path) -> EvidenceBundle:
        for writer in self.writers:
            artifact = writer.write(bundle, finding, out=out, root=self.evidence_root)
            bundle = bundle.model_copy(update={"artifacts": (*bundle.artifacts, artifact)})
        return bundle

    def _capture_details(self, finding: Finding, bundle: EvidenceBundle) -> dict[str, str]:
        keys = ("final_url", "status", "server_ip", "tls_sha256", "browser_error", "previews_include_originals")
        details = {"url": finding.candidate.url, "finding": finding.id}
        details.update({k: bundle.capture[k] for k in keys if bundle.capture.get(k)})
        return details

    # -- draft ----------------------------------------------------------------------------------------------

    async def _recipients(self, finding: Finding) -> list[Recipient]:
        if self.rdap is None:  # a refused declared contact is reported, and the other recipients still get drafts
            return recipients_for(finding, on_error=lambda exc: self._fail(f"recipients for {finding.id}", exc))
        return await resolve_recipients(
            finding, rdap=self.rdap, on_error=lambda exc: self._fail(f"recipients for {finding.id}", exc)
        )

    def _form_recipient(self, finding: Finding, recipients: Sequence[Recipient]) -> Recipient | None:
        """The web form the finding's site adapter submits to, if it is a ``FormReporter`` with a form.

        The recipient found among the page's contacts is kept (its ``source`` says where); else one is made from
        the adapter's form URL.
        """
        site = self.sites.get(finding.candidate.site)
        if not isinstance(site, FormReporter) or not site.form_url:
            return None
        for recipient in recipients:
            if recipient.channel == "web_form" and submits_to(site, recipient.address):
                return recipient
        return Recipient(address=site.form_url, channel="web_form", source=f"web form of site {site.site}")

    async def _targets(self, finding: Finding) -> list[tuple[Recipient, bool]]:
        """Who a finding's notices go to: its first email recipient (with an English copy beside the local
        language) and its site's web form (one language), or the form only when the adapter is ``form_only``."""
        found = await self._recipients(finding)
        emails = [r for r in found if r.channel == "email"]
        form = self._form_recipient(finding, found)
        if not emails and form is None:
            raise ReportError(f"no email recipient or web form for {finding.candidate.url}")
        site = self.sites.get(finding.candidate.site)
        if form is not None and isinstance(site, FormReporter) and site.form_only:
            emails = []  # the operator answers only its form: one request, not two
        targets = [(emails[0], self.bilingual)] if emails else []
        if form is not None:
            targets.append((form, False))
        return targets

    def _draft_group(self, case: Case, group: NoticeGroup, supported: frozenset[str]) -> list[Notice]:
        """One notice per locale to the group's recipient, listing its findings."""
        recipient = group.recipient
        bundles = {f.id: self.store.get_bundle(f.bundle_id) for f in group.findings}
        withdrawn = [n for f in group.findings
                     for n in self.store.list_notices(finding_id=f.id, states=[NoticeState.WITHDRAWN])]
        revision = 1 + max((n.revision for n in withdrawn), default=0)
        locales = self.locales or notice_locales(
            recipient_country=recipient.country,
            site_language=recipient.language or sites_language(group.findings),
            agency_language=self.settings.agency.language, bilingual=group.bilingual, supported=supported,
        )
        if recipient.channel == "web_form":
            locales = locales[:1]  # each submission files a request: one language is enough
        return draft_notices(group.findings, case=case, agency=self.settings.agency, templates=self.templates,
                             locales=locales, bundles=bundles, recipient=recipient, revision=revision,
                             deadline_hours=self.settings.report.deadlines)

    def _absorb_drafts(self, case: Case, groups: list[NoticeGroup]) -> list[NoticeGroup]:
        """Each group with the untouched earlier drafts of the case to its recipient (``absorbs``) folded in: their
        findings are listed again beside the new ones, and the new notices replace them, so a recipient still has
        one request to approve when monitoring finds more pages before the first was approved."""
        drafts = self.store.list_notices(case.id, states=[NoticeState.DRAFT])
        if not drafts:
            return groups
        findings = {fid: self.store.get_finding(fid) for n in drafts for fid in n.finding_ids}  # each read once
        taken: set[str] = set()
        out = []
        for group in groups:
            replaces = [n for n in drafts if n.id not in taken
                        and absorbs(group, n, [findings[fid] for fid in n.finding_ids])]
            if replaces:
                taken |= {n.id for n in replaces}
                new = {f.id for f in group.findings}
                earlier = dict.fromkeys(fid for n in replaces for fid in n.finding_ids if fid not in new)
                merged = order_findings([*group.findings, *(findings[fid] for fid in earlier)])
                group = replace(group, findings=tuple(merged), replaces=tuple(replaces))
            out.append(group)
        return out

    async def draft(self, case: Case) -> None:
        """Draft notices for the evidenced findings; they wait for an officer's approval.

        Each recipient gets one notice per language listing every finding that goes to it (``group_findings``:
        by default per recipient and material type; ``[report] group = false`` or ``per_url`` keep one per
        finding), the pages that repeat a finding's media listed under it. A finding goes to its first email
        recipient, in its language with an English copy, and, when its site adapter can file requests through
        the site's web form, to that form in one language (or only there, when the adapter is ``form_only``).
        A finding whose notices cannot be drafted stays evidenced, and the others are drafted without it.
        """
        _refuse_withdrawn(case)
        pending = self.store.list_findings(case.id, states=[FindingState.EVIDENCED])
        supported = frozenset(locale for template in self.templates for locale in template.locales)
        self._report("draft", 0, len(pending))
        targets = []
        for finding in pending:
            try:
                targets.append((finding, await self._targets(finding)))
            except ReportError as exc:
                self._fail(f"draft for {finding.id}", exc)
        report = self.settings.report
        groups = self._absorb_drafts(case, group_findings(
            targets, jurisdiction=case.jurisdiction or self.settings.agency.jurisdiction, group=report.group,
            per_url=report.per_url,
        ))
        failed: set[str] = set()
        while True:  # a group that fails takes its findings out of every group, which are drafted again
            drafted: list[tuple[NoticeGroup, list[Notice]]] = []
            newly: set[str] = set()
            for group in groups:
                members = tuple(f for f in group.findings if f.id not in failed)
                if not members:
                    continue
                group = replace(group, findings=members)
                try:
                    drafted.append((group, self._draft_group(case, group, supported)))
                except ReportError as exc:
                    self._fail(f"draft for {', '.join(f.id for f in members)}", exc)
                    newly |= {f.id for f in members}
            if not newly:
                break
            failed |= newly
        done_ids = {f.id for group, _ in drafted for f in group.findings}
        with self.store.transaction():
            for group, notices in drafted:
                for old in group.replaces:  # an untouched earlier draft: the new request lists its pages too
                    withdraw_notice(self.store, old.id, by=self.operator, reason=f"listed again with "
                                    f"{len(group.findings) - len(old.finding_ids)} new page(s) in one request")
                for notice in notices:
                    if self.store.add_notice(notice):
                        self.store.append_custody(notice.id, "drafted", actor=self.operator, details={
                            "locale": notice.locale, "to": notice.recipient.address,
                            "findings": str(len(notice.finding_ids)),
                        })
            for finding in pending:  # (the findings of replaced drafts are drafted already)
                if finding.id in done_ids:
                    self.store.update_finding(finding.advance(FindingState.DRAFTED), expected=FindingState.EVIDENCED)
        self._report("draft", len(done_ids), len(pending))
