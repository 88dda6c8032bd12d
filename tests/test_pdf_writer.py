"""The PDF evidence report, read back with pypdf (an independent reader)."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from test_report_content import AGENCY, Evidence, make_evidence

from takedown.errors import EvidenceError, MissingDependencyError
from takedown.evidence import pdf_writer
from takedown.evidence.base import EvidenceWriter
from takedown.evidence.pdf_writer import RECORD_ATTACHMENT, SIGNATURE_FIELD, PdfWriter, render_report_html
from takedown.evidence.report_content import ReportWriterConfig, build_report_content
from takedown.evidence.signing import make_agency_identity
from takedown.models import EvidenceBundle
from takedown.settings import AgencySettings, SigningSettings
from takedown.testing import EvidenceWriterContract

CONFIG = ReportWriterConfig(agency=AGENCY)


@dataclass(frozen=True)
class Written:
    evidence: Evidence
    pdf: Path
    text: str


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    evidence = make_evidence(tmp_path_factory.mktemp("evidence"))
    artifact = PdfWriter(CONFIG).write(evidence.bundle, evidence.finding, out=evidence.out, root=evidence.root)
    path = evidence.root / artifact.path
    return Written(evidence, path, pdf_text(path))


def test_the_pdf_says_what_the_report_says(written: Written) -> None:
    evidence, text = written.evidence, written.text
    assert text.startswith("디지털 증거 수집 보고서")
    for expected in (evidence.finding.candidate.url, evidence.bundle.case_id, "사건번호", "1. 요약",
                     "4. 파일 해시 (SHA-256)", "6. 증거 보관 기록 (보고서 작성 시점까지)", "8. 확인 및 서명",
                     "2024-05-01 03:04:05 UTC", "KR-2024-0001", "해시 체인 검증: 정상", "가. TLS 인증서",
                     "원본 수집물 봉인(capture-seal.json)의 SHA-256", "나. 보고서 작성 이후의 봉인 절차"):
        assert expected in text
    compact = re.sub(r"\s+", "", text)
    for artifact in evidence.bundle.artifacts:
        assert artifact.sha256 in text, f"{artifact.path}: its SHA-256 is broken across lines"
        assert artifact.sha256 in compact
    assert re.search(r"1 / \d", text)  # page numbers in the footer


def test_hostile_text_shows_literally(written: Written) -> None:
    assert "<script>alert(1)</script> {{ 7*7 }}\\r\\n사건번호: forged \\u202egnp.exe" in written.text
    content = build_report_content(written.evidence.bundle, written.evidence.finding, root=written.evidence.root,
                                   agency=AGENCY)
    html = render_report_html(content)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html


def embedded_images(path: Path) -> list[bytes]:
    """The distinct images a PDF holds (weasyprint shares one resource dictionary among its pages)."""
    return list({image.name: image.data for page in PdfReader(path).pages for image in page.images}.values())


def test_pdf_embeds_the_blurred_preview_only(written: Written) -> None:
    images = embedded_images(written.pdf)
    assert len(images) == 1
    with Image.open(io.BytesIO(images[0])) as embedded, \
            Image.open(io.BytesIO(written.evidence.preview)) as preview:
        assert embedded.size == preview.size
        assert embedded.convert("RGB").tobytes() == preview.convert("RGB").tobytes()


def test_originals_only_when_configured_and_then_said(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    evidence = make_evidence(tmp_path)
    config = ReportWriterConfig(agency=AGENCY, include_originals=True, language="en")
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        artifact = PdfWriter(config).write(evidence.bundle, evidence.finding, out=evidence.out, root=tmp_path)
    assert not caplog.records, "weasyprint ignored part of report.css or failed to fetch an image"
    images = embedded_images(tmp_path / artifact.path)
    sizes = sorted(Image.open(io.BytesIO(data)).size for data in images)
    assert sizes == [(320, 240), (400, 600)]  # the original media and the screenshot
    text = pdf_text(tmp_path / artifact.path)
    assert text.startswith("Digital evidence report")
    assert "unblurred original images (include_originals=True)" in text


def test_metadata_is_fixed_by_the_bundle(written: Written) -> None:
    metadata = PdfReader(written.pdf).metadata
    assert metadata is not None
    assert metadata.title == "디지털 증거 수집 보고서"
    assert str(metadata["/CreationDate"]) == str(metadata["/ModDate"]) == "D:20240501030405Z"


def test_same_input_same_bytes(written: Written) -> None:
    evidence = written.evidence
    again = PdfWriter(CONFIG).write(evidence.bundle, evidence.finding, out=evidence.out, root=evidence.root)
    assert again.sha256 == hashlib.sha256(written.pdf.read_bytes()).hexdigest()


def test_the_renderer_fetches_nothing_else(written: Written) -> None:
    import weasyprint

    content = build_report_content(written.evidence.bundle, written.evidence.finding, root=written.evidence.root,
                                   agency=AGENCY)
    fetcher = pdf_writer._fetcher(weasyprint, content)
    with pytest.raises(ValueError, match="nothing but its own images"):
        fetcher.fetch("file:///etc/passwd")
    served = fetcher.fetch(f"takedown-image:{content.images[0].sha256}")
    assert served.read() == written.evidence.preview


def test_a_failed_capture_is_reported_prominently(tmp_path: Path) -> None:
    evidence = make_evidence(tmp_path, error="the page was never fetched", custody_file=False)
    artifact = PdfWriter(CONFIG).write(evidence.bundle, evidence.finding, out=evidence.out, root=tmp_path)
    text = pdf_text(tmp_path / artifact.path)
    assert text.index("수집 오류") < text.index("1. 요약")
    assert "the page was never fetched" in text


def test_missing_weasyprint_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(MissingDependencyError, match=r"takedown\[pdf\]") as caught:
        PdfWriter(CONFIG)
    assert (caught.value.package, caught.value.extra) == ("weasyprint", "pdf")


def test_weasyprint_errors_become_evidence_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import weasyprint

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("synthetic failure")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", fail)
    evidence = make_evidence(tmp_path, custody_file=False)
    with pytest.raises(EvidenceError, match="synthetic failure") as caught:
        PdfWriter(CONFIG).write(evidence.bundle, evidence.finding, out=evidence.out, root=tmp_path)
    assert caught.value.plugin == "pdf" and isinstance(caught.value.__cause__, OSError)
    assert not (evidence.out / "report.pdf").exists()


class TestPdfWriter(EvidenceWriterContract):
    def make_writer(self) -> EvidenceWriter:
        return PdfWriter(CONFIG)


# -- professional: no machine data on the page, headings kept with what they head ---------------------------------


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def test_the_capture_reads_as_labelled_tables_not_json(tmp_path: Path) -> None:
    from test_report_content import CAPTURE

    evidence = make_evidence(tmp_path)
    folder = f"{evidence.bundle.case_id}/{evidence.bundle.id}/"
    capture = {**CAPTURE, "media_sources": CAPTURE["media_sources"].replace("{folder}", folder)}
    bundle = evidence.bundle.model_copy(update={"capture": capture})
    artifact = PdfWriter(ReportWriterConfig(agency=AgencySettings(name="예시 지원센터"))).write(
        bundle, evidence.finding, out=evidence.out, root=tmp_path)
    text = pdf_text(tmp_path / artifact.path)
    for raw in ("[{", '{"', '["', '"url"', "headers", "media_sources", "media_regions", "the response body",
                "Duty Officer", "Deletion Support Officer", "user_agent", "received_at_utc"):
        assert raw not in text, raw
    for shown in ("응답 헤더", "헤더 이름", "text/html; charset=utf-8", "수집한 미디어", "수집하지 못한 미디어",
                  "HTTP 404 응답 (WARC에만 기록)", "수신한 응답 본문 (gzip 압축 해제)", "요청 User-Agent",
                  "페이지 수신 시각 (현지)", "CPython 3.13.1", "Linux-6.1-x86_64", "당직 담당자", "삭제지원 담당자",
                  "수집자"):
        assert shown in text, shown


def test_no_heading_ends_a_page_and_the_signature_block_is_whole(tmp_path: Path) -> None:
    from test_report_content import CAPTURE

    evidence = make_evidence(tmp_path)
    bundle = evidence.bundle.model_copy(update={"capture": {**CAPTURE, "media_sources": "[]"}})
    artifact = PdfWriter(CONFIG).write(bundle, evidence.finding, out=evidence.out, root=tmp_path)
    content = build_report_content(bundle, evidence.finding, root=tmp_path, agency=AGENCY)
    headings = {section.heading for section in content.sections}
    pages = page_texts(tmp_path / artifact.path)
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip() and content.footer not in line]
        assert lines[-1] not in headings, f"page {number} ends with the heading {lines[-1]!r}"
    signed = [page for page in pages if "8. 확인 및 서명" in page]
    assert len(signed) == 1
    for label in ("본 보고서는", "작성자", "직위", "작성일", "서명"):
        assert label in signed[0]


# -- archival: PDF/A-3b, the bundle's record attached ----------------------------------------------------------------


def test_the_pdf_is_pdf_a_3b_with_an_output_intent_and_the_record_attached(written: Written) -> None:
    import pikepdf

    with pikepdf.open(written.pdf) as pdf:
        with pdf.open_metadata() as xmp:
            assert xmp["pdfaid:part"] == "3" and xmp["pdfaid:conformance"] == "B"
            assert xmp["xmp:CreateDate"] == "2024-05-01T03:04:05Z"
            assert xmp["xmp:CreatorTool"].startswith("takedown ")
            assert xmp["pdf:Producer"] == str(pdf.docinfo["/Producer"])
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        assert "sRGB" in str(intent.OutputConditionIdentifier) and intent.DestOutputProfile.N == 3
        assert list(pdf.attachments) == [RECORD_ATTACHMENT]
        spec = pdf.attachments[RECORD_ATTACHMENT]
        assert spec.obj.AFRelationship == "/Data" and spec.obj in list(pdf.Root.AF)
        record = EvidenceBundle.model_validate_json(spec.get_file().read_bytes())
    assert record == written.evidence.bundle


# -- signed by the agency (PAdES) when it has a key ----------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    pdf: Path
    identity: SigningSettings
    other: SigningSettings


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    folder = tmp_path_factory.mktemp("signed")
    identity = make_agency_identity(folder / "agency", name="Example Support Center")
    other = make_agency_identity(folder / "other", name="Another Agency")
    evidence = make_evidence(folder / "evidence")
    writer = PdfWriter(ReportWriterConfig(agency=AGENCY, signing=identity))
    artifact = writer.write(evidence.bundle, evidence.finding, out=evidence.out, root=evidence.root)
    return Signed(evidence.root / artifact.path, identity, other)


def validate(data: bytes, ca_file: Path | None) -> object:
    pdf_writer._import_pyhanko()  # pyHanko's own imports warn about cryptography's DSA: imported once, quietly
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    (signature,) = PdfFileReader(io.BytesIO(data)).embedded_signatures
    assert signature.field_name == SIGNATURE_FIELD
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(ca_file))] if ca_file else [])
    return validate_pdf_signature(signature, context)


def test_the_agency_signs_the_pdf_and_its_ca_trusts_it(signed: Signed) -> None:
    status: Any = validate(signed.pdf.read_bytes(), signed.identity.ca_file)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert "Example Support Center" in status.signing_cert.subject.human_friendly


def test_another_agencys_ca_does_not_trust_the_signature(signed: Signed) -> None:
    status: Any = validate(signed.pdf.read_bytes(), signed.other.ca_file)
    assert status.intact and status.valid and not status.trusted


def test_a_changed_byte_breaks_the_signature(signed: Signed) -> None:
    data = bytearray(signed.pdf.read_bytes())
    creator = data.index(b"/Creator (takedown")  # the info dictionary of the first revision: signed
    data[creator + len(b"/Creator (t")] = ord("T")
    status: Any = validate(bytes(data), signed.identity.ca_file)
    assert not status.intact and not status.bottom_line  # the signed digest no longer matches the file


def test_a_signed_pdf_is_still_pdf_a(signed: Signed) -> None:
    import pikepdf

    with pikepdf.open(signed.pdf) as pdf, pdf.open_metadata() as xmp:
        assert xmp["pdfaid:part"] == "3" and xmp["pdfaid:conformance"] == "B"
        assert xmp["pdf:Producer"] == str(pdf.docinfo["/Producer"])  # PDF/A: the info dictionary agrees with XMP
        assert len(pdf.Root.OutputIntents) == 1
        (field,) = pdf.Root.AcroForm.Fields
        assert int(field.F) & 4 and not int(field.F) & 2  # printed, not hidden (PDF/A), and invisible: no area
        assert [float(x) for x in field.Rect] == [0, 0, 0, 0]


def test_an_agency_without_a_key_gets_an_unsigned_pdf(written: Written) -> None:
    assert PdfWriter(ReportWriterConfig(agency=AGENCY, signing=SigningSettings())).signer is None
    assert b"/ByteRange" not in written.pdf.read_bytes()


def test_missing_pyhanko_names_the_extra_when_a_key_is_set(signed: Signed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyhanko.sign.validation", None)
    with pytest.raises(MissingDependencyError, match=r"takedown\[pdf\]") as caught:
        PdfWriter(ReportWriterConfig(agency=AGENCY, signing=signed.identity))
    assert (caught.value.package, caught.value.extra) == ("pyhanko", "pdf")
    PdfWriter(CONFIG)  # without a key nothing needs pyHanko
