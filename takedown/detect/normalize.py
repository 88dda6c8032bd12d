"""Text normalisation for keyword matching: the usual evasions folded into one form, with a map back.

People who repost intimate images without consent disguise the words that would find them: full-width letters
(``ｍｉｎｊｉ``), look-alike letters from other scripts (a Cyrillic ``і`` for ``i``), invisible characters between
letters, stacked combining marks, Hangul typed as loose jamo (``ㅁㅣㄴㅈㅣ`` for ``민지``). :func:`normalize` folds
these into one canonical form and keeps, for every canonical character, the span of the original text it came from,
so that a match found in the canonical form is reported at its place in the original.

What :func:`normalize` does, in order:

1. Reads at most ``max_chars`` characters (:attr:`NormalizedText.truncated` says when it stopped early).
2. Per character (a character with the combining marks that follow it counts as one): NFKC, so full-width and
   other compatibility forms become plain letters and digits, then case folding. Invisible characters (zero-width
   spaces and joiners, soft hyphens, variation selectors, Hangul fillers, other format and control characters) are
   removed. Generic combining diacritics that do not compose into a letter (stacked "zalgo" marks) are removed;
   marks that compose (``é``, Vietnamese ``ế``) stay, because they carry meaning. Hangul syllables and conjoining
   jamo become compatibility jamo (``민`` becomes ``ㅁㅣㄴ``), so syllables and loose jamo compare equal. Katakana
   becomes hiragana. A compatibility form that would expand to more than four characters (long Arabic ligatures)
   becomes a space.
3. Every run of whitespace becomes one space.
4. Look-alike letters: in a word that mixes Latin with Cyrillic or Greek letters, the look-alikes are mapped to
   the word's dominant script (``mіnjі`` becomes ``minji``, ``камерa`` becomes ``камера``). Words written in one
   script are left alone, so Russian stays Russian. Letters spelt out one at a time (``m і n j i``) count as one
   word.

Digits and punctuation are left as they are: leet spellings (``m1nj1``) and separators inside words (``m.i.n.j.i``)
are the matcher's business, which allows them only where a phrase has a letter or a gap
(:mod:`takedown.detect.keywords`). :func:`skeleton` gives the reduced form the matcher scans first.

Everything is linear in the length of the text: per-character work goes through ``str.translate`` tables and
numpy, and only characters with combining marks and words that mix scripts take a slower path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from takedown.errors import UsageError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_MAX_CHARS",
    "LEET",
    "NormalizedText",
    "Skeleton",
    "normalize",
    "script_of",
    "skeleton",
    "strip_marks",
]

DEFAULT_MAX_CHARS = 1_000_000
"""How much of a text :func:`normalize` reads unless told otherwise."""

LEET: Mapping[str, str] = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
"""Digits and symbols read as letters in the matcher's skeleton ("1" also stands for "l": the skeleton writes
"l" as "i"). The canonical text keeps them: ``normalize("2024")`` is still ``"2024"``."""

_MAX_EXPANSION = 4

# Characters that render as nothing (or as blank space) and are used to split words invisibly. Format characters
# (category Cf: zero-width space/joiners, soft hyphen, bidi controls, tags) are removed by category as well.
_INVISIBLE = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u2800"  # braille blank
    "\u17b4\u17b5"  # Khmer inherent vowels (invisible)
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))  # variation selectors
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)

# Combining marks that only decorate a letter. When they do not compose into a precomposed letter they are noise.
_GENERIC_MARKS = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F))

# Hangul: initial, medial and final jamo as compatibility jamo, in the order of the syllable arithmetic.
_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_FINALS = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"

# Look-alike letters after case folding (so the capital forms that look Latin, like М and Т, are included).
_CYRILLIC_TO_LATIN = {
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "н": "h", "і": "i", "ј": "j", "к": "k",
    "ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w",
    "ё": "ë", "ї": "ï",
}
_GREEK_TO_LATIN = {
    "α": "a", "β": "b", "γ": "y", "ε": "e", "ι": "i", "κ": "k", "μ": "m", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w",
}
_LATIN_TO_CYRILLIC = {
    "a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "i": "і", "j": "ј", "k": "к", "m": "м", "o": "о",
    "p": "р", "s": "ѕ", "t": "т", "x": "х", "y": "у", "ë": "ё", "ï": "ї",
}
_TO_LATIN = {**_CYRILLIC_TO_LATIN, **_GREEK_TO_LATIN}
_LATIN_LOOKALIKES = frozenset(_LATIN_TO_CYRILLIC) | set(_CYRILLIC_TO_LATIN.values()) | set(_GREEK_TO_LATIN.values())
_CYRILLIC_LOOKALIKES = frozenset(_CYRILLIC_TO_LATIN) | set(_LATIN_TO_CYRILLIC.values())
_GREEK_LOOKALIKES = frozenset(_GREEK_TO_LATIN)

_LATIN_RANGES = "a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u024f\u1e00-\u1eff"
_CYRILLIC_RANGES = "\u0400-\u052f"
_GREEK_RANGES = "\u0370-\u03ff\u1f00-\u1fff"
_HAS_LATIN = re.compile(f"[{_LATIN_RANGES}]")
_HAS_OTHER = re.compile(f"[{_CYRILLIC_RANGES}{_GREEK_RANGES}]")
_WORD = re.compile(r"[^\W_]+")
# Two letters of different scripts in one word (at most 64 letters apart, which keeps the search linear), and
# single letters spelt out with up to three separators between them ("m і n j i").
_MIXED_PAIR = re.compile(
    f"[{_LATIN_RANGES}][^\\W_]{{0,64}}?[{_CYRILLIC_RANGES}{_GREEK_RANGES}]"
    f"|[{_CYRILLIC_RANGES}{_GREEK_RANGES}][^\\W_]{{0,64}}?[{_LATIN_RANGES}]"
)
_SPELT_OUT = re.compile(r"(?<![^\W_])[^\W_](?:[\W_]{1,3}[^\W_](?![^\W_]))+")
_WINDOW = 64  # characters of context, each side, that may break a tie between scripts

# Letters without a diacritic decomposition that people still read as their base letter.
_EXTRA_BASES = {"đ": "d", "ł": "l", "ø": "o", "ı": "i", "ħ": "h", "ŧ": "t", "ƀ": "b", "ɨ": "i", "ƶ": "z"}


def script_of(char: str) -> str | None:
    """``"latin"``, ``"cyrillic"`` or ``"greek"`` for a letter of those scripts, else ``None``."""
    o = ord(char)
    if not char.isalpha():
        return None
    if o < 0x250 or 0x1E00 <= o <= 0x1EFF:
        return "latin" if (0x41 <= o <= 0x5A or 0x61 <= o <= 0x7A or o >= 0xC0) and o not in (0xD7, 0xF7) else None
    if 0x400 <= o <= 0x52F:
        return "cyrillic"
    if 0x370 <= o <= 0x3FF or 0x1F00 <= o <= 0x1FFF:
        return "greek"
    return None


@dataclass(frozen=True, eq=False)
class NormalizedText:
    """A text in canonical form, with the way back to the original.

    ``text[i]`` came from ``original[start:end]`` where ``(start, end) = span(i, i + 1)``; one original
    character may give several canonical ones (``민`` gives ``ㅁㅣㄴ``) or none (a zero-width space).
    """

    text: str
    """The canonical form."""
    original: str
    """The text as given (all of it, even when only part was read)."""
    scanned: int
    """How many characters of ``original`` were read."""
    _starts: NDArray[np.int64] = field(repr=False)
    _ends: NDArray[np.int64] = field(repr=False)

    @property
    def truncated(self) -> bool:
        """Whether ``original`` is longer than what was read."""
        return self.scanned < len(self.original)

    def __len__(self) -> int:
        return len(self.text)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``original`` that canonical characters ``start:end`` came from.

        Raises:
            IndexError: the span is empty or outside the canonical text.
        """
        if not 0 <= start < end <= len(self.text):
            raise IndexError(f"span {start}:{end} is not a non-empty span of a text of {len(self.text)} characters")
        return int(self._starts[start]), int(self._ends[end - 1])

    def at_boundary(self, index: int) -> bool:
        """Whether canonical position ``index`` lies between two original characters (so a match may start or
        end there), rather than inside the expansion of one (between ``ㅁ`` and ``ㅣ`` of ``민``)."""
        if index <= 0 or index >= len(self.text):
            return 0 <= index <= len(self.text)
        return bool(self._starts[index] != self._starts[index - 1])


@dataclass(frozen=True, eq=False)
class Skeleton:
    """The matcher's first-pass form of a canonical text: see :func:`skeleton`."""

    text: str
    positions: NDArray[np.intp] = field(repr=False)
    """``positions[i]`` is the index in the canonical text that ``text[i]`` came from."""


def normalize(text: str, *, max_chars: int | None = DEFAULT_MAX_CHARS) -> NormalizedText:
    """Fold the usual evasions in ``text`` into one canonical form (see the module docs for what is folded).

    The result is idempotent: normalizing ``normalize(t).text`` again gives the same text.

    Args:
        text: any text; lone surrogates become U+FFFD.
        max_chars: read at most this many characters (``None``: all of them).

    Returns:
        The canonical text, with the map back to ``text``.
    """
    if max_chars is not None and max_chars < 0:
        raise UsageError(f"max_chars must not be negative, not {max_chars}")
    source = text if max_chars is None else text[:max_chars]
    points = _code_points(source)
    size = len(points)
    # Each source character is looked up in a table of canonical forms. A character with its combining marks is
    # one unit, folded as a whole and entered in the table for this call; the marks themselves give nothing.
    extra: dict[str, int] = {}
    index = points.astype(np.int64)
    astral = points > 0xFFFF
    if astral.any():
        unique, inverse = np.unique(points[astral], return_inverse=True)
        index[astral] = np.array([_extra_entry(extra, chr(code)) for code in unique], dtype=np.int64)[inverse]
    unit_ends = np.arange(1, size + 1, dtype=np.int64)
    marks = [m.span() for m in _marks().finditer(source)]
    if marks:
        index[_tables().is_mark[np.minimum(points, 0xFFFF)]] = _EMPTY
        starts: list[int] = []
        entries: list[int] = []
        previous_end = 0
        for begin, end in marks:
            if begin > previous_end:
                begin -= 1  # the base character the marks sit on
            starts.append(begin)
            entries.append(_extra_entry(extra, source[begin:min(end, begin + 16)], cluster=True))
            previous_end = end
        index[starts] = entries
        unit_ends[starts] = [end for _, end in marks]
    tables = _tables()
    lengths, offsets, flat = tables.lengths, tables.offsets, tables.flat
    if extra:
        folded = [_fold_cluster(key) if key_is_cluster else _fold(key) for key, key_is_cluster in
                  ((key[1:], key[0] == "c") for key in extra)]
        extra_lengths = np.array([len(f) for f in folded], dtype=np.int64)
        extra_offsets = len(flat) + np.concatenate(([0], np.cumsum(extra_lengths)[:-1]))
        lengths = np.concatenate((lengths, extra_lengths))
        offsets = np.concatenate((offsets, extra_offsets))
        flat = np.concatenate((flat, _code_points("".join(folded))))
    unit_lengths = lengths[index]
    total = int(unit_lengths.sum())
    first = np.repeat(offsets[index], unit_lengths)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(unit_lengths) - unit_lengths, unit_lengths)
    canonical_points = flat[first + within]
    start_map = np.repeat(np.arange(size, dtype=np.int64), unit_lengths)
    end_map = np.repeat(unit_ends, unit_lengths)
    if total > 1:
        keep = np.ones(total, dtype=bool)
        keep[1:] = ~((canonical_points[1:] == 0x20) & (canonical_points[:-1] == 0x20))
        canonical_points, start_map, end_map = canonical_points[keep], start_map[keep], end_map[keep]
    canonical = canonical_points.astype(np.uint32).tobytes().decode("utf-32-le")
    canonical = _resolve_lookalikes(canonical)
    return NormalizedText(text=canonical, original=text, scanned=size, _starts=start_map, _ends=end_map)


def skeleton(text: str) -> Skeleton:
    """The reduced form of canonical ``text`` that the matcher scans first, with positions back into ``text``.

    Characters that are neither letters nor digits are dropped; the digits and symbols of :data:`LEET` become
    their letters; diacritics are dropped from Latin, Greek and Cyrillic letters (:func:`strip_marks`); and
    ``l`` is written ``i`` (so that ``1`` can stand for either). Two phrases that differ only in these ways have
    the same skeleton, so one substring search finds every spelling; the matcher then checks each place it
    finds against the exact rules.
    """
    points = _code_points(text)
    if not len(points):
        return Skeleton(text="", positions=np.zeros(0, dtype=np.intp))
    table = _tables().skeleton
    if points.max() > 0xFFFF:
        reduced_points = table[np.minimum(points, 0xFFFF)]
        astral = points > 0xFFFF
        unique, inverse = np.unique(points[astral], return_inverse=True)
        reduced_points[astral] = np.array([ord(_skeleton_char(chr(code)) or "\x00") for code in unique],
                                          dtype=np.uint32)[inverse]
    else:
        reduced_points = table[points]
    positions = np.flatnonzero(reduced_points)
    return Skeleton(text=reduced_points[positions].tobytes().decode("utf-32-le"), positions=positions)


def strip_marks(text: str) -> str:
    """``text`` with diacritics removed from Latin, Greek and Cyrillic letters (``é`` → ``e``, ``ё`` → ``е``,
    ``đ`` → ``d``); other characters are kept as they are."""
    return "".join(_base_letter(char) for char in text)


# -- per-character folding ------------------------------------------------------------------------------------


def _is_generic_mark(char: str) -> bool:
    o = ord(char)
    return any(low <= o <= high for low, high in _GENERIC_MARKS)


def _fold(chars: str) -> str:
    """The canonical form of one character or one character with its combining marks."""
    if len(chars) == 1 and 0x3131 <= ord(chars) <= 0x318E and chars != "\u3164":
        return chars  # compatibility jamo are the canonical form of Hangul (NFKC would make some of them archaic)
    text = chars
    for _ in range(4):  # NFKC and case folding undo each other in a few corners; repeat until stable
        again = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        if again == text:
            break
        text = again
    out: list[str] = []
    for char in text:
        code = ord(char)
        category = unicodedata.category(char)
        if char.isspace() or category in ("Zs", "Zl", "Zp"):
            out.append(" ")
        elif char in _INVISIBLE or category in ("Cf", "Cc") or _is_generic_mark(char):
            continue
        elif category == "Cs":
            out.append("\ufffd")
        elif 0xAC00 <= code <= 0xD7A3:
            index = code - 0xAC00
            out.append(_INITIALS[index // 588] + _MEDIALS[(index % 588) // 28])
            if index % 28:
                out.append(_FINALS[index % 28 - 1])
        elif 0x1100 <= code <= 0x11FF or 0xA960 <= code <= 0xA97F or 0xD7B0 <= code <= 0xD7FF:
            out.append(_compatibility_jamo(char))
        elif 0x30A1 <= code <= 0x30F6 or code in (0x30FD, 0x30FE):
            out.append(chr(code - 0x60))
        else:
            out.append(char)
    folded = "".join(out)
    return " " if len(folded) > _MAX_EXPANSION * max(1, len(chars)) else folded


_CLUSTER_CACHE: dict[str, str] = {}


def _compatibility_jamo(char: str) -> str:
    """The compatibility jamo of a conjoining jamo (initial, medial or final) that has one, else the jamo."""
    name = unicodedata.name(char, "")
    for prefix in ("HANGUL CHOSEONG ", "HANGUL JUNGSEONG ", "HANGUL JONGSEONG "):
        if name.startswith(prefix):
            try:
                return unicodedata.lookup("HANGUL LETTER " + name.removeprefix(prefix))
            except KeyError:
                return char
    return char


def _fold_cluster(cluster: str) -> str:
    folded = _CLUSTER_CACHE.get(cluster)
    if folded is None:
        folded = _fold(cluster)
        if len(_CLUSTER_CACHE) < 100_000:
            _CLUSTER_CACHE[cluster] = folded
    return folded


_EMPTY = 0x10000  # the table entry of a combining mark folded with its base: nothing


def _extra_entry(extra: dict[str, int], key: str, *, cluster: bool = False) -> int:
    """The table index, for this call, of a character beyond the Basic Multilingual Plane or of a cluster."""
    tagged = ("c" if cluster else "a") + key
    entry = extra.get(tagged)
    if entry is None:
        entry = extra[tagged] = _EMPTY + 1 + len(extra)
    return entry


def _code_points(text: str) -> NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@dataclass(frozen=True)
class _Tables:
    """The canonical form of every character of the Basic Multilingual Plane, as arrays indexed by code point:
    entry ``c`` is ``flat[offsets[c]:offsets[c] + lengths[c]]``. Entry ``_EMPTY`` is the empty string."""

    lengths: NDArray[np.int64]
    offsets: NDArray[np.int64]
    flat: NDArray[np.uint32]
    is_mark: NDArray[np.bool_]
    skeleton: NDArray[np.uint32]


@cache
def _tables() -> _Tables:
    folded = [_fold(chr(code)) for code in range(0x10000)] + [""]
    lengths = np.array([len(f) for f in folded], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    flat = _code_points("".join(folded))
    pattern = _marks()
    is_mark = np.array([pattern.fullmatch(chr(code)) is not None for code in range(0x10000)], dtype=bool)
    skeleton = np.array([ord(_skeleton_char(chr(code)) or "\x00") for code in range(0x10000)], dtype=np.uint32)
    return _Tables(lengths=lengths, offsets=offsets, flat=flat, is_mark=is_mark, skeleton=skeleton)


@cache
def _marks() -> re.Pattern[str]:
    """Runs of combining marks (and of the few characters whose compatibility form is one, like the half-width
    katakana voicing marks). Basic Multilingual Plane only, so the class compiles to a bitmap; the rare marks
    beyond it are folded on their own."""
    ranges: list[str] = []
    start = previous = -2
    for code in range(0x10000):
        compatible = unicodedata.normalize("NFKC", chr(code))
        if unicodedata.category(chr(code))[0] == "M" or unicodedata.category(compatible[0])[0] == "M":
            if code != previous + 1:
                if start >= 0:
                    ranges.append(_range(start, previous))
                start = code
            previous = code
    ranges.append(_range(start, previous))
    return re.compile(f"[{''.join(ranges)}]+")


def _range(start: int, end: int) -> str:
    return f"\\u{start:04x}" if start == end else f"\\u{start:04x}-\\u{end:04x}"


def _base_letter(char: str) -> str:
    if char in _EXTRA_BASES:
        return _EXTRA_BASES[char]
    if script_of(char) is None:
        return char
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) > 1 and all(unicodedata.category(c) == "Mn" for c in decomposed[1:]):
        return decomposed[0]
    return char


def _skeleton_char(char: str) -> str:
    if char in LEET:
        return LEET[char]
    if not char.isalnum():
        return ""
    base = _base_letter(char)
    return "i" if base == "l" else base


# -- look-alike letters ---------------------------------------------------------------------------------------


def _script_counts(text: str, *, strong_only: bool) -> dict[str, int]:
    counts = {"latin": 0, "cyrillic": 0, "greek": 0}
    lookalikes = {"latin": _LATIN_LOOKALIKES, "cyrillic": _CYRILLIC_LOOKALIKES, "greek": _GREEK_LOOKALIKES}
    for char in text:
        script = script_of(char)
        if script is not None and not (strong_only and char in lookalikes[script]):
            counts[script] += 1
    return counts


def _dominant(group: str, context: str) -> str | None:
    """The script a mixed word is written in: the one with most letters that have no look-alike, in the word,
    then in its surrounding token; failing that, the one with most letters in the word."""
    for sample, strong_only in ((group, True), (context, True), (group, False)):
        counts = _script_counts(sample, strong_only=strong_only)
        ranked = sorted(counts.values(), reverse=True)
        if ranked[0] > ranked[1]:
            return max(counts, key=lambda script: counts[script])
    return None


def _resolve_lookalikes(text: str) -> str:
    if not (_HAS_LATIN.search(text) and _HAS_OTHER.search(text)):
        return text
    groups: list[tuple[int, int]] = []
    position = 0
    while (hit := _MIXED_PAIR.search(text, position)) is not None:
        begin = hit.start()
        while begin > 0 and text[begin - 1].isalnum():
            begin -= 1
        word = _WORD.match(text, hit.start())
        end = word.end() if word else hit.end()
        groups.append((begin, end))
        position = end
    groups += [m.span() for m in _SPELT_OUT.finditer(text)
               if _HAS_LATIN.search(m.group()) and _HAS_OTHER.search(m.group())]
    if not groups:
        return text
    chars = list(text)
    for begin, end in groups:
        group = text[begin:end]
        token_start = max(text.rfind(" ", 0, begin) + 1, begin - _WINDOW)
        token_end = text.find(" ", end)
        token_end = min(len(text) if token_end < 0 else token_end, end + _WINDOW)
        target = _dominant(group, text[token_start:token_end])
        if target == "latin":
            mapping = _TO_LATIN
        elif target == "cyrillic":
            mapping = _LATIN_TO_CYRILLIC
        else:
            continue
        for index in range(begin, end):
            chars[index] = mapping.get(chars[index], chars[index])
    return "".join(chars)
