"""Which language a deletion request is written in: the recipient's, judged from its country or the site's language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from takedown.errors import UsageError

__all__ = ["COUNTRY_LANGUAGES", "SUPPORTED_LOCALES", "normalise_language", "notice_locales"]

SUPPORTED_LOCALES: frozenset[str] = frozenset({"ko", "en", "zh-Hans", "ja", "ru", "vi", "es"})
"""The locales takedown ships locale packs for."""

COUNTRY_LANGUAGES: Mapping[str, str] = MappingProxyType({
    "KR": "ko", "KP": "ko",
    "US": "en", "GB": "en", "AU": "en", "IE": "en", "NZ": "en", "CA": "en",
    "CN": "zh-Hans", "SG": "zh-Hans",
    # We ship only Simplified Chinese; readers in Taiwan, Hong Kong and Macao read it, and it serves them better than
    # English. Add a zh-Hant pack and change these three when one exists.
    "TW": "zh-Hans", "HK": "zh-Hans", "MO": "zh-Hans",
    "JP": "ja",
    "RU": "ru", "BY": "ru", "KZ": "ru", "KG": "ru",
    "VN": "vi",
    "ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es", "VE": "es", "EC": "es", "GT": "es",
    "CU": "es", "BO": "es", "DO": "es", "HN": "es", "PY": "es", "SV": "es", "NI": "es", "CR": "es", "PA": "es",
    "UY": "es",
    # Countries whose language has no pack yet: named so that the country, not the site, decides (and the
    # unsupported language then falls back to English).
    "DE": "de", "AT": "de", "CH": "de", "FR": "fr", "BE": "fr", "IT": "it", "NL": "nl", "PT": "pt", "BR": "pt",
    "PL": "pl", "UA": "uk", "TR": "tr", "TH": "th", "ID": "id", "SE": "sv", "NO": "nb", "DK": "da", "FI": "fi",
    "CZ": "cs", "RO": "ro", "HU": "hu", "GR": "el", "IL": "he", "SA": "ar", "AE": "ar", "EG": "ar",
})
"""The language a recipient in a country reads, by ISO 3166-1 alpha-2 code."""

_PRIMARY = re.compile(r"^[a-z]{2,3}$")


def normalise_language(tag: str | None) -> str | None:
    """The locale takedown would use for a BCP 47 language tag, or ``None`` if ``tag`` is not one.

    Region and script subtags are dropped (``en-US`` -> ``en``, ``pt_BR`` -> ``pt``), except for Chinese, which
    always maps to ``zh-Hans`` (``zh``, ``zh-CN``, ``zh-Hans-CN``, ``zh-TW`` -> ``zh-Hans``): it is the only Chinese
    pack we ship.
    """
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    if not _PRIMARY.match(primary):
        return None
    return "zh-Hans" if primary == "zh" else primary


def notice_locales(
    *,
    recipient_country: str | None,
    site_language: str | None,
    agency_language: str,
    bilingual: bool = False,
    supported: frozenset[str] = SUPPORTED_LOCALES,
) -> list[str]:
    """The locales to write a notice in, the recipient's own first.

    The local language is the one of the recipient's country when the country is known (see
    ``COUNTRY_LANGUAGES``), else the site's language (a BCP 47 tag, normalised by ``normalise_language``), else
    English. A local language outside ``supported`` becomes English. With ``bilingual``, English follows the local
    language (once, if they are the same).

    Args:
        recipient_country: ISO 3166-1 alpha-2 code of the recipient, if known.
        site_language: the language the site declares (``<html lang>``, ``Content-Language``), if any.
        agency_language: the agency's own language; used instead of English only when ``supported`` lacks English.
        bilingual: add English after the local language.
        supported: the locales the templates can render.

    Returns:
        One or two locales, all in ``supported``, local first, no duplicates.

    Raises:
        UsageError: ``supported`` holds neither English nor the agency's language, so there is no fallback.
    """
    agency = normalise_language(agency_language)
    if "en" in supported:
        fallback = "en"
    elif agency is not None and agency in supported:
        fallback = agency
    else:
        raise UsageError(
            f"supported locales {sorted(supported)} hold neither 'en' nor the agency language {agency_language!r}"
        )
    country = (recipient_country or "").strip().upper()
    country = "GB" if country == "UK" else country
    local = COUNTRY_LANGUAGES.get(country) or normalise_language(site_language) or fallback
    if local not in supported:
        local = fallback
    chosen = [local, fallback] if bilingual else [local]
    return list(dict.fromkeys(chosen))
