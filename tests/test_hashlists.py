"""Hash lists: every format read and written, round trips, and malformed lines reported by line number."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from takedown.detect.banks import BankEntry, HashBank
from takedown.detect.hashing import hash_file, write_jsonl
from takedown.detect.hashlists import (
    HashList,
    HashListError,
    HashRecord,
    detect_format,
    read_hashlist,
    write_hashlist,
)
from takedown.errors import UsageError
from takedown.synthetic import add_noise, encode_video, linear_gradient, png_bytes, to_image
from takedown.testing import memory_store


def pdq(n: int) -> str:
    """A deterministic 64-digit hex hash."""
    return hashlib.sha256(f"hash-{n}".encode()).hexdigest()


def records(count: int = 4) -> list[HashRecord]:
    return [HashRecord(value=pdq(n), quality=[100, 80, None, 55][n % 4], reference=f"ref-{n}", bank="victims",
                       source="hotline" if n % 2 else "") for n in range(count)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- round trips ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_csv_and_jsonl_round_trip_every_field(tmp_path: Path, fmt: str) -> None:
    items = [*records(), HashRecord(algorithm="md5", value="0" * 32, reference="file, with comma", bank="victims")]
    path = tmp_path / f"list.{fmt}"
    assert write_hashlist(items, path, fmt) == 5  # type: ignore[arg-type]
    read = read_hashlist(path)
    assert read.format == fmt and read.problems == ()
    assert [r.model_copy(update={"line": 0}) for r in read] == items
    assert [r.line for r in read] == ([2, 3, 4, 5, 6] if fmt == "csv" else [1, 2, 3, 4, 5])


def test_pdq_round_trip_keeps_hash_and_quality_only(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    write_hashlist(records(), path, "pdq")
    text = path.read_text(encoding="utf-8")
    assert text.splitlines() == [f"{pdq(0)},100", f"{pdq(1)},80", pdq(2), f"{pdq(3)},55"]
    assert "ref-" not in text and "victims" not in text and "hotline" not in text, "no labels leave in a pdq list"
    read = read_hashlist(path)
    assert [(r.value, r.quality, r.reference, r.bank) for r in read] == [
        (pdq(0), 100, None, None), (pdq(1), 80, None, None), (pdq(2), None, None, None), (pdq(3), 55, None, None)]


def test_bank_entries_can_be_written_and_imported_into_a_store(tmp_path: Path) -> None:
    entries = [BankEntry.pdq("victims", pdq(n), quality=90, reference=f"ref-{n}", source="case-12") for n in range(3)]
    path = tmp_path / "export.csv"
    write_hashlist(entries, path, "csv")
    store = memory_store()
    store.put_bank(HashBank(name="imported"))
    hashes = read_hashlist(path)
    as_entries = hashes.to_entries("imported")
    assert [(e.bank, e.reference, e.source, e.hash.quality) for e in as_entries] == [
        ("imported", f"ref-{n}", "case-12", 90) for n in range(3)]
    assert store.add_bank_entries("imported", as_entries) == 3
    assert store.add_bank_entries("imported", read_hashlist(path).to_entries("imported")) == 0, "idempotent"
    plain = write(tmp_path, "plain.txt", f"{pdq(7)}\n")
    entry = read_hashlist(plain).to_entries("imported")[0]
    assert entry.reference == pdq(7)[:16] and entry.source == str(plain)
    with pytest.raises(UsageError, match="names no bank"):
        read_hashlist(plain).to_entries()
    store.close()


def test_writes_are_atomic_and_refuse_other_algorithms_in_pdq_lists(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old content\n", encoding="utf-8")
    md5 = HashRecord(algorithm="md5", value="0" * 32)
    with pytest.raises(UsageError, match="only PDQ"):
        write_hashlist([*records(), md5], path, "pdq")
    assert path.read_text(encoding="utf-8") == "old content\n"
    with pytest.raises(UsageError, match="format"):
        write_hashlist(records(), path, "xml")  # type: ignore[arg-type]
    write_hashlist(records(2), path, "pdq")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"], "no temporary file is left behind"


# -- the PDQ line variants --------------------------------------------------------------------------------------


def test_pdq_lists_accept_the_exchange_variants(tmp_path: Path) -> None:
    h = [pdq(n) for n in range(8)]
    text = "\n".join([
        "# exported by a hotline",
        "",
        h[0],
        f"{h[1].upper()},77",
        f"{h[2]},88,photos/beach, sunset.jpg",  # pdq-photo-hasher: hash,quality,filename
        f"{h[3]}\t66\tframe-001.png",
        f"hash={h[4]},norm=128,delta=0,quality=100,filename=img.jpg",  # pdq-photo-hasher --details
        f"pdq {h[5]}",  # threatexchange hash photo
        f"1234567890,{h[6]},malicious,tag1 tag2",  # python-threatexchange simple.pdq row
        f"  {h[7]},50  ",
    ])
    path = write(tmp_path, "list.pdq", "\ufeff" + text + "\n")
    read = read_hashlist(path)
    assert [(r.value, r.quality, r.reference, r.line) for r in read] == [
        (h[0], None, None, 3), (h[1], 77, None, 4), (h[2], 88, "photos/beach, sunset.jpg", 5),
        (h[3], 66, "frame-001.png", 6), (h[4], 100, "img.jpg", 7), (h[5], None, None, 8),
        (h[6], None, "1234567890", 9), (h[7], 50, None, 10)]
    assert all(r.algorithm == "pdq" for r in read)


def test_malformed_pdq_lines_are_listed_with_their_line_numbers(tmp_path: Path) -> None:
    h = pdq(1)
    lines = [
        h,                       # 1 good
        h[:-2],                  # 2 too short
        "g" + h[1:],             # 3 not hex
        f"{h},101",              # 4 quality too high
        f"{h},-3",               # 5 quality negative
        f"{h},high",             # 6 quality not a number
        f"{h}\t50\tname\textra",  # 7 too many tab fields
        f"{pdq(2)},90",          # 8 good
        h + "00",                # 9 too long
    ]
    path = write(tmp_path, "bad.txt", "\n".join(lines) + "\n")
    with pytest.raises(HashListError) as caught:
        read_hashlist(path)
    error = caught.value
    assert [p.line for p in error.problems] == [2, 3, 4, 5, 6, 7, 9]
    assert isinstance(error, UsageError) and error.path == path
    message = str(error)
    assert "7 line(s) cannot be read" in message and "line 4: quality must be from 0 to 100, not 101" in message
    assert "line 2: a pdq hash is 64 hex digits, got 62" in message
    skipped = read_hashlist(path, errors="skip")
    assert [r.line for r in skipped] == [1, 8]
    assert [p.line for p in skipped.problems] == [2, 3, 4, 5, 6, 7, 9]
    assert skipped.problems[1].text.startswith("g")


def test_long_error_lists_are_shortened(tmp_path: Path) -> None:
    path = write(tmp_path, "junk.txt", "\n".join(f"junk {n}" for n in range(30)) + "\n")
    with pytest.raises(HashListError, match=r"and 10 more") as caught:
        read_hashlist(path)
    assert len(caught.value.problems) == 30


# -- CSV and JSONL ----------------------------------------------------------------------------------------------


def test_csv_columns_aliases_and_threatexchange_exports(tmp_path: Path) -> None:
    ours = write(tmp_path, "a.csv", f"hash,quality\n{pdq(1)},90\n{pdq(2)},\n")
    assert [(r.value, r.quality, r.algorithm) for r in read_hashlist(ours)] == [(pdq(1), 90, "pdq"),
                                                                                 (pdq(2), None, "pdq")]
    te = write(tmp_path, "te.csv", "collab,signal_type,signal_str,category,tags\n"
                                   f"Sample Data,pdq,{pdq(3)},ADVERSARIAL,tag1 tag2\n")
    assert [(r.value, r.algorithm, r.bank) for r in read_hashlist(te)] == [(pdq(3), "pdq", None)]
    reordered = write(tmp_path, "b.csv", f"bank,reference,value,algorithm\nvictims,ref-1,{'A' * 32},MD5\n")
    assert [(r.algorithm, r.value, r.bank) for r in read_hashlist(reordered)] == [("md5", "a" * 32, "victims")]


def test_malformed_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", "\n".join([
        "algorithm,hash,quality,reference,bank,colour",
        f"pdq,{pdq(1)},90,r,victims,red",          # 2 good
        f"pdq,{pdq(2)},90,r,victims",              # 3 too few fields
        f"pdq,{pdq(3)[:10]},90,r,victims,red",     # 4 short hash
        f"pdq,{pdq(4)},999,r,victims,red",         # 5 bad quality
        f"pdq,{pdq(5)},90,r,Victims Bank,red",     # 6 bad bank name
        "pdq,,90,r,victims,red",                   # 7 no hash
    ]) + "\n")
    with pytest.raises(HashListError) as caught:
        read_hashlist(path)
    assert [p.line for p in caught.value.problems] == [1, 3, 4, 5, 6, 7]
    assert "unknown column(s): colour" in str(caught.value)
    assert [r.line for r in read_hashlist(path, errors="skip")] == [2]
    no_hash = write(tmp_path, "nohash.csv", "algorithm,quality\npdq,90\n")
    with pytest.raises(HashListError, match="no hash column"):
        read_hashlist(no_hash)
    with pytest.raises(HashListError, match="no header"):
        read_hashlist(write(tmp_path, "empty.csv", "\n\n"))


def test_malformed_jsonl(tmp_path: Path) -> None:
    good = {"hash": pdq(1), "quality": 90, "reference": "r", "bank": "victims"}
    path = write(tmp_path, "bad.jsonl", "\n".join([
        json.dumps(good),                                   # 1
        "{not json",                                        # 2
        json.dumps([pdq(2)]),                               # 3 not an object
        json.dumps({**good, "qualty": 80}),                 # 4 unknown key (a typo)
        json.dumps({**good, "quality": 90.5}),              # 5 float quality
        json.dumps({**good, "reference": 7}),               # 6 reference not text
        json.dumps({"value": pdq(3), "algorithm": "pdq"}),  # 7 good, with the alias
        json.dumps({**good, "quality": True}),              # 8 boolean quality
    ]) + "\n")
    with pytest.raises(HashListError) as caught:
        read_hashlist(path)
    assert [p.line for p in caught.value.problems] == [2, 3, 4, 5, 6, 8]
    assert "unknown key(s): qualty" in str(caught.value)
    assert [r.value for r in read_hashlist(path, errors="skip")] == [pdq(1), pdq(3)]


# -- what `takedown hash` writes --------------------------------------------------------------------------------


def _synthetic_png(path: Path, seed: int) -> Path:
    """A noisy gradient (synthetic: nothing resembling a person), textured enough for a real PDQ quality."""
    rng = np.random.default_rng(seed)
    path.write_bytes(png_bytes(add_noise(to_image(linear_gradient(160, 120, (20, 40, 200), (230, 190, 30), 35)),
                                         rng, 40)))
    return path


def test_takedown_hash_records_are_read_as_their_hashes(tmp_path: Path) -> None:
    image = _synthetic_png(tmp_path / "still.png", seed=1)
    (tmp_path / "notes.txt").write_text("not media", encoding="utf-8")
    hashed = [hash_file(image), hash_file(tmp_path / "notes.txt"), hash_file(tmp_path / "gone.jpg")]
    out = tmp_path / "hashes.jsonl"
    write_jsonl(hashed, out)
    data = image.read_bytes()
    pdq_hash = hashed[0].pdq[0]
    assert pdq_hash.quality is not None and pdq_hash.quality > 0
    expected = [("pdq", pdq_hash.value, pdq_hash.quality, "still.png"),
                ("sha256", hashlib.sha256(data).hexdigest(), None, "still.png"),
                ("md5", hashlib.md5(data).hexdigest(), None, "still.png")]

    with pytest.raises(HashListError) as refused:  # strict: the files that were not hashed refuse the list
        read_hashlist(out)
    message = str(refused.value)
    assert "line 2: 'notes.txt' was not hashed: not an image or a video (by its file name); it has no hashes to" \
           " import" in message
    assert "line 3: 'gone.jpg' was not hashed: cannot read the file" in message
    read = read_hashlist(out, errors="skip")
    assert read.format == "jsonl" and [p.line for p in read.problems] == [2, 3]
    assert [(r.algorithm, r.value, r.quality, r.reference) for r in read] == expected
    assert {r.line for r in read} == {1}

    store = memory_store()
    store.put_bank(HashBank(name="victims"))
    assert store.add_bank_entries("victims", read.to_entries("victims")) == 3
    assert sorted((e.hash.algorithm, e.reference, e.source) for e in store.bank_entries("victims")) == sorted(
        (algorithm, "still.png", str(out)) for algorithm in ("pdq", "sha256", "md5"))
    store.close()


def test_a_takedown_hash_video_record_gives_one_pdq_hash_per_sampled_frame(tmp_path: Path) -> None:
    pytest.importorskip("av")
    clip = tmp_path / "clip.mp4"
    arrays = (np.asarray(add_noise(to_image(linear_gradient(128, 96, (30, 60, 220), (240, 180, 40), 12 * i)),
                                   np.random.default_rng(i), 25)) for i in range(25))  # 2.5 s at 10 fps
    clip.write_bytes(encode_video(arrays, bit_rate=400_000))
    record = hash_file(clip)
    assert record.error is None and [h.frame for h in record.pdq] == [0, 10, 20]
    out = tmp_path / "hashes.jsonl"
    write_jsonl([record, hash_file(_synthetic_png(tmp_path / "still.png", seed=2))], out)
    read = read_hashlist(out)
    data = clip.read_bytes()
    assert [(r.algorithm, r.value, r.quality, r.reference) for r in read if r.line == 1] == [
        *(("pdq", h.value, h.quality, f"clip.mp4#frame{h.frame}") for h in record.pdq),
        ("sha256", hashlib.sha256(data).hexdigest(), None, "clip.mp4"),
        ("md5", hashlib.md5(data).hexdigest(), None, "clip.mp4"),
    ]
    assert [r.reference for r in read if r.line == 2] == ["still.png"] * 3


def test_malformed_takedown_hash_records(tmp_path: Path) -> None:
    good = {"file": "a.png", "kind": "image", "sha256": hashlib.sha256(b"a").hexdigest(), "pdq": []}
    path = write(tmp_path, "hashes.jsonl", "\n".join([
        json.dumps(good),                                                                  # 1 sha256 only: fine
        json.dumps({**good, "colour": "red"}),                                             # 2 unknown key
        json.dumps({**good, "sha256": "abc"}),                                             # 3 not a SHA-256
        json.dumps({**good, "pdq": [{"algorithm": "pdq", "value": pdq(1), "quality": 101}]}),  # 4 bad quality
        json.dumps({"file": "b.png", "pdq": []}),                                          # 5 no hashes at all
    ]) + "\n")
    with pytest.raises(HashListError) as caught:
        read_hashlist(path)
    assert [p.line for p in caught.value.problems] == [2, 3, 4, 5]
    assert "line 2: not a `takedown hash` record: colour: Extra inputs are not permitted" in str(caught.value)
    assert "line 5: 'b.png' has no hashes" in str(caught.value)
    assert [(r.algorithm, r.reference) for r in read_hashlist(path, errors="skip")] == [("sha256", "a.png")]


# -- formats and files ------------------------------------------------------------------------------------------


def test_format_detection(tmp_path: Path) -> None:
    assert detect_format(write(tmp_path, "x.CSV", "")) == "csv"
    assert detect_format(write(tmp_path, "x.ndjson", "")) == "jsonl"
    assert detect_format(write(tmp_path, "x.tsv", "")) == "pdq"
    assert detect_format(write(tmp_path, "x.dat", "# c\n\n{\"hash\": 1}\n")) == "jsonl"
    assert detect_format(write(tmp_path, "y.dat", "hash,quality\n")) == "csv"
    assert detect_format(write(tmp_path, "z.dat", f"{pdq(1)},90\n")) == "pdq"
    assert detect_format(write(tmp_path, "e.dat", "")) == "pdq"
    forced = read_hashlist(write(tmp_path, "list.csv", f"{pdq(1)},90\n"), format="pdq")
    assert forced.format == "pdq" and forced[0].quality == 90 and isinstance(forced, HashList)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        read_hashlist(tmp_path / "missing.txt")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    with pytest.raises(HashListError, match="not UTF-8"):
        read_hashlist(binary)
    with pytest.raises(UsageError, match="errors"):
        read_hashlist(binary, errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="format"):
        read_hashlist(write(tmp_path, "a.txt", ""), format="xml")  # type: ignore[arg-type]
