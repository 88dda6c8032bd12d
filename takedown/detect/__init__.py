"""Detectors and the decision policy (see ``Detector``)."""

from takedown.detect.base import Detector
from takedown.detect.dhash import DHashConfig, DHashDetector, dhash_image, hamming
from takedown.detect.exact import ExactHashDetector
from takedown.detect.policy import DecisionPolicy, PolicyConfig
from takedown.detect.references import file_digests, reference_hashes

__all__ = [
    "DHashConfig",
    "DHashDetector",
    "DecisionPolicy",
    "Detector",
    "ExactHashDetector",
    "PolicyConfig",
    "dhash_image",
    "file_digests",
    "hamming",
    "reference_hashes",
]
