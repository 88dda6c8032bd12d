"""Test doubles for every extension point, and contract tests a plugin author subclasses.

Fakes (used by takedown's own tests too):

- ``MockSite``: a site adapter over a dict of pages (or a fetch function).
- ``StaticDetector``: answers a fixed label, or the label given per target.
- ``BatchStaticDetector``: the same as a ``BatchDetector``, recording each batch it is given.
- ``RecordingWriter``: writes a small text report and remembers what it was asked.
- ``StaticTemplate``: renders fixed ``str.format`` strings.
- ``CapturingTransport``: keeps sent messages in a list; can be told to fail.
- ``CapturingFormReporter``: a site's web form that keeps what it is sent; can be told to fail or to leave a
  submission unconfirmed.
- ``ScriptedJudgeBackend``: an LLM-judge backend that answers scripted replies (from ``takedown.detect.judge``).
- ``memory_store()``: a real SQLite case store in memory, blobs in a temporary folder.

Contracts: subclass one in your test module, name it ``Test...``, and implement its ``make_...`` method(s)::

    from takedown.testing import DetectorContract

    class TestMyDetector(DetectorContract):
        def make_detector(self):
            return MyDetector()

pytest then runs every ``test_...`` method of the contract against your plugin.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from takedown.detect.banks import BankEntry, BankKind, HashBank
from takedown.detect.base import Detector
from takedown.detect.judge import ScriptedJudgeBackend
from takedown.errors import (
    DeliveryError,
    DeliveryStateUnknownError,
    DetectionError,
    InvalidTransitionError,
    NotApprovedError,
    NotFoundError,
    ReportError,
    SiteError,
    UsageError,
)
from takedown.evidence.base import EvidenceWriter
from takedown.evidence.custody import verify_chain
from takedown.models import (
    ApiToken,
    Artifact,
    Candidate,
    Case,
    Decision,
    Delivery,
    Detection,
    DetectionLabel,
    EvidenceBundle,
    FetchedMedia,
    Finding,
    FindingState,
    FollowUp,
    FormSubmission,
    ItemKind,
    LoginSession,
    Media,
    MediaKind,
    Notice,
    NoticeItem,
    NoticeState,
    OutgoingMessage,
    Page,
    PageRecord,
    Recipient,
    Role,
    SearchQuery,
    User,
    utcnow,
)
from takedown.report.base import NoticeContext, NoticeTemplate, RenderedNotice, Transport
from takedown.report.jurisdictions import get_jurisdiction
from takedown.settings import AgencySettings
from takedown.sites.base import FormReporter, SiteAdapter, submits_to
from takedown.store.base import CaseStore
from takedown.store.blobs import atomic_write
from takedown.store.sqlite import SQLiteCaseStore

__all__ = [
    "BatchStaticDetector",
    "CapturingFormReporter",
    "CapturingTransport",
    "CaseStoreContract",
    "DetectorContract",
    "EvidenceWriterContract",
    "FormReporterContract",
    "MockSite",
    "NoticeTemplateContract",
    "RecordingWriter",
    "ScriptedJudgeBackend",
    "SiteAdapterContract",
    "StaticDetector",
    "StaticTemplate",
    "TransportContract",
    "TypeCheck",
    "memory_store",
    "sample_case",
    "sample_finding",
    "sample_media",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ALL_KINDS = frozenset(ItemKind)


# -- sample data ------------------------------------------------------------------------------------------------


def sample_case(**changes: object) -> Case:
    """A small case with one exact reference hash and a keyword."""
    data: dict[str, object] = {"id": "case-sample", "title": "Sample case", "keywords": ["sample"],
                               "languages": ["en"], "jurisdiction": "KR"}
    data.update(changes)
    return Case.model_validate(data)


def sample_media(data: bytes = b"not really an image", *, kind: MediaKind = MediaKind.IMAGE,
                 blob: Path | None = None) -> Media:
    """A ``Media`` record for ``data`` (hashes computed; ``blob`` is where the bytes lie, if anywhere)."""
    return Media(url=f"https://mock.example/media/{hashlib.sha256(data).hexdigest()[:8]}", kind=kind,
                 content_type="image/png" if kind is MediaKind.IMAGE else "video/mp4", size=len(data),
                 sha256=hashlib.sha256(data).hexdigest(), md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                 blob=blob)


def sample_finding(case: Case | None = None, *, url: str = "https://mock.example/post/1",
                   state: FindingState = FindingState.JUDGED) -> Finding:
    """A judged (by default) finding with one match detection and a page record."""
    case = case or sample_case()
    candidate = Candidate(case_id=case.id, site="mock.example", url=url, title="A post", text="sample text")
    media = sample_media()
    finding = Finding(case_id=case.id, candidate=candidate)
    if state is FindingState.FOUND:
        return finding
    return Finding(
        case_id=case.id, candidate=candidate, state=state, media=(media,),
        page=PageRecord(url=url, final_url=url, status=200, html_sha256="0" * 64, fetched_at=utcnow()),
        detections=(Detection(detector="static", target=media.sha256, kind=ItemKind.IMAGE,
                              label=DetectionLabel.MATCH, score=1.0, rationale="sample"),),
        decision=Decision.MATCH, reasons=("static: sample",),
    )


# -- fakes ------------------------------------------------------------------------------------------------------


class MockSite:
    """A site adapter over a dict of pages, for tests.

    ``search`` yields a candidate for each page whose title or text contains the query (case-insensitive), or
    for the URLs ``search_fn`` returns; ``fetch`` returns the page, or calls ``fetch_fn``. Unknown URLs raise
    ``SiteError``. Every call is recorded in ``searches`` and ``fetches``.
    """

    name: ClassVar[str] = "mock"

    def __init__(
        self,
        pages: Mapping[str, Page] | None = None,
        *,
        site: str = "mock.example",
        search_fn: Callable[[SearchQuery], Iterable[str]] | None = None,
        fetch_fn: Callable[[Candidate], Page] | None = None,
    ) -> None:
        self.pages = dict(pages or {})
        self._site = site
        self._search_fn = search_fn
        self._fetch_fn = fetch_fn
        self.searches: list[SearchQuery] = []
        self.fetches: list[str] = []
        self.closed = False

    @property
    def site(self) -> str:
        """The site label given at construction."""
        return self._site

    async def search(self, query: SearchQuery):  # type: ignore[no-untyped-def]  # an async generator
        """Yield candidates for the pages that match ``query``."""
        self.searches.append(query)
        if self._search_fn is not None:
            urls = list(self._search_fn(query))
        else:
            needle = query.text.lower()
            urls = [u for u, p in self.pages.items() if needle in f"{p.title} {p.text}".lower()]
        for url in urls[: query.limit]:
            page = self.pages.get(url)
            yield Candidate(case_id=query.case_id, site=self.site, url=url, title=page.title if page else "",
                            query=query.text)

    async def fetch(self, candidate: Candidate) -> Page:
        """The page for the candidate's URL."""
        self.fetches.append(candidate.url)
        if self._fetch_fn is not None:
            return self._fetch_fn(candidate)
        try:
            return self.pages[candidate.url]
        except KeyError:
            raise SiteError("no such page", plugin=self.name, url=candidate.url) from None

    async def aclose(self) -> None:
        """Mark the adapter closed."""
        self.closed = True


class StaticDetector:
    """A detector that answers ``label`` (or ``by_target[target]``) for every item it accepts."""

    name: ClassVar[str] = "static"
    accepts: ClassVar[frozenset[ItemKind]] = ALL_KINDS

    def __init__(
        self,
        label: DetectionLabel = DetectionLabel.NO_MATCH,
        *,
        score: float | None = None,
        by_target: Mapping[str, DetectionLabel] | None = None,
        fail_on: Iterable[str] = (),
    ) -> None:
        self.label = label
        self.score = score
        self.by_target = dict(by_target or {})
        self.fail_on = set(fail_on)
        self.calls: list[str] = []

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """The configured verdict; ``DetectionError`` for targets listed in ``fail_on``."""
        self.calls.append(_target(item))
        return self._answer(item)

    def _answer(self, item: Media | Candidate) -> Detection:
        target = _target(item)
        if target in self.fail_on:
            raise DetectionError(f"told to fail on {target}", plugin=self.name)
        label = self.by_target.get(target, self.label)
        score = self.score if self.score is not None else (1.0 if label is DetectionLabel.MATCH else 0.0)
        kind = ItemKind(item.kind.value) if isinstance(item, Media) else ItemKind.TEXT
        return Detection(detector=self.name, target=target, kind=kind, label=label, score=score, rationale="static")


def _target(item: Media | Candidate) -> str:
    return item.sha256 if isinstance(item, Media) else "text"


class BatchStaticDetector(StaticDetector):
    """A ``BatchDetector`` answering as ``StaticDetector`` does; each ``detect_batch`` call's targets go to
    ``batches`` (``calls`` keeps ``detect``'s own calls). Like a model that chokes on one bad input, a batch holding
    a target of ``fail_on`` fails whole with ``DetectionError``."""

    name: ClassVar[str] = "static_batch"

    def __init__(
        self,
        label: DetectionLabel = DetectionLabel.NO_MATCH,
        *,
        score: float | None = None,
        by_target: Mapping[str, DetectionLabel] | None = None,
        fail_on: Iterable[str] = (),
    ) -> None:
        super().__init__(label, score=score, by_target=by_target, fail_on=fail_on)
        self.batches: list[list[str]] = []

    def detect_batch(self, items: Sequence[Media | Candidate], *, case: Case) -> list[Detection]:
        """The configured verdict for each item, in order; ``DetectionError`` when any is listed in ``fail_on``."""
        targets = [_target(item) for item in items]
        self.batches.append(targets)
        failing = [t for t in targets if t in self.fail_on]
        if failing:
            raise DetectionError(f"told to fail on {failing[0]}, so the whole batch fails", plugin=self.name)
        return [self._answer(item) for item in items]


class RecordingWriter:
    """Writes ``report.txt`` (one line per artifact) and records each bundle it was given."""

    name: ClassVar[str] = "recording"
    media_type: ClassVar[str] = "text/plain"

    def __init__(self) -> None:
        self.bundles: list[str] = []

    def write(self, bundle: EvidenceBundle, finding: Finding, *, out: Path, root: Path) -> Artifact:
        """Write the report atomically and return it as an artifact."""
        self.bundles.append(bundle.id)
        lines = [f"bundle {bundle.id} for {finding.candidate.url}"]
        lines += [f"{a.sha256}  {a.path}" for a in bundle.artifacts]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        path = out / "report.txt"
        atomic_write(path, data)
        return Artifact(path=path.relative_to(root).as_posix(), sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data), media_type=self.media_type, role="report")


class StaticTemplate:
    """Renders ``subject`` and ``body`` with ``str.format`` (fields: ``url``, ``agency``, ``locale``).

    ``url`` is every listed page's URL, separated by spaces (the one URL of a notice that lists one finding).
    """

    name: ClassVar[str] = "static"

    def __init__(self, subject: str = "Removal request {url}", body: str = "Please remove {url}.\n-- {agency}",
                 *, locales: Iterable[str] = ("en",)) -> None:
        self.subject = subject
        self.body = body
        self._locales = frozenset(locales)

    @property
    def locales(self) -> frozenset[str]:
        """The locales given at construction."""
        return self._locales

    def render(self, context: NoticeContext) -> RenderedNotice:
        """Format the strings; ``ReportError`` for a locale not in ``locales``."""
        if context.locale not in self._locales:
            raise ReportError(f"no {context.locale!r} template", plugin=self.name)
        urls = " ".join(dict.fromkeys(f.candidate.url for f in context.listed))
        fields = {"url": urls, "agency": context.agency.name, "locale": context.locale}
        # Every field the jurisdiction requires is filled, so notices from this fake can be approved in tests.
        legal = {name: f"{name} (static)" for name in get_jurisdiction(context.jurisdiction).required_fields}
        return RenderedNotice(subject=" ".join(self.subject.format(**fields).split()),
                              body_text=self.body.format(**fields), legal={**legal, "urls": fields["url"]})


class CapturingTransport:
    """Keeps every message it is given in ``messages``; the first ``fail_times`` sends raise ``DeliveryError``."""

    name: ClassVar[str] = "capture"

    def __init__(self, *, fail_times: int = 0) -> None:
        self.messages: list[OutgoingMessage] = []
        self.fail_times = fail_times
        self.closed = False

    def send(self, message: OutgoingMessage) -> Delivery:
        """Capture the message and return its delivery."""
        if self.closed:
            raise DeliveryError("transport is closed", plugin=self.name)
        if self.fail_times > 0:
            self.fail_times -= 1
            raise DeliveryError("told to fail", plugin=self.name)
        self.messages.append(message)
        return Delivery(notice_id=message.notice_id, transport=self.name, message_id=message.message_id,
                        approved_by=message.approved_by, approved_at=message.approved_at)

    def close(self) -> None:
        """Refuse further sends."""
        self.closed = True


class CapturingFormReporter:
    """A site's web form for tests (a ``FormReporter``): keeps each notice it files in ``submissions``.

    Like a real form it refuses a notice that is not approved (``NotApprovedError``) or is addressed to another
    form (``UsageError``). The first ``fail_times`` submissions then raise ``DeliveryError`` and file nothing; the
    next ``unknown_times`` are filed (kept in ``submissions``) and raise ``DeliveryStateUnknownError``, as a site
    that takes the report and then answers a server error.
    """

    name: ClassVar[str] = "capture_form"

    def __init__(self, form_url: str = "https://mock.example/report", *, site: str = "mock.example",
                 fail_times: int = 0, unknown_times: int = 0, form_only: bool = False,
                 takes_lists: bool = True) -> None:
        self._form_url = form_url
        self._site = site
        self._form_only = form_only
        self._takes_lists = takes_lists
        self.fail_times = fail_times
        self.unknown_times = unknown_times
        self.submissions: list[FormSubmission] = []

    @property
    def site(self) -> str:
        """The site label given at construction."""
        return self._site

    @property
    def form_url(self) -> str:
        """The form's URL given at construction."""
        return self._form_url

    @property
    def form_only(self) -> bool:
        """Whether the form replaces email requests, as given at construction."""
        return self._form_only

    @property
    def form_takes_lists(self) -> bool:
        """Whether one submission carries several URLs, as given at construction (``takes_lists``)."""
        return self._takes_lists

    async def report_form(self, notice: Notice) -> FormSubmission:
        """File the notice (its subject, body and URLs as fields), unless told to fail."""
        if notice.state is not NoticeState.APPROVED or not notice.approved_by or notice.approved_at is None:
            raise NotApprovedError(f"notice {notice.id} is {notice.state.value}", plugin=self.name)
        if notice.recipient.channel != "web_form" or not submits_to(self, notice.recipient.address):
            raise UsageError(f"notice {notice.id} is not addressed to {self.form_url}")
        if self.fail_times > 0:
            self.fail_times -= 1
            raise DeliveryError("told to fail", plugin=self.name, url=self.form_url)
        fields = {"subject": notice.subject, "body": notice.body_text, "urls": notice.legal.get("urls", "")}
        submission = FormSubmission(
            notice_id=notice.id, site=self.site, url=self.form_url, method="post", fields=fields, status=200,
            final_url=self.form_url, response_sha256=hashlib.sha256(b"received").hexdigest(),
            approved_by=notice.approved_by, approved_at=notice.approved_at,
        )
        self.submissions.append(submission)
        if self.unknown_times > 0:
            self.unknown_times -= 1
            raise DeliveryStateUnknownError("told to leave it unconfirmed", plugin=self.name, url=self.form_url)
        return submission


def memory_store(blob_dir: Path | None = None) -> SQLiteCaseStore:
    """A real SQLite case store held in memory, with blobs in ``blob_dir``.

    Without ``blob_dir``, blobs go to a new temporary folder that is removed when the store is garbage-collected
    (or at exit).
    """
    if blob_dir is not None:
        return SQLiteCaseStore(":memory:", blob_dir=blob_dir)
    folder = tempfile.TemporaryDirectory(prefix="takedown-blobs-")
    store = SQLiteCaseStore(":memory:", blob_dir=Path(folder.name))
    weakref.finalize(store, folder.cleanup)
    return store


# -- contracts --------------------------------------------------------------------------------------------------


class TypeCheck:
    """Shared checks for plugin names."""

    @staticmethod
    def check_name(plugin: object) -> None:
        """The plugin's ``name`` is a literal lower_snake_case string on its class."""
        name = getattr(type(plugin), "name", None)
        assert isinstance(name, str), f"{type(plugin).__name__}.name must be a class attribute str"
        assert _NAME.match(name), f"name {name!r} must be lower_snake_case"


class DetectorContract:
    """What every ``Detector`` must do. Implement ``make_detector``; override ``make_items`` to add your own."""

    def make_detector(self) -> Detector:
        """The detector under test."""
        raise NotImplementedError("implement make_detector() in your subclass")

    def make_case(self) -> Case:
        """The case items are judged against."""
        return sample_case()

    def make_items(self, folder: Path) -> list[Media | Candidate]:
        """Items the detector should be able to judge (default: a candidate, and a corrupt image and video)."""
        corrupt = folder / "corrupt.bin"
        corrupt.write_bytes(b"\x00garbage" * 16)
        items: list[Media | Candidate] = [sample_finding().candidate]
        items += [sample_media(b"\x00garbage" * 16, kind=k, blob=corrupt) for k in (MediaKind.IMAGE, MediaKind.VIDEO)]
        return items

    def test_satisfies_protocol(self) -> None:
        detector = self.make_detector()
        assert isinstance(detector, Detector)
        TypeCheck.check_name(detector)
        assert detector.accepts, "a detector accepts at least one item kind"
        assert detector.accepts <= ALL_KINDS

    def test_judges_what_it_accepts_or_raises_a_typed_error(self) -> None:
        detector = self.make_detector()
        with tempfile.TemporaryDirectory() as folder:
            for item in self.make_items(Path(folder)):
                kind = ItemKind(item.kind.value) if isinstance(item, Media) else ItemKind.TEXT
                if kind not in detector.accepts:
                    continue
                try:
                    detection = detector.detect(item, case=self.make_case())
                except DetectionError:
                    continue  # a typed failure is allowed: the workflow records it and goes on
                assert isinstance(detection, Detection)
                assert detection.detector == detector.name
                assert detection.target == (item.sha256 if isinstance(item, Media) else "text")
                assert detection.kind is kind
                assert 0.0 <= detection.score <= 1.0


class SiteAdapterContract:
    """What every ``SiteAdapter`` must do. Implement ``make_site`` and ``make_query``."""

    def make_site(self) -> SiteAdapter:
        """The adapter under test, pointed at a site that answers ``make_query``."""
        raise NotImplementedError("implement make_site() in your subclass")

    def make_query(self) -> SearchQuery:
        """A query the site has at least one result for."""
        raise NotImplementedError("implement make_query() in your subclass")

    def _scenario(self, steps: Callable[[SiteAdapter], Awaitable[None]]) -> None:
        """Run ``steps`` against a new adapter in one event loop, closing the adapter afterwards."""

        async def run() -> None:
            site = self.make_site()
            try:
                await steps(site)
            finally:
                await site.aclose()

        asyncio.run(run())

    def test_satisfies_protocol(self) -> None:
        async def steps(site: SiteAdapter) -> None:
            assert isinstance(site, SiteAdapter)
            TypeCheck.check_name(site)
            assert site.site, "an adapter says which site it covers"

        self._scenario(steps)

    def test_search_yields_unique_candidates_of_the_case(self) -> None:
        query = self.make_query()

        async def steps(site: SiteAdapter) -> None:
            found = [c async for c in site.search(query)]
            assert found, "the query must find something"
            assert len(found) <= query.limit
            assert all(c.case_id == query.case_id and c.site == site.site for c in found)
            assert len({c.url for c in found}) == len(found), "candidates are de-duplicated"

        self._scenario(steps)

    def test_fetch_returns_the_page_with_raw_media(self) -> None:
        query = self.make_query()

        async def steps(site: SiteAdapter) -> None:
            candidate = await anext(aiter(site.search(query)))
            page = await site.fetch(candidate)
            assert isinstance(page, Page)
            assert page.url == candidate.url
            assert 100 <= page.status <= 599
            assert all(isinstance(m, FetchedMedia) and m.url for m in page.media)

        self._scenario(steps)

    def test_fetch_failures_are_site_errors(self) -> None:
        query = self.make_query()

        async def steps(site: SiteAdapter) -> None:
            missing = Candidate(case_id=query.case_id, site=site.site, url="http://unreachable.invalid/none")
            try:
                page = await site.fetch(missing)
            except SiteError:
                return
            assert page.status >= 400, "an unreachable page is a SiteError or an HTTP error status"

        self._scenario(steps)


class FormReporterContract:
    """What every ``FormReporter`` must do. Implement ``make_reporter`` (and ``received`` if you can observe it).

    Each test makes a new reporter and calls ``close_reporter`` on it in the same event loop afterwards.
    """

    def make_reporter(self) -> FormReporter:
        """The reporter under test, pointed at a form that accepts ``make_notice``'s values."""
        raise NotImplementedError("implement make_reporter() in your subclass")

    async def close_reporter(self, reporter: FormReporter) -> None:
        """Release what the reporter holds (a site adapter's ``aclose``); nothing by default."""

    def received(self) -> int | None:
        """How many requests the form has received so far, or ``None`` if the test cannot observe it."""
        return None

    def make_notice(self, form_url: str, *, approved: bool = True) -> Notice:
        """A notice addressed to ``form_url``, approved by "Officer Kim" unless ``approved`` is false."""
        notice = Notice(
            case_id="case-contract", finding_id="fnd-contract", jurisdiction="KR", locale="en",
            recipient=Recipient(address=form_url, channel="web_form"), subject="Removal request",
            body_text="Please remove the post at the URL.",
            legal={"urls": "https://mock.example/post/1", "contact_email": "takedown@agency.example"},
        )
        if approved:
            notice = notice.advance(NoticeState.APPROVED, by="Officer Kim", approved_by="Officer Kim",
                                    approved_at=utcnow())
        return notice

    def _scenario(self, steps: Callable[[FormReporter], Awaitable[None]]) -> None:
        async def run() -> None:
            reporter = self.make_reporter()
            try:
                await steps(reporter)
            finally:
                await self.close_reporter(reporter)

        asyncio.run(run())

    def test_satisfies_protocol(self) -> None:
        async def steps(reporter: FormReporter) -> None:
            assert isinstance(reporter, FormReporter)
            assert reporter.form_url and submits_to(reporter, reporter.form_url)

        self._scenario(steps)

    def test_an_approved_notice_is_submitted_once(self) -> None:
        async def steps(reporter: FormReporter) -> None:
            assert reporter.form_url
            notice = self.make_notice(reporter.form_url)
            before = self.received()
            submission = await reporter.report_form(notice)
            assert isinstance(submission, FormSubmission)
            assert (submission.notice_id, submission.approved_by) == (notice.id, "Officer Kim")
            assert submits_to(reporter, submission.url)
            assert submission.delivery().notice_id == notice.id
            after = self.received()
            if before is not None and after is not None:
                assert after == before + 1, "one notice, one request"

        self._scenario(steps)

    def test_an_unapproved_or_misaddressed_notice_is_refused(self) -> None:
        async def steps(reporter: FormReporter) -> None:
            assert reporter.form_url
            before = self.received()
            try:
                await reporter.report_form(self.make_notice(reporter.form_url, approved=False))
            except NotApprovedError:
                pass
            else:
                raise AssertionError("a notice without an approval must raise NotApprovedError")
            try:
                await reporter.report_form(self.make_notice("https://elsewhere.invalid/report"))
            except UsageError:
                pass
            else:
                raise AssertionError("a notice addressed to another form must raise UsageError")
            assert self.received() == before, "nothing was submitted"

        self._scenario(steps)


class EvidenceWriterContract:
    """What every ``EvidenceWriter`` must do. Implement ``make_writer``."""

    def make_writer(self) -> EvidenceWriter:
        """The writer under test."""
        raise NotImplementedError("implement make_writer() in your subclass")

    def make_inputs(self) -> tuple[EvidenceBundle, Finding]:
        """A bundle and its finding to write."""
        finding = sample_finding(state=FindingState.JUDGED)
        bundle = EvidenceBundle(case_id=finding.case_id, finding_id=finding.id, capture={"url": finding.candidate.url})
        return bundle, finding

    def test_satisfies_protocol(self) -> None:
        writer = self.make_writer()
        assert isinstance(writer, EvidenceWriter)
        TypeCheck.check_name(writer)
        assert "/" in writer.media_type

    def test_writes_a_sealed_artifact_under_out(self) -> None:
        writer = self.make_writer()
        bundle, finding = self.make_inputs()
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            out = root / "case" / bundle.id
            artifact = writer.write(bundle, finding, out=out, root=root)
            path = root / artifact.path
            assert path.is_file() and path.resolve().is_relative_to(out.resolve())
            data = path.read_bytes()
            assert artifact.sha256 == hashlib.sha256(data).hexdigest()
            assert artifact.size == len(data)
            assert artifact.media_type == writer.media_type
            leftovers = [p.name for p in out.rglob("*") if p.name.endswith(".tmp")]
            assert not leftovers, f"temporary files left behind: {leftovers}"

    def test_same_input_gives_same_content(self) -> None:
        writer = self.make_writer()
        bundle, finding = self.make_inputs()
        digests = []
        for _ in range(2):
            with tempfile.TemporaryDirectory() as folder:
                root = Path(folder)
                digests.append(writer.write(bundle, finding, out=root / "b", root=root).sha256)
        assert digests[0] == digests[1]


class NoticeTemplateContract:
    """What every ``NoticeTemplate`` must do. Implement ``make_template``."""

    def make_template(self) -> NoticeTemplate:
        """The template under test."""
        raise NotImplementedError("implement make_template() in your subclass")

    def make_context(self, locale: str) -> NoticeContext:
        """A context to render, with a hostile page title (CR/LF, a fake header)."""
        finding = sample_finding(state=FindingState.EVIDENCED)
        hostile = finding.candidate.model_copy(update={"title": "Post\r\nBcc: victim@example.com"})
        finding = finding.model_copy(update={"candidate": hostile})
        return NoticeContext(case=sample_case(), finding=finding, agency=AgencySettings(), jurisdiction="KR",
                             locale=locale, recipient=Recipient(address="abuse@mock.example"))

    def test_satisfies_protocol(self) -> None:
        template = self.make_template()
        assert isinstance(template, NoticeTemplate)
        TypeCheck.check_name(template)
        assert template.locales, "a template renders at least one locale"

    def test_renders_every_locale_with_a_one_line_subject(self) -> None:
        template = self.make_template()
        for locale in sorted(template.locales):
            context = self.make_context(locale)
            rendered = template.render(context)
            assert rendered.subject.strip(), f"{locale}: empty subject"
            assert "\r" not in rendered.subject and "\n" not in rendered.subject, f"{locale}: multi-line subject"
            assert context.finding.candidate.url in rendered.body_text, f"{locale}: the body must give the URL"

    def test_unknown_locale_is_a_report_error(self) -> None:
        template = self.make_template()
        try:
            template.render(self.make_context("x-unknown"))
        except ReportError:
            return
        raise AssertionError("rendering an unsupported locale must raise ReportError")


class TransportContract:
    """What every ``Transport`` must do. Implement ``make_transport`` (and ``delivered`` if you can observe it)."""

    def make_transport(self) -> Transport:
        """The transport under test, pointed at somewhere that accepts mail."""
        raise NotImplementedError("implement make_transport() in your subclass")

    def delivered(self, transport: Transport) -> list[str] | None:
        """The Message-IDs the far side received, or ``None`` if the test cannot observe them."""
        return None

    def make_message(self) -> OutgoingMessage:
        """An approved message to send."""
        raw = (b"From: takedown@agency.example\r\nTo: abuse@mock.example\r\nSubject: Removal request\r\n"
               b"Message-ID: <contract@agency.example>\r\n\r\nPlease remove https://mock.example/post/1\r\n")
        return OutgoingMessage(notice_id="ntc-contract", message_id="<contract@agency.example>",
                               sender="takedown@agency.example", recipients=("abuse@mock.example",),
                               subject="Removal request", raw=raw, approved_by="Officer Kim", approved_at=utcnow())

    def test_satisfies_protocol(self) -> None:
        transport = self.make_transport()
        assert isinstance(transport, Transport)
        TypeCheck.check_name(transport)
        transport.close()

    def test_send_returns_the_delivery_of_that_message(self) -> None:
        transport = self.make_transport()
        message = self.make_message()
        try:
            delivery = transport.send(message)
            assert delivery.notice_id == message.notice_id
            assert delivery.message_id == message.message_id
            assert delivery.approved_by == message.approved_by
            assert delivery.transport == transport.name
            seen = self.delivered(transport)
            if seen is not None:
                assert seen.count(message.message_id) == 1
        finally:
            transport.close()


class CaseStoreContract:
    """What every ``CaseStore`` must do. Implement ``make_store`` (a new, empty store in ``folder``)."""

    def make_store(self, folder: Path) -> CaseStore:
        """A new, empty store that keeps its files in ``folder``."""
        raise NotImplementedError("implement make_store() in your subclass")

    def _with_store(self, check: Callable[[CaseStore], None]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            store = self.make_store(Path(folder))
            try:
                check(store)
            finally:
                store.close()

    def test_satisfies_protocol(self) -> None:
        def check(store: CaseStore) -> None:
            assert isinstance(store, CaseStore)
            TypeCheck.check_name(store)

        self._with_store(check)

    def test_cases_round_trip(self) -> None:
        def check(store: CaseStore) -> None:
            case = sample_case()
            store.put_case(case)
            assert store.get_case(case.id) == case
            assert [c.id for c in store.list_cases()] == [case.id]
            try:
                store.get_case("case-missing")
            except NotFoundError:
                return
            raise AssertionError("a missing case is a NotFoundError")

        self._with_store(check)

    def test_findings_are_inserted_once_and_moved_by_compare_and_set(self) -> None:
        def check(store: CaseStore) -> None:
            found = sample_finding(state=FindingState.FOUND)
            assert store.add_finding(found) is True
            assert store.add_finding(found) is False
            judged = sample_finding(state=FindingState.JUDGED)
            store.update_finding(judged, expected=FindingState.FOUND)
            assert store.get_finding(found.id).state is FindingState.JUDGED
            try:
                store.update_finding(judged, expected=FindingState.FOUND)
            except InvalidTransitionError:
                pass
            else:
                raise AssertionError("a stale compare-and-set must fail")
            assert [f.id for f in store.list_findings(found.case_id, states=[FindingState.JUDGED])] == [found.id]
            assert store.list_findings(found.case_id, states=[FindingState.FOUND]) == []
            assert [f.id for f in store.list_findings(decision=Decision.MATCH)] == [found.id]

        self._with_store(check)

    def test_transactions_roll_back_together(self) -> None:
        def check(store: CaseStore) -> None:
            finding = sample_finding(state=FindingState.FOUND)
            try:
                with store.transaction():
                    store.add_finding(finding)
                    store.append_custody("subject", "captured", actor="test")
                    raise RuntimeError("crash inside the transaction")
            except RuntimeError:
                pass
            assert store.list_findings() == []
            assert store.custody_log("subject") == []

        self._with_store(check)

    def test_bundles_notices_and_deliveries_are_idempotent(self) -> None:
        def check(store: CaseStore) -> None:
            finding = sample_finding()
            bundle = EvidenceBundle(case_id=finding.case_id, finding_id=finding.id)
            assert store.add_bundle(bundle) is True
            assert store.add_bundle(bundle) is False
            assert store.get_bundle(bundle.id) == bundle
            notice = Notice(case_id=finding.case_id, finding_id=finding.id, recipient=Recipient(address="a@b.example"),
                            jurisdiction="KR", locale="en", subject="s", body_text="b")
            assert store.add_notice(notice) is True
            assert store.add_notice(notice) is False
            approved = notice.advance(NoticeState.APPROVED, by="Officer", approved_by="Officer", approved_at=utcnow())
            store.update_notice(approved, expected=NoticeState.DRAFT)
            assert store.get_notice(notice.id).approved_by == "Officer"
            assert store.list_notices(finding_id=finding.id, states=[NoticeState.APPROVED]) == [approved]
            assert store.get_delivery(notice.id) is None
            delivery = Delivery(notice_id=notice.id, transport="capture", message_id="<m@x>", approved_by="Officer",
                                approved_at=utcnow())
            assert store.add_delivery(delivery) is True
            assert store.add_delivery(delivery) is False
            assert store.get_delivery(notice.id) == delivery
            store.add_followup(FollowUp(notice_id=notice.id, outcome="still_up"))
            store.add_followup(FollowUp(notice_id=notice.id, outcome="removed"))
            assert [f.outcome for f in store.list_followups(notice.id)] == ["still_up", "removed"]

        self._with_store(check)

    def test_a_notice_is_found_by_every_finding_it_lists(self) -> None:
        def check(store: CaseStore) -> None:
            findings = [sample_finding(url=f"https://mock.example/post/{n}") for n in (1, 2)]
            items = tuple(NoticeItem(finding_id=f.id, url=f.candidate.url) for f in findings)
            grouped = Notice(case_id=findings[0].case_id, finding_id=findings[0].id, items=items,
                             recipient=Recipient(address="a@b.example"), jurisdiction="KR", locale="en",
                             subject="s", body_text="b")
            assert store.add_notice(grouped) is True
            assert store.add_notice(grouped) is False
            assert store.get_notice(grouped.id).finding_ids == (findings[0].id, findings[1].id)
            for finding in findings:
                assert [n.id for n in store.list_notices(finding_id=finding.id)] == [grouped.id]
            assert store.list_notices(finding_id="fnd-other") == []

        self._with_store(check)

    def test_notices_are_counted_by_state_and_listed_a_page_at_a_time(self) -> None:
        def check(store: CaseStore) -> None:
            findings = [sample_finding(url=f"https://mock.example/post/{n}") for n in range(5)]
            findings.append(sample_finding(sample_case(id="case-other"), url="https://mock.example/post/9"))
            notices = [Notice(case_id=f.case_id, finding_id=f.id, recipient=Recipient(address="a@b.example"),
                              jurisdiction="KR", locale="en", subject=f"s{n}", body_text="b")
                       for n, f in enumerate(findings)]
            for notice in notices:
                store.add_notice(notice)
            approved = notices[1].advance(NoticeState.APPROVED, by="Officer", approved_by="Officer",
                                          approved_at=utcnow())
            store.update_notice(approved, expected=NoticeState.DRAFT)
            assert store.count_notices() == {NoticeState.DRAFT: 5, NoticeState.APPROVED: 1}
            assert store.count_notices("case-other") == {NoticeState.DRAFT: 1}
            assert store.count_notices("case-none") == {}
            drafts = [n.id for n in notices if n.id != approved.id]  # oldest first
            pages = [[n.id for n in store.list_notices(states=[NoticeState.DRAFT], limit=2, offset=offset)]
                     for offset in (0, 2, 4, 6)]
            assert pages == [drafts[:2], drafts[2:4], drafts[4:], []]
            assert [n.id for n in store.list_notices(offset=5)] == [notices[5].id], "no limit: all the rest"
            assert [n.id for n in store.list_notices("case-sample", limit=1, offset=1)] == [approved.id]
            assert store.list_notices(states=[NoticeState.DRAFT], limit=0) == []
            assert store.list_notices(finding_id=findings[1].id, states=[NoticeState.APPROVED]) == [approved]
            assert store.list_notices(finding_id=findings[1].id, states=[NoticeState.DRAFT]) == []
            assert store.list_notices("case-other", finding_id=findings[1].id) == []
            for limit, offset in ((-1, 0), (None, -1)):
                try:
                    store.list_notices(limit=limit, offset=offset)
                except UsageError:
                    continue
                raise AssertionError(f"a page of limit {limit} and offset {offset} is a UsageError")

        self._with_store(check)

    def test_findings_are_counted_and_listed_a_page_at_a_time(self) -> None:
        def check(store: CaseStore) -> None:
            findings = [sample_finding(url=f"https://mock.example/post/{n}") for n in range(5)]
            findings[:3] = [f.model_copy(update={"decision": Decision.REVIEW}) for f in findings[:3]]
            for finding in findings:
                store.add_finding(finding)
            store.update_finding(findings[0].advance(FindingState.JUDGED, decision=Decision.CLEAR),
                                 expected=FindingState.JUDGED)
            judged, review = [FindingState.JUDGED], Decision.REVIEW
            assert store.count_findings() == 5
            assert store.count_findings(states=judged, decision=review) == 2
            assert store.count_findings(decision=Decision.MATCH) == 2
            assert store.count_findings("case-other") == 0
            assert store.count_findings(states=[FindingState.SENT]) == 0
            first, second = (store.list_findings(states=judged, decision=review, limit=1, offset=n) for n in (0, 1))
            assert [f.id for f in first] == [findings[1].id] and [f.id for f in second] == [findings[2].id]
            assert [f.id for f in store.list_findings(limit=10, offset=3)] == [findings[3].id, findings[4].id]

        self._with_store(check)

    def test_sent_notices_are_listed_with_how_many_of_their_findings_are_in_a_state(self) -> None:
        def check(store: CaseStore) -> None:
            up, gone, also_up = (sample_finding(url=f"https://mock.example/post/{n}", state=state) for n, state in (
                (1, FindingState.SENT), (2, FindingState.REMOVED), (3, FindingState.ESCALATED)))
            for finding in (up, gone, also_up):
                store.add_finding(finding)

            def notice(findings: Sequence[Finding], locale: str, jurisdiction: str, state: NoticeState) -> Notice:
                made = Notice(case_id=up.case_id, finding_id=findings[0].id, recipient=Recipient(address="a@b.example"),
                              items=tuple(NoticeItem(finding_id=f.id, url=f.candidate.url) for f in findings),
                              jurisdiction=jurisdiction, locale=locale, subject="s", body_text="b", state=state)
                store.add_notice(made)
                return made

            now = utcnow()
            both = notice([up, also_up], "en", "UK", NoticeState.SENT)
            one = notice([up, gone], "ko", "KR", NoticeState.SENT)
            removed = notice([gone], "en", "KR", NoticeState.SENT)
            notice([also_up], "ko", "KR", NoticeState.SENT)  # sent, but no delivery recorded: not listed
            draft = notice([up], "ja", "KR", NoticeState.DRAFT)
            approved = notice([also_up], "en", "US", NoticeState.APPROVED)
            store.update_notice(approved.advance(NoticeState.SENT, by="Officer"), expected=NoticeState.APPROVED)
            ago = {both.id: 5, one.id: 30, removed.id: 40, approved.id: 1, draft.id: 2}  # hours; unsent: none
            for notice_id, hours in ago.items():
                store.add_delivery(Delivery(notice_id=notice_id, transport="capture", message_id=f"<{notice_id}@x>",
                                            approved_by="Officer", approved_at=now,
                                            sent_at=now - timedelta(hours=hours)))
            active = [FindingState.SENT, FindingState.RENOTIFIED, FindingState.ESCALATED]
            listed = [(s.notice_id, s.jurisdiction, s.listing, s.sent_at)
                      for s in store.list_sent_notices(listing=active)]
            assert listed == [(one.id, "KR", 1, now - timedelta(hours=30)),
                              (both.id, "UK", 2, now - timedelta(hours=5)),
                              (approved.id, "US", 1, now - timedelta(hours=1))], \
                "earliest sent first; neither a sent notice without a delivery (unsent) nor a draft"
            removed_listed = store.list_sent_notices(listing=[FindingState.REMOVED])
            assert [s.notice_id for s in removed_listed] == [removed.id, one.id]
            assert store.list_sent_notices(listing=[]) == []

        self._with_store(check)

    def test_users_and_sessions_round_trip(self) -> None:
        def check(store: CaseStore) -> None:
            user = User(username="kim", display_name="Kim", roles=frozenset({Role.OFFICER}),
                        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
            store.put_user(user)
            assert store.get_user("kim") == user
            store.put_user(user.model_copy(update={"disabled": True}))
            assert store.get_user("kim").disabled and [u.username for u in store.list_users()] == ["kim"]
            now = utcnow()
            sessions = [LoginSession(token_sha256=f"{n:064x}", username="kim", csrf_token="c", expires_at=now)
                        for n in (1, 2)]
            for session in sessions:
                store.put_session(session)
            assert store.get_session(sessions[0].token_sha256) == sessions[0]
            assert store.end_sessions("kim", at=now) == 2
            assert store.end_sessions("kim", at=now) == 0
            assert store.get_session(sessions[1].token_sha256).ended_at == now
            for missing in (lambda: store.get_user("nobody"), lambda: store.get_session("0" * 64)):
                try:
                    missing()
                except NotFoundError:
                    continue
                raise AssertionError("a missing user or session is a NotFoundError")

        self._with_store(check)

    def test_api_tokens_round_trip(self) -> None:
        def check(store: CaseStore) -> None:
            for name in ("kim", "lee"):
                store.put_user(User(username=name, display_name=name.title(), roles=frozenset({Role.OFFICER}),
                                    password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"))
            now = utcnow()
            tokens = [ApiToken(token_sha256=f"{n:064x}", username=user, name=f"job {n}", created_at=now.replace(
                microsecond=0) + timedelta(seconds=n), created_by="admin") for n, user in ((1, "kim"), (2, "lee"),
                                                                                           (3, "kim"))]
            for token in tokens:
                store.put_api_token(token)
            assert store.get_api_token(tokens[0].token_sha256) == tokens[0]
            assert [t.name for t in store.list_api_tokens()] == ["job 1", "job 2", "job 3"]
            assert [t.name for t in store.list_api_tokens("kim")] == ["job 1", "job 3"]
            assert store.list_api_tokens("nobody") == []
            revoked = tokens[1].model_copy(update={"revoked_at": now, "last_used_at": now})
            store.put_api_token(revoked)
            assert store.get_api_token(revoked.token_sha256) == revoked, "replaced by its token hash"
            assert len(store.list_api_tokens()) == 3
            try:
                store.get_api_token("0" * 64)
            except NotFoundError:
                return
            raise AssertionError("a missing API token is a NotFoundError")

        self._with_store(check)

    def test_custody_log_is_a_valid_hash_chain(self) -> None:
        def check(store: CaseStore) -> None:
            for action in ("captured", "hashed", "written"):
                store.append_custody("bnd-1", action, actor="test", details={"n": action})
            store.append_custody("bnd-2", "captured", actor="test")
            log = store.custody_log("bnd-1")
            assert [e.action for e in log] == ["captured", "hashed", "written"]
            assert verify_chain(log) == []
            assert log[1].prev_hash == log[0].hash
            assert len(store.custody_log("bnd-2")) == 1
            forged = [log[0], log[1].model_copy(update={"actor": "someone else"}), log[2]]
            assert verify_chain(forged), "an altered event must break the chain"

        self._with_store(check)

    def test_checkpoints_and_blobs(self) -> None:
        def check(store: CaseStore) -> None:
            assert store.get_checkpoint("k") is None
            store.set_checkpoint("k", "1")
            store.set_checkpoint("k", "2")
            assert store.get_checkpoint("k") == "2"
            sha = store.blobs.put(b"bytes")
            assert store.blobs.put(b"bytes") == sha
            assert store.blobs.read(sha) == b"bytes"

        self._with_store(check)

    def make_bank(self, name: str = "victim_refs", **changes: object) -> HashBank:
        """A bank for the bank checks."""
        data: dict[str, object] = {"name": name, "description": "contract bank", "metadata": {"origin": "contract"}}
        data.update(changes)
        return HashBank.model_validate(data)

    def make_bank_entries(self, bank: str, count: int, *, first: int = 0) -> list[BankEntry]:
        """``count`` distinct PDQ entries for ``bank`` (derived from ``first``, ``first + 1``, ...)."""
        return [
            BankEntry.pdq(bank, hashlib.sha256(f"entry-{n}".encode()).hexdigest(), quality=50 + n % 50,
                          reference=f"ref-{n:03d}", source="contract")
            for n in range(first, first + count)
        ]

    def test_banks_round_trip_and_are_replaced_by_name(self) -> None:
        def check(store: CaseStore) -> None:
            assert store.list_banks() == []
            positive = self.make_bank("victim_refs")
            negative = self.make_bank("known_benign", kind=BankKind.NEGATIVE, max_distance=20, min_quality=70)
            store.put_bank(positive)
            store.put_bank(negative)
            assert store.get_bank("victim_refs") == positive
            assert store.get_bank("known_benign") == negative
            assert [b.name for b in store.list_banks()] == ["known_benign", "victim_refs"]
            retired = positive.model_copy(update={"active": False, "description": "retired"})
            store.put_bank(retired)
            assert store.get_bank("victim_refs") == retired
            assert len(store.list_banks()) == 2
            try:
                store.get_bank("no_such_bank")
            except NotFoundError:
                return
            raise AssertionError("a missing bank is a NotFoundError")

        self._with_store(check)

    def test_bank_entries_are_unique_per_bank_and_kept_in_order(self) -> None:
        def check(store: CaseStore) -> None:
            store.put_bank(self.make_bank("first_bank"))
            store.put_bank(self.make_bank("second_bank"))
            entries = self.make_bank_entries("first_bank", 5)
            assert store.add_bank_entries("first_bank", entries) == 5
            assert store.add_bank_entries("first_bank", iter(entries)) == 0, "adding again adds nothing"
            relabelled = entries[0].model_copy(update={"reference": "other-label"})
            more = self.make_bank_entries("first_bank", 2, first=5)
            assert store.add_bank_entries("first_bank", [relabelled, *more]) == 2
            stored = list(store.bank_entries("first_bank"))
            assert stored == entries + more, "entries come back as added, in order; the first of a hash is kept"
            assert store.count_bank_entries("first_bank") == 7
            same_hashes = [e.model_copy(update={"bank": "second_bank"}) for e in entries[:2]]
            assert store.add_bank_entries("second_bank", same_hashes) == 2, "the same hash may be in two banks"
            assert list(store.bank_entries("second_bank")) == same_hashes
            assert store.add_bank_entries("second_bank", []) == 0
            store.put_bank(self.make_bank("first_bank", description="settings changed"))
            assert store.count_bank_entries("first_bank") == 7, "replacing a bank's settings keeps its entries"

        self._with_store(check)

    def test_bank_entries_need_their_bank(self) -> None:
        def check(store: CaseStore) -> None:
            store.put_bank(self.make_bank("victim_refs"))
            for call in (
                lambda: store.add_bank_entries("no_such_bank", []),
                lambda: store.bank_entries("no_such_bank"),
                lambda: store.count_bank_entries("no_such_bank"),
            ):
                try:
                    call()
                except NotFoundError:
                    continue
                raise AssertionError("a bank that does not exist is a NotFoundError")
            mixed = [*self.make_bank_entries("victim_refs", 2), *self.make_bank_entries("other_bank", 1, first=2)]
            try:
                store.add_bank_entries("victim_refs", mixed)
            except UsageError:
                pass
            else:
                raise AssertionError("an entry of another bank is a UsageError")
            assert store.count_bank_entries("victim_refs") == 0, "a refused batch adds nothing"

        self._with_store(check)

    def test_bank_writes_roll_back_with_the_transaction(self) -> None:
        def check(store: CaseStore) -> None:
            store.put_bank(self.make_bank("victim_refs"))
            store.add_bank_entries("victim_refs", self.make_bank_entries("victim_refs", 1))
            try:
                with store.transaction():
                    store.put_bank(self.make_bank("new_bank"))
                    store.add_bank_entries("victim_refs", self.make_bank_entries("victim_refs", 3, first=1))
                    raise RuntimeError("crash inside the transaction")
            except RuntimeError:
                pass
            assert [b.name for b in store.list_banks()] == ["victim_refs"]
            assert store.count_bank_entries("victim_refs") == 1

        self._with_store(check)
