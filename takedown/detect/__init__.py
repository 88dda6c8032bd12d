"""Detectors, hash banks, the PDQ index, hash lists and the decision policy (see ``Detector``)."""

from takedown.detect.bank_detector import HashBankConfig, HashBankDetector
from takedown.detect.banks import BankEntry, BankKind, BankMatcher, HashBank, MatcherConfig
from takedown.detect.base import Detector
from takedown.detect.dhash import DHashConfig, DHashDetector, dhash_image, hamming
from takedown.detect.exact import ExactHashDetector
from takedown.detect.hashing import HashRecord, hash_files, write_jsonl
from takedown.detect.hashlists import HashListError, read_hashlist, write_hashlist
from takedown.detect.index import PdqIndex
from takedown.detect.pdq import PdqConfig, PdqDetector, pdq_path
from takedown.detect.policy import DecisionPolicy, PolicyConfig, default_rules
from takedown.detect.references import file_digests, reference_hashes
from takedown.detect.video import VideoHash, VideoPdqConfig, VideoPdqDetector, vpdq_video

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
    "HashBankConfig",
    "HashBankDetector",
    "HashListError",
    "HashRecord",
    "MatcherConfig",
    "PdqConfig",
    "PdqDetector",
    "PdqIndex",
    "PolicyConfig",
    "VideoHash",
    "VideoPdqConfig",
    "VideoPdqDetector",
    "default_rules",
    "dhash_image",
    "file_digests",
    "hamming",
    "hash_files",
    "pdq_path",
    "read_hashlist",
    "reference_hashes",
    "vpdq_video",
    "write_hashlist",
    "write_jsonl",
]
