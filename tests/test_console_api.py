"""The console's REST API and its tokens: every route refused without a valid token, roles, leases, evidence that
never leaves its bundle, hostile text as data, the OpenAPI schema; then ``takedown token``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from console_request import add_request
from typer.testing import CliRunner

from takedown.cli import app as cli_app
from takedown.console import leases
from takedown.console.accounts import add_user, audit_subject, set_user_disabled
from takedown.console.tokens import USE_RECORDED_EVERY, issue_token, revoke_token, token_hash, token_user
from takedown.errors import AuthenticationError, NotFoundError, UsageError
from takedown.evidence import verify_chain
from takedown.models import (
    Artifact,
    Case,
    EvidenceBundle,
    FindingState,
    MediaKind,
    Notice,
    NoticeState,
    Recipient,
    ReferenceHash,
    utcnow,
)
from takedown.settings import Settings, StorageSettings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import CapturingTransport, sample_finding

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from takedown.console.api import API_PREFIX, api_schema  # noqa: E402
from takedown.console.app import SESSION_COOKIE, create_app  # noqa: E402

PASSWORD = "correct horse battery staple"
HOSTILE = '"><img src=x onerror=alert(1)><script>alert(1)</script>&amp;\u2028'
HOSTILE_ID = '"><img src=x onerror=alert(1)>&amp;'  # no '/': it is one path segment
runner = CliRunner()


@dataclass
class Api:
    client: TestClient
    store: SQLiteCaseStore
    notice: Notice
    tokens: dict[str, str]
    bundle_id: str
    evidence: Path

    def as_user(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def _bundle(store: SQLiteCaseStore, evidence: Path, finding_id: str) -> str:
    """A sealed bundle with a report, a manifest and a raw media file (which is never served)."""
    finding = store.get_finding(finding_id)
    bundle = EvidenceBundle(case_id=finding.case_id, finding_id=finding.id, capture={"url": finding.candidate.url})
    folder = evidence / finding.case_id / bundle.id
    folder.mkdir(parents=True)
    artifacts = []
    for name, role, media_type in (("report.pdf", "report", "application/pdf"),
                                   ("manifest.json", "manifest", "application/json"),
                                   ("media-1.png", "media", "image/png")):
        data = f"synthetic {name}".encode()
        (folder / name).write_bytes(data)
        artifacts.append(Artifact(path=f"{finding.case_id}/{bundle.id}/{name}", sha256=hashlib.sha256(data).hexdigest(),
                                  size=len(data), media_type=media_type, role=role))
    store.add_bundle(bundle.model_copy(update={"artifacts": tuple(artifacts)}))
    return bundle.id


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    store = SQLiteCaseStore(tmp_path / "takedown.sqlite")
    add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim Officer", locale="en", by="admin")
    add_user(store, "park", PASSWORD, roles=["auditor"], display_name="Park Auditor", by="admin")
    add_user(store, "lee", PASSWORD, roles=["officer"], display_name="Lee Officer", by="admin")
    add_user(store, "choi", PASSWORD, roles=["admin"], display_name="Choi Admin", by="setup")
    case = Case(id="case-sample", title=f"Case {HOSTILE}", keywords=["victim-keyword-7f3a"],
                requester="requester-name-91c2", notes="notes-text-5d0e",
                references=[ReferenceHash(algorithm="pdq", value="ab" * 32, reference="ref-01", kind=MediaKind.IMAGE)])
    store.put_case(case)
    findings = [sample_finding(case, url=f"https://mock.example/post/{n}", state=FindingState.DRAFTED)
                for n in (1, 2)]
    findings[0] = findings[0].model_copy(update={"media": tuple(
        m.model_copy(update={"blob": Path("/srv/takedown/blobs-8e21") / m.sha256}) for m in findings[0].media)})
    findings[1] = findings[1].model_copy(update={"candidate": findings[1].candidate.model_copy(
        update={"title": HOSTILE})})
    for finding in findings:
        store.add_finding(finding)
    notice = add_request(store, case, findings, HOSTILE)
    evidence = tmp_path / "evidence"
    bundle_id = _bundle(store, evidence, findings[0].id)
    tokens = {name: issue_token(store, name, "tests", by="Admin Choi") for name in ("kim", "park", "lee", "choi")}
    app = create_app(Settings(storage=StorageSettings(data_dir=tmp_path)), store=store, secure_cookies=False,
                     transport=CapturingTransport)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield Api(client=client, store=store, notice=notice, tokens=tokens, bundle_id=bundle_id, evidence=evidence)
    store.close()


def _every_route(api: Api) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every (method, path, JSON body) of the API's schema, with real ids in the paths, and the schema itself."""
    schema = api_schema(api.client.app)
    ids = {"case_id": "case-sample", "finding_id": api.notice.finding_id, "notice_id": api.notice.id,
           "bundle_id": api.bundle_id, "name": "report.pdf"}
    routes: list[tuple[str, str, dict[str, Any] | None]] = [("get", f"{API_PREFIX}/openapi.json", None)]
    for path, operations in schema["paths"].items():
        for method in operations:
            body = {"reason": "r"} if path.endswith("/reject") else {} if method == "post" else None
            routes.append((method, path.format(**ids), body))
    return routes


def _refused(answer: Any) -> str:
    assert answer.status_code == 401, (answer.request.url, answer.status_code, answer.text)
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["error"] == "AuthenticationError"
    return str(body["message"])


def test_every_route_needs_a_valid_token(api: Api) -> None:
    store = api.store
    revoked = issue_token(store, "kim", "revoked", by="admin")
    revoke_token(store, "revoked", by="admin", username="kim")
    expired = issue_token(store, "kim", "expired", by="admin", days=1, now=utcnow() - timedelta(days=2))
    add_user(store, "yoon", PASSWORD, roles=["officer"], display_name="Yoon", by="admin")
    disabled = issue_token(store, "yoon", "left", by="admin")
    set_user_disabled(store, "yoon", disabled=True, by="admin")
    unknown = "td_" + "A" * 43
    headers: list[dict[str, str]] = [
        {}, {"Authorization": "Bearer"}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Basic {unknown}"},
        {"Authorization": f"Bearer {unknown}"}, {"Authorization": f"Bearer {api.tokens['kim']}x"},
        {"Authorization": f"Bearer {revoked}"}, {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {disabled}"}, {"Authorization": api.tokens["kim"]},
    ]
    routes = _every_route(api)
    assert len(routes) == 12, "eleven operations and the schema"
    messages = set()
    for method, path, body in routes:
        for header in headers:
            messages.add(_refused(api.client.request(method, path, headers=header, json=body)))
    assert len(messages) == 1, "every refusal reads alike"
    assert 'error="invalid_token"' in api.client.get(f"{API_PREFIX}/cases", headers=headers[4]).headers[
        "www-authenticate"]
    assert store.get_notice(api.notice.id).state is NoticeState.DRAFT
    assert [e.action for e in store.custody_log(api.bundle_id)] == [], "no download was recorded, none was made"
    for method, path, body in routes:  # and each answers a valid token of a user with the right role
        answer = api.client.request(method, path, headers=api.as_user("kim"), json=body)
        expected = 409 if path.endswith("/reject") else 200  # approved just before: a state, not a refusal of kim
        assert answer.status_code == expected, (path, answer.text)


def test_the_session_cookie_alone_does_not_authenticate(api: Api) -> None:
    client = api.client
    page = client.get("/login")
    login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert login_csrf
    signed_in = client.post("/login", data={"username": "kim", "password": PASSWORD,
                                            "login_csrf": login_csrf.group(1)})
    assert signed_in.status_code == 303 and client.cookies.get(SESSION_COOKIE)
    assert client.get("/").status_code == 200, "the cookie works for the console's pages"
    _refused(client.get(f"{API_PREFIX}/cases"))
    _refused(client.post(f"{API_PREFIX}/notices/{api.notice.id}/approve", json={}))
    cookie = client.cookies.get(SESSION_COOKIE)
    _refused(client.get(f"{API_PREFIX}/cases", headers={"Authorization": f"Bearer {cookie}"}))
    assert api.store.get_notice(api.notice.id).state is NoticeState.DRAFT


def test_an_auditor_reads_but_cannot_decide_and_an_admin_reads_no_case_data(api: Api) -> None:
    client, notice = api.client, api.notice
    assert client.get(f"{API_PREFIX}/notices/{notice.id}", headers=api.as_user("park")).status_code == 200
    for action, body in (("approve", {"note": "x"}), ("reject", {"reason": "x"})):
        refused = client.post(f"{API_PREFIX}/notices/{notice.id}/{action}", headers=api.as_user("park"), json=body)
        assert refused.status_code == 403 and refused.json()["error"] == "PermissionDeniedError"
        assert "officer or supervisor" in refused.json()["message"]
    assert api.store.get_notice(notice.id).state is NoticeState.DRAFT
    assert leases.lease_holder(api.store, notice.id) is None, "a refused caller takes no lease"
    admin = client.get(f"{API_PREFIX}/cases", headers=api.as_user("choi"))
    assert admin.status_code == 403 and admin.json()["error"] == "PermissionDeniedError"
    assert client.get(f"{API_PREFIX}/openapi.json", headers=api.as_user("choi")).status_code == 200


def test_an_officer_approves_as_the_tokens_user(api: Api) -> None:
    client, notice, store = api.client, api.notice, api.store
    answer = client.post(f"{API_PREFIX}/notices/{notice.id}/approve", headers=api.as_user("kim"),
                         json={"note": "checked both pages"})
    assert answer.status_code == 200, answer.text
    (changed,) = answer.json()["notices"]
    assert changed["id"] == notice.id and changed["state"] == "approved" and changed["approved_by"] == "Kim Officer"
    approved = store.get_notice(notice.id)
    assert approved.state is NoticeState.APPROVED and approved.approved_by == "Kim Officer"
    assert all(store.get_finding(f).state is FindingState.APPROVED for f in notice.finding_ids)
    event = store.custody_log(notice.id)[-1]
    assert event.action == "approved" and event.actor == "Kim Officer" and event.details["note"] == "checked both pages"
    record = store.get_api_token(token_hash(api.tokens["kim"]))
    assert event.details["via"] == "api" and event.details["user"] == "kim"
    assert event.details["token"] == record.token_sha256[:16]
    assert leases.lease_holder(store, notice.id) is None, "the decision gives the lease back"
    again = client.post(f"{API_PREFIX}/notices/{notice.id}/approve", headers=api.as_user("lee"), json={})
    assert again.status_code == 409 and again.json()["error"] == "InvalidTransitionError"
    unknown = client.post(f"{API_PREFIX}/notices/ntc-nope/approve", headers=api.as_user("kim"), json={})
    assert unknown.status_code == 404 and unknown.json()["error"] == "NotFoundError"
    typo = client.post(f"{API_PREFIX}/notices/{notice.id}/approve", headers=api.as_user("kim"), json={"copy": True})
    assert typo.status_code == 422, "an unknown field is refused, not ignored"


def test_copies_in_other_languages_are_approved_only_when_asked(api: Api) -> None:
    store, notice = api.store, api.notice
    korean = notice.model_copy(update={"locale": "ko"})
    store.add_notice(korean)
    detail = api.client.get(f"{API_PREFIX}/notices/{notice.id}", headers=api.as_user("kim")).json()
    assert detail["copies"] == [{"id": korean.id, "locale": "ko", "state": "draft"}]
    alone = api.client.post(f"{API_PREFIX}/notices/{notice.id}/approve", headers=api.as_user("kim"), json={})
    assert [n["id"] for n in alone.json()["notices"]] == [notice.id]
    assert store.get_notice(korean.id).state is NoticeState.DRAFT
    third = notice.model_copy(update={"locale": "ja"})
    store.add_notice(third)
    both = api.client.post(f"{API_PREFIX}/notices/{korean.id}/approve", headers=api.as_user("kim"),
                           json={"copies": True})
    assert both.status_code == 200, both.text
    assert {n["id"] for n in both.json()["notices"]} == {korean.id, third.id}, "the approved one is left as it is"
    for one in (korean, third):
        assert store.get_notice(one.id).state is NoticeState.APPROVED
        assert store.custody_log(one.id)[-1].details["via"] == "api", "each approval recorded on its own"


def test_a_request_another_officer_holds_is_refused(api: Api) -> None:
    client, notice, store = api.client, api.notice, api.store
    assert leases.take(store, [notice.id], "lee") is None  # lee opened it in the console
    held = client.post(f"{API_PREFIX}/notices/{notice.id}/approve", headers=api.as_user("kim"), json={})
    assert held.status_code == 409 and held.json()["error"] == "LeasedError" and "lee" in held.json()["message"]
    rejected = client.post(f"{API_PREFIX}/notices/{notice.id}/reject", headers=api.as_user("kim"),
                           json={"reason": "wrong recipient"})
    assert rejected.status_code == 409
    assert store.get_notice(notice.id).state is NoticeState.DRAFT
    assert leases.lease_holder(store, notice.id)[0] == "lee", "kim's refusal leaves lee's lease"  # type: ignore[index]
    detail = client.get(f"{API_PREFIX}/notices/{notice.id}", headers=api.as_user("kim")).json()
    assert detail["held_by"]["user"] == "lee"
    assert leases.lease_holder(store, notice.id)[0] == "lee", "reading takes no lease"  # type: ignore[index]
    own = client.post(f"{API_PREFIX}/notices/{notice.id}/approve", headers=api.as_user("lee"), json={})
    assert own.status_code == 200, "the holder decides"
    assert leases.lease_holder(store, notice.id) is None


def test_a_rejection_needs_a_reason_and_an_incomplete_request_cannot_be_approved(api: Api) -> None:
    client, store, notice = api.client, api.store, api.notice
    blank = client.post(f"{API_PREFIX}/notices/{notice.id}/reject", headers=api.as_user("kim"), json={"reason": " "})
    assert blank.status_code == 400 and blank.json()["error"] == "UsageError"
    assert client.post(f"{API_PREFIX}/notices/{notice.id}/reject", headers=api.as_user("kim"),
                       json={}).status_code == 422
    done = client.post(f"{API_PREFIX}/notices/{notice.id}/reject", headers=api.as_user("kim"),
                       json={"reason": "wrong recipient"})
    assert done.status_code == 200 and done.json()["notices"][0]["state"] == "rejected"
    assert store.get_notice(notice.id).rejected_reason == "wrong recipient"
    assert store.custody_log(notice.id)[-1].details["via"] == "api"
    incomplete = notice.model_copy(update={"recipient": Recipient(address="other@mock.example"), "legal": {}})
    store.add_notice(incomplete)
    listed = client.get(f"{API_PREFIX}/notices", headers=api.as_user("park"), params={"state": "draft"}).json()
    assert [n["id"] for n in listed["items"]] == [incomplete.id] and listed["items"][0]["missing"]
    refused = client.post(f"{API_PREFIX}/notices/{incomplete.id}/approve", headers=api.as_user("kim"), json={})
    assert refused.status_code == 409 and refused.json()["error"] == "IncompleteNoticeError"
    assert refused.json()["missing"] == listed["items"][0]["missing"]
    assert store.get_notice(incomplete.id).state is NoticeState.DRAFT


def test_lists_filter_and_page(api: Api) -> None:
    client, notice = api.client, api.notice
    as_kim = api.as_user("kim")
    everything = client.get(f"{API_PREFIX}/findings", headers=as_kim).json()
    assert everything["total"] == 2 and [f["id"] for f in everything["items"]] == list(notice.finding_ids)
    second = client.get(f"{API_PREFIX}/findings", headers=as_kim, params={"limit": 1, "offset": 1}).json()
    assert second["total"] == 2 and [f["id"] for f in second["items"]] == [notice.finding_ids[1]]
    assert client.get(f"{API_PREFIX}/findings", headers=as_kim, params={"state": "sent"}).json()["total"] == 0
    assert client.get(f"{API_PREFIX}/findings", headers=as_kim, params={"decision": "match", "state": "drafted",
                                                                        "case": "case-sample"}).json()["total"] == 2
    assert client.get(f"{API_PREFIX}/findings", headers=as_kim, params={"state": "everything"}).status_code == 422
    assert client.get(f"{API_PREFIX}/findings", headers=as_kim, params={"limit": 0}).status_code == 422
    assert client.get(f"{API_PREFIX}/findings", headers=as_kim, params={"case": "nope"}).status_code == 404
    assert client.get(f"{API_PREFIX}/notices", headers=as_kim, params={"state": "sent"}).json()["items"] == []
    case = client.get(f"{API_PREFIX}/cases/case-sample", headers=as_kim).json()
    assert case["findings"] == 2 and case["findings_by_state"]["drafted"] == 2
    assert case["notices_by_state"]["draft"] == 1
    assert client.get(f"{API_PREFIX}/cases/case-nope", headers=as_kim).status_code == 404
    finding = client.get(f"{API_PREFIX}/findings/{notice.finding_ids[0]}", headers=as_kim).json()
    assert finding["url"] == "https://mock.example/post/1" and finding["bundle_id"] == api.bundle_id
    assert [m["sha256"] for m in finding["media_items"]] == [m.sha256 for m in
                                                             api.store.get_finding(notice.finding_ids[0]).media]


def test_what_is_never_answered(api: Api) -> None:
    """No password, session or token hash, no blob path, no case reference hashes or keywords, in any answer."""
    store = api.store
    user = store.get_user("kim")
    record = store.get_api_token(token_hash(api.tokens["kim"]))
    case = store.get_case("case-sample")
    finding = store.get_finding(api.notice.finding_ids[0])
    secrets_ = [user.password_hash, record.token_sha256, api.tokens["kim"], *(r.value for r in case.references),
                *case.keywords, str(case.requester), case.notes, *(str(m.blob) for m in finding.media if m.blob)]
    assert len(secrets_) == 8 and all(secrets_)
    for method, path, _body in _every_route(api):
        if method == "get":
            text = api.client.get(path, headers=api.as_user("kim")).text
            leaked = [s for s in secrets_ if s in text]
            assert not leaked, (path, leaked)
    schema = json.dumps(api_schema(api.client.app))
    for name in ("password_hash", "token_sha256", "csrf_token", '"blob"', '"references"', '"keywords"'):
        assert name not in schema, name


def test_evidence_is_downloaded_logged_and_never_leaves_its_bundle(api: Api) -> None:
    client, bundle_id = api.client, api.bundle_id
    as_park = api.as_user("park")
    bundle = client.get(f"{API_PREFIX}/bundles/{bundle_id}", headers=as_park).json()
    assert {a["name"]: a["served"] for a in bundle["artifacts"]} == {"report.pdf": True, "manifest.json": True,
                                                                     "media-1.png": False}
    assert all(len(a["sha256"]) == 64 and a["size"] > 0 for a in bundle["artifacts"])
    report = client.get(f"{API_PREFIX}/bundles/{bundle_id}/files/report.pdf", headers=as_park)
    assert report.status_code == 200 and report.content == b"synthetic report.pdf"
    assert report.headers["content-type"] == "application/pdf"
    assert report.headers["content-disposition"].startswith("attachment")
    viewed = api.store.custody_log(bundle_id)[-1]
    assert viewed.action == "viewed" and viewed.actor == "Park Auditor" and viewed.details["file"] == "report.pdf"
    assert viewed.details["via"] == "api" and viewed.details["user"] == "park"
    assert verify_chain(api.store.custody_log(bundle_id)) == []
    logged = len(api.store.custody_log(bundle_id))
    for name in ("media-1.png", "..%2F..%2Ftakedown.sqlite", "..%2f..%2f..%2fetc%2fpasswd", "%2Fetc%2Fpasswd",
                 "/etc/passwd", "%2E%2E", "seal.json", "report.pdf%00.png",
                 "case-sample%2F" + bundle_id + "%2Freport.pdf"):
        answer = client.get(f"{API_PREFIX}/bundles/{bundle_id}/files/{name}", headers=as_park)
        assert answer.status_code == 404, (name, answer.status_code)
        assert b"SQLite format" not in answer.content and b"synthetic" not in answer.content
    assert client.get(f"{API_PREFIX}/bundles/{bundle_id}/files/../../../takedown.sqlite",
                      headers=as_park).status_code == 404
    assert client.get(f"{API_PREFIX}/bundles/bnd-nope/files/report.pdf", headers=as_park).status_code == 404
    assert len(api.store.custody_log(bundle_id)) == logged, "nothing refused is recorded as viewed"
    (api.evidence / "case-sample" / bundle_id / "manifest.json").write_bytes(b"altered")
    tampered = client.get(f"{API_PREFIX}/bundles/{bundle_id}/files/manifest.json", headers=as_park)
    assert tampered.status_code == 409 and tampered.json()["error"] == "EvidenceError"


def test_stats_count_every_state_and_removals_per_recipient(api: Api) -> None:
    from takedown.report.review import approve_notice, send_notice

    store, notice = api.store, api.notice
    before = api.client.get(f"{API_PREFIX}/stats", headers=api.as_user("park")).json()
    assert before["cases"] == 1 and before["findings"] == 2 and before["notices_by_state"]["draft"] == 1
    assert before["findings_by_decision"]["match"] == 2 and before["findings_by_decision"]["undecided"] == 0
    assert before["removals"] == []
    approve_notice(store, notice.id, by="Kim Officer")
    send_notice(store, notice.id, transport=CapturingTransport(), sender="agency@mock.example")
    first = store.get_finding(notice.finding_ids[0])
    store.update_finding(first.advance(FindingState.REMOVED), expected=first.state)
    after = api.client.get(f"{API_PREFIX}/stats", headers=api.as_user("park")).json()
    assert after["notices_by_state"] == {"draft": 0, "approved": 0, "rejected": 0, "sent": 1, "withdrawn": 0}
    assert after["findings_by_state"]["removed"] == 1 and after["findings_by_state"]["sent"] == 1
    (row,) = after["removals"]
    assert row["recipient"] == "abuse@mock.example" and row["findings"] == 2 and row["removed"] == 1
    sent = api.client.get(f"{API_PREFIX}/notices/{notice.id}", headers=api.as_user("park")).json()
    assert sent["delivery"]["transport"] == "capture" and sent["state"] == "sent"


def test_hostile_text_comes_back_as_escaped_data(api: Api) -> None:
    client, notice = api.client, api.notice
    as_kim = api.as_user("kim")
    answers = [client.get(f"{API_PREFIX}/cases", headers=as_kim), client.get(f"{API_PREFIX}/findings", headers=as_kim),
               client.get(f"{API_PREFIX}/notices/{notice.id}", headers=as_kim),
               client.get(f"{API_PREFIX}/notices/{HOSTILE_ID}", headers=as_kim)]
    for answer in answers:
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "<" not in answer.text and ">" not in answer.text and "&amp;" not in answer.text
        assert "\\u003cimg src=x" in answer.text and "\u2028" not in answer.text
    assert answers[0].json()["items"][0]["title"] == f"Case {HOSTILE}", "the same string, as data"
    assert HOSTILE in [f["title"] for f in answers[1].json()["items"]]
    assert answers[2].json()["subject"] == f"Removal request {HOSTILE}" and HOSTILE in answers[2].json()["body_text"]
    assert answers[3].status_code == 404 and HOSTILE_ID in answers[3].json()["message"], "a refusal's text too"


def test_the_openapi_schema_lists_every_endpoint_and_the_bearer_scheme(api: Api) -> None:
    _refused(api.client.get(f"{API_PREFIX}/openapi.json"))
    answer = api.client.get(f"{API_PREFIX}/openapi.json", headers=api.as_user("park"))
    assert answer.status_code == 200
    schema = answer.json()
    assert schema == json.loads(json.dumps(api_schema(api.client.app)))
    assert schema["info"]["title"] == "takedown API" and schema["info"]["version"] == __import__("takedown").__version__
    operations = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert operations == {
        ("GET", "/api/v1/cases"), ("GET", "/api/v1/cases/{case_id}"), ("GET", "/api/v1/findings"),
        ("GET", "/api/v1/findings/{finding_id}"), ("GET", "/api/v1/notices"), ("GET", "/api/v1/notices/{notice_id}"),
        ("POST", "/api/v1/notices/{notice_id}/approve"), ("POST", "/api/v1/notices/{notice_id}/reject"),
        ("GET", "/api/v1/bundles/{bundle_id}"), ("GET", "/api/v1/bundles/{bundle_id}/files/{name}"),
        ("GET", "/api/v1/stats"),
    }
    assert schema["components"]["securitySchemes"] == {"bearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "td_...",
        "description": schema["components"]["securitySchemes"]["bearer"]["description"]}}
    for path, ops in schema["paths"].items():
        for method, operation in ops.items():
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert "401" in operation["responses"] and "403" in operation["responses"]
            expected = ["officer", "supervisor"] if method == "post" else ["officer", "supervisor", "auditor"]
            assert operation["x-roles"] == expected, (method, path)
            assert operation["summary"] and operation["operationId"]
    approve = schema["paths"]["/api/v1/notices/{notice_id}/approve"]["post"]
    assert approve["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ApprovalRequest")
    assert set(schema["components"]["schemas"]["ApprovalRequest"]["properties"]) == {"note", "copies"}
    assert not any(path.startswith("/api/") is False for path in schema["paths"]), "no console page in it"


# -- tokens --------------------------------------------------------------------------------------------------------


def test_tokens_are_random_kept_as_hashes_and_audited(tmp_path: Path) -> None:
    with SQLiteCaseStore(tmp_path / "takedown.sqlite") as store:
        add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim", by="admin")
        token = issue_token(store, "kim", "nightly sync", by="Admin Choi", days=30)
        other = issue_token(store, "kim", "another job", by="Admin Choi", days=None)
        assert re.fullmatch(r"td_[A-Za-z0-9_-]{43}", token) and token != other
        record = store.get_api_token(token_hash(token))
        assert record.expires_at == record.created_at + timedelta(days=30) and record.created_by == "Admin Choi"
        assert store.get_api_token(token_hash(other)).expires_at is None
        with pytest.raises(UsageError, match="already"):
            issue_token(store, "kim", "nightly sync", by="admin")
        for bad in ({"days": 0}, {"days": 367}, {"by": " "}):
            with pytest.raises(UsageError):
                issue_token(store, "kim", "x", **{"by": "admin", **bad})  # type: ignore[arg-type]
        with pytest.raises(UsageError):
            issue_token(store, "kim", "", by="admin")
        with pytest.raises(NotFoundError):
            issue_token(store, "nobody", "x", by="admin")
        revoked = revoke_token(store, record.id[:8], by="Admin Choi")
        assert revoked.revoked_at is not None and revoked.token_sha256 == record.token_sha256
        with pytest.raises(NotFoundError):
            revoke_token(store, record.id, by="admin")
        with pytest.raises(AuthenticationError):
            token_user(store, token)
        events = store.custody_log(audit_subject("kim"))
        assert [e.action for e in events] == ["user_added", "token_issued", "token_issued", "token_revoked"]
        assert events[1].details["token"] == record.id and events[-1].actor == "Admin Choi"
        assert verify_chain(events) == []
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("takedown.sqlite*"))
    assert token.encode() not in raw and other.encode() not in raw and record.token_sha256.encode() in raw


def test_a_tokens_use_is_recorded_at_most_once_a_minute(tmp_path: Path) -> None:
    with SQLiteCaseStore(tmp_path / "takedown.sqlite") as store:
        add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim", by="admin")
        now = utcnow()
        token = issue_token(store, "kim", "job", by="admin", now=now)
        user, record = token_user(store, token, now=now)
        assert user.username == "kim" and record.last_used_at == now
        token_user(store, token, now=now + USE_RECORDED_EVERY - timedelta(seconds=1))
        assert store.get_api_token(record.token_sha256).last_used_at == now, "not written again within the minute"
        later = now + USE_RECORDED_EVERY
        token_user(store, token, now=later)
        assert store.get_api_token(record.token_sha256).last_used_at == later
        with pytest.raises(AuthenticationError):
            token_user(store, token, now=now + timedelta(days=90))
        for bad in ("", "td_", token[:-1], token + "=", "x" * 5000, token.replace("td_", "TD_")):
            with pytest.raises(AuthenticationError):
                token_user(store, bad)


def test_revoking_by_name_needs_it_to_name_one_token(tmp_path: Path) -> None:
    with SQLiteCaseStore(tmp_path / "takedown.sqlite") as store:
        for name in ("kim", "lee"):
            add_user(store, name, PASSWORD, roles=["officer"], display_name=name.title(), by="admin")
            issue_token(store, name, "sync", by="admin")
        with pytest.raises(UsageError, match="could be any"):
            revoke_token(store, "sync", by="admin")
        assert revoke_token(store, "sync", by="admin", username="lee").username == "lee"
        assert revoke_token(store, "sync", by="admin").username == "kim", "only kim's is live now"


def test_takedown_token_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim Officer", by="admin")
    env = {"TAKEDOWN_STORAGE__DATA_DIR": str(data), "TAKEDOWN_OFFICER": "Admin Choi"}
    added = runner.invoke(cli_app, ["token", "add", "kim", "--name", "nightly sync", "--days", "30"], env=env)
    assert added.exit_code == 0, added.output
    token = added.output.strip().splitlines()[-1]
    assert token.startswith("td_") and "not shown again" in added.output
    forever = runner.invoke(cli_app, ["token", "add", "kim", "--name", "forever", "--days", "0"], env=env)
    assert forever.exit_code == 0 and "until revoked" in forever.output
    unnamed = runner.invoke(cli_app, ["token", "add", "kim", "--name", "x"], env={**env, "TAKEDOWN_OFFICER": ""})
    assert unnamed.exit_code != 0 and "--by" in str(unnamed.exception)
    listed = json.loads(runner.invoke(cli_app, ["token", "list", "kim", "--json"], env=env).output)
    assert [(t["name"], t["state"], t["created_by"]) for t in listed] == [("nightly sync", "active", "Admin Choi"),
                                                                         ("forever", "active", "Admin Choi")]
    assert listed[1]["expires_at"] is None and token not in json.dumps(listed)
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        assert token_user(store, token)[0].username == "kim", "the printed token works"
        assert listed[0]["id"] == store.get_api_token(token_hash(token)).id
    table = runner.invoke(cli_app, ["token", "list"], env=env)
    assert table.exit_code == 0 and listed[0]["id"] in table.output and token not in table.output
    revoked = runner.invoke(cli_app, ["token", "revoke", listed[0]["id"]], env=env)
    assert revoked.exit_code == 0, revoked.output
    missing = runner.invoke(cli_app, ["token", "revoke", "nosuchtoken"], env=env)
    assert missing.exit_code != 0 and isinstance(missing.exception, NotFoundError)
    states = [t["state"] for t in json.loads(runner.invoke(cli_app, ["token", "list", "--json"], env=env).output)]
    assert states == ["revoked", "active"]
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        with pytest.raises(AuthenticationError):
            token_user(store, token)
        events = store.custody_log(audit_subject("kim"))
        assert [e.action for e in events] == ["user_added", "token_issued", "token_issued", "token_revoked"]
        assert {e.actor for e in events[1:]} == {"Admin Choi"}


def test_the_api_docs_are_rendered_from_the_schema() -> None:
    import importlib.util

    script = Path(__file__).resolve().parent.parent / "scripts" / "api_reference.py"
    spec = importlib.util.spec_from_file_location("api_reference", script)
    assert spec is not None and spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    page = reference.PAGE.read_text(encoding="utf-8")
    schema = reference.console_schema()
    assert reference.updated(page, schema) == page, "docs/api.md is out of date: run scripts/api_reference.py"
    for path, operations in schema["paths"].items():
        for method in operations:
            assert f"### `{method.upper()} {path}`" in page
    schema["paths"]["/api/v1/stats"]["get"]["summary"] = "A summary changed in the code"
    assert "A summary changed in the code" in reference.updated(page, schema), "a change reaches the page"
    with pytest.raises(ValueError, match="markers"):
        reference.updated("# no markers here\n", schema)


def test_under_the_four_eyes_rule_two_tokens_of_two_officers_approve(api: Api, tmp_path: Path) -> None:
    from takedown.settings import ConsoleSettings

    settings = Settings(storage=StorageSettings(data_dir=tmp_path), console=ConsoleSettings(four_eyes=("*",)))
    app = create_app(settings, store=api.store, secure_cookies=False, transport=CapturingTransport)
    path = f"{API_PREFIX}/notices/{api.notice.id}/approve"
    with TestClient(app, base_url="http://127.0.0.1") as client:
        first = client.post(path, json={}, headers=api.as_user("kim"))
        assert first.status_code == 200 and first.json()["notices"][0]["state"] == "draft"
        again = client.post(path, json={}, headers=api.as_user("kim"))
        assert again.status_code == 403 and "second, different officer" in again.json()["message"]
        second = client.post(path, json={}, headers=api.as_user("lee"))
        assert second.status_code == 200 and second.json()["notices"][0]["state"] == "approved"
    approved = api.store.get_notice(api.notice.id)
    assert approved.approved_by == "Lee Officer"
    assert api.store.custody_log(api.notice.id)[-1].details["first_approval"] == "kim"
