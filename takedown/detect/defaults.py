"""The detectors a case is judged by when nobody chose others: hashes for known media, keywords for text.

``takedown.pipeline.build_detectors`` starts from them (``[detect] hashes`` and ``keywords``). They need no model
and no configuration; classifiers, the LLM judge and NudeNet are added by choice (they need a model, an endpoint
or an opt-in licence).
"""

from __future__ import annotations

from takedown.detect.base import Detector
from takedown.detect.dhash import DHashDetector
from takedown.detect.exact import ExactHashDetector
from takedown.detect.keywords import KeywordDetector
from takedown.detect.pdq import PdqDetector
from takedown.detect.video import VideoPdqDetector

__all__ = ["builtin_detector_types", "default_detectors", "hash_detectors"]


def hash_detectors() -> list[Detector]:
    """Fresh instances of the detectors of a case's reference hashes, in order: exact, PDQ, vPDQ, dHash."""
    return [ExactHashDetector(), PdqDetector(), VideoPdqDetector(), DHashDetector()]


def default_detectors() -> list[Detector]:
    """Fresh instances, in order: the hash detectors, then the keyword detector."""
    return [*hash_detectors(), KeywordDetector()]


def builtin_detector_types() -> tuple[type[Detector], ...]:
    """Every detector class takedown ships, in the order ``takedown.plugins.default_registry`` registers them.

    The hash and keyword detectors come first; the classifiers and the LLM judge need a model or an endpoint
    configured before they can run. NudeNet is left out on purpose: its licence (AGPL-3.0) makes it an opt-in.
    """
    from takedown.detect.bank_detector import HashBankDetector
    from takedown.detect.classifiers import (
        AudioTranscriptDetector,
        ImageClassifierDetector,
        TextClassifierDetector,
        VideoClassifierDetector,
    )
    from takedown.detect.judge import LlmJudgeDetector

    return (ExactHashDetector, DHashDetector, PdqDetector, VideoPdqDetector, HashBankDetector, KeywordDetector,
            ImageClassifierDetector, VideoClassifierDetector, TextClassifierDetector, AudioTranscriptDetector,
            LlmJudgeDetector)
