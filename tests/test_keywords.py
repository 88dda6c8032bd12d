"""The keyword detector and text normalisation: evasions, spans, phrase packs, limits and the demo posts."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from takedown.demo.site import DemoSite
from takedown.detect.keywords import (
    SHIPPED_LANGUAGES,
    KeywordConfig,
    KeywordDetector,
    PhrasePack,
    load_phrase_pack,
    romanize_hangul,
    variants,
)
from takedown.detect.normalize import normalize, skeleton
from takedown.errors import ConfigError, DetectionError, UsageError
from takedown.models import Candidate, Case, DetectionLabel
from takedown.testing import DetectorContract, sample_media

CASE = Case(id="case-kw", title="Keyword case", keywords=["minji_cam"], languages=["ko", "en"])
KOREAN_CASE = Case(id="case-ko", title="Korean keyword case", keywords=["민지"], languages=["ko"])


@pytest.fixture(scope="module")
def detector() -> KeywordDetector:
    return KeywordDetector()


def page(text: str = "", *, title: str = "", **metadata: str) -> Candidate:
    return Candidate(case_id="case-kw", site="sns.example", url="https://sns.example/post/1", title=title, text=text,
                     metadata=metadata)


# -- normalisation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("ＭＩＮＪＩ＿ＣＡＭ", "minji_cam"),  # full-width
        ("min\u200bji\u200d_c\u00adam\ufeff", "minji_cam"),  # zero-width space and joiner, soft hyphen, BOM
        ("mіnjі_cаm", "minji_cam"),  # Cyrillic і and а inside Latin words
        ("МINJI", "minji"),  # a Cyrillic capital М
        ("ㅁㅣㄴㅈㅣ", "ㅁㅣㄴㅈㅣ"),
        ("민지", "ㅁㅣㄴㅈㅣ"),  # syllables and loose jamo compare equal
        ("\u1106\u1175\u11ab\u110c\u1175", "ㅁㅣㄴㅈㅣ"),  # conjoining jamo, as macOS writes Hangul file names
        ("m\u0334\u0335i\u0336nji", "minji"),  # stacked marks that compose into nothing are dropped
        ("Nguye\u0302\u0303n", "nguyễn"),  # marks that compose stay
        ("リベンジポルノ", "りべんじぽるの"),
        ("ｶﾞｿﾞｳ", "がぞう"),  # half-width katakana with voicing marks
        ("a \t\n\u3000 b", "a b"),
        ("Скрытая камера", "скрытая камера"),  # Russian stays Russian
        ("камерa", "камера"),  # a Latin a in a Russian word goes the other way
        ("2024 m1nj1", "2024 m1nj1"),  # digits are kept: leet is the matcher's business
    ],
)
def test_normalize_folds_evasions(text: str, canonical: str) -> None:
    assert normalize(text).text == canonical


def test_each_canonical_character_maps_back_to_the_original() -> None:
    text = "＃ＭＩＮＪＩ 민\u200b지 e\u0301 ß"
    norm = normalize(text)
    assert norm.text == "#minji ㅁㅣㄴㅈㅣ é ss"  # the zero-width space is gone
    assert norm.span(0, 6) == (0, 6)
    assert text[slice(*norm.span(7, 12))] == "민\u200b지"
    assert norm.span(7, 8) == norm.span(9, 10) == (7, 8)  # the three jamo of 민 all come from 민
    assert text[slice(*norm.span(13, 14))] == "e\u0301"
    assert text[slice(*norm.span(15, 17))] == "ß"
    assert norm.at_boundary(10) and not norm.at_boundary(8)
    with pytest.raises(IndexError):
        norm.span(3, 3)


def test_normalize_reads_at_most_max_chars() -> None:
    norm = normalize("abcdef" * 10, max_chars=10)
    assert (norm.text, norm.scanned, norm.truncated) == ("abcdefabcd", 10, True)
    assert not normalize("abc", max_chars=10).truncated
    with pytest.raises(UsageError):
        normalize("abc", max_chars=-1)


def test_skeleton_drops_separators_and_reads_leet_as_letters() -> None:
    canonical = normalize("M.1.N-J1_c4m! @ 2024").text
    reduced = skeleton(canonical)
    assert reduced.text == "minjicama2o2a"  # "!" is a separator; "@", "4" and "0" are letters
    assert [canonical[int(p)] for p in reduced.positions[:4]] == ["m", "1", "n", "j"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text).text
    assert normalize(once).text == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_spans_are_ordered_and_inside_the_original(text: str) -> None:
    norm = normalize(text)
    previous = 0
    for index in range(len(norm.text)):
        start, end = norm.span(index, index + 1)
        assert previous <= start < end <= len(text)
        previous = start


# -- the detector: evasions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disguised", "evasion"),
    [
        ("ｍｉｎｊｉ＿ｃａｍ", "full_width"),
        ("m.i.n.j.i_cam", "separators"),
        ("m i n j i cam", "separators"),
        ("min-ji cam", "separators"),
        ("mіnjі_cаm", "look_alikes"),  # Cyrillic і and а
        ("m1nj1_c4m", "leet"),
        ("m1nj1_c@m", "leet"),
        ("mi\u200dnj\u200bi_cam", "invisible"),
        ("m\u0334inji_cam", "marks"),
        ("MINJI_CAM", None),
    ],
)
def test_case_keyword_is_found_through_each_evasion(detector: KeywordDetector, disguised: str,
                                                    evasion: str | None) -> None:
    text = f"새 게시물 {disguised} 다시 올려요"
    detection = detector.detect(page(text), case=CASE)
    assert detection.label is DetectionLabel.SUSPECT
    assert detection.score == KeywordConfig().case_score
    details = detection.details
    assert (details["source"], details["phrase"], details["pack"], details["field"]) == (
        "keyword", "minji_cam", "case", "text")
    start, end = (int(x) for x in details["span"].split(":"))
    assert text[start:end] == details["snippet"] == disguised
    if evasion:
        assert evasion in details["evasions"].split(", ")
    else:
        assert details["evasions"] == "none"


@pytest.mark.parametrize(
    ("disguised", "evasion"),
    [("민지", None), ("ㅁㅣㄴㅈㅣ", "jamo"), ("민 지", "separators"), ("민.지", "separators"),
     ("민\u200b지", "invisible"), ("\u1106\u1175\u11ab\u110c\u1175", "jamo")],
)
def test_hangul_keyword_is_found_as_syllables_jamo_and_spaced(detector: KeywordDetector, disguised: str,
                                                              evasion: str | None) -> None:
    text = f"어제 본 {disguised}가 올린 사진"
    hits = [h for h in detector.scan(text, keywords=["민지"]) if h.source == "keyword"]
    assert [h.snippet for h in hits] == [disguised]
    assert text[hits[0].start:hits[0].end] == disguised
    assert (evasion in hits[0].evasions) if evasion else not hits[0].evasions


@pytest.mark.parametrize(
    "text",
    [
        "The adminjicam page and the adminji cam",  # inside another word
        "이민 지원 센터가 문을 열었다",  # 민 지 across two words that follow a letter
        "민직 선생님",  # 민지 is a prefix of 민직 only in jamo
        "m i n o r changes to the j i g",
        "minjicamera",  # a Latin keyword must not end inside a word
    ],
)
def test_near_misses_are_not_keyword_hits(detector: KeywordDetector, text: str) -> None:
    assert not [h for h in detector.scan(text, keywords=["minji_cam", "민지"]) if h.source == "keyword"]


def test_every_hit_of_a_page_is_counted_and_the_first_is_reported(detector: KeywordDetector) -> None:
    candidate = page("then ｍｉｎｊｉ＿ｃａｍ again, from a hidden camera", title="minji_cam dump",
                     caption="m.i.n.j.i_cam", alt="nothing here")
    detection = detector.detect(candidate, case=CASE)
    details = detection.details
    assert (details["field"], details["span"], details["snippet"]) == ("title", "0:9", "minji_cam")
    assert details["keyword_hits"] == "3"
    assert int(details["phrase_hits"]) >= 1
    assert "keyword 'minji_cam' in caption at 0:13" in details["all_hits"]
    assert "phrase 'hidden cam' in text at 29:39" in details["all_hits"]
    assert details["context"].startswith("minji_cam dump")


def test_keyword_in_metadata_transcript_is_found(detector: KeywordDetector) -> None:
    detection = detector.detect(page(transcript="and then minji cam said hello"), case=CASE)
    assert (detection.label, detection.details["field"]) == (DetectionLabel.SUSPECT, "transcript")


def test_hashtag_and_handle_forms_of_a_keyword(detector: KeywordDetector) -> None:
    case = Case(title="Handle", keywords=["@minji_cam"])
    hits = detector.scan("#minji_cam의 새 영상", keywords=case.keywords)
    assert [(h.snippet, h.start) for h in hits if h.source == "keyword"] == [("minji_cam", 1)]


def test_hangul_keyword_is_also_found_romanized(detector: KeywordDetector) -> None:
    assert romanize_hangul("민지") == "minji"
    assert romanize_hangul("김하은 2") == "gimhaeun 2"
    detection = detector.detect(page("reposting Minji's pictures"), case=KOREAN_CASE)
    assert detection.details["variant"] == "transliteration"
    assert (detection.details["phrase"], detection.details["snippet"]) == ("민지", "Minji")
    off = KeywordDetector(KeywordConfig(transliterate=False, packs=()))
    assert off.detect(page("reposting Minji's pictures"), case=KOREAN_CASE).label is DetectionLabel.NO_MATCH


def test_short_keywords_are_skipped_and_said_so(detector: KeywordDetector) -> None:
    detection = detector.detect(page("민 is everywhere"), case=Case(title="Short", keywords=["민", " "]))
    assert detection.label is DetectionLabel.NO_MATCH
    assert detection.details["skipped_keywords"] == "'민' (shorter than 2)"


# -- generic phrases --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_each_phrase_pack_loads_and_each_of_its_phrases_matches(language: str) -> None:
    pack = load_phrase_pack(language)
    assert pack.language == language and pack.phrases
    only = KeywordDetector(KeywordConfig(packs=(language,)))
    for phrase in pack.phrases:
        detection = only.detect(page(f"» {phrase} «"), case=CASE)
        assert detection.label is DetectionLabel.SUSPECT, phrase
        assert detection.score == KeywordConfig().generic_score
        assert (detection.details["source"], detection.details["pack"]) == ("phrase", language)
        assert phrase in [h.phrase for h in only.scan(f"» {phrase} «")]


@pytest.mark.parametrize(
    ("language", "text", "phrase"),
    [
        ("en", "Watch this h.i.d.d.e.n c4mera clip", "hidden cam"),
        ("es", "subo el VIDEO FILTRADO", "video filtrado"),
        ("es", "camara oculta en el baño", "cámara oculta"),  # es folds accents
        ("ja", "ﾘﾍﾞﾝｼﾞﾎﾟﾙﾉ の話", "リベンジポルノ"),
        ("ko", "ㅁㅗㄹㅋㅏ 영상", "몰카"),
        ("ko", "몰래카메라에 찍힌", "몰래 카메라"),
        ("ru", "СКРЫТОЙ КАМЕРОЙ", "скрытой камерой"),
        ("vi", "clip quay lén ở khách sạn", "quay lén"),
        ("zh-Hans", "偷·拍视频", "偷拍"),
    ],
)
def test_generic_phrases_are_found_through_evasions(language: str, text: str, phrase: str) -> None:
    hits = KeywordDetector(KeywordConfig(packs=(language,))).scan(text)
    assert phrase in [h.phrase for h in hits]


BENIGN = {
    "en": ["The camera was hidden under leaves in the nature documentary.",
           "Our admin jingle leaked into the memo, sorry!", "I filmed the sunset with my phone yesterday."],
    "es": ["Compré una cámara nueva para el viaje a la costa.", "El agua se filtró por el techo durante la tormenta.",
           "Grabamos un video de la fiesta de cumpleaños."],
    "ja": ["情報流出の事故について会社が説明しました。", "新しいカメラで桜の写真を撮りました。",
           "動画を編集して友達に送りました。"],
    "ko": ["이민 지원 센터에서 정보 유출 사고를 설명했다.", "카메라를 새로 사서 벚꽃 사진을 찍었다.",
           "민직 선생님이 영상 편집을 가르쳐 주셨다."],
    "ru": ["Она сама купила новую камеру для отпуска.", "Вода слилась в раковину, и мы пошли гулять.",
           "Видео с концерта получилось отличным."],
    "vi": ["Tôi đăng video lên YouTube mỗi tuần.", "Hôm nay trời nóng, chúng tôi đi uống cà phê.",
           "Camera an ninh ở cửa hàng vừa được thay mới."],
    "zh-Hans": ["人才外流是一个经济问题。", "资金流出的速度放缓了。", "他用新相机在公园里拍照片。"],
}


@pytest.mark.parametrize(("language", "sentence"), [(lang, s) for lang, ss in BENIGN.items() for s in ss])
def test_ordinary_text_is_no_match(detector: KeywordDetector, language: str, sentence: str) -> None:
    detection = detector.detect(page(sentence, title=sentence[:20]), case=CASE)
    assert detection.label is DetectionLabel.NO_MATCH, detection.rationale
    assert detection.score == 0.0


def test_vietnamese_typed_without_marks_is_found_without_losing_tone_marks_elsewhere() -> None:
    vi = KeywordDetector(KeywordConfig(packs=("vi",)))
    unmarked = vi.detect(page("Clip quay len o khach san, xem ngay"), case=CASE)  # typed without any marks
    assert unmarked.label is DetectionLabel.SUSPECT
    assert (unmarked.details["phrase"], unmarked.details["variant"], unmarked.details["pack"]) == (
        "clip quay len", "unmarked", "vi")
    assert [h.phrase for h in vi.scan("lo clip nong cua ca si")] == ["lo clip", "clip nong"]
    # the marks a text does carry still count: "lên" (up) is not "lén" (secretly), and an unmarked phrase inside
    # marked text is not read as typed without marks
    for marked in ("Tôi đăng video lên YouTube mỗi tuần.", "Quay lên tầng hai để lấy đồ nhé.",
                   "Hôm nay có clip quay len ở đây"):
        assert vi.detect(page(marked), case=CASE).label is DetectionLabel.NO_MATCH, marked
    # unmarked forms that are everyday phrases too are not looked for
    for everyday in ("Toi dang video len YouTube moi tuan.", "Quay len tang hai de lay do nhe.",
                     "Camera an ninh o cua hang vua duoc thay moi.", "Em lo anh lam, nho an uong day du."):
        assert vi.detect(page(everyday), case=CASE).label is DetectionLabel.NO_MATCH, everyday
    # each field is judged on its own marks
    titled = vi.detect(page("Tin tức hôm nay về thời tiết.", title="clip rieng tu"), case=CASE)
    assert (titled.details["field"], titled.details["phrase"]) == ("title", "clip rieng tu")


def test_unmarked_phrases_must_be_written_without_marks(tmp_path: Path) -> None:
    pack_file = tmp_path / "vi-agency.toml"
    pack_file.write_text('language = "vi-agency"\nfold_marks = false\nphrases = ["quay lén"]\n'
                         'unmarked_phrases = ["quay lén"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="without diacritics"):
        PhrasePack.from_toml(pack_file)


def test_agency_packs_extra_phrases_and_labels(tmp_path: Path) -> None:
    pack_file = tmp_path / "agency.toml"
    pack_file.write_text('language = "ko-agency"\nphrases = ["지하철 몰래"]\n', encoding="utf-8")
    config = KeywordConfig(packs=(), pack_files=(pack_file,), extra_phrases=("secret lens",),
                           generic_label=DetectionLabel.SUSPECT, generic_score=0.25,
                           case_label=DetectionLabel.MATCH, case_score=1.0)
    custom = KeywordDetector(config)
    assert [p.language for p in custom.packs] == ["ko-agency", "extra"]
    first = custom.detect(page("지하철 몰래 찍은"), case=CASE)
    assert (first.label, first.score, first.details["pack"]) == (DetectionLabel.SUSPECT, 0.25, "ko-agency")
    second = custom.detect(page("via a Secret-Lens"), case=CASE)
    assert second.details["pack"] == "extra"
    keyword = custom.detect(page("minji_cam"), case=CASE)
    assert (keyword.label, keyword.score) == (DetectionLabel.MATCH, 1.0)


def test_bad_configuration_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no phrase pack ships for 'xx'"):
        KeywordDetector(KeywordConfig(packs=("xx",)))
    broken = tmp_path / "broken.toml"
    broken.write_text("phrases = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        PhrasePack.from_toml(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('phrases = "not a list"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a phrase pack"):
        PhrasePack.from_toml(wrong)
    with pytest.raises(ConfigError, match="cannot read"):
        PhrasePack.from_toml(tmp_path / "missing.toml")
    with pytest.raises(ValidationError):
        KeywordConfig(case_label=DetectionLabel.NO_MATCH)


# -- limits and edges -------------------------------------------------------------------------------------------


def test_empty_text_is_no_match(detector: KeywordDetector) -> None:
    detection = detector.detect(page(""), case=CASE)
    assert (detection.label, detection.score, detection.details) == (DetectionLabel.NO_MATCH, 0.0, {})


def test_media_is_refused_with_a_typed_error(detector: KeywordDetector) -> None:
    with pytest.raises(DetectionError):
        detector.detect(sample_media(), case=CASE)


def test_huge_text_is_read_up_to_the_limit_and_the_cut_is_noted(detector: KeywordDetector) -> None:
    filler = "ordinary words about gradients and colours, 2024. " * 60_000  # 3 MB
    late = detector.detect(page(filler + " minji_cam"), case=CASE)
    assert late.label is DetectionLabel.NO_MATCH
    assert late.details["truncated"] == f"text: read the first 1000000 of {len(filler) + 10} characters"
    early = detector.detect(page("m i n j i _ c a m " + filler), case=CASE)
    assert early.label is DetectionLabel.SUSPECT
    assert "truncated" in early.details


def test_a_page_of_repeated_near_misses_is_handled_and_the_cap_noted(detector: KeywordDetector) -> None:
    detection = detector.detect(page("xminji_cam" * 50_000 + " minji_cam"), case=CASE)
    assert detection.label is DetectionLabel.NO_MATCH  # every copy starts inside a word; the last is never reached
    assert detection.details["capped"] == "stopped after 10000 near misses of 'minji_cam' in text"


# -- variants ---------------------------------------------------------------------------------------------------


def test_variants_of_a_handle() -> None:
    found = variants("minji_cam")
    assert found[0] == "minji_cam"
    for expected in ("minjicam", "minji cam", "MINJI_CAM", "m i n j i c a m", "ｍｉｎｊｉ＿ｃａｍ", "m1nj1_c4m",
                     "minj\u0456_c\u0430m"):
        assert expected in found
    assert len(found) == len(set(found))
    assert variants("민지") == ["민지", "민 지", "민.지", "민\u200b지", "ㅁㅣㄴㅈㅣ", "minji"]
    assert "minji" not in variants("민지", transliterate=False)


@pytest.mark.parametrize("keyword", ["minji_cam", "민지", "Nguyễn Lan", "Анна Петрова", "@spring.rain_22", "李敏智"])
def test_the_detector_finds_every_variant(detector: KeywordDetector, keyword: str) -> None:
    for spelling in variants(keyword):
        hits = detector.scan(f"look: {spelling} !", keywords=[keyword])
        assert [h.phrase for h in hits if h.source == "keyword"][:1] == [keyword], spelling


_LETTERS = st.text(alphabet="abcdefghijklmnoprstuvwyz", min_size=3, max_size=8)
_FILLER = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
_INSERT = st.sampled_from(["", "", "\u200b", "\u200d", ".", " ", "-", "*", "\u2060", "_"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=_LETTERS, second=_LETTERS, before=_FILLER, after=_FILLER, data=st.data())
def test_separators_and_invisibles_inserted_into_a_keyword_still_match(
    detector: KeywordDetector, first: str, second: str, before: str, after: str, data: st.DataObject,
) -> None:
    keyword = f"{first}_{second}"
    disguised = "".join(c + data.draw(_INSERT) for c in keyword[:-1]) + keyword[-1]
    # " ... " keeps the filler's last word apart: a spelt-out keyword right after a one-letter word of another
    # script may be read in that script (see docs/keywords.md).
    text = f"{before} ... {disguised} ... {after}"
    start = len(before) + 5
    hits = [h for h in detector.scan(text, keywords=[keyword]) if h.source == "keyword"]
    assert [(h.start, h.end) for h in hits] == [(start, start + len(disguised))], (keyword, disguised)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keyword=st.one_of(_LETTERS, st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
                                           min_size=2, max_size=4)))
def test_every_variant_of_any_keyword_matches(detector: KeywordDetector, keyword: str) -> None:
    for spelling in variants(keyword):
        hits = detector.scan(f"x {spelling} x", keywords=[keyword])
        assert any(h.source == "keyword" for h in hits), (keyword, spelling)


# -- the demo case ----------------------------------------------------------------------------------------------


def test_flags_the_demo_posts_that_carry_the_case_keyword(demo_site: DemoSite, detector: KeywordDetector) -> None:
    case = Case(id="case-demo", title="Demo", keywords=["minji_cam"], languages=["ko", "en"])
    flagged: dict[str, str] = {}
    for post in demo_site.manifest.posts:
        candidate = Candidate(case_id=case.id, site="demo", url=demo_site.url_for(post.id), title=post.title,
                              text=post.text, language=post.language)
        detection = detector.detect(candidate, case=case)
        if detection.details.get("source") == "keyword":
            assert detection.label is DetectionLabel.SUSPECT
            flagged[post.id] = detection.details["evasions"]
        else:
            assert unicodedata.normalize("NFKC", "minji_cam") not in (post.title + post.text).casefold()
    assert sorted(flagged) == ["p01", "p02", "p03", "p04", "p05", "p07", "p08", "p09", "p10", "p12", "p13"]
    assert flagged["p10"] == "full_width"
    # Every post that holds a copy of the victim's media names the keyword; some that do not name it too.
    assert {p.id for p in demo_site.manifest.matching_posts()} <= set(flagged)


# -- the detector contract --------------------------------------------------------------------------------------


class TestKeywordDetectorContract(DetectorContract):
    def make_detector(self) -> KeywordDetector:
        return KeywordDetector()
