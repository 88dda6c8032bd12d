"""The PDF evidence report, read back with pypdf (an independent reader)."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from test_report_content import AGENCY, Evidence, make_evidence

from takedown.errors import EvidenceError, MissingDependencyError
from takedown.evidence import pdf_writer
from takedown.evidence.base import EvidenceWriter
from takedown.evidence.pdf_writer import PdfWriter, render_report_html
from takedown.evidence.report_content import ReportWriterConfig, build_report_content
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
                     "4. 파일 해시 (SHA-256)", "6. 증거 보관 기록 (Chain of Custody)", "8. 확인 및 서명",
                     "2024-05-01 03:04:05 UTC", "KR-2024-0001", "해시 체인 검증: 정상"):
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
