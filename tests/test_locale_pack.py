"""The locale packs: every language under every jurisdiction, hostile page data, overrides, dates, golden files.

Golden files live in ``tests/golden/notices/{locale}.{JUR}.txt`` (the subject, a blank line, then the body),
rendered from a fixed context. Regenerate them after a deliberate wording change with::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_locale_pack.py -k golden

and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from takedown.errors import ReportError, UsageError
from takedown.models import Artifact, EvidenceBundle, Finding, FindingState, Recipient, ReminderOf
from takedown.report import draft_notices
from takedown.report.base import NoticeContext, NoticeTemplate, RenderedNotice
from takedown.report.jurisdictions import JURISDICTIONS, missing_fields
from takedown.report.language import SUPPORTED_LOCALES, normalise_language, notice_locales
from takedown.report.locale_pack import LocalePackTemplate, one_line, pack_review, text_to_html
from takedown.settings import AgencySettings
from takedown.testing import NoticeTemplateContract, sample_case, sample_finding

GOLDEN = Path(__file__).parent / "golden" / "notices"
LOCALES = sorted(SUPPORTED_LOCALES)
CODES = list(JURISDICTIONS)
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
FOUND = datetime(2026, 3, 1, 1, 2, tzinfo=UTC)

AGENCY = AgencySettings(
    name="Example Digital Sex Crime Victim Support Center",
    registration_number="EX-2026-0001",
    email="takedown@agency.example",
    phone="+82-2-0000-0000",
    address="1 Example-ro, Jung-gu, Seoul",
    signer="Kim Example",
    signer_title="Deletion Support Officer",
    time_zone="Asia/Seoul",
)


def fixed_clock() -> datetime:
    return NOW


def make_finding(*, title: str = "A post", site: str = "mock.example", url: str = "https://mock.example/post/1",
                 metadata: dict[str, str] | None = None) -> Finding:
    finding = sample_finding(state=FindingState.EVIDENCED, url=url)
    candidate = finding.candidate.model_copy(update={
        "title": title, "site": site, "found_at": FOUND, "query": "sample", "metadata": metadata or {},
    })
    return finding.model_copy(update={"candidate": candidate})


def make_bundle(finding: Finding) -> EvidenceBundle:
    manifest = Artifact(path=f"{finding.bundle_id}/manifest.json", sha256="ab" * 32, size=512,
                        media_type="application/json", role="manifest", created_at=NOW)
    page = Artifact(path=f"{finding.bundle_id}/page.html", sha256="cd" * 32, size=1024,
                    media_type="text/html", role="page_html", created_at=NOW)
    shared = Artifact(path=f"{finding.bundle_id}/recipient.json", sha256="ef" * 32, size=700,
                      media_type="application/json", role="recipient_manifest", created_at=NOW)
    report = Artifact(path=f"{finding.bundle_id}/report.pdf", sha256="12" * 32, size=90_000,
                      media_type="application/pdf", role="report", created_at=NOW)
    return EvidenceBundle(case_id=finding.case_id, finding_id=finding.id, captured_at=NOW,
                          artifacts=(manifest, page, shared, report))


def make_context(locale: str, jurisdiction: str, *, agency: AgencySettings = AGENCY,
                 finding: Finding | None = None, bundle: bool = True) -> NoticeContext:
    finding = finding or make_finding()
    return NoticeContext(case=sample_case(jurisdiction=jurisdiction), finding=finding, agency=agency,
                         jurisdiction=jurisdiction, locale=locale, recipient=Recipient(address="abuse@mock.example"),
                         bundle=make_bundle(finding) if bundle else None)


@pytest.fixture(scope="module")
def template() -> LocalePackTemplate:
    return LocalePackTemplate(clock=fixed_clock)


def render(template: NoticeTemplate, locale: str, jurisdiction: str, **kwargs: object) -> RenderedNotice:
    return template.render(make_context(locale, jurisdiction, **kwargs))  # type: ignore[arg-type]


# -- the contract ------------------------------------------------------------------------------------------------


class TestLocalePack(NoticeTemplateContract):
    def make_template(self) -> NoticeTemplate:
        return LocalePackTemplate()


def test_ships_the_seven_locales(template: LocalePackTemplate) -> None:
    assert template.locales == SUPPORTED_LOCALES == {"ko", "en", "zh-Hans", "ja", "ru", "vi", "es"}
    assert LocalePackTemplate.name == "locale_pack"


# -- every locale under every jurisdiction -----------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("locale", LOCALES)
def test_renders_every_required_field(template: LocalePackTemplate, locale: str, code: str) -> None:
    rendered = render(template, locale, code)
    jurisdiction = JURISDICTIONS[code]
    assert rendered.legal["jurisdiction"] == code
    assert rendered.legal["legal_basis"] == jurisdiction.legal_basis
    for key in jurisdiction.required_fields:
        assert rendered.legal.get(key, "").strip(), f"{locale}/{code}: {key} is empty"
    flat = " ".join(rendered.body_text.split())
    for key in jurisdiction.required_fields:
        values = rendered.legal[key].split() if key == "urls" else [rendered.legal[key]]
        assert all(" ".join(v.split()) in flat for v in values), f"{locale}/{code}: the body must state {key}"
    assert "\n" not in rendered.subject and rendered.subject.endswith("]")
    assert rendered.body_text.endswith("\n") and not rendered.body_text.endswith("\n\n")
    assert "\n\n\n" not in rendered.body_text
    # The attachments it lists: the PDF report and the recipient's copy, never the agency's manifest or raw files.
    assert "report.pdf" in rendered.body_text and "recipient.json" in rendered.body_text
    assert "manifest.json" not in rendered.body_text and "page.html" not in rendered.body_text
    assert rendered.body_html is not None and f'<html lang="{locale}">' in rendered.body_html


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("locale", LOCALES)
def test_drafted_notices_pass_missing_fields(template: LocalePackTemplate, locale: str, code: str) -> None:
    finding = make_finding()
    [notice] = draft_notices(finding, case=sample_case(jurisdiction=code), agency=AGENCY, templates=[template],
                             locales=[locale], recipient=Recipient(address="abuse@mock.example"))
    assert notice.template == "locale_pack"
    assert missing_fields(notice) == []


def test_statements_are_the_sentences_in_the_body(template: LocalePackTemplate) -> None:
    rendered = render(template, "en", "US")
    assert rendered.legal["good_faith_statement"].startswith("I have a good faith belief")
    assert rendered.legal["good_faith_statement"] in rendered.body_text
    assert rendered.legal["depicted_person_authority"] in rendered.body_text
    assert rendered.legal["signature"] == "/s/ Kim Example, Deletion Support Officer"
    assert "Signature: /s/ Kim Example, Deletion Support Officer" in rendered.body_text
    assert "not later than 48 hours" in rendered.body_text and "identical copies" in rendered.body_text
    eu = render(template, "en", "EU")
    assert eu.legal["sender_name"] == "Kim Example, Deletion Support Officer, " + AGENCY.name
    assert "accurate and complete" in eu.legal["accuracy_statement"]


def test_kr_request_holds_the_statutory_content(template: LocalePackTemplate) -> None:
    rendered = render(template, "ko", "KR")
    body = rendered.body_text
    for text in ["https://mock.example/post/1", "불법촬영물", "EX-2026-0001", "+82-2-0000-0000",
                 "takedown@agency.example", "유통 현황", "붙임", "「전기통신사업법」 제22조의5제1항", "지체 없이"]:
        assert text in body, text
    assert rendered.legal["requester"] == AGENCY.name
    assert rendered.legal["requester_registration"] == "EX-2026-0001"
    assert rendered.legal["spread_description"].startswith("mock.example에 공개 게시되어")


def test_unknown_jurisdiction_renders_other(template: LocalePackTemplate) -> None:
    rendered = render(template, "en", "XX")
    assert rendered.legal["jurisdiction"] == "OTHER"
    assert "17 U.S.C. 512(c)(3)" in rendered.body_text


def test_country_code_as_jurisdiction_resolves(template: LocalePackTemplate) -> None:
    assert render(template, "es", "ES").legal["jurisdiction"] == "EU"


def test_blank_jurisdiction_is_a_report_error(template: LocalePackTemplate) -> None:
    with pytest.raises(ReportError, match="jurisdiction code is required"):
        render(template, "en", "")


# -- missing agency settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_blank_registration_number_is_left_empty_for_approval_to_refuse(template: LocalePackTemplate,
                                                                        locale: str) -> None:
    agency = AGENCY.model_copy(update={"registration_number": ""})
    [notice] = draft_notices(make_finding(), case=sample_case(jurisdiction="KR"), agency=agency, templates=[template],
                             locales=[locale], recipient=Recipient(address="abuse@mock.example"))
    assert notice.legal["requester_registration"] == ""
    assert missing_fields(notice) == ["requester_registration"]


def test_default_agency_settings_render_but_lack_kr_fields(template: LocalePackTemplate) -> None:
    rendered = render(template, "ko", "KR", agency=AgencySettings())
    assert "등록번호: (미기재)" in rendered.body_text and "전화: (미기재)" in rendered.body_text
    empty = [key for key in JURISDICTIONS["KR"].required_fields if not rendered.legal[key]]
    assert empty == ["requester_registration", "contact_phone"]


def test_missing_signer_leaves_the_signature_empty(template: LocalePackTemplate) -> None:
    rendered = render(template, "en", "US", agency=AGENCY.model_copy(update={"signer": ""}))
    assert rendered.legal["signature"] == ""


# -- hostile page data -------------------------------------------------------------------------------------------

HOSTILE_TITLE = "Post\r\nBcc: victim@example.com\t{{ 7*7 }} {% raw %}<script>alert(1)</script>\u202e\x00end"


@pytest.mark.parametrize("locale", LOCALES)
def test_hostile_title_is_inert(template: LocalePackTemplate, locale: str) -> None:
    finding = make_finding(title=HOSTILE_TITLE, site="mock.example\r\nBcc: x@evil.example\u200b")
    rendered = template.render(make_context(locale, "US", finding=finding))
    assert not any(unicodedata.category(c) in {"Cc", "Cf"} for c in rendered.subject)
    assert "Bcc: x@evil.example" in rendered.subject  # flattened onto the one line, not a header
    title_line = next(line for line in rendered.body_text.splitlines() if "{{ 7*7 }}" in line)
    assert title_line.endswith("Post Bcc: victim@example.com {{ 7*7 }} {% raw %}<script>alert(1)</script> end")
    assert "49" not in title_line
    assert not any(unicodedata.category(c) in {"Cc", "Cf"} for c in rendered.body_text.replace("\n", ""))
    assert rendered.body_html is not None
    assert "<script>" not in rendered.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.body_html


def test_hostile_url_stays_one_token(template: LocalePackTemplate) -> None:
    finding = make_finding(url="https://mock.example/post/1\r\nBcc: x@evil.example")
    rendered = template.render(make_context("en", "OTHER", finding=finding))
    assert "  1. https://mock.example/post/1%0D%0ABcc:%20x@evil.example\n" in rendered.body_text
    assert "\nBcc:" not in rendered.body_text
    assert rendered.legal["urls"].split()[0] == "https://mock.example/post/1%0D%0ABcc:%20x@evil.example"


def test_long_titles_are_cut(template: LocalePackTemplate) -> None:
    rendered = template.render(make_context("en", "OTHER", finding=make_finding(title="x" * 1000)))
    title_line = next(line.strip() for line in rendered.body_text.splitlines() if "Page title:" in line)
    assert len(title_line) < 220 and title_line.endswith("…")


def test_one_line() -> None:
    assert one_line("a\r\nb\tc\u2028d\u202ee\u200bf  g ") == "a b c def g"


def test_html_lists_urls_and_escapes_everything() -> None:
    page = text_to_html("Intro & more\n\nWhere:\n  - https://a.example/?x=<1>\n  - b\nafter", lang="en", title="T<>")
    assert "<title>T&lt;&gt;</title>" in page
    assert "<p>Intro &amp; more</p>" in page
    assert "<ul>\n<li>https://a.example/?x=&lt;1&gt;</li>\n<li>b</li>\n</ul>" in page
    assert "<p>after</p>" in page


# -- material types ----------------------------------------------------------------------------------------------


def test_material_type_comes_from_the_candidate(template: LocalePackTemplate) -> None:
    finding = make_finding(metadata={"material_type": "deepfake"})
    rendered = template.render(make_context("ko", "KR", finding=finding))
    assert rendered.legal["material_type"].startswith("편집·합성물")
    default = render(template, "ko", "KR")
    assert default.legal["material_type"].startswith("불법촬영물")
    csam = template.render(make_context("en", "KR", finding=make_finding(metadata={"material_type": "csam"})))
    assert csam.legal["material_type"] == "child sexual exploitation material"


def test_unknown_material_type_is_a_report_error(template: LocalePackTemplate) -> None:
    with pytest.raises(ReportError, match="unknown material_type"):
        template.render(make_context("en", "KR", finding=make_finding(metadata={"material_type": "cats"})))


# -- dates -------------------------------------------------------------------------------------------------------


def test_dates_follow_the_locale_and_the_agency_time_zone(template: LocalePackTemplate) -> None:
    dated = {locale: render(template, locale, "OTHER").body_text.splitlines()[2] for locale in LOCALES}
    assert "2026년 3월 2일 15:00" in dated["ko"]
    assert "2026年3月2日 15:00" in dated["ja"]
    assert "2026年3月2日 15:00" in dated["zh-Hans"]
    assert "2 марта 2026 г." in dated["ru"]
    assert "2 de marzo de 2026" in dated["es"]
    assert "ngày 2 tháng 3 năm 2026" in dated["vi"]
    assert "March 2, 2026, 15:00" in dated["en"]
    assert all("GMT+09:00" in line for line in dated.values())
    assert len(set(dated.values())) == len(LOCALES)
    paris = AGENCY.model_copy(update={"time_zone": "Europe/Paris"})
    assert "07:00 (GMT+01:00)" in render(template, "en", "OTHER", agency=paris).body_text


def test_recheck_date_follows_the_jurisdiction_deadline(template: LocalePackTemplate) -> None:
    assert "check the locations again after March 3, 2026, 15:00" in render(template, "en", "KR").body_text
    assert "check the locations again after March 4, 2026, 15:00" in render(template, "en", "US").body_text
    assert "check the locations again after March 5, 2026, 15:00" in render(template, "en", "EU").body_text


# -- overrides ---------------------------------------------------------------------------------------------------


def test_override_replaces_one_template(template: LocalePackTemplate, tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "subject.KR.txt.j2").write_text("Agency subject for {{ site }} [{{ case_ref }}]\n")
    overridden = LocalePackTemplate(overrides=tmp_path, clock=fixed_clock)
    assert overridden.locales == template.locales
    mine = render(overridden, "en", "KR")
    shipped = render(template, "en", "KR")
    assert mine.subject.startswith("Agency subject for mock.example [")
    assert mine.body_text == shipped.body_text
    assert render(overridden, "en", "US").subject == render(template, "en", "US").subject


def test_override_strings_merge_key_by_key(template: LocalePackTemplate, tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "strings.toml").write_text('[labels]\nlocation = "Where it is"\n', encoding="utf-8")
    rendered = render(LocalePackTemplate(overrides=tmp_path, clock=fixed_clock), "en", "US")
    assert "Where it is:\n  1. https://mock.example/post/1" in rendered.body_text
    assert "Date of detection:" in rendered.body_text


def test_override_can_add_a_locale_and_fields_it_omits_stay_empty(tmp_path: Path) -> None:
    folder = tmp_path / "de"
    folder.mkdir()
    (folder / "strings.toml").write_text(
        '[labels]\n[material_types]\nillegally_filmed = "ohne Einwilligung"\n', encoding="utf-8")
    (folder / "subject.OTHER.txt.j2").write_text("Löschungsersuchen {{ site }}\n", encoding="utf-8")
    (folder / "body.OTHER.txt.j2").write_text(
        "Bitte löschen:\n{% for url in urls %}- {{ url }}\n{% endfor %}{{ agency.email }}\n", encoding="utf-8")
    pack = LocalePackTemplate(overrides=tmp_path, clock=fixed_clock)
    assert "de" in pack.locales
    rendered = render(pack, "de", "US")
    assert rendered.subject == "Löschungsersuchen mock.example"
    empty = sorted(key for key in JURISDICTIONS["US"].required_fields if not rendered.legal[key])
    assert empty == ["depicted_person_authority", "good_faith_statement", "identification", "requester", "signature"]


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ agency.__class__ }}",
])
def test_sandbox_escape_in_an_override_is_a_report_error(tmp_path: Path, payload: str) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "body.US.txt.j2").write_text(payload, encoding="utf-8")
    pack = LocalePackTemplate(overrides=tmp_path, clock=fixed_clock)
    with pytest.raises(ReportError, match="SecurityError") as caught:
        render(pack, "en", "US")
    assert isinstance(caught.value.__cause__, SecurityError)


def test_undefined_value_in_an_override_is_a_report_error(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "body.US.txt.j2").write_text("{{ no_such_value }}", encoding="utf-8")
    with pytest.raises(ReportError, match="no_such_value"):
        render(LocalePackTemplate(overrides=tmp_path), "en", "US")


def test_broken_override_strings_are_a_report_error(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "strings.toml").write_text("[labels\n", encoding="utf-8")
    with pytest.raises(ReportError, match="not valid TOML"):
        render(LocalePackTemplate(overrides=tmp_path), "en", "US")


def test_overrides_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a folder"):
        LocalePackTemplate(overrides=tmp_path / "missing")


# -- golden files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("locale", LOCALES)
def test_golden(template: LocalePackTemplate, locale: str, code: str) -> None:
    rendered = render(template, locale, code)
    text = f"{rendered.subject}\n\n{rendered.body_text}"
    path = GOLDEN / f"{locale}.{code}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.is_file(), f"{path} is missing; run with UPDATE_GOLDEN=1 to write it"
    assert text.encode("utf-8") == path.read_bytes(), f"{path.name} differs; if intended, run with UPDATE_GOLDEN=1"


def test_no_stray_golden_files() -> None:
    expected = {f"{locale}.{code}.txt" for locale in LOCALES for code in CODES}
    assert {p.name for p in GOLDEN.glob("*.txt")} == expected


# -- choosing the language ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("country", "site", "expected"), [
    ("KR", None, ["ko"]),
    ("kr", "en", ["ko"]),
    ("US", "ko", ["en"]),
    ("GB", None, ["en"]),
    ("UK", None, ["en"]),
    ("CN", None, ["zh-Hans"]),
    ("SG", None, ["zh-Hans"]),
    ("TW", None, ["zh-Hans"]),
    ("HK", None, ["zh-Hans"]),
    ("JP", None, ["ja"]),
    ("RU", None, ["ru"]),
    ("KZ", None, ["ru"]),
    ("VN", None, ["vi"]),
    ("MX", None, ["es"]),
    ("ES", "en", ["es"]),
    ("DE", "ru", ["en"]),  # the country decides; German has no pack, so English
    ("ZZ", "es-MX", ["es"]),  # unknown country: the site's language
    (None, "zh-CN", ["zh-Hans"]),
    (None, "zh", ["zh-Hans"]),
    (None, "zh-Hans-CN", ["zh-Hans"]),
    (None, "zh_TW", ["zh-Hans"]),
    (None, "en-US", ["en"]),
    (None, "ja-JP", ["ja"]),
    (None, "pt-BR", ["en"]),  # no Portuguese pack
    (None, "??", ["en"]),
    (None, None, ["en"]),
])
def test_notice_locales(country: str | None, site: str | None, expected: list[str]) -> None:
    assert notice_locales(recipient_country=country, site_language=site, agency_language="ko",
                          supported=SUPPORTED_LOCALES) == expected


def test_notice_locales_bilingual() -> None:
    kwargs: dict[str, object] = {"site_language": None, "agency_language": "ko", "supported": SUPPORTED_LOCALES}
    assert notice_locales(recipient_country="KR", bilingual=True, **kwargs) == ["ko", "en"]  # type: ignore[arg-type]
    assert notice_locales(recipient_country="US", bilingual=True, **kwargs) == ["en"]  # type: ignore[arg-type]
    assert notice_locales(recipient_country="DE", bilingual=True, **kwargs) == ["en"]  # type: ignore[arg-type]


def test_notice_locales_respects_supported() -> None:
    assert notice_locales(recipient_country="JP", site_language=None, agency_language="en",
                          supported=frozenset({"en", "ko"})) == ["en"]
    # Without English, the agency's language is the fallback.
    assert notice_locales(recipient_country="US", site_language=None, agency_language="ko-KR",
                          supported=frozenset({"ko"}), bilingual=True) == ["ko"]
    with pytest.raises(UsageError, match="neither 'en'"):
        notice_locales(recipient_country="US", site_language=None, agency_language="ja",
                       supported=frozenset({"ko"}))


@pytest.mark.parametrize(("tag", "expected"), [
    ("en-US", "en"), ("EN", "en"), ("zh-Hant-TW", "zh-Hans"), ("es_419", "es"), ("", None), (None, None),
    ("x", None), ("1234", None), ("fil-PH", "fil"),
])
def test_normalise_language(tag: str | None, expected: str | None) -> None:
    assert normalise_language(tag) == expected


def test_every_locale_pack_file_is_flat_and_named_as_shipped() -> None:
    root = Path(__file__).resolve().parent.parent / "takedown" / "locales"
    for locale in LOCALES:
        folder = root / locale
        names = {p.name for p in folder.iterdir()}
        assert not any(p.is_dir() for p in folder.iterdir()), f"{locale}: keep files flat so they ship"
        assert "strings.toml" in names and "body.base.txt.j2" in names
        for code in CODES:
            assert {f"subject.{code}.txt.j2", f"body.{code}.txt.j2"} <= names, locale
        assert all(re.fullmatch(r"[\w.]+\.(j2|toml)", n) for n in names), names


# -- reminders ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("escalated", [False, True])
@pytest.mark.parametrize("locale", LOCALES)
def test_a_reminder_says_so_in_its_subject_and_first_paragraph(
    template: LocalePackTemplate, locale: str, escalated: bool
) -> None:
    first = "<ntc-1.abc123@agency.example>"
    reminder = ReminderOf(number=2, first_sent_at=NOW - timedelta(days=3), first_message_id=first, escalated=escalated)
    plain = render(template, locale, "KR")
    again = template.render(make_context(locale, "KR").model_copy(update={"reminder": reminder}))
    assert again.subject != plain.subject and again.subject.endswith(plain.subject)
    assert "2" in again.subject.removesuffix(plain.subject), "which reminder this is"
    opening = again.body_text.split("\n\n", 1)[0]
    assert first in opening, "the first request's Message-ID"
    assert again.body_text.endswith(plain.body_text), "then the request itself, every required field still stated"
    flat = " ".join(again.body_text.split())
    for key, value in again.legal.items():
        if key not in ("jurisdiction", "legal_basis") and value:
            assert all(" ".join(v.split()) in flat for v in (value.split() if key == "urls" else [value])), key
    if escalated:
        assert "mock.example" in opening, "an escalation names the site whose operator did not act"


# -- the material type -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_kr_requests_name_each_kind_of_material_and_state_what_fits_it(template: LocalePackTemplate,
                                                                       locale: str) -> None:
    """A deepfake was not "filmed against the will" of anyone, and no consent makes child sexual exploitation
    material lawful: each type gets its own subject and statement."""
    rendered = {kind: render(template, locale, "KR", finding=make_finding(metadata={"material_type": kind}))
                for kind in ("illegally_filmed", "edited_synthesised", "child_sexual_exploitation")}
    subjects = {r.subject for r in rendered.values()}
    assert len(subjects) == 3
    statements = [set(r.body_text.split("\n")) for r in rendered.values()]
    for one, other in ((0, 1), (0, 2), (1, 2)):
        assert statements[one] - statements[other], "each type states something the others do not"
    filmed = rendered["illegally_filmed"].body_text
    assert not any(line in rendered["edited_synthesised"].body_text for line in filmed.split("\n")
                   if ("filmed" in line or "촬영대상자" in line) and len(line) > 40)


# -- who reviewed a pack -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_every_pack_says_who_reviewed_it(locale: str) -> None:
    review = pack_review(locale)
    assert review is not None and review.language and review.language != locale
    if review.native_review:
        assert review.reviewed_by and re.fullmatch(r"\d{4}-\d{2}-\d{2}", review.reviewed_on)
        assert "reviewed by" in review.describe()
    else:
        assert review.note and "not reviewed by a native speaker" in review.describe()
    assert pack_review("xx-Nowhere") is None
