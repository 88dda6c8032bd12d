"""Sending approved notices through an SMTP server (stdlib ``smtplib``), once.

Security is what ``SmtpSettings.security`` says: ``ssl`` (implicit TLS, usually port 465), ``starttls`` (plain
connection upgraded before anything else is said; a server that does not offer STARTTLS is refused, never
talked to in plaintext) or ``none``. Certificates and host names are verified with ``ssl.create_default_context()``
unless an ``ssl_context`` is passed in. Credentials are never sent over a plaintext connection to anything but
a loopback address.

Retries and duplicates. A deletion request sent twice is worse than one sent late, so the transport retries a
message only while the server has certainly *not* taken it:

- before the end of the message data: connection refused, reset or timed out, the connection dropping, and any
  4xx reply (to the greeting, EHLO, AUTH, MAIL, RCPT or DATA) are transient and retried with exponential backoff
  and jitter; any 5xx reply is permanent and raised at once with the server's code and text;
- after the message data has been sent, the server's reply decides (RFC 5321 4.2.5: only a 2xx reply to the
  end of data means it took responsibility): 2xx is success, 4xx is retried (the server refused it, nothing was
  queued), 5xx is permanent;
- but if the connection fails *between* handing over the data and reading that reply, nobody knows whether the
  message was queued: the transport raises ``DeliveryStateUnknownError`` (a ``DeliveryError`` with
  ``unknown = True``) and does not retry. The caller must keep its record that a send was attempted and let an
  officer check the server's log (see ``takedown.report.review.confirm_sent``).

To tell those phases apart, the transport drives the SMTP transaction itself (``MAIL``, ``RCPT``, ``DATA``, the
dot-stuffed data, the final reply) rather than through ``smtplib.SMTP.sendmail``, which reports a failure during
the data phase the same way as one before it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import ClassVar

from takedown.errors import ConfigError, DeliveryError, DeliveryStateUnknownError, UsageError
from takedown.models import Delivery, OutgoingMessage
from takedown.report.message import check_address
from takedown.settings import SmtpSettings

__all__ = ["DeliveryStateUnknownError", "SmtpTransport"]

_MAX_BACKOFF_S = 300.0
_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class _Permanent(Exception):
    """A failure that retrying cannot fix (raised inside an attempt, translated by ``send``)."""


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).strip()


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_transient(exc: BaseException) -> bool:
    """Whether an error before the end of data may go away on its own (so the message may be tried again)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return not 500 <= exc.smtp_code < 600
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPException):
        return False  # e.g. SMTPNotSupportedError (no AUTH offered), no usable AUTH mechanism: configuration
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False  # the server is not who it says it is: trying again will not change that
    if isinstance(exc, ssl.SSLError):
        return isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError)
    return isinstance(exc, OSError)  # refused, reset, timed out, name resolution, ...


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipients refused: " + "; ".join(
            f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _wire_data(raw: bytes) -> bytes:
    """``raw`` as the DATA phase carries it: CRLF line endings, leading dots doubled, ended by ``.``."""
    data = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", raw))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class SmtpTransport:
    """Sends each message through an SMTP server; keeps one connection open across sends.

    Args:
        settings: host, port, security (``ssl``, ``starttls``, ``none``), credentials, timeout.
        retries: how many times a transiently failed message is tried again (so at most ``retries + 1`` tries).
        backoff_s: the wait before the first retry; each further retry waits twice as long (at most 300 s),
            times a random factor between 0.5 and 1.5 so that many senders do not retry in step.
        sleep: how to wait (tests pass a function that records the delays).
        ssl_context: the TLS context for ``ssl`` and ``starttls``; default: ``ssl.create_default_context()``
            (system CAs, host name checked).

    Raises:
        UsageError: ``retries`` or ``backoff_s`` is negative.
        ConfigError: credentials are set with ``security = "none"`` for a host that is not a loopback address
            (they would cross the network in plaintext).
    """

    name: ClassVar[str] = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if retries < 0 or backoff_s < 0:
            raise UsageError("SmtpTransport: retries and backoff_s must not be negative")
        if settings.security == "none" and settings.username and not _is_loopback(settings.host):
            raise ConfigError(
                f"smtp.username is set but smtp.security is 'none': the password would cross the network to "
                f"{settings.host} in plaintext; use 'starttls' or 'ssl'"
            )
        self.settings = settings
        self.retries = retries
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.ssl_context = ssl_context
        self.attempts = 0
        """How many tries the last ``send`` made (1 when it succeeded at once)."""
        self._random = random.Random()
        self._conn: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- the Transport protocol -------------------------------------------------------------------------------

    def send(self, message: OutgoingMessage) -> Delivery:
        """Send ``message`` once, retrying transient failures that happened before the server could take it.

        Raises:
            DeliveryError: the message was not sent: a permanent refusal (the message gives the server's code
                and text), a transient failure that outlasted the retries, a server that does not offer STARTTLS,
                an invalid envelope address, or a closed transport. The original error is ``__cause__``.
            DeliveryStateUnknownError: the connection failed after the data was handed over; it may have been
                sent. Not retried.
        """
        sender = check_address(message.sender, what="envelope sender")
        recipients = [check_address(r, what="envelope recipient") for r in message.recipients]
        data = _wire_data(message.raw)
        with self._lock:
            if self._closed:
                raise DeliveryError("the transport is closed", plugin=self.name, url=self._url)
            self.attempts = 0
            while True:
                self.attempts += 1
                try:
                    reply, refused = self._attempt(sender, recipients, data, size=len(message.raw),
                                                   eight_bit=not message.raw.isascii())
                    break
                except DeliveryError:
                    self._drop()
                    raise
                except _Permanent as exc:
                    self._drop()
                    raise DeliveryError(f"{exc} (not retried)", plugin=self.name, url=self._url) from exc.__cause__
                except ValueError as exc:  # e.g. credentials smtplib cannot encode (it sends them as ASCII)
                    self._drop()
                    raise DeliveryError(f"cannot talk to the SMTP server: {_describe(exc)} (not retried)",
                                        plugin=self.name, url=self._url) from exc
                except (smtplib.SMTPException, OSError) as exc:
                    self._drop()
                    if not _is_transient(exc):
                        raise DeliveryError(f"SMTP server refused the message: {_describe(exc)} (not retried)",
                                            plugin=self.name, url=self._url) from exc
                    if self.attempts > self.retries:
                        raise DeliveryError(f"SMTP delivery failed after {self.attempts} attempt(s): "
                                            f"{_describe(exc)}", plugin=self.name, url=self._url) from exc
                    self.sleep(self._delay(self.attempts))
        detail = f"{self._url} accepted it after {self.attempts} attempt(s): {reply}"
        if refused:
            detail += "; refused: " + "; ".join(f"{r}: {why}" for r, why in refused.items())
        return Delivery(notice_id=message.notice_id, transport=self.name, message_id=message.message_id,
                        approved_by=message.approved_by, approved_at=message.approved_at, detail=detail)

    def close(self) -> None:
        """Say QUIT to the server (politely; a dead connection is just closed) and refuse further sends."""
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.quit()
                except (smtplib.SMTPException, OSError):
                    pass
                finally:
                    conn.close()

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- one attempt --------------------------------------------------------------------------------------------

    @property
    def _url(self) -> str:
        scheme = "smtps" if self.settings.security == "ssl" else "smtp"
        return f"{scheme}://{self.settings.host}:{self.settings.port}"

    def _delay(self, attempt: int) -> float:
        base = min(self.backoff_s * 2.0 ** (attempt - 1), _MAX_BACKOFF_S)
        return base * self._random.uniform(0.5, 1.5)

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        """A connection that has said EHLO, is encrypted as the settings say, and has logged in if asked to."""
        s = self.settings
        # Given the host, the constructor connects and reads the greeting (closing the socket itself if that
        # fails, and raising SMTPConnectError for anything but 220); it also remembers the host for TLS.
        conn: smtplib.SMTP
        if s.security == "ssl":
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=self._context())
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        try:
            conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise _Permanent(f"{s.host}:{s.port} does not offer STARTTLS; refusing to send in plaintext "
                                     "(set smtp.security to 'ssl' or 'none' if that is really wanted)")
                conn.starttls(context=self._context())
                conn.ehlo_or_helo_if_needed()
            if s.username:
                password = s.password.get_secret_value() if s.password is not None else ""
                conn.login(s.username, password)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> smtplib.SMTP:
        """The open connection if it still answers NOOP, else a new one."""
        if self._conn is not None:
            try:
                alive = self._conn.noop()[0] == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if alive:
                return self._conn
            self._drop()
        self._conn = self._connect()
        return self._conn

    def _drop(self) -> None:
        """Close the connection without ceremony (after an error its state is not to be trusted)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _attempt(self, sender: str, recipients: list[str], data: bytes, *, size: int,
                 eight_bit: bool) -> tuple[str, dict[str, str]]:
        """One SMTP transaction: the server's final reply and the recipients it refused (if it took the others).

        Raises smtplib errors and ``OSError`` for failures before the data was handed over; ``_Permanent`` for a
        5xx reply; ``DeliveryStateUnknownError`` for a failure between handing over the data and the reply.
        """
        conn = self._connection()
        options: list[str] = []
        if conn.has_extn("size"):
            options.append(f"SIZE={size}")
        if eight_bit and conn.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        code, reply = conn.mail(sender, options)
        if code != 250:
            self._reset(conn)
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for rcpt in recipients:
            code, reply = conn.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, reply)
        if len(refused) == len(recipients):
            self._reset(conn)
            raise smtplib.SMTPRecipientsRefused(refused)
        code, reply = conn.docmd("DATA")
        if code != 354:
            self._reset(conn)
            raise smtplib.SMTPDataError(code, reply)
        # From here on the server holds the message; only its reply to the end of data says what it did with it.
        try:
            conn.send(data)
            code, reply = conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryStateUnknownError(
                f"delivery state unknown: the connection failed after the message data was sent ({_describe(exc)}); "
                "it may have been delivered, so it is not retried: check the SMTP server's log",
                plugin=self.name, url=self._url,
            ) from exc
        if not 200 <= code < 300:
            refusal = smtplib.SMTPDataError(code, reply)
            if 500 <= code < 600:
                raise _Permanent(f"SMTP server refused the message after DATA: {code} {_text(reply)}") from refusal
            raise refusal
        return f"{code} {_text(reply)}", {r: f"{c} {_text(m)}" for r, (c, m) in refused.items()}

    @staticmethod
    def _reset(conn: smtplib.SMTP) -> None:
        """Abort the transaction (RSET) so the connection could be reused; errors here do not matter."""
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.rset()
