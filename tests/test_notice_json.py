"""Every sent request carries notice.json: one schema for every jurisdiction, signed with the agency's key, checked
here with jsonschema and with the agency's CA (and openssl), as a recipient would."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import jsonschema
import pytest

from takedown.evidence.signing import AgencySigner, make_agency_identity, verify_signature
from takedown.models import FindingState, Recipient
from takedown.pipeline import build_templates, notice_renderer
from takedown.report.draft import draft_notices
from takedown.report.jurisdictions import JURISDICTIONS, get_jurisdiction
from takedown.report.notice_json import notice_schema
from takedown.report.review import approve_notice, send_notice
from takedown.settings import AgencySettings, ReportSettings, Settings
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import CapturingTransport, sample_case, sample_finding

AGENCY = AgencySettings(name="Synthetic Support Centre", registration_number="REG-1", email="help@agency.example",
                        phone="+82-2-111-1111")


def _sent(store: SQLiteCaseStore, tmp_path: Path, jurisdiction: str, *, signed: bool,
          hours: dict[str, float] | None = None) -> dict[str, bytes]:
    case = sample_case(jurisdiction=jurisdiction)
    store.put_case(case)
    finding = sample_finding(case, state=FindingState.DRAFTED)
    store.add_finding(finding)
    (notice,) = draft_notices(finding, case=case, agency=AGENCY, templates=build_templates(), locales=["en"],
                              recipient=Recipient(address="abuse@mock.example"))
    store.add_notice(notice)
    renderer = notice_renderer(Settings(agency=AGENCY, report=ReportSettings(deadline_hours=hours or {})))
    approve_notice(store, notice.id, by="Kim Min-ji", renderer=renderer, signer=("Kim Min-ji", "Officer"))
    signer = AgencySigner.from_settings(make_agency_identity(tmp_path / "agency", name="Synthetic Support Centre"))
    transport = CapturingTransport()
    send_notice(store, notice.id, transport=transport, sender="t@agency.example", renderer=renderer,
                signer=signer if signed else None)
    message = message_from_bytes(transport.messages[0].raw, policy=default)
    assert isinstance(message, EmailMessage)
    files = {}
    for part in message.iter_attachments():
        content = part.get_content()
        files[str(part.get_filename())] = content if isinstance(content, bytes) else str(content).encode()
    return files


@pytest.mark.parametrize("jurisdiction", sorted(JURISDICTIONS))
def test_every_jurisdiction_gives_a_notice_json_the_schema_accepts(store: SQLiteCaseStore, tmp_path: Path,
                                                                   jurisdiction: str) -> None:
    files = _sent(store, tmp_path, jurisdiction, signed=False)
    assert "notice.json.sig" not in files, "unsigned without the agency's key"
    document = json.loads(files["notice.json"])
    jsonschema.validate(document, notice_schema())
    assert document["jurisdiction"]["code"] == jurisdiction and document["signer"]["name"] == "Kim Min-ji"
    assert document["locations"][0]["url"] == "https://mock.example/post/1"
    deadline = get_jurisdiction(jurisdiction).deadline
    sent = datetime.fromisoformat(document["sent_at"])
    assert (document["deadline"] is None) if deadline is None else (
        datetime.fromisoformat(document["deadline"]) - sent == deadline)


def test_a_signed_notice_verifies_under_the_agency_ca_only(store: SQLiteCaseStore, tmp_path: Path) -> None:
    files = _sent(store, tmp_path, "US", signed=True)
    ca = tmp_path / "agency" / "ca.pem"
    assert verify_signature(files["notice.json"], files["notice.json.sig"], files["notice-signer.pem"],
                            ca_file=ca) == []
    other = make_agency_identity(tmp_path / "other", name="Synthetic Support Centre")
    assert other.ca_file is not None
    assert verify_signature(files["notice.json"], files["notice.json.sig"], files["notice-signer.pem"],
                            ca_file=other.ca_file)
    tampered = files["notice.json"].replace(b"mock.example", b"mock.exampl3")
    assert verify_signature(tampered, files["notice.json.sig"], files["notice-signer.pem"], ca_file=ca)
    for name in ("notice.json", "notice.json.sig", "notice-signer.pem"):
        (tmp_path / name).write_bytes(files[name])
    public = subprocess.run(["openssl", "x509", "-in", "notice-signer.pem", "-pubkey", "-noout"], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout
    (tmp_path / "pub.pem").write_text(public)
    checked = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "notice.json.sig",
                              "notice.json"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and "Verified OK" in checked.stdout


def test_the_deadline_follows_the_agency_clock_where_it_sets_one(store: SQLiteCaseStore, tmp_path: Path) -> None:
    document = json.loads(_sent(store, tmp_path, "KR", signed=False, hours={"KR": 6})["notice.json"])
    assert datetime.fromisoformat(document["deadline"]) - datetime.fromisoformat(document["sent_at"]) == timedelta(
        hours=6)
