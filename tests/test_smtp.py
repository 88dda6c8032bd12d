"""The SMTP transport against a real SMTP server (aiosmtpd) on 127.0.0.1: TLS, AUTH, retries, and what arrives."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from takedown.demo.run import DEMO_CASE_ID, demo_case, demo_settings, demo_workflow
from takedown.demo.site import DemoSite
from takedown.errors import ConfigError, DeliveryError, NotApprovedError, UsageError
from takedown.models import Artifact, Decision, Notice, NoticeState, OutgoingMessage, Recipient, utcnow
from takedown.report.base import Transport
from takedown.report.message import build_message, outgoing_message
from takedown.report.review import approve_notice, send_notice
from takedown.report.smtp import DeliveryStateUnknownError, SmtpTransport
from takedown.settings import SmtpSettings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import TransportContract

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"
SENDER = "takedown@agency.example"
USER, PASSWORD = "officer", "correct horse battery staple"


# -- a real SMTP server on loopback ---------------------------------------------------------------------------------


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any
    tls: bool
    authenticated: bool

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Recorder:
    """An aiosmtpd handler that keeps what it accepts; ``replies`` are answered to the end of data first, in order."""

    def __init__(self, replies: list[str] | None = None, *, rcpt_reply: str | None = None) -> None:
        self.replies = list(replies or [])
        self.rcpt_reply = rcpt_reply
        self.received: list[Received] = []
        self.transactions = 0
        self.mechanisms: list[str] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.transactions += 1
        if self.replies:
            return self.replies.pop(0)
        assert isinstance(envelope.content, bytes) and envelope.mail_from is not None
        self.received.append(Received(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                                      content=envelope.content, peer=session.peer, tls=session.ssl is not None,
                                      authenticated=bool(session.authenticated)))
        return "250 2.0.0 OK queued"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(), PASSWORD.encode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


class LoopbackController(Controller):
    """aiosmtpd's Controller bound to port 0: it pokes its own port to start, so learn the one the OS chose."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@contextmanager
def smtp_server(handler: Recorder, *, port: int = 0, **kwargs: Any) -> Iterator[LoopbackController]:
    """A running SMTP server on 127.0.0.1 (stopped afterwards, whatever happens)."""
    controller = LoopbackController(handler, hostname=HOST, port=port, server_hostname="smtp.test", **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (certificate, key), made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """A client context that trusts only the test certificate (host name checked, as in production)."""
    return ssl.create_default_context(cafile=str(certificate[0]))


def _settings(port: int, security: str = "none", **changes: Any) -> SmtpSettings:
    return SmtpSettings.model_validate({"host": HOST, "port": port, "security": security, "sender": SENDER,
                                        "timeout_s": 5, **changes})


def _notice(**changes: Any) -> Notice:
    data: dict[str, Any] = {
        "case_id": "case-1", "finding_id": "fnd-1", "jurisdiction": "KR", "locale": "ko",
        "recipient": Recipient(address="abuse@mock.example", name="사이트 운영자"),
        "subject": "불법촬영물 삭제 요청: 게시물 https://mock.example/post/1",
        "body_text": "다음 게시물의 삭제를 요청합니다.\n.\nhttps://mock.example/post/1\n",
    }
    data.update(changes)
    notice = Notice.model_validate(data)
    return notice.advance(NoticeState.APPROVED, by="Officer Kim", approved_by="Officer Kim", approved_at=utcnow())


def _outgoing(notice: Notice | None = None, *, sender_name: str = "디지털성범죄 피해자지원센터",
              message_id: str = "<ntc-1.abc@agency.example>",
              attachments: list[tuple[Artifact, Path]] | None = None) -> OutgoingMessage:
    notice = notice or _notice()
    email = build_message(notice, sender=SENDER, sender_name=sender_name, message_id=message_id,
                          attachments=attachments or ())
    return outgoing_message(notice, email)


def _decoded(raw: bytes, name: str) -> str:
    """A header as a mail client decodes it (RFC 2047; see tests/test_message.py on the stdlib's phrase parser)."""
    parsed = message_from_bytes(raw)  # compat32: the raw, folded value
    value = parsed[name]
    assert isinstance(value, str)
    return str(make_header(decode_header(value)))


# -- sending -------------------------------------------------------------------------------------------------------


def test_plain_delivery_arrives_intact() -> None:
    recorder = Recorder()
    with smtp_server(recorder) as server, SmtpTransport(_settings(server.port), retries=0) as transport:
        outgoing = _outgoing()
        delivery = transport.send(outgoing)
    assert delivery.transport == "smtp" and delivery.message_id == outgoing.message_id
    assert delivery.approved_by == "Officer Kim" and delivery.notice_id == outgoing.notice_id
    assert "250" in delivery.detail and transport.attempts == 1
    (received,) = recorder.received
    assert received.mail_from == SENDER and received.rcpt_tos == ["abuse@mock.example"]
    assert received.content == outgoing.raw, "the bytes arrive exactly as built (dot-stuffing undone)"
    assert not received.tls and not received.authenticated
    message = received.message
    assert message["Message-ID"] == outgoing.message_id
    assert message["Subject"] == "불법촬영물 삭제 요청: 게시물 https://mock.example/post/1"
    assert _decoded(received.content, "From") == f"디지털성범죄 피해자지원센터 <{SENDER}>"
    assert _decoded(received.content, "To") == "사이트 운영자 <abuse@mock.example>"
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "다음 게시물의 삭제를 요청합니다.\n.\nhttps://mock.example/post/1\n"


@pytest.mark.parametrize(
    ("locale", "subject", "sender_name", "recipient_name"),
    [
        ("ko", "불법촬영물 삭제 요청: " + " ".join(["게시물 제목"] * 10), "디지털성범죄 피해자지원센터",
         "사이트 운영자 김철수"),
        ("ja", "削除依頼：私事性的画像記録の提供等による被害の防止に関する法律第4条に基づく申出", "被害者支援センター",
         "サイト運営者 山田太郎"),
        ("ru", "Запрос на удаление интимных изображений, размещённых без согласия", "Центр поддержки пострадавших",
         "Администратор сайта Иван Петров"),
    ],
)
def test_non_ascii_headers_survive_the_trip(locale: str, subject: str, sender_name: str, recipient_name: str) -> None:
    recorder = Recorder()
    notice = _notice(locale=locale, subject=subject, recipient=Recipient(address="abuse@mock.example",
                                                                        name=recipient_name))
    with smtp_server(recorder) as server, SmtpTransport(_settings(server.port), retries=0) as transport:
        transport.send(_outgoing(notice, sender_name=sender_name))
    (received,) = recorder.received
    assert received.message["Subject"] == subject
    assert _decoded(received.content, "Subject") == subject
    assert _decoded(received.content, "From") == f"{sender_name} <{SENDER}>"
    assert _decoded(received.content, "To") == f"{recipient_name} <abuse@mock.example>"


def test_reminders_and_attachments_arrive(tmp_path: Path) -> None:
    files = []
    for name, data, media_type, role in [
        ("report.pdf", b"%PDF-1.7 synthetic\n%%EOF\n", "application/pdf", "report"),
        ("report.hwpx", b"PK\x03\x04 synthetic hwpx", "application/hwp+zip", "report"),
        ("recipient.json", b'{"evidence_bundle": "bnd-1"}\n', "application/json", "recipient_manifest"),
    ]:
        (tmp_path / name).write_bytes(data)
        files.append((Artifact(path=f"bnd-1/{name}", sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                               media_type=media_type, role=role), tmp_path / name))
    first, second = "<ntc-1.aaa@agency.example>", "<ntc-1.bbb@agency.example>"
    notice = _notice(kind="reminder", attempt=3, in_reply_to=second, references=(first, second),
                     attachments=tuple(a for a, _ in files), body_html="<p>삭제 요청</p>")
    recorder = Recorder()
    with smtp_server(recorder) as server, SmtpTransport(_settings(server.port), retries=0) as transport:
        transport.send(_outgoing(notice, attachments=files, message_id="<ntc-1.ccc@agency.example>"))
    message = recorder.received[0].message
    assert message["In-Reply-To"] == second
    assert message["References"].split() == [first, second]
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    attached = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert set(attached) == {"report.pdf", "report.hwpx", "recipient.json"}
    for artifact, _ in files:
        data = attached[Path(artifact.path).name]
        assert isinstance(data, bytes) and hashlib.sha256(data).hexdigest() == artifact.sha256


def test_one_connection_serves_many_sends_and_is_reopened_when_dropped() -> None:
    recorder = Recorder()
    with smtp_server(recorder) as server:
        port = server.port
        transport = SmtpTransport(_settings(port), retries=0)
        transport.send(_outgoing(message_id="<m1@agency.example>"))
        transport.send(_outgoing(message_id="<m2@agency.example>"))
    try:
        assert recorder.received[0].peer == recorder.received[1].peer, "the connection was kept open"
        with smtp_server(recorder, port=port):  # the old server is gone and the connection with it
            transport.send(_outgoing(message_id="<m3@agency.example>"))
        assert transport.attempts == 1, "a dropped idle connection is reopened, not retried"
        assert recorder.received[2].peer != recorder.received[1].peer
        assert [r.message["Message-ID"] for r in recorder.received] == [
            "<m1@agency.example>", "<m2@agency.example>", "<m3@agency.example>"]
    finally:
        transport.close()
    with pytest.raises(DeliveryError, match="closed"):
        transport.send(_outgoing())


# -- TLS and AUTH ----------------------------------------------------------------------------------------------------


def test_starttls(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    recorder = Recorder()
    with smtp_server(recorder, tls_context=server_tls, require_starttls=True) as server, \
            SmtpTransport(_settings(server.port, "starttls"), retries=0, ssl_context=client_tls) as transport:
        transport.send(_outgoing())
    (received,) = recorder.received
    assert received.tls


def test_starttls_is_required_not_hoped_for() -> None:
    recorder = Recorder()
    delays: list[float] = []
    with smtp_server(recorder) as server, \
            SmtpTransport(_settings(server.port, "starttls"), sleep=delays.append) as transport, \
            pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        transport.send(_outgoing())
    assert recorder.transactions == 0 and delays == [] and transport.attempts == 1


def test_implicit_tls(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    recorder = Recorder()
    with smtp_server(recorder, ssl_context=server_tls) as server, \
            SmtpTransport(_settings(server.port, "ssl"), retries=0, ssl_context=client_tls) as transport:
        transport.send(_outgoing())
    assert len(recorder.received) == 1


def test_an_untrusted_certificate_is_refused_at_once(server_tls: ssl.SSLContext) -> None:
    recorder = Recorder()
    delays: list[float] = []
    with smtp_server(recorder, ssl_context=server_tls) as server, \
            SmtpTransport(_settings(server.port, "ssl"), sleep=delays.append) as transport, \
            pytest.raises(DeliveryError) as caught:
        transport.send(_outgoing())  # the default context trusts the system CAs only
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    assert delays == [] and recorder.transactions == 0


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_auth_over_starttls(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext, mechanism: str) -> None:
    recorder = Recorder()
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    with smtp_server(recorder, tls_context=server_tls, authenticator=recorder.authenticate, auth_required=True,
                     auth_require_tls=True, auth_exclude_mechanism=[other]) as server, \
            SmtpTransport(_settings(server.port, "starttls", username=USER, password=SecretStr(PASSWORD)),
                          retries=0, ssl_context=client_tls) as transport:
        transport.send(_outgoing())
    (received,) = recorder.received
    assert received.tls and received.authenticated
    assert recorder.mechanisms == [mechanism]


def test_a_wrong_password_is_not_retried(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    recorder = Recorder()
    delays: list[float] = []
    settings = _settings(25, "starttls", username=USER, password=SecretStr("wrong"))
    with smtp_server(recorder, tls_context=server_tls, authenticator=recorder.authenticate, auth_required=True,
                     auth_require_tls=True) as server, \
            SmtpTransport(settings.model_copy(update={"port": server.port}), retries=3, sleep=delays.append,
                          ssl_context=client_tls) as transport, \
            pytest.raises(DeliveryError, match="535") as caught:
        transport.send(_outgoing())
    assert caught.value.plugin == "smtp" and caught.value.__cause__ is not None
    assert "wrong" not in str(caught.value), "the password never appears in an error"
    assert recorder.mechanisms == ["PLAIN", "LOGIN"], "one login (smtplib tries each offered mechanism), no retry"
    assert delays == [] and recorder.transactions == 0


def test_credentials_never_cross_the_network_in_plaintext() -> None:
    remote = SmtpSettings(host="smtp.agency.example", port=25, security="none", username=USER,
                          password=SecretStr(PASSWORD))
    with pytest.raises(ConfigError, match="plaintext"):
        SmtpTransport(remote)
    SmtpTransport(remote.model_copy(update={"host": "127.0.0.1"})).close()
    with pytest.raises(UsageError):
        SmtpTransport(SmtpSettings(), retries=-1)


# -- retries ---------------------------------------------------------------------------------------------------------


def test_4xx_is_retried_with_backoff_and_sent_once() -> None:
    recorder = Recorder(["451 4.3.0 Try again later", "451 4.3.0 Try again later"])
    delays: list[float] = []
    with smtp_server(recorder) as server, \
            SmtpTransport(_settings(server.port), retries=3, backoff_s=2.0, sleep=delays.append) as transport:
        delivery = transport.send(_outgoing())
    assert len(recorder.received) == 1 and recorder.transactions == 3
    assert transport.attempts == 3 and "after 3 attempt(s)" in delivery.detail
    assert len(delays) == 2, "two retries"
    assert 1.0 <= delays[0] <= 3.0 and 2.0 <= delays[1] <= 6.0, "exponential backoff (2 s, 4 s) with jitter"


@pytest.mark.parametrize(
    ("recorder", "code"),
    [(Recorder(["550 5.7.1 Message refused"] * 3), "550 5.7.1 Message refused"),
     (Recorder(rcpt_reply="550 5.1.1 No such mailbox"), "550 5.1.1 No such mailbox")],
    ids=["data", "rcpt"],
)
def test_5xx_is_raised_at_once_with_the_servers_words(recorder: Recorder, code: str) -> None:
    delays: list[float] = []
    with smtp_server(recorder) as server, \
            SmtpTransport(_settings(server.port), retries=3, sleep=delays.append) as transport, \
            pytest.raises(DeliveryError, match=code) as caught:
        transport.send(_outgoing())
    assert not isinstance(caught.value, DeliveryStateUnknownError)
    assert delays == [] and transport.attempts == 1 and recorder.received == []


def test_4xx_that_outlasts_the_retries() -> None:
    recorder = Recorder(["421 4.7.0 Busy"] * 10)
    delays: list[float] = []
    with smtp_server(recorder) as server, \
            SmtpTransport(_settings(server.port), retries=2, sleep=delays.append) as transport, \
            pytest.raises(DeliveryError, match=r"after 3 attempt\(s\).*421"):
        transport.send(_outgoing())
    assert recorder.transactions == 3 and len(delays) == 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def test_server_down_fails_after_the_retries() -> None:
    delays: list[float] = []
    with SmtpTransport(_settings(_closed_port()), retries=2, sleep=delays.append) as transport, \
            pytest.raises(DeliveryError, match=r"after 3 attempt\(s\)") as caught:
        transport.send(_outgoing())
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert caught.value.plugin == "smtp" and len(delays) == 2


class _SwallowingHandler(socketserver.StreamRequestHandler):
    """Speaks SMTP up to the end of the message data, then hangs up without answering it."""

    def handle(self) -> None:
        self.wfile.write(b"220 smtp.test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-smtp.test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                self.server.swallowed += 1  # type: ignore[attr-defined]
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def test_a_failure_after_the_data_is_not_retried() -> None:
    delays: list[float] = []
    with socketserver.ThreadingTCPServer((HOST, 0), _SwallowingHandler) as server:
        server.daemon_threads = True
        server.swallowed = 0  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with SmtpTransport(_settings(server.server_address[1]), retries=3, sleep=delays.append) as transport, \
                    pytest.raises(DeliveryStateUnknownError, match="delivery state unknown") as caught:
                transport.send(_outgoing())
        finally:
            server.shutdown()
            thread.join()
    assert caught.value.unknown is True and isinstance(caught.value, DeliveryError)
    assert delays == [] and server.swallowed == 1  # type: ignore[attr-defined]


# -- header injection, end to end -------------------------------------------------------------------------------------


def test_injection_attempts_never_reach_the_wire() -> None:
    hostile = "Post\r\nBcc: victim@example.com\r\n=?utf-8?q?=0D=0ABcc:_victim@example.com?="
    notice = _notice(subject=f"삭제 요청: {hostile}",
                     recipient=Recipient(address="abuse@mock.example", name=hostile))
    recorder = Recorder()
    with smtp_server(recorder) as server, SmtpTransport(_settings(server.port), retries=0) as transport:
        transport.send(_outgoing(notice, sender_name=hostile))
    (received,) = recorder.received
    assert received.rcpt_tos == ["abuse@mock.example"]
    message = received.message
    assert message["Bcc"] is None and message["Cc"] is None
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert [a.addr_spec for a in message["To"].addresses] == ["abuse@mock.example"]
    with pytest.raises(DeliveryError, match="recipient"):
        _outgoing(_notice(recipient=Recipient(address="abuse@mock.example\r\nBcc: victim@example.com")))
    bad = _outgoing().model_copy(update={"recipients": ("abuse@mock.example>\r\nRCPT TO:<victim@example.com",)})
    with SmtpTransport(_settings(1), retries=0) as transport, pytest.raises(DeliveryError, match="envelope"):
        transport.send(bad)


# -- the contract every transport passes ----------------------------------------------------------------------------


class TestSmtpTransport(TransportContract):
    """``takedown.testing.TransportContract`` against an aiosmtpd server started for each test."""

    recorder: Recorder
    port: int

    @pytest.fixture(autouse=True)
    def _server(self) -> Iterator[None]:
        self.recorder = Recorder()
        with smtp_server(self.recorder) as server:
            self.port = server.port
            yield

    def make_transport(self) -> Transport:
        return SmtpTransport(_settings(self.port), retries=0)

    def delivered(self, transport: Transport) -> list[str] | None:
        return [str(r.message["Message-ID"]) for r in self.recorder.received]


# -- the demo flow, end to end -------------------------------------------------------------------------------------


def test_the_demo_drafts_then_an_approved_notice_reaches_the_smtp_server(tmp_path: Path, demo_site: DemoSite) -> None:
    settings = demo_settings(tmp_path)
    with SQLiteCaseStore(tmp_path / "takedown.sqlite") as store:
        store.put_case(demo_case(demo_site))
        demo_workflow(store, demo_site, settings).run_sync(DEMO_CASE_ID)
        notices = store.list_notices(DEMO_CASE_ID)
        (notice,) = [n for n in notices if n.recipient.channel == "email" and n.locale == "ko"]
        matches = store.list_findings(DEMO_CASE_ID, decision=Decision.MATCH)
        recorder = Recorder()
        with smtp_server(recorder) as server, SmtpTransport(_settings(server.port), retries=0) as transport:
            with pytest.raises(NotApprovedError):
                send_notice(store, notice.id, transport=transport, sender=SENDER)
            approve_notice(store, notice.id, by="Officer Demo")
            delivery = send_notice(store, notice.id, transport=transport, sender=SENDER,
                                   sender_name=settings.agency.name, evidence_root=settings.storage.evidence_root)
        (received,) = recorder.received
    assert received.rcpt_tos == [notice.recipient.address] == ["abuse@demo-sns.example"]
    message = received.message
    assert message["Message-ID"] == delivery.message_id
    assert message["Subject"] == notice.subject and "삭제" in notice.subject
    assert sorted(notice.finding_ids) == sorted(f.id for f in matches) and len(matches) > 1, "one request, every match"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    body = plain.get_content()
    assert all(f.candidate.url in body for f in matches), "every listed page is named in the one message"
    attached = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    manifests = {f"{item.bundle_id}-recipient.json": item.url for item in notice.items}
    assert set(attached) == {*manifests, "notice.json"} and len(manifests) == len(matches), \
        "each listed page's sealed recipient copy travels with the notice, never the agency's manifest"
    document = json.loads(attached.pop("notice.json"))
    assert document["message_id"] == delivery.message_id and len(document["locations"]) == len(matches)
    assert all(json.loads(attached[name])["url"] == url for name, url in manifests.items())
    # Nothing internal reaches the site operator: no reference labels, keywords, detections or internal ids.
    case = demo_case(demo_site)
    for data in attached.values():
        text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
        labels = {r.reference for r in case.references if not re.fullmatch(r"[0-9a-f]{64}", r.reference)}
        assert labels, "the demo's references have names (the stems of its reference files)"
        for secret in [*labels, *case.keywords, DEMO_CASE_ID, "detections", *(f.id for f in matches)]:
            assert secret not in text, secret
