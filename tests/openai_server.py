"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1, for the judge's tests.

Each test queues the replies it wants (``Reply``: a status, a body, headers, an optional delay) and reads back
what the server received (``requests``: method, path, headers, parsed JSON body). When the queue is empty the
server answers 500, so a test that asks more often than it scripted fails visibly.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to hold the answer (a slow model); released early when the server stops


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any


def completion(content: str | None, *, refusal: str | None = None, model: str = "tiny-judge") -> Reply:
    """A 200 chat completion whose first choice says ``content`` (and ``refusal``, if given)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    body = {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    return Reply(body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def error(status: int, message: str = "error", **headers: str) -> Reply:
    """An OpenAI-style error answer."""
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": status}}).encode()
    return Reply(status=status, body=body, headers={"Content-Type": "application/json", **headers})


class OpenAIServer:
    """The server; use as a context manager. ``base_url`` ends in ``/v1``."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Received] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    parsed: Any = json.loads(raw)
                except ValueError:
                    parsed = None
                with server._lock:
                    server.requests.append(Received("POST", self.path, dict(self.headers.items()), parsed))
                    reply = server.replies.popleft() if server.replies else error(500, "no scripted reply")
                if reply.delay:
                    server._release.wait(reply.delay)
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue ``replies``, answered in order."""
        with self._lock:
            self.replies.extend(replies)

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
