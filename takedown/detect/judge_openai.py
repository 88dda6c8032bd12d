"""A judge backend for any server that speaks OpenAI's ``/v1/chat/completions``: vLLM, Ollama, hosted APIs.

Pictures go inline as ``data:image/png;base64,...`` URLs in ``image_url`` content parts; nothing is uploaded
elsewhere. Answers are asked for at temperature 0, constrained to the verdict's JSON schema
(``response_format: json_schema``) where the server supports it: a server that rejects the schema is asked again
with ``json_object``, then with no constraint, and remembered for later requests.

Privacy: the server receives the media. Point ``base_url`` only at an endpoint your agency is allowed to send
victim media to (a model you host, or a contract that covers it); there is no default endpoint.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from takedown.detect.judge import JudgeRequest
from takedown.errors import DetectionError

__all__ = ["OpenAICompatibleBackend", "OpenAICompatibleConfig"]

_Structured = Literal["json_schema", "json_object", "none"]
_WEAKER: dict[_Structured, _Structured] = {"json_schema": "json_object", "json_object": "none"}
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_BODY_EXCERPT = 300


class OpenAICompatibleConfig(BaseModel):
    """Where the model is and how to talk to it.

    ``base_url`` is the API root that ``/chat/completions`` is appended to, e.g. ``http://127.0.0.1:8000/v1``
    (vLLM), ``http://127.0.0.1:11434/v1`` (Ollama) or a hosted API's.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    base_url: str = Field(description="the API root, ending in /v1 for most servers")
    model: str = Field(description="the model id the server knows, e.g. 'Qwen/Qwen2.5-VL-7B-Instruct'")
    api_key: SecretStr | None = Field(default=None, description="sent as a Bearer token when given")
    timeout: float = Field(default=120.0, gt=0, description="seconds for one HTTP request, answer included")
    max_retries: int = Field(default=3, ge=0, le=20, description="retries after HTTP 429 and 5xx")
    retry_backoff: float = Field(default=1.0, ge=0, description="first wait when the server gives no Retry-After")
    max_retry_wait: float = Field(
        default=60.0, ge=0, description="a Retry-After longer than this fails at once instead of waiting"
    )
    structured_output: _Structured = Field(
        default="json_schema", description="how the answer is constrained: json_schema, json_object or none"
    )
    strict_schema: bool = Field(default=True, description="ask the server to follow the schema strictly")
    max_tokens: int = Field(default=1024, ge=16, description="the longest answer the model may give")
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        default="max_tokens", description="the body key for max_tokens (newer hosted models want max_completion_tokens)"
    )
    headers: dict[str, str] = Field(default_factory=dict, description="extra HTTP headers (e.g. an organisation)")


class OpenAICompatibleBackend:
    """Asks an OpenAI-compatible chat-completions server; thread-safe.

    Args:
        config: the server, model and limits.
        client: an ``httpx.Client`` to send with (tests pass one with a mock transport); by default one is built
            and closed by ``close()``. A client passed in is left open.
        sleep: how to wait between retries (``time.sleep``).
    """

    name: ClassVar[str] = "openai_compatible"

    def __init__(
        self,
        config: OpenAICompatibleConfig,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=config.timeout)
        self._sleep = sleep
        self._structured: _Structured = config.structured_output
        self._lock = threading.Lock()
        self._url = config.base_url.rstrip("/") + "/chat/completions"

    @property
    def model(self) -> str:
        """The model id sent to the server."""
        return self.config.model

    def close(self) -> None:
        """Close the HTTP client, if this backend built it."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> OpenAICompatibleBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def payload(self, request: JudgeRequest) -> dict[str, Any]:
        """The JSON body sent for ``request`` (with the response format currently in use)."""
        content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt()}]
        for image in request.images:
            if image.caption:
                content.append({"type": "text", "text": image.caption})
            content.append({"type": "image_url", "image_url": {"url": image.data_url()}})
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [{"role": "system", "content": request.system}, {"role": "user", "content": content}],
            "temperature": 0,
            self.config.max_tokens_field: self.config.max_tokens,
        }
        structured = self._structured
        if structured == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "judge_verdict", "schema": request.response_schema,
                                "strict": self.config.strict_schema},
            }
        elif structured == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def complete(self, request: JudgeRequest) -> str:
        """The model's answer (the first choice's message content; a refusal's text if it refused).

        Raises:
            DetectionError: the server could not be reached or timed out, kept answering 429/5xx after
                ``max_retries``, asked to wait longer than ``max_retry_wait``, refused the request (4xx), or sent a
                body that is not a chat completion.
        """
        retries = 0
        while True:
            structured = self._structured
            response = self._post(self.payload(request))
            status = response.status_code
            if status == 200:
                return self._content(response)
            if status in (400, 422) and structured != "none" and _mentions_format(response):
                with self._lock:  # the server cannot do this format: step down once, for every later request too
                    if self._structured == structured:
                        self._structured = _WEAKER[structured]
                continue
            if status in _RETRYABLE and retries < self.config.max_retries:
                wait = self._wait(response, retries)
                retries += 1
                self._sleep(wait)
                continue
            raise self._error(response, retries)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        headers = {"Accept": "application/json", **self.config.headers}
        if self.config.api_key is not None:
            headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"
        try:
            return self._client.post(self._url, json=body, headers=headers, timeout=self.config.timeout)
        except httpx.TimeoutException as exc:
            raise DetectionError(f"the judge's server did not answer within {self.config.timeout:g} s",
                                 plugin=self.name, url=self._url) from exc
        except httpx.HTTPError as exc:
            raise DetectionError(f"cannot reach the judge's server: {type(exc).__name__}: {exc}",
                                 plugin=self.name, url=self._url) from exc

    def _wait(self, response: httpx.Response, retries: int) -> float:
        asked = _retry_after(response.headers.get("Retry-After"))
        if asked is None:
            return float(self.config.retry_backoff * 2**retries)
        if asked > self.config.max_retry_wait:
            raise DetectionError(
                f"the judge's server answered HTTP {response.status_code} and asked to wait {asked:g} s, more than "
                f"max_retry_wait ({self.config.max_retry_wait:g} s)", plugin=self.name, url=self._url,
            )
        return asked

    def _error(self, response: httpx.Response, retries: int) -> DetectionError:
        status = response.status_code
        excerpt = " ".join(response.text[:_BODY_EXCERPT].split())
        if status in _RETRYABLE:
            why = f"HTTP {status} after {retries} retr{'y' if retries == 1 else 'ies'}"
        elif status in (401, 403):
            why = f"HTTP {status}: the server refused the credentials (check api_key)"
        else:
            why = f"HTTP {status}"
        return DetectionError(f"the judge's server answered {why}: {excerpt}", plugin=self.name, url=self._url)

    def _content(self, response: httpx.Response) -> str:
        try:
            body = response.json()
            message = body["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            excerpt = " ".join(response.text[:_BODY_EXCERPT].split())
            raise DetectionError(f"the judge's server did not send a chat completion: {excerpt!r}",
                                 plugin=self.name, url=self._url) from exc
        if not isinstance(message, dict):
            raise DetectionError("the judge's server sent a choice without a message", plugin=self.name,
                                 url=self._url)
        content = message.get("content")
        if isinstance(content, list):  # some servers answer in content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not content and isinstance(message.get("refusal"), str):
            return str(message["refusal"])
        return content if isinstance(content, str) else ""


def _mentions_format(response: httpx.Response) -> bool:
    text = response.text[:2000].lower()
    return any(word in text for word in ("response_format", "json_schema", "json_object", "structured", "guided"))


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), or None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
