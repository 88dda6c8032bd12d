"""The decision policy (ordered rules, per item, case rules first) and the hash-bank detector it pairs with."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from takedown.detect.bank_detector import HashBankDetector
from takedown.detect.banks import BankEntry, BankKind, BankMatcher, HashBank
from takedown.detect.pdq import pdq_path
from takedown.detect.policy import DecisionPolicy, PolicyConfig, default_rules, rule_holds
from takedown.errors import DetectionError
from takedown.models import (
    Decision,
    Detection,
    DetectionLabel,
    Finding,
    FindingState,
    ItemKind,
    MatchedReference,
    Page,
    PolicyRule,
)
from takedown.testing import DetectorContract, MockSite, StaticDetector, memory_store, sample_case, sample_media
from takedown.workflow import Workflow


def det(label: DetectionLabel, *, target: str = "a" * 64, detector: str = "pdq", score: float = 0.0,
        kind: ItemKind = ItemKind.IMAGE, bank: str | None = None, details: dict[str, str] | None = None) -> Detection:
    matched = MatchedReference(bank=bank, reference="ref", algorithm="pdq", distance=3) if bank else None
    return Detection(detector=detector, target=target, kind=kind, label=label, score=score, matched=matched,
                     rationale=f"{detector} said {label.value}", details=details or {})


NEGATIVE_HIT = {"bank_kind": "negative", "bank": "benign"}


# -- the default rules -----------------------------------------------------------------------------------------


def test_the_defaults_match_review_and_clear_with_reasons() -> None:
    policy = DecisionPolicy(PolicyConfig(review_threshold=0.6))
    decision, reasons = policy.decide([det(DetectionLabel.NO_MATCH), det(DetectionLabel.MATCH, score=1)])
    assert decision is Decision.MATCH
    assert reasons == (f"a match: pdq: pdq said match [{'a' * 12}]",)
    assert policy.decide([det(DetectionLabel.ERROR)])[0] is Decision.REVIEW, "an error never clears"
    assert policy.decide([det(DetectionLabel.SUSPECT)])[0] is Decision.REVIEW
    assert policy.decide([det(DetectionLabel.NO_MATCH, score=0.7)])[0] is Decision.REVIEW
    decision, reasons = policy.decide([det(DetectionLabel.NO_MATCH, score=0.5)])
    assert decision is Decision.CLEAR and "no rule applies" in reasons[0]
    assert policy.decide([]) == (Decision.CLEAR, ("no media or text to judge",))


def test_a_negative_bank_hit_clears_its_own_item_only() -> None:
    policy = DecisionPolicy()
    benign, victim = "b" * 64, "c" * 64
    same_item = [det(DetectionLabel.MATCH, target=benign),
                 det(DetectionLabel.NO_MATCH, target=benign, detector="hash_bank", bank="benign", details=NEGATIVE_HIT)]
    decision, reasons = policy.decide(same_item)
    assert decision is Decision.CLEAR, "the known false positive overrules the match on the same image"
    assert reasons[0].startswith("a known false positive")
    beside = [*same_item, det(DetectionLabel.MATCH, target=victim)]
    decision, reasons = policy.decide(beside)
    assert decision is Decision.MATCH, "the victim's image beside it still matches"
    assert reasons == (f"a match: pdq: pdq said match [{victim[:12]}]",)


def test_the_strongest_item_decides_and_every_item_that_gave_it_is_a_reason() -> None:
    policy = DecisionPolicy()
    decision, reasons = policy.decide([
        det(DetectionLabel.SUSPECT, target="1" * 64, detector="video_classifier"),
        det(DetectionLabel.SUSPECT, target="text", detector="keyword", kind=ItemKind.TEXT),
        det(DetectionLabel.NO_MATCH, target="2" * 64),
    ])
    assert decision is Decision.REVIEW
    assert len(reasons) == 2
    assert any("keyword" in r and "[" not in r for r in reasons), "the page's text is named as such"


# -- configured rules ------------------------------------------------------------------------------------------


def test_a_cases_rules_come_before_the_policys() -> None:
    policy = DecisionPolicy()
    keyword_hit = det(DetectionLabel.SUSPECT, target="text", detector="keyword", kind=ItemKind.TEXT, score=0.9)
    assert policy.decide([keyword_hit])[0] is Decision.REVIEW
    strict = sample_case(policy=[PolicyRule(decision=Decision.MATCH, detector="keyword", min_score=0.8,
                                            reason="the victim's handle in the title")])
    decision, reasons = policy.decide([keyword_hit], case=strict)
    assert decision is Decision.MATCH
    assert reasons[0].startswith("the victim's handle in the title: keyword")
    quiet = sample_case(policy=[PolicyRule(decision=Decision.CLEAR, detector="dhash")])
    decision, reasons = policy.decide([det(DetectionLabel.SUSPECT, detector="dhash")], case=quiet)
    assert decision is Decision.CLEAR
    assert reasons[0].startswith("rule (detector dhash)")


def test_rules_given_to_the_config_replace_the_defaults() -> None:
    only_hashes = PolicyConfig(rules=(PolicyRule(decision=Decision.MATCH, detector="pdq", labels=frozenset(
        {DetectionLabel.MATCH})),))
    policy = DecisionPolicy(only_hashes)
    assert policy.decide([det(DetectionLabel.ERROR)])[0] is Decision.CLEAR
    assert policy.decide([det(DetectionLabel.MATCH, detector="dhash")])[0] is Decision.CLEAR
    assert policy.decide([det(DetectionLabel.MATCH)])[0] is Decision.MATCH
    assert PolicyConfig().rules == default_rules(0.5)
    assert PolicyConfig(review_threshold=0.8).rules[-1].min_score == 0.8


RULE_TARGET = det(DetectionLabel.SUSPECT, detector="image_classifier", score=0.7, bank="hotline", details={"top": "x"})


@pytest.mark.parametrize(("condition", "met", "unmet"), [
    ("detector", "image_*", "video_*"),
    ("labels", frozenset({DetectionLabel.SUSPECT}), frozenset({DetectionLabel.MATCH})),
    ("kinds", frozenset({ItemKind.IMAGE}), frozenset({ItemKind.TEXT})),
    ("min_score", 0.7, 0.71),
    ("bank", "hot*", "neg*"),
    ("details", {"top": "*"}, {"top": "y"}),
    ("details", {"top": "*"}, {"missing": "*"}),
])
def test_each_condition_of_a_rule_is_checked(condition: str, met: object, unmet: object) -> None:
    assert rule_holds(PolicyRule(decision=Decision.REVIEW, **{condition: met}), RULE_TARGET)
    assert not rule_holds(PolicyRule(decision=Decision.REVIEW, **{condition: unmet}), RULE_TARGET)


def test_a_rule_without_conditions_holds_and_a_bank_pattern_needs_a_matched_reference() -> None:
    assert rule_holds(PolicyRule(decision=Decision.REVIEW), RULE_TARGET)
    assert not rule_holds(PolicyRule(decision=Decision.REVIEW, bank="*"), det(DetectionLabel.MATCH))


labels = st.sampled_from(list(DetectionLabel))
detections = st.lists(
    st.builds(det, labels, target=st.sampled_from(["a" * 64, "b" * 64, "text"]),
              score=st.floats(0, 1), detector=st.sampled_from(["pdq", "keyword", "hash_bank"])),
    max_size=8,
)


@given(detections)
def test_defaults_never_clear_an_error_or_a_match(found: list[Detection]) -> None:
    decision, reasons = DecisionPolicy().decide(found)
    assert reasons
    if any(d.label is DetectionLabel.MATCH for d in found):
        assert decision is Decision.MATCH
    elif any(d.label in (DetectionLabel.ERROR, DetectionLabel.SUSPECT) for d in found):
        assert decision is Decision.REVIEW


def test_the_workflow_applies_the_cases_rules(tmp_path: Path) -> None:
    url = "https://mock.example/post/1"
    site = MockSite({url: Page(url=url, final_url=url, status=200, title="sample post", text="sample")})
    store = memory_store(tmp_path / "blobs")
    case = sample_case(policy=[PolicyRule(decision=Decision.CLEAR, detector="static", reason="ignored here")])
    store.put_case(case)
    workflow = Workflow(store, sites=[site], detectors=[StaticDetector(DetectionLabel.SUSPECT)])
    asyncio.run(workflow.discover(case))
    asyncio.run(workflow.judge(case))
    [finding] = store.list_findings(case.id)
    assert isinstance(finding, Finding) and finding.state is FindingState.JUDGED
    assert finding.decision is Decision.CLEAR
    assert finding.reasons[0].startswith("ignored here")


# -- the hash-bank detector ------------------------------------------------------------------------------------


def scene(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    noise = Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    image = noise.resize((256, 256), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = (int(v) for v in rng.integers(0, 200, 2))
        draw.ellipse((x, y, x + 50, y + 40), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    image.save(path)
    return path


def media_of(path: Path) -> object:
    return sample_media(path.read_bytes(), blob=path)


@pytest.fixture
def banks(tmp_path: Path) -> tuple[BankMatcher, dict[str, Path]]:
    files = {name: scene(tmp_path / f"{name}.png", seed) for name, seed in (("victim", 1), ("benign", 2),
                                                                              ("other", 3))}
    store = memory_store(tmp_path / "blobs")
    store.put_bank(HashBank(name="hotline"))
    store.put_bank(HashBank(name="known_benign", kind=BankKind.NEGATIVE))
    for bank, name in (("hotline", "victim"), ("known_benign", "benign")):
        value = pdq_path(files[name])
        store.add_bank_entries(bank, [BankEntry.pdq(bank, value.value, quality=value.quality, reference=name)])
    return BankMatcher.from_store(store), files


def test_the_bank_detector_matches_flipped_copies_and_marks_known_false_positives(
    banks: tuple[BankMatcher, dict[str, Path]], tmp_path: Path
) -> None:
    matcher, files = banks
    detector = HashBankDetector(matcher)
    case = sample_case()
    flipped = tmp_path / "flipped.png"
    Image.open(files["victim"]).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(flipped)
    hit = detector.detect(media_of(flipped), case=case)  # type: ignore[arg-type]
    assert hit.label is DetectionLabel.MATCH
    assert hit.matched is not None and hit.matched.bank == "hotline" and hit.matched.reference == "victim"
    assert hit.details["bank_kind"] == "positive" and hit.details["variant"] != "original"
    known = detector.detect(media_of(files["benign"]), case=case)  # type: ignore[arg-type]
    assert known.label is DetectionLabel.NO_MATCH and known.details == {"bank_kind": "negative",
                                                                        "bank": "known_benign"}
    assert DecisionPolicy().decide([known, det(DetectionLabel.SUSPECT, target=known.target)])[0] is Decision.CLEAR
    miss = detector.detect(media_of(files["other"]), case=case)  # type: ignore[arg-type]
    assert miss.label is DetectionLabel.NO_MATCH and not miss.details
    with pytest.raises(DetectionError):
        detector.detect(sample_media(b"x"), case=case)


class TestHashBankDetectorContract(DetectorContract):
    def make_detector(self) -> HashBankDetector:
        bank = HashBank(name="hotline")
        return HashBankDetector(BankMatcher([(bank, [BankEntry.pdq("hotline", "ab" * 32, quality=90)])]))


def test_media_the_site_could_not_serve_sends_the_page_to_review(tmp_path: Path) -> None:
    url = "https://mock.example/post/2"
    page = Page(url=url, final_url=url, status=200, title="sample post", text="sample",
                skipped=("https://mock.example/v.mp4: media larger than 64 MiB",))
    store = memory_store(tmp_path / "blobs")
    case = sample_case()
    store.put_case(case)
    workflow = Workflow(store, sites=[MockSite({url: page})], detectors=[StaticDetector(DetectionLabel.NO_MATCH)])
    asyncio.run(workflow.discover(case))
    asyncio.run(workflow.judge(case))
    [finding] = store.list_findings(case.id)
    assert finding.decision is Decision.REVIEW, "what could not be judged is never cleared"
    assert finding.reasons == ("media left out: https://mock.example/v.mp4: media larger than 64 MiB",)
