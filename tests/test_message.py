"""The email of a notice: structure, encodings, threading, sealed attachments, and header injection."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.errors import DeliveryError, NotApprovedError, UsageError
from takedown.models import Artifact, Notice, NoticeState, Recipient, utcnow
from takedown.report.message import (
    SIZE_FOOTER,
    attachment_files,
    build_message,
    check_address,
    check_message_id,
    message_bytes,
    outgoing_message,
    sanitize_header,
)

SENDER = "takedown@agency.example"
MESSAGE_ID = "<ntc-1.abc@agency.example>"
NOW = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
INJECTED = ["Bcc", "Cc", "X-Injected"]


def _notice(**changes: object) -> Notice:
    data: dict[str, object] = {
        "case_id": "case-1", "finding_id": "fnd-1", "recipient": Recipient(address="abuse@mock.example"),
        "jurisdiction": "KR", "locale": "en", "subject": "Removal request: A post",
        "body_text": "Please remove https://mock.example/post/1\n", "created_at": NOW,
    }
    data.update(changes)
    return Notice.model_validate(data)


def _approved(notice: Notice) -> Notice:
    return notice.advance(NoticeState.APPROVED, by="Officer Kim", approved_by="Officer Kim", approved_at=utcnow())


def _parse(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message_bytes(message), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _text(part: object) -> str:
    """A text part's content with MIME's canonical CRLF line breaks read as newlines."""
    assert isinstance(part, EmailMessage)
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def _raw_header(raw: bytes, name: str) -> str:
    """A header's value as written (unfolded), for decoding with the legacy RFC 2047 decoder."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    match = re.search(rf"^{name}: ?(.*?)\r\n(?![ \t])", head + "\r\n", re.M | re.S)
    assert match, f"no {name} header"
    return re.sub(r"\r\n[ \t]", " ", match.group(1)).strip()


def _decoded(raw: bytes, name: str) -> str:
    """A header as an RFC 2047 decoder shows it: white space between adjacent encoded words dropped (6.2)."""
    value = _raw_header(raw, name)
    return str(make_header(decode_header(value))) if "=?" in value else value


def _mailbox(raw: bytes, name: str) -> tuple[str, str]:
    """(display name, address) of a one-address header, as a mail client decodes it.

    The stdlib's address parser puts a space between adjacent encoded words of a display name, which RFC 2047 6.2
    says to drop, so encoded names are read with the RFC 2047 decoder instead.
    """
    value = _raw_header(raw, name)
    if value.startswith("=?"):
        phrase, _, angle = value.rpartition(" <")
        return str(make_header(decode_header(phrase))), angle.removesuffix(">")
    parsed = message_from_bytes(raw, policy=default)[name]
    assert len(parsed.addresses) == 1
    return parsed.addresses[0].display_name, parsed.addresses[0].addr_spec


def _artifact(folder: Path, name: str, data: bytes, *, media_type: str, role: str) -> tuple[Artifact, Path]:
    path = folder / name
    path.write_bytes(data)
    artifact = Artifact(path=f"bnd-1/{name}", sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                        media_type=media_type, role=role)
    return artifact, path


# -- structure ---------------------------------------------------------------------------------------------------


def test_plain_text_message_has_every_header() -> None:
    message = build_message(_notice(), sender=SENDER, message_id=MESSAGE_ID, now=NOW)
    raw = message_bytes(message)
    parsed = _parse(message)
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed["From"] == SENDER and parsed["To"] == "abuse@mock.example"
    assert parsed["Subject"] == "Removal request: A post"
    assert parsed["Message-ID"] == MESSAGE_ID
    assert parsed["Date"].datetime == NOW
    assert parsed["In-Reply-To"] is None and parsed["References"] is None
    assert parsed["Auto-Submitted"] is None, "a human approved it: it is not auto-generated"
    assert _text(parsed) == "Please remove https://mock.example/post/1\n"
    assert raw.isascii(), "7-bit clean: no 8BITMIME or SMTPUTF8 needed"
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line endings only"


def test_html_alternative_when_the_notice_has_one() -> None:
    notice = _notice(body_text="삭제를 요청합니다.\n", body_html="<html><body><p>삭제를 요청합니다.</p></body></html>",
                     locale="ko")
    parsed = _parse(build_message(notice, sender=SENDER, message_id=MESSAGE_ID))
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(("plain",))
    rich = parsed.get_body(("html",))
    assert plain is not None and rich is not None
    assert _text(plain) == "삭제를 요청합니다.\n"
    assert "<p>삭제를 요청합니다.</p>" in rich.get_content()
    assert rich.get_content_charset() == "utf-8"


def test_date_defaults_to_now_and_must_be_aware() -> None:
    parsed = _parse(build_message(_notice(), sender=SENDER, message_id=MESSAGE_ID))
    assert abs(parsed["Date"].datetime - datetime.now(UTC)) < timedelta(minutes=1)
    seoul = datetime(2026, 5, 20, 18, 30, tzinfo=timezone(timedelta(hours=9)))
    assert _parse(build_message(_notice(), sender=SENDER, message_id=MESSAGE_ID, now=seoul))["Date"].datetime == NOW
    with pytest.raises(UsageError, match="timezone-aware"):
        build_message(_notice(), sender=SENDER, message_id=MESSAGE_ID, now=datetime(2026, 5, 20))


@pytest.mark.parametrize(
    ("sender_name", "recipient_name"),
    [
        ("디지털성범죄 피해자지원센터", "사이트 운영자"),
        ("デジタル性犯罪被害者支援センター", "サイト運営者 山田太郎"),
        ("Центр поддержки пострадавших", "Администратор, сайт \"Пример\""),
        ("Support Centre (Seoul)", 'Kim, "Admin"'),
    ],
)
def test_display_names_in_any_script(sender_name: str, recipient_name: str) -> None:
    notice = _notice(recipient=Recipient(address="abuse@mock.example", name=recipient_name))
    message = build_message(notice, sender=SENDER, sender_name=sender_name, message_id=MESSAGE_ID)
    raw = message_bytes(message)
    assert _mailbox(raw, "From") == (sender_name, SENDER)
    assert _mailbox(raw, "To") == (recipient_name, "abuse@mock.example")
    parsed = _parse(message)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["abuse@mock.example"]
    assert [a.addr_spec for a in parsed["From"].addresses] == [SENDER]
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))


def test_long_display_names_fold_and_decode() -> None:
    name = "한국어 이름이 아주 길어서 여러 줄로 접혀야 하는 사이트 운영자 " * 3
    notice = _notice(recipient=Recipient(address="abuse@mock.example", name=name))
    raw = message_bytes(build_message(notice, sender=SENDER, sender_name=name, message_id=MESSAGE_ID))
    assert _mailbox(raw, "From") == (name.strip(), SENDER)
    assert _mailbox(raw, "To") == (name.strip(), "abuse@mock.example")
    assert all(len(line) <= 76 for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))


@pytest.mark.parametrize(
    "subject",
    [
        "불법촬영물 삭제 요청: " + "게시물 제목이 매우 긴 경우 " * 12,
        "削除依頼：" + "私事性的画像記録の提供等による被害の防止に関する法律に基づく削除の申出" * 3,
        "Запрос на удаление: " + "интимные изображения без согласия " * 6,
        "Removal request: " + "a fairly long English page title " * 8,
    ],
)
def test_long_non_ascii_subjects_fold_and_round_trip(subject: str) -> None:
    raw = message_bytes(build_message(_notice(subject=subject), sender=SENDER, message_id=MESSAGE_ID))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), "folded to 78 columns"
    assert message_from_bytes(raw, policy=default)["Subject"] == sanitize_header(subject)
    assert _decoded(raw, "Subject") == sanitize_header(subject)


def test_reminders_thread_with_in_reply_to_and_references() -> None:
    first, second = "<ntc-1.aaa@agency.example>", "<ntc-1.bbb@agency.example>"
    long_id = "<ntc-" + "0123456789abcdef" * 5 + ".ccc@agency.example>"
    notice = _notice(kind="reminder", attempt=3, in_reply_to=second, references=(long_id, first, second))
    raw = message_bytes(build_message(notice, sender=SENDER, message_id=MESSAGE_ID))
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["In-Reply-To"] == second
    assert parsed["References"].split() == [long_id, first, second]
    assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0], "message ids are never encoded words"


def test_in_reply_to_is_added_to_references() -> None:
    notice = _notice(in_reply_to="<ntc-1.aaa@agency.example>")
    parsed = _parse(build_message(notice, sender=SENDER, message_id=MESSAGE_ID))
    assert parsed["References"] == "<ntc-1.aaa@agency.example>"


@pytest.mark.parametrize("bad", ["ntc-1@agency.example", "<a@b> <c@d>", "<a@b>\r\nBcc: x@y", "<a b@c>", "<a@b@c>",
                                 "<=?utf-8?q?x?=@agency.example>", "<한@agency.example>", ""])
def test_message_ids_are_checked(bad: str) -> None:
    with pytest.raises(DeliveryError):
        check_message_id(bad)
    with pytest.raises(DeliveryError):
        build_message(_notice(), sender=SENDER, message_id=bad)
    with pytest.raises(DeliveryError):
        build_message(_notice(in_reply_to=bad), sender=SENDER, message_id=MESSAGE_ID)
    with pytest.raises(DeliveryError):
        build_message(_notice(references=(bad,)), sender=SENDER, message_id=MESSAGE_ID)


# -- addresses and header injection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "abuse@mock.example\r\nBcc: victim@example.com",
        "abuse@mock.example\nBcc: victim@example.com",
        "abuse@mock.example\r",
        "abuse @mock.example",
        " abuse@mock.example",
        "abuse@mock.example,victim@example.com",
        "abuse@mock.example, victim@example.com",
        "abuse@mock@example",
        "a@b@c.example",
        "Site Operator <abuse@mock.example>",
        "<abuse@mock.example>",
        "abuse",
        "@mock.example",
        "abuse@",
        '"a b"@mock.example',
        "abuse(comment)@mock.example",
        "abuse@mock.example;victim@example.com",
        "abuse@[127.0.0.1]",
        "abuse@-mock.example",
        "abuse@mock..example",
        "운영자@mock.example",
        "abuse\x00@mock.example",
        "abuse@mock.example\u2028",
        "",
    ],
)
def test_bad_recipient_addresses_raise(bad: str) -> None:
    with pytest.raises(DeliveryError):
        check_address(bad)
    notice = _notice(recipient=Recipient(address=bad))
    with pytest.raises(DeliveryError, match="recipient"):
        build_message(notice, sender=SENDER, message_id=MESSAGE_ID)


@pytest.mark.parametrize("bad", ["takedown@agency.example\r\nBcc: x@y.example", "a b@agency.example", "a@b@c"])
def test_bad_sender_addresses_raise(bad: str) -> None:
    with pytest.raises(DeliveryError, match="sender"):
        build_message(_notice(), sender=bad, message_id=MESSAGE_ID)


def test_internationalised_domains_become_punycode() -> None:
    assert check_address("abuse@한국.kr") == "abuse@xn--3e0b707e.kr"
    assert check_address("info@пример.рф") == "info@xn--e1afmkfd.xn--p1ai"
    notice = _notice(recipient=Recipient(address="abuse@例え.jp", name="運営者"))
    parsed = _parse(build_message(notice, sender=SENDER, message_id=MESSAGE_ID))
    assert parsed["To"].addresses[0].addr_spec == "abuse@xn--r8jz45g.jp"
    assert parsed["To"].addresses[0].display_name == "運営者"


def _header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if line and line[0] not in " \t"]


HOSTILE = [
    "Post\r\nBcc: victim@example.com",
    "Post\nBcc: victim@example.com\n\nfake body",
    "Post\rX-Injected: yes",
    "=?utf-8?q?Post=0D=0ABcc:_victim@example.com?=",  # CVE-2024-6923: a decoded CR/LF written out raw
    "=?utf-8?b?UG9zdA0KQmNjOiB2aWN0aW1AZXhhbXBsZS5jb20=?=",
    "Post\u2028Bcc: victim@example.com",
    "Post\x85Bcc: victim@example.com",
    "Post\x0bBcc: victim@example.com\x0cX-Injected: 1",
    "Post\x00\x1b[31m",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_injection_through_subject_and_names_is_neutralised(hostile: str) -> None:
    notice = _notice(subject=f"Removal request: {hostile}",
                     recipient=Recipient(address="abuse@mock.example", name=hostile))
    message = build_message(notice, sender=SENDER, sender_name=hostile, message_id=MESSAGE_ID)
    raw = message_bytes(message)
    assert _header_names(raw) == ["From", "To", "Subject", "Date", "Message-ID", "Content-Type",
                                  "Content-Transfer-Encoding", "MIME-Version"]
    parsed = message_from_bytes(raw, policy=default)
    assert all(parsed[name] is None for name in INJECTED)
    assert parsed["Subject"] == f"Removal request: {sanitize_header(hostile)}"
    assert parsed["To"].addresses[0].addr_spec == "abuse@mock.example" and len(parsed["To"].addresses) == 1
    assert parsed["From"].addresses[0].addr_spec == SENDER and len(parsed["From"].addresses) == 1
    for value in (parsed["Subject"], parsed["To"].addresses[0].display_name, parsed["From"].addresses[0].display_name):
        assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def test_sanitize_header_examples() -> None:
    assert sanitize_header("  A\r\n\tpost  title ") == "A post title"
    assert sanitize_header("evil\u202egnp.exe") == "evilgnp.exe", "bidi override removed"
    assert sanitize_header("zero\u200bwidth\ufeff") == "zerowidth"
    assert sanitize_header("=?utf-8?q?x?=") == "= ?utf-8?q?x?="
    assert sanitize_header("불법촬영물\u3000삭제") == "불법촬영물 삭제"
    assert sanitize_header("\r\n") == ""


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_sanitize_header_leaves_nothing_a_parser_could_act_on(value: str) -> None:
    clean = sanitize_header(value)
    assert sanitize_header(clean) == clean
    assert "=?" not in clean and clean == clean.strip() and "  " not in clean
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in clean)
    assert len(clean.splitlines()) <= 1


_SPECIALS = [*' !"#$%&()*+,.:;<>=?@[\\]^_`{|}~\r\nAz09', "한", "国", "Ж", "é", "\u202e", "\x00"]
_HEADER_TEXT = st.text(max_size=300) | st.text(alphabet=st.sampled_from(_SPECIALS), max_size=300)
"""Any text, and text dense in the characters that matter to headers (specials, CR/LF, non-ASCII, controls)."""


@settings(max_examples=200, deadline=None)
@given(subject=_HEADER_TEXT, name=_HEADER_TEXT)
def test_any_subject_and_name_give_one_safe_header_each(subject: str, name: str) -> None:
    notice = _notice(subject=subject, recipient=Recipient(address="abuse@mock.example", name=name))
    raw = message_bytes(build_message(notice, sender=SENDER, sender_name=name, message_id=MESSAGE_ID))
    names = _header_names(raw)
    assert sorted(names) == sorted(["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                                    "Content-Transfer-Encoding"])
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["Subject"] == sanitize_header(subject)
    assert _decoded(raw, "Subject") == sanitize_header(subject)
    assert _mailbox(raw, "To") == (sanitize_header(name), "abuse@mock.example")
    assert _mailbox(raw, "From") == (sanitize_header(name), SENDER)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_message_bytes_refuses_a_header_that_would_break_the_block() -> None:
    message = EmailMessage()
    message["Subject"] = "=?utf-8?q?a=0D=0ABcc:_victim@example.com?="  # set directly, bypassing build_message
    message.set_content("x")
    with pytest.raises(DeliveryError):
        message_bytes(message)


# -- attachments ---------------------------------------------------------------------------------------------------


@pytest.fixture
def evidence(tmp_path: Path) -> dict[str, tuple[Artifact, Path]]:
    folder = tmp_path / "bnd-1"
    folder.mkdir()
    return {
        "pdf": _artifact(folder, "report.pdf", b"%PDF-1.7 synthetic report\n%%EOF\n", media_type="application/pdf",
                         role="report"),
        "hwpx": _artifact(folder, "보고서.hwpx", b"PK\x03\x04 synthetic hwpx, somewhat larger",
                          media_type="application/hwp+zip", role="report"),
        "hwp": _artifact(folder, "report.hwp", b"\xd0\xcf\x11\xe0 synthetic hwp", media_type="application/x-hwp",
                         role="report"),
        "manifest": _artifact(folder, "manifest.json", b'{"bundle": "bnd-1", "labels": ["victim.mp4"]}\n',
                              media_type="application/json", role="manifest"),
        "shared": _artifact(folder, "recipient.json", b'{"evidence_bundle": "bnd-1"}\n', media_type="application/json",
                            role="recipient_manifest"),
        "media": _artifact(folder, "media.png", b"\x89PNG synthetic", media_type="image/png", role="media"),
        "html": _artifact(folder, "page.html", b"<html></html>", media_type="text/html", role="page_html"),
    }


def _with(notice: Notice, files: list[tuple[Artifact, Path]]) -> Notice:
    return notice.model_copy(update={"attachments": tuple(a for a, _ in files)})


def _attached(message: EmailMessage) -> dict[str, bytes]:
    out = {}
    for part in _parse(message).iter_attachments():
        assert isinstance(part, EmailMessage)
        name = part.get_filename()
        assert name is not None
        out[name] = part.get_content()
    return out


def test_attachments_for_an_english_notice(evidence: dict[str, tuple[Artifact, Path]]) -> None:
    files = list(evidence.values())
    notice = _with(_notice(locale="en"), files)
    attached = _attached(build_message(notice, sender=SENDER, message_id=MESSAGE_ID, attachments=files))
    assert set(attached) == {"report.pdf", "recipient.json"}, (
        "no HWP for an English reader; never the agency's manifest, raw media or HTML")
    for artifact, _ in files:
        name = Path(artifact.path).name
        if name in attached:
            assert hashlib.sha256(attached[name]).hexdigest() == artifact.sha256


def test_attachments_for_a_korean_notice(evidence: dict[str, tuple[Artifact, Path]]) -> None:
    files = list(evidence.values())
    notice = _with(_notice(locale="ko", body_html="<p>본문</p>"), files)
    message = build_message(notice, sender=SENDER, message_id=MESSAGE_ID, attachments=files)
    attached = _attached(message)
    assert set(attached) == {"report.pdf", "보고서.hwpx", "report.hwp", "recipient.json"}
    parsed = _parse(message)
    assert parsed.get_content_type() == "multipart/mixed"
    kinds = {part.get_filename(): part.get_content_type() for part in parsed.iter_attachments()}
    assert kinds["report.pdf"] == "application/pdf" and kinds["recipient.json"] == "application/json"
    assert parsed.get_body(("html",)) is not None and parsed.get_body(("plain",)) is not None
    for artifact, _ in files:
        name = Path(artifact.path).name
        if name in attached:
            assert hashlib.sha256(attached[name]).hexdigest() == artifact.sha256


def test_attachments_over_the_cap_are_listed_in_a_footer(evidence: dict[str, tuple[Artifact, Path]]) -> None:
    files = [evidence["pdf"], evidence["hwpx"], evidence["shared"]]
    cap = files[0][0].size + files[2][0].size
    notice = _with(_notice(locale="ko", body_html="<html><body><p>본문</p></body></html>"), files)
    message = build_message(notice, sender=SENDER, message_id=MESSAGE_ID, attachments=files, max_attachment_bytes=cap)
    assert set(_attached(message)) == {"report.pdf", "recipient.json"}
    parsed = _parse(message)
    plain, rich = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and rich is not None
    assert _text(plain).endswith(f"\n\n{SIZE_FOOTER}보고서.hwpx\n")
    assert f"<p>{SIZE_FOOTER}보고서.hwpx</p></body>" in rich.get_content()
    nothing = build_message(notice, sender=SENDER, message_id=MESSAGE_ID, attachments=files, max_attachment_bytes=0)
    assert _attached(nothing) == {}
    body = _parse(nothing).get_body(("plain",))
    assert body is not None and f"{SIZE_FOOTER}report.pdf, 보고서.hwpx, recipient.json" in body.get_content()


def test_altered_evidence_is_never_sent(evidence: dict[str, tuple[Artifact, Path]]) -> None:
    files = [evidence["pdf"], evidence["shared"]]
    notice = _with(_notice(), files)
    files[1][1].write_bytes(b'{"bundle": "forged"}\n')
    with pytest.raises(DeliveryError, match=r"recipient\.json.*SHA-256"):
        build_message(notice, sender=SENDER, message_id=MESSAGE_ID, attachments=files)
    files[1][1].unlink()
    with pytest.raises(DeliveryError, match=r"recipient\.json"):
        build_message(notice, sender=SENDER, message_id=MESSAGE_ID, attachments=files)


def test_only_approved_attachments_are_sent(evidence: dict[str, tuple[Artifact, Path]]) -> None:
    notice = _with(_notice(), [evidence["pdf"]])
    with pytest.raises(UsageError, match="recipient"):
        build_message(notice, sender=SENDER, message_id=MESSAGE_ID, attachments=[evidence["pdf"], evidence["shared"]])


def test_attachment_files_stay_under_the_root(tmp_path: Path, evidence: dict[str, tuple[Artifact, Path]]) -> None:
    notice = _with(_notice(), [evidence["pdf"], evidence["shared"]])
    pairs = attachment_files(notice, tmp_path)
    assert [p for _, p in pairs] == [evidence["pdf"][1].resolve(), evidence["shared"][1].resolve()]
    escape = evidence["pdf"][0].model_copy(update={"path": "../outside.pdf"})
    with pytest.raises(DeliveryError, match="outside"):
        attachment_files(notice.model_copy(update={"attachments": (escape,)}), tmp_path)


# -- the transport's view -------------------------------------------------------------------------------------------


def test_outgoing_message_carries_the_approval() -> None:
    notice = _approved(_notice(recipient=Recipient(address="abuse@한국.kr", name="운영자")))
    message = build_message(notice, sender=SENDER, sender_name="센터", message_id=MESSAGE_ID)
    outgoing = outgoing_message(notice, message)
    assert outgoing.notice_id == notice.id and outgoing.message_id == MESSAGE_ID
    assert outgoing.sender == SENDER and outgoing.recipients == ("abuse@xn--3e0b707e.kr",)
    assert outgoing.approved_by == "Officer Kim" and outgoing.approved_at == notice.approved_at
    assert outgoing.raw == message_bytes(message)
    assert outgoing.subject == "Removal request: A post"


def test_outgoing_message_needs_an_approval() -> None:
    draft = _notice()
    message = build_message(draft, sender=SENDER, message_id=MESSAGE_ID)
    with pytest.raises(NotApprovedError):
        outgoing_message(draft, message)
    withdrawn = _approved(draft).advance(NoticeState.DRAFT, by="Officer Kim", note="edit")
    assert withdrawn.approved_by is not None, "a withdrawn approval may leave its fields behind"
    with pytest.raises(NotApprovedError):
        outgoing_message(withdrawn, message)


def test_outgoing_message_must_match_the_notice() -> None:
    notice = _approved(_notice())
    other = build_message(_notice(recipient=Recipient(address="other@mock.example")), sender=SENDER,
                          message_id=MESSAGE_ID)
    with pytest.raises(UsageError, match="addressed"):
        outgoing_message(notice, other)
