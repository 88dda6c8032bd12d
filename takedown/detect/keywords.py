"""The keyword detector: a case's own keywords and generic phrases, found in page text through the usual evasions.

Two kinds of phrase are looked for in a candidate's title, text and the ``caption``, ``alt`` and ``transcript``
entries of its metadata:

- the case's keywords (a name, a handle, a file name such as ``minji_cam``), however they are disguised;
- generic phrases typical of posts that spread intimate images without consent (``hidden camera``, ``몰카``,
  ``盗撮``), from phrase packs shipped per language (``takedown/detect/phrases/<lang>.toml``) or supplied by the
  agency.

A keyword hit makes the page ``suspect`` with a high score, a generic phrase alone ``suspect`` with a lower one;
both labels and scores are configurable. A keyword alone never makes a ``match`` unless configured to: a name in a
post is a reason for an officer to look, not proof.

How matching works. Text and phrases are both put through :func:`~takedown.detect.normalize.normalize`. A phrase is
then a sequence of letter units and gaps. A letter unit matches its own letter and, for Latin letters, the leet
digits and symbols that stand for it (``4`` and ``@`` for ``a``) and (unless the pack says otherwise) the same
letter with any diacritic. Between the letters of a case keyword up to ``max_separators`` separator characters
(spaces, punctuation, symbols) may stand, so ``m.i.n.j.i_cam``, ``m i n j i cam`` and ``minjicam`` are all
``minji_cam``; between the letters of one word of a generic phrase only up to two joining marks (``.``, ``-``,
``*``, ...) may, so a phrase is not found across two unrelated words. A phrase that starts with a Latin, Cyrillic or
Greek letter must not start inside a word of that script, and a Latin keyword must not end inside one (so
``minji`` is not found in ``adminjive``); Hangul, kana, Chinese and Cyrillic endings are left open, for particles
and inflections (``민지가``, ``Марии``). A match must start and end
on whole original characters (``민지`` is not found in ``민직``). A keyword spelt out with spaces (``m i n j i``,
``민 지``) must not directly follow a letter (``이민 지원`` does not hold ``민지``).

Speed: every phrase is first looked up as a plain substring of the text's skeleton
(:func:`~takedown.detect.normalize.skeleton`), and only the places found are checked against the rules above, so a
1 MB page takes a fraction of a second.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from takedown.detect.normalize import (
    DEFAULT_MAX_CHARS,
    LEET,
    NormalizedText,
    Skeleton,
    normalize,
    script_of,
    skeleton,
    strip_marks,
)
from takedown.errors import ConfigError, DetectionError
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, Media

__all__ = [
    "SHIPPED_LANGUAGES",
    "KeywordConfig",
    "KeywordDetector",
    "KeywordHit",
    "PhrasePack",
    "load_phrase_pack",
    "romanize_hangul",
    "variants",
]

SHIPPED_LANGUAGES: tuple[str, ...] = ("en", "es", "ja", "ko", "ru", "vi", "zh-Hans")
"""The languages of the phrase packs that ship with takedown."""

_Frozen = ConfigDict(frozen=True, extra="forbid", defer_build=True)
_SEPARATOR = r"(?:_|[^\w@$])"  # anything but a letter or digit ("@" and "$" are leet letters, never separators)
_JOINER = r"[.\-_*·•・‧'’`~|/\\+^=:#]"  # marks that may split one word of a generic phrase
_LETTER = r"(?:[^\W_]|[@$])"  # whatever has a skeleton: a letter, a digit, or a leet symbol
_MAX_CANDIDATES = 10_000  # places checked per phrase and field; keeps a page of repeated near-misses cheap
_CONTEXT = 40


class PhrasePack(BaseModel):
    """Generic phrases of one language: short, factual, non-graphic words of NCII distribution posts."""

    model_config = _Frozen

    language: str = Field(description="BCP 47 tag, or any label for an agency's own pack")
    phrases: tuple[str, ...]
    fold_marks: bool = Field(
        default=True,
        description="whether a phrase letter also matches that letter with other diacritics (false for "
        "Vietnamese, where 'lén' (secretly) and 'lên' (up) are different words)",
    )
    unmarked_phrases: tuple[str, ...] = Field(
        default=(),
        description="phrases typed without diacritics ('clip quay len'), looked for only in a field that carries no "
        "diacritic at all (typed without marks); for a pack with fold_marks false, list only phrases whose unmarked "
        "form is not also an everyday phrase",
    )
    description: str = ""

    @field_validator("unmarked_phrases")
    @classmethod
    def _without_marks(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        marked = [p for p in phrases if _typed_with_marks(normalize(p, max_chars=None).text)]
        if marked:
            raise ValueError(f"unmarked_phrases must be written without diacritics: {marked}")
        return phrases

    @classmethod
    def from_toml(cls, path: Path | str) -> PhrasePack:
        """Read a pack from a TOML file with ``language``, ``phrases`` and optionally ``fold_marks``,
        ``unmarked_phrases`` and ``description``.

        Raises:
            ConfigError: the file cannot be read, is not TOML, or does not describe a pack.
        """
        path = Path(path)
        try:
            return cls._parse(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise ConfigError(f"cannot read phrase pack {path}: {exc}") from exc

    @classmethod
    def _parse(cls, text: str, where: str) -> PhrasePack:
        try:
            return cls.model_validate(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"phrase pack {where} is not valid TOML: {exc}") from exc
        except ValidationError as exc:
            raise ConfigError(f"phrase pack {where} is not a phrase pack: {exc}") from exc


def load_phrase_pack(language: str) -> PhrasePack:
    """The phrase pack shipped for ``language`` (one of :data:`SHIPPED_LANGUAGES`).

    Raises:
        ConfigError: no pack ships for that language.
    """
    if language not in SHIPPED_LANGUAGES:
        raise ConfigError(f"no phrase pack ships for {language!r}; shipped: {', '.join(SHIPPED_LANGUAGES)}")
    return _shipped_pack(language)


@cache
def _shipped_pack(language: str) -> PhrasePack:
    resource = resources.files("takedown.detect").joinpath("phrases", f"{language}.toml")
    return PhrasePack._parse(resource.read_text(encoding="utf-8"), f"phrases/{language}.toml")


class KeywordConfig(BaseModel):
    """What the keyword detector looks for and what a hit is worth."""

    model_config = _Frozen

    packs: tuple[str, ...] = Field(default=SHIPPED_LANGUAGES, description="shipped phrase packs to load")
    pack_files: tuple[Path, ...] = Field(default=(), description="an agency's own packs (TOML, as shipped)")
    extra_phrases: tuple[str, ...] = Field(default=(), description="more generic phrases, in any language")
    case_score: float = Field(default=0.9, ge=0.0, le=1.0, description="score of a hit on a case keyword")
    generic_score: float = Field(default=0.4, ge=0.0, le=1.0, description="score of generic phrases alone")
    case_label: Literal[DetectionLabel.MATCH, DetectionLabel.SUSPECT] = DetectionLabel.SUSPECT
    generic_label: Literal[DetectionLabel.MATCH, DetectionLabel.SUSPECT] = DetectionLabel.SUSPECT
    fields: tuple[str, ...] = Field(
        default=("title", "text", "caption", "alt", "transcript"),
        description="what to read: the candidate's 'title' and 'text', or keys of its metadata",
    )
    max_chars: int = Field(default=DEFAULT_MAX_CHARS, ge=1, description="characters read per field")
    max_separators: int = Field(default=3, ge=0, le=8, description="separators allowed between keyword letters")
    min_keyword_length: int = Field(
        default=2, ge=1, description="shorter keywords (letters and digits; a Hangul syllable is one) are skipped",
    )
    transliterate: bool = Field(default=True, description="also look for Hangul keywords in Revised Romanization")
    max_hits: int = Field(default=20, ge=1, description="hits recorded per phrase and field, and in the details")


class KeywordHit(BaseModel):
    """One place where a keyword or phrase was found."""

    model_config = _Frozen

    source: Literal["keyword", "phrase"]
    phrase: str = Field(description="the keyword or phrase as given")
    pack: str = Field(description="'case' for a case keyword, else the phrase pack's language ('extra')")
    variant: str = Field(
        default="", description="'transliteration' when the romanized keyword matched, 'unmarked' for a phrase "
        "typed without diacritics (a pack's unmarked_phrases)",
    )
    field: str
    start: int = Field(ge=0, description="where the match starts in the field's original text")
    end: int = Field(ge=0)
    snippet: str = Field(description="the original text of the match")
    evasions: tuple[str, ...] = Field(
        default=(), description="disguises seen: full_width, invisible, marks, look_alikes, leet, separators, jamo",
    )


# -- compiled phrases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    phrase: str
    pack: str
    source: Literal["keyword", "phrase"]
    variant: str
    literal: str  # the skeleton, looked up first
    regex: re.Pattern[str]  # where separators may stand, checked where the skeleton was found
    letters: str  # the canonical letter units, in order
    fold: bool  # whether a letter also matches itself with other diacritics
    separators: str  # the phrase's own separators, in order
    tokens: int  # space-separated words in the canonical phrase
    left_script: str | None
    right_script: str | None
    unmarked_only: bool = False  # looked for only in text typed without diacritics
    scripts: frozenset[str | None] = frozenset()  # the scripts of the letters (Latin, Cyrillic, Greek)
    marks: int = 0  # combining marks in the phrase as given (NFC)


def _compile(phrase: str, *, pack: str, source: Literal["keyword", "phrase"], fold: bool, max_separators: int,
             variant: str = "", unmarked_only: bool = False) -> _Pattern | None:
    canonical = normalize(phrase, max_chars=None).text.strip()
    if source == "keyword":  # "@minji_cam" and "#minji_cam" name the same account
        canonical = canonical.strip("".join(c for c in set(canonical) if not c.isalnum()))
    units: list[str | None] = []  # a letter, or None for a gap
    for char in canonical:
        if skeleton(char).text:
            units.append(char)
        elif units and units[-1] is not None:
            units.append(None)
    while units and units[-1] is None:
        units.pop()
    letters = "".join(u for u in units if u is not None)
    if not letters:
        return None
    gap = f"{_SEPARATOR}{{0,{max(1, max_separators)}}}"
    between = f"{_SEPARATOR}{{0,{max_separators}}}" if source == "keyword" else f"{_JOINER}{{0,2}}"
    parts: list[str] = []
    for index, unit in enumerate(units):
        if unit is None:
            parts.append(gap)
            continue
        if index and units[index - 1] is not None:
            parts.append(between)
        parts.append(_LETTER)
    first_script = script_of(letters[0])
    last_script = script_of(letters[-1])
    return _Pattern(
        phrase=phrase, pack=pack, source=source, variant=variant, literal=skeleton(canonical).text,
        regex=re.compile("".join(parts)), letters=letters, fold=fold,
        separators="".join(c for c in canonical if not skeleton(c).text), tokens=canonical.count(" ") + 1,
        left_script=first_script,
        right_script=last_script if source == "keyword" and last_script == "latin" else None,
        unmarked_only=unmarked_only, scripts=frozenset({script_of(c) for c in letters} - {None}),
        marks=_marks_in(unicodedata.normalize("NFC", phrase)),
    )


@cache
def _marked_latin() -> re.Pattern[str]:
    """Any Latin letter with a diacritic (``é``, ``ư``, ``đ``): the letters :func:`strip_marks` changes."""
    marked = (chr(c) for r in (range(0xC0, 0x250), range(0x1E00, 0x1F00)) for c in r)
    return re.compile("[" + "".join(re.escape(c) for c in marked if strip_marks(c) != c) + "]")


def _typed_with_marks(text: str) -> bool:
    """Whether canonical ``text`` holds a Latin letter with a diacritic. Text without any is read as typed without
    marks, where a pack's unmarked phrases may stand for its marked ones."""
    return _marked_latin().search(text) is not None


def _same_letter(found: str, unit: str, *, fold: bool) -> bool:
    """Whether ``found`` in the text may stand for letter ``unit`` of a phrase (both canonical, and with the same
    skeleton, which the first pass has made sure of): the letter itself, a leet form of a Latin letter (``4``
    for ``a``, ``1`` for ``i`` or ``l``), or with ``fold`` the letter with other diacritics."""
    if found == unit:
        return True
    if found in LEET:
        return "a" <= strip_marks(unit) <= "z"
    return fold and script_of(unit) is not None and strip_marks(found) == strip_marks(unit)


def _scan(patterns: Sequence[_Pattern], norm: NormalizedText, field: str, max_hits: int,
          capped: list[str] | None = None, *, reduced: Skeleton | None = None, marked: bool = True,
          ) -> list[KeywordHit]:
    """Every hit of ``patterns`` in ``norm`` (at most ``max_hits`` per pattern); patterns whose near misses ran
    past the limit are added to ``capped``. ``reduced`` is ``skeleton(norm.text)`` when the caller has it (a field
    is scanned for keywords and for phrases: one skeleton serves both); ``marked`` says whether the text carries
    diacritics (see ``_typed_with_marks``): patterns of phrases typed without marks are skipped where it does."""
    if not norm.text:
        return []
    text = norm.text
    if reduced is None:
        reduced = skeleton(text)
    found: list[KeywordHit] = []
    for pattern in patterns:
        if pattern.unmarked_only and marked:
            continue
        size = len(pattern.literal)
        hits = checked = 0
        index = reduced.text.find(pattern.literal)
        while index >= 0 and hits < max_hits:
            if checked == _MAX_CANDIDATES:
                if capped is not None:
                    capped.append(f"{pattern.phrase!r} in {field}")
                break
            checked += 1
            start = int(reduced.positions[index])
            end = int(reduced.positions[index + size - 1]) + 1
            if _accept(pattern, norm, start, end):
                # the skeleton characters of the match are exactly those found: its letters, the rest separators
                letters = [int(p) - start for p in reduced.positions[index : index + size]]
                found.append(_hit(pattern, norm, start, end, field, letters))
                hits += 1
                index = reduced.text.find(pattern.literal, index + size)
            else:
                index = reduced.text.find(pattern.literal, index + 1)
    return found


def _accept(pattern: _Pattern, norm: NormalizedText, start: int, end: int) -> bool:
    text = norm.text
    if pattern.regex.fullmatch(text, start, end) is None:
        return False
    letters = (c for c in text[start:end] if c.isalnum() or c in "@$")
    if not all(_same_letter(found, unit, fold=pattern.fold) for found, unit in zip(letters, pattern.letters,
                                                                                   strict=True)):
        return False
    if not (norm.at_boundary(start) and norm.at_boundary(end)):
        return False  # starts or ends inside one original character: 민지 in 민직
    if pattern.left_script and start > 0 and script_of(text[start - 1]) == pattern.left_script:
        return False  # starts inside a word: minji in adminji
    if pattern.right_script and end < len(text) and script_of(text[end]) == pattern.right_script:
        return False
    spaced_out = text.count(" ", start, end) + 1 > pattern.tokens
    return not (spaced_out and start > 0 and text[start - 1].isalnum())  # 민 지 yes, 이민 지원 no


def _hit(pattern: _Pattern, norm: NormalizedText, start: int, end: int, field: str,
         letters: Sequence[int]) -> KeywordHit:
    begin, finish = norm.span(start, end)
    snippet = norm.original[begin:finish]
    return KeywordHit(
        source=pattern.source, phrase=pattern.phrase, pack=pattern.pack, variant=pattern.variant, field=field,
        start=begin, end=finish, snippet=snippet,
        evasions=_evasions(pattern, norm.text[start:end], snippet, letters),
    )


def _evasions(pattern: _Pattern, region: str, snippet: str, letters: Sequence[int]) -> tuple[str, ...]:
    """The disguises in a match: ``region`` is its canonical text, ``snippet`` its original text, ``letters`` the
    indices in ``region`` of the characters the skeleton kept (the others are separators)."""
    seen: list[str] = []
    # Every disguise but leet and separators needs a character beyond ASCII: look only at those (usually none).
    beyond = {c for c in snippet if c > "\x7f"}
    if any(0xFF01 <= ord(c) <= 0xFF5E or 0xFF61 <= ord(c) <= 0xFFDC or c == "\u3000" for c in beyond):
        seen.append("full_width")
    if any(unicodedata.category(c) == "Cf" or c in "\u115f\u1160\u3164\uffa0\u2800\u034f" for c in beyond):
        seen.append("invisible")
    if beyond and _marks_in(unicodedata.normalize("NFC", snippet)) > pattern.marks:
        seen.append("marks")
    if pattern.scripts and {script_of(c) for c in set(snippet)} - {None} - pattern.scripts:
        seen.append("look_alikes")
    found = [region[i] for i in letters]
    if any(m != u and m in LEET for m, u in zip(found, pattern.letters, strict=False)):
        seen.append("leet")
    kept = set(letters)
    if "".join(c for i, c in enumerate(region) if i not in kept) != pattern.separators:
        seen.append("separators")
    if any(0x3131 <= ord(c) <= 0x318E or 0x1100 <= ord(c) <= 0x11FF for c in beyond):
        seen.append("jamo")
    return tuple(seen)


def _marks_in(text: str) -> int:
    return sum(unicodedata.category(c) == "Mn" for c in text)


# -- variants ---------------------------------------------------------------------------------------------------

_RR_INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h")
_RR_MEDIALS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we",
               "wi", "yu", "eu", "ui", "i")
_RR_FINALS = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t",
              "t", "ng", "t", "t", "k", "t", "p", "t")
_TO_CYRILLIC = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і"}
_TO_LATIN = {cyrillic: latin for latin, cyrillic in _TO_CYRILLIC.items()}
_LEET_SPELLING = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_HANGUL = re.compile("[\uac00-\ud7a3]")


def romanize_hangul(text: str) -> str:
    """``text`` with each Hangul syllable in Revised Romanization, letter by letter (``민지`` → ``minji``).

    Sound changes between syllables are not applied (``신라`` gives ``sinra``, not ``silla``): names in posts are
    romanized in many ways, and this gives the plainest one.
    """
    out: list[str] = []
    for char in text:
        code = ord(char) - 0xAC00
        if 0 <= code <= 11171:
            out.append(_RR_INITIALS[code // 588] + _RR_MEDIALS[(code % 588) // 28] + _RR_FINALS[code % 28])
        else:
            out.append(char)
    return "".join(out)


def variants(keyword: str, *, transliterate: bool = True) -> list[str]:
    """Typical disguised spellings of ``keyword``, each of which the detector finds.

    Useful to see what the matcher covers and as search queries for site adapters. The matcher does not work
    from this list: it accepts every combination of these disguises (and more), not just these examples.

    Returns:
        The keyword first, then: its parts joined by other separators, lower and upper case, letters spelt out
        with spaces and with dots, full-width, leet, one Cyrillic look-alike per word, zero-width spaces between
        letters, and for Hangul the loose jamo and (with ``transliterate``) the romanization. No duplicates.
    """
    given = keyword.strip()
    base = unicodedata.normalize("NFKC", given)
    base = base.strip("".join(c for c in set(base) if not c.isalnum()))
    parts = [part for part in re.split(r"[\W_]+", base) if part]
    letters = "".join(parts)
    out = [given, base]
    if len(parts) > 1:
        out += [separator.join(parts) for separator in ("", " ", "-", ".", "_")]
    out += [base.lower(), base.upper(), " ".join(letters), ".".join(letters)]
    out.append("".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in base))
    lower = base.lower()
    out.append("".join(_LEET_SPELLING.get(c, c) for c in lower))
    out.append(_with_lookalike(lower))
    out.append("\u200b".join(base))
    if _HANGUL.search(base):
        out.append("".join(normalize(c, max_chars=None).text if _HANGUL.match(c) else c for c in base))
        if transliterate:
            out.append(romanize_hangul(base))
    return [v for v in dict.fromkeys(out) if v]


def _with_lookalike(text: str) -> str:
    """One letter per word (of three letters or more) swapped for its look-alike in the other script."""

    def swap(match: re.Match[str]) -> str:
        word = match.group()
        if sum(c.isalpha() for c in word) < 3:
            return word
        table = _TO_CYRILLIC if script_of(word[0]) == "latin" else _TO_LATIN
        for index in range(len(word) - 1, -1, -1):  # from the end: the first letter is what readers check
            if word[index] in table:
                return word[:index] + table[word[index]] + word[index + 1:]
        return word

    return re.sub(r"[^\W\d_]+", swap, text)


# -- the detector -----------------------------------------------------------------------------------------------


class KeywordDetector:
    """Finds the case's keywords and generic NCII phrases in a candidate's text (see the module docs)."""

    name: ClassVar[str] = "keyword"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.TEXT})

    def __init__(self, config: KeywordConfig | None = None) -> None:
        """Load and compile the configured phrase packs.

        Raises:
            ConfigError: a pack is not shipped, or a pack file cannot be read.
        """
        self.config = config or KeywordConfig()
        packs = [load_phrase_pack(language) for language in self.config.packs]
        packs += [PhrasePack.from_toml(path) for path in self.config.pack_files]
        if self.config.extra_phrases:
            packs.append(PhrasePack(language="extra", phrases=self.config.extra_phrases))
        self.packs: tuple[PhrasePack, ...] = tuple(packs)
        compiled = [
            _compile(phrase, pack=pack.language, source="phrase", fold=pack.fold_marks,
                     max_separators=self.config.max_separators)
            for pack in packs for phrase in dict.fromkeys(pack.phrases)
        ]
        compiled += [
            _compile(phrase, pack=pack.language, source="phrase", fold=pack.fold_marks,
                     max_separators=self.config.max_separators, variant="unmarked", unmarked_only=True)
            for pack in packs for phrase in dict.fromkeys(pack.unmarked_phrases)
        ]
        self._phrases = tuple(p for p in compiled if p is not None)
        self._keywords: dict[tuple[str, ...], tuple[tuple[_Pattern, ...], tuple[str, ...]]] = {}

    def scan(self, text: str, *, keywords: Sequence[str] = (), field: str = "text") -> list[KeywordHit]:
        """Every hit of ``keywords`` and of the generic phrases in ``text``: keywords first, then phrases, each
        in the order of the patterns (at most ``max_hits`` per phrase)."""
        patterns, _ = self._keyword_patterns(tuple(keywords))
        norm = normalize(text, max_chars=self.config.max_chars)
        reduced, marked = skeleton(norm.text), _typed_with_marks(norm.text)
        return _scan(patterns, norm, field, self.config.max_hits, reduced=reduced) + _scan(
            self._phrases, norm, field, self.config.max_hits, reduced=reduced, marked=marked)

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        """``suspect`` (or as configured) when a case keyword or a generic phrase is in the candidate's text.

        The details name the first hit (keyword hits first, in field order): ``source``, ``phrase``, ``pack``,
        ``field``, ``span`` (``start:end`` in the field's original text), ``snippet``, ``context`` and
        ``evasions``; then ``hits``, ``keyword_hits``, ``phrase_hits`` and ``all_hits`` for every hit, and
        ``truncated``, ``skipped_keywords`` and ``capped`` (a phrase whose near misses were too many to check
        all) when they apply.

        Raises:
            DetectionError: ``item`` is media, not a candidate page.
        """
        if not isinstance(item, Candidate):
            raise DetectionError("the keyword detector judges a page's text, not media", plugin=self.name)
        keyword_patterns, skipped = self._keyword_patterns(tuple(case.keywords))
        keyword_hits: list[KeywordHit] = []
        phrase_hits: list[KeywordHit] = []
        truncated: list[str] = []
        capped: list[str] = []
        texts: dict[str, str] = {}
        for field, text in self._fields(item):
            norm = normalize(text, max_chars=self.config.max_chars)
            texts[field] = text
            if norm.truncated:
                truncated.append(f"{field}: read the first {norm.scanned} of {len(text)} characters")
            reduced, marked = skeleton(norm.text), _typed_with_marks(norm.text)
            keyword_hits += _scan(keyword_patterns, norm, field, self.config.max_hits, capped, reduced=reduced)
            phrase_hits += _scan(self._phrases, norm, field, self.config.max_hits, capped, reduced=reduced,
                                 marked=marked)
        details: dict[str, str] = {}
        if truncated:
            details["truncated"] = "; ".join(truncated)
        if skipped:
            details["skipped_keywords"] = ", ".join(skipped)
        if capped:
            details["capped"] = f"stopped after {_MAX_CANDIDATES} near misses of " + ", ".join(capped)
        hits = keyword_hits + phrase_hits
        if not hits:
            return Detection(
                detector=self.name, target="text", kind=ItemKind.TEXT, label=DetectionLabel.NO_MATCH, score=0.0,
                rationale="no case keyword or generic phrase found", details=details,
            )
        first = hits[0]
        if keyword_hits:
            label, score, what = self.config.case_label, self.config.case_score, "case keyword"
        else:
            label, score, what = self.config.generic_label, self.config.generic_score, f"generic phrase ({first.pack})"
        text = texts[first.field]
        context = text[max(0, first.start - _CONTEXT):first.end + _CONTEXT]
        listed = [f"{h.source} {h.phrase!r} in {h.field} at {h.start}:{h.end}" for h in hits[:self.config.max_hits]]
        if len(hits) > self.config.max_hits:
            listed.append(f"and {len(hits) - self.config.max_hits} more")
        details.update({
            "source": first.source, "phrase": first.phrase, "pack": first.pack, "field": first.field,
            "span": f"{first.start}:{first.end}", "snippet": first.snippet, "context": " ".join(context.split()),
            "evasions": ", ".join(first.evasions) or "none", "hits": str(len(hits)),
            "keyword_hits": str(len(keyword_hits)), "phrase_hits": str(len(phrase_hits)), "all_hits": "; ".join(listed),
        })
        if first.variant:
            details["variant"] = first.variant
        disguise = f", disguised by {', '.join(first.evasions)}" if first.evasions else ""
        rationale = (f"{what} {first.phrase!r} in {first.field} at {first.start}:{first.end} "
                     f"({first.snippet!r}{disguise}); {len(hits)} hit(s) in all")
        return Detection(detector=self.name, target="text", kind=ItemKind.TEXT, label=label, score=score,
                         rationale=rationale, details=details)

    def _fields(self, candidate: Candidate) -> Iterator[tuple[str, str]]:
        for field in self.config.fields:
            if field == "title":
                text = candidate.title
            elif field == "text":
                text = candidate.text
            else:
                text = candidate.metadata.get(field, "")
            if text:
                yield field, text

    def _keyword_patterns(self, keywords: tuple[str, ...]) -> tuple[tuple[_Pattern, ...], tuple[str, ...]]:
        cached = self._keywords.get(keywords)
        if cached is not None:
            return cached
        patterns: list[_Pattern] = []
        skipped: list[str] = []
        for keyword in dict.fromkeys(k.strip() for k in keywords):
            if not keyword:
                continue
            if sum(c.isalnum() for c in unicodedata.normalize("NFKC", keyword)) < self.config.min_keyword_length:
                skipped.append(f"{keyword!r} (shorter than {self.config.min_keyword_length})")
                continue
            spellings = [("", keyword)]
            if self.config.transliterate and _HANGUL.search(keyword):
                spellings.append(("transliteration", romanize_hangul(keyword)))
            for variant, spelling in spellings:
                pattern = _compile(spelling, pack="case", source="keyword", fold=True,
                                   max_separators=self.config.max_separators, variant=variant)
                if pattern is not None:
                    patterns.append(pattern if not variant else _replace_phrase(pattern, keyword))
        result = (tuple(patterns), tuple(skipped))
        if len(self._keywords) >= 128:  # cases come and go; keep the cache small
            self._keywords.clear()
        self._keywords[keywords] = result
        return result


def _replace_phrase(pattern: _Pattern, phrase: str) -> _Pattern:
    """The pattern of a transliteration, reported under the keyword it was made from."""
    return _Pattern(**{**pattern.__dict__, "phrase": phrase})
