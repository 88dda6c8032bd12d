"""A real RFC 3161 time-stamping authority on loopback, for tests, examples and ``takedown demo``.

:class:`LocalTsa` makes a throw-away CA and a TSA certificate (``extendedKeyUsage = critical, timeStamping``)
in a folder, writes a minimal ``openssl ts`` configuration (no extra certificates: a reply carries only the
TSA's own certificate, so a verifier needs the CA), and answers every ``POST`` of an
``application/timestamp-query`` by running ``openssl ts -reply``. Its tokens are real: ``openssl ts -verify``
and :func:`takedown.evidence.tsa.verify_token` check them against :attr:`LocalTsa.ca_file`.

```python
from takedown.demo.tsa import LocalTsa
from takedown.evidence.tsa import TsaClient

with LocalTsa(tmp_path / "tsa") as tsa, TsaClient(tsa.settings()) as client:
    token = client.stamp(digest)
```

Files in the folder: ``ca.pem`` (the CA certificate: the trust anchor), ``tsa.pem`` and ``tsa.key`` (the TSA's
certificate and key), ``tsa.cnf`` (the ``openssl ts`` configuration) and ``serial`` (the next token serial
number, which ``openssl`` reads and advances). A folder that already holds them is reused, so tokens stamped
by an earlier run still verify against the same CA. The CA's key is never written: nothing else can be
issued under it. Needs the ``openssl`` command.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Final, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from takedown._server_thread import ServerThread
from takedown.errors import UsageError
from takedown.settings import TsaSettings

__all__ = ["POLICY_OID", "LocalTsa"]

POLICY_OID: Final = "1.3.6.1.4.1.99999.3161.1"
"""The policy the local TSA stamps under (a private-arc OID that no real TSA uses)."""

_QUERY: Final = "application/timestamp-query"
_REPLY: Final = "application/timestamp-reply"
_TEXT: Final = "text/plain; charset=utf-8"
_MAX_QUERY_BYTES: Final = 16 * 1024  # a query is about 60 bytes
_FILES: Final = ("ca.pem", "tsa.pem", "tsa.key", "tsa.cnf", "serial")

# Paths are relative: openssl runs with the folder as its working directory, so no folder name needs quoting.
_CONFIG: Final = f"""\
# openssl ts configuration of takedown's local TSA (throw-away; for tests and the demo only)
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = .
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {POLICY_OID}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _make_authority(folder: Path, *, common_name: str) -> None:
    """Write a fresh CA certificate, TSA certificate and key, configuration and serial file into ``folder``."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=3650)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "takedown local test CA"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} CA"),
    ])
    tsa_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "takedown local test TSA"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    no_usage = {"content_commitment": False, "key_encipherment": False, "data_encipherment": False,
                "key_agreement": False, "encipher_only": False, "decipher_only": False}
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **no_usage),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    usage = {**no_usage, "content_commitment": True}
    tsa = (
        x509.CertificateBuilder()
        .subject_name(tsa_name).issuer_name(ca_name).public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    key_path = folder / "tsa.key"
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(tsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "tsa.pem").write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    (folder / "tsa.cnf").write_text(_CONFIG, encoding="ascii")
    (folder / "serial").write_text("01\n", encoding="ascii")


class LocalTsa:
    """Serve RFC 3161 time stamps on loopback, signed by a throw-away CA's TSA certificate.

    Use it as a context manager (``with LocalTsa(folder) as tsa: ...``) or call :meth:`start` and :meth:`stop`.
    Replies are made one at a time (a lock around ``openssl``), so the serial numbers never repeat.

    Args:
        folder: where the certificates, key, configuration and serial file live (made on first start).
        host: IPv4 address to bind; loopback by default.
        port: TCP port; 0 picks a free one (read it back from :attr:`url`).
        common_name: the TSA certificate's common name.
        openssl: the ``openssl`` command to run.
        timeout_s: the longest one ``openssl ts -reply`` may run.
    """

    def __init__(
        self,
        folder: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        common_name: str = "takedown local TSA",
        openssl: str = "openssl",
        timeout_s: float = 10.0,
    ) -> None:
        self._folder = Path(folder).resolve()
        self._host = host
        self._port = port
        self._common_name = common_name
        self._openssl = openssl
        self._timeout_s = timeout_s
        self._openssl_lock = threading.Lock()  # one openssl at a time: it reads and writes the serial file
        self._lock = threading.Lock()  # guards the counters and the server handles below
        self._lifecycle = threading.Lock()  # serialises start() and stop()
        self._serving: ServerThread[_Server] | None = None
        self._url: str | None = None
        self._served = 0
        self._failed = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LocalTsa:
        """Make (or reuse) the CA and TSA certificate, bind the port and serve in a daemon thread.

        Raises:
            UsageError: the TSA is already running, or no ``openssl`` command is found.
            OSError: the address cannot be bound.
        """
        with self._lifecycle:
            if self._serving is not None:
                raise UsageError("the local TSA is already running")
            if shutil.which(self._openssl) is None:
                raise UsageError(f"the local TSA needs the {self._openssl!r} command, which is not installed")
            if not all((self._folder / name).is_file() for name in _FILES):
                _make_authority(self._folder, common_name=self._common_name)
            server = _Server((self._host, self._port), self)
            serving = ServerThread(server, name="takedown-local-tsa", poll_interval=0.05)
            with self._lock:
                self._serving, self._url = serving, server.base_url + "/"
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Safe to call twice or on a TSA that never started."""
        with self._lifecycle:
            with self._lock:
                serving, self._serving = self._serving, None
                self._url = None
            if serving is not None:
                serving.stop()

    def __enter__(self) -> LocalTsa:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what it offers --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL to POST time-stamp queries to.

        Raises:
            UsageError: the TSA is not running.
        """
        with self._lock:
            if self._url is None:
                raise UsageError("the local TSA is not running; start it first")
            return self._url

    @property
    def folder(self) -> Path:
        """The absolute folder that holds the certificates, key and configuration."""
        return self._folder

    @property
    def certificate(self) -> Path:
        """The TSA's certificate (PEM): the one that signs every token."""
        return self._folder / "tsa.pem"

    @property
    def ca_file(self) -> Path:
        """The throw-away CA's certificate (PEM): the trust anchor to verify tokens against."""
        return self._folder / "ca.pem"

    @property
    def requests_served(self) -> int:
        """How many time-stamp replies were sent."""
        with self._lock:
            return self._served

    @property
    def requests_failed(self) -> int:
        """How many requests got an error instead of a reply (bad request, or ``openssl`` failed)."""
        with self._lock:
            return self._failed

    def settings(self, *, timeout_s: float = 10.0) -> TsaSettings:
        """``TsaSettings`` that point at this TSA and name its certificate and CA.

        Raises:
            UsageError: the TSA is not running.
        """
        return TsaSettings(url=self.url, timeout_s=timeout_s, certificate=self.certificate, ca_file=self.ca_file)

    # -- serving ---------------------------------------------------------------------------------

    def reply(self, query: bytes) -> bytes:
        """The DER time-stamp reply ``openssl ts -reply`` gives to ``query`` (also what a POST answers).

        Raises:
            RuntimeError: ``openssl`` failed or ran longer than the timeout.
        """
        with self._openssl_lock:
            query_path, reply_path = self._folder / "query.tsq", self._folder / "reply.tsr"
            try:
                query_path.write_bytes(query)
                reply_path.unlink(missing_ok=True)
                done = subprocess.run(
                    [self._openssl, "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq",
                     "-out", "reply.tsr"],
                    cwd=self._folder, capture_output=True, timeout=self._timeout_s, check=False,
                )
                if done.returncode != 0 or not reply_path.is_file():
                    message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
                    raise RuntimeError(f"openssl ts -reply failed: {message[-1] if message else done.returncode}")
                return reply_path.read_bytes()
            except subprocess.TimeoutExpired as exc:
                raise RuntimeError(f"openssl ts -reply ran longer than {self._timeout_s:g} s") from exc
            finally:
                query_path.unlink(missing_ok=True)
                reply_path.unlink(missing_ok=True)

    def _count(self, *, served: bool) -> None:
        with self._lock:
            if served:
                self._served += 1
            else:
                self._failed += 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], tsa: LocalTsa) -> None:
        self.tsa = tsa
        super().__init__(address, _Handler)
        host, port = self.server_address[:2]
        self.base_url = f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-reply is normal for a server; the local TSA stays quiet on stderr.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "takedown-local-tsa/1.0"
    sys_version = ""
    timeout = 30
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the local TSA never writes to stderr."""

    @property
    def _tsa(self) -> LocalTsa:
        return cast(_Server, self.server).tsa

    def do_GET(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"POST an application/timestamp-query here\n", _TEXT,
                   allow="POST")

    def do_POST(self) -> None:
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self.close_connection = True
            self._fail(HTTPStatus.LENGTH_REQUIRED, "a Content-Length is required")
            return
        length = int(length_header)
        if length > _MAX_QUERY_BYTES:
            self.close_connection = True
            self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "a time-stamp query is a few dozen bytes")
            return
        body = self.rfile.read(length)
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != _QUERY:
            self._fail(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"send {_QUERY}, not {kind or 'no content type'}")
            return
        try:
            reply = self._tsa.reply(body)
        except (RuntimeError, OSError) as exc:
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))
            return
        self._tsa._count(served=True)
        self._send(HTTPStatus.OK, reply, _REPLY)

    def _fail(self, status: HTTPStatus, message: str) -> None:
        self._tsa._count(served=False)
        self._send(status, (message + "\n").encode("utf-8"), _TEXT)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, *, allow: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if allow is not None:
            self.send_header("Allow", allow)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
