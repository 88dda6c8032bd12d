"""A judge backend over a local vision-language model: the transformers ``image-text-to-text`` pipeline.

Nothing leaves the machine: the model is loaded from a folder (``save_pretrained`` output, or a hub name when a hub
is reachable and ``HF_HUB_OFFLINE`` is unset). With ``HF_HUB_OFFLINE=1``, or when ``model`` is a folder, only local
files are read. The model is loaded on the first request, once, and requests are answered one at a time (a
model's memory is the limit, not its threads). Decoding is greedy, so one input always gives one answer.

Any chat model the pipeline supports works (Qwen2-VL / Qwen2.5-VL, Idefics3, SmolVLM, LLaVA, Gemma 3 ...);
a model whose chat template has no system role takes ``system_role=False``.

The ``ml`` extra is needed: ``pip install 'takedown[ml]'``.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from takedown.detect.judge import JudgeRequest
from takedown.errors import DetectionError, MissingDependencyError

__all__ = ["TransformersJudgeBackend", "TransformersJudgeConfig"]


class TransformersJudgeConfig(BaseModel):
    """Which local model answers, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    model: str = Field(description="a folder written by save_pretrained (or a hub name, where a hub is reachable)")
    device: str = Field(default="cpu", description="'cpu', 'cuda', 'cuda:1', 'mps' ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto", description="weights' precision; 'auto' takes the model's own"
    )
    max_new_tokens: int = Field(default=512, ge=8, le=8192, description="the longest answer the model may give")
    system_role: bool = Field(
        default=True, description="send the system prompt as a system message (else it opens the user message)"
    )


def _import() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "transformers", "ml", feature="the local LLM judge") from exc
    return torch, transformers


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


class TransformersJudgeBackend:
    """Answers judge requests with a local vision-language model; thread-safe.

    Raises ``MissingDependencyError`` on the first request if the ``ml`` extra is not installed.
    """

    name: ClassVar[str] = "transformers"

    def __init__(self, config: TransformersJudgeConfig) -> None:
        self.config = config
        self._pipe: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        """The model folder (or hub name) as configured."""
        return self.config.model

    def complete(self, request: JudgeRequest) -> str:
        """The model's answer to ``request`` (only the new text, not the prompt).

        Raises:
            DetectionError: the model cannot be loaded, or fails while answering.
            MissingDependencyError: transformers or torch is not installed.
        """
        messages = self.messages(request)
        with self._lock:
            pipe = self._pipeline()
            try:
                out = pipe(text=messages, max_new_tokens=self.config.max_new_tokens, return_full_text=False,
                           generate_kwargs={"do_sample": False})
            # A third-party model can fail in many ways (shape errors, out of memory, template errors): every one of
            # them means "this item could not be judged", which is what DetectionError says.
            except Exception as exc:
                raise DetectionError(f"the local model failed: {type(exc).__name__}: {exc}",
                                     plugin=self.name) from exc
        return _generated_text(out)

    def messages(self, request: JudgeRequest) -> list[dict[str, Any]]:
        """The chat ``request`` becomes: a system message, then the user's text and each captioned picture."""
        content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt()}]
        for image in request.images:
            if image.caption:
                content.append({"type": "text", "text": image.caption})
            content.append({"type": "image", "image": _decode(image.data)})
        if not self.config.system_role:
            content[0] = {"type": "text", "text": f"{request.system}\n\n{request.prompt()}"}
            return [{"role": "user", "content": content}]
        return [
            {"role": "system", "content": [{"type": "text", "text": request.system}]},
            {"role": "user", "content": content},
        ]

    def _pipeline(self) -> Any:
        if self._pipe is not None:
            return self._pipe
        _, transformers = _import()
        config = self.config
        local = Path(config.model).is_dir() or _offline()
        try:
            processor = transformers.AutoProcessor.from_pretrained(config.model, local_files_only=local)
            model = transformers.AutoModelForImageTextToText.from_pretrained(
                config.model, local_files_only=local, dtype=config.dtype
            )
            self._pipe = transformers.pipeline(
                "image-text-to-text", model=model, processor=processor, device=config.device
            )
        except Exception as exc:  # missing files, unknown architecture, bad device: the model cannot be used
            raise DetectionError(f"cannot load the judge model {config.model!r}: {type(exc).__name__}: {exc}",
                                 plugin=self.name) from exc
        return self._pipe


def _decode(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")
    except (OSError, ValueError) as exc:
        raise DetectionError(f"a picture of the request cannot be decoded: {exc}",
                             plugin=TransformersJudgeBackend.name) from exc


def _generated_text(out: Any) -> str:
    """The pipeline's answer text, whatever nesting this transformers version returns."""
    while isinstance(out, list) and out:
        out = out[0]
    if isinstance(out, dict):
        text = out.get("generated_text", "")
        if isinstance(text, list) and text:  # a chat: the answer is the last message
            last = text[-1]
            text = last.get("content", "") if isinstance(last, dict) else last
        return text if isinstance(text, str) else str(text)
    return ""
