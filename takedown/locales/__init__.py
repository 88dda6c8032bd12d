"""Locale packs: one folder per language (BCP 47 tag) holding notice subject and body templates."""

from __future__ import annotations

from importlib import resources

__all__ = ["available_locales", "read_template"]


def available_locales() -> frozenset[str]:
    """The locales that ship a notice template."""
    root = resources.files(__name__)
    return frozenset(p.name for p in root.iterdir() if p.is_dir() and (p / "notice.txt.j2").is_file())


def read_template(locale: str, name: str) -> str:
    """The text of template ``name`` in ``locale``'s folder."""
    return (resources.files(__name__) / locale / name).read_text(encoding="utf-8")
