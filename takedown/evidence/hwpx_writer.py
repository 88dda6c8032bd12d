"""The Hangul evidence reports: ``report.hwpx`` (OWPML) and ``report.hwp`` (HWP 5.0), written with python-hwpx.

Both files are one document, laid out as a Korean official evidence report: the title, the case number and
ids, the requesting agency, then numbered sections (summary, URLs, capture details, file hashes, blurred
previews, chain of custody, time stamps) and a signature block; page numbers in the footer. The content is
``ReportContent``, so the HWPX, HWP and PDF reports say the same thing.

What python-hwpx needs to make a file a court can rely on (see ``DESIGN.md``):

- The blank template carries its own metadata (author, dates, a preview image): cleared, and the dates set to
  the bundle's capture time. Its ``version.xml`` claims the file was saved by "Hancom Office Hangul ... WIN32":
  replaced by takedown's name and version and the operating system it ran on (OWPML 5.1.1 stays the format).
  The preview text (``Preview/PrvText.txt``, what a file browser shows before opening) is the report's summary:
  title, case number, URL, decision and bundle id; the HWP file carries the same text in its ``PrvText`` stream.
- Every paragraph gets an explicit style (바탕글) and character shape; one that inherits from the paragraph
  before it can pick up outline numbering.
- Table cells get heights that fit their text (python-hwpx's default is about 1 mm per row).
- Pages have 20 mm side margins (the template's are 30 mm), so a SHA-256 in the monospaced 굴림체 at 7 pt
  fits its column on one line.
- Pictures are embedded as BinData with their bytes unchanged.
- python-hwpx numbers paragraphs, tables and pictures with random ids, and the template's ZIP entries carry
  the library's build date: the ids are renumbered in document order and every ZIP entry is dated with the
  capture time, so the same input gives the same bytes.

The HWP file is python-hwpx's conversion of the same document (``format="hwp"``); content the HWP 5.0 writer
cannot express is an error there, never silently dropped.

python-hwpx validates every file it saves against the OWPML schemas with lxml, and libxml2 compiles a schema
unsafely when two threads do it at once (the first report then fails with ``XMLSchemaParseError: ... not a
built-in type``, and so does every later one in the process); a compiled schema's error log is shared too. The
workflow writes reports on several threads, so saving is serialised by one lock: building the document, the
larger part of the work, still runs in parallel.
"""

from __future__ import annotations

import io
import math
import platform
import threading
import unicodedata
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from xml.sax.saxutils import quoteattr

from takedown._version import __version__
from takedown.errors import EvidenceError, MissingDependencyError
from takedown.evidence.report_content import (
    ReportContent,
    ReportField,
    ReportImage,
    ReportSection,
    ReportTable,
    ReportWriterConfig,
    content_for,
    write_report_file,
)
from takedown.models import Artifact, EvidenceBundle, Finding

__all__ = ["HwpWriter", "HwpxWriter", "render_hwp", "render_hwpx"]

_FEATURE = "the HWPX and HWP evidence reports"

# Layout, in HWPUNIT (1/7200 inch: 1 mm = 283.46; a character size of 1 pt = 100).
_MM = 283.465
_PAGE_WIDTH = 59528  # A4, the template's page
_SIDE_MARGIN = round(20 * _MM)  # 20 mm left and right, as Korean official documents (the template has 30)
_TEXT_WIDTH = _PAGE_WIDTH - 2 * _SIDE_MARGIN
_CELL_MARGIN_X = 510 * 2  # the template's cell margins, left + right
_CELL_MARGIN_Y = 141 * 2
_LINE_SPACING = 1.6  # the template's 160 % line spacing
_SIGN_ROW = 4250  # the blank row to sign on: 15 mm
_HEADER_FILL = "#E7E6E6"
_ALERT = "#C00000"

# Character sizes, in points.
_TITLE_PT, _HEADING_PT, _SUBHEADING_PT, _BODY_PT, _CELL_PT, _MONO_PT, _SMALL_PT = 18, 12, 10.5, 10, 9, 7, 8
_MONO_FONT = "굴림체"  # GulimChe: monospaced, installed with Windows and Hangul; hashes are read digit by digit


_SAVE_LOCK = threading.Lock()
"""Held while python-hwpx serialises and validates a document (libxml2's schema code is not thread-safe)."""


def _version_xml() -> bytes:
    """``version.xml`` naming the program that wrote the file (takedown, its version, the operating system it ran on),
    not the Hangul release python-hwpx's template names. ``major``/``minor``/``micro`` and ``xmlVersion`` are the
    OWPML format's version, which the file follows; Hangul refuses a file without ``tagetApplication`` (sic)."""
    system = " ".join(part for part in (platform.system(), platform.release(), platform.machine()) if part)
    app_version = f"{__version__} ({system or 'unknown OS'})"
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>'
            '<hv:HCFVersion xmlns:hv="http://www.hancom.co.kr/hwpml/2011/version" tagetApplication="WORDPROCESSOR" '
            'major="5" minor="1" micro="1" buildNumber="0" xmlVersion="1.5" application="takedown" '
            f'appVersion={quoteattr(app_version)}/>').encode()


def _import_hwpx() -> Any:
    try:
        import hwpx
    except ImportError as exc:
        raise MissingDependencyError("python-hwpx", "hwp", feature=_FEATURE) from exc
    return hwpx


def _hwpx_errors() -> tuple[type[BaseException], ...]:
    """The exceptions python-hwpx raises, translated into ``EvidenceError`` at the boundary."""
    from hwpx.errors import HwpxError
    from hwpx.opc.package import HwpxPackageError

    return (HwpxError, HwpxPackageError, ValueError, TypeError, KeyError, RuntimeError, AttributeError)


class _Shapes:
    """The character shapes (``charPr`` ids) the report uses, created once per document."""

    def __init__(self, doc: Any) -> None:
        run = doc.styles.ensure_run
        self.title = run(bold=True, size=_TITLE_PT)
        self.heading = run(bold=True, size=_HEADING_PT)
        self.subheading = run(bold=True, size=_SUBHEADING_PT)
        self.body = run(size=_BODY_PT)
        self.small = run(size=_SMALL_PT)
        self.alert = run(bold=True, size=_BODY_PT, color=_ALERT)
        self.cell = run(size=_CELL_PT)
        self.cell_label = run(bold=True, size=_CELL_PT)
        self.mono = run(size=_MONO_PT, font=_MONO_FONT)


def _text_width(text: str, size_pt: float, *, mono: bool = False) -> float:
    """An estimate of how wide ``text`` is drawn, in HWPUNIT: full-width glyphs 1 em, others about 0.56 em
    (0.5 em in the monospaced font)."""
    narrow = 0.5 if mono else 0.56
    ems = sum(1.0 if unicodedata.east_asian_width(char) in ("W", "F") else narrow for char in text)
    return ems * size_pt * 100


def _row_height(cells: list[tuple[str, int, bool]]) -> int:
    """A row's height that fits the tallest cell: ``(text, cell width, monospaced)`` for each cell."""
    tallest = 0
    for text, width, mono in cells:
        size_pt = _MONO_PT if mono else _CELL_PT
        room = max(width - _CELL_MARGIN_X, 1)
        lines = max(1, math.ceil(_text_width(text, size_pt, mono=mono) * 1.05 / room))
        tallest = max(tallest, math.ceil(lines * size_pt * 100 * _LINE_SPACING))
    return tallest + _CELL_MARGIN_Y


class _Builder:
    """Lays a ``ReportContent`` out in a new python-hwpx document."""

    def __init__(self, content: ReportContent) -> None:
        self.content = content
        self.doc = _import_hwpx().HwpxDocument.new()
        self.shape = _Shapes(self.doc)
        # Every paragraph is 바탕글 (Normal), given by id: resolving the name each time is slow.
        normal = self.doc.styles.resolve("바탕글")
        self.style = {"style_id_ref": normal.id, "para_pr_id_ref": normal.para_pr_id_ref}

    def build(self) -> Any:
        content, doc = self.content, self.doc
        stamp = content.captured_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        doc.parts.clear_document_metadata(keep=("language",), timestamp=stamp)
        doc.parts.set_document_metadata(title=content.title)
        doc.parts.clear_preview()
        doc.package.write("version.xml", _version_xml())
        doc.package.write("Preview/PrvText.txt", content.preview.encode("utf-8"))
        doc.page.set_margins(left=_SIDE_MARGIN, right=_SIDE_MARGIN)

        title = doc.paragraphs[0]  # the template's first paragraph holds the section settings: keep it
        title.text = content.title
        title.char_pr_id_ref = self.shape.title
        title.style_id_ref = 0
        doc.styles.apply_paragraph_format(paragraphs=[title], alignment="CENTER", spacing_after_pt=10)
        self._fields(content.header, mono_values=True)
        for section in content.sections:
            self._section(section)
        doc.page.set_footer(content=[{"align": "CENTER", "children": [
            {"type": "run", "text": f"{content.footer}    ", "size": _SMALL_PT},
            {"page_number": "page/total"},
        ]}])
        self._renumber_ids()
        return doc

    def _paragraph(self, text: str, char_shape: str, **fmt: Any) -> Any:
        paragraph = self.doc.add_paragraph(text, char_pr_id_ref=char_shape, inherit_style=False, **self.style)
        if fmt:
            self.doc.styles.apply_paragraph_format(paragraphs=[paragraph], **fmt)
        return paragraph

    def _section(self, section: ReportSection) -> None:
        heading = self.shape.heading if section.level == 1 else self.shape.subheading
        self._paragraph(section.heading, self.shape.alert if section.alert else heading,
                        spacing_before_pt=10 if section.level == 1 else 6, spacing_after_pt=4, keep_with_next=True)
        # Notes stay on the page of the table or picture that follows them, as the heading does.
        # A section of notes only (the time stamps') stays with the first of its parts.
        followed = bool(section.fields or (section.table is not None and section.table.rows) or section.images)
        for number, note in enumerate(section.notes, start=1):
            self._paragraph(note, self.shape.alert if section.alert else self.shape.body, spacing_after_pt=3,
                            keep_with_next=followed or section.level == 1 or number < len(section.notes))
        if section.fields:
            # The signature block and a part's short table (a certificate, a time stamp) are never split.
            self._fields(section.fields, sign_row=section.signature_line,
                         whole=section.signature_line or section.level == 2)
        if section.table is not None and section.table.rows:
            self._grid(section.table)
        for image in section.images:
            self._image(image)

    def _table(self, rows: int, weights: tuple[int, ...]) -> tuple[Any, list[list[Any]], list[int]]:
        """A new table across the text width: the table, its cells by row, and its column widths."""
        table = self.doc.add_table(rows, len(weights), width=_TEXT_WIDTH, **self.style)
        table.set_column_widths(list(weights))
        # Cells by row, once: ``table.cell(r, c)`` rebuilds the whole grid on every call.
        cells = [row.cells for row in table.rows]
        return table, cells, [cell.width for cell in cells[0]]

    @staticmethod
    def _cell(cell: Any, text: str, char_shape: str) -> None:
        cell.text = text
        for paragraph in cell.paragraphs:
            paragraph.style_id_ref = 0
            for run in paragraph.runs:
                run.char_pr_id_ref = char_shape

    @staticmethod
    def _shade(table: Any, shaded: list[tuple[int, int, Any]]) -> None:
        """Give the cells ``(row, column, cell)`` the header fill: made once, then shared by its id."""
        if not shaded:
            return
        row, col, first = shaded[0]
        table.set_cell_shading(row, col, _HEADER_FILL)
        fill = first.element.get("borderFillIDRef")
        for _, _, cell in shaded[1:]:
            cell.element.set("borderFillIDRef", fill)

    def _fields(self, fields: tuple[ReportField, ...], *, mono_values: bool = False, sign_row: bool = False,
                whole: bool = False) -> None:
        table, cells, widths = self._table(len(fields), (30, 90))
        if whole:
            table.element.set("pageBreak", "NONE")  # moved to the next page whole rather than split
        heights = []
        for row, field in enumerate(fields):
            mono = mono_values or field.mono
            self._cell(cells[row][0], field.label, self.shape.cell_label)
            self._cell(cells[row][1], field.value, self.shape.mono if mono else self.shape.cell)
            heights.append(_row_height([(field.label, widths[0], False), (field.value, widths[1], mono)]))
        if sign_row and heights:
            heights[-1] = max(heights[-1], _SIGN_ROW)
        self._shade(table, [(row, 0, cells[row][0]) for row in range(len(fields))])
        self._set_heights(table, cells, heights)

    def _grid(self, grid: ReportTable) -> None:
        table, cells, widths = self._table(len(grid.rows) + 1, grid.weights)
        table.element.set("repeatHeader", "1")  # the header row again on every page the table runs over
        heights = []
        for col, name in enumerate(grid.columns):
            self._cell(cells[0][col], name, self.shape.cell_label)
            cells[0][col].element.set("header", "1")
        heights.append(_row_height([(name, widths[c], False) for c, name in enumerate(grid.columns)]))
        for row, values in enumerate(grid.rows, start=1):
            for col, value in enumerate(values):
                self._cell(cells[row][col], value, self.shape.mono if grid.mono[col] else self.shape.cell)
            heights.append(_row_height([(value, widths[c], grid.mono[c]) for c, value in enumerate(values)]))
        self._shade(table, [(0, col, cell) for col, cell in enumerate(cells[0])])
        self._set_heights(table, cells, heights)

    @staticmethod
    def _set_heights(table: Any, cells: list[list[Any]], heights: list[int]) -> None:
        for row, height in zip(cells, heights, strict=True):
            for cell in row:
                cell.set_size(height=height)
        size = table.element.find("{http://www.hancom.co.kr/hwpml/2011/paragraph}sz")
        if size is not None:
            size.set("height", str(sum(heights)))
        table.mark_dirty()

    def _image(self, image: ReportImage) -> None:
        self.doc.add_picture(image.data, image.format, width_mm=image.width_mm, height_mm=image.height_mm,
                             align="CENTER", **self.style)
        self._paragraph(image.caption, self.shape.small, alignment="CENTER", spacing_after_pt=6)

    def _renumber_ids(self) -> None:
        """Replace python-hwpx's random object and paragraph ids with ids numbered in document order.

        A footer's id is referenced by ``hp:footerApply/@idRef`` (a header's likewise): references follow.
        """
        renumbered: dict[str, str] = {}  # one numbering for the whole document
        for section in self.doc.sections:
            elements = list(section.element.iter())
            for element in elements:
                for attribute in ("id", "instid"):
                    value = element.get(attribute)
                    if value and value.isdigit() and value != "0":
                        new = renumbered.setdefault(value, str(len(renumbered) + 1))
                        element.set(attribute, new)
            for element in elements:
                reference = element.get("idRef")
                if reference in renumbered:
                    element.set("idRef", renumbered[reference])
            section.mark_dirty()


def _dated_zip(data: bytes, when: datetime) -> bytes:
    """The ZIP ``data`` rewritten with every entry dated ``when`` (UTC), in the same order and compression."""
    moment = max(when.astimezone(UTC).replace(tzinfo=None), datetime(1980, 1, 1))
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second // 2 * 2)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = info.compress_type
            entry.create_system = 0  # not the platform that wrote it: the same bytes on every OS
            entry.external_attr = 0
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def _render(content: ReportContent, fmt: Literal["hwpx", "hwp"], *, plugin: str, url: str | None = None) -> bytes:
    _import_hwpx()
    errors = _hwpx_errors()
    try:
        doc = _Builder(content).build()
        try:
            with _SAVE_LOCK:
                data: bytes = doc.to_bytes(format="hwp") if fmt == "hwp" else doc.to_bytes()
            return data if fmt == "hwp" else _dated_zip(data, content.captured_at)
        finally:
            doc.close()
    except errors as exc:
        raise EvidenceError(f"python-hwpx could not write the {fmt.upper()} report: {exc}", plugin=plugin,
                            url=url) from exc


def render_hwpx(content: ReportContent) -> bytes:
    """The HWPX (OWPML package) bytes of the report; the same content gives the same bytes.

    Raises:
        MissingDependencyError: python-hwpx is not installed (``pip install 'takedown[hwp]'``).
        EvidenceError: python-hwpx failed.
    """
    return _render(content, "hwpx", plugin=HwpxWriter.name)


def render_hwp(content: ReportContent) -> bytes:
    """The HWP 5.0 bytes of the report (python-hwpx's conversion of the HWPX document).

    Raises:
        MissingDependencyError: python-hwpx is not installed (``pip install 'takedown[hwp]'``).
        EvidenceError: python-hwpx failed, or the document holds content HWP 5.0 cannot express.
    """
    return _render(content, "hwp", plugin=HwpWriter.name)


class _HangulWriter:
    """What the HWPX and HWP writers share: build the content, render it, write it atomically."""

    name: ClassVar[str]
    media_type: ClassVar[str]
    filename: ClassVar[str]
    format: ClassVar[Literal["hwpx", "hwp"]]

    def __init__(self, config: ReportWriterConfig) -> None:
        _import_hwpx()
        self.config = config

    def write(self, bundle: EvidenceBundle, finding: Finding, *, out: Path, root: Path) -> Artifact:
        """Write the report into ``out`` atomically and return it as an artifact of role ``report``.

        Custody events are read from ``out / config.custody_file`` if that file exists.

        Raises:
            EvidenceError: the report could not be built or written.
        """
        content = content_for(self.config, bundle, finding, out=out, root=root)
        data = _render(content, self.format, plugin=self.name, url=finding.candidate.url)
        return write_report_file(data, out / self.filename, root=root, media_type=self.media_type,
                                 plugin=self.name, url=finding.candidate.url)


class HwpxWriter(_HangulWriter):
    """Writes ``report.hwpx``: the evidence report as an HWPX (OWPML) document for Hangul.

    Args:
        config: the agency, the language, whether to embed unblurred originals, the custody log's file name.

    Raises:
        MissingDependencyError: python-hwpx is not installed (``pip install 'takedown[hwp]'``).
    """

    name: ClassVar[str] = "hwpx"
    media_type: ClassVar[str] = "application/hwp+zip"
    filename: ClassVar[str] = "report.hwpx"
    format: ClassVar[Literal["hwpx", "hwp"]] = "hwpx"


class HwpWriter(_HangulWriter):
    """Writes ``report.hwp``: the same evidence report as an HWP 5.0 binary document.

    Args:
        config: the agency, the language, whether to embed unblurred originals, the custody log's file name.

    Raises:
        MissingDependencyError: python-hwpx is not installed (``pip install 'takedown[hwp]'``).
    """

    name: ClassVar[str] = "hwp"
    media_type: ClassVar[str] = "application/x-hwp"
    filename: ClassVar[str] = "report.hwp"
    format: ClassVar[Literal["hwpx", "hwp"]] = "hwp"
