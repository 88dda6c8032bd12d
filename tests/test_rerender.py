"""What an officer approves is what the recipient reads: edits re-render every part, the approving officer signs, and
the notice is dated when it is sent. Messages are parsed back with Python's ``email``."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from zoneinfo import ZoneInfo

import pytest

from takedown.errors import IncompleteNoticeError, UsageError
from takedown.models import FindingState, Notice, Recipient
from takedown.pipeline import build_templates, notice_renderer
from takedown.report.draft import draft_notices
from takedown.report.jurisdictions import missing_fields
from takedown.report.review import approve_notice, edit_notice, send_notice
from takedown.settings import AgencySettings, Settings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import CapturingTransport, sample_case, sample_finding

SENDER = "takedown@agency.example"
AGENCY = AgencySettings(name="Synthetic Support Centre", registration_number="REG-0001", email="help@agency.example",
                        phone="+82-2-111-1111")
OFFICER = ("Kim Min-ji", "Deletion Support Officer")


def _drafted(store: SQLiteCaseStore, locale: str = "en", jurisdiction: str = "KR",
             agency: AgencySettings = AGENCY) -> Notice:
    case = sample_case(jurisdiction=jurisdiction)
    store.put_case(case)
    finding = sample_finding(case, state=FindingState.DRAFTED)
    store.add_finding(finding)
    (notice,) = draft_notices(finding, case=case, agency=agency, templates=build_templates(), locales=[locale],
                              recipient=Recipient(address="abuse@mock.example"))
    store.add_notice(notice)
    return notice


def _parts(raw: bytes) -> tuple[str, str]:
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


@pytest.mark.parametrize(("key", "value"), [("contact_phone", "+82-2-999-0000"),
                                            ("requester_registration", "REG-2026-77")])
@pytest.mark.parametrize("locale", ["en", "ko"])
def test_an_edited_legal_field_reaches_every_part_of_the_sent_message(
    store: SQLiteCaseStore, key: str, value: str, locale: str
) -> None:
    renderer = notice_renderer(Settings(agency=AGENCY))
    notice = _drafted(store, locale)
    old = {"contact_phone": AGENCY.phone, "requester_registration": AGENCY.registration_number}[key]
    assert old in notice.body_text
    edited = edit_notice(store, notice.id, by="Officer Kim", legal={key: value}, renderer=renderer)
    assert value in edited.body_text and old not in edited.body_text and edited.legal[key] == value
    approve_notice(store, notice.id, by=OFFICER[0], renderer=renderer, signer=OFFICER)
    transport = CapturingTransport()
    send_notice(store, notice.id, transport=transport, sender=SENDER, renderer=renderer)
    text, html = _parts(transport.messages[0].raw)
    for part in (text, html):
        assert value in part and old not in part


def test_an_edit_without_a_renderer_is_rendered_at_approval(store: SQLiteCaseStore) -> None:
    renderer = notice_renderer(Settings(agency=AGENCY))
    notice = _drafted(store)
    edit_notice(store, notice.id, by="Officer Kim", legal={"contact_phone": "+82-2-999-0000"})
    assert AGENCY.phone in store.get_notice(notice.id).body_text, "not rendered yet"
    approved = approve_notice(store, notice.id, by=OFFICER[0], renderer=renderer, signer=OFFICER)
    assert "+82-2-999-0000" in approved.body_text and "+82-2-999-0000" in str(approved.body_html)
    assert AGENCY.phone not in approved.body_text


def test_a_hand_written_body_gets_its_own_html_and_is_kept_by_later_renderings(store: SQLiteCaseStore) -> None:
    renderer = notice_renderer(Settings(agency=AGENCY))
    notice = _drafted(store)
    body = notice.body_text.replace("Dear Sir or Madam,", "Dear abuse team,")
    edited = edit_notice(store, notice.id, by="Officer Kim", body_text=body, renderer=renderer)
    assert edited.body_text == body and "Dear abuse team," in str(edited.body_html)
    assert edited.hand_edited == ("body_text",)
    # A field edit afterwards keeps the officer's text: the field is then stated nowhere, and approval says so.
    edit_notice(store, notice.id, by="Officer Kim", legal={"contact_phone": "+82-2-999-0000"}, renderer=renderer)
    kept = store.get_notice(notice.id)
    assert kept.body_text == body and kept.legal["contact_phone"] == "+82-2-999-0000"
    assert missing_fields(kept) == ["contact_phone"]
    with pytest.raises(IncompleteNoticeError, match="contact_phone"):
        approve_notice(store, notice.id, by=OFFICER[0], renderer=renderer, signer=OFFICER)
    edit_notice(store, notice.id, by="Officer Kim", body_text=body.replace(AGENCY.phone, "+82-2-999-0000"),
                renderer=renderer)
    approved = approve_notice(store, notice.id, by=OFFICER[0], renderer=renderer, signer=OFFICER)
    assert approved.legal["contact_phone"] == "+82-2-999-0000" and "Dear abuse team," in approved.body_text


@pytest.mark.parametrize("locale", ["en", "ko", "ja"])
def test_the_approving_officer_signs_and_a_placeholder_never_does(store: SQLiteCaseStore, locale: str) -> None:
    renderer = notice_renderer(Settings(agency=AGENCY))
    notice = _drafted(store, locale)
    assert "Duty Officer" in notice.body_text, "drafted with the settings' default signer"
    with pytest.raises(UsageError, match="signed by a person"):
        approve_notice(store, notice.id, by="Duty Officer", renderer=renderer, signer=("Duty Officer", "x"))
    approved = approve_notice(store, notice.id, by=OFFICER[0], renderer=renderer, signer=OFFICER)
    assert OFFICER[0] in approved.body_text and "Duty Officer" not in approved.body_text
    assert approved.signed_by == OFFICER
    # The settings' default title is said in the notice's language.
    title = {"en": "Deletion Support Officer", "ko": "삭제지원 담당자", "ja": "削除支援担当者"}[locale]
    assert title in approved.body_text
    assert locale == "en" or "Deletion Support Officer" not in approved.body_text


def test_a_notice_is_dated_when_it_is_sent(store: SQLiteCaseStore) -> None:
    renderer = notice_renderer(Settings(agency=AGENCY))
    notice = _drafted(store)
    approved = approve_notice(store, notice.id, by=OFFICER[0], renderer=renderer, signer=OFFICER)
    assert approved.approved_at is not None
    later = approved.approved_at + timedelta(days=3)
    dated = renderer.redated(store, approved, at=later)
    assert dated.body_text != approved.body_text
    changed = set(dated.body_text.splitlines()) - set(approved.body_text.splitlines())
    assert changed and all(("Date" in line or "check" in line) for line in changed), changed
    local = later.astimezone(ZoneInfo(AGENCY.time_zone))
    assert f"Date: {local:%B} {local.day}, {local.year}" in dated.body_text, "dated when sent, in the agency's zone"
    # Settings changed since approval: only what was approved is sent, dated as approved.
    moved = notice_renderer(Settings(agency=AGENCY.model_copy(update={"phone": "+82-2-000-0000"})))
    assert moved.redated(store, approved, at=later) == approved


def test_sending_records_the_sending_date(store: SQLiteCaseStore) -> None:
    renderer = notice_renderer(Settings(agency=AGENCY))
    notice = _drafted(store)
    approve_notice(store, notice.id, by=OFFICER[0], renderer=renderer, signer=OFFICER)
    transport = CapturingTransport()
    send_notice(store, notice.id, transport=transport, sender=SENDER, renderer=renderer)
    sent = store.get_notice(notice.id)
    text, _ = _parts(transport.messages[0].raw)
    assert " ".join(sent.body_text.split()) == " ".join(text.split())
    actions = [e.action for e in store.custody_log(notice.id)]
    assert actions[-1] == "sent"
