"""WARC 1.1 recording of HTTP exchanges, with the bytes as they came off the wire.

:class:`WarcRecorder` writes one gzip-compressed WARC file (ISO 28500:2017, each record its own gzip member, as
``warcio`` writes them): a ``warcinfo`` record first, then for every HTTP exchange a ``request`` and a ``response``
record, plus ``metadata`` and ``resource`` records (e.g. the server's TLS certificate). Every record after the
``warcinfo`` names it in ``WARC-Warcinfo-ID``. The file is written to a temporary name beside its target and moved
into place only by :meth:`WarcRecorder.close`, so a crash never leaves a WARC that looks finished.

What "as received" means here, precisely:

- The response body is the message body before content decoding: a gzip-encoded page stays gzip in the WARC. The
  HTTP client does remove the transfer coding (``Transfer-Encoding: chunked`` framing); the header is kept as the
  server sent it and the exchange's ``metadata`` record says that the payload was de-chunked.
- The status line and header block of an httpx exchange (:func:`http_response_head`) are built from the raw header
  list the client kept: the status code, the reason phrase and every header line in the order and spelling the
  server sent them, byte for byte (``Response.headers.raw``, ``extensions["reason_phrase"]``); only whitespace
  inside the header block (e.g. around the colon) is normalised to ``Name: value``. An HTTP/2 response is written
  with an HTTP/1.1 status line (HTTP/2 has none) and its ``metadata`` record names the real version. A browser's
  exchange brings its head as text when Chromium kept it (HTTP/1.x); :func:`http_head` builds one otherwise.
- Digests (``WARC-Block-Digest``, ``WARC-Payload-Digest``) are SHA-256, so ``warcio check`` verifies every record.

``warcio`` is the ``warc`` extra; it is imported when a recorder is created.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final

import httpx

from takedown._version import __version__
from takedown.errors import EvidenceError, MissingDependencyError, UsageError

__all__ = [
    "WARC_MEDIA_TYPE",
    "HttpExchange",
    "WarcRecorder",
    "http_head",
    "http_request_head",
    "http_response_head",
]

WARC_MEDIA_TYPE: Final = "application/warc"
"""The media type of a WARC file (also of its per-record gzip form, ``.warc.gz``)."""

_CRLF: Final = b"\r\n"


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request and the response to it, as bytes.

    Attributes:
        url: the request's absolute URL (the ``WARC-Target-URI``).
        started_at: when the request was sent (timezone-aware); the records' ``WARC-Date``.
        request_head: the request line and header block, ending with the empty line.
        request_body: the request body (empty for GET).
        response_head: the status line and header block, ending with the empty line.
        response_body: the body as received, before content decoding.
        server_ip: the address of the server the connection went to, if known (``WARC-IP-Address``).
        metadata: extra ``name: value`` fields for the exchange's ``metadata`` record.
        truncated: why the response body is incomplete (``WARC-Truncated``: ``length``, ``time``, ...), if it is.
    """

    url: str
    started_at: datetime
    request_head: bytes
    response_head: bytes
    response_body: bytes
    request_body: bytes = b""
    server_ip: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    truncated: str | None = None


def http_head(start_line: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """A request or status line and ``Name: value`` header lines, CRLF-separated, ending with the empty line."""
    lines = [start_line, *(name + b": " + value for name, value in headers)]
    return _CRLF.join(lines) + _CRLF + _CRLF


def http_request_head(request: httpx.Request) -> bytes:
    """The HTTP/1.1 request line and headers httpx sent for ``request``, ending with the empty line."""
    target = request.url.raw_path or b"/"
    start = request.method.encode("ascii") + b" " + target + b" HTTP/1.1"
    return http_head(start, list(request.headers.raw))


def http_response_head(response: httpx.Response) -> bytes:
    """The status line and headers of ``response`` as the server sent them, ending with the empty line.

    The protocol is ``HTTP/1.0`` or ``HTTP/1.1`` as received; anything else (HTTP/2) is written as ``HTTP/1.1``.
    """
    version = response.http_version if response.http_version in ("HTTP/1.0", "HTTP/1.1") else "HTTP/1.1"
    reason = response.extensions.get("reason_phrase")
    if not isinstance(reason, bytes):
        reason = response.reason_phrase.encode("latin-1", "replace")
    start = f"{version} {response.status_code}".encode("ascii") + (b" " + reason if reason else b" ")
    return http_head(start, list(response.headers.raw))


def _warc_date(value: datetime) -> str:
    if value.tzinfo is None:
        raise UsageError("WARC dates must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.cache
def _warcio() -> tuple[type[Any], type[Any]]:
    """The writer (SHA-256 digests) and a StatusAndHeaders that keeps its bytes."""
    try:
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.utils import Digester
        from warcio.warcwriter import WARCWriter
    except ImportError as exc:
        raise MissingDependencyError("warcio", "warc", feature="a WARC capture") from exc

    class Sha256WarcWriter(WARCWriter):  # type: ignore[misc]
        @staticmethod
        def _create_digester() -> Any:
            return Digester("sha256")

    class RawHead(StatusAndHeaders):  # type: ignore[misc]
        """An HTTP head written exactly as given (warcio would re-serialise and %-encode it)."""

        def __init__(self, raw: bytes) -> None:
            first = raw.partition(_CRLF)[0]
            protocol, _, statusline = first.decode("latin-1").partition(" ")
            super().__init__(statusline, [], protocol=protocol)
            self.raw = raw
            self.headers_buff = raw

        def compute_headers_buffer(self, header_filter: Any = None) -> None:
            self.headers_buff = self.raw

    return Sha256WarcWriter, RawHead


class WarcRecorder:
    """Writes a gzip WARC 1.1 file of HTTP exchanges; the file appears only when :meth:`close` succeeds.

    Use it as a context manager: leaving the block normally closes (publishes) the file, leaving it with an
    exception discards it. It is safe to write from several threads.

    Args:
        path: where the finished file goes (conventionally ``capture.warc.gz``).
        operator: who made the capture (an officer's name or id), for the ``warcinfo`` record.
        software: the capturing software, for the ``warcinfo`` record.
        description: a free-text line for the ``warcinfo`` record (e.g. the case and finding).
        is_part_of: a collection name for ``isPartOf`` (e.g. the bundle id).
        info: more ``warcinfo`` fields (e.g. ``http-header-user-agent``), after the standard ones.

    Raises:
        MissingDependencyError: warcio is not installed (the ``warc`` extra).
        EvidenceError: the temporary file cannot be created.
    """

    def __init__(
        self,
        path: Path,
        *,
        operator: str,
        software: str = f"takedown/{__version__}",
        description: str = "",
        is_part_of: str = "",
        info: Mapping[str, str] | None = None,
    ) -> None:
        writer_cls, self._raw_head = _warcio()
        self.path = Path(path)
        self._lock = threading.Lock()
        self._closed = False
        self.records = 0
        """How many records have been written so far."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        except OSError as exc:
            raise EvidenceError(f"cannot create the WARC file beside {self.path}: {exc}") from exc
        self._tmp = Path(tmp)
        self._fh: BinaryIO = os.fdopen(fd, "wb")
        self._writer = writer_cls(self._fh, gzip=True, warc_version="WARC/1.1")
        fields = {
            "software": software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iso.org/standard/68004.html",
            "operator": operator,
            "description": description,
            "isPartOf": is_part_of,
            **(info or {}),
        }
        self.warcinfo_id = ""
        """The ``WARC-Record-ID`` of the file's ``warcinfo`` record."""
        try:
            record = self._writer.create_warcinfo_record(
                self.path.name, {k: _one_line(v) for k, v in fields.items() if v}
            )
            self.warcinfo_id = self._write(record)
        except BaseException:
            self.abort()
            raise

    @property
    def closed(self) -> bool:
        """Whether the file was published or discarded."""
        return self._closed

    def _write(self, record: Any) -> str:
        with self._lock:
            if self._closed:
                raise UsageError(f"the WARC recorder for {self.path} is closed")
            try:
                self._writer.write_record(record)
            except OSError as exc:
                raise EvidenceError(f"cannot write the WARC file {self.path}: {exc}") from exc
            self.records += 1
        return str(record.rec_headers.get_header("WARC-Record-ID"))

    def _headers(self, at: datetime, ip: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"WARC-Date": _warc_date(at), "WARC-Warcinfo-ID": self.warcinfo_id}
        if ip:
            headers["WARC-IP-Address"] = ip
        headers.update({k: v for k, v in extra.items() if v})
        return {k: v for k, v in headers.items() if v}

    def write_exchange(self, exchange: HttpExchange) -> str:
        """Write the exchange's ``response`` and ``request`` records (and a ``metadata`` record when it has any).

        Returns:
            the ``WARC-Record-ID`` of the response record.
        """
        response = self._writer.create_warc_record(
            exchange.url, "response",
            payload=io.BytesIO(exchange.response_body), length=len(exchange.response_body),
            http_headers=self._raw_head(exchange.response_head),
            warc_headers_dict=self._headers(exchange.started_at, exchange.server_ip,
                                            **{"WARC-Truncated": exchange.truncated or ""}),
        )
        response_id = self._write(response)
        request = self._writer.create_warc_record(
            exchange.url, "request",
            payload=io.BytesIO(exchange.request_body), length=len(exchange.request_body),
            http_headers=self._raw_head(exchange.request_head),
            warc_headers_dict=self._headers(exchange.started_at, exchange.server_ip,
                                            **{"WARC-Concurrent-To": response_id}),
        )
        self._write(request)
        if exchange.metadata:
            self.write_metadata(exchange.url, exchange.metadata, refers_to=response_id, at=exchange.started_at)
        return response_id

    def write_metadata(
        self, uri: str, fields: Mapping[str, str], *, refers_to: str | None = None, at: datetime | None = None
    ) -> str:
        """Write a ``metadata`` record of ``name: value`` lines (``application/warc-fields``); return its id."""
        body = "".join(f"{name}: {_one_line(value)}\r\n" for name, value in fields.items()).encode("utf-8")
        record = self._writer.create_warc_record(
            uri, "metadata", payload=io.BytesIO(body), length=len(body),
            warc_content_type="application/warc-fields",
            warc_headers_dict=self._headers(at or datetime.now(UTC), **{"WARC-Refers-To": refers_to or ""}),
        )
        return self._write(record)

    def write_resource(
        self, uri: str, data: bytes, *, content_type: str, refers_to: str | None = None, at: datetime | None = None
    ) -> str:
        """Write a ``resource`` record holding ``data`` (e.g. a certificate, a screenshot); return its id."""
        record = self._writer.create_warc_record(
            uri, "resource", payload=io.BytesIO(data), length=len(data), warc_content_type=content_type,
            warc_headers_dict=self._headers(at or datetime.now(UTC), **{"WARC-Refers-To": refers_to or ""}),
        )
        return self._write(record)

    def close(self) -> Path:
        """Flush the file to disk and move it to :attr:`path` in one step; return that path.

        Raises:
            UsageError: the recorder was already closed or aborted.
            EvidenceError: the file could not be written.
        """
        with self._lock:
            if self._closed:
                raise UsageError(f"the WARC recorder for {self.path} is already closed")
            self._closed = True
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
                os.replace(self._tmp, self.path)
            except OSError as exc:
                self._fh.close()
                self._tmp.unlink(missing_ok=True)
                raise EvidenceError(f"cannot write the WARC file {self.path}: {exc}") from exc
        return self.path

    def abort(self) -> None:
        """Discard the file being written (nothing appears at :attr:`path`). Safe to call twice."""
        with self._lock:
            self._closed = True
            self._fh.close()
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> WarcRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.close()


def _one_line(value: str) -> str:
    return " ".join(value.splitlines())

