"""The detectors a case is judged by when nobody chose others: hashes for known media, keywords for text.

``takedown demo`` and ``takedown monitor`` use them. They need no model and no configuration; classifiers, the
LLM judge and NudeNet are added by choice (they need a model, an endpoint or an opt-in licence).
"""

from __future__ import annotations

from takedown.detect.base import Detector
from takedown.detect.dhash import DHashDetector
from takedown.detect.exact import ExactHashDetector
from takedown.detect.keywords import KeywordDetector
from takedown.detect.pdq import PdqDetector
from takedown.detect.video import VideoPdqDetector

__all__ = ["default_detectors"]


def default_detectors() -> list[Detector]:
    """Fresh instances, in order: exact hashes, PDQ, vPDQ, dHash, then the keyword detector."""
    return [ExactHashDetector(), PdqDetector(), VideoPdqDetector(), DHashDetector(), KeywordDetector()]
