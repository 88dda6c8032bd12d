"""Cases in the console: made from uploaded media (hashed, never kept) and hash lists, scanned in the background
with the agency's own pipeline, closed, reopened and withdrawn; only officers and supervisors act."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from takedown.console.scans import scan_state
from takedown.models import CaseStatus
from takedown.settings import ConsoleSettings
from takedown.synthetic import linear_gradient, png_bytes

pytest.importorskip("fastapi")
from test_console import Console, login, open_console


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    yield from open_console(tmp_path, ConsoleSettings())


def _picture(seed: int) -> bytes:
    """A synthetic picture: a gradient with some noise, different for each seed."""
    rng = np.random.default_rng(seed)
    gradient = linear_gradient(64, 48, (200, 40, 40), (20, 60, 220), angle_deg=30.0 * seed)
    noisy = np.clip(gradient + rng.normal(0, 12, gradient.shape), 0, 255).astype(np.uint8)
    return png_bytes(Image.fromarray(noisy))


def _create(console: Console, csrf: str, files: list[tuple[str, bytes]], **fields: str) -> str:
    answer = console.client.post("/cases", data={"csrf": csrf, **fields},
                                 files=[("references", (name, data, "image/png")) for name, data in files])
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].removeprefix("/cases/")


def test_a_case_is_made_from_uploads_that_are_hashed_and_never_kept(console: Console, tmp_path: Path) -> None:
    store = console.store
    csrf = login(console.client)
    pictures = [("victim-1.png", _picture(1)), ("victim-2.png", _picture(2))]
    blobs_before = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    pdq = "f" * 64
    case_id = _create(console, csrf, pictures, title="Case <b>1</b>", keywords="minji_cam, 민지", priority="high",
                      jurisdiction="kr", hashes=f"{pdq},100\n")
    case = store.get_case(case_id)
    assert case.title == "Case <b>1</b>" and case.keywords == ["minji_cam", "민지"] and case.jurisdiction == "KR"
    assert case.priority.value == "high"
    sha256s = {h.value for h in case.references if h.algorithm == "sha256"}
    assert sha256s == {hashlib.sha256(data).hexdigest() for _, data in pictures}
    assert {h.algorithm for h in case.references} >= {"sha256", "md5", "dhash", "pdq"}
    assert any(h.value == pdq for h in case.references), "the pasted hash list"
    after = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert [n for n in after if n not in blobs_before and not n.startswith("takedown.sqlite")] == []
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert all(data[200:400] not in stored for _, data in pictures), "no copy of the media anywhere"
    created = store.custody_log(case_id)[-1]
    assert created.action == "case_created" and created.actor == "Kim Officer" and created.details["user"] == "kim"
    page = console.client.get(f"/cases/{case_id}").text
    assert "Case &lt;b&gt;1&lt;/b&gt;" in page and "victim-1.png" in page and 'id="scan-now"' in page
    assert case_id in console.client.get("/cases").text


def test_bad_uploads_and_forms_are_refused_clearly(console: Console) -> None:
    csrf = login(console.client)
    cases_before = len(console.store.list_cases())
    for fields, files, message in (
        ({"title": ""}, [("a.png", _picture(1))], "title"),
        ({"title": "t"}, [], "reference media, a hash list or keywords"),
        ({"title": "t"}, [("broken.png", b"\x89PNG\r\n\x1a\n not a picture")], "decode"),
        ({"title": "t"}, [("notes.txt", b"hello")], "only images and videos"),
        ({"title": "t", "jurisdiction": "XX", "keywords": "k"}, [], "unknown jurisdiction"),
        ({"title": "t", "priority": "asap", "keywords": "k"}, [], "priority"),
        ({"title": "t", "hashes": "not a hash at all"}, [], ""),
    ):
        answer = console.client.post("/cases", data={"csrf": csrf, **fields},
                                     files=[("references", (n, d, "image/png")) for n, d in files] or None)
        assert answer.status_code == 400, (fields, answer.status_code, answer.text[:300])
        assert message in answer.text
    assert len(console.store.list_cases()) == cases_before


def test_only_officers_make_and_change_cases_and_always_with_the_token(console: Console) -> None:
    park = login(console.client, "park")
    assert console.client.get("/cases").status_code == 200, "an auditor reads"
    assert console.client.get("/cases/new").status_code == 403
    refused = console.client.post("/cases", data={"csrf": park, "title": "t", "keywords": "k"})
    assert refused.status_code == 403
    for action in ("close", "withdraw"):
        answer = console.client.post("/cases/case-sample/status", data={"csrf": park, "action": action,
                                                                         "reason": "r", "confirm": "yes"})
        assert answer.status_code == 403
    assert console.client.post("/cases/case-sample/scan", data={"csrf": park}).status_code == 403
    console.client.post("/logout", data={"csrf": park})
    kim = login(console.client)
    assert console.client.post("/cases", data={"title": "t", "keywords": "k"}).status_code == 403, "CSRF"
    assert console.client.post("/cases/case-sample/status", data={"action": "close"}).status_code == 403, "CSRF"
    assert console.store.get_case("case-sample").status is CaseStatus.OPEN
    assert kim


def test_close_reopen_and_a_confirmed_withdrawal(console: Console) -> None:
    csrf = login(console.client)
    store = console.store
    console.client.post("/cases/case-sample/status", data={"csrf": csrf, "action": "close"})
    assert store.get_case("case-sample").status is CaseStatus.CLOSED
    refused = console.client.post("/cases/case-sample/scan", data={"csrf": csrf})
    assert refused.status_code == 400 and "closed" in refused.text
    console.client.post("/cases/case-sample/status", data={"csrf": csrf, "action": "reopen"})
    assert store.get_case("case-sample").status is CaseStatus.OPEN
    unconfirmed = console.client.post("/cases/case-sample/status", data={"csrf": csrf, "action": "withdraw",
                                                                         "reason": "consent withdrawn"})
    assert unconfirmed.status_code == 400 and store.get_case("case-sample").status is CaseStatus.OPEN
    console.client.post("/cases/case-sample/status", data={"csrf": csrf, "action": "withdraw",
                                                           "reason": "consent withdrawn", "confirm": "yes"})
    withdrawn = store.get_case("case-sample")
    assert withdrawn.status is CaseStatus.WITHDRAWN and withdrawn.references == [] and withdrawn.keywords == []
    assert store.get_notice(console.notice.id).state.value == "withdrawn", "the draft is withdrawn too"


@pytest.mark.slow
def test_a_case_made_in_the_console_is_scanned_on_the_demo_site(demo_site: object, tmp_path: Path) -> None:
    """The officer's path without a terminal: upload the reference media, scan now, and the drafts appear."""
    from takedown.demo.run import demo_site_file
    from takedown.demo.site import DemoSite
    from takedown.settings import EvidenceSettings, NetworkSettings, ReportSettings, SitesSettings

    assert isinstance(demo_site, DemoSite)
    sites = tmp_path / "sites"
    sites.mkdir()
    shutil.copy(demo_site_file(), sites / "demo-sns.toml")
    opened = open_console(tmp_path, ConsoleSettings(), settings_changes={
        "sites": SitesSettings(dir=sites, vars={"base_url": demo_site.base_url}),
        "network": NetworkSettings(allow_loopback=True), "evidence": EvidenceSettings(screenshot=False),
        "report": ReportSettings(rdap=False)})  # the demo site's contacts are on its pages; no RDAP offline
    console = next(opened)
    try:
        csrf = login(console.client)
        files = [(p.name, p.read_bytes()) for p in demo_site.reference_files()]
        case_id = _create(console, csrf, files, title="Demo victim (synthetic)", keywords="minji_cam",
                          jurisdiction="KR")
        assert console.client.post(f"/cases/{case_id}/scan", data={"csrf": csrf}).status_code == 303
        twice = console.client.post(f"/cases/{case_id}/scan", data={"csrf": csrf})
        assert twice.status_code in (303, 400), "a second click never starts a second run"
        deadline = time.monotonic() + 240
        while (state := scan_state(console.store, case_id)) is not None and state.running():
            assert time.monotonic() < deadline, "the scan did not finish"
            time.sleep(0.5)
        assert state is not None and state.status == "done", state
        assert state.summary["matches"] == 8 and state.summary["errors"] == [], state.summary
        page = console.client.get(f"/cases/{case_id}").text
        assert 'id="scan-done"' in page and "8 matches" in page
        drafts = console.store.list_notices(case_id)
        assert drafts and all(n.state.value == "draft" for n in drafts)
        assert [e.action for e in console.store.custody_log(case_id)].count("scan_started") == 1
    finally:
        opened.close()
