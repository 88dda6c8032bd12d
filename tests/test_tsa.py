"""The RFC 3161 client and the local TSA: real stamps from ``openssl ts -reply``, checked two ways."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, decode_timestamp_response

from takedown.demo.tsa import POLICY_OID, LocalTsa
from takedown.errors import EvidenceError, UsageError
from takedown.evidence.tsa import QUERY_MEDIA_TYPE, TsaClient, decode_token, encode_request, verify_token
from takedown.models import TimestampToken
from takedown.settings import TsaSettings

DIGEST = hashlib.sha256(b"a sealed evidence bundle").digest()


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture(scope="module")
def other_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    """A second TSA with its own CA: its certificates must not vouch for the first one's tokens."""
    with LocalTsa(tmp_path_factory.mktemp("other-tsa"), common_name="another TSA") as running:
        yield running


@pytest.fixture(scope="module")
def token(tsa: LocalTsa) -> TimestampToken:
    with TsaClient(tsa.settings()) as client:
        return client.stamp(DIGEST)


def _openssl_verify(reply: Path, digest: bytes, ca: Path, untrusted: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "ts", "-verify", "-digest", digest.hex(), "-in", str(reply), "-CAfile", str(ca),
         "-untrusted", str(untrusted)],
        capture_output=True, text=True, timeout=30, check=False,
    )


# -- the request -------------------------------------------------------------------------------------------


def test_request_is_the_bytes_rfc3161_client_builds_for_the_data() -> None:
    built = TimestampRequestBuilder().data(b"x").hash_algorithm(HashAlgorithm.SHA256).build()
    assert built.nonce is not None
    assert encode_request(hashlib.sha256(b"x").digest(), nonce=built.nonce) == built.as_bytes()
    no_nonce = TimestampRequestBuilder().data(b"x").hash_algorithm(HashAlgorithm.SHA256).nonce(nonce=False).build()
    assert encode_request(hashlib.sha256(b"x").digest(), nonce=None) == no_nonce.as_bytes()


@pytest.mark.slow
def test_request_encodes_large_nonces_as_positive_integers(tmp_path: Path) -> None:
    query = tmp_path / "q.tsq"
    query.write_bytes(encode_request(DIGEST, nonce=(1 << 63) + 5))
    shown = subprocess.run(["openssl", "ts", "-query", "-in", str(query), "-text"], capture_output=True, text=True,
                           timeout=30, check=True).stdout
    assert "Nonce: 0x8000000000000005" in shown
    assert "Certificate required: yes" in shown


def test_request_refuses_what_is_not_a_sha256_digest() -> None:
    with pytest.raises(UsageError, match="32 bytes"):
        encode_request(b"short", nonce=1)
    with pytest.raises(UsageError, match="positive"):
        encode_request(DIGEST, nonce=0)


# -- stamping against the local TSA ------------------------------------------------------------------------


@pytest.mark.slow
def test_stamp_returns_a_granted_token_for_the_digest(tsa: LocalTsa, token: TimestampToken) -> None:
    assert token.tsa_url == tsa.url
    assert token.digest_sha256 == DIGEST.hex()
    reply = decode_timestamp_response(base64.b64decode(token.token_der_b64))
    assert reply.tst_info.message_imprint.message == DIGEST
    assert reply.tst_info.policy.dotted_string == POLICY_OID
    assert token.at == reply.tst_info.gen_time
    assert token.at.utcoffset() is not None
    assert tsa.requests_served >= 1


@pytest.mark.slow
def test_token_verifies_with_rfc3161_client(tsa: LocalTsa, token: TimestampToken) -> None:
    assert verify_token(token, digest_sha256=DIGEST, certificate=tsa.certificate, ca_file=tsa.ca_file) == []
    assert verify_token(token, digest_sha256=DIGEST, certificate=None, ca_file=tsa.ca_file) == []


@pytest.mark.slow
def test_openssl_accepts_the_token_for_the_digest(tsa: LocalTsa, token: TimestampToken, tmp_path: Path) -> None:
    reply = tmp_path / "token.tsr"
    reply.write_bytes(base64.b64decode(token.token_der_b64))
    done = _openssl_verify(reply, DIGEST, tsa.ca_file, tsa.certificate)
    assert done.returncode == 0, done.stderr
    assert "Verification: OK" in done.stdout
    other = _openssl_verify(reply, hashlib.sha256(b"another").digest(), tsa.ca_file, tsa.certificate)
    assert other.returncode != 0


@pytest.mark.slow
def test_a_bare_token_verifies_too(tsa: LocalTsa, token: TimestampToken) -> None:
    bare = decode_token(token).time_stamp_token()
    assert verify_token(bare, digest_sha256=DIGEST, certificate=tsa.certificate, ca_file=tsa.ca_file) == []


@pytest.mark.slow
def test_token_for_another_digest_is_reported(tsa: LocalTsa, token: TimestampToken) -> None:
    wrong = hashlib.sha256(b"another bundle").digest()
    problems = verify_token(token, digest_sha256=wrong, certificate=tsa.certificate, ca_file=tsa.ca_file)
    assert len(problems) == 1
    assert f"stamps the digest {DIGEST.hex()}, not {wrong.hex()}" in problems[0]


@pytest.mark.slow
def test_a_record_that_lies_about_its_digest_is_reported(tsa: LocalTsa, token: TimestampToken) -> None:
    lying = token.model_copy(update={"digest_sha256": "ab" * 32})
    problems = verify_token(lying, digest_sha256=DIGEST, certificate=tsa.certificate, ca_file=tsa.ca_file)
    assert problems == [f"the token's record says it was taken for {'ab' * 32}, not {DIGEST.hex()}"]


@pytest.mark.slow
def test_wrong_tsa_certificate_or_ca_is_reported(tsa: LocalTsa, other_tsa: LocalTsa, token: TimestampToken) -> None:
    wrong_cert = verify_token(token, digest_sha256=DIGEST, certificate=other_tsa.certificate, ca_file=tsa.ca_file)
    assert len(wrong_cert) == 1
    assert "does not verify" in wrong_cert[0]
    assert "Embedded certificate does not match" in wrong_cert[0]
    wrong_ca = verify_token(token, digest_sha256=DIGEST, certificate=None, ca_file=other_tsa.ca_file)
    assert len(wrong_ca) == 1
    assert "unable to get local issuer certificate" in wrong_ca[0]


@pytest.mark.slow
def test_openssl_refuses_the_wrong_ca(tsa: LocalTsa, other_tsa: LocalTsa, token: TimestampToken,
                                      tmp_path: Path) -> None:
    reply = tmp_path / "token.tsr"
    reply.write_bytes(base64.b64decode(token.token_der_b64))
    assert _openssl_verify(reply, DIGEST, other_tsa.ca_file, tsa.certificate).returncode != 0


@pytest.mark.slow
def test_certificate_alone_is_not_a_trust_anchor_for_a_ca_issued_tsa(tsa: LocalTsa, token: TimestampToken) -> None:
    problems = verify_token(token, digest_sha256=DIGEST, certificate=tsa.certificate, ca_file=None)
    assert len(problems) == 1
    assert "give the CA file" in problems[0]


@pytest.mark.slow
def test_without_certificate_or_ca_the_signature_is_reported_unchecked(token: TimestampToken) -> None:
    assert verify_token(token, digest_sha256=DIGEST, certificate=None, ca_file=None) == [
        "the TSA's signature was not checked: no TSA certificate or CA file was given"
    ]


@pytest.mark.slow
def test_damaged_token_is_reported(tsa: LocalTsa, token: TimestampToken) -> None:
    data = bytearray(base64.b64decode(token.token_der_b64))
    data[-10] ^= 0x01  # inside the signature
    problems = verify_token(bytes(data), digest_sha256=DIGEST, certificate=tsa.certificate, ca_file=tsa.ca_file)
    assert problems
    assert any("signature" in p for p in problems)
    assert verify_token(b"not a token", digest_sha256=DIGEST, certificate=None, ca_file=tsa.ca_file)[0].startswith(
        "not an RFC 3161"
    )


@pytest.mark.slow
def test_unreadable_certificate_files_are_reported(token: TimestampToken, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    problems = verify_token(token, digest_sha256=DIGEST, certificate=None, ca_file=junk)
    assert problems
    assert "cannot be checked" in problems[0]
    missing = verify_token(token, digest_sha256=DIGEST, certificate=None, ca_file=tmp_path / "absent.pem")
    assert "cannot be checked" in missing[0]


@pytest.mark.slow
def test_every_stamp_has_its_own_serial_and_nonce(tsa: LocalTsa) -> None:
    with TsaClient(tsa.settings()) as client:
        first, second = client.stamp(DIGEST), client.stamp(DIGEST)
    a, b = decode_token(first).tst_info, decode_token(second).tst_info
    assert a.serial_number != b.serial_number
    assert a.nonce != b.nonce


@pytest.mark.slow
def test_concurrent_requests_are_served_one_by_one(tsa: LocalTsa) -> None:
    before = tsa.requests_served
    tokens: list[TimestampToken] = []
    errors: list[BaseException] = []

    def stamp() -> None:
        try:
            with TsaClient(tsa.settings()) as client:
                tokens.append(client.stamp(DIGEST))
        except BaseException as exc:  # collected and re-checked below
            errors.append(exc)

    threads = [threading.Thread(target=stamp) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    serials = {decode_token(t).tst_info.serial_number for t in tokens}
    assert len(serials) == 6
    assert tsa.requests_served == before + 6


@pytest.mark.slow
def test_local_tsa_refuses_what_is_not_a_query(tsa: LocalTsa) -> None:
    with httpx.Client() as client:
        assert client.get(tsa.url).status_code == 405
        assert client.post(tsa.url, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
        garbage = client.post(tsa.url, content=b"garbage", headers={"Content-Type": QUERY_MEDIA_TYPE})
    # openssl either answers a rejection or fails; never a granted stamp.
    if garbage.status_code == 200:
        assert decode_timestamp_response(garbage.content).status != 0
    else:
        assert garbage.status_code == 500


@pytest.mark.slow
def test_local_tsa_reuses_its_folder_and_reports_when_stopped(tmp_path: Path) -> None:
    tsa = LocalTsa(tmp_path / "tsa")
    with pytest.raises(UsageError, match="not running"):
        _ = tsa.url
    with tsa:
        ca = tsa.ca_file.read_bytes()
        with pytest.raises(UsageError, match="already running"):
            tsa.start()
    tsa.stop()
    with LocalTsa(tmp_path / "tsa") as again:
        assert again.ca_file.read_bytes() == ca
    cnf = (tmp_path / "tsa" / "tsa.cnf").read_text()
    assert "certs" not in cnf.replace("ess_cert_id", "")  # no extra certificates in the reply (DESIGN.md)
    assert (tmp_path / "tsa" / "tsa.key").stat().st_mode & 0o077 == 0


@pytest.mark.slow
def test_certificate_has_critical_time_stamping_usage(tsa: LocalTsa) -> None:
    shown = subprocess.run(["openssl", "x509", "-in", str(tsa.certificate), "-noout", "-ext", "extendedKeyUsage"],
                           capture_output=True, text=True, timeout=30, check=True).stdout
    assert "critical" in shown
    assert "Time Stamping" in shown


# -- what goes wrong ---------------------------------------------------------------------------------------


def test_client_needs_a_url() -> None:
    with pytest.raises(UsageError, match="no time-stamping authority URL"):
        TsaClient(TsaSettings())


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (lambda request: httpx.Response(500, text="broken"), "answered HTTP 500"),
        (lambda request: httpx.Response(200, content=b"<html>hello</html>"), "not an RFC 3161 response"),
        (lambda request: httpx.Response(200, content=b"\x30\x03\x02\x01\x02"), "not an RFC 3161 response"),
    ],
    ids=["http-500", "garbage", "truncated"],
)
def test_bad_answers_are_evidence_errors(handler: Callable[[httpx.Request], httpx.Response], message: str) -> None:
    settings = TsaSettings(url="https://tsa.example/")
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        TsaClient(settings, client=http) as client,
        pytest.raises(EvidenceError, match=message) as caught,
    ):
        client.stamp(DIGEST)
    assert caught.value.plugin == "tsa"
    assert caught.value.url == "https://tsa.example/"


@pytest.mark.slow
def test_a_reply_to_another_request_is_refused(tsa: LocalTsa) -> None:
    """A reply with the wrong nonce (here: a genuine reply to a different request) is a replay, never accepted."""
    replayed = tsa.reply(encode_request(DIGEST, nonce=12345))

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Content-Type"] == QUERY_MEDIA_TYPE
        return httpx.Response(200, content=replayed, headers={"Content-Type": "application/timestamp-reply"})

    settings = TsaSettings(url="https://tsa.example/")
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        TsaClient(settings, client=http) as client,
        pytest.raises(EvidenceError, match="nonce"),
    ):
        client.stamp(DIGEST)


@pytest.mark.slow
def test_a_rejection_is_an_evidence_error_with_the_tsa_reason(tsa: LocalTsa) -> None:
    rejection = tsa.reply(b"garbage")  # openssl answers a malformed query with status "rejection"
    settings = TsaSettings(url="https://tsa.example/")
    with (
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=rejection))) as http,
        TsaClient(settings, client=http) as client,
        pytest.raises(EvidenceError, match=r"refused the request \(REJECTION: Bad request format"),
    ):
        client.stamp(DIGEST)


@pytest.mark.slow
def test_a_stamp_of_another_digest_is_refused(tsa: LocalTsa) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # Stamp another digest, echoing the request's nonce: only the imprint check can catch it.
        query = bytearray(request.content)
        start = bytes(query).index(DIGEST)
        query[start:start + 32] = hashlib.sha256(b"something else").digest()
        return httpx.Response(200, content=tsa.reply(bytes(query)))

    settings = TsaSettings(url="https://tsa.example/")
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        TsaClient(settings, client=http) as client,
        pytest.raises(EvidenceError, match="stamps the digest"),
    ):
        client.stamp(DIGEST)


def test_unreachable_tsa_is_an_evidence_error() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as server:
        port = server.server_address[1]
    # The port was just released: nothing listens there.
    with (
        TsaClient(TsaSettings(url=f"http://127.0.0.1:{port}/", timeout_s=2)) as client,
        pytest.raises(EvidenceError, match="cannot reach") as caught,
    ):
        client.stamp(DIGEST)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("url", ["ftp://tsa.example/", "http://[::1"], ids=["scheme", "malformed"])
def test_an_unusable_url_is_an_evidence_error(url: str) -> None:
    with TsaClient(TsaSettings(url=url)) as client, pytest.raises(EvidenceError, match="cannot reach"):
        client.stamp(DIGEST)


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(1.0)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.mark.slow
def test_slow_tsa_times_out_as_an_evidence_error() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with TsaClient(TsaSettings(url=url, timeout_s=0.2)) as client:
            started = time.monotonic()
            with pytest.raises(EvidenceError, match=r"did not answer within 0\.2 s"):
                client.stamp(DIGEST)
            assert time.monotonic() - started < 1.0
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_client_passed_in_is_left_open() -> None:
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as http:
        TsaClient(TsaSettings(url="https://tsa.example/"), client=http).close()
        assert not http.is_closed
