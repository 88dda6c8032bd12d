"""Recipients: security.txt parsing, the site operator's addresses ranked and checked, and the escalation order."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.errors import ReportError
from takedown.models import ContactHint, Finding, PageRecord, Recipient, RecipientKind
from takedown.report.draft import draft_notices
from takedown.report.rdap import RdapClient
from takedown.report.recipients import email_addresses, escalation_order, recipients_for, resolve_recipients
from takedown.report.security_txt import SecurityTxt, parse_security_txt
from takedown.settings import AgencySettings, NetworkSettings
from takedown.testing import StaticTemplate, sample_case, sample_finding

NOW = datetime(2025, 6, 1, tzinfo=UTC)
SOURCE = "https://site.example/.well-known/security.txt"
URL = "https://www.site.example/post/1"
CONTACT_PAGE = "https://www.site.example/contact"


# -- security.txt ---------------------------------------------------------------------------------------------


def test_security_txt_fields() -> None:
    text = (
        "# Our security policy\n"
        "Contact: mailto:security@site.example\n"
        "Contact: https://site.example/report\n"
        "Contact: tel:+82-2-555-0100\n"
        "Expires: 2026-01-01T00:00:00Z\n"
        "Preferred-Languages: en, ko , ja\n"
        "Policy: https://site.example/policy\n"
        "Canonical: https://site.example/.well-known/security.txt\n"
        "Encryption: https://site.example/pgp.asc\n"
        "Hiring: https://site.example/jobs\n"
        "X-Unknown-Field: whatever\n"
    )
    parsed = parse_security_txt(text, source=SOURCE, now=NOW)
    assert parsed.contacts == ["mailto:security@site.example", "https://site.example/report", "tel:+82-2-555-0100"]
    assert parsed.emails == ["security@site.example"]
    assert parsed.web_contacts == ["https://site.example/report"]
    assert parsed.phones == ["tel:+82-2-555-0100"]
    assert parsed.expires == datetime(2026, 1, 1, tzinfo=UTC) and not parsed.expired
    assert parsed.preferred_languages == ["en", "ko", "ja"]
    assert parsed.policy == ["https://site.example/policy"]
    assert parsed.canonical == ["https://site.example/.well-known/security.txt"]
    assert parsed.encryption == ["https://site.example/pgp.asc"]
    assert parsed.source == SOURCE and not parsed.signed
    assert parsed.errors == []


def test_security_txt_crlf_case_and_bom() -> None:
    text = "\ufeffcontact:   MAILTO:Sec@Site.Example  \r\nEXPIRES: 2026-01-01T09:00:00+09:00\r\n\r\n"
    parsed = parse_security_txt(text, source=SOURCE, now=NOW)
    assert parsed.contacts == ["mailto:Sec@Site.Example"]
    assert parsed.expires == datetime(2026, 1, 1, tzinfo=UTC)
    assert parsed.errors == []


def test_security_txt_signed() -> None:
    text = (
        "-----BEGIN PGP SIGNED MESSAGE-----\r\n"
        "Hash: SHA512\r\n"
        "\r\n"
        "Contact: mailto:security@site.example\r\n"
        "- -----not a signature line, dash-escaped\r\n"
        "Expires: 2026-01-01T00:00:00.000Z\r\n"
        "-----BEGIN PGP SIGNATURE-----\r\n"
        "\r\n"
        "iHUEARYKAB0WIQTContact: mailto:forged@attacker.example\r\n"
        "Contact: mailto:forged@attacker.example\r\n"
        "=abcd\r\n"
        "-----END PGP SIGNATURE-----\r\n"
        "Contact: mailto:appended@attacker.example\r\n"
    )
    parsed = parse_security_txt(text, source=SOURCE, now=NOW)
    assert parsed.signed
    assert parsed.contacts == ["mailto:security@site.example"], "only the signed content counts"
    assert parsed.expires == datetime(2026, 1, 1, tzinfo=UTC)
    assert parsed.errors == ["line 2: not a 'Field: value' line; skipped"]


def test_security_txt_expired_and_missing_expiry() -> None:
    expired = parse_security_txt("Contact: mailto:a@site.example\nExpires: 2020-01-01T00:00:00Z\n", source=SOURCE,
                                 now=NOW)
    assert expired.expired and expired.contacts == ["mailto:a@site.example"]
    assert not parse_security_txt("Contact: mailto:a@site.example\nExpires: 2020-01-01T00:00:00Z\n",
                                  source=SOURCE, now=datetime(2019, 1, 1, tzinfo=UTC)).expired
    missing = parse_security_txt("Contact: mailto:a@site.example\n", source=SOURCE, now=NOW)
    assert not missing.expired and missing.expires is None and missing.errors == ["no Expires field"]
    twice = parse_security_txt("Contact: mailto:a@site.example\nExpires: 2030-01-01T00:00:00Z\n"
                               "Expires: 2020-01-01T00:00:00Z\n", source=SOURCE, now=NOW)
    assert not twice.expired and "line 3: Expires appears more than once; the first is used" in twice.errors
    naive = parse_security_txt("Contact: mailto:a@site.example\nExpires: 2020-01-01T00:00:00\n", source=SOURCE,
                               now=NOW)
    assert naive.expired and any("no time zone" in e for e in naive.errors)
    bad = parse_security_txt("Contact: mailto:a@site.example\nExpires: next tuesday\n", source=SOURCE, now=NOW)
    assert bad.expires is None and not bad.expired and any("not an RFC 3339" in e for e in bad.errors)


def test_security_txt_contacts_that_are_not_uris() -> None:
    text = ("Contact: security@site.example\nContact: http://site.example/plain-http\nContact: javascript:alert(1)\n"
            "Contact: https:nohost\nContact: mailto:security@site.example\nContact:\n"
            "Expires: 2026-01-01T00:00:00Z\n")
    parsed = parse_security_txt(text, source=SOURCE, now=NOW)
    assert parsed.contacts == ["mailto:security@site.example"], "a bare address is read as mailto, once"
    assert len(parsed.errors) == 5


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "no usable Contact field"),
        ("<!DOCTYPE html><html><body>Contact: mailto:x@site.example</body></html>", "HTML page"),
        ("  <html lang=en>\n<p>Contact: mailto:x@site.example", "HTML page"),
        ("\x00\x01\x02Contact: mailto:x@site.example\x00", "binary"),
        ("just some words\nand more\n" * 10, "more lines were not 'Field: value' lines"),
        ("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: mailto:x@site.example\n",
         "signed message has no signature block"),
    ],
)
def test_security_txt_garbage(text: str, error: str) -> None:
    parsed = parse_security_txt(text, source=SOURCE, now=NOW)
    assert any(error in e for e in parsed.errors), parsed.errors
    if "Contact" not in text or "html" in text or "\x00" in text:
        assert parsed.contacts == []


def test_security_txt_limits_what_it_reads() -> None:
    parsed = parse_security_txt("x\n" * 200_000, source=SOURCE, now=NOW)
    assert parsed.contacts == [] and len(parsed.errors) <= 21
    assert parse_security_txt(b"Contact: mailto:a@b.example", source=SOURCE).errors == [  # type: ignore[arg-type]
        "expected text, got bytes"
    ]


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(list("Contact:Expires-mailto@https/ \r\n\t#\x00<>Z0123456789TPGBEGIN")))
       | st.text())
def test_security_txt_never_raises(text: str) -> None:
    assert isinstance(parse_security_txt(text, source=SOURCE), SecurityTxt)


# -- email addresses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abuse@site.example", ["abuse@site.example"]),
        ("  Abuse@Site.Example ", ["abuse@site.example"]),
        ("mailto:abuse@site.example?subject=x", ["abuse@site.example"]),
        ("MAILTO:a@site.example,b@site.example,A@site.example", ["a@site.example", "b@site.example"]),
        ("mailto:abuse%40site.example", ["abuse@site.example"]),
        ("abuse@bücher.example", ["abuse@xn--bcher-kva.example"]),
        ("a@b.example\r\nBcc: x@y.example", []),
        ("a@b.example\nBcc: x@y.example", []),
        ("mailto:a@b.example%0D%0ABcc:%20x@y.example", []),
        ("a@b.example\x00", []),
        ("Name <a@b.example>", []),
        ("not an address", []),
        ("a@localhost", []),
        ("a@b", []),
        ("abuse@sns.test", []),  # special-use domains (RFC 6761) are refused, as a site file's [report] email is
        ("abuse@sns.invalid", []),
        ("abuse@demo-sns.example", ["abuse@demo-sns.example"]),  # .example is fine
        ("", []),
    ],
)
def test_email_addresses(value: str, expected: list[str]) -> None:
    assert email_addresses(value) == expected


# -- recipients_for -------------------------------------------------------------------------------------------


def finding_with(*contacts: ContactHint, url: str = URL) -> Finding:
    finding = sample_finding(url=url)
    page = PageRecord(url=url, final_url=url, status=200, html_sha256="0" * 64, fetched_at=NOW, contacts=contacts)
    return finding.model_copy(update={"page": page})


def test_recipients_are_ranked_page_contact_page_security_txt_then_forms() -> None:
    security_file = "Contact: mailto:sec@site.example\nContact: https://site.example/vdp\nExpires: 2999-01-01T00:00:00Z"
    finding = finding_with(
        ContactHint(kind="security_txt", value=security_file, source=SOURCE),
        ContactHint(kind="form", value="https://www.site.example/report", source=URL),
        ContactHint(kind="email", value="help@site.example", source=CONTACT_PAGE),
        ContactHint(kind="url", value=CONTACT_PAGE, source=URL),
        ContactHint(kind="email", value="abuse@site.example", source=URL),
        ContactHint(kind="form", value="https://www.site.example/dmca", source=CONTACT_PAGE),
    )
    found = recipients_for(finding)
    assert [(r.address, r.channel, r.source) for r in found] == [
        ("abuse@site.example", "email", f"mailto on {URL}"),
        ("help@site.example", "email", f"contact page {CONTACT_PAGE}"),
        ("sec@site.example", "email", f"security.txt at {SOURCE}"),
        ("https://www.site.example/report", "web_form", f"web form linked from {URL}"),
        ("https://www.site.example/dmca", "web_form", f"web form linked from {CONTACT_PAGE}"),
        ("https://site.example/vdp", "web_form", f"security.txt at {SOURCE}"),
    ]
    assert {r.kind for r in found} == {RecipientKind.SITE_OPERATOR}


def test_recipients_are_deduplicated_keeping_the_best_rank() -> None:
    finding = finding_with(
        ContactHint(kind="security_txt", value="ABUSE@site.example", source=SOURCE),
        ContactHint(kind="email", value="abuse@site.example", source=CONTACT_PAGE),
        ContactHint(kind="email", value="mailto:Abuse@Site.Example", source=URL),
    )
    found = recipients_for(finding)
    assert [(r.address, r.source) for r in found] == [("abuse@site.example", f"mailto on {URL}")]


def test_invalid_and_header_injection_addresses_are_dropped() -> None:
    finding = finding_with(
        ContactHint(kind="email", value="a@b.example\r\nBcc: x@y.example", source=URL),
        ContactHint(kind="email", value="mailto:a@b.example%0ABcc:x@y.example", source=URL),
        ContactHint(kind="email", value="not-an-address", source=URL),
        ContactHint(kind="security_txt", value="a@b.example\r\nBcc: x@y.example", source=SOURCE),
        ContactHint(kind="form", value="javascript:alert(1)", source=URL),
        ContactHint(kind="form", value="https://site.example/form\r\nX: y", source=URL),
        ContactHint(kind="email", value="ok@site.example", source=URL),
    )
    assert [r.address for r in recipients_for(finding)] == ["ok@site.example"]


DECLARED = "site config sites/sns.toml"  # what a site file's [report] email hint names as its source


def test_a_refused_declared_address_is_reported_not_dropped() -> None:
    finding = finding_with(ContactHint(kind="email", value="abuse@sns.test", source=DECLARED),
                           ContactHint(kind="email", value="ok@site.example", source=URL))
    with pytest.raises(ReportError) as raised:
        recipients_for(finding)
    message = str(raised.value)
    assert message.startswith(f"{DECLARED}: a declared contact address is refused"), message
    assert "'abuse@sns.test'" in message and "special-use or reserved name" in message
    errors: list[ReportError] = []
    assert [r.address for r in recipients_for(finding, on_error=errors.append)] == ["ok@site.example"]
    assert [str(e) for e in errors] == [message], "told once, and the other recipients are still found"
    with pytest.raises(ReportError, match=r"abuse@sns\.test"):  # not a silent guess at abuse@site.example
        draft_notices(finding_with(ContactHint(kind="email", value="abuse@sns.test", source=DECLARED)),
                      case=sample_case(), agency=AgencySettings(), templates=[StaticTemplate()], locales=["en"])


def test_a_refused_address_read_off_a_page_is_dropped_quietly() -> None:
    finding = finding_with(ContactHint(kind="email", value="abuse@sns.test", source=URL),
                           ContactHint(kind="email", value="x@@y", source=CONTACT_PAGE))
    errors: list[ReportError] = []
    assert [r.address for r in recipients_for(finding, on_error=errors.append)] == ["abuse@site.example"]
    assert errors == [], "hostile pages are full of bad addresses: not each one is an error"
    good = finding_with(ContactHint(kind="email", value="abuse@demo-sns.example", source=DECLARED))
    assert [r.address for r in recipients_for(good)] == ["abuse@demo-sns.example"]


def test_security_txt_hints_one_value_or_a_whole_file() -> None:
    # What the HTTP site adapter gives today: one hint per Contact line, mailto: stripped.
    single = finding_with(ContactHint(kind="security_txt", value="security@site.example", source=SOURCE),
                          ContactHint(kind="security_txt", value="https://site.example/vdp", source=SOURCE),
                          ContactHint(kind="security_txt", value="tel:+82-2-555-0100", source=SOURCE))
    assert [(r.address, r.channel) for r in recipients_for(single)] == [
        ("security@site.example", "email"), ("https://site.example/vdp", "web_form")]
    expired = finding_with(ContactHint(kind="security_txt", source=SOURCE,
                                       value="Contact: mailto:old@site.example\nExpires: 2020-01-01T00:00:00Z\n"))
    assert [r.source for r in recipients_for(expired)] == [
        "guessed: abuse@ the registered domain site.example"], "an expired file is not used"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.site.example/post/1", ["abuse@site.example"]),
        ("https://m.blog.example.co.kr/p/1", ["abuse@example.co.kr"]),
        ("https://forum.example.com.vn/t/1", ["abuse@example.com.vn"]),
        ("http://93.184.216.34/post/1", []),
        ("http://[2001:db8::1]/post/1", []),
        ("https://co.kr/post", []),
    ],
)
def test_abuse_address_is_guessed_from_the_registered_domain(url: str, expected: list[str]) -> None:
    for finding in (finding_with(url=url), sample_finding(url=url).model_copy(update={"page": None})):
        assert [r.address for r in recipients_for(finding)] == expected


def test_a_form_only_site_still_gets_an_email_guess_first() -> None:
    finding = finding_with(ContactHint(kind="form", value="https://www.site.example/report", source=URL))
    assert [(r.address, r.channel) for r in recipients_for(finding)] == [
        ("abuse@site.example", "email"), ("https://www.site.example/report", "web_form")]


def test_drafting_still_uses_the_best_email_recipient() -> None:
    finding = finding_with(ContactHint(kind="form", value="https://www.site.example/report", source=URL),
                           ContactHint(kind="email", value="Help@Site.Example", source=CONTACT_PAGE))
    notices = draft_notices(finding, case=sample_case(), agency=AgencySettings(), templates=[StaticTemplate()],
                            locales=["en"])
    assert [n.recipient.address for n in notices] == ["Help@site.example"], "the domain normalised, the local part kept"


# -- escalation -----------------------------------------------------------------------------------------------


def test_escalation_order_is_by_kind_and_stable() -> None:
    def r(address: str, kind: RecipientKind) -> Recipient:
        return Recipient(address=address, kind=kind)

    given_order = [r("other@x.example", RecipientKind.OTHER), r("reg@x.example", RecipientKind.REGISTRAR),
                   r("se@x.example", RecipientKind.SEARCH_ENGINE), r("host1@x.example", RecipientKind.HOST),
                   r("site1@x.example", RecipientKind.SITE_OPERATOR), r("host2@x.example", RecipientKind.HOST),
                   r("site2@x.example", RecipientKind.SITE_OPERATOR)]
    assert [x.address for x in escalation_order(given_order)] == [
        "site1@x.example", "site2@x.example", "host1@x.example", "host2@x.example", "reg@x.example",
        "se@x.example", "other@x.example"]
    assert escalation_order([]) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_resolve_recipients_returns_the_site_operator_when_rdap_is_unreachable() -> None:
    finding = finding_with(ContactHint(kind="email", value="abuse@site.example", source=URL))
    errors: list[ReportError] = []

    async def resolve_ip(host: str) -> list[str]:
        return ["127.0.0.1"]

    async def go() -> list[Recipient]:
        network = NetworkSettings(allow_loopback=True, timeout_s=2)
        async with RdapClient(network=network, bootstrap_base=f"http://127.0.0.1:{_closed_port()}/") as rdap:
            return await resolve_recipients(finding, rdap=rdap, resolve_ip=resolve_ip, on_error=errors.append)

    found = asyncio.run(go())
    assert [r.address for r in found] == ["abuse@site.example"]
    assert len(errors) == 2 and all(e.plugin == "rdap" and "request failed" in str(e) for e in errors)


def test_resolve_recipients_survives_a_resolver_failure() -> None:
    finding = finding_with(ContactHint(kind="email", value="abuse@site.example", source=URL))
    errors: list[ReportError] = []

    async def resolve_ip(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def go() -> list[Recipient]:
        # The default guard refuses loopback, so nothing at all leaves this machine.
        async with RdapClient(bootstrap_base=f"http://127.0.0.1:{_closed_port()}/") as rdap:
            return await resolve_recipients(finding, rdap=rdap, resolve_ip=resolve_ip, on_error=errors.append)

    assert [r.address for r in asyncio.run(go())] == ["abuse@site.example"]
    assert sorted(str(e).split(":")[0] for e in errors) == ["blocked by the fetch guard",
                                                             "cannot resolve www.site.example"]


def test_resolve_recipients_passes_a_refused_declared_address_to_on_error() -> None:
    finding = finding_with(ContactHint(kind="email", value="abuse@sns.invalid", source=DECLARED),
                           ContactHint(kind="email", value="abuse@site.example", source=URL))
    errors: list[ReportError] = []

    async def resolve_ip(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def go() -> list[Recipient]:
        async with RdapClient(bootstrap_base=f"http://127.0.0.1:{_closed_port()}/") as rdap:
            return await resolve_recipients(finding, rdap=rdap, resolve_ip=resolve_ip, on_error=errors.append)

    assert [r.address for r in asyncio.run(go())] == ["abuse@site.example"]
    declared = [str(e) for e in errors if str(e).startswith(DECLARED)]
    assert len(declared) == 1 and "'abuse@sns.invalid'" in declared[0]
