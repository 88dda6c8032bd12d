"""Keyword benchmark: the KeywordDetector against a hand-written regular expression, same corpus, same run.

    python benchmarks/keywords.py [--quick] [--rounds R] [--pages N] [--out keywords.json]
                                  [--plot docs/img/keywords.png]

The peer is what an agency writes by hand today: one case-insensitive ``re`` alternation of the case's keywords
and every phrase of the shipped phrase packs (``load_phrase_pack``), searched in the post's text. A second,
informational peer runs the same alternation on NFKC-normalised, case-folded text (the cheapest fix for full-width
letters). takedown: ``KeywordDetector().detect(candidate, case=case)`` with its defaults (all seven packs); a post
counts as flagged when the label is not ``no_match``.

The corpus (synthetic and harmless, nothing explicit):

- **keyword posts**: the texts of ``takedown.detect.datasets.make_synthetic_dataset`` (the case keywords
  ``haneul_cam`` / ``하늘캠`` in invented posts in seven languages, written plain, upper case, full-width, spelt
  out, with separators, joined, with zero-width spaces, in leet, with a Cyrillic look-alike, in Hangul), de-
  duplicated, plus spellings the generator lacks, put into its own sentence frames: split Hangul jamo
  (``ㅎㅏㄴㅡㄹㅋㅐㅁ``), Hangul with zero-width spaces, more look-alikes, and several evasions combined;
- **phrase posts**: every phrase of every shipped pack in a sentence frame of its language, plain and with each
  evasion that changes it: upper case, full-width, zero-width spaces, joining dots between letters, leet, look-
  alike letters of the other script, split jamo (Korean), hiragana and half-width katakana (Japanese), and
  accents left out (Spanish, Vietnamese). The evasions are written here, not taken from the detector;
- **negative posts**: the generator's benign posts and near misses, plus the harder everyday sentences below
  (``HARD_NEGATIVES``), some of which use a phrase's words innocently;
- **large pages**: ``--pages`` pages of 1 MB (UTF-8) of the negative sentences in random order, every other one
  with one disguised keyword near its end, for throughput.

Timing: both sides get the text in hand (building the Candidate and compiling the detector or the regex are not
timed; the detector's setup is reported apart). Rounds alternate the sides; per-post latency p50/p95 is over every
post in every round; throughput is megabytes (UTF-8) per second over the large pages, median of the rounds.

The last line printed is machine-readable:
``RESULT recall_ratio_vs_regex=X speed_ratio_vs_regex=Y keyword_recall=A regex_recall=B keyword_mb_per_s=C ...``
(``speed_ratio_vs_regex`` < 1 means the detector is slower than the regex).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takedown import __version__
from takedown.detect.datasets import load_dataset, make_synthetic_dataset
from takedown.detect.keywords import SHIPPED_LANGUAGES, KeywordDetector, load_phrase_pack
from takedown.models import Candidate, Case, DetectionLabel

QUICK = {"texts": 110, "rounds": 3, "pages": 2}
FULL = {"texts": 330, "rounds": 15, "pages": 8}
PAGE_BYTES = 1_000_000
SEED = 7
SLOT = "\x00"  # stands for the keyword in a sentence frame

# Everyday sentences that must not be flagged: near misses of the keyword and innocent uses of a phrase's words.
# (language, text, what it tries)
HARD_NEGATIVES: tuple[tuple[str, str, str], ...] = (
    ("en", "Order the Haneul Camping chairs before Friday.", "keyword + longer word"),
    ("en", "The spy camera museum opens at nine on Sundays.", "phrase words, innocent"),
    ("en", "Leaked photos of the new phone model appeared before the launch.", "phrase words, innocent"),
    ("en", "She hid den keys under the mat, then left for the station.", "phrase letters across words"),
    ("ko", "오늘은 하늘 캠핑장에 가요. 날씨가 좋네요.", "keyword syllables across words"),
    ("ko", "하늘캠핑장 예약을 마쳤어요.", "keyword inside a longer word"),
    ("ko", "쇼핑몰 카드 결제가 자꾸 안 돼요.", "phrase syllables across words"),
    ("ko", "정보 유출 사고에 대한 공지입니다.", "part of a phrase"),
    ("ja", "盗難防止のカメラを玄関に設置しました。", "part of a phrase"),
    ("ja", "流出した原油の清掃作業が続いています。", "part of a phrase"),
    ("zh-Hans", "这是关于资金流出的新闻视频。", "part of a phrase"),
    ("zh-Hans", "相机的隐藏菜单在设置里。", "part of a phrase"),
    ("es", "La cámara ocultaba parte del paisaje desde la ventana.", "phrase words, innocent"),
    ("es", "El video filtra el ruido del micrófono automáticamente.", "part of a phrase"),
    ("vi", "Quay lên tầng hai để lấy đồ nhé.", "differs from a phrase only by a tone mark"),
    ("vi", "Cái kẹp tóc này bị lỗ ở giữa clip.", "part of a phrase"),
    ("ru", "Слив воды в ванной засорился, фото прилагаю.", "phrase words apart"),
    ("ru", "Камера наблюдения в магазине снова работает.", "part of a phrase"),
)

# -- evasions, written independently of the detector ---------------------------------------------------------------

_TO_CYRILLIC = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у"}
_TO_LATIN = {cyr: lat for lat, cyr in _TO_CYRILLIC.items()}
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_FINALS = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")


def _half_width_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for code in range(0xFF66, 0xFFA0):
        full = unicodedata.normalize("NFKC", chr(code))
        if len(full) == 1:
            table.setdefault(full, chr(code))
    return table


_HALF_WIDTH = _half_width_table()


def upper(text: str) -> str:
    return text.upper()


def full_width(text: str) -> str:
    """ASCII letters, digits and symbols in full-width forms, and then spaces as ideographic spaces."""
    if not any("!" <= c <= "~" for c in text):
        return text
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def zero_width(text: str) -> str:
    """A zero-width space between every two letters of a word."""
    return " ".join("\u200b".join(word) for word in text.split(" "))


def joined_by_dots(text: str) -> str:
    """A dot between every two letters of a word (``h.i.d.d.e.n c.a.m``)."""
    return " ".join(".".join(word) for word in text.split(" "))


def leet(text: str) -> str:
    return "".join(_LEET.get(c, c) for c in text)


def look_alikes(text: str) -> str:
    """Every other letter that has a look-alike in the other script (Latin <-> Cyrillic) swapped for it."""
    out, swapped = [], 0
    for char in text:
        table = _TO_CYRILLIC if char in _TO_CYRILLIC else _TO_LATIN
        if char in table:
            swapped += 1
            if swapped % 2:
                out.append(table[char])
                continue
        out.append(char)
    return "".join(out)


def jamo(text: str) -> str:
    """Hangul syllables typed as loose compatibility jamo (``몰카`` -> ``ㅁㅗㄹㅋㅏ``)."""
    out = []
    for char in text:
        code = ord(char) - 0xAC00
        if 0 <= code < 11172:
            out.append(_INITIALS[code // 588] + _MEDIALS[code % 588 // 28] + _FINALS[code % 28])
        else:
            out.append(char)
    return "".join(out)


def hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def half_width(text: str) -> str:
    """Katakana in half-width forms (``リベンジ`` -> ``ﾘﾍﾞﾝｼﾞ``)."""
    out = []
    for char in text:
        if "ァ" <= char <= "ヶ":  # ジ -> シ + the voicing mark, which has a half-width form too
            out += [_HALF_WIDTH.get(c, c) for c in unicodedata.normalize("NFD", char)]
        else:
            out.append(char)
    return "".join(out).replace("\u3099", "\uff9e").replace("\u309a", "\uff9f")


def no_accents(text: str) -> str:
    """Accents and tone marks left out of Latin letters, as many people type Spanish and Vietnamese (``quay lén``
    -> ``quay len``)."""
    out = []
    for char in text:
        base = unicodedata.normalize("NFD", char)[0]
        out.append(base if base.isascii() else {"đ": "d", "Đ": "D"}.get(char, char))
    return "".join(out)


PHRASE_EVASIONS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("upper", upper), ("fullwidth", full_width), ("zero_width", zero_width), ("separator", joined_by_dots),
    ("leet", leet), ("homoglyph", look_alikes), ("jamo", jamo), ("hiragana", hiragana), ("halfwidth", half_width),
    ("no_accents", no_accents),
)
"""Applied to every phrase; an evasion that leaves a phrase unchanged (leet on Chinese) is skipped."""

EXTRA_KEYWORD_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("jamo", jamo("하늘캠")),
    ("zero_width", "하\u200b늘\u200b캠"),
    ("homoglyph", "hаnеul_cаm"),  # Cyrillic а and е
    ("combined", full_width("h4neul.cam")),  # full-width + leet + separator
    ("combined", "h\u0430n\u200beul-c4m"),  # look-alike + zero-width + separator + leet
    ("combined", "H.A.N.E.U.L ＿ ｃａｍ"),  # separators + upper + full-width
)
"""Keyword spellings the dataset generator does not write; Hangul ones go into the Korean frame only."""


# -- the corpus ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    kind: str  # "keyword", "phrase" or "negative"
    group: str  # the evasion, or for negatives where the sentence comes from
    language: str
    text: str

    @property
    def positive(self) -> bool:
        return self.kind != "negative"


def build_corpus(folder: Path, *, texts: int) -> tuple[list[Post], tuple[str, ...]]:
    """The posts (keyword, phrase and negative) and the case's keywords."""
    make_synthetic_dataset(folder, images=0, videos=0, texts=texts, seed=SEED)
    dataset = load_dataset(folder)
    posts: dict[str, Post] = {}
    for item in dataset.items:
        text, language = item.read_text(), item.language or "en"
        kind = "keyword" if item.positive else "negative"
        posts.setdefault(text, Post(kind, item.group if item.positive else f"generator {item.group}", language, text))
    latin, hangul = dataset.keywords
    frames: dict[str, list[str]] = {}
    for post in posts.values():
        if post.kind == "keyword" and post.group in ("plain", "hangul"):
            frame = post.text.replace(latin if post.group == "plain" else hangul, SLOT)
            frames.setdefault(post.language, [])
            if frame not in frames[post.language]:
                frames[post.language].append(frame)
    missing = set(SHIPPED_LANGUAGES) - set(frames)
    if missing:
        raise RuntimeError(f"the generator wrote no plain keyword post in {sorted(missing)}: raise --texts")
    extra: list[Post] = []
    for group, spelling in EXTRA_KEYWORD_SPELLINGS:
        is_hangul = any("\u3131" <= c <= "\ud7a3" for c in spelling)
        for language, language_frames in sorted(frames.items()):
            if is_hangul and language != "ko":
                continue
            extra += [Post("keyword", group, language, f.replace(SLOT, spelling)) for f in language_frames]
    for language in SHIPPED_LANGUAGES:
        frame = frames[language][0]
        for phrase in load_phrase_pack(language).phrases:
            extra.append(Post("phrase", "plain", language, frame.replace(SLOT, phrase)))
            for group, evade in PHRASE_EVASIONS:
                disguised = evade(phrase)
                if disguised != phrase:
                    extra.append(Post("phrase", group, language, frame.replace(SLOT, disguised)))
    extra += [Post("negative", "hard negative", language, text) for language, text, _ in HARD_NEGATIVES]
    for post in extra:
        posts.setdefault(post.text, post)
    return list(posts.values()), dataset.keywords


def build_pages(negatives: Sequence[Post], keywords: Sequence[str], *, count: int) -> list[str]:
    """``count`` pages of about ``PAGE_BYTES`` of negative sentences; every other one hides a keyword near its end."""
    rng = random.Random(SEED)
    sentences = [p.text for p in negatives if not p.group.startswith("hard")]
    pages = []
    for index in range(count):
        parts: list[str] = []
        size = 0
        while size < PAGE_BYTES - 2_000:
            sentence = rng.choice(sentences)
            parts.append(sentence)
            size += len(sentence.encode("utf-8")) + 1
        if index % 2:
            parts.insert(len(parts) - 5, f"mirror of {full_width(leet(keywords[0]))} here")
        pages.append("\n".join(parts))
    return pages


# -- the two sides -------------------------------------------------------------------------------------------------


def regex_terms(keywords: Sequence[str]) -> list[str]:
    """The case's keywords, then every phrase of the shipped packs."""
    terms = [*keywords, *(p for language in SHIPPED_LANGUAGES for p in load_phrase_pack(language).phrases)]
    return list(dict.fromkeys(terms))


def hand_written_regex(terms: Sequence[str]) -> re.Pattern[str]:
    """What an agency writes today: keywords and the shipped phrases, escaped, in one case-insensitive alternation."""
    return re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class Sides:
    """The detector and the peers, each as ``flag(text) -> bool`` over prepared inputs."""

    def __init__(self, keywords: tuple[str, ...]) -> None:
        started = time.perf_counter()
        self.detector = KeywordDetector()
        self.case = Case(title="keyword benchmark", keywords=list(keywords))
        self.detector.detect(self.candidate("warm-up"), case=self.case)  # compiles the case's keywords
        self.setup_s = time.perf_counter() - started
        self.terms = regex_terms(keywords)
        self.regex = hand_written_regex(self.terms)
        self.nfkc_regex = hand_written_regex([nfkc(t) for t in self.terms])

    def candidate(self, text: str) -> Candidate:
        return Candidate(case_id=self.case.id, site="bench.example", url="https://bench.example/post", text=text)

    def detector_flags(self, candidate: Candidate) -> bool:
        return self.detector.detect(candidate, case=self.case).label is not DetectionLabel.NO_MATCH

    def regex_flags(self, text: str) -> bool:
        return self.regex.search(text) is not None

    def nfkc_regex_flags(self, text: str) -> bool:
        return self.nfkc_regex.search(nfkc(text)) is not None


SIDES = ("keyword", "regex", "regex_nfkc")
LABELS = {"keyword": "KeywordDetector", "regex": "hand-written regex", "regex_nfkc": "regex on NFKC text"}


def judge_all(sides: Sides, posts: Sequence[Post]) -> dict[str, list[bool]]:
    candidates = [sides.candidate(p.text) for p in posts]
    return {"keyword": [sides.detector_flags(c) for c in candidates],
            "regex": [sides.regex_flags(p.text) for p in posts],
            "regex_nfkc": [sides.nfkc_regex_flags(p.text) for p in posts]}


def quality(posts: Sequence[Post], flags: dict[str, list[bool]]) -> dict[str, Any]:
    """Recall per kind and evasion and overall, and the negatives each side flagged."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for index, post in enumerate(posts):
        if not post.positive:
            continue
        row = rows.setdefault((post.kind, post.group), {"kind": post.kind, "group": post.group, "posts": 0,
                                                        **dict.fromkeys(SIDES, 0)})
        row["posts"] += 1
        for side in SIDES:
            row[side] += flags[side][index]
    positives = [i for i, p in enumerate(posts) if p.positive]
    negatives = [i for i, p in enumerate(posts) if not p.positive]
    summary: dict[str, Any] = {"positives": len(positives), "negatives": len(negatives), "groups": list(rows.values())}
    for side in SIDES:
        summary[f"{side}_recall"] = sum(flags[side][i] for i in positives) / len(positives)
        for kind in ("keyword", "phrase"):
            of_kind = [i for i in positives if posts[i].kind == kind]
            summary[f"{side}_recall_{kind}"] = sum(flags[side][i] for i in of_kind) / len(of_kind)
        summary[f"{side}_false_positives"] = [posts[i].text for i in negatives if flags[side][i]]
    return summary


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def speed(sides: Sides, posts: Sequence[Post], pages: Sequence[str], *, rounds: int) -> dict[str, Any]:
    """Per-post latency (every post, every round) and MB/s over the large pages (median of the rounds)."""
    candidates = [sides.candidate(p.text) for p in posts]
    page_candidates = [sides.candidate(p) for p in pages]
    texts = [p.text for p in posts]
    megabytes = sum(len(p.encode("utf-8")) for p in pages) / 1e6
    calls: dict[str, tuple[Callable[[Any], bool], list[Any], list[Any]]] = {
        "keyword": (sides.detector_flags, candidates, page_candidates),
        "regex": (sides.regex_flags, texts, list(pages)),
        "regex_nfkc": (sides.nfkc_regex_flags, texts, list(pages)),
    }
    latencies: dict[str, list[tuple[bool, float]]] = {side: [] for side in SIDES}
    rates: dict[str, list[float]] = {side: [] for side in SIDES}
    clock = time.perf_counter
    for _ in range(rounds):
        for side, (flag, items, big) in calls.items():
            for post, item in zip(posts, items, strict=True):
                started = clock()
                flag(item)
                latencies[side].append((post.positive, clock() - started))
            started = clock()
            for page in big:
                flag(page)
            rates[side].append(megabytes / (clock() - started))
    out: dict[str, Any] = {}
    for side in SIDES:
        every = [t for _, t in latencies[side]]
        out[side] = {"mb_per_s": statistics.median(rates[side]), "mb_per_s_rounds": rates[side],
                     "p50_us": _percentile(every, 0.50) * 1e6, "p95_us": _percentile(every, 0.95) * 1e6,
                     "mean_us": statistics.fmean(every) * 1e6}
        # A post with a hit costs more (the hit is located and described); most posts on the web have none.
        for name, positive in (("positive", True), ("negative", False)):
            some = [t for p, t in latencies[side] if p is positive]
            out[side][f"{name}_p50_us"] = _percentile(some, 0.50) * 1e6
            out[side][f"{name}_p95_us"] = _percentile(some, 0.95) * 1e6
    return out


# -- reporting -----------------------------------------------------------------------------------------------------


def _machine() -> dict[str, str]:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": str(os.cpu_count()),
            "processor": platform.processor() or platform.machine(), "takedown": __version__}


def _evasion_recall(groups: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Recall per evasion, keyword and phrase posts together, in order of first appearance."""
    totals: dict[str, dict[str, float]] = {}
    for row in groups:
        total = totals.setdefault(row["group"], {"posts": 0, **dict.fromkeys(SIDES, 0)})
        for key in ("posts", *SIDES):
            total[key] += row[key]
    return {g: {side: t[side] / t["posts"] for side in SIDES} | {"posts": t["posts"]} for g, t in totals.items()}


def _plot(summary: dict[str, Any], timing: dict[str, Any], path: Path) -> None:
    """Recall per evasion (left), and throughput and per-post latency (right), if matplotlib is installed."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib to write {path})")
        return
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    colours = {"keyword": "#4C72B0", "regex": "#999999", "regex_nfkc": "#DD8452"}
    per_group = _evasion_recall(summary["groups"])
    groups = list(per_group)
    fig = plt.figure(figsize=(9, 4.8), dpi=100)
    grid = fig.add_gridspec(2, 2, width_ratios=[1.6, 1])
    left, speed_ax, latency_ax = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])
    height = 0.27
    for k, side in enumerate(SIDES):
        ys = [i + (k - 1) * height for i in range(len(groups))]
        left.barh(ys, [per_group[g][side] for g in groups], height, color=colours[side], label=LABELS[side])
    left.set_yticks(range(len(groups)), [f"{g} ({per_group[g]['posts']:.0f})" for g in groups], fontsize=7)
    left.invert_yaxis()
    left.set_xlim(0, 1.0)
    left.set_xlabel("recall (posts flagged)")
    left.set_title("Recall per evasion (posts)", fontsize=9)
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.45, -0.1), ncol=3, frameon=False)
    names = [LABELS[s] for s in SIDES]
    rates = [timing[s]["mb_per_s"] for s in SIDES]
    speed_ax.barh(names, rates, color=[colours[s] for s in SIDES])
    speed_ax.invert_yaxis()
    speed_ax.set_xlabel("MB/s on 1 MB pages")
    speed_ax.tick_params(labelsize=7)
    for y, value in enumerate(rates):
        speed_ax.text(value, y, f" {value:.1f}", va="center", fontsize=7)
    speed_ax.set_xlim(0, max(rates) * 1.25)
    p50 = [timing[s]["p50_us"] for s in SIDES]
    p95 = [timing[s]["p95_us"] for s in SIDES]
    latency_ax.barh(names, p95, color="#DDDDDD", label="p95")
    latency_ax.barh(names, p50, color=[colours[s] for s in SIDES], label="p50")
    latency_ax.invert_yaxis()
    latency_ax.set_xscale("log")
    latency_ax.set_xlabel("µs per post, p50 (and p95) (log)")
    latency_ax.tick_params(labelsize=7)
    for y, (low, high) in enumerate(zip(p50, p95, strict=True)):
        latency_ax.text(high, y, f" {low:.0f} / {high:.0f}", va="center", fontsize=7)
    latency_ax.set_xlim(min(p50) / 2, max(p95) * 8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"plot written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['rounds']} rounds, {QUICK['pages']} pages of 1 MB, a smaller generated set")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per side")
    parser.add_argument("--pages", type=int, default=None, help="1 MB pages for throughput")
    parser.add_argument("--out", type=Path, default=None, help="write every figure as JSON here")
    parser.add_argument("--plot", type=Path, default=None, help="write the bars here as PNG (needs matplotlib)")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    rounds, page_count = args.rounds or preset["rounds"], args.pages or preset["pages"]
    if rounds < 1 or page_count < 1:
        parser.error("--rounds and --pages must be at least 1")

    machine = _machine()
    print(f"takedown {machine['takedown']} keyword benchmark: KeywordDetector against a hand-written regex")
    print(f"machine: {machine['cpus']} CPUs, {machine['processor']}, {machine['platform']}, Python {machine['python']}")
    with tempfile.TemporaryDirectory(prefix="takedown-bench-keywords-") as folder:
        posts, keywords = build_corpus(Path(folder) / "dataset", texts=preset["texts"])
    pages = build_pages([p for p in posts if not p.positive], keywords, count=page_count)
    sides = Sides(keywords)
    counts = {kind: sum(p.kind == kind for p in posts) for kind in ("keyword", "phrase", "negative")}
    print(f"corpus: {counts['keyword']} keyword posts, {counts['phrase']} phrase posts, {counts['negative']} negative "
          f"posts in {len({p.language for p in posts})} languages; {page_count} pages of 1 MB; {rounds} rounds")
    print(f"regex: {len(sides.terms)} alternatives; detector setup {sides.setup_s:.2f} s "
          "(packs compiled, not counted)\n")

    summary = quality(posts, judge_all(sides, posts))
    # The detector must find the keyword hidden in the pages that carry one, and nothing in the others.
    page_flags = [sides.detector_flags(sides.candidate(page)) for page in pages]
    pages_right = page_flags == [bool(i % 2) for i in range(page_count)]
    timing = speed(sides, posts, pages, rounds=rounds)

    print(f"{'kind':<8} {'evasion':<12} {'posts':>5} {'detector':>9} {'regex':>6} {'nfkc':>6}")
    for row in summary["groups"]:
        print(f"{row['kind']:<8} {row['group']:<12} {row['posts']:>5} "
              + " ".join(f"{row[s] / row['posts']:>{w}.2f}" for s, w in zip(SIDES, (9, 6, 6), strict=True)))
    print(f"\n{'':<28} {'detector':>9} {'regex':>9} {'nfkc':>9}")
    for key, title in (("recall_keyword", "recall, keyword posts"), ("recall_phrase", "recall, phrase posts"),
                       ("recall", "recall, all positives")):
        print(f"{title:<28} " + " ".join(f"{summary[f'{s}_{key}']:>9.3f}" for s in SIDES))
    print(f"{'false positives (of ' + str(summary['negatives']) + ')':<28} "
          + " ".join(f"{len(summary[f'{s}_false_positives']):>9}" for s in SIDES))
    print(f"{'MB/s on 1 MB pages':<28} " + " ".join(f"{timing[s]['mb_per_s']:>9.2f}" for s in SIDES))
    print(f"{'per post p50 µs':<28} " + " ".join(f"{timing[s]['p50_us']:>9.1f}" for s in SIDES))
    print(f"{'per post p95 µs':<28} " + " ".join(f"{timing[s]['p95_us']:>9.1f}" for s in SIDES))
    for name in ("positive", "negative"):
        for q in ("p50", "p95"):
            print(f"{f'  {name} posts {q} µs':<28} " + " ".join(f"{timing[s][f'{name}_{q}_us']:>9.1f}" for s in SIDES))
    for side in SIDES:
        for text in summary[f"{side}_false_positives"]:
            print(f"  false positive of {LABELS[side]}: {text}")
    if not pages_right:
        print(f"\nthe detector's verdicts on the pages are wrong: {page_flags}", file=sys.stderr)

    recall_ratio = summary["keyword_recall"] / summary["regex_recall"]
    speed_ratio = timing["keyword"]["mb_per_s"] / timing["regex"]["mb_per_s"]
    if args.out is not None:
        data = {"benchmark": "keywords", "machine": machine, "rounds": rounds, "pages": page_count,
                "page_bytes": PAGE_BYTES, "counts": counts, "setup_s": sides.setup_s, "quality": summary,
                "speed": timing, "recall_ratio_vs_regex": recall_ratio, "speed_ratio_vs_regex": speed_ratio}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.out}")
    plot_path = args.plot or (args.out.with_suffix(".png") if args.out else None)
    if plot_path is not None:
        _plot(summary, timing, plot_path)

    print(f"RESULT recall_ratio_vs_regex={recall_ratio:.2f} speed_ratio_vs_regex={speed_ratio:.3f} "
          f"keyword_recall={summary['keyword_recall']:.3f} regex_recall={summary['regex_recall']:.3f} "
          f"keyword_mb_per_s={timing['keyword']['mb_per_s']:.2f} regex_mb_per_s={timing['regex']['mb_per_s']:.2f} "
          f"keyword_fp={len(summary['keyword_false_positives'])} regex_fp={len(summary['regex_false_positives'])} "
          f"negatives={summary['negatives']} keyword_p50_us={timing['keyword']['p50_us']:.0f} "
          f"keyword_p95_us={timing['keyword']['p95_us']:.0f} regex_p50_us={timing['regex']['p50_us']:.1f} "
          f"regex_p95_us={timing['regex']['p95_us']:.1f}")
    return 0 if pages_right else 1


if __name__ == "__main__":
    sys.exit(main())
