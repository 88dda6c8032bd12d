"""The ``security.txt`` parser (RFC 9116), re-exported from ``takedown.security_txt`` where it is defined.

It lives below the stages because site adapters read security.txt too (as a contact hint), and the sites come
before the report stage.
"""

from __future__ import annotations

from takedown.security_txt import MAX_CHARS, SecurityTxt, parse_security_txt

__all__ = ["MAX_CHARS", "SecurityTxt", "parse_security_txt"]
