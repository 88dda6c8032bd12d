"""Detectors, hash banks, the PDQ index, hash lists and the decision policy (see ``Detector``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown._lazy import lazy_exports

if TYPE_CHECKING:
    from takedown.detect.bank_detector import (
        HashBankConfig,
        HashBankDetector,
    )
    from takedown.detect.banks import (
        BankEntry,
        BankKind,
        BankMatcher,
        HashBank,
        MatcherConfig,
    )
    from takedown.detect.base import (
        BatchDetector,
        Detector,
    )
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
    from takedown.detect.defaults import (
        default_detectors,
    )
    from takedown.detect.dhash import (
        DHashConfig,
        DHashDetector,
        dhash_image,
        hamming,
    )
    from takedown.detect.exact import (
        ExactHashDetector,
    )
    from takedown.detect.hashing import (
        HashRecord,
        hash_files,
        write_jsonl,
    )
    from takedown.detect.hashlists import (
        HashListError,
        read_hashlist,
        write_hashlist,
    )
    from takedown.detect.index import (
        PdqIndex,
    )
    from takedown.detect.judge import (
        JudgeBackend,
        JudgeConfig,
        JudgeVerdict,
        LlmJudgeDetector,
    )
    from takedown.detect.judge_openai import (
        OpenAICompatibleBackend,
        OpenAICompatibleConfig,
    )
    from takedown.detect.judge_transformers import (
        TransformersJudgeBackend,
        TransformersJudgeConfig,
    )
    from takedown.detect.keywords import (
        KeywordConfig,
        KeywordDetector,
        KeywordHit,
        PhrasePack,
        variants,
    )
    from takedown.detect.normalize import (
        NormalizedText,
        normalize,
    )
    from takedown.detect.nudenet_detector import (
        NudeNetConfig,
        NudeNetDetector,
    )
    from takedown.detect.pdq import (
        PdqConfig,
        PdqDetector,
        pdq_path,
    )
    from takedown.detect.policy import (
        DecisionPolicy,
        PolicyConfig,
        default_rules,
    )
    from takedown.detect.references import (
        file_digests,
        reference_hashes,
    )
    from takedown.detect.video import (
        VideoHash,
        VideoPdqConfig,
        VideoPdqDetector,
        vpdq_video,
    )

_LAZY: dict[str, str] = {
    "AudioTranscriptConfig": "takedown.detect.classifiers",
    "AudioTranscriptDetector": "takedown.detect.classifiers",
    "BankEntry": "takedown.detect.banks",
    "BankKind": "takedown.detect.banks",
    "BankMatcher": "takedown.detect.banks",
    "BatchDetector": "takedown.detect.base",
    "DHashConfig": "takedown.detect.dhash",
    "DHashDetector": "takedown.detect.dhash",
    "DecisionPolicy": "takedown.detect.policy",
    "Detector": "takedown.detect.base",
    "ExactHashDetector": "takedown.detect.exact",
    "HashBank": "takedown.detect.banks",
    "HashBankConfig": "takedown.detect.bank_detector",
    "HashBankDetector": "takedown.detect.bank_detector",
    "HashListError": "takedown.detect.hashlists",
    "HashRecord": "takedown.detect.hashing",
    "ImageClassifierConfig": "takedown.detect.classifiers",
    "ImageClassifierDetector": "takedown.detect.classifiers",
    "JudgeBackend": "takedown.detect.judge",
    "JudgeConfig": "takedown.detect.judge",
    "JudgeVerdict": "takedown.detect.judge",
    "KeywordConfig": "takedown.detect.keywords",
    "KeywordDetector": "takedown.detect.keywords",
    "KeywordHit": "takedown.detect.keywords",
    "LlmJudgeDetector": "takedown.detect.judge",
    "MatcherConfig": "takedown.detect.banks",
    "NormalizedText": "takedown.detect.normalize",
    "NudeNetConfig": "takedown.detect.nudenet_detector",
    "NudeNetDetector": "takedown.detect.nudenet_detector",
    "OpenAICompatibleBackend": "takedown.detect.judge_openai",
    "OpenAICompatibleConfig": "takedown.detect.judge_openai",
    "PdqConfig": "takedown.detect.pdq",
    "PdqDetector": "takedown.detect.pdq",
    "PdqIndex": "takedown.detect.index",
    "PhrasePack": "takedown.detect.keywords",
    "PolicyConfig": "takedown.detect.policy",
    "SpeechTranscriber": "takedown.detect.classifiers",
    "SpeechTranscriberConfig": "takedown.detect.classifiers",
    "TextClassifierConfig": "takedown.detect.classifiers",
    "TextClassifierDetector": "takedown.detect.classifiers",
    "TransformersJudgeBackend": "takedown.detect.judge_transformers",
    "TransformersJudgeConfig": "takedown.detect.judge_transformers",
    "VideoClassifierConfig": "takedown.detect.classifiers",
    "VideoClassifierDetector": "takedown.detect.classifiers",
    "VideoHash": "takedown.detect.video",
    "VideoPdqConfig": "takedown.detect.video",
    "VideoPdqDetector": "takedown.detect.video",
    "default_detectors": "takedown.detect.defaults",
    "default_rules": "takedown.detect.policy",
    "dhash_image": "takedown.detect.dhash",
    "file_digests": "takedown.detect.references",
    "hamming": "takedown.detect.dhash",
    "hash_files": "takedown.detect.hashing",
    "normalize": "takedown.detect.normalize",
    "pdq_path": "takedown.detect.pdq",
    "read_hashlist": "takedown.detect.hashlists",
    "reference_hashes": "takedown.detect.references",
    "variants": "takedown.detect.keywords",
    "vpdq_video": "takedown.detect.video",
    "write_hashlist": "takedown.detect.hashlists",
    "write_jsonl": "takedown.detect.hashing",
}
"""Where each name lives: imported on first use, so importing one module of the package stays light."""

# A name that is also a sub-module's name is bound now: once the sub-module is imported, Python sets the
# package attribute to the module itself, and ``from takedown.detect import normalize`` would give the module.
from takedown.detect.normalize import normalize  # noqa: E402

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
