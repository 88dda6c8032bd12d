"""Tiny, randomly initialised Hugging Face models, built locally in seconds: for tests, docs, benchmarks, notebooks.

There is no model hub on an agency's air-gapped machine (nor in CI), so the classifier detectors are exercised with
models built here: the real architectures (ViT, CLIP, BERT, Wav2Vec2), the real processors and tokenizers, and the
real ``transformers`` pipelines, with a few thousand random weights. Each builder seeds torch, writes the model with
``save_pretrained`` into a folder and returns the folder, which the detectors then load like any downloaded model.

Their verdicts mean nothing: they are deterministic noise. Use them to check that code runs end to end, never to
measure quality. Tokenizers are built from vocabularies written here (byte-level BPE for CLIP, characters for BERT
and Wav2Vec2), so English, Korean and Chinese text all tokenize without a download.

The ``ml`` extra is needed: ``pip install 'takedown[ml]'``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from takedown.errors import MissingDependencyError, UsageError

__all__ = [
    "build_image_classifier",
    "build_speech_recognizer",
    "build_text_classifier",
    "build_zero_shot_image_classifier",
]

_IMAGE_SIZE = 32
_SPEECH_CHARS = "abcdefghijklmnopqrstuvwxyz'" + "가나다라마바사아자차카타파하"


def _import() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "transformers", "ml", feature="building tiny models") from exc
    return torch, transformers


def _labels(labels: Sequence[str]) -> tuple[dict[int, str], dict[str, int]]:
    names = [str(label) for label in labels]
    if len(names) < 2 or len(set(names)) != len(names):
        raise UsageError(f"a classifier needs at least two distinct labels (got {names})")
    return dict(enumerate(names)), {name: i for i, name in enumerate(names)}


def _folder(folder: Path | str) -> Path:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _image_processor(transformers: Any, **options: Any) -> Any:
    """The PIL (slow) image processor of ``name``: the fast ones need torchvision, which may be absent."""
    name = options.pop("name")
    pil = getattr(transformers, f"{name}Pil", None)  # transformers 5 splits the PIL backend into its own class
    if pil is not None:
        return pil(**options)
    return getattr(transformers, name)(**options)


def build_image_classifier(
    folder: Path | str, labels: Sequence[str] = ("safe", "flag"), *, seed: int = 0
) -> Path:
    """A tiny ViT image classifier over ``labels``, with its image processor, saved into ``folder``.

    The weights are drawn wider than usual (``initializer_range=0.3``), so different pictures get clearly
    different scores (at the usual 0.02 a random model scores everything near ``1 / len(labels)``).

    Returns:
        ``folder``, ready for ``ImageClassifierConfig(model=folder)`` and the ``image-classification`` pipeline.

    Raises:
        UsageError: fewer than two labels, or repeated labels.
        MissingDependencyError: torch or transformers is not installed.
    """
    torch, transformers = _import()
    id2label, label2id = _labels(labels)
    path = _folder(folder)
    torch.manual_seed(seed)
    config = transformers.ViTConfig(
        image_size=_IMAGE_SIZE, patch_size=8, num_channels=3, hidden_size=24, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=48, id2label=id2label, label2id=label2id, initializer_range=0.3,
    )
    transformers.ViTForImageClassification(config).eval().save_pretrained(path)
    processor = _image_processor(
        transformers, name="ViTImageProcessor", size={"height": _IMAGE_SIZE, "width": _IMAGE_SIZE},
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
    )
    processor.save_pretrained(path)
    return path


def _byte_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values (what byte-level BPE vocabularies are written in)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def build_zero_shot_image_classifier(folder: Path | str, *, seed: int = 0) -> Path:
    """A tiny CLIP model with a byte-level BPE tokenizer (no merges: one token per byte) saved into ``folder``.

    Any text tokenizes, in any script, so any ``candidate_labels`` work.

    Returns:
        ``folder``, ready for ``ImageClassifierConfig(task="zero-shot-image-classification", model=folder)``.

    Raises:
        MissingDependencyError: torch or transformers is not installed.
    """
    torch, transformers = _import()
    path = _folder(folder)
    alphabet = _byte_alphabet()
    vocab = {token: i for i, token in enumerate([*alphabet, *(c + "</w>" for c in alphabet)])}
    bos, eos = "<|startoftext|>", "<|endoftext|>"
    vocab[bos], vocab[eos] = len(vocab), len(vocab) + 1
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = transformers.CLIPTokenizer.from_pretrained(path)
    torch.manual_seed(seed)
    config = transformers.CLIPConfig(
        text_config={
            "vocab_size": len(vocab), "hidden_size": 24, "intermediate_size": 48, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 77, "bos_token_id": vocab[bos],
            "eos_token_id": vocab[eos], "pad_token_id": vocab[eos],
        },
        vision_config={
            "image_size": _IMAGE_SIZE, "patch_size": 8, "hidden_size": 24, "intermediate_size": 48,
            "num_hidden_layers": 1, "num_attention_heads": 2,
        },
        projection_dim=16,
    )
    transformers.CLIPModel(config).eval().save_pretrained(path)
    image_processor = _image_processor(
        transformers, name="CLIPImageProcessor", size={"shortest_edge": _IMAGE_SIZE},
        crop_size={"height": _IMAGE_SIZE, "width": _IMAGE_SIZE},
    )
    transformers.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(path)
    return path


def _text_vocabulary() -> list[str]:
    """BERT word pieces of single characters: ASCII, Latin-1 letters, Hangul jamo, kana and common CJK ideographs.

    BERT's lower-casing decomposes Hangul syllables into jamo (NFD), so the 256 jamo cover all of Korean; CJK
    ideographs are split into single characters before word pieces, so they need no ``##`` form.
    """
    chars = [chr(c) for c in range(0x21, 0x7F)]
    chars += [chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha()]
    chars += [chr(c) for c in range(0x1100, 0x1200)]  # Hangul jamo
    chars += [chr(c) for c in range(0x3041, 0x3100)]  # hiragana, katakana
    ideographs = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]  # the first 3000 unified CJK ideographs
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars), *ideographs]


def build_text_classifier(
    folder: Path | str, labels: Sequence[str] = ("safe", "flag"), *, seed: int = 0
) -> Path:
    """A tiny BERT text classifier over ``labels`` with a character-level ``BertTokenizer``, saved into ``folder``.

    It reads at most 128 tokens (the pipeline truncates longer text).

    Returns:
        ``folder``, ready for ``TextClassifierConfig(model=folder)`` and the ``text-classification`` pipeline.

    Raises:
        UsageError: fewer than two labels, or repeated labels.
        MissingDependencyError: torch or transformers is not installed.
    """
    torch, transformers = _import()
    id2label, label2id = _labels(labels)
    path = _folder(folder)
    vocab = _text_vocabulary()
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer.from_pretrained(path, model_max_length=128)
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=48,
        max_position_embeddings=128, id2label=id2label, label2id=label2id, initializer_range=0.3,  # spread scores
    )
    transformers.BertForSequenceClassification(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_speech_recognizer(folder: Path | str, *, seed: int = 0) -> Path:
    """A tiny Wav2Vec2 CTC speech recognizer (16 kHz) with a character vocabulary, saved into ``folder``.

    Its "transcripts" are random letters and Hangul syllables, a few dozen per second of sound.

    Returns:
        ``folder``, ready for ``SpeechTranscriberConfig(model=folder)`` and the ``automatic-speech-recognition``
        pipeline.

    Raises:
        MissingDependencyError: torch or transformers is not installed.
    """
    torch, transformers = _import()
    path = _folder(folder)
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    for char in _SPEECH_CHARS:
        vocab[char] = len(vocab)
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = transformers.Wav2Vec2CTCTokenizer(
        str(path / "vocab.json"), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    extractor = transformers.Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=False
    )
    transformers.Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(path)
    torch.manual_seed(seed)
    config = transformers.Wav2Vec2Config(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        # three convolutions striding 5 * 8 * 8 = 320 samples: 50 frames a second, as the real Wav2Vec2
        conv_dim=(16, 16, 16), conv_kernel=(10, 8, 8), conv_stride=(5, 8, 8), conv_bias=True,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, feat_extract_norm="group",
        do_stable_layer_norm=False, pad_token_id=vocab["<pad>"], mask_time_prob=0.0, layerdrop=0.0,
    )
    model = transformers.Wav2Vec2ForCTC(config).eval()
    with torch.no_grad():
        # never emit the special tokens other than CTC's blank (<pad>): a trained model has learnt not to
        for special in ("<s>", "</s>", "<unk>"):
            model.lm_head.bias[vocab[special]] -= 100.0
    model.save_pretrained(path)
    return path
