"""The neutral report content every court-ready writer renders (HWPX, HWP, PDF).

``make_evidence`` builds a realistic bundle folder from synthetic media only (generated shapes, blurred for the
preview) and is shared with ``test_hwpx_writer.py`` and ``test_pdf_writer.py``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter
from pydantic import ValidationError

from takedown.demo.tsa import LocalTsa
from takedown.errors import EvidenceError
from takedown.evidence.base import reference_id
from takedown.evidence.report_content import (
    DASH,
    REPORT_STRINGS,
    ReportContent,
    ReportField,
    ReportSection,
    ReportWriterConfig,
    build_report_content,
    content_for,
    one_line,
    read_custody_file,
    report_language,
)
from takedown.evidence.tsa import decode_token, encode_request
from takedown.models import (
    Artifact,
    CustodyEvent,
    Detection,
    DetectionLabel,
    EvidenceBundle,
    Finding,
    ItemKind,
    MatchedReference,
    TimestampToken,
)
from takedown.settings import AgencySettings
from takedown.store.base import GENESIS_HASH
from takedown.testing import sample_finding

CAPTURED_AT = datetime(2024, 5, 1, 3, 4, 5, tzinfo=UTC)  # 12:04:05 in Seoul
HOSTILE_TITLE = "<script>alert(1)</script> {{ 7*7 }}\r\n사건번호: forged \u202egnp.exe"
AGENCY = AgencySettings(name="서울 디지털성범죄 안심지원센터 (예시)", registration_number="KR-2024-0001",
                        phone="02-000-0000", signer="김담당", signer_title="삭제지원관")


CAPTURE_SEAL = b'{"format": "takedown-seal/2", "stage": "capture", "artifacts": []}\n'
"""The bytes of the test bundle's ``capture-seal.json`` (fixed, so one time stamp serves every test)."""


@functools.cache
def capture_stamp() -> bytes:
    """A real RFC 3161 reply over sha256(CAPTURE_SEAL) from the local TSA (``openssl ts``), made once per session."""
    with tempfile.TemporaryDirectory(prefix="takedown-tsa-") as folder, LocalTsa(Path(folder)) as tsa:
        return tsa.reply(encode_request(hashlib.sha256(CAPTURE_SEAL).digest(), nonce=None))


def synthetic_png(seed: int, *, size: tuple[int, int] = (320, 240), blur: float = 0.0) -> bytes:
    """A generated picture of coloured shapes (never real media), optionally blurred like a preview."""
    picture = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((40 + seed * 7, 30, 260, 210), fill=(230, 120 + seed * 20 % 120, 30))
    draw.rectangle((10, 10, 110, 70), fill=(30, 60, 200))
    draw.text((130, 100), f"synthetic {seed}", fill=(0, 0, 0))
    if blur:
        picture = picture.filter(ImageFilter.GaussianBlur(blur))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class Evidence:
    """A bundle folder on disk: the bundle, its finding, and the bytes of its pictures."""

    root: Path
    out: Path
    bundle: EvidenceBundle
    finding: Finding
    custody: tuple[CustodyEvent, ...]
    preview: bytes
    original: bytes
    screenshot: bytes


def custody_chain(subject: str, actions: list[str], *, start: datetime = CAPTURED_AT) -> tuple[CustodyEvent, ...]:
    """A valid hash chain of custody events about ``subject``."""
    events: list[CustodyEvent] = []
    prev = GENESIS_HASH
    for seq, action in enumerate(actions, start=1):
        at = start + timedelta(seconds=seq)
        details = {"step": str(seq)}
        digest = CustodyEvent.compute_hash(seq=seq, subject=subject, action=action, actor="Officer Kim", at=at,
                                           details=details, prev_hash=prev)
        events.append(CustodyEvent(seq=seq, subject=subject, action=action, actor="Officer Kim", at=at,
                                   details=details, prev_hash=prev, hash=digest))
        prev = digest
    return tuple(events)


def make_evidence(root: Path, *, title: str = HOSTILE_TITLE, error: str | None = None,
                  custody_file: bool = True) -> Evidence:
    """A realistic bundle under ``root``: page, original media, screenshot, blurred preview, custody, time stamp."""
    finding = sample_finding()
    media = finding.media[0]
    detection = Detection(detector="pdq", target=media.sha256, kind=ItemKind.IMAGE, label=DetectionLabel.MATCH,
                          score=0.97, matched=MatchedReference(bank="case", reference="ref-01", algorithm="pdq",
                                                               distance=12))
    finding = finding.model_copy(update={
        "candidate": finding.candidate.model_copy(update={"title": title}),
        "detections": (*finding.detections, detection),
    })
    base = EvidenceBundle(case_id=finding.case_id, finding_id=finding.id, captured_at=CAPTURED_AT)
    out = root / base.case_id / base.id
    original, preview, screenshot = synthetic_png(1), synthetic_png(1, blur=14), synthetic_png(2, size=(400, 600))

    def put(relative: str, data: bytes, role: str, media_type: str) -> Artifact:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return Artifact(path=path.relative_to(root).as_posix(), sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data), media_type=media_type, role=role, created_at=CAPTURED_AT)

    artifacts = (
        put("page.html", b"<html><body><img src='/m/1.png'></body></html>", "page_html", "text/html"),
        put("media/0123456789abcdef.png", original, "media", "image/png"),
        put("screenshot.png", screenshot, "screenshot", "image/png"),
        put("previews/0123456789abcdef.png", preview, "preview", "image/png"),
        put("manifest.json", b'{"bundle": "x"}\n', "manifest", "application/json"),
        # What seal_capture adds before the reports are written: the capture seal and its time stamp.
        put("capture-seal.json", CAPTURE_SEAL, "capture_seal", "application/json"),
        put("capture-seal.tsr", capture_stamp(), "capture_timestamp", "application/timestamp-reply"),
    )
    stamp = TimestampToken(tsa_url="http://tsa.example/tsr", digest_sha256=hashlib.sha256(CAPTURE_SEAL).hexdigest(),
                           token_der_b64=base64.b64encode(capture_stamp()).decode("ascii"),
                           at=decode_token(capture_stamp()).tst_info.gen_time)
    bundle = base.model_copy(update={
        "artifacts": () if error else artifacts,
        "error": error,
        "capture": {
            "url": finding.candidate.url,
            "final_url": finding.candidate.url + "?from=redirect",
            "redirect_chain": '[{"url": "http://mock.example/post/1", "status": 301}, '
                              '{"url": "https://mock.example/post/1?from=redirect", "status": 200}]',
            "status": "200",
            "server_ip": "203.0.113.7",
            "tls_subject": "CN=mock.example",
            "tls_issuer": "CN=Synthetic Test CA",
            "tls_not_before": "2024-01-01T00:00:00Z",
            "tls_not_after": "2025-01-01T00:00:00Z",
            "tls_sha256": "ab" * 32,
            "tls_serial": "1f2e",
            "tool": "takedown 0.1.0",
            "operator": "Officer Kim",
            "browser": "Chromium 124 (headless)",
            "note": "line one\nline two",
        },
        "timestamps": () if error else (stamp,),
    })
    custody = custody_chain(bundle.id, ["captured", *(["hashed"] * len(bundle.artifacts))])
    if custody_file:
        out.mkdir(parents=True, exist_ok=True)
        (out / "custody.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in custody), encoding="utf-8")
    return Evidence(root=root, out=out, bundle=bundle, finding=finding, custody=custody, preview=preview,
                    original=original, screenshot=screenshot)


@pytest.fixture
def evidence(tmp_path: Path) -> Evidence:
    return make_evidence(tmp_path)


def _fields(fields: tuple[ReportField, ...]) -> dict[str, str]:
    return {f.label: f.value for f in fields}


def test_korean_is_the_default_for_a_korean_agency(evidence: Evidence) -> None:
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   custody=evidence.custody)
    assert content.language == "ko"
    assert content.title == "디지털 증거 수집 보고서"
    assert _fields(content.header)["사건번호"] == evidence.bundle.case_id
    assert [s.key for s in content.sections if s.level == 1] == [
        "agency", "summary", "urls", "capture", "hashes", "images", "custody", "timestamps", "signature"]
    assert [(s.key, s.heading) for s in content.sections if s.level == 2] == [
        ("capture.tls", "가. TLS 인증서"), ("capture.software", "나. 수집 환경"),
        ("capture.redirect_chain", "다. 리디렉션 경로"), ("capture.other", "라. 기타 기록 항목"),
        ("timestamps.token", "가. 타임스탬프 1"), ("timestamps.after", "나. 보고서 작성 이후의 봉인 절차")]
    summary = _fields(content.summary)
    assert summary["URL"] == evidence.finding.candidate.url
    assert summary["판정"].startswith("일치")
    # The reference is named by its pseudonym: the report travels with deletion requests, the label does not.
    assert summary["일치한 참조 (거리)"] == f"case/{reference_id('ref-01')} (pdq 12)"
    assert "ref-01" not in content.text()
    assert summary["탐지 결과 수"] == "2"
    assert summary["수집 일시 (UTC)"] == "2024-05-01 03:04:05 UTC"
    assert summary["수집 일시 (현지)"].startswith("2024-05-01 12:04:05 ")
    assert summary["수집 일시 (현지)"].endswith("(Asia/Seoul)")
    agency = _fields(content.agency)
    assert agency["기관 등록번호"] == "KR-2024-0001"
    assert agency["연락처"] == "takedown@agency.example / 02-000-0000"
    signature = {"수집자": "Officer Kim", "작성자": "김담당", "직위": "삭제지원관", "작성일": "2024년 5월 1일",
                 "서명": ""}
    assert _fields(content.signature) == signature


def test_english_on_request_and_for_languages_without_strings(evidence: Evidence) -> None:
    english = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   language="en")
    assert english.title == "Digital evidence report"
    assert _fields(english.summary)["Captured at (local time)"].startswith("2024-05-01 12:04:05 Korean Standard Time")
    assert report_language("ko-KR", AGENCY) == "ko"
    assert report_language("xx", AGENCY) == "en"
    assert report_language(None, AgencySettings(language="en")) == "en"
    assert set(REPORT_STRINGS["ko"]) == set(REPORT_STRINGS["en"])


def test_every_artifact_is_in_the_hash_table(evidence: Evidence) -> None:
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY)
    assert [row[3] for row in content.hashes.rows] == [a.sha256 for a in evidence.bundle.artifacts]
    assert content.hashes.rows[0][:3] == ("page.html", "페이지 HTML", "46")
    assert [row[1] for row in content.hashes.rows][-2:] == ["원본 수집물 봉인", "원본 봉인 타임스탬프"]
    assert content.hashes.columns[2] == "크기 (바이트)"
    assert content.hashes.mono == (False, False, False, True)
    assert evidence.bundle.case_id in content.hash_notes[0]


def test_only_blurred_previews_are_embedded_by_default(evidence: Evidence) -> None:
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY)
    assert [image.data for image in content.images] == [evidence.preview]
    assert not content.originals_included
    image = content.images[0]
    assert (image.format, image.width_px, image.height_px) == ("png", 320, 240)
    assert image.width_mm <= 110 and image.height_mm <= 85
    assert "흐림 처리한 미리보기" in content.image_notes[0]
    images = next(s for s in content.sections if s.key == "images")
    assert not images.alert


def test_originals_only_on_request_and_then_visibly(evidence: Evidence) -> None:
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   include_originals=True)
    assert sorted(image.data for image in content.images) == sorted([evidence.original, evidence.screenshot])
    assert content.originals_included
    assert "include_originals=True" in content.image_notes[0]
    images = next(s for s in content.sections if s.key == "images")
    assert images.alert


def test_images_that_cannot_be_trusted_are_left_out_with_a_note(evidence: Evidence) -> None:
    preview = next(a for a in evidence.bundle.artifacts if a.role == "preview")
    (evidence.root / preview.path).write_bytes(synthetic_png(3, blur=5))  # altered after it was sealed
    outside = preview.model_copy(update={"path": "../elsewhere.png"})
    missing = preview.model_copy(update={"path": f"{preview.path}.gone"})
    not_an_image = preview.model_copy(update={"path": evidence.bundle.artifacts[0].path,
                                              "sha256": evidence.bundle.artifacts[0].sha256})
    (evidence.root.parent / "elsewhere.png").write_bytes(evidence.preview)
    bundle = evidence.bundle.model_copy(update={"artifacts": (preview, outside, missing, not_an_image)})
    content = build_report_content(bundle, evidence.finding, root=evidence.root, agency=AGENCY, language="en")
    assert content.images == ()
    notes = " ".join(content.image_notes)
    assert "does not match its recorded SHA-256" in notes
    assert "outside the evidence root" in notes
    assert "the file is missing" in notes
    assert "cannot be embedded" in notes
    assert "no preview images" in notes


def _section(content: ReportContent, key: str) -> ReportSection:
    return next(s for s in content.sections if s.key == key)


def test_capture_rows_are_always_there_and_unknown_keys_kept(evidence: Evidence) -> None:
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   language="en")
    tls = _fields(_section(content, "capture.tls").fields)
    assert tls["Validity"] == "2024-01-01 00:00:00 UTC ~ 2025-01-01 00:00:00 UTC"
    assert tls["Fingerprint (SHA-256)"] == "ab" * 32
    assert tls["Serial number"] == "1f2e"
    assert _fields(_section(content, "capture.software").fields)["User agent sent"] == DASH
    assert _section(content, "capture.redirect_chain").table.rows == (  # type: ignore[union-attr]
        ("1", "http://mock.example/post/1", "301"), ("2", "https://mock.example/post/1?from=redirect", "200"))
    other = _fields(_section(content, "capture.other").fields)
    assert other == {"Other field (note)": "line one\\nline two"}
    bare = evidence.bundle.model_copy(update={"capture": {}})
    content = build_report_content(bare, evidence.finding, root=evidence.root, agency=AGENCY)
    rows = [*content.capture, *(f for s in content.capture_details for f in s.fields)]
    assert len(rows) == 15 and {f.value for f in rows} == {DASH}
    assert [s.key for s in content.capture_details] == ["capture.tls", "capture.software"]


# Every key capture.py records (and the keys an older bundle may hold): each has a row, a table or a reason to be
# left out, with a label in both languages.
CAPTURE = {
    "url": "https://mock.example/post/1", "requested_url": "https://mock.example/post/1",
    "captured_at_utc": "2024-05-01T03:04:05+00:00", "captured_at_local": "2024-05-01T12:04:05+09:00",
    "time_zone": "Asia/Seoul", "tool": "takedown 0.1.0", "adapter": "httpx 0.28.1", "operator": "Officer Kim",
    "site": "mock.example", "proxy": "socks5://proxy.example:1080",
    "redirect_chain": json.dumps([{"url": "http://mock.example/post/1", "status": 301},
                                  {"url": "https://mock.example/post/1", "status": 200}]),
    "final_url": "https://mock.example/post/1", "status": "200",
    "headers": json.dumps([["content-type", "text/html; charset=utf-8"], ["server", "nginx"],
                           ["set-cookie", "a=1"], ["set-cookie", "b=2"]]),
    "server_ip": "203.0.113.7", "tls_version": "TLSv1.3", "tls_cipher": "TLS_AES_256_GCM_SHA384",
    "tls_subject": "CN=mock.example", "tls_issuer": "CN=Synthetic Test CA",
    "tls_not_before": "2024-01-01T00:00:00+00:00", "tls_not_after": "2025-01-01T00:00:00+00:00",
    "tls_serial": "1f2e", "tls_sha256": "ab" * 32, "tls_san": "mock.example, www.mock.example",
    "tls_verified": "true", "tls_certificate_error": "", "content_encoding": "gzip",
    "page_html": "the response body, gzip decoded", "browser": "Chromium 124 (headless)",
    "browser_final_url": "https://mock.example/post/1", "viewport": "1280x900", "screenshot_size": "1280x2400",
    "media_regions": json.dumps([{"x": 1, "y": 2, "width": 3, "height": 4}]), "browser_error": "",
    "finished_at_utc": "2024-05-01T03:04:09+00:00", "media_count": "1",
    "media_sources": json.dumps([{"url": "https://mock.example/m/1.png", "final_url": "https://cdn.example/1.png",
                                  "path": "{folder}media/0123456789abcdef.png", "sha256": "cd" * 32,
                                  "media_type": "image/png"}]),
    "media_skipped": json.dumps([
        {"url": "https://mock.example/m/2.png", "reason": "HTTP 404 (recorded in the WARC only)"},
        {"url": "https://mock.example/m/3.png", "reason": "the capture size limit was reached"},
        {"url": "https://mock.example/m/4.png", "reason": "something new"},
    ]),
    "warc_records": "1234", "previews_include_originals": "false",
    "user_agent": "takedown/0.1.0 (+https://agency.example/takedown)",
    "received_at_utc": "2024-05-01T03:04:06.500000+00:00", "takedown_version": "0.1.0",
    "takedown_commit": "0123456789abcdef0123456789abcdef01234567", "python": "CPython 3.13.1",
    "platform": "Linux-6.1-x86_64", "browser_user_agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/124",
    "wacz": "capture.wacz", "browser_requests": "12", "fetched_at": "2024-05-01T03:04:06+00:00",
}


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_capture_key_is_labelled_and_no_json_is_shown(evidence: Evidence, language: str) -> None:
    folder = f"{evidence.bundle.case_id}/{evidence.bundle.id}/"
    capture = {**CAPTURE, "media_sources": CAPTURE["media_sources"].replace("{folder}", folder)}
    bundle = evidence.bundle.model_copy(update={"capture": capture})
    content = build_report_content(bundle, evidence.finding, root=evidence.root, agency=AGENCY, language=language)
    other = REPORT_STRINGS[language]["capture.other_field"].split("(")[0]
    parts = [s for s in content.sections if s.key.startswith("capture")]
    labels = [f.label for s in parts for f in s.fields]
    assert not any(label.startswith(other) for label in labels), labels
    assert not set(labels) & set(CAPTURE), "a raw key is shown as a label"
    assert "capture.other" not in [s.key for s in parts]
    text = content.text()
    raws = ['[{', '{"', '["', '"url"', "media_regions", '"x": 1', "the response body"]
    for raw in raws if language == "ko" else raws[:-1]:  # the English report says "the response body" in words
        assert raw not in text
    headers = _section(content, "capture.headers").table
    assert headers is not None and headers.rows == (("content-type", "text/html; charset=utf-8"), ("server", "nginx"),
                                                   ("set-cookie", "a=1"), ("set-cookie", "b=2"))
    media = _section(content, "capture.media_sources").table
    assert media is not None
    assert media.rows == (("https://mock.example/m/1.png → https://cdn.example/1.png", "media/0123456789abcdef.png",
                           "image/png"),)
    skipped = _section(content, "capture.media_skipped").table
    assert skipped is not None and [row[0] for row in skipped.rows] == [
        "https://mock.example/m/2.png", "https://mock.example/m/3.png", "https://mock.example/m/4.png"]
    fields = {f.label: f.value for s in parts for f in s.fields}
    if language == "ko":
        assert [row[1] for row in skipped.rows] == ["HTTP 404 응답 (WARC에만 기록)", "수집 용량 한도에 도달함",
                                                    "something new"]
        assert fields["페이지 수신 시각 (UTC)"] == "2024-05-01 03:04:06 UTC"
        assert fields["페이지 수신 시각 (현지)"].startswith("2024-05-01 12:04:06 ")
        assert fields["요청 User-Agent"] == CAPTURE["user_agent"]
        assert fields["페이지 HTML (page.html)"] == "수신한 응답 본문 (gzip 압축 해제)"
        assert fields["인증서 검증 여부"] == "예" and fields["보고서 원본 수록 허용"] == "아니요"
        assert fields["브라우저 화면 크기"] == "1280 × 900 픽셀"
        assert fields["WARC 레코드 수"] == "1,234"
        assert fields["takedown 버전"] == "0.1.0" and fields["Python 버전"] == "CPython 3.13.1"
        assert fields["운영체제"] == "Linux-6.1-x86_64" and fields["소스 코드 커밋"] == CAPTURE["takedown_commit"]
        assert fields["웹 아카이브 파일 (WACZ)"] == "capture.wacz" and fields["브라우저 요청 수"] == "12"
        assert fields["수집 시작 시각 (UTC)"] == "2024-05-01 03:04:05 UTC"
    else:
        assert fields["Page received at (UTC)"] == "2024-05-01 03:04:06 UTC"
        assert fields["Browser user agent"] == CAPTURE["browser_user_agent"]


def test_a_plain_redirect_list_reads_as_rows(evidence: Evidence) -> None:
    capture = {"redirect_chain": "http://a.example/\nhttps://a.example/"}
    bundle = evidence.bundle.model_copy(update={"capture": capture})
    content = build_report_content(bundle, evidence.finding, root=evidence.root, agency=AGENCY)
    table = _section(content, "capture.redirect_chain").table
    assert table is not None and table.columns == ("순서", "URL", "HTTP 상태 코드")
    assert table.rows == (("1", "http://a.example/", DASH), ("2", "https://a.example/", DASH))


def test_capture_data_that_is_not_what_takedown_writes_is_shown_as_text(evidence: Evidence) -> None:
    capture = {"headers": "not json\r\n", "media_sources": '{"a": 1}', "fetched_at": "yesterday"}
    bundle = evidence.bundle.model_copy(update={"capture": capture})
    content = build_report_content(bundle, evidence.finding, root=evidence.root, agency=AGENCY, language="en")
    assert _section(content, "capture.headers").notes == ("not json\\r\\n",)
    assert _section(content, "capture.media_sources").notes == ('{"a": 1}',)
    assert _fields(content.capture)["Page received at (UTC)"] == "yesterday"


def test_hostile_text_cannot_forge_a_line() -> None:
    assert one_line("a\r\nb\tc\x00d\u202ee\u200bf") == "a\\r\\nb\\tc\\u0000d\\u202ee\\u200bf"
    assert one_line("<b>{{ 7*7 }}</b> 한글") == "<b>{{ 7*7 }}</b> 한글"


def test_the_custody_log_is_summarised_and_its_chain_checked(evidence: Evidence) -> None:
    events = read_custody_file(evidence.out / "custody.jsonl")
    assert events == evidence.custody
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   custody=events)
    assert content.custody.rows[0] == ("1", "2024-05-01 12:04:06", "수집", "Officer Kim", events[0].hash[:16])
    assert content.custody.rows[1][2] == "해시 기록"
    assert content.custody_notes[1] == f"해시 체인 검증: 정상 ({len(events)}건)"
    assert "보고서를 작성하기 직전까지" in content.custody_notes[0] and "custody.jsonl" in content.custody_notes[0]
    assert _section(content, "custody").heading == "6. 증거 보관 기록 (보고서 작성 시점까지)"
    forged = (events[0], events[1].model_copy(update={"actor": "someone else"}), *events[2:])
    broken = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                  custody=forged)
    assert broken.custody_notes[1].startswith("해시 체인 검증 실패")
    none = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY)
    assert none.custody.rows == () and none.custody_notes == ("보관 기록이 제공되지 않았습니다.",)


def test_custody_file_reading(tmp_path: Path) -> None:
    assert read_custody_file(tmp_path / "absent.jsonl") == ()
    (tmp_path / "bad.jsonl").write_text('{"seq": 1}\n', encoding="utf-8")
    with pytest.raises(EvidenceError, match="line 1 is not a custody event"):
        read_custody_file(tmp_path / "bad.jsonl")


def test_content_for_reads_the_custody_file_named_in_the_config(evidence: Evidence) -> None:
    config = ReportWriterConfig(agency=AGENCY)
    content = content_for(config, evidence.bundle, evidence.finding, out=evidence.out, root=evidence.root)
    assert len(content.custody.rows) == len(evidence.custody)
    other = ReportWriterConfig(agency=AGENCY, custody_file="elsewhere.jsonl", language="en")
    content = content_for(other, evidence.bundle, evidence.finding, out=evidence.out, root=evidence.root)
    assert content.custody.rows == () and content.language == "en"
    with pytest.raises(ValidationError):
        config.include_originals = True


def test_a_failed_capture_says_so_first(tmp_path: Path) -> None:
    evidence = make_evidence(tmp_path, error="the page was never fetched")
    content = build_report_content(evidence.bundle, evidence.finding, root=tmp_path, agency=AGENCY)
    first = content.sections[0]
    assert first.key == "error" and first.alert
    assert first.notes[1] == "the page was never fetched"
    assert content.hash_notes == ("수집된 파일이 없습니다.",)


def test_same_input_same_content(evidence: Evidence) -> None:
    def build() -> ReportContent:
        return build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                    custody=evidence.custody)

    assert build() == build()
    text = build().text()
    assert "<script>alert(1)</script> {{ 7*7 }}\\r\\n사건번호: forged \\u202egnp.exe" in text


def test_the_capture_time_stamp_is_described_from_the_token_itself(evidence: Evidence) -> None:
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   custody=evidence.custody)
    info = decode_token(capture_stamp()).tst_info
    section = _section(content, "timestamps")
    assert section.notes == (REPORT_STRINGS["ko"]["timestamps.intro"],)
    stamp = _fields(_section(content, "timestamps.token").fields)
    assert stamp["확인 대상"] == "원본 수집물 봉인(capture-seal.json)의 SHA-256"
    assert stamp["대상 해시 (SHA-256)"] == hashlib.sha256(CAPTURE_SEAL).hexdigest()
    assert stamp["발급 시각 (UTC)"] == info.gen_time.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert stamp["발급 시각 (현지)"].endswith("(Asia/Seoul)")
    assert stamp["시점확인기관 (TSA)"] == "http://tsa.example/tsr"
    assert stamp["토큰 일련번호"] == f"0x{info.serial_number:02X}"
    assert stamp["토큰 파일"] == "capture-seal.tsr"
    after = _section(content, "timestamps.after")
    for name in ("seal.json", "seal.sig", "seal.tsr", "custody.jsonl", "이 보고서를 포함한"):
        assert name in after.notes[0]
    english = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   language="en")
    stamp = _fields(_section(english, "timestamps.token").fields)
    assert stamp["What was stamped"] == "the SHA-256 of the capture seal (capture-seal.json)"
    after = _section(english, "timestamps.after")
    for name in ("seal.json", "seal.sig", "seal.tsr", "custody.jsonl", "this report included"):
        assert name in after.notes[0]


def test_a_stamp_of_another_file_or_of_nothing_here_says_so(evidence: Evidence) -> None:
    token = evidence.bundle.timestamps[0]
    page = evidence.bundle.artifacts[0]
    not_decodable = token.model_copy(update={"token_der_b64": "AA==", "digest_sha256": page.sha256})
    unknown = token.model_copy(update={"token_der_b64": "AA==", "digest_sha256": "00" * 32})
    bundle = evidence.bundle.model_copy(update={"timestamps": (not_decodable, unknown)})
    content = build_report_content(bundle, evidence.finding, root=evidence.root, agency=AGENCY, language="en")
    first, second = (s for s in content.sections if s.key == "timestamps.token")
    assert (first.heading, second.heading) == ("7.1 Time stamp 1", "7.2 Time stamp 2")
    assert _fields(first.fields)["What was stamped"] == "the SHA-256 of page.html"
    assert _fields(first.fields)["Token serial number"] == DASH
    assert first.notes == (REPORT_STRINGS["en"]["timestamp.undecodable"],)
    assert _fields(second.fields)["What was stamped"] == "a SHA-256 that matches no file of this bundle"
    forged = token.model_copy(update={"digest_sha256": page.sha256})  # the token stamps the capture seal, not this
    content = build_report_content(evidence.bundle.model_copy(update={"timestamps": (forged,)}), evidence.finding,
                                   root=evidence.root, agency=AGENCY)
    part = _section(content, "timestamps.token")
    assert _fields(part.fields)["대상 해시 (SHA-256)"] == hashlib.sha256(CAPTURE_SEAL).hexdigest()
    assert part.notes[0].startswith("주의: 토큰에 담긴 해시가") and page.sha256 in part.notes[0]


def test_without_a_time_stamp_the_report_says_none_was_taken_and_what_follows(evidence: Evidence) -> None:
    bundle = evidence.bundle.model_copy(update={"timestamps": ()})
    events = custody_chain(bundle.id, ["captured", "capture_sealed", "capture_not_timestamped"])
    content = build_report_content(bundle, evidence.finding, root=evidence.root, agency=AGENCY, custody=events)
    assert _section(content, "timestamps").notes == (
        "수집 단계에서는 타임스탬프를 받지 않았습니다.",
        "그 사유는 증거 보관 기록(custody.jsonl)의 '원본 봉인 타임스탬프 미취득' 항목에 적혀 있습니다.")
    assert [s.key for s in content.sections if s.key.startswith("timestamps.")] == ["timestamps.after"]
    assert _section(content, "timestamps.after").heading == "가. 보고서 작성 이후의 봉인 절차"
    assert [row[2] for row in content.custody.rows] == ["수집", "원본 수집물 봉인", "원본 봉인 타임스탬프 미취득"]
    content = build_report_content(bundle, evidence.finding, root=evidence.root, agency=AGENCY, language="en")
    assert _section(content, "timestamps").notes == ("No time stamp was taken at capture.",)


def test_the_default_signer_is_a_role_in_the_reports_language(evidence: Evidence) -> None:
    default = AgencySettings(name="서울 디지털성범죄 안심지원센터 (예시)")
    korean = _fields(build_report_content(evidence.bundle, evidence.finding, root=evidence.root,
                                          agency=default).signature)
    assert (korean["작성자"], korean["직위"]) == ("당직 담당자", "삭제지원 담당자")
    english = _fields(build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=default,
                                           language="en").signature)
    assert (english["Prepared by"], english["Title"]) == ("Duty Officer", "Deletion Support Officer")
    named = default.model_copy(update={"signer": "Kim Officer"})
    korean = _fields(build_report_content(evidence.bundle, evidence.finding, root=evidence.root,
                                          agency=named).signature)
    assert (korean["작성자"], korean["직위"]) == ("Kim Officer", "삭제지원 담당자")
    anonymous = evidence.bundle.model_copy(update={"capture": {}})
    fields = build_report_content(anonymous, evidence.finding, root=evidence.root, agency=AGENCY).signature
    assert [f.label for f in fields] == ["작성자", "직위", "작성일", "서명"]


def test_the_preview_text_summarises_the_report(evidence: Evidence) -> None:
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY)
    assert content.preview.split("\r\n") == [
        "디지털 증거 수집 보고서", f"사건번호: {evidence.bundle.case_id}", f"URL: {evidence.finding.candidate.url}",
        "판정: 일치 (피해 촬영물과 일치)", f"증거 묶음 ID: {evidence.bundle.id}", ""]
