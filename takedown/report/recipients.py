"""Who a notice goes to: the contacts a page and its site declare, best first."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from takedown.models import Finding, Recipient, RecipientKind

__all__ = ["recipients_for"]

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_ORDER = {"email": 0, "security_txt": 1}


def recipients_for(finding: Finding) -> list[Recipient]:
    """The site operator's addresses for a finding, best first; ``abuse@<host>`` when none was declared.

    Addresses found on the page come before those on the site's contact pages, which come before
    ``security.txt``; malformed addresses are dropped.
    """
    hints = finding.page.contacts if finding.page else ()
    ranked = sorted(
        (h for h in hints if h.kind in _ORDER and _EMAIL.match(h.value)),
        key=lambda h: (_ORDER[h.kind], h.source != (finding.page.final_url if finding.page else "")),
    )
    out: dict[str, Recipient] = {}
    for hint in ranked:
        address = hint.value.lower()
        out.setdefault(address, Recipient(address=address, kind=RecipientKind.SITE_OPERATOR,
                                          source=f"{hint.kind} at {hint.source}"))
    if not out:
        host = (urlsplit(finding.candidate.url).hostname or "").removeprefix("www.")
        if host:
            out[f"abuse@{host}"] = Recipient(address=f"abuse@{host}", source="guessed: abuse@ the site's host")
    return list(out.values())
