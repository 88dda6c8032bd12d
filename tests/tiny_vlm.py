"""A tiny, randomly initialised vision-language model (LLaVA: CLIP vision tower + Llama), built without a hub.

Its answers are noise, which is the point: through the real ``image-text-to-text`` pipeline they exercise the
judge's malformed-reply path. The tokenizer is character-level, built with the ``tokenizers`` library from a
vocabulary written here; the image processor is the PIL one (torchvision is not needed).
"""

from __future__ import annotations

from pathlib import Path

_SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<image>"]
# printable ASCII, newline, and a few Hangul syllables so Korean prompts do not collapse to <unk>
_CHARS = [chr(c) for c in range(32, 127)] + ["\n"] + list("가나다라마바사아자차카타파하이미지판단")
_PATCH = 14
_SIDE = 28  # 2x2 patches: 4 image tokens per picture

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def build_tiny_vlm(folder: Path, *, seed: int = 0) -> Path:
    """Write a tiny LLaVA model with its processor into ``folder`` (about 30k parameters) and return the folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    vocab = {token: i for i, token in enumerate(_SPECIAL + _CHARS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")  # one token per character
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]  # transformers leaves it untyped
        tokenizer_object=core, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
    )
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": _SIDE}, crop_size={"height": _SIDE, "width": _SIDE}
    )
    processor = LlavaProcessor(  # type: ignore[no-untyped-call]
        image_processor=image_processor, tokenizer=tokenizer, patch_size=_PATCH,
        vision_feature_select_strategy="default", chat_template=CHAT_TEMPLATE, num_additional_image_tokens=1,
    )
    torch.manual_seed(seed)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=_SIDE,
            patch_size=_PATCH, projection_dim=16,
        ),
        text_config=LlamaConfig(
            vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            num_key_value_heads=2, max_position_embeddings=8192, pad_token_id=vocab["<pad>"],
            bos_token_id=vocab["<s>"], eos_token_id=vocab["</s>"],
        ),
        image_token_index=vocab["<image>"], vision_feature_select_strategy="default", vision_feature_layer=-1,
    )
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
