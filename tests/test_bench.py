"""The detector benchmark: metrics against hand-computed cases, datasets and their errors, the harness, the CLI."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from typer.testing import CliRunner

from takedown.cli import app, main
from takedown.detect.bench import (
    BenchConfig,
    average_precision,
    build_detectors,
    parse_detector_options,
    pr_curve,
    roc_auc,
    roc_curve,
    run_benchmark,
    write_report,
)
from takedown.detect.datasets import (
    SYNTHETIC_KEYWORDS,
    Dataset,
    DatasetItem,
    load_dataset,
    make_synthetic_dataset,
    parse_label,
)
from takedown.detect.exact import ExactHashDetector
from takedown.detect.keywords import KeywordDetector
from takedown.detect.pdq import PdqConfig, PdqDetector
from takedown.errors import DatasetError, DetectionError, MissingDependencyError, UnknownPluginError, UsageError
from takedown.models import Candidate, Case, Detection, DetectionLabel, ItemKind, Media
from takedown.testing import StaticDetector

runner = CliRunner()
M, S, N = DetectionLabel.MATCH, DetectionLabel.SUSPECT, DetectionLabel.NO_MATCH
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- metrics -----------------------------------------------------------------------------------------------------


def test_perfect_scores_give_auc_one() -> None:
    truth, scores = [True, True, False, False], [0.9, 0.8, 0.2, 0.1]
    assert roc_auc(truth, scores) == 1.0
    assert average_precision(truth, scores) == 1.0
    assert [(p.fpr, p.tpr) for p in roc_curve(truth, scores)] == [(0, 0), (0, 0.5), (0, 1), (0.5, 1), (1, 1)]


def test_inverted_scores_give_auc_zero() -> None:
    truth, scores = [True, True, False, False], [0.1, 0.2, 0.8, 0.9]
    assert roc_auc(truth, scores) == 0.0
    # thresholds 0.9, 0.8 catch no positive; 0.2 gives precision 1/3 at recall 1/2; 0.1 precision 1/2 at recall 1
    assert average_precision(truth, scores) == pytest.approx(0.5 * (1 / 3) + 0.5 * 0.5)


def test_a_hand_computed_mixed_case() -> None:
    truth, scores = [True, False, True, False], [0.9, 0.8, 0.4, 0.1]
    assert roc_auc(truth, scores) == pytest.approx(0.75)  # 3 of the 4 positive-negative pairs are ordered right
    assert average_precision(truth, scores) == pytest.approx(0.5 * 1 + 0.5 * (2 / 3))
    curve = pr_curve(truth, scores)
    assert [(p.threshold, p.recall, p.precision) for p in curve] == [
        (None, 0.0, 1.0), (0.9, 0.5, 1.0), (0.8, 0.5, 0.5), (0.4, 1.0, pytest.approx(2 / 3))
    ], "the curve stops at the first threshold with full recall"


def test_ties_count_half() -> None:
    assert roc_auc([True, False], [0.5, 0.5]) == 0.5
    assert average_precision([True, False], [0.5, 0.5]) == 0.5
    assert [(p.fpr, p.tpr) for p in roc_curve([True, False], [0.5, 0.5])] == [(0, 0), (1, 1)], "one point per tie"
    assert roc_auc([True, True, False], [1.0, 0.0, 0.0]) == pytest.approx(0.75)


def test_a_single_class_leaves_auc_undefined() -> None:
    assert roc_auc([True, True], [0.3, 0.9]) is None
    assert roc_curve([False, False], [0.3, 0.9]) == []
    assert average_precision([False, False], [0.3, 0.9]) is None, "no positive: no precision-recall curve"
    assert average_precision([True, True], [0.3, 0.9]) == 1.0
    assert roc_auc([], []) is None and average_precision([], []) is None


def test_roc_auc_is_the_chance_a_positive_outscores_a_negative() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        truth = rng.random(25) < 0.4
        truth[:2] = [True, False]
        scores = np.round(rng.random(25), 1)  # coarse, so there are many ties
        pos, neg = scores[truth], scores[~truth]
        pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        assert roc_auc(truth.tolist(), scores.tolist()) == pytest.approx(pairs / (pos.size * neg.size))


def test_lengths_must_agree() -> None:
    with pytest.raises(UsageError, match="2 labels but 1 scores"):
        roc_auc([True, False], [0.1])


# -- the harness on small hand-made datasets ---------------------------------------------------------------------


def _media_dataset(tmp_path: Path, positives: int = 4, negatives: int = 4) -> tuple[Dataset, dict[str, str]]:
    """Tiny files (StaticDetector never decodes them) and their SHA-256 by item id."""
    rows, digests = [], {}
    for label, count in (("positive", positives), ("negative", negatives)):
        for n in range(count):
            name = f"{label}-{n}.png"
            data = f"{label} {n}".encode()
            (tmp_path / name).write_bytes(data)
            digests[name] = hashlib.sha256(data).hexdigest()
            rows.append(json.dumps({"path": name, "label": label, "group": f"g{n % 2}"}))
    (tmp_path / "data.jsonl").write_text("\n".join(rows) + "\n")
    return load_dataset(tmp_path / "data.jsonl"), digests


def test_precision_recall_f1_follow_the_positive_rule(tmp_path: Path) -> None:
    dataset, sha = _media_dataset(tmp_path)
    by_target = {sha["positive-0.png"]: M, sha["positive-1.png"]: M, sha["positive-2.png"]: S,
                 sha["negative-0.png"]: S}
    report = run_benchmark([StaticDetector(N, by_target=by_target)], dataset)
    m = report.metric("static")
    assert (m.confusion.tp, m.confusion.fp, m.confusion.tn, m.confusion.fn) == (3, 1, 3, 1)
    assert (m.precision, m.recall, m.f1) == (0.75, 0.75, 0.75)
    assert m.items == 8 and m.positives == 4 and m.errors == 0
    assert m.roc_auc == pytest.approx(0.75), "scores: 1 for the two matches, 0 for the rest"
    groups = {(g.group, g.positive): g.share_flagged for g in m.groups}
    assert groups == {("g0", True): 1.0, ("g1", True): 0.5, ("g0", False): 0.5, ("g1", False): 0.0}

    strict = run_benchmark([StaticDetector(N, by_target=by_target)], dataset,
                           config=BenchConfig(positive_labels=(M,))).metric("static")
    assert (strict.confusion.tp, strict.confusion.fp, strict.confusion.fn) == (2, 0, 2)
    assert (strict.precision, strict.recall) == (1.0, 0.5) and strict.f1 == pytest.approx(2 / 3)


def test_no_positive_prediction_leaves_precision_undefined(tmp_path: Path) -> None:
    dataset, _ = _media_dataset(tmp_path)
    m = run_benchmark([StaticDetector(N)], dataset).metric("static")
    assert m.precision is None and m.recall == 0.0 and m.f1 is None
    assert m.roc_auc == 0.5, "every score ties"


def test_a_single_class_dataset_reports_null_auc(tmp_path: Path) -> None:
    dataset, _ = _media_dataset(tmp_path, positives=3, negatives=0)
    report = run_benchmark([StaticDetector(M)], dataset, tmp_path / "out")
    m = report.metric("static")
    assert m.roc_auc is None and m.roc == () and m.recall == 1.0
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["metrics"][0]["roc_auc"] is None
    table = (tmp_path / "out" / "report.md").read_text()
    assert "| static | image | 3 | 1.000 | 1.000 | 1.000 | - | 1.000 | 0 |" in table, "undefined AUC shows as -"


def test_a_detection_error_counts_as_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    dataset, sha = _media_dataset(tmp_path)
    failing = StaticDetector(M, fail_on={sha["positive-0.png"], sha["negative-1.png"]})
    report = run_benchmark([failing, ExactHashDetector()], dataset)
    m = report.metric("static")
    assert m.errors == 2 and len(failing.calls) == 8, "every item was still tried"
    assert (m.confusion.tp, m.confusion.fn, m.confusion.fp, m.confusion.tn) == (3, 1, 3, 1), "errors: not flagged"
    failed = [r for r in report.results if r.detector == "static" and r.error]
    assert {r.item for r in failed} == {"positive-0.png", "negative-1.png"}
    assert all(r.label is DetectionLabel.ERROR and "told to fail" in (r.error or "") for r in failed)
    assert report.metric("exact_hash").items == 8, "the next detector ran"

    skipped = run_benchmark([failing], dataset, config=BenchConfig(errors="skip")).metric("static")
    assert skipped.errors == 2 and skipped.confusion.model_dump() == {"tp": 3, "fp": 3, "tn": 0, "fn": 0}


class _Buggy(StaticDetector):
    """A third party's detector with a bug that one item sets off."""

    name: ClassVar[str] = "buggy"

    def __init__(self, bad: str) -> None:
        super().__init__(M)
        self.bad = bad

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        if isinstance(item, Media) and item.sha256 == self.bad:
            raise ValueError("could not broadcast input array from shape (3,) into shape (4,)")
        return super().detect(item, case=case)


def test_a_crashing_detector_counts_as_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    dataset, sha = _media_dataset(tmp_path)
    report = run_benchmark([_Buggy(sha["positive-2.png"]), StaticDetector(M)], dataset)
    m = report.metric("buggy")
    assert m.errors == 1 and m.confusion.tp == 3 and m.confusion.fn == 1
    failed = [r for r in report.results if r.detector == "buggy" and r.error]
    assert [(r.item, r.error) for r in failed] == [
        ("positive-2.png", "detector crashed: ValueError: could not broadcast input array from shape (3,) into "
                           "shape (4,)")]
    assert report.metric("static").errors == 0, "the next detector ran"


def test_detectors_see_only_the_kinds_they_accept(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"a")
    (tmp_path / "m.csv").write_text("path,text,label,language\na.png,,positive,\n,about the weather,negative,en\n")
    dataset = load_dataset(tmp_path / "m.csv")
    static = StaticDetector(M)
    report = run_benchmark([static, ExactHashDetector()], dataset)
    assert sorted(static.calls) == sorted([hashlib.sha256(b"a").hexdigest(), "text"])
    exact = report.metric("exact_hash")
    assert exact.items == 1 and exact.kinds == (ItemKind.IMAGE,)
    assert report.metric("static").kinds == (ItemKind.IMAGE, ItemKind.TEXT)


class _Flaky:
    """Says match on its first look at each item and no_match after: an unstable detector."""

    name: ClassVar[str] = "flaky"
    accepts: ClassVar[frozenset[ItemKind]] = frozenset({ItemKind.IMAGE})

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def detect(self, item: Media | Candidate, *, case: Case) -> Detection:
        assert isinstance(item, Media)
        label = N if item.sha256 in self.seen else M
        self.seen.add(item.sha256)
        return Detection(detector=self.name, target=item.sha256, kind=ItemKind.IMAGE, label=label,
                         score=1.0 if label is M else 0.0)


def test_repeats_time_every_pass_and_count_changed_verdicts(tmp_path: Path) -> None:
    dataset, _ = _media_dataset(tmp_path)
    report = run_benchmark([_Flaky(), StaticDetector(M)], dataset, repeat=3)
    assert report.metric("flaky").inconsistent == 8 and report.metric("flaky").recall == 1.0, "first pass counts"
    assert report.metric("static").inconsistent == 0
    timing = report.timing("static")
    assert timing.calls == 24 and not timing.batched
    assert timing.latency_ms_p50 is not None and timing.latency_ms_p95 is not None
    assert timing.latency_ms_p50 <= timing.latency_ms_p95 <= (timing.latency_ms_max or 0.0)


class _Batch(StaticDetector):
    """A batch detector over StaticDetector's answers; fails a whole batch when it holds ``poison``."""

    name: ClassVar[str] = "batch"

    def __init__(self, *, poison: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.poison = poison
        self.batches: list[int] = []

    def detect_batch(self, items: Sequence[Media | Candidate], *, case: Case) -> list[Detection]:
        self.batches.append(len(items))
        if any(isinstance(i, Media) and i.sha256 == self.poison for i in items):
            raise DetectionError("one bad item fails the batch", plugin=self.name)
        return [self.detect(item, case=case) for item in items]


def test_a_batch_detector_is_called_in_batches(tmp_path: Path) -> None:
    dataset, sha = _media_dataset(tmp_path)
    detector = _Batch(label=M)
    report = run_benchmark([detector], dataset, config=BenchConfig(batch_size=3))
    assert detector.batches == [3, 3, 2] and report.timing("batch").batched
    assert report.metric("batch").recall == 1.0

    poisoned = _Batch(label=M, poison=sha["negative-2.png"], fail_on={sha["negative-2.png"]})
    m = run_benchmark([poisoned], dataset, config=BenchConfig(batch_size=4)).metric("batch")
    assert m.errors == 1 and m.confusion.tp == 4, "the failed batch is judged one by one: one error, not four"


def test_reports_are_reproducible_apart_from_timings(tmp_path: Path) -> None:
    dataset, sha = _media_dataset(tmp_path)
    detector = StaticDetector(N, by_target={sha["positive-1.png"]: M})
    first = run_benchmark([detector], dataset, seed=1)
    again = run_benchmark([detector], dataset, seed=1)
    reordered = run_benchmark([detector], dataset, seed=2)
    assert first.metrics_json() == again.metrics_json() == reordered.metrics_json().replace('"seed": 2', '"seed": 1')
    assert "latency" not in first.metrics_json()


def test_bad_runs_are_refused(tmp_path: Path) -> None:
    dataset, _ = _media_dataset(tmp_path)
    with pytest.raises(UsageError, match="at least one detector"):
        run_benchmark([], dataset)
    with pytest.raises(UsageError, match="two detectors are named static"):
        run_benchmark([StaticDetector(), StaticDetector()], dataset)
    with pytest.raises(UsageError, match="repeat"):
        run_benchmark([StaticDetector()], dataset, repeat=0)
    with pytest.raises(ValueError, match="error is not a prediction"):
        BenchConfig(positive_labels=(DetectionLabel.ERROR,))
    with pytest.raises(UsageError, match="no detector 'pdq'"):
        run_benchmark([StaticDetector()], dataset).metric("pdq")


def test_write_report_without_plots_writes_json_markdown_and_predictions(tmp_path: Path) -> None:
    dataset, _ = _media_dataset(tmp_path)
    report = run_benchmark([StaticDetector(M)], dataset)
    written = write_report(report, tmp_path / "r", plots=False)
    assert [p.name for p in written] == ["report.json", "report.md", "predictions.jsonl"]
    saved = json.loads(written[0].read_text())
    assert {"metrics", "timings", "environment", "config"} <= saved.keys() and "results" not in saved
    assert saved["config"]["positive_labels"] == ["match", "suspect"]
    predictions = [json.loads(line) for line in written[2].read_text().splitlines()]
    assert len(predictions) == 8 and {p["label"] for p in predictions} == {"match"}


def test_plots_need_matplotlib_which_is_checked_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset, _ = _media_dataset(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if the bench extra were not installed
    detector = StaticDetector(M)
    with pytest.raises(MissingDependencyError, match=r"pip install 'takedown\[bench\]'"):
        run_benchmark([detector], dataset, tmp_path / "out")
    assert detector.calls == [] and not (tmp_path / "out").exists()
    assert len(write_report(run_benchmark([detector], dataset), tmp_path / "out", plots=False)) == 3


def test_unreadable_items_and_references_are_dataset_errors(tmp_path: Path) -> None:
    dataset, _ = _media_dataset(tmp_path)
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "broken.png").write_bytes(b"not a png")
    broken = load_dataset(tmp_path / "data.jsonl", references=tmp_path / "refs")
    with pytest.raises(DatasetError, match=r"broken\.png: cannot hash the reference"):
        broken.case()
    (tmp_path / "positive-0.png").unlink()  # after loading: the file went away before the run
    with pytest.raises(DatasetError, match=r"cannot read item positive-0\.png"):
        run_benchmark([StaticDetector()], dataset)


# -- building detectors by name ----------------------------------------------------------------------------------


def test_detectors_are_built_by_name_with_options() -> None:
    options = parse_detector_options(["pdq.max_distance=40", "pdq.crops=[0.9]", "vpdq.dihedral=false"])
    assert options == {"pdq": {"max_distance": 40, "crops": [0.9]}, "vpdq": {"dihedral": False}}
    pdq, exact, vpdq = build_detectors(["pdq", "exact_hash", "vpdq"], options=options)
    assert isinstance(pdq, PdqDetector) and pdq.config == PdqConfig(max_distance=40, crops=(0.9,))
    assert isinstance(exact, ExactHashDetector) and vpdq.name == "vpdq"
    assert parse_detector_options(["nudenet.model_path=./model.onnx"]) == {"nudenet": {"model_path": "./model.onnx"}}


@pytest.mark.parametrize(
    ("names", "pairs", "error", "message"),
    [
        (["pdqq"], [], UnknownPluginError, "no detector plugin named 'pdqq'"),
        (["pdq"], ["pdq.max_distnce=3"], UsageError, "max_distnce"),
        (["pdq"], ["pdq.max_distance=-1"], UsageError, "invalid option for detector pdq"),
        (["pdq"], ["dhash.max_distance=3"], UsageError, "dhash, which is not among"),
        (["exact_hash"], ["exact_hash.x=1"], UsageError, "takes no config"),
        (["pdq"], ["pdq=3"], UsageError, "DETECTOR.FIELD=VALUE"),
    ],
)
def test_bad_detector_names_and_options(names: list[str], pairs: list[str], error: type[Exception],
                                        message: str) -> None:
    with pytest.raises(error, match=message):
        build_detectors(names, options=parse_detector_options(pairs))


# -- datasets ----------------------------------------------------------------------------------------------------


def _image(path: Path, colour: tuple[int, int, int]) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (96, 72), colour)
    ImageDraw.Draw(image).ellipse((10, 10, 60, 50), fill=(255 - colour[0], 200, 40))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def test_a_folder_dataset_with_groups_languages_references_and_keywords(tmp_path: Path) -> None:
    _image(tmp_path / "positive" / "flip" / "a.png", (20, 40, 90))
    _image(tmp_path / "negative" / "b.png", (200, 40, 90))
    (tmp_path / "positive" / "post.ko.txt").write_text("하늘캠 사진 모음", encoding="utf-8")
    (tmp_path / "negative" / ".hidden.png").write_bytes(b"ignored")
    _image(tmp_path / "references" / "ref.png", (20, 40, 90))
    (tmp_path / "keywords.txt").write_text("# the case's keywords\nhaneul_cam\n\n하늘캠\n", encoding="utf-8")
    dataset = load_dataset(tmp_path)
    items = {item.id: item for item in dataset.items}
    assert set(items) == {"positive/flip/a.png", "positive/post.ko.txt", "negative/b.png"}
    assert items["positive/flip/a.png"].group == "flip" and items["positive/flip/a.png"].positive
    assert items["positive/post.ko.txt"].kind is ItemKind.TEXT and items["positive/post.ko.txt"].language == "ko"
    assert items["positive/post.ko.txt"].read_text() == "하늘캠 사진 모음"
    assert not items["negative/b.png"].positive and dataset.name == tmp_path.name
    case = dataset.case()
    assert case.keywords == ["haneul_cam", "하늘캠"] and case.languages == ["ko"]
    assert {r.algorithm for r in case.references} >= {"sha256", "pdq"} and {r.reference for r in case.references} == {
        "ref"}


def test_csv_and_jsonl_manifests_load_the_same_dataset(tmp_path: Path) -> None:
    _image(tmp_path / "media" / "copy.png", (10, 90, 30))
    _image(tmp_path / "refs" / "r1.png", (10, 90, 30))
    (tmp_path / "m.csv").write_text(
        "id,path,text,kind,label,group,language\n"
        ",media/copy.png,,,Positive,exact,\n"
        "t1,,\"weather, today\",text,0,benign,en\n",
        encoding="utf-8",
    )
    rows = [{"path": "media/copy.png", "label": True, "group": "exact"},
            {"id": "t1", "text": "weather, today", "kind": "text", "label": "negative", "group": "benign",
             "language": "en"}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n\n" for r in rows), encoding="utf-8")
    from_csv = load_dataset(tmp_path / "m.csv", references=tmp_path / "refs", keywords=["kw"], name="x")
    from_jsonl = load_dataset(tmp_path / "m.jsonl", references=tmp_path / "refs", keywords=["kw"], name="x")
    assert from_csv == from_jsonl
    assert [i.id for i in from_csv.items] == ["media/copy.png", "t1"]
    assert from_csv.items[0].path == (tmp_path / "media" / "copy.png").resolve()
    assert from_csv.kinds() == {ItemKind.IMAGE, ItemKind.TEXT} and from_csv.positives == 1


@pytest.mark.parametrize(
    ("name", "content", "line", "message"),
    [
        ("m.csv", "path,label\na.png,positive\nb.png,maybe\n", 3, "unknown label 'maybe'"),
        ("m.csv", "path,label\nmissing.png,positive\n", 2, "no such file: missing.png"),
        ("m.csv", "path,label,kind\na.png,positive,hologram\n", 2, "unknown kind 'hologram'"),
        ("m.csv", "path,lable\na.png,positive\n", 1, "needs a label column"),
        ("m.csv", "path,label,colour\na.png,positive,red\n", 1, "unknown column(s) colour"),
        ("m.csv", "path,label\na.png,positive,extra\n", 2, "more cells than the header"),
        ("m.csv", "path,text,label\na.png,hello,positive\n", 2, "either a path or a text"),
        ("m.csv", "path,text,label\n,,positive\n", 2, "either a path or a text"),
        ("m.csv", "path,label\nnotes.xyz,positive\n", 2, "cannot tell the kind of notes.xyz"),
        ("m.csv", "text,kind,label\nhello,image,positive\n", 2, "inline text is of kind text"),
        ("m.csv", "id,path,label\nx,a.png,positive\nx,a.png,negative\n", 3, "'x' is used twice"),
        ("m.jsonl", '{"path": "a.png", "label": "positive"}\n{"path": "a.png"\n', 2, "not JSON"),
        ("m.jsonl", '["a.png", "positive"]\n', 1, "each line is a JSON object"),
        ("m.jsonl", '{"path": "a.png"}\n', 1, "no label"),
        ("m.jsonl", '{"path": "a.png", "label": "positive", "colour": 1}\n', 1, "unknown field(s) colour"),
        ("m.jsonl", '{"path": "a.png", "label": "positive", "group": 3}\n', 1, "group is a string"),
        ("m.jsonl", '{"path": "a.png", "label": 2}\n', 1, "unknown label 2"),
    ],
)
def test_bad_manifests_name_file_and_line(tmp_path: Path, name: str, content: str, line: int, message: str) -> None:
    (tmp_path / "a.png").write_bytes(b"png")
    (tmp_path / "notes.xyz").write_bytes(b"?")
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_dataset(tmp_path / name)
    assert caught.value.line == line and caught.value.path == str(tmp_path / name)
    assert message in str(caught.value) and f"{name} line {line}: " in str(caught.value)


def test_bad_datasets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such dataset"):
        load_dataset(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="positive/ and negative/"):
        load_dataset(tmp_path / "empty")
    (tmp_path / "m.txt").write_text("a.png,positive\n")
    with pytest.raises(DatasetError, match=r"a \.jsonl or \.csv"):
        load_dataset(tmp_path / "m.txt")
    (tmp_path / "m.jsonl").write_text("\n")
    with pytest.raises(DatasetError, match="no items"):
        load_dataset(tmp_path / "m.jsonl")
    (tmp_path / "odd" / "positive").mkdir(parents=True)
    (tmp_path / "odd" / "positive" / "data.bin").write_bytes(b"?")
    with pytest.raises(DatasetError, match=r"data\.bin: not an image, video, audio or text"):
        load_dataset(tmp_path / "odd")
    (tmp_path / "both").mkdir()
    (tmp_path / "both" / "manifest.csv").write_text("text,label\nhi,1\n")
    (tmp_path / "both" / "manifest.jsonl").write_text('{"text": "hi", "label": 1}\n')
    with pytest.raises(DatasetError, match="keep one"):
        load_dataset(tmp_path / "both")
    (tmp_path / "both" / "manifest.jsonl").unlink()
    with pytest.raises(DatasetError, match="references folder does not exist"):
        load_dataset(tmp_path / "both", references=tmp_path / "no-refs")
    (tmp_path / "both" / "references").mkdir()
    (tmp_path / "both" / "references" / "notes.txt").write_text("not media")
    with pytest.raises(DatasetError, match="a reference is an image or a video"):
        load_dataset(tmp_path / "both")


def test_labels_and_items_are_validated() -> None:
    assert [parse_label(v) for v in (True, "POS", "yes", 1, "negative", "0", False)] == [
        True, True, True, True, False, False, False]
    with pytest.raises(ValueError, match="either a path or a text"):
        DatasetItem(id="x", kind=ItemKind.TEXT, positive=True)
    with pytest.raises(DatasetError, match="is image, not text"):
        DatasetItem(id="x", kind=ItemKind.IMAGE, positive=True, path=Path("/x.png")).read_text()


# -- the synthetic dataset and the end-to-end run ----------------------------------------------------------------


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_synthetic_dataset_is_reproducible(tmp_path: Path) -> None:
    first = make_synthetic_dataset(tmp_path / "a", images=1, videos=1, texts=3, seed=5)
    second = make_synthetic_dataset(tmp_path / "b", images=1, videos=1, texts=3, seed=5)
    assert _digests(first) == _digests(second)
    other = make_synthetic_dataset(tmp_path / "c", images=1, videos=1, texts=3, seed=6)
    assert _digests(other)["references/ref-000.png"] != _digests(first)["references/ref-000.png"]

    dataset = load_dataset(first)
    assert dataset.keywords == SYNTHETIC_KEYWORDS and dataset.positives == 6 + 2 + 3
    assert len(dataset.items) == 2 * (6 + 2 + 3)
    groups = {item.group for item in dataset.items if item.positive}
    assert {"exact", "resize50", "jpeg40", "crop4", "flip", "brighter", "reencode", "plain", "upper",
            "fullwidth"} == groups
    texts = [item for item in dataset.items if item.kind is ItemKind.TEXT]
    assert len(texts) == 6 and all(t.language for t in texts)

    again = make_synthetic_dataset(first, images=1, videos=0, texts=1, seed=5)
    assert not any(again.glob("*/*.mp4")), "rewriting an earlier synthetic dataset replaces it"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not empty"):
        make_synthetic_dataset(tmp_path / "mine", images=1)
    with pytest.raises(DatasetError, match="cannot be negative"):
        make_synthetic_dataset(tmp_path / "new", images=-1)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_pdq_beats_exact_hashing_on_altered_copies(tmp_path: Path) -> None:
    dataset = load_dataset(make_synthetic_dataset(tmp_path / "data", images=2, videos=0, texts=0))
    report = run_benchmark([PdqDetector(), ExactHashDetector()], dataset, tmp_path / "out")
    pdq, exact = report.metric("pdq"), report.metric("exact_hash")
    assert exact.recall == pytest.approx(2 / 12) and exact.precision == 1.0, "only the exact copies"
    assert {g.group: g.share_flagged for g in exact.groups if g.positive}["exact"] == 1.0
    assert pdq.recall is not None and exact.recall is not None and pdq.recall > 0.8 > exact.recall
    assert pdq.confusion.fp == 0 and pdq.roc_auc is not None and exact.roc_auc is not None
    assert pdq.roc_auc > exact.roc_auc
    assert {g.group for g in pdq.groups if g.positive} == {"exact", "resize50", "jpeg40", "crop4", "flip", "brighter"}
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert names == {"report.json", "report.md", "predictions.jsonl", "roc.png", "pr.png", "confusion.png",
                     "latency.png"}
    assert run_benchmark([PdqDetector(), ExactHashDetector()], dataset).metrics_json() == report.metrics_json()


def test_text_items_reach_the_keyword_detector_with_the_case_keywords(tmp_path: Path) -> None:
    dataset = load_dataset(make_synthetic_dataset(tmp_path / "data", images=0, videos=0, texts=11))
    assert dataset.references is None and dataset.kinds() == {ItemKind.TEXT}
    keyword = run_benchmark([KeywordDetector(), ExactHashDetector()], dataset).metric("keyword")
    assert keyword.items == 22 and keyword.kinds == (ItemKind.TEXT,)
    shares = {(g.group, g.positive): g.share_flagged for g in keyword.groups}
    assert shares[("plain", True)] == 1.0 and shares[("hangul", True)] == 1.0, "both keywords are in the case"
    assert shares[("benign", False)] == 0.0


def test_the_cli_writes_the_synthetic_dataset_and_the_report(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "report"
    made = runner.invoke(app, ["bench", "synthetic", str(data), "--images", "1", "--videos", "0", "--texts", "2"])
    assert made.exit_code == 0, made.output
    assert "Wrote 16 items (8 positive)" in made.output
    result = runner.invoke(app, ["bench", "detectors", "--dataset", str(data), "--out", str(out), "-d", "pdq",
                                 "-d", "exact_hash", "--set", "pdq.max_distance=20", "--seed", "3"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "exact_hash" in result.output and "pdq" in result.output
    for name in ("roc.png", "pr.png", "confusion.png", "latency.png"):
        assert (out / name).read_bytes().startswith(PNG_SIGNATURE), name
    saved = json.loads((out / "report.json").read_text())
    assert [m["detector"] for m in saved["metrics"]] == ["pdq", "exact_hash"] and saved["seed"] == 3
    assert "| pdq | image | 12 |" in (out / "report.md").read_text()


def test_cli_errors_are_one_line_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.csv").write_text("text,label\nhello,maybe\n")
    with pytest.raises(SystemExit) as exited:
        main(["bench", "detectors", "--dataset", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "m.csv line 2: unknown label 'maybe'" in " ".join(err.split()), "rich may wrap the line; the words stay"
    assert err.startswith("error:") and "Traceback" not in err
    with pytest.raises(SystemExit) as exited:
        main(["bench", "detectors", "--dataset", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o"),
              "--positive", "maybe"])
    assert exited.value.code == 2 and "--positive" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
