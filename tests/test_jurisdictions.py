"""The jurisdiction registry: codes, sources, required fields, deadlines, lookups and ``missing_fields``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from takedown.errors import UsageError
from takedown.models import Notice, Recipient
from takedown.report.jurisdictions import (
    FIELD_KEYS,
    JURISDICTIONS,
    Jurisdiction,
    get_jurisdiction,
    jurisdiction_for_country,
    missing_fields,
)

CODES = ["KR", "US", "EU", "UK", "AU", "JP", "OTHER"]


def make_notice(jurisdiction: str, legal: dict[str, str]) -> Notice:
    return Notice(case_id="case-1", finding_id="fnd-1", recipient=Recipient(address="abuse@site.example"),
                  jurisdiction=jurisdiction, locale="en", subject="s", body_text="b", legal=legal)


def test_registry_holds_exactly_the_known_codes() -> None:
    assert sorted(JURISDICTIONS) == sorted(CODES)
    for code, jurisdiction in JURISDICTIONS.items():
        assert isinstance(jurisdiction, Jurisdiction)
        assert jurisdiction.code == code


@pytest.mark.parametrize("code", CODES)
def test_every_jurisdiction_is_complete_and_sourced(code: str) -> None:
    jurisdiction = JURISDICTIONS[code]
    assert jurisdiction.name and jurisdiction.legal_basis and jurisdiction.deadline_text
    assert jurisdiction.sources, "every rule cites its primary text"
    assert all(url.startswith("https://") for url in jurisdiction.sources)
    assert jurisdiction.required_fields[0] == "urls", "every request names the exact locations"
    assert set(jurisdiction.required_fields) <= set(FIELD_KEYS)
    assert len(set(jurisdiction.required_fields)) == len(jurisdiction.required_fields)
    assert "contact_email" in jurisdiction.required_fields
    assert all(len(c) == 2 and c.isupper() for c in jurisdiction.countries)


def test_primary_sources_are_the_official_sites() -> None:
    hosts = {code: " ".join(JURISDICTIONS[code].sources) for code in CODES}
    assert "law.go.kr" in hosts["KR"] and "제22조의5" in hosts["KR"] and "제30조의5" in hosts["KR"]
    assert "congress.gov" in hosts["US"] and "senate-bill/146" in hosts["US"]
    assert "eur-lex.europa.eu" in hosts["EU"] and "2022/2065" in hosts["EU"]
    assert "legislation.gov.uk/ukpga/2023/50" in hosts["UK"]
    assert "legislation.gov.au" in hosts["AU"]
    assert "elaws.e-gov.go.jp" in hosts["JP"] and "426AC1000000126" in hosts["JP"]
    assert "section512" in hosts["OTHER"]


def test_required_fields_follow_each_statute() -> None:
    required = {code: set(JURISDICTIONS[code].required_fields) for code in CODES}
    kr = {"material_type", "requester", "requester_registration", "contact_phone", "spread_description"}
    assert kr <= required["KR"]
    assert {"signature", "identification", "good_faith_statement", "depicted_person_authority"} <= required["US"]
    assert {"reason", "sender_name", "good_faith_statement", "accuracy_statement"} <= required["EU"]
    assert {"identification", "reason"} <= required["UK"]
    assert {"identification"} <= required["AU"]
    assert {"requester", "right_infringed", "reason"} <= required["JP"]
    assert {"signature", "identification", "good_faith_statement", "accuracy_statement"} <= required["OTHER"]
    # Fields that belong to one regime only.
    assert all("requester_registration" not in required[c] for c in CODES if c != "KR")
    assert all("right_infringed" not in required[c] for c in CODES if c != "JP")
    assert all("depicted_person_authority" not in required[c] for c in CODES if c != "US")


def test_deadlines() -> None:
    deadlines = {code: JURISDICTIONS[code].deadline for code in CODES}
    assert deadlines == {
        "KR": timedelta(hours=24),  # "without delay": our re-check point
        "US": timedelta(hours=48),
        "EU": timedelta(hours=72),  # "timely": our re-check point
        "UK": timedelta(hours=48),
        "AU": timedelta(hours=24),
        "JP": timedelta(days=2),
        "OTHER": timedelta(hours=72),
    }
    assert "without delay" in JURISDICTIONS["KR"].deadline_text
    assert "timely" in JURISDICTIONS["EU"].deadline_text


def test_countries() -> None:
    eu = JURISDICTIONS["EU"].countries
    assert len(eu) == 27 == len(set(eu))
    assert {"DE", "FR", "IE", "GR", "HR", "CY", "MT"} <= set(eu)
    assert "GB" not in eu and "EL" not in eu
    assert JURISDICTIONS["UK"].countries == ("GB",)
    assert JURISDICTIONS["OTHER"].countries == ()
    every = [c for j in JURISDICTIONS.values() for c in j.countries]
    assert len(every) == len(set(every)), "a country belongs to one jurisdiction"


def test_jurisdictions_are_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        JURISDICTIONS["KR"].deadline = None  # type: ignore[misc]


@pytest.mark.parametrize(("code", "expected"), [
    ("KR", "KR"), ("kr", "KR"), (" us ", "US"), ("EU", "EU"), ("OTHER", "OTHER"),
    ("DE", "EU"), ("gb", "UK"), ("UK", "UK"), ("XX", "OTHER"), ("BR", "OTHER"), ("not a code", "OTHER"),
])
def test_get_jurisdiction(code: str, expected: str) -> None:
    assert get_jurisdiction(code).code == expected


@pytest.mark.parametrize("code", ["", "   "])
def test_get_jurisdiction_needs_a_code(code: str) -> None:
    with pytest.raises(UsageError, match="jurisdiction code is required"):
        get_jurisdiction(code)


@pytest.mark.parametrize(("country", "expected"), [
    ("KR", "KR"), ("kr", "KR"), ("US", "US"), ("PR", "US"), ("FR", "EU"), ("IE", "EU"), ("GB", "UK"),
    ("UK", "UK"), ("AU", "AU"), ("JP", "JP"), ("CN", "OTHER"), ("ZZ", "OTHER"), ("", "OTHER"), (None, "OTHER"),
])
def test_jurisdiction_for_country(country: str | None, expected: str) -> None:
    assert jurisdiction_for_country(country).code == expected


@pytest.mark.parametrize("code", CODES)
def test_missing_fields_is_empty_when_everything_is_there(code: str) -> None:
    legal = dict.fromkeys(JURISDICTIONS[code].required_fields, "value")
    assert missing_fields(make_notice(code, legal)) == []


def test_missing_fields_lists_absent_and_blank_keys_in_registry_order() -> None:
    required = JURISDICTIONS["KR"].required_fields
    legal = dict.fromkeys(required, "value")
    legal["requester_registration"] = ""
    legal["contact_phone"] = "  "
    del legal["spread_description"]
    assert missing_fields(make_notice("KR", legal)) == ["requester_registration", "contact_phone", "spread_description"]
    assert missing_fields(make_notice("KR", {})) == list(required)


def test_missing_fields_of_an_unknown_jurisdiction_use_other() -> None:
    assert missing_fields(make_notice("XX", {})) == list(JURISDICTIONS["OTHER"].required_fields)


def test_missing_fields_refuses_a_notice_without_jurisdiction() -> None:
    with pytest.raises(UsageError):
        missing_fields(make_notice("", {}))


def test_the_agency_sets_the_clock_where_the_law_says_without_delay_or_timely() -> None:
    from datetime import timedelta

    from pydantic import ValidationError

    from takedown.report.jurisdictions import deadline_for
    from takedown.settings import ReportSettings

    settings = ReportSettings(deadline_hours={"kr": 6, "EU": 72})
    assert settings.deadlines == {"KR": 6, "EU": 72} and hash(settings), "frozen and hashable, like all settings"
    assert deadline_for("KR", settings.deadlines) == timedelta(hours=6)
    assert deadline_for("de", settings.deadlines) == timedelta(hours=72), "a member state's code gives the EU's"
    assert deadline_for("US", settings.deadlines) == timedelta(hours=48), "the registry's where not configured"
    assert ReportSettings.model_validate({"deadline_hours": '{"KR": 12}'}).deadlines == {"KR": 12}, "from the env"
    assert deadline_for("KR") == timedelta(hours=24)
    with pytest.raises(ValidationError, match="more than 0"):
        ReportSettings(deadline_hours={"KR": 0})
