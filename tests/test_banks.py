"""Hash banks: the models, persistence in the SQLite store (migration 2), and the matcher's decisions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from takedown.detect.banks import BankEntry, BankKind, BankMatcher, HashBank, MatcherConfig
from takedown.detect.index import faiss_available, unpack_hashes
from takedown.errors import NotFoundError, UsageError
from takedown.models import HashValue, MatchedReference
from takedown.store.sqlite import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, SQLiteCaseStore
from takedown.testing import memory_store, sample_case

BACKENDS = ["numpy", pytest.param("faiss", marks=pytest.mark.skipif(not faiss_available(), reason="no faiss"))]
RNG = np.random.default_rng(2024)
BASE = RNG.integers(0, 256, size=(4, 32), dtype=np.uint8)


def near(code: np.ndarray, bits: int, *, offset: int = 0) -> str:
    """The hex of ``code`` with ``bits`` bits flipped, starting at bit ``offset``."""
    out = code.copy()
    for bit in range(offset, offset + bits):
        out[bit // 8] ^= np.uint8(1 << (bit % 8))
    return unpack_hashes(out[None, :])[0]


def hex_of(code: np.ndarray) -> str:
    return near(code, 0)


def entry(bank: str, value: str, reference: str, quality: int | None = 90) -> BankEntry:
    return BankEntry.pdq(bank, value, quality=quality, reference=reference, source="test")


# -- models -----------------------------------------------------------------------------------------------------


def test_bank_names_and_settings_are_validated() -> None:
    bank = HashBank(name="stopncii_2025", description="imported", kind=BankKind.NEGATIVE, max_distance=20)
    assert bank.kind is BankKind.NEGATIVE and bank.min_quality == 50 and bank.active
    for bad in ("Victims", "1bank", "with-dash", "", "x" * 65):
        with pytest.raises(ValidationError, match="lower_snake_case"):
            HashBank(name=bad)
    with pytest.raises(ValidationError):
        HashBank(name="b", max_distance=257)
    with pytest.raises(ValidationError):
        HashBank(name="b", min_quality=101)
    with pytest.raises(ValidationError):
        HashBank(name="b", kind="maybe")


def test_entries_are_normalised_and_validated() -> None:
    upper = BankEntry.pdq("bank", "AB" * 32, quality=80)
    assert upper.hash.value == "ab" * 32 and upper.reference == "ab" * 8
    md5 = BankEntry(bank="bank", hash=HashValue(algorithm="md5", value="0" * 32), reference="file-1")
    assert md5.hash.quality is None
    for value in ("ab" * 31, "zz" * 32, ""):
        with pytest.raises(ValidationError):
            BankEntry.pdq("bank", value, quality=80)
    with pytest.raises(ValidationError, match="quality"):
        BankEntry.pdq("bank", "ab" * 32, quality=101)
    with pytest.raises(ValidationError, match="lower_snake_case"):
        BankEntry(bank="bank", hash=HashValue(algorithm="PDQ", value="ab" * 32), reference="r")
    with pytest.raises(ValidationError, match="lower_snake_case"):
        BankEntry.pdq("Bad Bank", "ab" * 32, quality=80)


# -- the matcher ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_positive_matches_use_each_banks_threshold(backend: str) -> None:
    tight = HashBank(name="tight", max_distance=10)
    loose = HashBank(name="loose", max_distance=31)
    matcher = BankMatcher(
        [(tight, [entry("tight", hex_of(BASE[0]), "tight-ref")]),
         (loose, [entry("loose", hex_of(BASE[0]), "loose-ref"), entry("loose", hex_of(BASE[1]), "other")])],
        MatcherConfig(backend=backend),
    )
    assert matcher.match_hash(near(BASE[0], 5), 90) == [
        MatchedReference(bank="tight", reference="tight-ref", algorithm="pdq", distance=5.0),
        MatchedReference(bank="loose", reference="loose-ref", algorithm="pdq", distance=5.0),
    ]
    assert matcher.match_hash(near(BASE[0], 20), 90) == [
        MatchedReference(bank="loose", reference="loose-ref", algorithm="pdq", distance=20.0)
    ]
    assert matcher.match_hash(near(BASE[0], 31), 90)[0].distance == 31.0
    assert matcher.match_hash(near(BASE[0], 32), 90) == []
    assert matcher.match_hash(hex_of(BASE[2]), 90) == []
    assert "tight(positive, 1)" in repr(matcher)


def test_the_closest_entry_is_reported_then_the_earliest() -> None:
    bank = HashBank(name="refs")
    entries = [entry("refs", near(BASE[0], 9), "far"), entry("refs", near(BASE[0], 3), "first-close"),
               entry("refs", near(BASE[0], 3, offset=100), "second-close")]
    matcher = BankMatcher([(bank, entries)])
    assert [m.reference for m in matcher.match_hash(hex_of(BASE[0]), 90)] == ["first-close"]


def test_quality_floors_apply_to_queries_and_entries() -> None:
    strict = HashBank(name="strict", min_quality=70)
    lenient = HashBank(name="lenient", min_quality=30)
    matcher = BankMatcher([
        (strict, [entry("strict", hex_of(BASE[0]), "s"), entry("strict", hex_of(BASE[1]), "too-blurry", quality=60),
                  entry("strict", hex_of(BASE[2]), "unknown-quality", quality=None)]),
        (lenient, [entry("lenient", hex_of(BASE[0]), "l")]),
    ])
    assert [m.bank for m in matcher.match_hash(hex_of(BASE[0]), 50)] == ["lenient"]
    assert [m.bank for m in matcher.match_hash(hex_of(BASE[0]), 80)] == ["strict", "lenient"]  # as given
    assert matcher.match_hash(hex_of(BASE[0]), 20) == []
    assert matcher.match_hash(hex_of(BASE[1]), 100) == [], "an entry below the bank's floor is not indexed"
    assert matcher.match_hash(hex_of(BASE[2]), 100)[0].reference == "unknown-quality"
    assert [m.bank for m in matcher.match(hex_of(BASE[0]), None).matches] == ["strict", "lenient"]
    assert matcher.stats["strict"].indexed == 2 and matcher.stats["strict"].low_quality == 1


def _suppression_matcher(mode: str) -> BankMatcher:
    victims = HashBank(name="victims")
    benign = HashBank(name="benign", kind=BankKind.NEGATIVE, max_distance=31)
    # The benign look-alike lies 24 bits from the victim's hash.
    return BankMatcher(
        [(victims, [entry("victims", hex_of(BASE[0]), "victim-photo")]),
         (benign, [entry("benign", near(BASE[0], 24), "stock-photo")])],
        MatcherConfig(suppression=mode),
    )


def test_a_copy_of_the_known_false_positive_is_suppressed() -> None:
    matcher = _suppression_matcher("nearest")
    query = near(BASE[0], 22)  # 2 bits from the benign image, 22 from the victim's
    result = matcher.match(query, 90)
    assert not result.matched and matcher.match_hash(query, 90) == []
    assert result.suppressed == (MatchedReference(bank="victims", reference="victim-photo", algorithm="pdq",
                                                  distance=22.0),)
    assert result.negatives == (MatchedReference(bank="benign", reference="stock-photo", algorithm="pdq",
                                                 distance=2.0),)


def test_a_copy_of_the_victims_media_near_a_false_positive_is_kept() -> None:
    nearest = _suppression_matcher("nearest")
    query = near(BASE[0], 2)  # 2 bits from the victim's, 22 from the benign image: both within 31
    result = nearest.match(query, 90)
    assert [m.reference for m in result.matches] == ["victim-photo"]
    assert [m.distance for m in result.negatives] == [22.0] and result.suppressed == ()
    tie = nearest.match(near(BASE[0], 12), 90)  # 12 bits from each: a tie goes to suppression
    assert not tie.matched and len(tie.suppressed) == 1
    strict = _suppression_matcher("any")
    assert strict.match_hash(query, 90) == [], "with suppression='any' every negative match suppresses"
    assert strict.match(query, 90).suppressed[0].reference == "victim-photo"


def test_negative_banks_have_their_own_threshold_and_floor() -> None:
    victims = HashBank(name="victims")
    benign = HashBank(name="benign", kind=BankKind.NEGATIVE, max_distance=4, min_quality=95)
    look_alike = near(BASE[0], 10)  # 10 bits from the victim's hash
    matcher = BankMatcher([(victims, [entry("victims", hex_of(BASE[0]), "v")]),
                           (benign, [entry("benign", look_alike, "b", quality=100)])])
    assert matcher.match_hash(near(BASE[0], 5, offset=100), 96)[0].reference == "v", "15 bits from the look-alike"
    assert matcher.match_hash(look_alike, 96) == [], "the look-alike itself: suppressed"
    assert matcher.match_hash(look_alike, 90)[0].reference == "v", "below the negative bank's quality floor"
    blurry = BankMatcher([(victims, [entry("victims", hex_of(BASE[0]), "v")]),
                          (benign, [entry("benign", look_alike, "b", quality=90)])])
    assert blurry.match_hash(look_alike, 96)[0].reference == "v", "an entry below the floor is not indexed"


def test_match_many_agrees_with_match_and_validates() -> None:
    bank = HashBank(name="refs")
    matcher = BankMatcher([(bank, [entry("refs", hex_of(code), f"ref-{i}") for i, code in enumerate(BASE)])])
    queries = [near(BASE[i % 4], i * 3) for i in range(12)]
    qualities: list[int | None] = [90, 40, None, 100] * 3
    assert matcher.match_many(queries, qualities) == [matcher.match(q, k) for q, k in zip(queries, qualities,
                                                                                       strict=True)]
    with pytest.raises(UsageError, match="qualities"):
        matcher.match_many(queries, qualities[:-1])
    for bad_quality in (101, -1, True):
        with pytest.raises(UsageError, match="quality"):
            matcher.match(queries[0], bad_quality)
    with pytest.raises(UsageError):
        matcher.match_hash("not a hash", 90)
    with pytest.raises(UsageError, match="twice"):
        BankMatcher([(bank, []), (bank, [])])


def test_entries_of_other_banks_and_algorithms_are_left_out() -> None:
    bank = HashBank(name="refs")
    md5 = BankEntry(bank="refs", hash=HashValue(algorithm="md5", value="0" * 32), reference="m")
    matcher = BankMatcher([(bank, [md5, entry("other", hex_of(BASE[0]), "x"), entry("refs", hex_of(BASE[1]), "y")])])
    assert matcher.stats["refs"].other_algorithm == 2 and matcher.stats["refs"].indexed == 1
    assert matcher.match_hash(hex_of(BASE[0]), 90) == []
    empty = BankMatcher([(HashBank(name="empty"), [])])
    assert empty.match_hash(hex_of(BASE[0]), 90) == []


# -- persistence ------------------------------------------------------------------------------------------------


def test_banks_persist_in_a_store_file_and_feed_the_matcher(tmp_path: Path) -> None:
    path = tmp_path / "takedown.sqlite"
    with SQLiteCaseStore(path) as store:
        store.put_bank(HashBank(name="victims", description="case 12 references"))
        store.put_bank(HashBank(name="benign", kind=BankKind.NEGATIVE))
        store.put_bank(HashBank(name="old_import", active=False))
        assert store.add_bank_entries("victims", [entry("victims", hex_of(BASE[0]), "v0"),
                                                  entry("victims", hex_of(BASE[1]), "v1")]) == 2
        store.add_bank_entries("benign", [entry("benign", hex_of(BASE[2]), "b")])
        store.add_bank_entries("old_import", [entry("old_import", hex_of(BASE[3]), "o")])
        many = [entry("victims", unpack_hashes(RNG.integers(0, 256, (1, 32), dtype=np.uint8))[0], f"bulk-{i}")
                for i in range(12_000)]  # more than two pages
        assert store.add_bank_entries("victims", many) == 12_000
    with SQLiteCaseStore(path) as store:
        assert store.count_bank_entries("victims") == 12_002
        assert [e.reference for e in store.bank_entries("victims")][:3] == ["v0", "v1", "bulk-0"]
        matcher = BankMatcher.from_store(store)
        assert [b.name for b in matcher.banks] == ["benign", "victims"], "retired banks are not matched"
        assert matcher.match_hash(near(BASE[1], 7), 90)[0].reference == "v1"
        assert matcher.match_hash(hex_of(BASE[2]), 90) == []
        assert matcher.match_hash(hex_of(BASE[3]), 90) == []
        named = BankMatcher.from_store(store, ["old_import"])
        assert named.match_hash(hex_of(BASE[3]), 90)[0].reference == "o"
        with pytest.raises(NotFoundError):
            BankMatcher.from_store(store, ["missing"])


def test_migration_2_upgrades_a_version_1_store(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MIGRATIONS[0])
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    case = sample_case()
    db.execute("INSERT INTO cases (id, created_at, data) VALUES (?, ?, ?)",
               (case.id, case.created_at.isoformat(), case.model_dump_json()))
    db.close()
    with SQLiteCaseStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 2
        assert store.get_case(case.id) == case
        store.put_bank(HashBank(name="victims"))
        assert store.add_bank_entries("victims", [entry("victims", hex_of(BASE[0]), "v")]) == 1
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'bank_entries_bank_seq'").fetchone()[0] == 1
    db.close()


def test_entries_must_name_an_existing_bank_in_sqlite() -> None:
    store = memory_store()
    with pytest.raises(NotFoundError, match="no hash bank"):
        store.add_bank_entries("nope", [entry("nope", hex_of(BASE[0]), "r")])
    store.put_bank(HashBank(name="victims"))
    with pytest.raises(UsageError, match="cannot be added"):
        store.add_bank_entries("victims", [entry("victims", hex_of(BASE[0]), "r"), entry("x", hex_of(BASE[1]), "s")])
    assert store.count_bank_entries("victims") == 0
    store.close()
