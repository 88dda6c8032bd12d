"""The one check an email address passes before takedown drafts a notice to it.

Site files (``[report] email``, read by ``takedown.sites``) and drafting (``takedown.report.recipients``, the
RDAP abuse contacts of ``takedown.report.rdap``) check addresses here, so an address a site file is allowed to
declare is exactly one drafting will use. The rule is ``email-validator``'s, without DNS
(``check_deliverability=False``) and otherwise with its defaults: the syntax of one bare address, and a domain
that can receive mail on the public internet. Special-use domains (``.test``, ``.invalid``, ``.localhost``,
``.local``, ``.onion``, ``.arpa``) and domains without a dot are refused; ``.example`` domains pass. Sending adds
its own, stricter header check (``takedown.report.message.check_address``: an ASCII local part, no SMTPUTF8).

This module sits below ``sites`` and ``report`` and imports neither.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from takedown.errors import InvalidAddressError

__all__ = ["check_email"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_email(address: str) -> str:
    """``address`` in the normalised form drafting uses (ASCII domain where one exists), if drafting accepts it.

    Raises:
        InvalidAddressError: ``address`` is not one bare address, holds a control character (CR, LF, NUL ...:
            a header injection, never an address), or its domain is special-use or cannot receive mail. The
            message gives the address and email-validator's reason.
    """
    if _CONTROL.search(address):
        raise InvalidAddressError(f"{address!a} is not an email address: it holds a control character")
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddressError(f"{address!r} is not an email address a notice can be drafted to: {exc}") from exc
    return checked.ascii_email or checked.normalized
