"""The settings page for administrators: what the console and the pipeline run with, read-only, secrets hidden.

Settings are changed where they live (``takedown.toml`` and ``TAKEDOWN_*`` variables, see ``takedown.settings``),
never from a browser: a page that could change the SMTP server or the fetch guard would be a way around every rule
of the console. Values whose name says they are secret (passwords, keys, tokens, cookies, headers, proxies, which
may carry credentials) are shown only as set or not set.
"""

from __future__ import annotations

import json
import re
from typing import Any

from takedown.settings import Settings

__all__ = ["settings_view"]

_SECRET = re.compile(r"password|secret|token|key|cookie|header|proxy|auth", re.IGNORECASE)


def _shown(name: str, value: Any) -> str:
    if _SECRET.search(name):
        return "(set, hidden)" if value not in (None, "", {}, [], ()) else "(not set)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_shown(k, v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return "—" if value is None or value == "" else str(value) if not isinstance(value, bool) else json.dumps(value)


def settings_view(settings: Settings) -> dict[str, Any]:
    """Every section of ``settings`` with each field's value as text, secrets hidden."""
    data = settings.model_dump(mode="json")
    return {"sections": [{"name": section, "fields": [{"name": k, "value": _shown(k, v)} for k, v in values.items()]}
                         for section, values in data.items()]}
