"""The neutral report content every court-ready writer renders (HWPX, HWP, PDF).

``make_evidence`` builds a realistic bundle folder from synthetic media only (generated shapes, blurred for the
preview) and is shared with ``test_hwpx_writer.py`` and ``test_pdf_writer.py``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter
from pydantic import ValidationError

from takedown.errors import EvidenceError
from takedown.evidence.report_content import (
    DASH,
    REPORT_STRINGS,
    ReportContent,
    ReportField,
    ReportWriterConfig,
    build_report_content,
    content_for,
    one_line,
    read_custody_file,
    report_language,
)
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
    )
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
        "timestamps": (TimestampToken(tsa_url="http://tsa.example/tsr", digest_sha256=artifacts[-1].sha256,
                                      token_der_b64="AA==", at=CAPTURED_AT + timedelta(seconds=30)),),
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
    assert [s.key for s in content.sections] == ["agency", "summary", "urls", "capture", "hashes", "images",
                                                  "custody", "timestamps", "signature"]
    summary = _fields(content.summary)
    assert summary["URL"] == evidence.finding.candidate.url
    assert summary["판정"].startswith("일치")
    assert summary["일치한 참조 (거리)"] == "case/ref-01 (pdq 12)"
    assert summary["탐지 결과 수"] == "2"
    assert summary["수집 일시 (UTC)"] == "2024-05-01 03:04:05 UTC"
    assert summary["수집 일시 (현지)"].startswith("2024-05-01 12:04:05 ")
    assert summary["수집 일시 (현지)"].endswith("(Asia/Seoul)")
    agency = _fields(content.agency)
    assert agency["기관 등록번호"] == "KR-2024-0001"
    assert agency["연락처"] == "takedown@agency.example / 02-000-0000"
    signature = {"작성자": "김담당", "직위": "삭제지원관", "작성일": "2024년 5월 1일", "서명": ""}
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
    assert content.hashes.rows[0][:3] == ("page.html", "page_html", "46")
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


def test_capture_rows_are_always_there_and_unknown_keys_kept(evidence: Evidence) -> None:
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   language="en")
    rows = _fields(content.capture)
    chain = "http://mock.example/post/1 (301) → https://mock.example/post/1?from=redirect (200)"
    assert rows["Redirect chain"] == chain
    assert rows["TLS certificate validity"] == "2024-01-01T00:00:00Z ~ 2025-01-01T00:00:00Z"
    assert rows["TLS certificate fingerprint (SHA-256)"] == "ab" * 32
    assert rows["User agent"] == DASH
    assert rows["note"] == "line one\\nline two"
    assert rows["TLS certificate serial number (tls_serial)"] == "1f2e"
    bare = evidence.bundle.model_copy(update={"capture": {}})
    rows = _fields(build_report_content(bare, evidence.finding, root=evidence.root, agency=AGENCY).capture)
    assert len(rows) == 15 and set(rows.values()) == {DASH}


def test_a_plain_redirect_list_reads_as_arrows(evidence: Evidence) -> None:
    capture = {"redirect_chain": "http://a.example/\nhttps://a.example/"}
    bundle = evidence.bundle.model_copy(update={"capture": capture})
    rows = _fields(build_report_content(bundle, evidence.finding, root=evidence.root, agency=AGENCY).capture)
    assert rows["리디렉션 경로"] == "http://a.example/ → https://a.example/"


def test_hostile_text_cannot_forge_a_line() -> None:
    assert one_line("a\r\nb\tc\x00d\u202ee\u200bf") == "a\\r\\nb\\tc\\u0000d\\u202ee\\u200bf"
    assert one_line("<b>{{ 7*7 }}</b> 한글") == "<b>{{ 7*7 }}</b> 한글"


def test_the_custody_log_is_summarised_and_its_chain_checked(evidence: Evidence) -> None:
    events = read_custody_file(evidence.out / "custody.jsonl")
    assert events == evidence.custody
    content = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                   custody=events)
    assert content.custody.rows[0] == ("1", "2024-05-01 12:04:06", "captured", "Officer Kim", events[0].hash[:16])
    assert content.custody_notes == (f"해시 체인 검증: 정상 ({len(events)}건)",)
    forged = (events[0], events[1].model_copy(update={"actor": "someone else"}), *events[2:])
    broken = build_report_content(evidence.bundle, evidence.finding, root=evidence.root, agency=AGENCY,
                                  custody=forged)
    assert broken.custody_notes[0].startswith("해시 체인 검증 실패")
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
