"""Detectors, hash banks, the PDQ index, hash lists and the decision policy (see ``Detector``)."""

from takedown.detect.bank_detector import HashBankConfig, HashBankDetector
from takedown.detect.banks import BankEntry, BankKind, BankMatcher, HashBank, MatcherConfig
from takedown.detect.base import BatchDetector, Detector
from takedown.detect.classifiers import (
    AudioTranscriptConfig,
    AudioTranscriptDetector,
    ImageClassifierConfig,
    ImageClassifierDetector,
    SpeechTranscriber,
    SpeechTranscriberConfig,
    TextClassifierConfig,
    TextClassifierDetector,
    VideoClassifierConfig,
    VideoClassifierDetector,
)
from takedown.detect.defaults import default_detectors
from takedown.detect.dhash import DHashConfig, DHashDetector, dhash_image, hamming
from takedown.detect.exact import ExactHashDetector
from takedown.detect.hashing import HashRecord, hash_files, write_jsonl
from takedown.detect.hashlists import HashListError, read_hashlist, write_hashlist
from takedown.detect.index import PdqIndex
from takedown.detect.judge import JudgeBackend, JudgeConfig, JudgeVerdict, LlmJudgeDetector
from takedown.detect.judge_openai import OpenAICompatibleBackend, OpenAICompatibleConfig
from takedown.detect.judge_transformers import TransformersJudgeBackend, TransformersJudgeConfig
from takedown.detect.keywords import KeywordConfig, KeywordDetector, KeywordHit, PhrasePack, variants
from takedown.detect.normalize import NormalizedText, normalize
from takedown.detect.nudenet_detector import NudeNetConfig, NudeNetDetector
from takedown.detect.pdq import PdqConfig, PdqDetector, pdq_path
from takedown.detect.policy import DecisionPolicy, PolicyConfig, default_rules
from takedown.detect.references import file_digests, reference_hashes
from takedown.detect.video import VideoHash, VideoPdqConfig, VideoPdqDetector, vpdq_video

__all__ = [
    "AudioTranscriptConfig",
    "AudioTranscriptDetector",
    "BankEntry",
    "BankKind",
    "BankMatcher",
    "BatchDetector",
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
    "ImageClassifierConfig",
    "ImageClassifierDetector",
    "JudgeBackend",
    "JudgeConfig",
    "JudgeVerdict",
    "KeywordConfig",
    "KeywordDetector",
    "KeywordHit",
    "LlmJudgeDetector",
    "MatcherConfig",
    "NormalizedText",
    "NudeNetConfig",
    "NudeNetDetector",
    "OpenAICompatibleBackend",
    "OpenAICompatibleConfig",
    "PdqConfig",
    "PdqDetector",
    "PdqIndex",
    "PhrasePack",
    "PolicyConfig",
    "SpeechTranscriber",
    "SpeechTranscriberConfig",
    "TextClassifierConfig",
    "TextClassifierDetector",
    "TransformersJudgeBackend",
    "TransformersJudgeConfig",
    "VideoClassifierConfig",
    "VideoClassifierDetector",
    "VideoHash",
    "VideoPdqConfig",
    "VideoPdqDetector",
    "default_detectors",
    "default_rules",
    "dhash_image",
    "file_digests",
    "hamming",
    "hash_files",
    "normalize",
    "pdq_path",
    "read_hashlist",
    "reference_hashes",
    "variants",
    "vpdq_video",
    "write_hashlist",
    "write_jsonl",
]
