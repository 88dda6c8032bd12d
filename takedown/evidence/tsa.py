"""Trusted time: an RFC 3161 time-stamping client, and the check of a token it returns.

A time-stamping authority (TSA) signs "this digest existed at this time"; a court can check that signature
without trusting the agency's own clock. :class:`TsaClient` asks a TSA to stamp a SHA-256 digest (the seal of
an evidence bundle, see :mod:`takedown.evidence.seal`); :func:`verify_token` checks a token against the digest
and the TSA's certificate and CA.

What a :class:`~takedown.models.TimestampToken` holds: ``token_der_b64`` is the DER of the TSA's whole
``TimeStampResp`` (its status and the signed token), byte for byte as the TSA answered it; a bundle keeps the
same bytes as ``seal.tsr``. That is the form ``openssl ts -verify -in seal.tsr`` and ``openssl ts -reply -in
seal.tsr -text`` read. :func:`verify_token` also accepts a bare ``TimeStampToken`` (``openssl ts -token_in``).

The request is encoded here rather than with ``rfc3161_client.TimestampRequestBuilder``: the builder takes the
data and hashes it itself, while a seal is stamped by its digest (the data need not be at hand). The encoding
is the same bytes the builder gives for that data (the tests compare them).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import UTC
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Final

from cryptography import x509
from rfc3161_client import (
    PKIStatus,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from takedown.errors import EvidenceError, UsageError
from takedown.models import TimestampToken
from takedown.settings import TsaSettings

if TYPE_CHECKING:
    import httpx  # imported when a client is built: verifying a token needs no HTTP

__all__ = [
    "QUERY_MEDIA_TYPE",
    "REPLY_MEDIA_TYPE",
    "SHA256_OID",
    "TsaClient",
    "decode_token",
    "encode_request",
    "imprint_problems",
    "verify_token",
]

QUERY_MEDIA_TYPE: Final = "application/timestamp-query"
"""The media type of a time-stamp request (RFC 3161 section 3.4)."""

REPLY_MEDIA_TYPE: Final = "application/timestamp-reply"
"""The media type of a time-stamp response, and of a ``.tsr`` file."""

SHA256_OID: Final = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
"""The object identifier of SHA-256, as a token's message imprint names it."""

_MAX_REPLY_BYTES: Final = 1 << 20  # a reply is a few KiB; anything near a MiB is not a time-stamp reply
_PLUGIN: Final = "tsa"


# -- DER, just enough for a TimeStampReq ---------------------------------------------------------------------


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def _der_integer(value: int) -> bytes:
    # Two's complement, shortest form: a positive number whose top bit is set gets a leading zero octet.
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


_SHA256_ALGORITHM: Final = bytes.fromhex("300d06096086480165030402010500")  # AlgorithmIdentifier {sha256, NULL}


def encode_request(digest_sha256: bytes, *, nonce: int | None, cert_req: bool = True) -> bytes:
    """The DER of an RFC 3161 ``TimeStampReq`` for a SHA-256 digest (version 1, no policy, no extensions).

    Args:
        digest_sha256: the 32-byte SHA-256 digest to be stamped.
        nonce: a random positive number the reply must echo, or ``None`` for no nonce.
        cert_req: ask the TSA to put its certificate in the token.
    """
    if len(digest_sha256) != 32:
        raise UsageError(f"a SHA-256 digest is 32 bytes, not {len(digest_sha256)}")
    if nonce is not None and nonce <= 0:
        raise UsageError("a nonce must be a positive number")
    body = _der_integer(1) + _der(0x30, _SHA256_ALGORITHM + _der(0x04, digest_sha256))
    if nonce is not None:
        body += _der_integer(nonce)
    if cert_req:
        body += b"\x01\x01\xff"  # certReq BOOLEAN TRUE (FALSE is the default and is left out in DER)
    return _der(0x30, body)


# -- the client ----------------------------------------------------------------------------------------------


class TsaClient:
    """Asks an RFC 3161 time-stamping authority to stamp SHA-256 digests.

    Args:
        settings: the TSA's URL and the timeout for one request (``settings.url`` must be set: leave the TSA
            out altogether, e.g. ``seal_bundle(..., tsa=None)``, when none is configured).
        client: an ``httpx.Client`` to send with (tests pass one with a transport). Without one the
            client makes its own and closes it in :meth:`close`; a client passed in is left open.

    Raises:
        UsageError: ``settings.url`` is not set.
    """

    name: ClassVar[str] = _PLUGIN

    def __init__(self, settings: TsaSettings, *, client: httpx.Client | None = None) -> None:
        if not settings.url:
            raise UsageError("no time-stamping authority URL is configured (tsa.url)")
        self.settings = settings
        self.url: str = settings.url
        self._owns_client = client is None
        if client is None:
            import httpx

            client = httpx.Client(timeout=settings.timeout_s)
        self._client = client

    def close(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> TsaClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def stamp(self, digest_sha256: bytes) -> TimestampToken:
        """Have the TSA stamp ``digest_sha256`` and return its token.

        The request carries a fresh random nonce and asks for the TSA's certificate. The reply must be granted,
        echo the nonce, and stamp exactly this SHA-256 digest. The token's signature is not checked here (that
        needs the TSA's CA: see :func:`verify_token`).

        Raises:
            UsageError: ``digest_sha256`` is not 32 bytes.
            EvidenceError: the TSA could not be reached, answered with an HTTP error, or its reply is not a
                granted time stamp of this digest (``plugin="tsa"``, ``url`` the TSA's).
        """
        import httpx

        nonce = secrets.randbits(63) | 1  # positive and never zero
        query = encode_request(digest_sha256, nonce=nonce, cert_req=True)
        try:
            response = self._client.post(
                self.url, content=query, headers={"Content-Type": QUERY_MEDIA_TYPE, "Accept": REPLY_MEDIA_TYPE},
                timeout=self.settings.timeout_s,
            )
        except httpx.TimeoutException as exc:
            raise self._error(f"the time-stamping authority did not answer within {self.settings.timeout_s:g} s"
                              ) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._error(f"cannot reach the time-stamping authority: {exc}") from exc
        if response.status_code != 200:
            raise self._error(f"the time-stamping authority answered HTTP {response.status_code}")
        data = response.content
        if len(data) > _MAX_REPLY_BYTES:
            raise self._error(f"the time-stamping authority's reply is {len(data)} bytes: not a time-stamp reply")
        try:
            reply = decode_timestamp_response(data)
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "no content type")
            raise self._error(f"the reply ({kind}, {len(data)} bytes) is not an RFC 3161 response: {exc}") from exc
        try:
            status = PKIStatus(reply.status)
        except ValueError as exc:
            raise self._error(f"the reply has an unknown status {reply.status}") from exc
        # grantedWithMods is refused too: rfc3161_client's verifier (verify_token) accepts only "granted".
        if status is not PKIStatus.GRANTED:
            said = "; ".join(reply.status_string) or "no reason given"
            raise self._error(f"the time-stamping authority refused the request ({status.name}: {said})")
        try:
            info = reply.tst_info
            got_nonce = info.nonce
            at = info.gen_time
        except ValueError as exc:
            raise self._error(f"the reply's token cannot be read: {exc}") from exc
        if got_nonce != nonce:
            raise self._error("the reply does not echo the request's nonce (a replayed or misrouted reply)")
        problems = imprint_problems(reply, digest_sha256)
        if problems:
            raise self._error("; ".join(problems))
        when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return TimestampToken(
            tsa_url=self.url, digest_sha256=digest_sha256.hex(),
            token_der_b64=base64.b64encode(data).decode("ascii"), at=when,
        )

    def _error(self, message: str) -> EvidenceError:
        return EvidenceError(message, plugin=_PLUGIN, url=self.url)


# -- reading and verifying tokens ----------------------------------------------------------------------------


def decode_token(token: TimestampToken | bytes) -> TimeStampResponse:
    """Parse a token (a model, or DER bytes): a whole ``TimeStampResp``, or a bare ``TimeStampToken``.

    Raises:
        EvidenceError: the bytes are neither.
    """
    if isinstance(token, TimestampToken):
        try:
            data = base64.b64decode(token.token_der_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EvidenceError(f"the token is not base64: {exc}", plugin=_PLUGIN, url=token.tsa_url) from exc
    else:
        data = token
    try:
        return _read_whole(decode_timestamp_response(data))
    except ValueError as first:
        # A bare token: wrap it in a response with status "granted" so it parses the same way.
        try:
            return _read_whole(decode_timestamp_response(_der(0x30, bytes.fromhex("3003020100") + data)))
        except ValueError:
            raise EvidenceError(f"not an RFC 3161 time-stamp reply or token: {first}", plugin=_PLUGIN) from first


def _read_whole(reply: TimeStampResponse) -> TimeStampResponse:
    """``reply`` once every field takedown reads from it has been parsed: the parser reads the token's contents only
    when they are first asked for, so a damaged token would otherwise raise ``ValueError`` far from here.

    Raises:
        ValueError: a field cannot be parsed.
    """
    info = reply.tst_info
    imprint = info.message_imprint
    for value in (info.gen_time, info.serial_number, info.policy, imprint.hash_algorithm, imprint.message):
        if value is None:
            raise ValueError("the token's contents are incomplete")
    return reply


def imprint_problems(reply: TimeStampResponse, digest_sha256: bytes) -> list[str]:
    """What is wrong with a reply's message imprint for ``digest_sha256`` (empty: it stamps exactly that digest).

    This says nothing about who signed the token: see :func:`verify_token`.
    """
    try:
        imprint = reply.tst_info.message_imprint
        algorithm, message = imprint.hash_algorithm, imprint.message
    except ValueError as exc:
        return [f"the token's message imprint cannot be read: {exc}"]
    if algorithm != SHA256_OID:
        return [f"the token stamps a {algorithm.dotted_string} digest, not SHA-256"]
    if message != digest_sha256:
        return [f"the token stamps the digest {message.hex()}, not {digest_sha256.hex()}"]
    return []


def _load_certificates(path: Path, what: str) -> list[x509.Certificate]:
    data = path.read_bytes()
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ValueError(f"the {what} {path} holds no readable certificate: {exc}") from exc


_OPENSSL_REASON: Final = re.compile(r'reason: "([^"]+)".*?data: "([^"]+)"')


def _plain(exc: Exception) -> str:
    """The verifier's message, with OpenSSL's error stack cut down to its reason."""
    text = str(exc)
    found = _OPENSSL_REASON.search(text)
    return f"{found[1]}: {found[2].removeprefix('Verify error:').strip()}" if found else text


def verify_token(
    token: TimestampToken | bytes,
    *,
    digest_sha256: bytes,
    certificate: Path | None,
    ca_file: Path | None,
) -> list[str]:
    """Every problem with a time-stamp token; an empty list means it is a valid stamp of ``digest_sha256``.

    Checks that the token parses, was granted, stamps exactly ``digest_sha256`` with SHA-256, and carries a
    signature that chains to a root in ``ca_file`` and was valid at the stamp's time; when ``certificate`` (the
    TSA's own, PEM or DER) is given, the token must also be signed by that very certificate. With a
    ``certificate`` and no ``ca_file``, the certificate itself is the trust anchor (which holds only for a
    self-signed TSA certificate). With neither, the signature cannot be checked, and that is reported as a problem:
    an empty list always means the signature was verified.

    ``openssl ts -verify -digest HEX -in seal.tsr -CAfile CA -untrusted TSA`` checks the same things.
    """
    try:
        reply = decode_token(token)
    except EvidenceError as exc:
        return [str(exc)]
    problems = imprint_problems(reply, digest_sha256)
    if not problems and isinstance(token, TimestampToken) and token.digest_sha256.lower() != digest_sha256.hex():
        problems = [f"the token's record says it was taken for {token.digest_sha256}, not {digest_sha256.hex()}"]
    if certificate is None and ca_file is None:
        return [*problems, "the TSA's signature was not checked: no TSA certificate or CA file was given"]
    try:
        roots = _load_certificates(ca_file, "CA file") if ca_file is not None else []
        leaf = _load_certificates(certificate, "TSA certificate")[0] if certificate is not None else None
    except (OSError, ValueError) as exc:
        return [*problems, f"the signature cannot be checked: {exc}"]
    builder = VerifierBuilder(roots=roots or ([leaf] if leaf is not None else []), tsa_certificate=leaf)
    try:
        # The signature is checked over what the token itself stamps; a wrong digest is reported above.
        builder.build().verify(reply, reply.tst_info.message_imprint.message)
    except VerificationError as exc:
        hint = "" if ca_file is not None else " (give the CA file the TSA certificate chains to)"
        return [*problems, f"the TSA's signature does not verify: {_plain(exc)}{hint}"]
    except (ValueError, x509.InvalidVersion) as exc:  # a damaged certificate inside the token, say
        return [*problems, f"the TSA's signature cannot be checked: {exc}"]
    return problems
