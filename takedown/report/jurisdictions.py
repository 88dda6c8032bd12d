"""The legal bases a deletion request can rest on, and what each one requires the request to contain.

One frozen ``Jurisdiction`` per legal regime, keyed by a short code (``KR``, ``US``, ``EU``, ``UK``, ``AU``, ``JP``,
and ``OTHER`` for everywhere else). Each names its statute, links the primary texts, lists the keys of
``Notice.legal`` that a request under it must fill (``required_fields``), and gives the point after which takedown
re-checks the URLs (``deadline``).

Every rule below carries its source in a comment beside it. The texts were checked against the primary sources
listed in ``sources``; re-check them when a statute changes (the UK 48-hour deadline, for one, is announced but not
yet statutory).

The field keys (``FIELD_KEYS``: ``urls``, ``material_type``, ``requester``, ...) and the jurisdiction codes
(``JurisdictionCode``) are defined, each key with what it means, in ``takedown.legal``, where the site adapters that
fill web report forms can use them too; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from takedown.errors import UsageError
from takedown.legal import FIELD_KEYS, JurisdictionCode
from takedown.models import Notice

__all__ = [
    "FIELD_KEYS",
    "JURISDICTIONS",
    "Jurisdiction",
    "JurisdictionCode",
    "deadline_for",
    "get_jurisdiction",
    "jurisdiction_for_country",
    "missing_fields",
]


class Jurisdiction(BaseModel):
    """One legal basis for a deletion request: the statute, its sources, what a request must hold, and when to re-check.

    ``deadline`` is when takedown follows the request up, not always a statutory period: where the law says
    "without delay" or "timely", the registry documents the point chosen and why, beside the rule.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    code: JurisdictionCode
    name: str
    legal_basis: str = Field(description="the statute and article, in English")
    sources: tuple[str, ...] = Field(description="URLs of the primary texts")
    required_fields: tuple[str, ...] = Field(description="keys that must be present and non-empty in Notice.legal")
    deadline: timedelta | None = Field(description="when to re-check the URLs after the request is sent")
    deadline_text: str = Field(description="the deadline in the law's own terms, in English")
    countries: tuple[str, ...] = Field(default=(), description="ISO 3166-1 alpha-2 codes the jurisdiction covers")


# The 27 member states of the European Union (ISO 3166-1 alpha-2; Greece is GR, not the EU's "EL").
_EU_MEMBER_STATES = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)

_KR = Jurisdiction(
    code="KR",
    name="Republic of Korea",
    # 전기통신사업법 제22조의5제1항: a value-added telecommunications operator that learns, through a report or a
    # deletion request from the victim or a body designated by Presidential Decree, that illegally filmed material
    # (성폭력처벌법 제14조 촬영물·복제물, 제14조의2 편집물·합성물·가공물, 청소년성보호법 제2조제5호
    # 아동·청소년성착취물) is circulating must delete it or block access "without delay" (지체 없이).
    # 시행령 제30조의5: the designated requesting bodies and the request, by the statutory form or a document with the
    # same content (URLs, type, requester and registration number, contact, how it is spreading, attachments).
    legal_basis=(
        "Telecommunications Business Act, Article 22-5(1), and its Enforcement Decree, Article 30-5 "
        "(deletion or blocking request by a designated body)"
    ),
    sources=(
        "https://www.law.go.kr/법령/전기통신사업법/제22조의5",
        "https://www.law.go.kr/법령/전기통신사업법시행령/제30조의5",
    ),
    # The statutory request form's content (Enforcement Decree Art. 30-5 and its form).
    required_fields=(
        "urls", "material_type", "requester", "requester_registration",
        "contact_phone", "contact_email", "spread_description",
    ),
    # "Without delay" (Art. 22-5(1)) has no number. We re-check after 24 hours: the follow-up point we chose,
    # not a statutory period.
    deadline=timedelta(hours=24),
    deadline_text="without delay (Article 22-5(1)); takedown re-checks after 24 hours",
    countries=("KR",),
)

_US = Jurisdiction(
    code="US",
    name="United States",
    # TAKE IT DOWN Act (S. 146, 119th Congress; Pub. L. 119-12, enacted 2025-05-19), section 3: covered platforms
    # must run a notice-and-removal process within one year of enactment, i.e. from 2026-05-19.
    legal_basis=(
        "TAKE IT DOWN Act (Pub. L. 119-12), section 3: notice and removal of nonconsensual intimate visual depictions"
    ),
    sources=("https://www.congress.gov/bill/119th-congress/senate-bill/146/text",),
    # Section 3(a)(1)(B): a valid request is in writing and includes (i) a physical or electronic signature of the
    # identifiable individual or of someone authorised to act for them; (ii) identification of, and information
    # reasonably sufficient to locate, the depiction; (iii) a brief statement of the individual's good-faith belief
    # that the depiction is not consensual; (iv) information sufficient to contact the individual or their
    # authorised representative.
    required_fields=(
        "urls", "identification", "requester", "signature",
        "depicted_person_authority", "good_faith_statement", "contact_email",
    ),
    # Section 3(a)(3): remove "as soon as possible, but not later than 48 hours" after a valid request, and make
    # reasonable efforts to identify and remove known identical copies.
    deadline=timedelta(hours=48),
    deadline_text="as soon as possible, and not later than 48 hours after receiving a valid request (section 3(a)(3))",
    countries=("US", "PR", "GU", "VI", "AS", "MP", "UM"),
)

_EU = Jurisdiction(
    code="EU",
    name="European Union",
    # Regulation (EU) 2022/2065 (Digital Services Act), Article 16: notice and action mechanisms of hosting services.
    legal_basis="Regulation (EU) 2022/2065 (Digital Services Act), Article 16 (notice and action)",
    sources=(
        "https://eur-lex.europa.eu/eli/reg/2022/2065/oj",
        "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32022R2065#art_16",
    ),
    # Art. 16(2): (a) a sufficiently substantiated explanation of why the information is illegal content; (b) a
    # clear indication of its exact electronic location, such as the exact URL(s); (c) the name and email address
    # of the individual or entity submitting the notice; (d) a statement confirming the submitter's bona fide belief
    # that the information and allegations in it are accurate and complete.
    required_fields=(
        "urls", "reason", "sender_name", "contact_email", "good_faith_statement", "accuracy_statement",
    ),
    # Art. 16(6): decide "in a timely, diligent, non-arbitrary and objective manner" -- no number. Art. 16(4)-(5):
    # confirm receipt and notify the decision without undue delay. We re-check after 72 hours: our choice.
    deadline=timedelta(hours=72),
    deadline_text="timely (Article 16(6)); takedown re-checks after 72 hours",
    countries=_EU_MEMBER_STATES,
)

_UK = Jurisdiction(
    code="UK",
    name="United Kingdom",
    # Online Safety Act 2023, s. 10(3)(b): a user-to-user service must swiftly take down illegal content once
    # alerted to it. Sharing intimate images without consent (Sexual Offences Act 2003 s. 66B, inserted by OSA
    # s. 188) is a priority offence: Schedule 7 para. 28A, inserted by the Online Safety Act 2023 (Priority
    # Offences) (Amendment) Regulations 2024. The Act prescribes no notice fields: identification, location and
    # reason are what a provider needs to act.
    legal_basis=(
        "Online Safety Act 2023, section 10(3)(b), with Schedule 7 (sharing intimate images without consent, "
        "Sexual Offences Act 2003 section 66B, is a priority offence)"
    ),
    sources=(
        "https://www.legislation.gov.uk/ukpga/2023/50/section/10",
        "https://www.legislation.gov.uk/ukpga/2023/50/schedule/7",
        "https://www.legislation.gov.uk/ukpga/2003/42/section/66B",
    ),
    required_fields=("urls", "identification", "reason", "requester", "contact_email"),
    # 48 hours: announced by the UK Government (2026) for intimate image abuse; not yet a statutory period, so the
    # notice asks for it rather than cites it. Re-check when it is enacted.
    deadline=timedelta(hours=48),
    deadline_text="swiftly (section 10(3)(b)); 48 hours as announced by the UK Government",
    countries=("GB",),
)

_AU = Jurisdiction(
    code="AU",
    name="Australia",
    # Online Safety Act 2021 (Cth): s. 75 prohibits posting an intimate image without consent (civil penalty);
    # s. 77 (to the service provider) and s. 78 (to the end-user who posted it) let the eSafety Commissioner give a
    # removal notice requiring removal within 24 hours; s. 77(2): the image is identified "so far as is reasonably
    # practicable" in a way sufficient to comply.
    legal_basis="Online Safety Act 2021 (Cth), section 75 and sections 77-78 (removal notices for intimate images)",
    sources=(
        "https://www.legislation.gov.au/C2021A00076/latest/text",
    ),
    required_fields=("urls", "identification", "requester", "contact_email"),
    # s. 77(1)(f)(i) and s. 78(1)(g)(i): 24 hours after the removal notice is given.
    deadline=timedelta(hours=24),
    deadline_text="24 hours (sections 77(1)(f) and 78(1)(g))",
    countries=("AU",),
)

_JP = Jurisdiction(
    code="JP",
    name="Japan",
    # 私事性的画像記録の提供等による被害の防止に関する法律 (Act No. 126 of 2014), Art. 4: special provision to the
    # provider liability law (since 2025 the 情報流通プラットフォーム対処法). When the person depicted asks a
    # provider to stop transmission, showing the private sexual image information, the right infringed and the
    # reasons, the provider asks the sender whether they consent to removal; if the sender does not object within
    # 2 days (instead of the general 7), the provider may remove it without liability to the sender.
    legal_basis=(
        "Act on Prevention of Victimization Resulting from Provision of Private Sexual Image Records "
        "(Act No. 126 of 2014), Article 4"
    ),
    sources=("https://elaws.e-gov.go.jp/document?lawid=426AC1000000126",),
    required_fields=("urls", "requester", "right_infringed", "reason", "contact_email"),
    # Art. 4: 2 days after the provider's inquiry to the sender without objection.
    deadline=timedelta(days=2),
    deadline_text=(
        "the provider may remove the material if the sender does not object within 2 days of its inquiry (Article 4)"
    ),
    countries=("JP",),
)

_OTHER = Jurisdiction(
    code="OTHER",
    name="Other jurisdictions",
    # 17 U.S.C. 512(c)(3)(A) (DMCA), the closest generally recognised form of a removal notice: (i) signature;
    # (ii) identification of the work; (iii) identification and location of the material; (iv) contact information;
    # (v) good-faith statement; (vi) statement of accuracy and authority to act.
    legal_basis="Notice in the form of 17 U.S.C. 512(c)(3) (DMCA), as the closest general template",
    sources=("https://uscode.house.gov/view.xhtml?req=granuleid:USC-prelim-title17-section512",),
    required_fields=(
        "urls", "identification", "requester", "signature", "contact_email",
        "good_faith_statement", "accuracy_statement",
    ),
    # No statutory period: we ask for removal and re-check after 72 hours (our choice).
    deadline=timedelta(hours=72),
    deadline_text="no statutory period; takedown re-checks after 72 hours",
    countries=(),
)

JURISDICTIONS: Mapping[str, Jurisdiction] = MappingProxyType(
    {j.code: j for j in (_KR, _US, _EU, _UK, _AU, _JP, _OTHER)}
)
"""Every known jurisdiction by code; ``OTHER`` is the fallback."""

_BY_COUNTRY: Mapping[str, Jurisdiction] = MappingProxyType(
    {country: j for j in JURISDICTIONS.values() for country in j.countries}
)


def deadline_for(code: str, hours: Mapping[str, float] | None = None) -> timedelta | None:
    """When a request under ``code`` is checked again after it is sent: the agency's ``[report] deadline_hours``
    for that jurisdiction when it names one, else the registry's ``deadline``."""
    jurisdiction = get_jurisdiction(code)
    configured = (hours or {}).get(jurisdiction.code)
    return timedelta(hours=configured) if configured is not None else jurisdiction.deadline


def get_jurisdiction(code: str) -> Jurisdiction:
    """The jurisdiction for ``code``, case-insensitively.

    A jurisdiction code (``KR``, ``EU``, ...) gives that jurisdiction; an ISO country code that one of them covers
    gives that one (``DE`` gives ``EU``, ``GB`` gives ``UK``); anything else gives ``OTHER``, never an error.

    Raises:
        UsageError: ``code`` is empty or blank.
    """
    key = code.strip().upper()
    if not key:
        raise UsageError("a jurisdiction code is required (KR, US, EU, UK, AU, JP or OTHER)")
    return JURISDICTIONS.get(key) or _BY_COUNTRY.get(key) or _OTHER


def jurisdiction_for_country(country: str | None) -> Jurisdiction:
    """The jurisdiction covering ``country`` (ISO 3166-1 alpha-2, any case); ``OTHER`` when none does or it is unknown.

    ``UK`` is accepted as an alias of ``GB``.
    """
    key = (country or "").strip().upper()
    if key == "UK":
        key = "GB"
    return _BY_COUNTRY.get(key, _OTHER)


def missing_fields(notice: Notice) -> list[str]:
    """The required keys of ``notice``'s jurisdiction that are absent or blank in ``notice.legal``, in registry order.

    An empty list means the notice holds everything its legal basis asks for. ``urls`` is also missing when the
    body does not state the URL of every page the notice lists (``Notice.items``), whatever the jurisdiction. In a
    body an officer rewrote (``Notice.hand_edited``), a field is missing too unless the body states its value word
    for word (whitespace aside): what the recipient reads must hold what the record says.

    Raises:
        UsageError: the notice has no jurisdiction.
    """
    jurisdiction = get_jurisdiction(notice.jurisdiction)
    missing = [key for key in jurisdiction.required_fields if not notice.legal.get(key, "").strip()]
    if "body_text" in notice.hand_edited:
        flat = " ".join(notice.body_text.split())
        missing += [key for key in jurisdiction.required_fields if key not in missing and key != "urls"
                    and " ".join(notice.legal[key].split()) not in flat]
    # A notice that lists several locations must state each page's URL in its body (the template's, or an edit's).
    body = notice.body_text
    if "urls" not in missing and any(item.url.strip() not in body for item in notice.items):
        missing.append("urls")
    return missing
