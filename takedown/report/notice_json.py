"""The machine-readable notice: one JSON document per sent request, the same for every jurisdiction, signed.

No standard exists for notices about non-consensual intimate imagery (Lumen has no such type), so a recipient's
tooling has nothing to parse but prose. Every request ``send_notice`` sends carries ``notice.json`` beside its
text: what the request asks, under which law, by when, for which locations (with the SHA-256 of each matched media
file and the evidence attached), and who signs it. With the agency's key (``[signing]``) it also carries
``notice.json.sig`` (a detached signature over those exact bytes, as ``seal.sig`` is over ``seal.json``) and
``notice-signer.pem`` (the certificate chain), so a recipient can check that the agency sent it:

```
openssl x509 -in notice-signer.pem -pubkey -noout > agency-pub.pem
openssl dgst -sha256 -verify agency-pub.pem -signature notice.json.sig notice.json
```

The document follows ``notice.schema.json`` (JSON Schema, shipped beside this module; ``NOTICE_SCHEMA`` reads it).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, Final

from takedown.evidence.signing import AgencySigner
from takedown.models import Notice
from takedown.report.jurisdictions import get_jurisdiction
from takedown.report.message import attachment_name

__all__ = ["CHAIN_NAME", "DOCUMENT_NAME", "NOTICE_FORMAT", "SIGNATURE_NAME", "notice_document", "notice_files",
           "notice_schema"]

NOTICE_FORMAT: Final = "takedown-notice/1"
"""The ``format`` field of ``notice.json``; a new layout gets a new number."""

DOCUMENT_NAME: Final = "notice.json"
SIGNATURE_NAME: Final = "notice.json.sig"
CHAIN_NAME: Final = "notice-signer.pem"

_STATEMENTS: Final = ("good_faith_statement", "accuracy_statement", "depicted_person_authority", "identification",
                      "reason", "right_infringed", "spread_description")


def notice_schema() -> dict[str, Any]:
    """The JSON Schema ``notice.json`` follows."""
    text = (resources.files("takedown.report") / "notice.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def notice_document(notice: Notice, *, sent_at: datetime, message_id: str,
                    deadline: timedelta | None = None) -> bytes:
    """``notice.json`` for ``notice`` as sent at ``sent_at`` under ``message_id``: canonical JSON (sorted keys,
    UTF-8), so the same notice gives the same bytes. ``deadline`` (after ``sent_at``) defaults to the
    jurisdiction's."""
    jurisdiction = get_jurisdiction(notice.jurisdiction)
    deadline = deadline if deadline is not None else jurisdiction.deadline
    legal = notice.legal
    signer = notice.signed_by
    document: dict[str, Any] = {
        "format": NOTICE_FORMAT,
        "id": notice.id,
        "message_id": message_id,
        "kind": notice.kind,
        "attempt": notice.attempt,
        "follows": notice.in_reply_to,
        "sent_at": sent_at.isoformat(),
        "deadline": (sent_at + deadline).isoformat() if deadline is not None else None,
        "deadline_text": jurisdiction.deadline_text,
        "jurisdiction": {"code": jurisdiction.code, "legal_basis": legal.get("legal_basis", jurisdiction.legal_basis)},
        "language": notice.locale,
        "subject": notice.subject,
        "recipient": {"address": notice.recipient.address, "channel": notice.recipient.channel},
        "requester": {"name": legal.get("requester", ""), "registration": legal.get("requester_registration", ""),
                      "email": legal.get("contact_email", ""), "phone": legal.get("contact_phone", "")},
        "signer": {"name": signer[0], "title": signer[1]} if signer else None,
        "material_type": legal.get("material_type", ""),
        "locations": [
            {"url": item.url,
             "media": [{"url": url, "sha256": sha} for url, sha in zip(item.media, item.sha256, strict=False)],
             "evidence_bundle": item.bundle_id, "repeats": bool(item.also_shown_at_of)}
            for item in notice.items
        ],
        "statements": {key: legal[key] for key in _STATEMENTS if legal.get(key)},
        "attachments": [{"name": attachment_name(a, notice.attachments), "sha256": a.sha256, "size": a.size}
                        for a in notice.attachments],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def notice_files(notice: Notice, *, sent_at: datetime, message_id: str, signer: AgencySigner | None,
                 deadline: timedelta | None = None) -> list[tuple[str, bytes, str]]:
    """The files a sent request carries about itself, as (name, bytes, media type): ``notice.json``, and with a
    ``signer`` its detached signature and the signer's certificate chain."""
    document = notice_document(notice, sent_at=sent_at, message_id=message_id, deadline=deadline)
    files = [(DOCUMENT_NAME, document, "application/json")]
    if signer is not None:
        files += [(SIGNATURE_NAME, signer.sign(document), "application/octet-stream"),
                  (CHAIN_NAME, signer.chain_pem(), "application/x-pem-file")]
    return files
