"""The console's languages: Korean and English, chosen per user (``User.locale``), with Babel's gettext.

The Korean catalogue is ``takedown/console/locales/ko.po``, read when the console starts (no build step: Babel
compiles it in memory). English is the source text. A string missing from the catalogue shows in English.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib import resources

__all__ = ["CONSOLE_LOCALES", "choose_locale", "translations"]

CONSOLE_LOCALES = ("ko", "en")
"""The languages the console speaks."""


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The translations of ``locale`` (``NullTranslations`` for English or a locale without a catalogue)."""
    if locale == "en":
        return gettext.NullTranslations()
    source = resources.files("takedown.console") / "locales" / f"{locale}.po"
    if not source.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    catalog = read_po(io.StringIO(source.read_text(encoding="utf-8")), locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def choose_locale(user_locale: str | None, accept_language: str = "") -> str:
    """The signed-in user's language, or for a visitor the first of ours the browser asks for (else Korean)."""
    if user_locale in CONSOLE_LOCALES:
        return str(user_locale)
    for part in accept_language.split(","):
        tag = part.split(";", 1)[0].strip().lower()
        for locale in CONSOLE_LOCALES:
            if tag == locale or tag.startswith(f"{locale}-"):
                return locale
    return CONSOLE_LOCALES[0]
