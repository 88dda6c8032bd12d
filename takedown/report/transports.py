"""Built-in transports: an outbox folder of ``.eml`` files. SMTP is ``takedown.report.smtp.SmtpTransport``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from takedown.errors import DeliveryError
from takedown.models import Delivery, OutgoingMessage
from takedown.store.blobs import atomic_write

__all__ = ["OutboxTransport"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class OutboxTransport:
    """Writes each message as ``<folder>/<message id>.eml`` for another system (or a person) to send."""

    name: ClassVar[str] = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, message: OutgoingMessage) -> Delivery:
        """Write the message atomically; a message already in the outbox is not written twice."""
        path = self.folder / f"{_UNSAFE.sub('_', message.message_id.strip('<>'))}.eml"
        try:
            if not path.exists():
                atomic_write(path, message.raw)
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc}", plugin=self.name) from exc
        return Delivery(
            notice_id=message.notice_id, transport=self.name, message_id=message.message_id,
            approved_by=message.approved_by, approved_at=message.approved_at, detail=str(path),
        )

    def close(self) -> None:
        """Nothing to release."""
