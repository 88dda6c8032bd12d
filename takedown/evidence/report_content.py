"""What a court-ready evidence report says, built once and rendered by every report writer.

``build_report_content`` turns a bundle, its finding, the agency's settings and the custody log into a
``ReportContent``: plain strings in the report's language, already formatted (dates in the agency's time zone
with Babel, sizes, decisions), with the images to embed read and checked against their recorded SHA-256. The
HWPX, HWP and PDF writers only lay it out, so the three files say exactly the same thing.

Text that came from the web (page titles, URLs, capture metadata) is untrusted: control characters and
bidirectional overrides are shown as visible escapes (``\\r``, ``\\n``, ``\\u202e``), so a hostile title can
neither break a line of the report nor forge a field; markup stays text because every writer escapes it.

What the report says is what a reader of that language can read: every capture key it shows has a label in both
languages, structured capture data (response headers, the redirect chain, the media captured and not) is laid out
as tables rather than JSON, and machine data (``media_regions``) is left to the bundle's record. A report is
written after the raw capture is sealed and time-stamped (``capture-seal.json``, ``capture-seal.tsr``) and before
the final seal; it describes the stamps it has from the tokens themselves, and says what is sealed, signed and
stamped after it, and where that is recorded (``custody.jsonl``).

Human-facing reports show blurred previews by default: only artifacts of role ``preview`` are embedded. The
originals (roles ``media`` and ``screenshot``) are embedded only when ``include_originals`` is set, and the
report then says so in its images section.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import EvidenceError
from takedown.evidence.base import reference_id
from takedown.evidence.custody import CUSTODY_FILE, load_custody, verify_chain
from takedown.evidence.tsa import decode_token
from takedown.models import Artifact, CustodyEvent, EvidenceBundle, Finding, TimestampToken
from takedown.settings import AgencySettings, SigningSettings
from takedown.store.blobs import atomic_write

__all__ = [
    "CUSTODY_FILE",
    "DASH",
    "ORIGINAL_ROLES",
    "PREVIEW_ROLE",
    "REPORT_STRINGS",
    "ReportContent",
    "ReportField",
    "ReportImage",
    "ReportSection",
    "ReportTable",
    "ReportWriterConfig",
    "build_report_content",
    "content_for",
    "one_line",
    "read_custody_file",
    "report_language",
    "write_report_file",
]

_Frozen = ConfigDict(frozen=True, extra="forbid", defer_build=True)

PREVIEW_ROLE = "preview"
"""The artifact role of a blurred preview: the only images a report embeds by default."""

ORIGINAL_ROLES = frozenset({"media", "screenshot"})
"""Artifact roles that hold unblurred originals: embedded only with ``include_originals``."""

_IMAGE_BOX_MM = (110.0, 85.0)

DASH = "—"
"""What a report shows for a value it does not have."""

# Image formats every report writer can embed as they are (HWPX/HWP BinData and weasyprint both take them).
_EMBEDDABLE = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "GIF": ("gif", "image/gif"),
               "BMP": ("bmp", "image/bmp")}

REPORT_STRINGS: Mapping[str, Mapping[str, str]] = {
    "ko": {
        "title": "디지털 증거 수집 보고서",
        "case_number": "사건번호",
        "bundle": "증거 묶음 ID",
        "finding": "발견 ID",
        "agency": "요청 기관",
        "agency_name": "기관명",
        "registration_number": "기관 등록번호",
        "contact": "연락처",
        "address": "주소",
        "error": "수집 오류",
        "error_note": "이 증거는 완전하지 않습니다. 수집이 다음 이유로 실패했습니다:",
        "summary": "1. 요약",
        "url": "URL",
        "site": "사이트",
        "page_title": "페이지 제목",
        "decision": "판정",
        "decision.match": "일치 (피해 촬영물과 일치)",
        "decision.review": "검토 필요",
        "decision.clear": "해당 없음",
        "decision.none": "판정 전",
        "matched": "일치한 참조 (거리)",
        "detections": "탐지 결과 수",
        "captured_utc": "수집 일시 (UTC)",
        "captured_local": "수집 일시 (현지)",
        "urls": "2. URL 목록",
        "kind": "구분",
        "kind.page": "게시물",
        "kind.final": "최종 주소",
        "kind.media": "미디어",
        "capture": "3. 수집 정보",
        "capture.url": "요청 URL",
        "capture.final_url": "최종 URL",
        "capture.status": "HTTP 상태 코드",
        "capture.server_ip": "서버 IP 주소",
        "capture.site": "사이트",
        "capture.operator": "수집자",
        "capture.fetched_at_utc": "페이지 수신 시각 (UTC)",
        "capture.fetched_at_local": "페이지 수신 시각 (현지)",
        "capture.started_at": "수집 시작 시각 (UTC)",
        "capture.finished_at": "수집 종료 시각 (UTC)",
        "capture.time_zone": "기준 시간대",
        "capture.proxy": "경유 프록시",
        "capture.content_encoding": "콘텐츠 인코딩",
        "capture.page_html": "페이지 HTML (page.html)",
        "capture.media_count": "수집한 미디어 수",
        "capture.warc_records": "WARC 레코드 수",
        "capture.wacz": "웹 아카이브 파일 (WACZ)",
        "capture.previews_include_originals": "보고서 원본 수록 허용",
        "capture.browser_error": "브라우저 수집 오류",
        "capture.tls": "TLS 인증서",
        "capture.tls_subject": "인증서 주체",
        "capture.tls_issuer": "인증서 발급자",
        "capture.tls_validity": "인증서 유효기간",
        "capture.tls_fingerprint": "인증서 지문 (SHA-256)",
        "capture.tls_serial": "인증서 일련번호",
        "capture.tls_san": "주체 대체 이름 (SAN)",
        "capture.tls_version": "TLS 버전",
        "capture.tls_cipher": "암호 스위트",
        "capture.tls_verified": "인증서 검증 여부",
        "capture.tls_certificate_error": "인증서 오류",
        "capture.software": "수집 환경",
        "capture.tool": "수집 도구",
        "capture.takedown_version": "takedown 버전",
        "capture.takedown_commit": "소스 코드 커밋",
        "capture.python": "Python 버전",
        "capture.platform": "운영체제",
        "capture.adapter": "HTTP 클라이언트",
        "capture.user_agent": "요청 User-Agent",
        "capture.browser": "브라우저",
        "capture.browser_user_agent": "브라우저 User-Agent",
        "capture.browser_final_url": "브라우저 최종 URL",
        "capture.browser_requests": "브라우저 요청 수",
        "capture.viewport": "브라우저 화면 크기",
        "capture.screenshot_size": "스크린샷 크기",
        "capture.redirect_chain": "리디렉션 경로",
        "capture.headers": "응답 헤더",
        "capture.media_sources": "수집한 미디어",
        "capture.media_skipped": "수집하지 못한 미디어",
        "capture.other": "기타 기록 항목",
        "capture.other_field": "기타 항목 ({key})",
        "hop": "순서",
        "header_name": "헤더 이름",
        "header_value": "값",
        "media_file": "저장 파일",
        "media_type": "형식",
        "reason": "사유",
        "yes": "예",
        "no": "아니요",
        "pixels": "{width} × {height} 픽셀",
        "page_html.as_received": "수신한 응답 본문 그대로",
        "page_html.decoded": "수신한 응답 본문 ({encoding} 압축 해제)",
        "page_html.undecodable": "수신한 응답 본문 그대로 ({encoding} 압축 해제 실패)",
        "skip.limit": "수집 용량 한도에 도달함",
        "skip.redirects": "리디렉션 {count}회 초과",
        "skip.http": "HTTP {status} 응답 (WARC에만 기록)",
        "skip.size": "용량 한도 초과 (전체 또는 항목별)",
        "skip.blocked": "수집 차단 규칙에 따라 차단됨: {detail}",
        "skip.timeout": "응답 시간 초과: {detail}",
        "skip.connect": "연결 실패: {detail}",
        "skip.request": "요청 실패: {detail}",
        "hashes": "4. 파일 해시 (SHA-256)",
        "file": "파일",
        "role": "종류",
        "size": "크기 (바이트)",
        "role.page_html": "페이지 HTML",
        "role.media": "미디어 원본",
        "role.warc": "HTTP 원본 기록 (WARC)",
        "role.browser_warc": "브라우저 기록 (WARC)",
        "role.screenshot": "전체 화면 캡처",
        "role.mhtml": "페이지 보존본 (MHTML)",
        "role.wacz": "웹 아카이브 (WACZ)",
        "role.preview": "흐림 미리보기",
        "role.manifest": "증거 목록 (JSON)",
        "role.report": "보고서",
        "role.capture_seal": "원본 수집물 봉인",
        "role.capture_timestamp": "원본 봉인 타임스탬프",
        "role.seal": "봉인",
        "role.timestamp": "타임스탬프",
        "role.signature": "기관 전자서명",
        "role.signature_chain": "서명 인증서",
        "sha256": "SHA-256",
        "no_artifacts": "수집된 파일이 없습니다.",
        "paths": "파일 경로는 증거 묶음 폴더 {folder} 기준입니다.",
        "images": "5. 화면 및 미디어 미리보기",
        "images.previews": "피해자와 열람자를 보호하기 위해 흐림 처리한 미리보기만 싣습니다. "
                           "원본은 위 해시로 식별됩니다.",
        "images.originals": "주의: 이 보고서에는 흐림 처리하지 않은 원본 이미지가 포함되어 있습니다 "
                            "(include_originals=True).",
        "images.none": "실을 미리보기 이미지가 없습니다.",
        "image.caption": "{path} (SHA-256 {sha})",
        "image.missing": "{path}: 파일이 없어 싣지 못했습니다.",
        "image.mismatch": "{path}: 파일이 기록된 SHA-256과 달라 싣지 않았습니다.",
        "image.outside": "{path}: 증거 폴더 밖의 경로라 싣지 않았습니다.",
        "image.unsupported": "{path}: 실을 수 없는 형식입니다 ({media_type}).",
        "custody": "6. 증거 보관 기록 (보고서 작성 시점까지)",
        "custody.scope": "이 보고서를 작성하기 직전까지의 보관 기록(Chain of Custody)입니다. 이후의 봉인·서명·"
                         "타임스탬프 기록은 custody.jsonl에 이어서 기록됩니다.",
        "seq": "순번",
        "time": "시각",
        "action": "행위",
        "actor": "행위자",
        "hash_prefix": "해시 (앞 16자리)",
        "custody.none": "보관 기록이 제공되지 않았습니다.",
        "custody.verified": "해시 체인 검증: 정상 ({count}건)",
        "custody.broken": "해시 체인 검증 실패: {problems}",
        "action.captured": "수집",
        "action.capture_sealed": "원본 수집물 봉인",
        "action.capture_timestamped": "원본 봉인 타임스탬프",
        "action.capture_not_timestamped": "원본 봉인 타임스탬프 미취득",
        "action.hashed": "해시 기록",
        "action.sealed": "증거 묶음 봉인",
        "action.signed": "기관 전자서명",
        "action.timestamped": "타임스탬프",
        "action.not_timestamped": "타임스탬프 미취득",
        "action.originals_included": "원본 수록",
        "timestamps": "7. 시점 확인 (RFC 3161 타임스탬프)",
        "timestamps.intro": "이 보고서를 작성하기 전에 받은 타임스탬프입니다. 시점확인기관(TSA)은 아래 SHA-256 값이 "
                            "발급 시각에 이미 존재하였음을 전자서명으로 확인합니다.",
        "timestamps.none": "수집 단계에서는 타임스탬프를 받지 않았습니다.",
        "timestamps.none_reason": "그 사유는 증거 보관 기록(custody.jsonl)의 '{action}' 항목에 적혀 있습니다.",
        "timestamp.heading": "타임스탬프 {number}",
        "timestamp.subject": "확인 대상",
        "timestamp.subject.capture_seal": "원본 수집물 봉인(capture-seal.json)의 SHA-256",
        "timestamp.subject.artifact": "{path}의 SHA-256",
        "timestamp.subject.unknown": "이 증거 묶음의 어느 파일과도 일치하지 않는 SHA-256",
        "tsa": "시점확인기관 (TSA)",
        "digest": "대상 해시 (SHA-256)",
        "timestamp.at_utc": "발급 시각 (UTC)",
        "timestamp.at_local": "발급 시각 (현지)",
        "timestamp.serial": "토큰 일련번호",
        "timestamp.file": "토큰 파일",
        "timestamp.undecodable": "이 토큰은 해석할 수 없어 일련번호를 확인하지 못했습니다. 발급 시각은 수집 기록에 "
                                 "적힌 값입니다.",
        "timestamp.mismatch": "주의: 토큰에 담긴 해시가 수집 기록에 적힌 값({recorded})과 다릅니다. 위 대상 해시는 "
                              "토큰에 담긴 값입니다.",
        "seal_after": "보고서 작성 이후의 봉인 절차",
        "seal_after.note": "이 보고서를 작성한 뒤에는 이 보고서를 포함한 증거 묶음 전체의 파일별 SHA-256을 "
                           "seal.json에 담아 봉인합니다. 요청 기관의 서명 키가 설정되어 있으면 seal.json에 기관 "
                           "전자서명(seal.sig, 인증서 seal.pem)을 하고, 시점확인기관이 설정되어 있으면 "
                           "타임스탬프(seal.tsr)를 다시 받습니다. 각 단계는 증거 보관 기록(custody.jsonl)에 남으므로, "
                           "봉인·서명·타임스탬프 여부는 해당 파일과 custody.jsonl에서 확인할 수 있습니다.",
        "signature": "8. 확인 및 서명",
        "statement": "본 보고서는 위 URL에서 수집한 증거와 각 파일의 SHA-256 해시값, "
                     "수집 및 보관 경위를 기록한 것임을 확인합니다.",
        "operator": "수집자",
        "signer": "작성자",
        "signer_title": "직위",
        "signer.default": "당직 담당자",
        "signer_title.default": "삭제지원 담당자",
        "date": "작성일",
        "sign_here": "서명",
        "footer": "{title} · {bundle}",
    },
    "en": {
        "title": "Digital evidence report",
        "case_number": "Case number",
        "bundle": "Evidence bundle ID",
        "finding": "Finding ID",
        "agency": "Requesting agency",
        "agency_name": "Agency",
        "registration_number": "Registration number",
        "contact": "Contact",
        "address": "Address",
        "error": "Capture error",
        "error_note": "This evidence is incomplete. The capture failed because:",
        "summary": "1. Summary",
        "url": "URL",
        "site": "Site",
        "page_title": "Page title",
        "decision": "Decision",
        "decision.match": "Match (matches the victim's media)",
        "decision.review": "Needs review",
        "decision.clear": "Clear",
        "decision.none": "Not judged",
        "matched": "Matched references (distance)",
        "detections": "Detections",
        "captured_utc": "Captured at (UTC)",
        "captured_local": "Captured at (local time)",
        "urls": "2. URLs",
        "kind": "Kind",
        "kind.page": "Page",
        "kind.final": "Final URL",
        "kind.media": "Media",
        "capture": "3. Capture details",
        "capture.url": "Requested URL",
        "capture.final_url": "Final URL",
        "capture.status": "HTTP status",
        "capture.server_ip": "Server IP address",
        "capture.site": "Site",
        "capture.operator": "Captured by",
        "capture.fetched_at_utc": "Page received at (UTC)",
        "capture.fetched_at_local": "Page received at (local time)",
        "capture.started_at": "Capture started (UTC)",
        "capture.finished_at": "Capture finished (UTC)",
        "capture.time_zone": "Time zone",
        "capture.proxy": "Proxy",
        "capture.content_encoding": "Content encoding",
        "capture.page_html": "Page HTML (page.html)",
        "capture.media_count": "Media captured",
        "capture.warc_records": "WARC records",
        "capture.wacz": "Web archive file (WACZ)",
        "capture.previews_include_originals": "Originals allowed in reports",
        "capture.browser_error": "Browser capture error",
        "capture.tls": "TLS certificate",
        "capture.tls_subject": "Subject",
        "capture.tls_issuer": "Issuer",
        "capture.tls_validity": "Validity",
        "capture.tls_fingerprint": "Fingerprint (SHA-256)",
        "capture.tls_serial": "Serial number",
        "capture.tls_san": "Subject alternative names",
        "capture.tls_version": "TLS version",
        "capture.tls_cipher": "Cipher suite",
        "capture.tls_verified": "Certificate verified",
        "capture.tls_certificate_error": "Certificate error",
        "capture.software": "Capture environment",
        "capture.tool": "Capture tool",
        "capture.takedown_version": "takedown version",
        "capture.takedown_commit": "Source commit",
        "capture.python": "Python",
        "capture.platform": "Operating system",
        "capture.adapter": "HTTP client",
        "capture.user_agent": "User agent sent",
        "capture.browser": "Browser",
        "capture.browser_user_agent": "Browser user agent",
        "capture.browser_final_url": "Browser's final URL",
        "capture.browser_requests": "Browser requests",
        "capture.viewport": "Browser viewport",
        "capture.screenshot_size": "Screenshot size",
        "capture.redirect_chain": "Redirect chain",
        "capture.headers": "Response headers",
        "capture.media_sources": "Media captured",
        "capture.media_skipped": "Media not captured",
        "capture.other": "Other recorded fields",
        "capture.other_field": "Other field ({key})",
        "hop": "Step",
        "header_name": "Header",
        "header_value": "Value",
        "media_file": "Saved as",
        "media_type": "Type",
        "reason": "Reason",
        "yes": "yes",
        "no": "no",
        "pixels": "{width} × {height} pixels",
        "page_html.as_received": "the response body, as received",
        "page_html.decoded": "the response body, {encoding} decoded",
        "page_html.undecodable": "the response body, as received ({encoding} could not be decoded)",
        "skip.limit": "the capture size limit was reached",
        "skip.redirects": "more than {count} redirects",
        "skip.http": "HTTP {status} (recorded in the WARC only)",
        "skip.size": "over the size limit (capture or per item)",
        "skip.blocked": "blocked by the fetch guard: {detail}",
        "skip.timeout": "timed out: {detail}",
        "skip.connect": "could not connect: {detail}",
        "skip.request": "request failed: {detail}",
        "hashes": "4. File hashes (SHA-256)",
        "file": "File",
        "role": "Role",
        "size": "Size (bytes)",
        "role.page_html": "Page HTML",
        "role.media": "Original media",
        "role.warc": "HTTP record (WARC)",
        "role.browser_warc": "Browser record (WARC)",
        "role.screenshot": "Full-page screenshot",
        "role.mhtml": "Page archive (MHTML)",
        "role.wacz": "Web archive (WACZ)",
        "role.preview": "Blurred preview",
        "role.manifest": "Manifest (JSON)",
        "role.report": "Report",
        "role.capture_seal": "Capture seal",
        "role.capture_timestamp": "Capture seal time stamp",
        "role.seal": "Seal",
        "role.timestamp": "Time stamp",
        "role.signature": "Agency signature",
        "role.signature_chain": "Signing certificate",
        "sha256": "SHA-256",
        "no_artifacts": "No files were captured.",
        "paths": "File paths are relative to the bundle's folder, {folder}.",
        "images": "5. Screen and media previews",
        "images.previews": "Only blurred previews are shown, to protect the victim and the reader. "
                           "The originals are identified by their hashes above.",
        "images.originals": "Warning: this report includes unblurred original images (include_originals=True).",
        "images.none": "There are no preview images to show.",
        "image.caption": "{path} (SHA-256 {sha})",
        "image.missing": "{path}: the file is missing; not shown.",
        "image.mismatch": "{path}: the file does not match its recorded SHA-256; not shown.",
        "image.outside": "{path}: a path outside the evidence root; not shown.",
        "image.unsupported": "{path}: a format that cannot be embedded ({media_type}).",
        "custody": "6. Chain of custody (up to this report)",
        "custody.scope": "The chain of custody as it stood just before this report was written. The sealing, "
                         "signing and time-stamping that follow are recorded further on in custody.jsonl.",
        "seq": "No.",
        "time": "Time",
        "action": "Action",
        "actor": "Actor",
        "hash_prefix": "Hash (first 16)",
        "custody.none": "No custody log was provided.",
        "custody.verified": "Hash chain verified ({count} events)",
        "custody.broken": "Hash chain verification FAILED: {problems}",
        "action.captured": "Captured",
        "action.capture_sealed": "Capture sealed",
        "action.capture_timestamped": "Capture seal time-stamped",
        "action.capture_not_timestamped": "Capture seal not time-stamped",
        "action.hashed": "Hashed",
        "action.sealed": "Bundle sealed",
        "action.signed": "Signed by the agency",
        "action.timestamped": "Time-stamped",
        "action.not_timestamped": "Not time-stamped",
        "action.originals_included": "Originals included",
        "timestamps": "7. Trusted time stamps (RFC 3161)",
        "timestamps.intro": "Time stamps taken before this report was written. The time-stamping authority (TSA) "
                            "signs that the SHA-256 below existed at the time it gives.",
        "timestamps.none": "No time stamp was taken at capture.",
        "timestamps.none_reason": "The reason is recorded in the chain of custody (custody.jsonl), event '{action}'.",
        "timestamp.heading": "Time stamp {number}",
        "timestamp.subject": "What was stamped",
        "timestamp.subject.capture_seal": "the SHA-256 of the capture seal (capture-seal.json)",
        "timestamp.subject.artifact": "the SHA-256 of {path}",
        "timestamp.subject.unknown": "a SHA-256 that matches no file of this bundle",
        "tsa": "Time-stamping authority",
        "digest": "Stamped digest (SHA-256)",
        "timestamp.at_utc": "Time stamped (UTC)",
        "timestamp.at_local": "Time stamped (local time)",
        "timestamp.serial": "Token serial number",
        "timestamp.file": "Token file",
        "timestamp.undecodable": "This token cannot be decoded, so its serial number is unknown; the time shown is "
                                 "the one the capture recorded.",
        "timestamp.mismatch": "Warning: the token stamps another digest than the capture recorded ({recorded}); the "
                              "digest shown above is the token's own.",
        "seal_after": "Sealing after this report",
        "seal_after.note": "After this report is written, the whole bundle, this report included, is sealed: seal.json "
                           "lists the SHA-256 of every file. When the agency has a signing key it signs seal.json "
                           "(seal.sig, its certificate chain in seal.pem), and when a time-stamping authority is "
                           "configured it stamps seal.json again (seal.tsr). custody.jsonl records each of these "
                           "steps, so whether the bundle was sealed, signed and stamped is found in those files and "
                           "in custody.jsonl.",
        "signature": "8. Attestation and signature",
        "statement": "I confirm that this report records the evidence captured from the URL above, the SHA-256 of "
                     "every file, and how the evidence was captured and kept.",
        "operator": "Captured by",
        "signer": "Prepared by",
        "signer_title": "Title",
        "signer.default": "Duty Officer",
        "signer_title.default": "Deletion Support Officer",
        "date": "Date",
        "sign_here": "Signature",
        "footer": "{title} · {bundle}",
    },
}
"""The report's labels, one dict per language. A language without a dict falls back to English."""

# A row of the capture details: (label key, the bundle.capture keys that may hold the value, the first non-empty
# one wins; how the value is shown; whether the row is shown, as "—", when no key holds a value).
_Row = tuple[str, tuple[str, ...], str, bool]

_RECEIVED_AT = ("received_at_utc", "fetched_at")

_CAPTURE_MAIN: tuple[_Row, ...] = (
    ("url", ("url", "requested_url"), "text", True),
    ("final_url", ("final_url",), "text", True),
    ("status", ("status", "http_status"), "text", True),
    ("server_ip", ("server_ip", "ip", "remote_ip"), "mono", True),
    ("site", ("site",), "text", True),
    ("operator", ("operator",), "text", True),
    ("fetched_at_utc", _RECEIVED_AT, "utc", True),
    ("fetched_at_local", _RECEIVED_AT, "local", True),
    ("started_at", ("captured_at_utc",), "utc", False),
    ("finished_at", ("finished_at_utc",), "utc", False),
    ("time_zone", ("time_zone",), "text", False),
    ("proxy", ("proxy",), "text", False),
    ("content_encoding", ("content_encoding",), "text", False),
    ("page_html", ("page_html",), "page_html", False),
    ("media_count", ("media_count",), "number", False),
    ("warc_records", ("warc_records",), "number", False),
    ("wacz", ("wacz",), "text", False),
    ("previews_include_originals", ("previews_include_originals",), "bool", False),
    ("browser_error", ("browser_error",), "text", False),
)
_CAPTURE_TLS: tuple[_Row, ...] = (
    ("tls_subject", ("tls_subject",), "text", True),
    ("tls_issuer", ("tls_issuer",), "text", True),
    ("tls_validity", ("tls_validity",), "validity", True),
    ("tls_fingerprint", ("tls_sha256", "tls_fingerprint_sha256", "tls_fingerprint"), "mono", True),
    ("tls_serial", ("tls_serial",), "mono", False),
    ("tls_san", ("tls_san",), "text", False),
    ("tls_version", ("tls_version",), "text", False),
    ("tls_cipher", ("tls_cipher",), "text", False),
    ("tls_verified", ("tls_verified",), "bool", False),
    ("tls_certificate_error", ("tls_certificate_error",), "text", False),
)
_CAPTURE_SOFTWARE: tuple[_Row, ...] = (
    ("tool", ("tool",), "text", True),
    ("takedown_version", ("takedown_version",), "text", False),
    ("takedown_commit", ("takedown_commit",), "mono", False),
    ("python", ("python",), "text", False),
    ("platform", ("platform",), "text", False),
    ("adapter", ("adapter",), "text", False),
    ("user_agent", ("user_agent",), "text", True),
    ("browser", ("browser", "browser_version"), "text", True),
    ("browser_user_agent", ("browser_user_agent",), "text", False),
    ("browser_final_url", ("browser_final_url",), "text", False),
    ("browser_requests", ("browser_requests",), "number", False),
    ("viewport", ("viewport",), "pixels", False),
    ("screenshot_size", ("screenshot_size",), "pixels", False),
)
_TLS_FROM = ("tls_not_before", "tls_valid_from")
_TLS_TO = ("tls_not_after", "tls_valid_to")
_REDIRECTS = ("redirect_chain", "redirects")

# Machine data a reader has no use for on paper: kept in the bundle's record (and the PDF's attached record).
_NOT_SHOWN = frozenset({"media_regions", "captured_at_local"})

# Bidirectional controls and invisible marks that could make text read differently from what it holds.
_SPOOFING = frozenset("\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")


class ReportWriterConfig(BaseModel):
    """How the HWPX, HWP and PDF writers build a report: one frozen config, passed to the writer's constructor.

    Custody events are read from ``custody_file`` in the bundle folder (``out``), one ``CustodyEvent`` as JSON
    per line, when that file exists; without it the report says no custody log was provided.
    """

    model_config = _Frozen

    agency: AgencySettings = Field(default_factory=AgencySettings)
    include_originals: bool = Field(
        default=False,
        description="embed unblurred originals instead of previews (a court's request; the report says so)",
    )
    language: str | None = Field(default=None, description="the report's language; default: the agency's")
    custody_file: str = Field(default=CUSTODY_FILE, description="the custody log's file name inside the bundle folder")
    signing: SigningSettings | None = Field(
        default=None,
        description="the agency's key and certificate: the PDF writer signs its report with them (PAdES) when a "
        "key is set; the Hangul writers ignore it",
    )


class ReportField(BaseModel):
    """One labelled value (a row of a two-column table)."""

    model_config = _Frozen

    label: str
    value: str
    mono: bool = Field(default=False, description="a hash or an id: set in a monospace font where possible")


class ReportTable(BaseModel):
    """A table with a header row; ``weights`` are the columns' relative widths."""

    model_config = _Frozen

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()
    weights: tuple[int, ...]
    mono: tuple[bool, ...] = Field(description="per column: set in a monospace font")


class ReportImage(BaseModel):
    """An image to embed, read once and checked against its artifact's SHA-256 (``data`` is those bytes)."""

    model_config = _Frozen

    path: str = Field(description="the artifact's path, relative to the evidence root")
    role: str
    sha256: str
    caption: str
    format: str = Field(description="png, jpg, gif or bmp")
    media_type: str
    width_px: int = Field(gt=0)
    height_px: int = Field(gt=0)
    width_mm: float = Field(gt=0, description="shown this wide: the image fills a box of 110 x 85 mm, aspect kept")
    height_mm: float = Field(gt=0)
    data: bytes = Field(repr=False)


class ReportSection(BaseModel):
    """One section of the report, in the order every writer lays them out."""

    model_config = _Frozen

    key: str
    heading: str
    fields: tuple[ReportField, ...] = ()
    table: ReportTable | None = None
    images: tuple[ReportImage, ...] = ()
    notes: tuple[str, ...] = ()
    alert: bool = Field(default=False, description="show prominently (a capture error, unblurred originals)")
    signature_line: bool = Field(default=False, description="end with a blank line to sign on")
    level: int = Field(default=1, ge=1, le=2, description="1: a numbered section; 2: a part of the one before it")


class ReportContent(BaseModel):
    """A neutral description of one evidence report: what it says, not how it looks."""

    model_config = _Frozen

    language: str
    title: str
    case_number: str
    bundle_id: str
    finding_id: str
    time_zone: str
    captured_at: datetime = Field(description="the bundle's capture time, UTC: the report's fixed document date")
    header: tuple[ReportField, ...]
    agency: tuple[ReportField, ...]
    error: str | None = None
    error_note: str = ""
    summary: tuple[ReportField, ...]
    urls: ReportTable
    capture: tuple[ReportField, ...]
    capture_details: tuple[ReportSection, ...] = Field(
        default=(), description="the capture's parts: TLS certificate, environment, redirects, headers, media"
    )
    hashes: ReportTable
    hash_notes: tuple[str, ...] = ()
    images: tuple[ReportImage, ...] = ()
    originals_included: bool = False
    image_notes: tuple[str, ...] = ()
    custody: ReportTable
    custody_notes: tuple[str, ...] = ()
    timestamps: tuple[ReportSection, ...] = Field(
        default=(), description="one part per time stamp taken before the report, then what is sealed after it"
    )
    timestamp_notes: tuple[str, ...] = ()
    statement: str
    signature: tuple[ReportField, ...]
    footer: str
    preview: str = Field(default="", description="what the report is, in a few lines (title, case, URL, decision, "
                         "bundle): the preview text a file browser shows before the report is opened")
    labels: Mapping[str, str] = Field(repr=False)

    @property
    def sections(self) -> tuple[ReportSection, ...]:
        """The report's sections in layout order (after the title and the header fields)."""
        label = self.labels
        out: list[ReportSection] = []
        if self.error is not None:
            out.append(ReportSection(key="error", heading=label["error"], notes=(self.error_note, self.error),
                                     alert=True))
        out += [
            ReportSection(key="agency", heading=label["agency"], fields=self.agency),
            ReportSection(key="summary", heading=label["summary"], fields=self.summary),
            ReportSection(key="urls", heading=label["urls"], table=self.urls),
            ReportSection(key="capture", heading=label["capture"], fields=self.capture),
            *self.capture_details,
            ReportSection(key="hashes", heading=label["hashes"], table=self.hashes, notes=self.hash_notes),
            ReportSection(key="images", heading=label["images"], images=self.images, notes=self.image_notes,
                          alert=self.originals_included),
            ReportSection(key="custody", heading=label["custody"], table=self.custody, notes=self.custody_notes),
            ReportSection(key="timestamps", heading=label["timestamps"], notes=self.timestamp_notes),
            *self.timestamps,
            ReportSection(key="signature", heading=label["signature"], fields=self.signature,
                          notes=(self.statement,), signature_line=True),
        ]
        return tuple(out)

    def text(self) -> str:
        """Every string of the report in layout order, one per line: what a reader of any rendering must find."""
        lines = [self.title, *(f"{f.label}: {f.value}" for f in self.header)]
        for section in self.sections:
            lines.append(section.heading)
            lines += section.notes
            lines += [f"{f.label}: {f.value}" for f in section.fields]
            if section.table is not None:
                lines += [" | ".join(row) for row in (section.table.columns, *section.table.rows)]
            lines += [image.caption for image in section.images]
        lines.append(self.footer)
        return "\n".join(lines)


def report_language(language: str | None, agency: AgencySettings) -> str:
    """The language a report is written in: ``language``, else the agency's; one with no strings is English."""
    wanted = (language or agency.language or "en").replace("_", "-").split("-")[0].lower()
    return wanted if wanted in REPORT_STRINGS else "en"


def one_line(value: object) -> str:
    """``value`` as one line of visible text: control and bidi characters become escapes such as ``\\n``."""
    text = str(value)
    out: list[str] = []
    for char in text:
        if char in "\r\n\t":
            out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t"}[char])
        elif char in _SPOOFING or unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn"):
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    return "".join(out)


def _value(value: str | None) -> str:
    return one_line(value) if value else DASH


def read_custody_file(path: Path) -> tuple[CustodyEvent, ...]:
    """The custody events of an exported custody log (``export_custody``); none when the file does not exist.

    Raises:
        EvidenceError: the file cannot be read, or a line is not a custody event.
    """
    if not path.is_file():
        return ()
    return tuple(load_custody(path))


class _Formatter:
    """Dates and numbers in the report's language and the agency's time zone."""

    def __init__(self, language: str, time_zone: str) -> None:
        try:
            self.locale = Locale.parse(language)
        except (UnknownLocaleError, ValueError):
            self.locale = Locale.parse("en")
        self.zone = ZoneInfo(time_zone)

    @staticmethod
    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def local(self, moment: datetime) -> str:
        # A 24-hour clock with the zone's localised name: no AM/PM for a reader to misread.
        zone_name = format_datetime(moment, "zzzz", tzinfo=self.zone, locale=self.locale)
        return f"{self.short(moment)} {zone_name} ({self.zone.key})"

    def short(self, moment: datetime) -> str:
        return format_datetime(moment, "yyyy-MM-dd HH:mm:ss", tzinfo=self.zone, locale=self.locale)

    def date(self, moment: datetime) -> str:
        return format_date(moment.astimezone(self.zone).date(), "long", locale=self.locale)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)


_SUBSECTION_KO = "가나다라마바사아자차카타파하"

# The reasons capture.py gives for media it did not capture, read back to be shown in the report's language.
_SKIP_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"the capture size limit was reached"), "skip.limit"),
    (re.compile(r"more than (?P<count>\d+) redirects"), "skip.redirects"),
    (re.compile(r"HTTP (?P<status>\d+) \(recorded in the WARC only\)"), "skip.http"),
    (re.compile(r"over the size limit \(capture or per item\)"), "skip.size"),
    (re.compile(r"blocked by the fetch guard: (?P<detail>.*)", re.S), "skip.blocked"),
    (re.compile(r"timed out (?P<detail>.*)", re.S), "skip.timeout"),
    (re.compile(r"could not connect: (?P<detail>.*)", re.S), "skip.connect"),
    (re.compile(r"request failed: (?P<detail>.*)", re.S), "skip.request"),
)
_PAGE_HTML: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"the response body, as received"), "page_html.as_received"),
    (re.compile(r"the response body, (?P<encoding>\S+) decoded"), "page_html.decoded"),
    (re.compile(r"the response body, as received \((?P<encoding>\S+) could not be decoded\)"),
     "page_html.undecodable"),
)


def _subheading(language: str, parent: int, index: int, name: str) -> str:
    """A part's heading, numbered under its section: 가. 나. 다. in Korean, as official documents number them;
    3.1, 3.2 otherwise."""
    if language == "ko" and index < len(_SUBSECTION_KO):
        return f"{_SUBSECTION_KO[index]}. {name}"
    return f"{parent}.{index + 1} {name}"


def _moment(value: str) -> datetime | None:
    """An ISO 8601 time with its offset; ``None`` for anything else (a naive time is shown as recorded)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _translated(text: str, patterns: Sequence[tuple[re.Pattern[str], str]], label: Mapping[str, str]) -> str:
    """``text`` (a phrase takedown itself recorded) in the report's language; anything else as it is."""
    for pattern, key in patterns:
        if match := pattern.fullmatch(text.strip()):
            return one_line(label[key].format(**match.groupdict()))
    return one_line(text)


class _Capture:
    """The capture record as the report shows it: every key is read at most once, so a key that no row shows is
    listed among the other fields, under a translated label, and never silently dropped."""

    def __init__(self, capture: Mapping[str, str], label: Mapping[str, str], fmt: _Formatter, folder: str) -> None:
        self.capture, self.label, self.fmt, self.folder = capture, label, fmt, folder
        self.used: set[str] = set(_NOT_SHOWN)

    def first(self, keys: Sequence[str]) -> str | None:
        self.used.update(keys)
        return next((self.capture[key] for key in keys if self.capture.get(key)), None)

    def show(self, raw: str, how: str) -> str:
        label = self.label
        if how in ("utc", "local"):
            moment = _moment(raw)
            if moment is not None:
                return self.fmt.utc(moment) if how == "utc" else self.fmt.local(moment)
        elif how == "number" and raw.strip().isdigit():
            return self.fmt.number(int(raw))
        elif how == "bool" and raw.strip().lower() in ("true", "false"):
            return label["yes"] if raw.strip().lower() == "true" else label["no"]
        elif how == "pixels" and (size := re.fullmatch(r"(\d+)x(\d+)", raw.strip())):
            return label["pixels"].format(width=size[1], height=size[2])
        elif how == "page_html":
            return _translated(raw, _PAGE_HTML, label)
        return one_line(raw)

    def validity(self, keys: Sequence[str]) -> str | None:
        if (raw := self.first(keys)) is not None:
            return one_line(raw)
        start, end = self.first(_TLS_FROM), self.first(_TLS_TO)
        if not start and not end:
            return None
        return " ~ ".join(self.show(value, "utc") if value else DASH for value in (start, end))

    def fields(self, rows: Sequence[_Row]) -> tuple[ReportField, ...]:
        out: list[ReportField] = []
        for key, keys, how, always in rows:
            if key == "tls_validity":
                value = self.validity(keys)
            else:
                raw = self.first(keys)
                value = self.show(raw, how) if raw else None
            if value is not None or always:
                out.append(ReportField(label=self.label[f"capture.{key}"], value=value or DASH, mono=how == "mono"))
        return tuple(out)

    def redirects(self) -> ReportTable | None:
        raw = self.first(_REDIRECTS)
        if not raw:
            return None
        parsed = _json(raw)
        hops: list[tuple[str, str]] = []
        if isinstance(parsed, list):
            for hop in parsed:
                if isinstance(hop, dict):
                    hops.append((one_line(hop.get("url", DASH)), one_line(hop.get("status", DASH))))
                else:
                    hops.append((one_line(hop), DASH))
        else:
            hops = [(one_line(line.strip()), DASH) for line in raw.splitlines() if line.strip()]
        label = self.label
        return ReportTable(columns=(label["hop"], label["url"], label["capture.status"]),
                           rows=tuple((str(n), url, status) for n, (url, status) in enumerate(hops, start=1)),
                           weights=(8, 74, 18), mono=(False, False, False)) if hops else None

    def headers(self) -> ReportTable | str | None:
        """The response headers as a table of names and values; the raw text when it is not a list of pairs."""
        raw = self.first(("headers",))
        if not raw:
            return None
        parsed = _json(raw)
        pairs: list[tuple[str, str]] = []
        if isinstance(parsed, dict):
            pairs = [(str(k), str(v)) for k, v in parsed.items()]
        elif isinstance(parsed, list) and all(isinstance(p, list) and len(p) == 2 for p in parsed):
            pairs = [(str(p[0]), str(p[1])) for p in parsed]
        else:
            return one_line(raw)
        return ReportTable(columns=(self.label["header_name"], self.label["header_value"]),
                           rows=tuple((one_line(k), one_line(v)) for k, v in pairs), weights=(28, 72),
                           mono=(False, False))

    def _records(self, key: str) -> list[dict[str, object]] | str | None:
        raw = self.first((key,))
        if not raw:
            return None
        parsed = _json(raw)
        if isinstance(parsed, list) and all(isinstance(item, dict) for item in parsed):
            return parsed
        return one_line(raw)

    def media_sources(self) -> ReportTable | str | None:
        records = self._records("media_sources")
        if not isinstance(records, list):
            return records
        rows = []
        for item in records:
            url, final = str(item.get("url", "")), str(item.get("final_url", ""))
            shown = f"{url} → {final}" if final and final != url else url
            rows.append((one_line(shown) or DASH, _in_bundle(str(item.get("path", "")), self.folder) or DASH,
                         one_line(item.get("media_type", "")) or DASH))
        label = self.label
        return ReportTable(columns=(label["url"], label["media_file"], label["media_type"]), rows=tuple(rows),
                           weights=(55, 30, 15), mono=(False, False, False))

    def media_skipped(self) -> ReportTable | str | None:
        records = self._records("media_skipped")
        if not isinstance(records, list):
            return records
        rows = tuple((one_line(item.get("url", "")) or DASH,
                      _translated(str(item.get("reason", "")), _SKIP_REASONS, self.label) or DASH) for item in records)
        return ReportTable(columns=(self.label["url"], self.label["reason"]), rows=rows, weights=(55, 45),
                           mono=(False, False))

    def others(self) -> tuple[ReportField, ...]:
        return tuple(ReportField(label=self.label["capture.other_field"].format(key=one_line(key)),
                                 value=_value(self.capture[key]))
                     for key in sorted(set(self.capture) - self.used))


def _json(value: str) -> object:
    try:
        return json.loads(value)
    except ValueError:
        return None


def _capture_sections(
    capture: Mapping[str, str], label: Mapping[str, str], fmt: _Formatter, folder: str, language: str
) -> tuple[tuple[ReportField, ...], tuple[ReportSection, ...]]:
    """The capture section's own rows, and its parts: the TLS certificate, the capture environment, then (when the
    capture recorded them) the redirect chain, the response headers, the media captured and not captured, and any
    field this report has no row for. Machine data (``media_regions``) is left to the bundle's record."""
    view = _Capture(capture, label, fmt, folder)
    main = view.fields(_CAPTURE_MAIN)
    parts: list[tuple[str, tuple[ReportField, ...], ReportTable | str | None]] = [
        ("tls", view.fields(_CAPTURE_TLS), None),
        ("software", view.fields(_CAPTURE_SOFTWARE), None),
        ("redirect_chain", (), view.redirects()),
        ("headers", (), view.headers()),
        ("media_sources", (), view.media_sources()),
        ("media_skipped", (), view.media_skipped()),
    ]
    parts.append(("other", view.others(), None))
    sections: list[ReportSection] = []
    for key, fields, shown in parts:
        if not fields and shown is None:
            continue
        table = shown if isinstance(shown, ReportTable) else None
        notes = (shown,) if isinstance(shown, str) else ()
        sections.append(ReportSection(key=f"capture.{key}", level=2, fields=fields, table=table, notes=notes,
                                      heading=_subheading(language, 3, len(sections), label[f"capture.{key}"])))
    return main, tuple(sections)



def _matched(finding: Finding) -> str:
    matches = sorted({
        f"{d.matched.bank}/{reference_id(d.matched.reference)} ({d.matched.algorithm} {d.matched.distance:g})"
        for d in finding.detections if d.matched is not None
    })
    return "; ".join(one_line(m) for m in matches) or DASH


def _in_bundle(path: str, folder: str) -> str:
    """An artifact's path shown relative to its bundle's folder (``case/bundle/``) when it lies inside it."""
    return one_line(path.removeprefix(folder) if path.startswith(folder) else path)


def _image(artifact: Artifact, root: Path, label: Mapping[str, str],
           folder: str) -> tuple[ReportImage | None, str | None]:
    """The artifact as an embeddable image, or ``(None, why not)``."""
    values = {"path": _in_bundle(artifact.path, folder), "sha": artifact.sha256[:16],
              "media_type": one_line(artifact.media_type)}
    path = root / artifact.path
    try:
        if not path.resolve().is_relative_to(root.resolve()):  # a recorded path never leads out of the root
            return None, label["image.outside"].format(**values)
        data = path.read_bytes()
    except OSError:
        return None, label["image.missing"].format(**values)
    if hashlib.sha256(data).hexdigest() != artifact.sha256:
        return None, label["image.mismatch"].format(**values)
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as picture:
            kind, (width, height) = picture.format or "", picture.size
    except Exception:  # Pillow raises many types (and warnings, as errors under pytest) for unreadable files
        return None, label["image.unsupported"].format(**values)
    if kind not in _EMBEDDABLE or width <= 0 or height <= 0:
        return None, label["image.unsupported"].format(**values)
    fmt, media_type = _EMBEDDABLE[kind]
    scale = min(_IMAGE_BOX_MM[0] / width, _IMAGE_BOX_MM[1] / height)
    return ReportImage(path=artifact.path, role=artifact.role, sha256=artifact.sha256,
                       caption=label["image.caption"].format(**values), format=fmt, media_type=media_type,
                       width_px=width, height_px=height, width_mm=round(width * scale, 1),
                       height_mm=round(height * scale, 1), data=data), None


def _stamp_fields(token: TimestampToken, index: int, artifacts: Mapping[str, Artifact], label: Mapping[str, str],
                  fmt: _Formatter, folder: str, language: str) -> ReportSection:
    """One time stamp taken before the report: what it stamps, when (from the signed token), by whom, its serial."""
    notes: list[str] = []
    digest, at, serial = token.digest_sha256, token.at, DASH
    try:
        info = decode_token(token).tst_info
    except EvidenceError:
        notes.append(label["timestamp.undecodable"])
    else:
        digest, at, serial = info.message_imprint.message.hex(), info.gen_time, f"0x{info.serial_number:02X}"
        if digest != token.digest_sha256.lower():
            notes.append(label["timestamp.mismatch"].format(recorded=one_line(token.digest_sha256)))
    stamped = artifacts.get(digest)
    if stamped is None:
        subject = label["timestamp.subject.unknown"]
    elif stamped.role == "capture_seal":
        subject = label["timestamp.subject.capture_seal"]
    else:
        subject = label["timestamp.subject.artifact"].format(path=_in_bundle(stamped.path, folder))
    fields = [
        ReportField(label=label["timestamp.subject"], value=subject),
        ReportField(label=label["digest"], value=one_line(digest), mono=True),
        ReportField(label=label["timestamp.at_utc"], value=fmt.utc(at)),
        ReportField(label=label["timestamp.at_local"], value=fmt.local(at)),
        ReportField(label=label["tsa"], value=_value(token.tsa_url)),
        ReportField(label=label["timestamp.serial"], value=serial, mono=serial != DASH),
    ]
    try:
        token_file = artifacts.get(hashlib.sha256(base64.b64decode(token.token_der_b64, validate=True)).hexdigest())
    except ValueError:
        token_file = None
    if token_file is not None:
        fields.append(ReportField(label=label["timestamp.file"], value=_in_bundle(token_file.path, folder)))
    return ReportSection(key="timestamps.token", level=2, fields=tuple(fields), notes=tuple(notes),
                         heading=_subheading(language, 7, index, label["timestamp.heading"].format(number=index + 1)))


def _stamp_sections(bundle: EvidenceBundle, custody: Sequence[CustodyEvent], label: Mapping[str, str],
                    fmt: _Formatter, folder: str, language: str) -> tuple[tuple[str, ...], tuple[ReportSection, ...]]:
    """The time-stamp section's notes and parts: each token the bundle holds when the report is written (the capture
    seal's, in the usual flow), then what is sealed, signed and stamped after the report, and where that is recorded.
    """
    artifacts = {artifact.sha256: artifact for artifact in bundle.artifacts}
    parts = [_stamp_fields(token, n, artifacts, label, fmt, folder, language)
             for n, token in enumerate(bundle.timestamps)]
    if parts:
        notes: tuple[str, ...] = (label["timestamps.intro"],)
    else:
        notes = (label["timestamps.none"],)
        why = next((e.action for e in custody if e.action in ("capture_not_timestamped", "not_timestamped")), None)
        if why is not None:
            notes += (label["timestamps.none_reason"].format(action=_action(why, label)),)
    parts.append(ReportSection(key="timestamps.after", level=2, notes=(label["seal_after.note"],),
                               heading=_subheading(language, 7, len(parts), label["seal_after"])))
    return notes, tuple(parts)


def _action(action: str, label: Mapping[str, str]) -> str:
    """A custody event's action in the report's language (an action takedown does not record: as it is)."""
    return label.get(f"action.{action}") or one_line(action)


def _signer(agency: AgencySettings, label: Mapping[str, str]) -> tuple[str, str]:
    """Who signs and their title: the agency's own, or (while they are still the English defaults) the role in the
    report's language."""
    defaults = AgencySettings.model_fields
    name = label["signer.default"] if agency.signer == defaults["signer"].default else agency.signer
    title = label["signer_title.default"] if agency.signer_title == defaults["signer_title"].default else (
        agency.signer_title)
    return _value(name), _value(title)


def build_report_content(
    bundle: EvidenceBundle,
    finding: Finding,
    *,
    root: Path,
    agency: AgencySettings,
    custody: Sequence[CustodyEvent] = (),
    language: str | None = None,
    include_originals: bool = False,
) -> ReportContent:
    """Describe the evidence report for ``bundle``: every string formatted, every image read and checked.

    Args:
        bundle: the bundle as captured and capture-sealed (its time stamps are those taken before the report);
            its artifacts' paths are relative to ``root``.
        finding: the finding the bundle is evidence of.
        root: the evidence root, where the artifacts' files lie.
        agency: who is asking (name, registration number, contact, signer) and its time zone and language.
        custody: the bundle's custody events, in order (shown with a hash-chain check); none if not given.
        language: the report's language (``ko``, ``en``); default: the agency's; others fall back to English.
        include_originals: embed the unblurred originals (roles ``media``, ``screenshot``) instead of previews.

    Returns:
        The same content for the same input: no clock is read, dates come from the bundle and the events.
    """
    lang = report_language(language, agency)
    folder = f"{bundle.case_id}/{bundle.id}/"
    label = REPORT_STRINGS[lang]
    fmt = _Formatter(lang, agency.time_zone)
    candidate = finding.candidate

    decision = label[f"decision.{finding.decision.value}"] if finding.decision else label["decision.none"]
    summary = (
        ReportField(label=label["url"], value=_value(candidate.url)),
        ReportField(label=label["site"], value=_value(candidate.site)),
        ReportField(label=label["page_title"], value=_value(candidate.title)),
        ReportField(label=label["decision"], value=decision),
        ReportField(label=label["matched"], value=_matched(finding)),
        ReportField(label=label["detections"], value=fmt.number(len(finding.detections))),
        ReportField(label=label["captured_utc"], value=fmt.utc(bundle.captured_at)),
        ReportField(label=label["captured_local"], value=fmt.local(bundle.captured_at)),
    )

    url_rows: list[tuple[str, str]] = [(label["kind.page"], one_line(candidate.url))]
    final_url = bundle.capture.get("final_url") or (finding.page.final_url if finding.page else "")
    if final_url and final_url != candidate.url:
        url_rows.append((label["kind.final"], one_line(final_url)))
    url_rows += [(label["kind.media"], one_line(media.url)) for media in finding.media]
    urls = ReportTable(columns=(label["kind"], label["url"]), rows=tuple(url_rows), weights=(1, 5),
                       mono=(False, False))

    hashes = ReportTable(
        columns=(label["file"], label["role"], label["size"], label["sha256"]),
        rows=tuple((_in_bundle(a.path, folder), label.get(f"role.{a.role}") or one_line(a.role), fmt.number(a.size),
                    a.sha256) for a in bundle.artifacts),
        # The SHA-256 column fits a whole hash on one line in both layouts (monospaced, 7 pt).
        weights=(25, 20, 15, 60), mono=(False, False, False, True),
    )

    hash_notes = (label["paths"].format(folder=one_line(folder)),) if bundle.artifacts else (label["no_artifacts"],)

    wanted = ORIGINAL_ROLES if include_originals else frozenset({PREVIEW_ROLE})
    images: list[ReportImage] = []
    image_notes: list[str] = [label["images.originals"] if include_originals else label["images.previews"]]
    for artifact in bundle.artifacts:
        if artifact.role not in wanted:
            continue
        image, why_not = _image(artifact, root, label, folder)
        if image is not None:
            images.append(image)
        elif why_not is not None:
            image_notes.append(why_not)
    if not images:
        image_notes.append(label["images.none"])

    custody_table = ReportTable(
        columns=(label["seq"], f"{label['time']} ({agency.time_zone})", label["action"], label["actor"],
                 label["hash_prefix"]),
        rows=tuple((str(e.seq), fmt.short(e.at), _action(e.action, label), one_line(e.actor), e.hash[:16])
                   for e in custody),
        weights=(6, 20, 22, 18, 20), mono=(False, False, False, False, True),
    )
    if not custody:
        custody_notes: tuple[str, ...] = (label["custody.none"],)
    else:
        problems = verify_chain(list(custody))
        custody_notes = (label["custody.scope"],
                         label["custody.verified"].format(count=len(custody)) if not problems else
                         label["custody.broken"].format(problems="; ".join(problems)))

    stamp_notes, stamps = _stamp_sections(bundle, custody, label, fmt, folder, lang)
    capture, capture_details = _capture_sections(bundle.capture, label, fmt, folder, lang)
    signer, signer_title = _signer(agency, label)
    operator = bundle.capture.get("operator")
    captured_by = (ReportField(label=label["operator"], value=one_line(operator)),) if operator else ()

    contact = " / ".join(one_line(v) for v in (agency.email, agency.phone) if v) or DASH
    title = label["title"]
    preview = "\r\n".join((title, *(f"{field.label}: {field.value}" for field in (
        ReportField(label=label["case_number"], value=_value(bundle.case_id)), summary[0], summary[3],
        ReportField(label=label["bundle"], value=bundle.id),
    )))) + "\r\n"
    return ReportContent(
        language=lang,
        title=title,
        case_number=bundle.case_id,
        bundle_id=bundle.id,
        finding_id=finding.id,
        time_zone=agency.time_zone,
        captured_at=bundle.captured_at.astimezone(UTC),
        header=(
            ReportField(label=label["case_number"], value=_value(bundle.case_id), mono=True),
            ReportField(label=label["bundle"], value=bundle.id, mono=True),
            ReportField(label=label["finding"], value=finding.id, mono=True),
        ),
        agency=(
            ReportField(label=label["agency_name"], value=_value(agency.name)),
            ReportField(label=label["registration_number"], value=_value(agency.registration_number)),
            ReportField(label=label["contact"], value=contact),
            ReportField(label=label["address"], value=_value(agency.address)),
        ),
        error=one_line(bundle.error) if bundle.error is not None else None,
        error_note=label["error_note"],
        summary=summary,
        urls=urls,
        capture=capture,
        capture_details=capture_details,
        hashes=hashes,
        hash_notes=hash_notes,
        images=tuple(images),
        originals_included=include_originals,
        image_notes=tuple(image_notes),
        custody=custody_table,
        custody_notes=custody_notes,
        timestamps=stamps,
        timestamp_notes=stamp_notes,
        statement=label["statement"],
        signature=(
            *captured_by,
            ReportField(label=label["signer"], value=signer),
            ReportField(label=label["signer_title"], value=signer_title),
            ReportField(label=label["date"], value=fmt.date(bundle.captured_at)),
            ReportField(label=label["sign_here"], value=""),
        ),
        footer=label["footer"].format(title=title, bundle=bundle.id),
        preview=preview,
        labels=dict(label),
    )


def content_for(config: ReportWriterConfig, bundle: EvidenceBundle, finding: Finding, *, out: Path,
                root: Path) -> ReportContent:
    """The report content a writer configured by ``config`` renders for ``bundle`` in the folder ``out``.

    The custody events come from ``out / config.custody_file`` when that file exists.

    Raises:
        EvidenceError: the custody log cannot be read.
    """
    return build_report_content(
        bundle, finding, root=root, agency=config.agency, custody=read_custody_file(out / config.custody_file),
        language=config.language, include_originals=config.include_originals,
    )


def write_report_file(data: bytes, path: Path, *, root: Path, media_type: str, plugin: str, url: str) -> Artifact:
    """Write a rendered report atomically and return it as a sealed artifact of role ``report``.

    The artifact's ``created_at`` is left to its default: the file's bytes, not the record, are what stay the
    same for the same input.

    Raises:
        EvidenceError: the file cannot be written.
    """
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise EvidenceError(f"cannot write {path}: {exc}", plugin=plugin, url=url) from exc
    return Artifact(path=path.relative_to(root).as_posix(), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                    media_type=media_type, role="report")
