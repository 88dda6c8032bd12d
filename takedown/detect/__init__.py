"""Detectors, hash banks, the PDQ index, hash lists and the decision policy (see ``Detector``)."""

from takedown.detect.banks import BankEntry, BankKind, BankMatcher, HashBank, MatcherConfig
from takedown.detect.base import Detector
from takedown.detect.dhash import DHashConfig, DHashDetector, dhash_image, hamming
from takedown.detect.exact import ExactHashDetector
from takedown.detect.hashlists import HashListError, read_hashlist, write_hashlist
from takedown.detect.index import PdqIndex
from takedown.detect.policy import DecisionPolicy, PolicyConfig
from takedown.detect.references import file_digests, reference_hashes

__all__ = [
    "BankEntry",
    "BankKind",
    "BankMatcher",
    "DHashConfig",
    "DHashDetector",
    "DecisionPolicy",
    "Detector",
    "ExactHashDetector",
    "HashBank",
    "HashListError",
    "MatcherConfig",
    "PdqIndex",
    "PolicyConfig",
    "dhash_image",
    "file_digests",
    "hamming",
    "read_hashlist",
    "reference_hashes",
    "write_hashlist",
]
