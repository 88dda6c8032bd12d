"""One request per recipient: pages that only repeat a post's media are listed under it, a site's findings go out
in one notice per language, follow-up and escalation work per listed location, forms that take one URL get one
submission per page from one approval, and stores written before all this open and keep working.
"""

from __future__ import annotations

import asyncio
import http.server
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from takedown._server_thread import ServerThread
from takedown.detect.references import reference_hashes
from takedown.detect.repeats import find_repeats, looks_like_listing
from takedown.errors import IncompleteNoticeError
from takedown.models import (
    Candidate,
    Case,
    ContactHint,
    FetchedMedia,
    Finding,
    FindingState,
    MediaKind,
    Notice,
    NoticeState,
    Page,
    Recipient,
)
from takedown.pipeline import build_workflow
from takedown.report.followup import FollowUpConfig, follow_up
from takedown.report.jurisdictions import get_jurisdiction
from takedown.report.locale_pack import LocalePackTemplate
from takedown.report.review import approve_notice, edit_notice, redraft_finding, send_notice, submit_notice
from takedown.settings import (
    AgencySettings,
    EvidenceSettings,
    NetworkSettings,
    ReportSettings,
    Settings,
    StorageSettings,
)
from takedown.sites.declarative import load_site
from takedown.store.sqlite import APPLICATION_ID, MIGRATIONS, SQLiteCaseStore
from takedown.synthetic import jpeg_bytes, png_bytes, to_image
from takedown.testing import CapturingFormReporter, CapturingTransport, MockSite, memory_store, sample_finding
from takedown.workflow import Workflow

BASE = "https://blog.example"
AGENCY = AgencySettings(name="Test Support Center", registration_number="T-1", email="desk@agency.example",
                        phone="+82-2-000-0000", signer="Kim Officer", signer_title="Deletion Support Officer")


# -- which pages repeat which ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "listing"), [
    ("https://blog.example/", True),
    ("https://blog.example/index.php", True),
    ("https://blog.example/tag/holiday/", True),
    ("https://blog.example/category/news/page/2/", True),
    ("https://blog.example/author/admin/", True),
    ("https://blog.example/2026/05/", True),
    ("https://blog.example/?s=minji", True),
    ("https://blog.example/?paged=2", True),
    ("https://blog.example/2026/05/11/a-post/", False),
    ("https://blog.example/post/17", False),
    ("https://blog.example/?p=17", False),
    ("https://blog.example/index.php?page_id=2", False),
    ("https://blog.example/?cat=3", True),
    ("https://blog.example/?m=202605", True),
    ("https://forum.example/viewtopic.php?t=5", False),
    ("https://community.example/bbs/board.php?bo_table=free", True),
    ("https://community.example/bbs/board.php?bo_table=free&wr_id=12", False),
    ("https://blog.example/media/clip-17.html", False),
])
def test_listing_pages_are_told_from_pages_with_content(url: str, listing: bool) -> None:
    assert looks_like_listing(url) is listing


def _image(seed: int, size: int = 256) -> Image.Image:
    """A synthetic picture: a grid of random grey-level blocks over colours, distinct per seed at any size."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (8, 8, 3)).astype(np.float64)
    pixels = np.kron(blocks, np.ones((size // 8, size // 8, 1))).astype(np.float64)
    return to_image(pixels)


def _thumbnail(image: Image.Image) -> bytes:
    return jpeg_bytes(image.resize((image.width // 2, image.height // 2)), 85)


def _page(path: str, media: list[tuple[str, bytes]], *, title: str = "", language: str = "en") -> Page:
    url = BASE + path
    return Page(
        url=url, final_url=url, status=200, title=title or path, text=f"minji_cam {title}", html="<p>x</p>",
        language=language,
        media=tuple(FetchedMedia(url=BASE + m, kind=MediaKind.IMAGE, content_type="image/png", content=data)
                    for m, data in media),
        contacts=(ContactHint(kind="email", value="abuse@blog.example", source=f"site config {BASE}", country="KR"),
                  ContactHint(kind="email", value="legal@blog.example", source=f"{BASE}/contact")),
    )


@pytest.fixture
def blog(tmp_path: Path) -> tuple[Case, MockSite]:
    """A blog: three posts with a copy each, a repost of the first copy (another file), a decoy post, and a home
    page, a tag archive and an author page that show the posts' images again (full size, or as thumbnails)."""
    images = [_image(seed) for seed in (1, 2, 3)]
    full = [png_bytes(image) for image in images]
    thumbs = [_thumbnail(image) for image in images]
    refs = []
    for n, image in enumerate(images, start=1):
        path = tmp_path / f"ref-{n}.png"
        image.save(path)
        refs += reference_hashes(path, label=f"ref-{n}")
    decoy = png_bytes(_image(99))
    pages = [
        _page("/2026/05/post-1/", [("/uploads/one.png", full[0])], title="post one", language="ko"),
        _page("/2026/05/post-2/", [("/uploads/two.png", full[1])], title="post two", language="ja"),
        _page("/2026/05/post-3/", [("/uploads/three.png", full[2])], title="post three"),
        _page("/2026/06/repost/", [("/uploads/one-again.jpg", jpeg_bytes(images[0], 70))], title="repost"),
        _page("/2026/06/decoy/", [("/uploads/decoy.png", decoy)], title="decoy"),
        _page("/", [("/uploads/one.png", full[0]), ("/uploads/two.png", full[1]), ("/uploads/three.png", full[2])],
              title="home"),
        _page("/tag/minji/", [("/uploads/one-150.jpg", thumbs[0]), ("/uploads/two-150.jpg", thumbs[1])],
              title="tag archive"),
        _page("/author/admin/", [("/uploads/three-150.jpg", thumbs[2]), ("/uploads/decoy.png", decoy)],
              title="author page"),
    ]
    site = MockSite({p.url: p for p in pages}, site="blog.example", search_fn=lambda q: [p.url for p in pages])
    case = Case(id="case-blog", title="blog case", references=refs, keywords=["minji_cam"], jurisdiction="KR")
    return case, site


def _settings(tmp_path: Path, **report: object) -> Settings:
    return Settings(agency=AGENCY, storage=StorageSettings(data_dir=tmp_path),
                    evidence=EvidenceSettings(live=False, writers=("json", "recipient")),
                    report=ReportSettings(rdap=False, **report))


def _run(tmp_path: Path, case: Case, site: MockSite, **report: object) -> tuple[SQLiteCaseStore, Workflow]:
    store = SQLiteCaseStore(tmp_path / "takedown.sqlite")
    store.put_case(case)
    workflow = build_workflow(_settings(tmp_path, **report), store, sites=[site])
    workflow.run_sync(case.id)
    return store, workflow


def _by_url(store: SQLiteCaseStore, case_id: str) -> dict[str, Finding]:
    return {f.candidate.url.removeprefix(BASE): f for f in store.list_findings(case_id)}


def test_archive_pages_are_listed_under_the_post_whose_media_they_repeat(
    tmp_path: Path, blog: tuple[Case, MockSite]
) -> None:
    case, site = blog
    store, workflow = _run(tmp_path, case, site)
    found = _by_url(store, case.id)
    posts = ["/2026/05/post-1/", "/2026/05/post-2/", "/2026/05/post-3/"]
    assert [found[p].canonical_id for p in posts] == [None, None, None]
    assert found["/2026/06/repost/"].canonical_id is None, "a repost is another file: a finding of its own"
    assert found["/"].canonical_id == found["/2026/05/post-1/"].id, "the home page repeats post one's file first"
    assert found["/tag/minji/"].canonical_id == found["/2026/05/post-1/"].id, "thumbnails of the same reference"
    assert found["/author/admin/"].canonical_id == found["/2026/05/post-3/"].id, "the decoy beside it is no match"
    result = workflow.result(case.id)
    assert result.also_shown_at == sum(f.canonical_id is not None for f in found.values())
    assert result.matches == 8 - 1 - result.also_shown_at, "the decoy is no match; repeats are not findings"
    # Every repeat has its own sealed capture.
    for finding in found.values():
        if finding.canonical_id is not None:
            assert store.get_bundle(finding.bundle_id).error is None


def test_a_page_decided_earlier_is_never_taken_over() -> None:
    home = sample_finding(url="https://mock.example/")
    post = sample_finding(url="https://mock.example/post/1")
    # The home page was notified before the post was found: it stays a finding of its own, and so does the post.
    assert find_repeats([home, post], undecided={post.id}) == {}
    assert find_repeats([home, post], undecided={home.id, post.id}) == {home.id: post.id}


def test_a_site_gets_one_notice_per_language_listing_every_location(
    tmp_path: Path, blog: tuple[Case, MockSite]
) -> None:
    case, site = blog
    store, _ = _run(tmp_path, case, site)
    notices = store.list_notices(case.id)
    listed = {f.id for f in store.list_findings(case.id) if f.decision is not None and f.state is FindingState.DRAFTED}
    assert listed, "every match was drafted"
    assert sorted(n.locale for n in notices) == ["en", "ko"], "the operator's declared country's language, and en"
    for notice in notices:
        assert set(notice.finding_ids) == listed
        for item in notice.items:
            assert item.url in notice.body_text and item.bundle_id and item.bundle_id in notice.body_text
            assert all(sha in notice.body_text for sha in item.sha256)
            assert all(url in notice.body_text for url in item.media)
        repeats = [i for i in notice.items if i.also_shown_at_of is not None]
        assert repeats, "the archive pages are listed, under their post"
        positions = {i.finding_id: n for n, i in enumerate(notice.items)}
        assert all(positions[str(i.also_shown_at_of)] < positions[i.finding_id] for i in repeats)
        assert len(notice.attachments) == len(listed), "one recipient copy of the evidence per listed page"
        assert all(a.role == "recipient_manifest" for a in notice.attachments), "never the agency's manifest"


def test_per_url_keeps_one_notice_per_finding_for_the_recipients_named(
    tmp_path: Path, blog: tuple[Case, MockSite]
) -> None:
    case, site = blog
    store, _ = _run(tmp_path, case, site, per_url=("blog.example",))
    notices = store.list_notices(case.id)
    drafted = [f for f in store.list_findings(case.id) if f.state is FindingState.DRAFTED]
    assert all(len(n.finding_ids) == 1 for n in notices)
    assert len(notices) == 2 * len(drafted)


def _approve_and_send(store: SQLiteCaseStore, transport: CapturingTransport) -> list[Notice]:
    sent = []
    for notice in store.list_notices(states=[NoticeState.DRAFT]):
        approve_notice(store, notice.id, by="Kim Officer")
        send_notice(store, notice.id, transport=transport, sender="desk@agency.example")
        sent.append(store.get_notice(notice.id))
    return sent


def test_follow_up_reminds_only_about_what_is_still_up(tmp_path: Path, blog: tuple[Case, MockSite]) -> None:
    case, site = blog
    store, workflow = _run(tmp_path, case, site)
    transport = CapturingTransport()
    assert len(_approve_and_send(store, transport)) == 2
    assert len(transport.messages) == 2, "one request, in two languages"
    found = _by_url(store, case.id)
    # The operator deleted post two (404; its thumbnail goes from the archive too) and post one's file (gone
    # from the post, the home page and the archive). The home page still shows post three's file: it stays up.
    pages = {url: page for url, page in site.pages.items() if url != BASE + "/2026/05/post-2/"}
    removed_file = {BASE + "/uploads/one.png", BASE + "/uploads/one-150.jpg", BASE + "/uploads/two-150.jpg"}
    pages = {url: page.model_copy(update={"media": tuple(m for m in page.media if m.url not in removed_file)})
             for url, page in pages.items()}

    def not_found(candidate: Candidate) -> Page:
        return pages.get(candidate.url) or Page(url=candidate.url, final_url=candidate.url, status=404)

    later = MockSite(pages, site="blog.example", fetch_fn=not_found)
    config = FollowUpConfig(recheck_after=timedelta(0))
    report = asyncio.run(follow_up(store, fetch=later.fetch, agency=AGENCY, templates=[LocalePackTemplate()],
                                   config=config))
    removed = {f.candidate.url.removeprefix(BASE) for f in store.list_findings(case.id)
               if f.state is FindingState.REMOVED}
    assert {"/2026/05/post-1/", "/2026/05/post-2/", "/tag/minji/"} <= removed
    still = {found[p].id for p in found if found[p].state is FindingState.SENT} - {
        f.id for f in store.list_findings(case.id) if f.state is FindingState.REMOVED}
    reminders = [store.get_notice(i) for i in report.reminders]
    assert sorted(r.locale for r in reminders) == ["en", "ko"], "one reminder per language of the request"
    for reminder in reminders:
        assert reminder.kind == "reminder" and reminder.attempt == 2
        assert set(reminder.finding_ids) == still, "only what is still up"
        assert BASE + "/2026/05/post-2/" not in reminder.body_text
        assert reminder.in_reply_to == transport.messages[0].message_id or reminder.in_reply_to in {
            m.message_id for m in transport.messages}
    followups = [f for n in store.list_notices(case.id, states=[NoticeState.SENT]) for f in store.list_followups(n.id)]
    assert {f.url for f in followups if f.outcome == "removed"} == {BASE + p for p in removed}

    # The second reminder escalates after attempts_per_recipient = 2 (ko + en count once): still only those.
    _approve_and_send(store, transport)
    again = asyncio.run(follow_up(store, fetch=later.fetch, agency=AGENCY, templates=[LocalePackTemplate()],
                                  config=FollowUpConfig(recheck_after=timedelta(0), attempts_per_recipient=2)))
    escalated = [store.get_notice(i) for i in again.reminders]
    assert escalated and all(set(n.finding_ids) == still for n in escalated)
    assert all(n.recipient.address == "legal@blog.example" for n in escalated), "moved on to the next recipient"
    assert workflow.result(case.id).notices == len(store.list_notices(case.id))


def test_a_form_that_takes_one_url_gets_one_submission_per_page_from_one_approval() -> None:
    store = memory_store()
    findings = [sample_finding(url=f"https://mock.example/post/{n}", state=FindingState.DRAFTED) for n in (1, 2, 3)]
    for finding in findings:
        store.add_finding(finding)
    form = "https://mock.example/report"
    notice = Notice(case_id=findings[0].case_id, finding_id=findings[0].id,
                    items=tuple(_item(f) for f in findings), recipient=Recipient(address=form, channel="web_form"),
                    jurisdiction="UK", locale="en", subject="s",
                    body_text=" ".join(f.candidate.url for f in findings),
                    legal={**dict.fromkeys(get_jurisdiction("UK").required_fields, "given"),
                           "urls": " ".join(f.candidate.url for f in findings)})
    store.add_notice(notice)
    approve_notice(store, notice.id, by="Kim Officer")
    assert all(store.get_finding(f.id).state is FindingState.APPROVED for f in findings), "one approval, every page"
    # The second page's submission fails (nothing filed): the first is recorded, and a retry files only the rest.
    class FailSecond(CapturingFormReporter):
        async def report_form(self, notice: Notice):  # type: ignore[no-untyped-def]
            if len(self.submissions) == 1 and not getattr(self, "failed", False):
                self.failed = True
                from takedown.errors import DeliveryError
                raise DeliveryError("site down", plugin=self.name, url=form)
            return await super().report_form(notice)

    failing = FailSecond(form, takes_lists=False)
    with pytest.raises(Exception, match="site down"):
        asyncio.run(submit_notice(store, notice.id, site=failing))
    first_page = f"{findings[0].candidate.url} {findings[0].media[0].url}"
    assert [s.fields["urls"] for s in failing.submissions] == [first_page], "the first page was filed"
    delivery = asyncio.run(submit_notice(store, notice.id, site=failing))
    urls = [s.fields["urls"].split()[0] for s in failing.submissions]
    assert urls == [f.candidate.url for f in findings], "each page once, in order"
    assert store.get_notice(notice.id).state is NoticeState.SENT
    assert "3 submissions" in delivery.detail
    assert asyncio.run(submit_notice(store, notice.id, site=failing)) == delivery, "sent: never again"
    assert len(failing.submissions) == 3
    assert all(store.get_finding(f.id).state is FindingState.SENT for f in findings)


def _item(finding: Finding):  # type: ignore[no-untyped-def]
    from takedown.models import NoticeItem

    return NoticeItem(finding_id=finding.id, url=finding.candidate.url, media=tuple(m.url for m in finding.media),
                      sha256=tuple(m.sha256 for m in finding.media))


def test_an_edit_that_drops_a_listed_url_is_refused_at_approval(tmp_path: Path, blog: tuple[Case, MockSite]) -> None:
    case, site = blog
    store, _ = _run(tmp_path, case, site)
    notice = store.list_notices(case.id)[0]
    dropped = notice.items[-1].url
    body = "\n".join(line for line in notice.body_text.splitlines() if dropped not in line)
    edit_notice(store, notice.id, by="Kim Officer", body_text=body)
    with pytest.raises(IncompleteNoticeError, match="urls"):
        approve_notice(store, notice.id, by="Kim Officer")


def test_redrafting_one_finding_redrafts_the_notices_it_shared(tmp_path: Path, blog: tuple[Case, MockSite]) -> None:
    case, site = blog
    store, workflow = _run(tmp_path, case, site)
    before = store.list_notices(case.id)
    first = before[0].finding_ids[0]
    withdrawn = redraft_finding(store, first, by="Kim Officer", reason="template fixed")
    assert {n.id for n in withdrawn} == {n.id for n in before}
    assert all(store.get_finding(f).state is FindingState.EVIDENCED for f in before[0].finding_ids)
    asyncio.run(workflow.draft(case))
    after = store.list_notices(case.id, states=[NoticeState.DRAFT])
    assert len(after) == 2 and all(n.revision == 2 for n in after)
    assert {frozenset(n.finding_ids) for n in after} == {frozenset(before[0].finding_ids)}


def test_a_store_from_before_grouping_opens_and_its_notices_are_found_by_finding(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    finding = sample_finding(state=FindingState.DRAFTED)
    old = Notice(case_id=finding.case_id, finding_id=finding.id, recipient=Recipient(address="abuse@mock.example"),
                 jurisdiction="OTHER", locale="en", subject="s", body_text=finding.candidate.url)
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:2], start=1):
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    data = old.model_dump_json(exclude={"items"})
    db.execute("INSERT INTO notices (id, case_id, finding_id, state, seq, updated_at, data) VALUES (?,?,?,?,?,?,?)",
               (old.id, old.case_id, old.finding_id, "draft", 1, "2026-01-01T00:00:00+00:00", data))
    db.close()
    store = SQLiteCaseStore(path)
    try:
        assert store.schema_version == len(MIGRATIONS)
        (found,) = store.list_notices(finding_id=finding.id)
        assert found.id == old.id and found.finding_ids == (finding.id,)
    finally:
        store.close()


# -- end to end over HTTP, with a site file ----------------------------------------------------------------------


class _Blog(http.server.BaseHTTPRequestHandler):
    """A loopback blog: posts, a home page and a tag archive that show the posts' images again, a sitemap."""

    files: ClassVar[dict[str, tuple[str, bytes]]] = {}

    def do_GET(self) -> None:
        found = self.files.get(self.path.split("?", 1)[0])
        if found is None:
            self.send_error(404)
            return
        kind, body = found
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


def _html(title: str, images: list[str], links: list[str] = ()) -> tuple[str, bytes]:  # type: ignore[assignment]
    body = "".join(f'<img src="{src}">' for src in images) + "".join(f'<a href="{h}">{h}</a>' for h in links)
    return "text/html; charset=utf-8", f"<html lang='en'><title>{title}</title><body>{body}</body></html>".encode()


@pytest.mark.slow
def test_a_blog_over_http_gets_one_request_listing_its_posts_and_their_archives(tmp_path: Path) -> None:
    images = [_image(seed) for seed in (11, 12)]
    refs = []
    for n, image in enumerate(images, start=1):
        image.save(tmp_path / f"ref-{n}.png")
        refs += reference_hashes(tmp_path / f"ref-{n}.png", label=f"ref-{n}")
    posts = ["/2026/05/first/", "/2026/05/second/"]
    files = {
        "/uploads/a.png": ("image/png", png_bytes(images[0])),
        "/uploads/b.png": ("image/png", png_bytes(images[1])),
        "/uploads/a-150.jpg": ("image/jpeg", _thumbnail(images[0])),
        "/uploads/b-150.jpg": ("image/jpeg", _thumbnail(images[1])),
        posts[0]: _html("first", ["/uploads/a.png"]),
        posts[1]: _html("second", ["/uploads/b.png"]),
        "/": _html("home", ["/uploads/a.png", "/uploads/b.png"], posts),
        "/tag/minji/": _html("tag", ["/uploads/a-150.jpg", "/uploads/b-150.jpg"], posts),
    }
    pages = [p for p in files if p.endswith("/")]
    sitemap = "".join(f"<url><loc>{{base}}{p}</loc></url>" for p in pages)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Blog)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _Blog.files = {**files, "/sitemap.xml": ("application/xml", (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + sitemap.replace("{base}", base) + "</urlset>").encode())}
    site_file = tmp_path / "blog.toml"
    site_file.write_text(f'name = "blog.example"\nbase_url = "{base}"\nsitemaps = ["/sitemap.xml"]\n\n'
                         '[report]\nemail = "abuse@blog.example"\ncountry = "KR"\n', encoding="utf-8")
    runner = ServerThread(server, name="blog", poll_interval=0.05)
    try:
        settings = _settings(tmp_path).model_copy(update={"network": NetworkSettings(allow_loopback=True)})
        site = load_site(site_file, network=settings.network)
        case = Case(id="case-http", title="blog over http", references=refs, jurisdiction="KR")
        with SQLiteCaseStore(tmp_path / "takedown.sqlite") as store:
            store.put_case(case)
            result = build_workflow(settings, store, sites=[site]).run_sync(case.id)
            found = {f.candidate.url.removeprefix(base): f for f in store.list_findings(case.id)}
            notices = store.list_notices(case.id)
    finally:
        runner.stop()
    assert result.errors == [] and set(found) == set(pages)
    assert (result.matches, result.also_shown_at) == (2, 2), "one finding per post; home and tag under them"
    assert found["/"].canonical_id == found["/tag/minji/"].canonical_id == found[posts[0]].id
    assert sorted(n.locale for n in notices) == ["en", "ko"]
    for notice in notices:
        listed = [i.url.removeprefix(base) for i in notice.items]
        assert listed == [posts[0], "/", "/tag/minji/", posts[1]], "each post, then the pages that repeat it"
        assert [i.also_shown_at_of for i in notice.items] == [None, found[posts[0]].id, found[posts[0]].id, None]
        assert all(i.bundle_id and i.bundle_id in notice.body_text for i in notice.items), "each with its evidence"


def test_pages_found_later_join_the_untouched_request_and_stay_apart_from_an_approved_one(
    tmp_path: Path, blog: tuple[Case, MockSite]
) -> None:
    case, site = blog
    first_posts = [BASE + "/2026/05/post-1/", BASE + "/2026/05/post-2/"]
    early = MockSite({u: site.pages[u] for u in first_posts}, site="blog.example",
                     search_fn=lambda q: first_posts)
    store = SQLiteCaseStore(tmp_path / "takedown.sqlite")
    store.put_case(case)
    build_workflow(_settings(tmp_path), store, sites=[early]).run_sync(case.id)
    before = store.list_notices(case.id)
    assert len(before) == 2 and all(len(n.finding_ids) == 2 for n in before)

    # Monitoring finds the third post before anyone looked at the drafts: still one request per language.
    later = [*first_posts, BASE + "/2026/05/post-3/"]
    build_workflow(_settings(tmp_path), store, sites=[MockSite({u: site.pages[u] for u in later},
                   site="blog.example", search_fn=lambda q: later)]).run_sync(case.id)
    drafts = store.list_notices(case.id, states=[NoticeState.DRAFT])
    assert len(drafts) == 2 and all(len(n.finding_ids) == 3 for n in drafts)
    assert {n.state for n in store.list_notices(case.id) if n.id in {b.id for b in before}} == {
        NoticeState.WITHDRAWN}
    assert all(store.get_finding(f).state is FindingState.DRAFTED for f in drafts[0].finding_ids)

    # Once an officer has approved them, a fourth page is a request of its own: an approval is never undone.
    for notice in drafts:
        approve_notice(store, notice.id, by="Kim Officer")
    everything = [*later, BASE + "/2026/06/repost/"]
    build_workflow(_settings(tmp_path), store, sites=[MockSite({u: site.pages[u] for u in everything},
                   site="blog.example", search_fn=lambda q: everything)]).run_sync(case.id)
    assert {n.state for n in store.list_notices(case.id) if n.id in {d.id for d in drafts}} == {
        NoticeState.APPROVED}
    new = store.list_notices(case.id, states=[NoticeState.DRAFT])
    assert len(new) == 2 and all(len(n.finding_ids) == 1 for n in new)
    store.close()
