"""Batch hashing of media files into hash records: what ``takedown hash FILES... -o hashes.jsonl`` writes.

A record holds the file's name, kind, size, SHA-256, MD5 and PDQ hashes (one for an image, one per sampled second
for a video), or the error that stopped it. It never holds the media: a hash list can be shared with a platform
or a hash-sharing programme without sharing the victim's pictures.

    from takedown.detect.hashing import hash_files, write_jsonl
    count = write_jsonl(hash_files(paths, root=folder, workers=4), Path("hashes.jsonl"))
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from takedown.detect.pdq import pdq_path
from takedown.detect.references import file_digests, media_kind_of
from takedown.detect.video import vpdq_video
from takedown.errors import TakedownError, UsageError
from takedown.files import atomic_output
from takedown.models import HashValue, MediaKind

__all__ = ["HashRecord", "hash_file", "hash_files", "read_jsonl", "write_jsonl"]

Progress = Callable[[int, int, Path], None]
"""``progress(done, total, path)``: called after each file, in input order."""


class HashRecord(BaseModel):
    """The hashes of one media file, and nothing of its content."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    file: str = Field(description="the file's name, or its path relative to the root given to hash_files")
    kind: MediaKind | None = Field(default=None, description="image or video; None when not recognised")
    size: int | None = Field(default=None, ge=0, description="bytes")
    sha256: str | None = None
    md5: str | None = None
    pdq: tuple[HashValue, ...] = Field(
        default=(), description="one PDQ hash (with quality) for an image; one per sampled second for a video"
    )
    truncated: bool = Field(default=False, description="a video that stopped decoding before its end")
    error: str | None = Field(default=None, description="why the file could not be hashed (then pdq is empty)")


def _label(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def hash_file(path: Path, *, root: Path | None = None, fast: bool = False) -> HashRecord:
    """Hash one file into a record. Never raises for a bad file: the record's ``error`` says what went wrong.

    Args:
        path: an image or a video.
        root: name the file by its path relative to this folder (else by its name alone).
        fast: decode large images at reduced scale (``pdq.load_rgb``); the default gives the exact PDQ hash that
            other PDQ tools compute, which is what a shared hash list should hold.
    """
    path = Path(path)
    name = _label(path, root)
    kind = media_kind_of(path.name)
    try:
        size = path.stat().st_size
        sha256, md5 = file_digests(path)
    except OSError as exc:
        return HashRecord(file=name, kind=kind, error=f"cannot read the file: {exc.strerror or exc}")
    record = HashRecord(file=name, kind=kind, size=size, sha256=sha256, md5=md5)
    try:
        if kind is MediaKind.IMAGE:
            return record.model_copy(update={"pdq": (pdq_path(path, fast=fast),)})
        if kind is MediaKind.VIDEO:
            video = vpdq_video(path)
            return record.model_copy(update={"pdq": video.frames, "truncated": video.truncated})
    except TakedownError as exc:
        return record.model_copy(update={"error": str(exc)})
    return record.model_copy(update={"error": "not an image or a video (by its file name)"})


def _hash_one(job: tuple[Path, Path | None, bool]) -> HashRecord:
    path, root, fast = job
    return hash_file(path, root=root, fast=fast)


def hash_files(
    paths: Iterable[Path],
    *,
    root: Path | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    fast: bool = False,
) -> Iterator[HashRecord]:
    """Hash media files, yielding one record per path, in the order given (see ``hash_file``).

    Args:
        paths: the files (images and videos; anything else gives a record with an ``error``).
        root: name files by their path relative to this folder (files outside it by their name).
        progress: called as ``progress(done, total, path)`` after each file.
        workers: processes to hash in (1: in this process). Worth it for many files: each process hashes one file
            at a time on one CPU.
        fast: see ``hash_file``.

    Raises:
        UsageError: ``workers`` is less than 1.
    """
    if workers < 1:
        raise UsageError("workers must be at least 1")
    jobs = [(Path(p), root, fast) for p in paths]
    total = len(jobs)
    if workers == 1 or total <= 1:
        results: Iterable[HashRecord] = map(_hash_one, jobs)
        for done, record in enumerate(results, start=1):
            if progress is not None:
                progress(done, total, jobs[done - 1][0])
            yield record
        return
    # "spawn": a fresh interpreter per worker, safe even when the caller runs threads (an event loop, a UI).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=context) as pool:
        for done, record in enumerate(pool.map(_hash_one, jobs, chunksize=1), start=1):
            if progress is not None:
                progress(done, total, jobs[done - 1][0])
            yield record


def write_jsonl(records: Iterable[HashRecord], out: Path) -> int:
    """Write records as JSON lines to ``out`` atomically: the file is complete or untouched, never partial.

    Returns:
        How many records were written.
    """
    count = 0
    with atomic_output(Path(out)) as fh:
        for record in records:
            fh.write((record.model_dump_json(exclude_none=False) + "\n").encode("utf-8"))
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[HashRecord]:
    """The records of a file ``write_jsonl`` wrote.

    Raises:
        UsageError: a line is not a hash record (the message gives its number).
    """
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield HashRecord.model_validate_json(line)
            except ValidationError as exc:
                raise UsageError(f"{Path(path).name} line {number} is not a hash record: {exc}") from exc
