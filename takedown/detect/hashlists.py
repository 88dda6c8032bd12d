"""Reading and writing hash lists: the files agencies, hotlines and platforms exchange hashes in.

Three formats:

``pdq``: one PDQ hash per line, as StopNCII-style exchanges, Meta's PDQ tools and python-threatexchange write
them. Each line is one of (blank lines and lines starting with ``#`` are skipped):

- ``<hex>``, ``<hex>,<quality>`` or ``<hex>,<quality>,<label>``: the last is ``pdq-photo-hasher``'s output
  (hash, quality, file name; the label may contain commas). Tabs may separate the fields instead of commas.
- ``hash=<hex>,quality=<q>,filename=<label>,...``: ``pdq-photo-hasher --details`` (other keys are ignored).
- ``pdq <hex>``: python-threatexchange's ``threatexchange hash photo`` and ``dataset --print-signals`` output.
- ``<indicator id>,<hex>,...``: python-threatexchange's ``simple.pdq`` dataset rows (the id becomes the label).

``csv``: a header row, then one hash per row. Columns: ``algorithm`` (default ``pdq``), ``hash`` (also
``value`` or python-threatexchange's ``signal_str``), ``quality``, ``reference``, ``bank``, ``source``;
python-threatexchange's ``signal_type``, ``collab``, ``category`` and ``tags`` are accepted and ignored
except ``signal_type`` (the algorithm).

``jsonl``: one JSON object per line with the same keys as the CSV columns, or the records ``takedown hash FILES
-o hashes.jsonl`` writes (``takedown.detect.hashing.HashRecord``: ``file``, ``kind``, ``size``, ``sha256``,
``md5``, ``pdq``, ``truncated``, ``error``), told apart by their ``file`` key. Such a record is expanded into its
hashes, in this order: each PDQ hash (one for an image, one per sampled frame of a video; with its quality), then
the file's SHA-256 and MD5 (a bank keeps and exports them, for partners who match exactly; its matcher looks up
PDQ hashes only and counts the others as ``other_algorithm``). The reference of each is the file's name, a
video frame's with ``#frame<index>`` after it (``clip.mp4#frame30``). A record whose ``error`` is set (the file
could not be hashed) holds nothing to import and is a bad line.

Every line is validated (hex of the right length, a quality from 0 to 100, known keys). By default a file with
any bad line is refused as a whole with ``HashListError``, which lists each problem with its line number;
``errors="skip"`` keeps the good lines and reports the bad ones in ``HashList.problems``.

What is written: ``pdq`` files hold only ``<hex>,<quality>`` (or ``<hex>``): no labels, which may name a case or
a victim, go to a partner. ``csv`` and ``jsonl`` keep every field. Writes are atomic.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from takedown.detect import hashing
from takedown.detect.banks import PDQ, BankEntry, check_bank_name, normalise_hash
from takedown.errors import UsageError
from takedown.files import atomic_output
from takedown.models import HashValue

__all__ = [
    "HashList",
    "HashListError",
    "HashListFormat",
    "HashRecord",
    "LineProblem",
    "detect_format",
    "read_hashlist",
    "write_hashlist",
]

HashListFormat: TypeAlias = Literal["pdq", "csv", "jsonl"]
CSV_COLUMNS = ("algorithm", "hash", "quality", "reference", "bank")
"""The columns ``write_hashlist`` writes to CSV, in order (``source`` is added when any record has one)."""

_SUFFIXES: dict[str, HashListFormat] = {
    ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "pdq", ".pdq": "pdq", ".tsv": "pdq",
}
_ALIASES = {"value": "hash", "signal_str": "hash", "signal_type": "algorithm"}
_KNOWN = {"algorithm", "hash", "quality", "reference", "bank", "source"}
_IGNORED = {"collab", "category", "tags"}  # python-threatexchange's dataset CSV columns we do not use
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_MAX_SHOWN = 20


class HashRecord(BaseModel):
    """One hash read from a list: what it is, its label, and the line it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    algorithm: str = PDQ
    value: str = Field(description="lower-case hex")
    quality: int | None = Field(default=None, ge=0, le=100)
    reference: str | None = Field(default=None, description="a label from the file, if it gives one")
    bank: str | None = Field(default=None, description="the bank the file assigns it to, if it does")
    source: str = ""
    line: int = Field(default=0, ge=0, description="1-based line number in the file (0: not from a file)")

    def to_entry(self, bank: str | None = None, *, source: str | None = None) -> BankEntry:
        """This record as an entry of ``bank`` (default: the record's own bank).

        The reference defaults to the hash's first 16 hex digits; the source to the record's.

        Raises:
            UsageError: no bank given and the record names none.
        """
        target = bank or self.bank
        if target is None:
            raise UsageError(f"line {self.line}: the hash names no bank; give one")
        return BankEntry(
            bank=target,
            hash=HashValue(algorithm=self.algorithm, value=self.value, quality=self.quality),
            reference=self.reference or self.value[:16],
            source=self.source if source is None else source,
        )


class LineProblem(BaseModel):
    """A line that could not be read, and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    line: int
    message: str
    text: str = Field(default="", description="the start of the line as written")

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" + (f": {self.text!r}" if self.text else "")


class HashListError(UsageError):
    """A hash list has lines that cannot be read; ``problems`` lists every one (``path``: which file)."""

    def __init__(self, path: Path, problems: Sequence[LineProblem]) -> None:
        self.path = path
        self.problems = list(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:_MAX_SHOWN])
        more = f"\n  ... and {len(self.problems) - _MAX_SHOWN} more" if len(self.problems) > _MAX_SHOWN else ""
        super().__init__(f"{path}: {len(self.problems)} line(s) cannot be read:\n{shown}{more}")


@dataclass(frozen=True)
class HashList:
    """The records read from a file, in file order, and the lines skipped (with ``errors="skip"``)."""

    path: Path
    format: HashListFormat
    records: tuple[HashRecord, ...]
    problems: tuple[LineProblem, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[HashRecord]:
        return iter(self.records)

    @overload
    def __getitem__(self, item: int) -> HashRecord: ...

    @overload
    def __getitem__(self, item: slice) -> tuple[HashRecord, ...]: ...

    def __getitem__(self, item: int | slice) -> HashRecord | tuple[HashRecord, ...]:
        return self.records[item]

    def to_entries(self, bank: str | None = None, *, source: str | None = None) -> list[BankEntry]:
        """The records as bank entries (see ``HashRecord.to_entry``).

        ``source`` defaults to each record's own source, or else to the file's path.
        """
        entries = []
        for record in self.records:
            origin = source if source is not None else (record.source or str(self.path))
            entries.append(record.to_entry(bank, source=origin))
        return entries


class _BadLine(ValueError):
    pass


# -- reading ----------------------------------------------------------------------------------------------------


def detect_format(path: Path) -> HashListFormat:
    """The format of a hash list: by its suffix, else by its first non-blank, non-comment line."""
    known = _SUFFIXES.get(path.suffix.lower())
    if known is not None:
        return known
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("{"):
                return "jsonl"
            first = re.split(r"[,\t]", line, maxsplit=1)[0].strip().lower()
            if first in _KNOWN or first in _ALIASES or first in _IGNORED:
                return "csv"
            return "pdq"
    return "pdq"


def read_hashlist(
    path: Path | str,
    *,
    format: HashListFormat | Literal["auto"] = "auto",
    errors: Literal["strict", "skip"] = "strict",
) -> HashList:
    """Read and validate every line of a hash list.

    Args:
        path: the file (UTF-8; a byte-order mark is allowed).
        format: ``"pdq"``, ``"csv"``, ``"jsonl"``, or ``"auto"`` (by suffix, then by content).
        errors: ``"strict"`` refuses a file with any bad line; ``"skip"`` keeps the good ones.

    Returns:
        The records in file order, and the problems of the lines skipped.

    Raises:
        HashListError: (strict) some lines cannot be read; it lists all of them.
        UsageError: the file cannot be opened, or an unknown format or errors mode.
    """
    path = Path(path)
    if errors not in ("strict", "skip"):
        raise UsageError(f"errors must be 'strict' or 'skip', not {errors!r}")
    try:
        chosen: HashListFormat = detect_format(path) if format == "auto" else format
        reader = {"pdq": _read_pdq, "csv": _read_csv, "jsonl": _read_jsonl}.get(chosen)
        if reader is None:
            raise UsageError(f"unknown hash list format {format!r}; available: auto, pdq, csv, jsonl")
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            records, problems = reader(fh)
    except OSError as exc:
        raise UsageError(f"cannot read hash list {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise HashListError(path, [LineProblem(line=0, message=f"not UTF-8 text ({exc.reason})")]) from exc
    if problems and errors == "strict":
        raise HashListError(path, problems)
    return HashList(path=path, format=chosen, records=tuple(records), problems=tuple(problems))


def _excerpt(text: str) -> str:
    text = text.rstrip("\r\n")
    return text if len(text) <= 80 else text[:77] + "..."


def _quality(text: str | int | None) -> int | None:
    if text is None or text == "":
        return None
    if isinstance(text, bool):
        raise _BadLine(f"quality must be an integer from 0 to 100, not {text!r}")
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise _BadLine(f"quality must be an integer from 0 to 100, not {text!r}") from None
    if not 0 <= value <= 100:
        raise _BadLine(f"quality must be from 0 to 100, not {value}")
    return value


def _record(line: int, *, algorithm: str, value: str, quality: int | None, reference: str | None,
            bank: str | None, source: str) -> HashRecord:
    try:
        normal = normalise_hash(algorithm.strip().lower(), value)
    except ValueError as exc:
        raise _BadLine(str(exc)) from None
    if bank:
        try:
            check_bank_name(bank)
        except ValueError as exc:
            raise _BadLine(str(exc)) from None
    return HashRecord(algorithm=algorithm.strip().lower(), value=normal, quality=quality,
                      reference=reference or None, bank=bank or None, source=source, line=line)


def _read_pdq(fh: io.TextIOBase) -> tuple[list[HashRecord], list[LineProblem]]:
    records, problems = [], []
    for number, raw in enumerate(fh, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            records.append(_pdq_line(number, line))
        except _BadLine as exc:
            problems.append(LineProblem(line=number, message=str(exc), text=_excerpt(line)))
    return records, problems


def _pdq_line(number: int, line: str) -> HashRecord:
    if line.lower().startswith("hash="):  # pdq-photo-hasher --details: key=value pairs
        fields = dict(part.split("=", 1) for part in line.split(",") if "=" in part)
        return _record(number, algorithm=PDQ, value=fields.get("hash", ""), quality=_quality(fields.get("quality")),
                       reference=fields.get("filename"), bank=None, source="")
    words = line.split()
    if len(words) == 2 and words[0].lower() == PDQ:  # threatexchange CLI: "pdq <hex>"
        return _record(number, algorithm=PDQ, value=words[1], quality=None, reference=None, bank=None, source="")
    separator = "\t" if "\t" in line else ","
    fields_list = [f.strip() for f in line.split(separator)]
    if len(fields_list) >= 2 and fields_list[0].isdigit() and _HEX64.match(fields_list[1]):
        # python-threatexchange simple.pdq rows: indicator id, hash, descriptor rollup...
        return _record(number, algorithm=PDQ, value=fields_list[1], quality=None, reference=fields_list[0],
                       bank=None, source="")
    if separator == ",":
        fields_list = [f.strip() for f in line.split(",", 2)]  # a file name may hold commas
    if len(fields_list) > 3:
        raise _BadLine(f"expected <hash>[,<quality>[,<label>]], got {len(fields_list)} fields")
    value = fields_list[0]
    quality = _quality(fields_list[1]) if len(fields_list) >= 2 else None
    reference = fields_list[2] if len(fields_list) == 3 else None
    return _record(number, algorithm=PDQ, value=value, quality=quality, reference=reference, bank=None, source="")


def _columns(keys: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Map each key of a header or object to its canonical name; return the unknown keys too."""
    mapping, unknown = {}, []
    for key in keys:
        name = _ALIASES.get(key.strip().lower(), key.strip().lower())
        if name in _KNOWN:
            mapping[key] = name
        elif name not in _IGNORED:
            unknown.append(key)
    return mapping, unknown


def _from_fields(number: int, fields: dict[str, object]) -> HashRecord:
    value = fields.get("hash")
    if not isinstance(value, str) or not value.strip():
        raise _BadLine("no hash")
    algorithm = fields.get("algorithm") or PDQ
    quality = fields.get("quality")
    reference, bank, source = fields.get("reference"), fields.get("bank"), fields.get("source") or ""
    for name, item in (("algorithm", algorithm), ("reference", reference), ("bank", bank), ("source", source)):
        if item is not None and not isinstance(item, str):
            raise _BadLine(f"{name} must be text, not {type(item).__name__}")
    if quality is not None and not isinstance(quality, str | int):
        raise _BadLine(f"quality must be an integer from 0 to 100, not {quality!r}")
    return _record(number, algorithm=str(algorithm), value=value, quality=_quality(quality),
                   reference=reference if isinstance(reference, str) else None,
                   bank=bank if isinstance(bank, str) else None, source=str(source))


def _read_csv(fh: io.TextIOBase) -> tuple[list[HashRecord], list[LineProblem]]:
    records: list[HashRecord] = []
    problems: list[LineProblem] = []
    rows = csv.reader(fh)
    header: list[str] | None = None
    for row in rows:
        number = rows.line_num
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = row
            mapping, unknown = _columns(header)
            if unknown:
                problems.append(LineProblem(line=number, message=f"unknown column(s): {', '.join(unknown)}"))
            if "hash" not in mapping.values():
                problems.append(LineProblem(line=number, message="the header names no hash column", text=",".join(row)))
                return records, problems
            continue
        if len(row) != len(header):
            problems.append(LineProblem(line=number, message=f"{len(row)} fields, the header has {len(header)}",
                                        text=_excerpt(",".join(row))))
            continue
        fields: dict[str, object] = {mapping[k]: v.strip() for k, v in zip(header, row, strict=True) if k in mapping}
        try:
            records.append(_from_fields(number, fields))
        except _BadLine as exc:
            problems.append(LineProblem(line=number, message=str(exc), text=_excerpt(",".join(row))))
    if header is None:
        problems.append(LineProblem(line=1, message="empty CSV: no header row"))
    return records, problems


def _from_media(number: int, data: dict[str, object]) -> list[HashRecord]:
    """The hashes of one ``takedown hash`` record (``takedown.detect.hashing.HashRecord``), one record each."""
    try:
        media = hashing.HashRecord.model_validate(data)
    except ValidationError as exc:
        why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors())
        raise _BadLine(f"not a `takedown hash` record: {why}") from None
    if media.error is not None:
        raise _BadLine(f"{media.file!r} was not hashed: {media.error}; it has no hashes to import")
    out = [
        _record(number, algorithm=value.algorithm, value=value.value, quality=_quality(value.quality),
                reference=media.file if value.frame is None else f"{media.file}#frame{value.frame}",
                bank=None, source="")
        for value in media.pdq
    ]
    out += [_record(number, algorithm=algorithm, value=digest, quality=None, reference=media.file, bank=None,
                    source="")
            for algorithm, digest in (("sha256", media.sha256), ("md5", media.md5)) if digest]
    if not out:
        raise _BadLine(f"{media.file!r} has no hashes")
    return out


def _read_jsonl(fh: io.TextIOBase) -> tuple[list[HashRecord], list[LineProblem]]:
    records, problems = [], []
    for number, raw in enumerate(fh, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise _BadLine(f"expected a JSON object, got {type(data).__name__}")
            mapping, unknown = _columns(data)
            if "file" in data and "hash" not in mapping.values():  # a `takedown hash` record: one file's hashes
                records += _from_media(number, data)
                continue
            if unknown:
                raise _BadLine(f"unknown key(s): {', '.join(sorted(unknown))}")
            records.append(_from_fields(number, {mapping[k]: v for k, v in data.items() if k in mapping}))
        except json.JSONDecodeError as exc:
            problems.append(LineProblem(line=number, message=f"not JSON: {exc.msg}", text=_excerpt(line)))
        except _BadLine as exc:
            problems.append(LineProblem(line=number, message=str(exc), text=_excerpt(line)))
    return records, problems


# -- writing ----------------------------------------------------------------------------------------------------

_Writable: TypeAlias = "HashRecord | BankEntry"


def _as_record(item: _Writable) -> HashRecord:
    if isinstance(item, HashRecord):
        return item
    return HashRecord(algorithm=item.hash.algorithm, value=item.hash.value, quality=item.hash.quality,
                      reference=item.reference, bank=item.bank, source=item.source)


def write_hashlist(items: Iterable[_Writable], path: Path | str, format: HashListFormat) -> int:
    """Write hash records or bank entries to ``path`` atomically; return how many were written.

    ``pdq`` writes ``<hex>,<quality>`` lines (``<hex>`` when the quality is unknown) and accepts only PDQ
    hashes: no labels, banks or sources leave in it. ``csv`` (header ``algorithm,hash,quality,reference,bank``,
    plus ``source`` when any record has one) and ``jsonl`` keep every field.

    Raises:
        UsageError: an unknown format, or a hash that is not PDQ in a ``pdq`` file (nothing is written).
    """
    if format not in ("pdq", "csv", "jsonl"):
        raise UsageError(f"unknown hash list format {format!r}; available: pdq, csv, jsonl")
    records = [_as_record(item) for item in items]
    if format == "pdq":
        others = sorted({r.algorithm for r in records if r.algorithm != PDQ})
        if others:
            raise UsageError(f"a pdq hash list holds only PDQ hashes, not {', '.join(others)}; write csv or jsonl")
    with atomic_output(Path(path)) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            _write_records(out, records, format)
        finally:
            out.flush()
            out.detach()  # atomic_output flushes, syncs and closes the file itself
    return len(records)


def _write_records(out: io.TextIOWrapper, records: Sequence[HashRecord], format: HashListFormat) -> None:
    if format == "pdq":
        for r in records:
            out.write(r.value if r.quality is None else f"{r.value},{r.quality}")
            out.write("\n")
    elif format == "csv":
        with_source = any(r.source for r in records)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*CSV_COLUMNS, "source"] if with_source else CSV_COLUMNS)
        for r in records:
            row = [r.algorithm, r.value, "" if r.quality is None else str(r.quality), r.reference or "", r.bank or ""]
            writer.writerow([*row, r.source] if with_source else row)
    else:
        for r in records:
            data = {"algorithm": r.algorithm, "hash": r.value, "quality": r.quality, "reference": r.reference,
                    "bank": r.bank, "source": r.source or None}
            out.write(json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False))
            out.write("\n")
