"""A forward proxy on loopback that applies the fetch guard to every request a browser makes.

A browser fetches a page's sub-resources (images, scripts, frames, ``fetch()`` calls) and follows redirects on its
own, so checking the page's URL before navigating is not enough: a hostile page can make the browser request
``http://169.254.169.254/`` or an admin panel on the agency's network. Started with ``--proxy-server`` pointing at
a :class:`GuardProxy` (see :func:`takedown.sites.chromium.chromium_driver`'s ``proxy=``), Chromium sends every
request here: plain HTTP as absolute-form requests, HTTPS and WebSockets as ``CONNECT`` tunnels. The proxy resolves
the host itself, checks every address with the :class:`~takedown.sites.guard.FetchGuard`, and connects to an
address it checked, so a name cannot resolve to one address for the check and another for the connection. A
refused request gets ``403 Forbidden`` and is remembered in :attr:`GuardProxy.blocked`.

Plain HTTP requests are forwarded one per connection (``Connection: close``), so a kept-alive connection can never
carry a second request to an unchecked host. Inside an HTTPS tunnel the proxy sees only the host and port, which
is what it checks. :meth:`GuardProxy.stop` ends every connection still open, tunnels included, so nothing a
browser opened outlives the pool that started it.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Final, NamedTuple, cast
from urllib.parse import urlsplit

from takedown._server_thread import ServerThread
from takedown.errors import FetchBlockedError, UsageError
from takedown.sites.guard import AllowedHost, FetchGuard

__all__ = ["BlockedRequest", "GuardProxy"]

_HOP_BY_HOP: Final = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer",
    "upgrade",
})
_MAX_BODY: Final = 16 * 1024 * 1024
_CHUNK: Final = 64 * 1024
_STOP_WAIT_S: Final = 5.0  # how long stop() waits for the connections' threads once their sockets are shut


class BlockedRequest(NamedTuple):
    """A request the proxy refused: its URL (for a tunnel, ``https://host:port``) and the guard's reason."""

    url: str
    reason: str


class GuardProxy:
    """A forward HTTP proxy on loopback that passes only what ``guard`` allows.

    Use it as a context manager or call :meth:`start` and :meth:`stop`. Point a browser at :attr:`url`.

    Args:
        guard: decides which addresses and schemes may be fetched.
        host: the loopback address to listen on.
        timeout_s: how long to wait for an upstream connection, and for a quiet connection before closing it.
        keep_blocked: how many refused requests :attr:`blocked` remembers (the most recent).
    """

    def __init__(
        self, guard: FetchGuard, *, host: str = "127.0.0.1", timeout_s: float = 30.0, keep_blocked: int = 1000
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise UsageError(f"the guard proxy listens on loopback only, not {host}")
        self.guard = guard
        self.timeout_s = timeout_s
        self._host = host
        self._serving: ServerThread[_ProxyServer] | None = None
        self._lock = threading.Lock()
        self._blocked: collections.deque[BlockedRequest] = collections.deque(maxlen=keep_blocked)

    def start(self) -> GuardProxy:
        """Listen on a free port and serve in a daemon thread; return ``self``.

        Raises:
            UsageError: the proxy is already running.
        """
        with self._lock:
            if self._serving is not None:
                raise UsageError("the guard proxy is already running")
            self._serving = ServerThread(
                _ProxyServer((self._host, 0), _ProxyHandler, self), name="takedown-guard-proxy", poll_interval=0.1
            )
        return self

    def stop(self) -> None:
        """Stop listening and end every connection still open, tunnels included. Safe to call twice.

        Both sides of each connection are shut down (the browser and the upstream see it closed), and the
        threads that served them are waited for, briefly.
        """
        with self._lock:
            serving, self._serving = self._serving, None
        if serving is not None:
            serving.stop()
            serving.server.end_connections(wait_s=_STOP_WAIT_S)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: what to give the browser as its proxy.

        Raises:
            UsageError: the proxy is not running.
        """
        serving = self._serving
        if serving is None:
            raise UsageError("the guard proxy is not running; call start()")
        host, port = serving.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def blocked(self) -> list[BlockedRequest]:
        """The requests refused so far, oldest first."""
        with self._lock:
            return list(self._blocked)

    def _record(self, url: str, reason: str) -> None:
        with self._lock:
            self._blocked.append(BlockedRequest(url, reason))

    def connect(self, url: str, host: str, port: int) -> socket.socket:
        """Resolve ``host`` once, check every address it resolves to, and connect to one of them.

        An address is checked as the guard checks a URL with that address for its host, so loopback, private and
        ``allow_hosts`` rules apply as they do everywhere else; a host that ``allow_hosts`` names is let through
        whatever it resolves to.

        Raises:
            FetchBlockedError: the guard refused the scheme or an address.
            OSError: the host does not resolve, or no checked address could be reached.
        """
        scheme = urlsplit(url).scheme.lower()
        named = any(
            entry.name is not None and entry.covers(host, port)
            for entry in map(AllowedHost.parse, self.guard.config.allow_hosts)
        )
        if named:
            self.guard.check(url)  # the scheme; the name needs no resolving
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses: list[tuple[Any, ...]] = []
        for family, _, _, _, sockaddr in infos:
            if not named:
                address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
                literal = f"[{address}]" if address.version == 6 else str(address)
                self.guard.check(f"{scheme}://{literal}:{port}/")
            addresses.append((family, sockaddr))
        error: OSError | None = None
        for family, sockaddr in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(self.timeout_s)
            try:
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            return sock
        raise error or OSError(f"{host} does not resolve")

    def __enter__(self) -> GuardProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _ProxyServer(socketserver.ThreadingTCPServer):
    """The proxy's server: it keeps every open socket (browser side and upstream) so that stopping can end them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_ProxyHandler], proxy: GuardProxy) -> None:
        self.proxy = proxy
        self._open_sockets: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._open_lock = threading.Lock()
        self._ending = False
        super().__init__(address, handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._handler_threads.add(threading.current_thread())
        try:
            with self.holding(request, close=False):  # socketserver closes the browser's socket itself
                super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._handler_threads.discard(threading.current_thread())

    @contextlib.contextmanager
    def holding(self, sock: socket.socket, *, close: bool = True) -> Iterator[socket.socket]:
        """Keep ``sock`` for ``end_connections`` while the block runs (shut at once if they are being ended)."""
        with self._open_lock:
            ending = self._ending
            if not ending:
                self._open_sockets.add(sock)
        if ending:
            _shut(sock)
        try:
            yield sock
        finally:
            with self._open_lock:
                self._open_sockets.discard(sock)
            if close:
                sock.close()

    def end_connections(self, *, wait_s: float) -> None:
        """Shut every open socket down (their threads see the connection end), then wait up to ``wait_s``."""
        with self._open_lock:
            self._ending = True
            sockets, threads = list(self._open_sockets), list(self._handler_threads)
        for sock in sockets:
            _shut(sock)
        deadline = time.monotonic() + wait_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that drops a connection mid-transfer is normal; stay quiet on stderr.
        pass


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "takedown-guard-proxy"
    sys_version = ""
    timeout = 60  # a browser opens spare connections ahead of need; an idle one is dropped after this

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: refused requests are kept in ``GuardProxy.blocked``."""

    @property
    def _proxy(self) -> GuardProxy:
        return cast(_ProxyServer, self.server).proxy

    def _refuse(self, status: int, url: str, reason: str) -> None:
        body = f"takedown's fetch guard refused {url}: {reason}\n".encode()
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Takedown-Blocked", reason.encode("ascii", "replace").decode()[:200])
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    @property
    def _server(self) -> _ProxyServer:
        return cast(_ProxyServer, self.server)

    def _open(self, url: str, host: str, port: int) -> socket.socket | None:
        try:
            return self._proxy.connect(url, host, port)
        except FetchBlockedError as exc:
            reason = str(exc).split(" (url=", 1)[0]
            self._proxy._record(url, reason)
            self._refuse(403, url, reason)
        except OSError as exc:
            self._refuse(502, url, f"cannot connect: {exc}")
        return None

    def do_CONNECT(self) -> None:
        host, _, port_text = self.path.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit():
            self._refuse(400, self.path, "CONNECT needs host:port")
            return
        port = int(port_text)
        url = f"https://{self.path}" if port != 443 else f"https://{host}/"
        upstream = self._open(url, host, port)
        if upstream is None:
            return
        with self._server.holding(upstream):
            self.close_connection = True
            self.send_response(200, "Connection Established")
            self.end_headers()
            self.wfile.flush()
            _pump(self.connection, upstream, self._proxy.timeout_s, both_ways=True)

    def _forward(self) -> None:
        parts = urlsplit(self.path)
        url = self.path
        self.close_connection = True
        if parts.scheme.lower() != "http" or not parts.hostname:
            self._refuse(400, url, "a proxy request needs an absolute http:// URL")
            return
        if self.headers.get("Transfer-Encoding"):
            self._refuse(411, url, "chunked request bodies are not forwarded")
            return
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit() or int(length_text) > _MAX_BODY:
            self._refuse(413, url, "request body too large")
            return
        try:
            port = parts.port or 80
        except ValueError:
            self._refuse(400, url, "invalid port")
            return
        body = self.rfile.read(int(length_text)) if int(length_text) else b""
        upstream = self._open(url, parts.hostname, port)
        if upstream is None:
            return
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        lines = [f"{self.command} {target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        lines.append("Connection: close")
        with self._server.holding(upstream):
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            self.wfile.flush()
            _pump(self.connection, upstream, self._proxy.timeout_s, both_ways=False)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _forward


def _shut(sock: socket.socket) -> None:
    """End both directions of ``sock`` without closing it (its owner's thread closes it): a blocked read returns."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _pump(client: socket.socket, upstream: socket.socket, timeout: float, *, both_ways: bool) -> None:
    """Copy bytes between the two sockets until one side closes or nothing moves for ``timeout`` seconds.

    With ``both_ways`` false only the upstream's answer is copied: a forwarded plain-HTTP request has been sent
    whole, and whatever else the client sends on that connection is not for this upstream. A client that sends
    more has read the whole answer and means to reuse the connection (an upstream that ignored
    ``Connection: close``): the connection is closed then, and the browser sends that request again on a new one.
    """
    with contextlib.suppress(OSError), selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ)
        selector.register(upstream, selectors.EVENT_READ)
        while True:
            ready = selector.select(timeout)
            if not ready:
                return
            for key, _ in ready:
                source = cast(socket.socket, key.fileobj)
                if source is client and not both_ways:
                    return
                data = source.recv(_CHUNK)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)
