"""The HWPX and HWP evidence reports, read back by independent readers.

The HWP file is read by pyhwp (``hwp5proc``, ``hwp5txt``: AGPL, a test-only dependency), not by python-hwpx that
wrote it; the HWPX package is checked by python-hwpx's own validators and its XML parsed directly.
"""

from __future__ import annotations

import hashlib
import io
import platform
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_report_content import AGENCY, HOSTILE_TITLE, Evidence, make_evidence

from takedown._version import __version__
from takedown.errors import EvidenceError, MissingDependencyError
from takedown.evidence import hwpx_writer
from takedown.evidence.base import EvidenceWriter
from takedown.evidence.hwpx_writer import HwpWriter, HwpxWriter
from takedown.evidence.report_content import ReportWriterConfig
from takedown.models import EvidenceBundle, Finding
from takedown.testing import EvidenceWriterContract

BIN = Path(sys.executable).parent
HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
HH = "{http://www.hancom.co.kr/hwpml/2011/head}"
CONFIG = ReportWriterConfig(agency=AGENCY)


@dataclass(frozen=True)
class Written:
    evidence: Evidence
    hwpx: Path
    hwp: Path


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    evidence = make_evidence(tmp_path_factory.mktemp("evidence"))
    hwpx = HwpxWriter(CONFIG).write(evidence.bundle, evidence.finding, out=evidence.out, root=evidence.root)
    hwp = HwpWriter(CONFIG).write(evidence.bundle, evidence.finding, out=evidence.out, root=evidence.root)
    return Written(evidence, evidence.root / hwpx.path, evidence.root / hwp.path)


def hwp5(tool: str, *args: str) -> str:
    completed = subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def hwp5_bytes(path: Path, stream: str) -> bytes:
    completed = subprocess.run([str(BIN / "hwp5proc"), "cat", str(path), stream], capture_output=True, timeout=60,
                               check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def hwp_cells(path: Path) -> list[str]:
    """The text of every table cell of an HWP file, as pyhwp reads it."""
    tree = ET.fromstring(hwp5("hwp5proc", "xml", str(path)))
    return ["".join(t.text or "" for t in cell.iter("Text")) for cell in tree.iter("TableCell")]


def hwpx_texts(data: bytes) -> tuple[list[str], list[str]]:
    """(paragraph texts outside tables, table cell texts) of an HWPX package's section XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        root = ET.fromstring(package.read("Contents/section0.xml"))

    def own_text(paragraph: ET.Element) -> str:  # the paragraph's runs, not the paragraphs nested in it
        return "".join(t.text or "" for run in paragraph.findall(f"{HP}run") for t in run.findall(f"{HP}t"))

    cells = ["".join(own_text(p) for p in cell.iter(f"{HP}p")) for cell in root.iter(f"{HP}tc")]
    nested = {id(p) for holder in (*root.iter(f"{HP}tc"), *root.iter(f"{HP}footer")) for p in holder.iter(f"{HP}p")}
    paragraphs = [own_text(p) for p in root.iter(f"{HP}p") if id(p) not in nested]
    return paragraphs, cells


# -- HWP, read by pyhwp ------------------------------------------------------------------------------------------


def test_hwp_is_read_back_by_pyhwp(written: Written) -> None:
    evidence = written.evidence
    cells = hwp_cells(written.hwp)
    assert evidence.bundle.case_id in cells and "사건번호" in cells
    assert evidence.finding.candidate.url in cells
    for artifact in evidence.bundle.artifacts:
        assert artifact.sha256 in cells, artifact.path
    for label in ("SHA-256", "판정", "수집 일시 (UTC)", "서명", "기관 등록번호"):
        assert label in cells
    assert "KR-2024-0001" in cells
    assert "<script>alert(1)</script> {{ 7*7 }}\\r\\n사건번호: forged \\u202egnp.exe" in cells
    text = hwp5("hwp5txt", str(written.hwp))
    for heading in ("디지털 증거 수집 보고서", "1. 요약", "4. 파일 해시 (SHA-256)", "가. TLS 인증서",
                    "6. 증거 보관 기록 (보고서 작성 시점까지)", "8. 확인 및 서명", "흐림 처리한 미리보기",
                    "나. 보고서 작성 이후의 봉인 절차"):
        assert heading in text
    summary = hwp5("hwp5proc", "summaryinfo", str(written.hwp))
    assert "Created at: 2024-05-01 03:04:05" in summary
    assert "synthetic-fixture-author" not in summary


def test_hwp_preview_text_is_the_reports_summary(written: Written) -> None:
    text = hwp5_bytes(written.hwp, "PrvText").decode("utf-16-le")
    evidence = written.evidence
    for expected in ("디지털 증거 수집 보고서", f"사건번호: {evidence.bundle.case_id}",
                     f"URL: {evidence.finding.candidate.url}", "판정: 일치", f"증거 묶음 ID: {evidence.bundle.id}"):
        assert expected in text


def test_hwp_embeds_the_preview_and_not_the_original(written: Written) -> None:
    streams = [s for s in hwp5("hwp5proc", "ls", str(written.hwp)).split() if s.startswith("BinData/")]
    assert len(streams) == 1
    data = hwp5_bytes(written.hwp, streams[0])
    assert data == written.evidence.preview
    assert data != written.evidence.original


# -- HWPX, checked by python-hwpx's validators and parsed directly -----------------------------------------------


def test_hwpx_passes_python_hwpx_validators(written: Written) -> None:
    from hwpx.tools.package_validator import validate_editor_open_safety, validate_package
    from hwpx.tools.validator import validate_document

    data = written.hwpx.read_bytes()
    report = validate_document(data)
    assert report.ok, report.issues
    package = validate_package(data)
    assert package.ok, package.issues
    assert validate_editor_open_safety(data).ok


def test_hwpx_text_is_the_report(written: Written) -> None:
    evidence = written.evidence
    paragraphs, cells = hwpx_texts(written.hwpx.read_bytes())
    assert paragraphs[0] == "디지털 증거 수집 보고서"
    assert "5. 화면 및 미디어 미리보기" in paragraphs
    assert evidence.finding.candidate.url in cells
    for artifact in evidence.bundle.artifacts:
        assert artifact.sha256 in cells
    assert any(HOSTILE_TITLE.replace("\r\n", "\\r\\n").replace("\u202e", "\\u202e") == c for c in cells)


def test_hwpx_paragraphs_are_styled_tables_sized_and_metadata_cleared(written: Written) -> None:
    with zipfile.ZipFile(written.hwpx) as package:
        section = ET.fromstring(package.read("Contents/section0.xml"))
        header = ET.fromstring(package.read("Contents/header.xml"))
        manifest = package.read("Contents/content.hpf").decode("utf-8")
        dates = {info.date_time for info in package.infolist()}
    headings = {p.get("id"): p.find(f"{HH}heading") for p in header.iter(f"{HH}paraPr")}
    for paragraph in section.iter(f"{HP}p"):
        assert paragraph.get("styleIDRef") == "0"  # 바탕글, never an outline style
        heading = headings[paragraph.get("paraPrIDRef")]
        assert heading is None or heading.get("type") == "NONE"
    heights = [int(size.get("height", "0")) for size in section.iter(f"{HP}cellSz")]
    assert heights and min(heights) >= 1000  # python-hwpx's default is 282 (1 mm)
    assert "synthetic-fixture-author" not in manifest and "2025-09-17" not in manifest
    assert "2024-05-01T03:04:05Z" in manifest and "디지털 증거 수집 보고서" in manifest
    assert dates == {(2024, 5, 1, 3, 4, 4)}  # ZIP stores even seconds


def test_hwpx_names_takedown_as_its_writer_and_previews_the_summary(written: Written) -> None:
    with zipfile.ZipFile(written.hwpx) as package:
        version = ET.fromstring(package.read("version.xml"))
        preview = package.read("Preview/PrvText.txt").decode("utf-8")
    assert version.tag == "{http://www.hancom.co.kr/hwpml/2011/version}HCFVersion"
    assert version.get("application") == "takedown"
    assert version.get("appVersion", "").startswith(f"{__version__} (")
    assert platform.system() in version.get("appVersion", "")
    assert version.get("tagetApplication") == "WORDPROCESSOR"  # (sic): Hangul refuses the file without it
    assert "Hancom" not in ET.tostring(version, encoding="unicode") and "WIN32" not in version.get("appVersion", "")
    evidence = written.evidence
    assert preview.split("\r\n") == [
        "디지털 증거 수집 보고서", f"사건번호: {evidence.bundle.case_id}", f"URL: {evidence.finding.candidate.url}",
        "판정: 일치 (피해 촬영물과 일치)", f"증거 묶음 ID: {evidence.bundle.id}", ""]


def test_hwpx_never_splits_the_signature_block_or_a_time_stamp(written: Written) -> None:
    with zipfile.ZipFile(written.hwpx) as package:
        section = ET.fromstring(package.read("Contents/section0.xml"))
    tables = list(section.iter(f"{HP}tbl"))
    assert tables[-1].get("pageBreak") == "NONE"  # the signature block, the report's last table
    whole = {"".join(t.text or "" for t in table.iter(f"{HP}t")).split("SHA-256")[0] for table in tables
             if table.get("pageBreak") == "NONE"}
    assert any("확인 대상" in text for text in whole) and any("인증서 주체" in text for text in whole)
    assert all(t.get("pageBreak") == "CELL" for t in tables if t.get("repeatHeader") == "1")  # long lists split


def test_hwpx_embeds_only_the_preview_bytes(written: Written) -> None:
    evidence = written.evidence
    with zipfile.ZipFile(written.hwpx) as package:
        binaries = {name: package.read(name) for name in package.namelist() if name.startswith("BinData/")}
        everything = [package.read(name) for name in package.namelist()]
    assert list(binaries.values()) == [evidence.preview]
    assert all(evidence.original not in data and evidence.screenshot not in data for data in everything)


def test_originals_only_when_configured_and_then_said(tmp_path: Path) -> None:
    evidence = make_evidence(tmp_path)
    config = ReportWriterConfig(agency=AGENCY, include_originals=True)
    artifact = HwpxWriter(config).write(evidence.bundle, evidence.finding, out=evidence.out, root=tmp_path)
    data = (tmp_path / artifact.path).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        binaries = sorted(package.read(n) for n in package.namelist() if n.startswith("BinData/"))
    assert binaries == sorted([evidence.original, evidence.screenshot])
    paragraphs, _ = hwpx_texts(data)
    assert any("include_originals=True" in p for p in paragraphs)


def test_a_failed_capture_is_reported_prominently(tmp_path: Path) -> None:
    evidence = make_evidence(tmp_path, error="the page was never fetched", custody_file=False)
    artifact = HwpWriter(CONFIG).write(evidence.bundle, evidence.finding, out=evidence.out, root=tmp_path)
    text = hwp5("hwp5txt", str(tmp_path / artifact.path))
    assert text.index("수집 오류") < text.index("1. 요약")
    assert "the page was never fetched" in text
    assert "보관 기록이 제공되지 않았습니다." in text


def test_same_input_same_bytes(written: Written, tmp_path: Path) -> None:
    evidence = written.evidence
    for writer, first in ((HwpxWriter(CONFIG), written.hwpx), (HwpWriter(CONFIG), written.hwp)):
        again = writer.write(evidence.bundle, evidence.finding, out=evidence.out, root=evidence.root)
        assert again.sha256 == hashlib.sha256(first.read_bytes()).hexdigest()


# -- errors ------------------------------------------------------------------------------------------------------


def test_missing_python_hwpx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hwpx", None)
    with pytest.raises(MissingDependencyError, match=r"takedown\[hwp\]") as caught:
        HwpxWriter(CONFIG)
    assert (caught.value.package, caught.value.extra) == ("python-hwpx", "hwp")


def test_python_hwpx_errors_become_evidence_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from hwpx.errors import HwpxValueError

    def fail(self: object) -> None:
        raise HwpxValueError("synthetic failure", code="test")

    monkeypatch.setattr(hwpx_writer._Builder, "build", fail)
    evidence = make_evidence(tmp_path, custody_file=False)
    with pytest.raises(EvidenceError, match="synthetic failure") as caught:
        HwpWriter(CONFIG).write(evidence.bundle, evidence.finding, out=evidence.out, root=tmp_path)
    assert caught.value.plugin == "hwp" and isinstance(caught.value.__cause__, HwpxValueError)
    assert not list(evidence.out.glob("report.hwp*"))


# -- the contract, with its own inputs and with a realistic bundle whose files are not under its root -------------


class TestHwpxWriter(EvidenceWriterContract):
    def make_writer(self) -> EvidenceWriter:
        return HwpxWriter(CONFIG)


class TestHwpWriter(EvidenceWriterContract):
    def make_writer(self) -> EvidenceWriter:
        return HwpWriter(CONFIG)


def test_python_hwpx_never_saves_on_two_threads_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """python-hwpx validates what it saves with libxml2's schema code, which two threads must not run at once (the
    workflow writes reports on several): saving is serialised, however many threads write reports."""
    from hwpx.document import HwpxDocument

    save = HwpxDocument.to_bytes
    active, most, lock = [0], [0], threading.Lock()

    def counted(self: HwpxDocument, **kwargs: object) -> bytes:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            time.sleep(0.05)  # long enough that a second thread would arrive while this one saves
            return save(self, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(HwpxDocument, "to_bytes", counted)
    evidence = make_evidence(tmp_path, custody_file=False)
    gate, failed = threading.Barrier(4), []

    def write(n: int) -> None:
        writer = (HwpxWriter if n % 2 == 0 else HwpWriter)(CONFIG)
        out = evidence.out / f"thread-{n}"
        out.mkdir()
        gate.wait()
        try:
            writer.write(evidence.bundle, evidence.finding, out=out, root=tmp_path)
        except EvidenceError as exc:
            failed.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert most[0] == 1
    assert len(list(evidence.out.glob("thread-*/report.hwp*"))) == 4


@pytest.fixture(scope="class")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> tuple[EvidenceBundle, Finding]:
    evidence = make_evidence(tmp_path_factory.mktemp("realistic"))
    return evidence.bundle, evidence.finding


class TestHwpWriterRealistic(EvidenceWriterContract):
    """The contract's fresh root holds none of the bundle's files: previews are left out with a note."""

    @pytest.fixture(autouse=True)
    def _inputs(self, realistic: tuple[EvidenceBundle, Finding]) -> None:
        self.inputs = realistic

    def make_writer(self) -> EvidenceWriter:
        return HwpWriter(ReportWriterConfig(agency=AGENCY, language="en"))

    def make_inputs(self) -> tuple[EvidenceBundle, Finding]:
        return self.inputs

