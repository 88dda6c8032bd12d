"""Shared fixtures: a demo site served on loopback for the whole session, stores on disk, and small loopback
HTTP servers for pages a test writes itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from takedown.demo.site import DemoSite
from takedown.store.sqlite import SQLiteCaseStore


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """The demo site, generated once per test session."""
    with DemoSite(tmp_path_factory.mktemp("demo-site")) as site:
        yield site


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteCaseStore]:
    """A fresh SQLite store on disk."""
    with SQLiteCaseStore(tmp_path / "store" / "takedown.sqlite") as opened:
        yield opened


Route = tuple[str, bytes] | Callable[[], tuple[int, str, bytes]]
"""What a path serves: ``(content type, body)`` with status 200, or a function called per request that returns
``(status, content type, body)`` (for slow or changing answers)."""

ServeHttp = Callable[[Mapping[str, Route]], AbstractContextManager[str]]


@contextmanager
def _serve(routes: Mapping[str, Route]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(self.path.split("?", 1)[0])
            if route is None:
                status, kind, body = 404, "text/plain", b"not found"
            elif callable(route):
                status, kind, body = route()
            else:
                status, (kind, body) = 200, route
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def serve_http() -> ServeHttp:
    """Serves ``routes`` (path without query -> ``Route``) on loopback for a ``with`` block; yields the base URL.

    ``with serve_http({"/": ("text/html", b"<p>hi</p>")}) as base: ...``; unknown paths answer 404.
    """
    return _serve
