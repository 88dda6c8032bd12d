"""Labelled datasets for benchmarking detectors: items with their ground truth, and the case they are judged against.

A ``Dataset`` is a list of items (a media file, or a text inline or in a file), each labelled positive (it is, or
carries, the protected media or keyword) or negative, with an optional group tag (how a copy was made: ``resize50``,
``flip``; which evasion a text uses: ``fullwidth``) and language. Its ``references`` folder (the media a case would
hold hashes of) and ``keywords`` define the ``Case`` every detector judges against.

``load_dataset`` reads one from a folder or a manifest:

- **a folder** with ``positive/`` and ``negative/`` subfolders (a file's first subfolder below them, if any, is its
  group; ``NAME.LANG.txt`` is a text item in language LANG), or with a ``manifest.jsonl`` / ``manifest.csv``;
- **a manifest** (``.jsonl`` or ``.csv``): one item per row with the fields ``label`` (positive/negative, also
  true/false, 1/0, yes/no, pos/neg), ``path`` (relative to the manifest) or ``text``, and optionally ``kind``
  (image, video, audio, text; else told by the file's extension), ``group``, ``language``, ``id``.

Beside either, a ``references/`` folder and a ``keywords.txt`` (one keyword a line, ``#`` comments) are picked up;
``load_dataset``'s arguments override them. Every problem is a ``DatasetError`` naming the file and line.

``make_synthetic_dataset`` writes a reproducible dataset of generated media and invented, harmless texts.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance
from pydantic import BaseModel, ConfigDict, Field, model_validator

from takedown.detect.references import media_kind_of, reference_hashes
from takedown.errors import DatasetError, MissingDependencyError, TakedownError
from takedown.files import atomic_write
from takedown.models import Case, ItemKind, MediaKind, ReferenceHash, make_id
from takedown.synthetic import (
    add_noise,
    default_font,
    encode_video,
    jpeg_bytes,
    linear_gradient,
    png_bytes,
    radial_gradient,
    random_colour,
    random_point,
    reencode_video,
    to_image,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "SYNTHETIC_KEYWORDS",
    "Dataset",
    "DatasetItem",
    "load_dataset",
    "make_synthetic_dataset",
    "parse_label",
]

MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")
REFERENCES_DIR = "references"
KEYWORDS_FILE = "keywords.txt"
_FIELDS = frozenset({"id", "path", "text", "kind", "label", "group", "language"})
_TEXT_SUFFIXES = frozenset({".txt", ".md"})
_POSITIVE = frozenset({"positive", "pos", "true", "1", "yes", "y"})
_NEGATIVE = frozenset({"negative", "neg", "false", "0", "no", "n"})
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class DatasetItem(BaseModel):
    """One labelled item: a media file, or a text (inline, or in a UTF-8 file)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str = Field(description="unique in the dataset: the path relative to the dataset, or a given id")
    kind: ItemKind
    positive: bool = Field(description="the ground truth: a detector should flag this item")
    path: Path | None = Field(default=None, description="the file, absolute (a media file, or a text file)")
    text: str | None = Field(default=None, description="the text of an inline text item")
    group: str = Field(default="", description="a tag to break results down by: a transform, an evasion")
    language: str | None = Field(default=None, description="BCP 47 tag of a text item")

    @model_validator(mode="after")
    def _one_source(self) -> DatasetItem:
        if (self.path is None) == (self.text is None):
            raise ValueError("an item has either a path or a text")
        if self.text is not None and self.kind is not ItemKind.TEXT:
            raise ValueError(f"an inline text is of kind text, not {self.kind.value}")
        return self

    def read_text(self) -> str:
        """The item's text: inline, or read from its file.

        Raises:
            DatasetError: the item is media, or its file cannot be read as UTF-8.
        """
        if self.text is not None:
            return self.text
        if self.kind is not ItemKind.TEXT or self.path is None:
            raise DatasetError(f"item {self.id} is {self.kind.value}, not text")
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"cannot read the text: {exc}", path=str(self.path)) from exc


class Dataset(BaseModel):
    """Labelled items and the case (reference media, keywords) that detectors judge them against."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str
    items: tuple[DatasetItem, ...]
    references: Path | None = Field(default=None, description="a folder of reference images and videos")
    keywords: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Dataset:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"two items have the id {item.id!r}")
            seen.add(item.id)
        return self

    @property
    def positives(self) -> int:
        """How many items are labelled positive."""
        return sum(item.positive for item in self.items)

    def kinds(self) -> frozenset[ItemKind]:
        """The kinds of item the dataset holds."""
        return frozenset(item.kind for item in self.items)

    def reference_files(self) -> list[Path]:
        """The reference media files, sorted (hidden files left out).

        Raises:
            DatasetError: the references folder is missing, or holds a file that is not an image or a video.
        """
        if self.references is None:
            return []
        if not self.references.is_dir():
            raise DatasetError("the references folder does not exist", path=str(self.references))
        files = sorted(p for p in self.references.rglob("*") if p.is_file() and not p.name.startswith("."))
        for path in files:
            if media_kind_of(path.name) not in (MediaKind.IMAGE, MediaKind.VIDEO):
                raise DatasetError("a reference is an image or a video", path=str(path))
        return files

    def case(self) -> Case:
        """The case the items are judged against: the references' hashes and the keywords.

        A reference is labelled by its path below the references folder, without the extension
        (``ref-000``).

        Raises:
            DatasetError: a reference is not an image or a video, or cannot be decoded.
            MissingDependencyError: a reference is a video and PyAV (the ``video`` extra) is missing.
        """
        hashes: list[ReferenceHash] = []
        for path in self.reference_files():
            assert self.references is not None  # reference_files() is empty without it
            label = path.relative_to(self.references).with_suffix("").as_posix()
            try:
                hashes += reference_hashes(path, label=label, bank="dataset")
            except MissingDependencyError:
                raise
            except TakedownError as exc:
                raise DatasetError(f"cannot hash the reference: {exc}", path=str(path)) from exc
        languages = sorted({item.language for item in self.items if item.language}) or ["en"]
        return Case(id=make_id("case", "bench", self.name), title=f"Benchmark: {self.name}", references=hashes,
                    keywords=list(self.keywords), languages=languages)


def parse_label(value: object) -> bool:
    """A label as a manifest writes it: ``True`` for positive, ``False`` for negative.

    Accepts booleans, 1/0, and (any case) positive/negative, pos/neg, true/false, yes/no, y/n.

    Raises:
        ValueError: anything else.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _POSITIVE:
        return True
    if text in _NEGATIVE:
        return False
    raise ValueError(f"unknown label {value!r}; use positive or negative (or true/false, 1/0, yes/no)")


# -- loading -----------------------------------------------------------------------------------------------------


def load_dataset(
    source: Path,
    *,
    references: Path | None = None,
    keywords: Sequence[str] | None = None,
    name: str | None = None,
) -> Dataset:
    """Load a labelled dataset from a folder or a manifest (see the module docstring for the formats).

    Args:
        source: a folder (``positive/`` and ``negative/``, or a ``manifest.jsonl`` / ``manifest.csv`` in it), or a
            ``.jsonl`` or ``.csv`` manifest.
        references: the folder of reference media (default: ``references/`` beside the manifest, if present).
        keywords: the case's keywords (default: the lines of ``keywords.txt`` beside the manifest, if present).
        name: the dataset's name in reports (default: the folder's or the manifest's name).

    Returns:
        The dataset, with every item's path absolute.

    Raises:
        DatasetError: the source is missing or empty, a row is malformed (the error names file and line), a file it
            names is missing, a label or kind is unknown, or two items share an id.
    """
    source = Path(source)
    if source.is_dir():
        manifests = [source / m for m in MANIFEST_NAMES if (source / m).is_file()]
        if len(manifests) > 1:
            raise DatasetError(f"holds both {' and '.join(MANIFEST_NAMES)}; keep one", path=str(source))
        root = source
        items = _read_manifest(manifests[0]) if manifests else _read_folder(source)
    elif source.is_file():
        root = source.parent
        items = _read_manifest(source)
    else:
        raise DatasetError("no such dataset folder or manifest", path=str(source))
    if not items:
        raise DatasetError("the dataset has no items", path=str(source))
    if references is None and (root / REFERENCES_DIR).is_dir():
        references = root / REFERENCES_DIR
    if keywords is None:
        keywords = _read_keywords(root / KEYWORDS_FILE)
    seen: dict[str, str] = {}  # id -> where it was first used
    for item, (file, line) in items:
        if item.id in seen:
            raise DatasetError(f"the id {item.id!r} is used twice (first: {seen[item.id]})", path=file, line=line)
        seen[item.id] = f"line {line}" if line else file
    dataset = Dataset(
        name=name or (source.name if source.is_dir() else source.stem),
        items=tuple(item for item, _ in items),
        references=references.resolve() if references is not None else None,
        keywords=tuple(keywords),
    )
    dataset.reference_files()  # a missing or odd references folder is reported now, not mid-benchmark
    return dataset


def _read_keywords(path: Path) -> list[str]:
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the keywords: {exc}", path=str(path)) from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _kind_of(path: Path) -> ItemKind | None:
    if path.suffix.lower() in _TEXT_SUFFIXES:
        return ItemKind.TEXT
    kind = media_kind_of(path.name)
    return ItemKind(kind.value) if kind is not None else None


_Where = tuple[str, int | None]  # the file an item came from, and its line in a manifest


def _read_folder(root: Path) -> list[tuple[DatasetItem, _Where]]:
    """Items from ``positive/`` and ``negative/`` (each paired with where it came from, for error messages)."""
    folders = {label: root / label for label in ("positive", "negative") if (root / label).is_dir()}
    if not folders:
        raise DatasetError(
            f"a dataset folder holds positive/ and negative/ subfolders, or one of {', '.join(MANIFEST_NAMES)}",
            path=str(root),
        )
    items: list[tuple[DatasetItem, _Where]] = []
    for label, folder in folders.items():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder)
            if any(part.startswith(".") for part in relative.parts):
                continue
            kind = _kind_of(path)
            if kind is None:
                raise DatasetError("not an image, video, audio or text file (.txt)", path=str(path))
            language = None
            if kind is ItemKind.TEXT:
                tag = Path(path.stem).suffix.lstrip(".")
                language = tag if _LANGUAGE.match(tag) else None
            group = relative.parts[0] if len(relative.parts) > 1 else ""
            item = DatasetItem(id=path.relative_to(root).as_posix(), kind=kind, positive=label == "positive",
                               path=path.resolve(), group=group, language=language)
            items.append((item, (str(path), None)))
    return items


def _rows(manifest: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The manifest's rows with their 1-based line numbers."""
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the manifest: {exc}", path=str(manifest)) from exc
    suffix = manifest.suffix.lower()
    if suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"not JSON: {exc.msg}", path=str(manifest), line=number) from exc
            if not isinstance(row, dict):
                raise DatasetError("each line is a JSON object", path=str(manifest), line=number)
            yield number, row
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        columns = reader.fieldnames or []
        if "label" not in columns:
            raise DatasetError(f"the header needs a label column (has: {', '.join(columns) or 'none'})",
                               path=str(manifest), line=1)
        unknown = sorted(set(columns) - _FIELDS)
        if unknown:
            raise DatasetError(f"unknown column(s) {', '.join(unknown)}; columns are {', '.join(sorted(_FIELDS))}",
                               path=str(manifest), line=1)
        try:
            for row in reader:
                if None in row:
                    raise DatasetError("more cells than the header has columns", path=str(manifest),
                                       line=reader.line_num)
                yield reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}
        except csv.Error as exc:
            raise DatasetError(f"not CSV: {exc}", path=str(manifest), line=reader.line_num) from exc
    else:
        raise DatasetError("a manifest is a .jsonl or .csv file", path=str(manifest))


def _read_manifest(manifest: Path) -> list[tuple[DatasetItem, _Where]]:
    base = manifest.parent
    items: list[tuple[DatasetItem, _Where]] = []
    for number, row in _rows(manifest):

        def fail(message: str, number: int = number) -> DatasetError:
            return DatasetError(message, path=str(manifest), line=number)

        unknown = sorted(set(row) - _FIELDS)
        if unknown:
            raise fail(f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(sorted(_FIELDS))}")
        if "label" not in row:
            raise fail("the row has no label")
        try:
            positive = parse_label(row["label"])
        except ValueError as exc:
            raise fail(str(exc)) from None
        for field in ("id", "path", "text", "kind", "group", "language"):
            if field in row and not isinstance(row[field], str):
                raise fail(f"{field} is a string, not {type(row[field]).__name__}")
        path_value, text = row.get("path"), row.get("text")
        if (path_value is None) == (text is None):
            raise fail("give either a path or a text")
        path = None
        if path_value is not None:
            path = (base / path_value).resolve()
            if not path.is_file():
                raise fail(f"no such file: {path_value}")
        kind: ItemKind | None
        if "kind" in row:
            try:
                kind = ItemKind(row["kind"].strip().lower())
            except ValueError:
                raise fail(f"unknown kind {row['kind']!r}; kinds are {', '.join(k.value for k in ItemKind)}") from None
        else:
            kind = ItemKind.TEXT if path is None else _kind_of(path)
            if kind is None:
                raise fail(f"cannot tell the kind of {path_value} from its name; give a kind")
        if text is not None and kind is not ItemKind.TEXT:
            raise fail(f"an inline text is of kind text, not {kind.value}")
        item_id = row.get("id") or (Path(path_value).as_posix() if path_value is not None else f"line-{number}")
        items.append((
            DatasetItem(id=item_id, kind=kind, positive=positive, path=path, text=text, group=row.get("group", ""),
                        language=row.get("language")),
            (str(manifest), number),
        ))
    return items


# -- the synthetic dataset ---------------------------------------------------------------------------------------

SYNTHETIC_KEYWORDS: tuple[str, ...] = ("haneul_cam", "하늘캠")
"""The invented keywords of the synthetic dataset's case (a made-up account name, in Latin and Hangul)."""

_SYNTHETIC_MARKER = "synthetic.json"
_SYNTHETIC_VERSION = 1
_SCENE = (320, 240)
_VIDEO_SIZE = (256, 192)
_VIDEO_FPS = 10

_IMAGE_TRANSFORMS = ("exact", "resize50", "jpeg40", "crop4", "flip", "brighter")
_VIDEO_TRANSFORMS = ("exact", "reencode")

# Evasions of the keyword (group tag, the text as posted). Each stays readable to a person.
_EVASIONS: tuple[tuple[str, str], ...] = (
    ("plain", "haneul_cam"),
    ("upper", "HANEUL_CAM"),
    ("fullwidth", "ｈａｎｅｕｌ＿ｃａｍ"),
    ("spaced", "h a n e u l _ c a m"),
    ("separator", "haneul.cam"),
    ("joined", "haneulcam"),
    ("zero_width", "hane\u200bul_cam"),
    ("leet", "h4neul_c4m"),
    ("homoglyph", "h\u0430neul_c\u0430m"),  # Cyrillic a
    ("hangul", "하늘캠"),
    ("hangul_spaced", "하 늘 캠"),
)

# Invented, harmless posts that name the account (``{kw}``), per language.
_POSITIVE_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("en", "Reposting the {kw} picture set again, saved from another account."),
    ("en", "Anyone have the rest of the {kw} photos? Uploading what I found."),
    ("ko", "{kw} 사진 모음 다시 올려요. 다른 계정에서 저장한 거예요."),
    ("ja", "{kw} の画像をまとめて転載します。画質は少し落ちてます。"),
    ("zh-Hans", "转发 {kw} 的图片合集，原图在评论区。"),
    ("es", "Subo otra vez las fotos de {kw}, ahora recortadas."),
    ("vi", "Đăng lại bộ ảnh {kw}, có vài tấm đã nén lại."),
    ("ru", "Перезалил подборку {kw} с другого аккаунта."),
)

# Invented, harmless posts without the keyword: everyday topics, and near misses that share part of it.
_NEGATIVE_TEXTS: tuple[tuple[str, str, str], ...] = (
    ("benign", "en", "The morning bus was late again, so I walked to work and bought coffee on the way."),
    ("benign", "en", "Sharing my sourdough recipe: flour, water, salt and a lot of patience."),
    ("benign", "ko", "오늘 비가 와서 집에서 책을 읽었어요. 따뜻한 차 한 잔이 최고네요."),
    ("benign", "ja", "週末は公園で散歩しました。桜がもうすぐ咲きそうです。"),
    ("benign", "zh-Hans", "周末做了一个彩色小球弹来弹去的动画，分享给大家。"),
    ("benign", "es", "Practicando composición con formas y colores planos. ¿Qué opináis?"),
    ("benign", "vi", "Trời mưa nhẹ, một ly cà phê sữa đá là đủ cho buổi sáng thứ Hai."),
    ("benign", "ru", "Сегодня весь день учил новые аккорды на гитаре."),
    ("near_miss", "en", "The webcam on my laptop stopped working after the update."),
    ("near_miss", "en", "Haneul is a common Korean name; it means sky."),
    ("near_miss", "ko", "하늘이 정말 맑네요. 캠핑 가기 좋은 날씨예요."),
    ("near_miss", "en", "New branch of haneul_cafe opens downtown next week."),
)


def make_synthetic_dataset(out: Path, *, images: int = 6, videos: int = 1, texts: int = 12, seed: int = 0) -> Path:
    """Write a reproducible synthetic dataset: generated media and invented, harmless texts, nothing else.

    Layout: ``references/`` (``images`` reference scenes, ``videos`` reference videos), ``positive/`` (altered copies
    of each reference: for an image ``exact``, ``resize50``, ``jpeg40``, ``crop4``, ``flip``, ``brighter``; for a
    video ``exact`` and ``reencode``), ``negative/`` (one unrelated scene per positive image, two unrelated videos per
    reference video), ``keywords.txt`` (``SYNTHETIC_KEYWORDS``) and ``manifest.jsonl``, which lists every item with
    its group (the transform, or for texts how the keyword is written: ``plain``, ``upper``, ``fullwidth``,
    ``spaced``, ``separator``, ``joined``, ``zero_width``, ``leet``, ``homoglyph``, ``hangul``, ``hangul_spaced``;
    negatives ``benign`` or ``near_miss``) and holds ``texts`` positive and ``texts`` negative texts inline, in
    several languages.

    The same arguments always give byte-identical files. Writing into a folder that holds an earlier synthetic
    dataset replaces it; any other non-empty folder is refused.

    Args:
        out: the folder to write (created if missing).
        images: reference images (each gives 6 positives and 6 negatives).
        videos: reference videos (each gives 2 positives and 2 negatives); needs PyAV (the ``video`` extra).
        texts: positive texts, and as many negative ones.
        seed: seeds every random choice.

    Returns:
        ``out``, ready for ``load_dataset``.

    Raises:
        DatasetError: a count is negative, or ``out`` is a non-empty folder that is not a synthetic dataset.
        MissingDependencyError: ``videos`` > 0 and PyAV is not installed.
    """
    out = Path(out)
    if min(images, videos, texts) < 0:
        raise DatasetError("counts of images, videos and texts cannot be negative")
    if out.exists():
        if not out.is_dir():
            raise DatasetError("exists and is not a folder", path=str(out))
        if any(out.iterdir()):
            if not (out / _SYNTHETIC_MARKER).is_file():
                raise DatasetError("is not empty and holds no synthetic dataset; choose an empty folder",
                                   path=str(out))
            for stale in ("references", "positive", "negative", *MANIFEST_NAMES, KEYWORDS_FILE, _SYNTHETIC_MARKER):
                target = out / stale
                if target.is_dir():
                    shutil.rmtree(target)
                else:
                    target.unlink(missing_ok=True)
    files: dict[str, bytes] = {}
    rows: list[dict[str, str]] = []

    def add(file: str, data: bytes, *, label: str, group: str, kind: str) -> None:
        files[file] = data
        rows.append({"id": file, "path": file, "kind": kind, "label": label, "group": group})

    for index in range(images):
        scene = _scene(np.random.default_rng([seed, 1, index]), _SCENE)
        files[f"references/ref-{index:03d}.png"] = png_bytes(scene)
        for name, (data, ext) in _image_copies(scene, np.random.default_rng([seed, 2, index])).items():
            add(f"positive/img-{index:03d}-{name}.{ext}", data, label="positive", group=name, kind="image")
    for index in range(images * len(_IMAGE_TRANSFORMS)):
        rng = np.random.default_rng([seed, 3, index])
        scene = _scene(rng, _SCENE)
        data, ext = (png_bytes(scene), "png") if index % 2 else (jpeg_bytes(scene, int(rng.integers(60, 95))), "jpg")
        add(f"negative/img-{index:03d}.{ext}", data, label="negative", group="unrelated", kind="image")
    for index in range(videos):
        reference = encode_video(_video_frames(np.random.default_rng([seed, 4, index])), bit_rate=500_000)
        files[f"references/ref-v{index:02d}.mp4"] = reference
        add(f"positive/vid-{index:02d}-exact.mp4", reference, label="positive", group="exact", kind="video")
        smaller = reencode_video(reference, (160, 120), bit_rate=150_000)
        add(f"positive/vid-{index:02d}-reencode.mp4", smaller, label="positive", group="reencode", kind="video")
    for index in range(videos * len(_VIDEO_TRANSFORMS)):
        data = encode_video(_video_frames(np.random.default_rng([seed, 5, index])), bit_rate=400_000)
        add(f"negative/vid-{index:02d}.mp4", data, label="negative", group="unrelated", kind="video")
    rows += _synthetic_texts(texts, seed)

    out.mkdir(parents=True, exist_ok=True)
    for file, data in files.items():
        atomic_write(out / file, data)
    atomic_write(out / KEYWORDS_FILE, ("\n".join(SYNTHETIC_KEYWORDS) + "\n").encode("utf-8"))
    manifest = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    atomic_write(out / MANIFEST_NAMES[0], manifest.encode("utf-8"))
    marker = {"generator": __name__, "version": _SYNTHETIC_VERSION, "seed": seed, "images": images, "videos": videos,
              "texts": texts}
    atomic_write(out / _SYNTHETIC_MARKER, (json.dumps(marker, sort_keys=True) + "\n").encode("utf-8"))
    return out


def _scene(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A seeded abstract scene: a linear or radial gradient, shapes, a made-up label and grain. No people."""
    w, h = size
    if rng.random() < 0.5:
        pixels = linear_gradient(w, h, random_colour(rng), random_colour(rng), float(rng.uniform(0, 360)))
    else:
        pixels = radial_gradient(w, h, random_colour(rng), random_colour(rng), float(rng.uniform(0.2, 0.8)),
                                  float(rng.uniform(0.2, 0.8)))
    image = to_image(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 12))):
        x, y = random_point(rng, w, h)
        bw, bh = int(rng.integers(w // 8, w // 2)), int(rng.integers(h // 8, h // 2))
        shape = int(rng.integers(0, 4))
        if shape == 0:
            draw.ellipse((x, y, x + bw, y + bh), fill=random_colour(rng), outline=random_colour(rng), width=2)
        elif shape == 1:
            draw.rectangle((x, y, x + bw, y + bh), fill=random_colour(rng))
        elif shape == 2:
            draw.polygon([random_point(rng, w, h) for _ in range(int(rng.integers(3, 6)))], fill=random_colour(rng))
        else:
            draw.line((x, y, x + bw, y + bh), fill=random_colour(rng), width=int(rng.integers(3, 9)))
    label = "".join(chr(int(c)) for c in rng.integers(65, 91, size=int(rng.integers(3, 7))))
    font = default_font(int(rng.integers(24, 48)))
    draw.text(random_point(rng, w * 2 // 3, h * 3 // 4), label, fill=random_colour(rng, 0, 256), font=font)
    return add_noise(image, rng, float(rng.uniform(1.5, 4.0)))


def _image_copies(scene: Image.Image, rng: np.random.Generator) -> dict[str, tuple[bytes, str]]:
    """The altered copies of a reference scene, by transform name: (file bytes, extension)."""
    w, h = scene.size
    cut_w, cut_h = round(w * 0.04), round(h * 0.04)
    left, top = int(rng.integers(0, cut_w + 1)), int(rng.integers(0, cut_h + 1))
    copies = {
        "exact": (png_bytes(scene), "png"),
        "resize50": (jpeg_bytes(scene.resize((w // 2, h // 2), Image.Resampling.LANCZOS), 85), "jpg"),
        "jpeg40": (jpeg_bytes(scene, 40), "jpg"),
        "crop4": (jpeg_bytes(scene.crop((left, top, w - (cut_w - left), h - (cut_h - top))), 90), "jpg"),
        "flip": (png_bytes(scene.transpose(Image.Transpose.FLIP_LEFT_RIGHT)), "png"),
        "brighter": (jpeg_bytes(ImageEnhance.Brightness(scene).enhance(1.25), 90), "jpg"),
    }
    assert tuple(copies) == _IMAGE_TRANSFORMS
    return copies


def _video_frames(rng: np.random.Generator) -> Iterator[NDArray[np.uint8]]:
    """3 s at 10 fps: a seeded scene with two shapes moving across it."""
    w, h = _VIDEO_SIZE
    background = _scene(rng, _VIDEO_SIZE)
    colours = (random_colour(rng, 0, 256), random_colour(rng, 0, 256))
    start = [random_point(rng, w - 60, h - 60) for _ in colours]
    speed = [(int(rng.integers(-9, 10)), int(rng.integers(-7, 8))) for _ in colours]
    for frame in range(3 * _VIDEO_FPS):
        image = background.copy()
        draw = ImageDraw.Draw(image)
        for (x, y), (dx, dy), colour in zip(start, speed, colours, strict=True):
            px, py = (x + dx * frame) % (w - 50), (y + dy * frame) % (h - 50)
            draw.ellipse((px, py, px + 50, py + 50), fill=colour, outline=(0, 0, 0), width=2)
        yield np.asarray(image, dtype=np.uint8)


def _synthetic_texts(count: int, seed: int) -> list[dict[str, str]]:
    """``count`` positive texts (every evasion in turn) and ``count`` negative ones, as manifest rows."""
    rows = []
    for index in range(count):
        rng = np.random.default_rng([seed, 6, index])
        group, keyword = _EVASIONS[index % len(_EVASIONS)]
        if group.startswith("hangul"):
            language, template = "ko", _POSITIVE_TEMPLATES[2][1]
        else:
            language, template = _POSITIVE_TEMPLATES[int(rng.integers(0, len(_POSITIVE_TEMPLATES)))]
        rows.append({"id": f"text/pos-{index:03d}", "text": template.format(kw=keyword), "kind": "text",
                     "label": "positive", "group": group, "language": language})
    for index in range(count):
        rng = np.random.default_rng([seed, 7, index])
        group, language, text = _NEGATIVE_TEXTS[int(rng.integers(0, len(_NEGATIVE_TEXTS)))]
        rows.append({"id": f"text/neg-{index:03d}", "text": text, "kind": "text", "label": "negative",
                     "group": group, "language": language})
    return rows
