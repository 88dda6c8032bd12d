"""A real, misbehaving HTTP server on 127.0.0.1, and a forwarding proxy, for the HTTP hardening tests.

Every route misbehaves in one way a hostile or broken site does (see ``_Handler.ROUTES``). The server is
threaded, answers only on loopback, never connects anywhere itself, and stops its slow and endless routes when
it is closed. Bodies that would be huge (the bombs, the endless stream) are generated as they are sent, never
held in memory.

    with HostileServer() as server:
        server.url("/gzip-bomb")

``ForwardProxy`` is a plain HTTP forward proxy that records what it forwarded and forwards only to 127.0.0.1.
"""

from __future__ import annotations

import importlib
import io
import json
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

__all__ = ["ForwardProxy", "HostileServer", "hls_segment", "synthetic_png"]

KOREAN = "불법촬영물 삭제 요청 안내"  # "notice on a deletion request": plain, factual text in a legacy charset


def synthetic_png() -> bytes:
    """A small generated picture (shapes on a gradient)."""
    image = Image.new("RGB", (48, 48), (30, 90, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((6, 6, 30, 30), fill=(240, 180, 20))
    draw.ellipse((20, 20, 44, 44), fill=(20, 200, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def hls_segment(number: int) -> bytes:
    """A synthetic MPEG-TS segment: 188-byte packets that start with the sync byte 0x47 and carry a counter."""
    return b"".join(bytes([0x47, number & 0xFF, packet]) + bytes(185) for packet in range(4))


def _gzip_stream(total: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """A gzip member that inflates to ``total`` zero bytes, compressed as it is sent (about 1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(chunk)
    sent = 0
    while sent < total:
        yield compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
        sent += chunk
    yield compressor.flush()


def _brotli_stream(total: int, chunk: int = 16 * 1024 * 1024) -> Iterator[bytes]:
    brotli = importlib.import_module("brotli")  # optional: the test that uses this route skips without it
    compressor = brotli.Compressor(quality=1)
    zeros = bytes(chunk)
    sent = 0
    while sent < total:
        yield compressor.process(zeros) + compressor.flush()
        sent += chunk
    yield compressor.finish()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HostileServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up on an endless body are the point of the exercise


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    ROUTES: ClassVar[dict[str, str]] = {
        "/page": "a plain UTF-8 HTML page",
        "/echo": "the request's headers as JSON",
        "/slow": "sleeps ?s= seconds (default 30) before answering",
        "/drip": "sends its body one byte every ?every= seconds (default 0.2), forever",
        "/endless": "an HTML body that never ends",
        "/loop/a": "redirects to /loop/b, which redirects back",
        "/redirect": "302 to ?to= (any URL: private addresses, file://, ftp://)",
        "/hops": "?n= redirects in a row, then a page",
        "/binary": "application/octet-stream served for a page",
        "/image-page": "a PNG served for a page",
        "/html-as-image.png": "an HTML page served for an image",
        "/gzip-bomb": "gzip inflating to ?gb= GiB (default 4), compressed as sent",
        "/brotli-bomb": "brotli inflating to ?gb= GiB (default 4)",
        "/length-lie": "declares a terabyte of Content-Length, sends a few bytes and hangs up",
        "/retry-after": "429 with Retry-After: ?after= (seconds, or 'date') for the first ?n= requests per ?id=",
        "/flaky": "503 for the first ?n= requests per ?id=, then a page",
        "/count": "holds each request ?hold= seconds, counting how many are in flight",
        "/charset/misdeclared": "EUC-KR HTML with a header that says UTF-8 (the <meta> says EUC-KR)",
        "/charset/latin1-header": "UTF-8 HTML with a header that says ISO-8859-1",
        "/media/gzipped.png": "a PNG with Content-Encoding: gzip",
        "/post/gzip-media": "a page whose image is served gzip-encoded",
        "/post/hls": "a page with an HLS video (/hls/master.m3u8)",
        "/hls/master.m3u8": "an HLS master playlist with two variants",
        "/hls/high.m3u8": "an HLS media playlist of three segments (the best variant)",
        "/hls/low.m3u8": "an HLS media playlist of one segment",
        "/hls/seg<n>.ts": "a synthetic MPEG-TS segment",
        "/hls/encrypted.m3u8": "an HLS playlist with an AES-128 key",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def owner(self) -> HostileServer:
        return self.server.owner

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, chunks: Iterator[bytes], content_type: str, headers: dict[str, str] | None = None) -> None:
        """Send a body of unknown length: no Content-Length, the connection closes at the end."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        try:
            for chunk in chunks:
                if self.owner.stopping.is_set():
                    return
                self.wfile.write(chunk)
        except OSError:
            return  # the client stopped reading: what a capped fetch does

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.owner.record(path, dict(self.headers.items()))
        handler = self._route(path)
        if handler is None:
            self._send(404, b"<h1>not found</h1>")
        else:
            handler(query)

    def _route(self, path: str) -> Callable[[dict[str, str]], None] | None:
        if path.startswith("/hls/seg") and path.endswith(".ts"):
            return lambda q: self._send(200, hls_segment(int(path[len("/hls/seg") : -3])), "video/mp2t")
        name = "_r_" + path.strip("/").replace("/", "_").replace("-", "_").replace(".", "_")
        method = getattr(self, name, None)
        return method if callable(method) else None

    # -- routes ---------------------------------------------------------------------------------------------

    def _r_page(self, q: dict[str, str]) -> None:
        self._send(200, b"<html><title>a page</title><body><p>hello</p></body></html>")

    def _r_echo(self, q: dict[str, str]) -> None:
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self._send(200, body, "application/json")

    def _r_slow(self, q: dict[str, str]) -> None:
        self.owner.stopping.wait(float(q.get("s", "30")))
        if not self.owner.stopping.is_set():
            self._send(200, b"<p>finally</p>")

    def _r_drip(self, q: dict[str, str]) -> None:
        every = float(q.get("every", "0.2"))

        def drip() -> Iterator[bytes]:
            yield b"<html><body>"
            while not self.owner.stopping.wait(every):
                yield b"."
        self._stream(drip(), "text/html")

    def _r_endless(self, q: dict[str, str]) -> None:
        def endless() -> Iterator[bytes]:
            yield b"<html><body>"
            chunk = b"<p>" + b"a" * 65_000 + b"</p>"
            while True:
                yield chunk
        self._stream(endless(), "text/html")

    def _r_loop_a(self, q: dict[str, str]) -> None:
        self._send(302, b"", headers={"Location": "/loop/b"})

    def _r_loop_b(self, q: dict[str, str]) -> None:
        self._send(302, b"", headers={"Location": "/loop/a"})

    def _r_redirect(self, q: dict[str, str]) -> None:
        self._send(302, b"", headers={"Location": q["to"]})

    def _r_hops(self, q: dict[str, str]) -> None:
        left = int(q.get("n", "1"))
        if left <= 0:
            self._r_page(q)
        else:
            self._send(302, b"", headers={"Location": f"/hops?n={left - 1}"})

    def _r_binary(self, q: dict[str, str]) -> None:
        self._send(200, bytes(range(256)) * 16, "application/octet-stream")

    def _r_image_page(self, q: dict[str, str]) -> None:
        self._send(200, synthetic_png(), "image/png")

    def _r_html_as_image_png(self, q: dict[str, str]) -> None:
        self._send(200, b"<html><body>please log in</body></html>")

    def _r_gzip_bomb(self, q: dict[str, str]) -> None:
        total = int(float(q.get("gb", "4")) * 1024**3)
        self._stream(_gzip_stream(total), "text/html", {"Content-Encoding": "gzip"})

    def _r_brotli_bomb(self, q: dict[str, str]) -> None:
        total = int(float(q.get("gb", "4")) * 1024**3)
        self._stream(_brotli_stream(total), "text/html", {"Content-Encoding": "br"})

    def _r_length_lie(self, q: dict[str, str]) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(10**12))
        self.end_headers()
        self.wfile.write(b"<p>short</p>")

    def _r_retry_after(self, q: dict[str, str]) -> None:
        if self.owner.count(f"retry-after:{q.get('id', '')}") <= int(q.get("n", "1")):
            after = q.get("after", "1")
            value = formatdate(time.time() + 1, usegmt=True) if after == "date" else after
            self._send(429, b"<p>slow down</p>", headers={"Retry-After": value})
        else:
            self._r_page(q)

    def _r_flaky(self, q: dict[str, str]) -> None:
        if self.owner.count(f"flaky:{q.get('id', '')}") <= int(q.get("n", "2")):
            self._send(503, b"<p>busy</p>")
        else:
            self._r_page(q)

    def _r_count(self, q: dict[str, str]) -> None:
        with self.owner.lock:
            self.owner.in_flight += 1
            self.owner.max_in_flight = max(self.owner.max_in_flight, self.owner.in_flight)
        try:
            self.owner.stopping.wait(float(q.get("hold", "0.2")))
        finally:
            with self.owner.lock:
                self.owner.in_flight -= 1
        self._r_page(q)

    def _r_charset_misdeclared(self, q: dict[str, str]) -> None:
        html = f'<html><head><meta charset="euc-kr"><title>{KOREAN}</title></head><body>{KOREAN}</body></html>'
        self._send(200, html.encode("euc-kr"), "text/html; charset=utf-8")

    def _r_charset_latin1_header(self, q: dict[str, str]) -> None:
        html = f"<html><head><title>{KOREAN}</title></head><body>{KOREAN}</body></html>"
        self._send(200, html.encode("utf-8"), "text/html; charset=iso-8859-1")

    def _r_media_gzipped_png(self, q: dict[str, str]) -> None:
        compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        body = compressor.compress(synthetic_png()) + compressor.flush()
        self._send(200, body, "image/png", {"Content-Encoding": "gzip"})

    def _r_post_gzip_media(self, q: dict[str, str]) -> None:
        self._send(200, b'<html><body><p>a post</p><img src="/media/gzipped.png"></body></html>')

    def _r_post_hls(self, q: dict[str, str]) -> None:
        self._send(200, b'<html><body><p>a video post</p><video src="/hls/master.m3u8"></video></body></html>')

    def _r_hls_master_m3u8(self, q: dict[str, str]) -> None:
        text = ("#EXTM3U\n"
                "#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=320x180\nlow.m3u8\n"
                "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nhigh.m3u8\n")
        self._send(200, text.encode(), "application/vnd.apple.mpegurl")

    def _r_hls_high_m3u8(self, q: dict[str, str]) -> None:
        text = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
                "#EXTINF:2.0,\nseg1.ts\n#EXTINF:2.0,\nseg2.ts\n#EXTINF:1.5,\nseg3.ts\n#EXT-X-ENDLIST\n")
        self._send(200, text.encode(), "application/vnd.apple.mpegurl")

    def _r_hls_low_m3u8(self, q: dict[str, str]) -> None:
        text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg9.ts\n#EXT-X-ENDLIST\n"
        self._send(200, text.encode(), "application/vnd.apple.mpegurl")

    def _r_hls_encrypted_m3u8(self, q: dict[str, str]) -> None:
        text = ('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI="key.bin"\n'
                "#EXTINF:2.0,\nseg1.ts\n#EXT-X-ENDLIST\n")
        self._send(200, text.encode(), "application/vnd.apple.mpegurl")


class HostileServer:
    """The misbehaving server; a context manager. It records every request it gets (``requests``)."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._counts: Counter[str] = Counter()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-server", daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path``."""
        return self.base_url + path

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.requests.append((path, headers))

    def count(self, key: str) -> int:
        """Count one more request under ``key`` and return the count."""
        with self.lock:
            self._counts[key] += 1
            return self._counts[key]

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        with self.lock:
            return [path for path, _ in self.requests]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        target = urlsplit(self.path)  # a proxy gets the absolute URL
        self.server.owner.forwarded.append(self.path)
        if target.hostname != "127.0.0.1" or target.port is None:
            self.send_error(403, "this test proxy forwards to 127.0.0.1 only")
            return
        headers = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items()
                          if k.lower() not in ("proxy-connection", "connection", "keep-alive"))
        request = f"GET {target.path or '/'}{'?' + target.query if target.query else ''} HTTP/1.1\r\n{headers}"
        with socket.create_connection(("127.0.0.1", target.port), timeout=10) as upstream:
            upstream.sendall((request + "Via: 1.1 test-proxy\r\nConnection: close\r\n\r\n").encode("latin-1"))
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        self.close_connection = True
        self.wfile.write(answer)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: ForwardProxy


class ForwardProxy:
    """A tiny HTTP forward proxy on 127.0.0.1 that records the URLs it forwarded (``forwarded``)."""

    def __init__(self) -> None:
        self.forwarded: list[str] = []
        self._server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="forward-proxy", daemon=True)

    @property
    def url(self) -> str:
        """The proxy URL to configure: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
