"""What a court-ready evidence report says, built once and rendered by every report writer.

``build_report_content`` turns a bundle, its finding, the agency's settings and the custody log into a
``ReportContent``: plain strings in the report's language, already formatted (dates in the agency's time zone
with Babel, sizes, decisions), with the images to embed read and checked against their recorded SHA-256. The
HWPX, HWP and PDF writers only lay it out, so the three files say exactly the same thing.

Text that came from the web (page titles, URLs, capture metadata) is untrusted: control characters and
bidirectional overrides are shown as visible escapes (``\\r``, ``\\n``, ``\\u202e``), so a hostile title can
neither break a line of the report nor forge a field; markup stays text because every writer escapes it.

Human-facing reports show blurred previews by default: only artifacts of role ``preview`` are embedded. The
originals (roles ``media`` and ``screenshot``) are embedded only when ``include_originals`` is set, and the
report then says so in its images section.
"""

from __future__ import annotations

import hashlib
import io
import json
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
from takedown.evidence.custody import CUSTODY_FILE, load_custody, verify_chain
from takedown.models import Artifact, CustodyEvent, EvidenceBundle, Finding
from takedown.settings import AgencySettings
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
        "capture.redirect_chain": "리디렉션 경로",
        "capture.status": "HTTP 상태",
        "capture.server_ip": "서버 IP",
        "capture.tls_subject": "TLS 인증서 주체",
        "capture.tls_issuer": "TLS 인증서 발급자",
        "capture.tls_validity": "TLS 인증서 유효기간",
        "capture.tls_fingerprint": "TLS 인증서 지문 (SHA-256)",
        "capture.tool": "수집 도구",
        "capture.operator": "수집자",
        "capture.browser": "브라우저",
        "capture.user_agent": "User-Agent",
        "capture.fetched_at": "페이지 수신 시각",
        "capture.site": "사이트",
        "capture.extra.captured_at_utc": "수집 시작 (UTC)",
        "capture.extra.captured_at_local": "수집 시작 (현지)",
        "capture.extra.finished_at_utc": "수집 종료 (UTC)",
        "capture.extra.time_zone": "시간대",
        "capture.extra.adapter": "HTTP 클라이언트",
        "capture.extra.proxy": "프록시",
        "capture.extra.headers": "응답 헤더",
        "capture.extra.content_encoding": "콘텐츠 인코딩",
        "capture.extra.page_html": "페이지 HTML",
        "capture.extra.media_count": "미디어 수",
        "capture.extra.media_skipped": "수집하지 못한 미디어",
        "capture.extra.warc_records": "WARC 레코드 수",
        "capture.extra.tls_serial": "TLS 인증서 일련번호",
        "capture.extra.tls_verified": "TLS 인증서 검증",
        "capture.extra.tls_certificate_error": "TLS 인증서 오류",
        "capture.extra.browser_error": "브라우저 오류",
        "capture.extra.browser_final_url": "브라우저 최종 URL",
        "capture.extra.viewport": "화면 크기",
        "capture.extra.screenshot_size": "스크린샷 크기",
        "capture.extra.media_regions": "미디어 영역",
        "capture.extra.previews_include_originals": "원본 포함 허용",
        "hashes": "4. 파일 해시 (SHA-256)",
        "file": "파일",
        "role": "종류",
        "size": "크기 (바이트)",
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
        "custody": "6. 증거 보관 기록 (Chain of Custody)",
        "seq": "순번",
        "time": "시각",
        "action": "행위",
        "actor": "행위자",
        "hash_prefix": "해시 (앞 16자리)",
        "custody.none": "보관 기록이 제공되지 않았습니다.",
        "custody.verified": "해시 체인 검증: 정상 ({count}건)",
        "custody.broken": "해시 체인 검증 실패: {problems}",
        "timestamps": "7. 시점 확인 (RFC 3161 타임스탬프)",
        "tsa": "시점확인기관 (TSA)",
        "digest": "대상 해시 (SHA-256)",
        "timestamps.none": "타임스탬프가 없습니다.",
        "signature": "8. 확인 및 서명",
        "statement": "본 보고서는 위 URL에서 수집한 증거와 각 파일의 SHA-256 해시값, "
                     "수집 및 보관 경위를 기록한 것임을 확인합니다.",
        "signer": "작성자",
        "signer_title": "직위",
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
        "capture.redirect_chain": "Redirect chain",
        "capture.status": "HTTP status",
        "capture.server_ip": "Server IP",
        "capture.tls_subject": "TLS certificate subject",
        "capture.tls_issuer": "TLS certificate issuer",
        "capture.tls_validity": "TLS certificate validity",
        "capture.tls_fingerprint": "TLS certificate fingerprint (SHA-256)",
        "capture.tool": "Capture tool",
        "capture.operator": "Operator",
        "capture.browser": "Browser",
        "capture.user_agent": "User agent",
        "capture.fetched_at": "Page received at",
        "capture.site": "Site",
        "capture.extra.captured_at_utc": "Capture started (UTC)",
        "capture.extra.captured_at_local": "Capture started (local time)",
        "capture.extra.finished_at_utc": "Capture finished (UTC)",
        "capture.extra.time_zone": "Time zone",
        "capture.extra.adapter": "HTTP client",
        "capture.extra.proxy": "Proxy",
        "capture.extra.headers": "Response headers",
        "capture.extra.content_encoding": "Content encoding",
        "capture.extra.page_html": "Page HTML",
        "capture.extra.media_count": "Media items",
        "capture.extra.media_skipped": "Media not captured",
        "capture.extra.warc_records": "WARC records",
        "capture.extra.tls_serial": "TLS certificate serial number",
        "capture.extra.tls_verified": "TLS certificate verified",
        "capture.extra.tls_certificate_error": "TLS certificate error",
        "capture.extra.browser_error": "Browser error",
        "capture.extra.browser_final_url": "Browser's final URL",
        "capture.extra.viewport": "Viewport",
        "capture.extra.screenshot_size": "Screenshot size",
        "capture.extra.media_regions": "Media regions",
        "capture.extra.previews_include_originals": "Originals allowed in reports",
        "hashes": "4. File hashes (SHA-256)",
        "file": "File",
        "role": "Role",
        "size": "Size (bytes)",
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
        "custody": "6. Chain of custody",
        "seq": "No.",
        "time": "Time",
        "action": "Action",
        "actor": "Actor",
        "hash_prefix": "Hash (first 16)",
        "custody.none": "No custody log was provided.",
        "custody.verified": "Hash chain verified ({count} events)",
        "custody.broken": "Hash chain verification FAILED: {problems}",
        "timestamps": "7. Trusted time stamps (RFC 3161)",
        "tsa": "Time-stamping authority",
        "digest": "Stamped digest (SHA-256)",
        "timestamps.none": "No time stamps.",
        "signature": "8. Attestation and signature",
        "statement": "I confirm that this report records the evidence captured from the URL above, the SHA-256 of "
                     "every file, and how the evidence was captured and kept.",
        "signer": "Prepared by",
        "signer_title": "Title",
        "date": "Date",
        "sign_here": "Signature",
        "footer": "{title} · {bundle}",
    },
}
"""The report's labels, one dict per language. A language without a dict falls back to English."""

# The capture rows every report shows, in order: (label key, the bundle.capture keys that may hold the value).
_CAPTURE_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("url", ("url", "requested_url")),
    ("final_url", ("final_url",)),
    ("redirect_chain", ("redirect_chain", "redirects")),
    ("status", ("status", "http_status")),
    ("server_ip", ("server_ip", "ip", "remote_ip")),
    ("tls_subject", ("tls_subject",)),
    ("tls_issuer", ("tls_issuer",)),
    ("tls_validity", ("tls_validity",)),
    ("tls_fingerprint", ("tls_sha256", "tls_fingerprint_sha256", "tls_fingerprint")),
    ("tool", ("tool",)),
    ("operator", ("operator",)),
    ("browser", ("browser", "browser_version")),
    ("user_agent", ("user_agent",)),
    ("fetched_at", ("fetched_at",)),
    ("site", ("site",)),
)
_TLS_FROM = ("tls_not_before", "tls_valid_from")
_TLS_TO = ("tls_not_after", "tls_valid_to")

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
    hashes: ReportTable
    hash_notes: tuple[str, ...] = ()
    images: tuple[ReportImage, ...] = ()
    originals_included: bool = False
    image_notes: tuple[str, ...] = ()
    custody: ReportTable
    custody_notes: tuple[str, ...] = ()
    timestamps: ReportTable
    timestamp_notes: tuple[str, ...] = ()
    statement: str
    signature: tuple[ReportField, ...]
    footer: str
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
            ReportSection(key="hashes", heading=label["hashes"], table=self.hashes, notes=self.hash_notes),
            ReportSection(key="images", heading=label["images"], images=self.images, notes=self.image_notes,
                          alert=self.originals_included),
            ReportSection(key="custody", heading=label["custody"], table=self.custody, notes=self.custody_notes),
            ReportSection(key="timestamps", heading=label["timestamps"], table=self.timestamps,
                          notes=self.timestamp_notes),
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


def _capture_fields(capture: Mapping[str, str], label: Mapping[str, str]) -> tuple[ReportField, ...]:
    used: set[str] = set()

    def first(keys: Sequence[str]) -> str | None:
        for key in keys:
            if capture.get(key):
                used.update(k for k in keys if k in capture)
                return capture[key]
        used.update(k for k in keys if k in capture)
        return None

    fields: list[ReportField] = []
    for key, aliases in _CAPTURE_ROWS:
        value = first(aliases)
        if key == "tls_validity" and value is None:
            start, end = first(_TLS_FROM), first(_TLS_TO)
            value = f"{start or DASH} ~ {end or DASH}" if start or end else None
        if key == "redirect_chain" and value:
            value = _chain(value)
        fields.append(ReportField(label=label[f"capture.{key}"], value=_value(value),
                                  mono=key in ("tls_fingerprint", "server_ip")))
    for key in sorted(set(capture) - used):
        name = label.get(f"capture.extra.{key}")
        fields.append(ReportField(label=f"{name} ({key})" if name else one_line(key), value=_value(capture[key])))
    return tuple(fields)


def _hop(hop: object) -> str:
    if isinstance(hop, dict) and "url" in hop:
        return f"{hop['url']} ({hop['status']})" if "status" in hop else str(hop["url"])
    return str(hop)


def _chain(value: str) -> str:
    """A redirect chain given as a JSON list (of URLs, or of ``{"url", "status"}``) or one URL per line, as
    ``a (301) → b (200)``."""
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, list):
        hops = [_hop(hop) for hop in parsed]
    else:
        hops = [line.strip() for line in value.splitlines() if line.strip()]
    return " → ".join(one_line(hop) for hop in hops)


def _matched(finding: Finding) -> str:
    matches = sorted({
        f"{d.matched.bank}/{d.matched.reference} ({d.matched.algorithm} {d.matched.distance:g})"
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
        bundle: the sealed bundle; its artifacts' paths are relative to ``root``.
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
        rows=tuple((_in_bundle(a.path, folder), one_line(a.role), fmt.number(a.size), a.sha256)
                   for a in bundle.artifacts),
        # The SHA-256 column fits a whole hash on one line in both layouts (monospaced, 7 pt).
        weights=(30, 14, 16, 60), mono=(False, False, False, True),
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
        rows=tuple((str(e.seq), fmt.short(e.at), one_line(e.action), one_line(e.actor), e.hash[:16])
                   for e in custody),
        weights=(6, 20, 14, 20, 20), mono=(False, False, False, False, True),
    )
    if not custody:
        custody_notes: tuple[str, ...] = (label["custody.none"],)
    else:
        problems = verify_chain(list(custody))
        custody_notes = ((label["custody.verified"].format(count=len(custody)),) if not problems else
                         (label["custody.broken"].format(problems="; ".join(problems)),))

    stamps = ReportTable(
        columns=(label["tsa"], f"{label['time']} ({agency.time_zone})", label["digest"]),
        rows=tuple((one_line(t.tsa_url), fmt.short(t.at), t.digest_sha256) for t in bundle.timestamps),
        weights=(26, 18, 56), mono=(False, False, True),
    )

    contact = " / ".join(one_line(v) for v in (agency.email, agency.phone) if v) or DASH
    title = label["title"]
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
        capture=_capture_fields(bundle.capture, label),
        hashes=hashes,
        hash_notes=hash_notes,
        images=tuple(images),
        originals_included=include_originals,
        image_notes=tuple(image_notes),
        custody=custody_table,
        custody_notes=custody_notes,
        timestamps=stamps,
        timestamp_notes=() if bundle.timestamps else (label["timestamps.none"],),
        statement=label["statement"],
        signature=(
            ReportField(label=label["signer"], value=_value(agency.signer)),
            ReportField(label=label["signer_title"], value=_value(agency.signer_title)),
            ReportField(label=label["date"], value=fmt.date(bundle.captured_at)),
            ReportField(label=label["sign_here"], value=""),
        ),
        footer=label["footer"].format(title=title, bundle=bundle.id),
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
