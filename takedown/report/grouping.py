"""One request per recipient: which findings a notice lists, in which order, and what it says about each.

A site operator gets one notice per case, language and material type that lists every location: the posts, the
pages that also show their media ("also shown at", see ``takedown.detect.repeats``) and the media files' own URLs,
each with its evidence bundle and hashes. Requests by letter or DMCA-style notice list every location in one
request, and the laws cited ask for the locations, not for one message each; the officer's work then grows with
recipients, not with URLs.

``ReportSettings.group = false`` keeps one notice per finding everywhere; ``ReportSettings.per_url`` keeps it for
the recipients named there (a jurisdiction code, an address or a domain).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from takedown.detect.repeats import matched_media
from takedown.models import EvidenceBundle, Finding, Notice, NoticeItem, NoticeState, Recipient
from takedown.report.language import normalise_language

__all__ = [
    "NoticeGroup",
    "absorbs",
    "group_findings",
    "notice_items",
    "order_findings",
    "request_key",
    "sites_language",
    "wants_per_url",
]


@dataclass(frozen=True)
class NoticeGroup:
    """The findings one recipient gets one notice (per language) about.

    ``per_finding`` is true for a group of one finding kept apart (``group = false`` or ``per_url``);
    ``replaces`` are untouched drafts to the same recipient that this group's notices take the place of.
    """

    recipient: Recipient
    bilingual: bool
    findings: tuple[Finding, ...]
    per_finding: bool = False
    replaces: tuple[Notice, ...] = ()


def wants_per_url(recipient: Recipient, *, jurisdiction: str, per_url: Sequence[str]) -> bool:
    """Whether ``per_url`` names the recipient (its address or its domain) or the notice's jurisdiction."""
    address = recipient.address.strip().lower()
    domain = address.rpartition("@")[2] if recipient.channel == "email" else ""
    for entry in (e.strip() for e in per_url):
        if not entry:
            continue
        if entry.upper() == jurisdiction.upper() or entry.lower() == address:
            return True
        if domain and (domain == entry.lower() or domain.endswith("." + entry.lower())):
            return True
    return False


def _material(finding: Finding) -> str:
    return finding.candidate.metadata.get("material_type", "").strip().lower()


def order_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Findings in the order a notice lists them: findings of their own by when they were found (then URL), each
    followed by the pages that repeat its media, by URL. A repeat whose finding is not among ``findings`` is
    listed as a finding of its own."""
    ids = {f.id for f in findings}
    heads = sorted((f for f in findings if f.canonical_id not in ids),
                   key=lambda f: (f.candidate.found_at, f.candidate.url))
    repeats: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.canonical_id in ids:
            repeats.setdefault(str(finding.canonical_id), []).append(finding)
    ordered: list[Finding] = []
    for head in heads:
        ordered.append(head)
        ordered += sorted(repeats.get(head.id, ()), key=lambda f: f.candidate.url)
    return ordered


def group_findings(
    targets: Sequence[tuple[Finding, Sequence[tuple[Recipient, bool]]]],
    *,
    jurisdiction: str,
    group: bool = True,
    per_url: Sequence[str] = (),
) -> list[NoticeGroup]:
    """The notices to draft: the findings each recipient gets one notice about.

    Args:
        targets: each finding with the recipients it goes to, each with whether an English copy goes beside the
            local language (the workflow's choice: the first email recipient, and the site's web form).
        jurisdiction: the case's jurisdiction (``per_url`` may name it).
        group: ``False`` gives every finding notices of its own.
        per_url: recipients (address, domain) or jurisdictions that get one notice per finding all the same.

    Returns:
        One group per recipient (by address, case-insensitive), channel and material type, its findings in notice
        order (``order_findings``); in the order the recipients were first met.
    """
    keyed: dict[tuple[str, ...], tuple[Recipient, bool, list[Finding]]] = {}
    for finding, recipients in targets:
        for recipient, bilingual in recipients:
            key: tuple[str, ...] = (recipient.channel, recipient.address.casefold(), _material(finding))
            if not group or wants_per_url(recipient, jurisdiction=jurisdiction, per_url=per_url):
                key = (*key, finding.id)
            keyed.setdefault(key, (recipient, bilingual, []))[2].append(finding)
    return [NoticeGroup(recipient=recipient, bilingual=bilingual, findings=tuple(order_findings(members)),
                        per_finding=len(key) == 4)
            for key, (recipient, bilingual, members) in keyed.items()]


def absorbs(group: NoticeGroup, notice: Notice, listed: Sequence[Finding]) -> bool:
    """Whether ``group``'s new notices should take the place of ``notice``, an earlier draft: a first request (not
    a reminder) to the same recipient by the same channel, still a draft nobody has touched (never edited, approved
    or rejected), listing findings of the same material type (``listed``), and neither kept per finding."""
    if group.per_finding or notice.state is not NoticeState.DRAFT or notice.kind != "initial" or notice.history:
        return False
    same_recipient = (notice.recipient.channel == group.recipient.channel
                      and notice.recipient.address.casefold() == group.recipient.address.casefold())
    material = _material(group.findings[0])
    return same_recipient and all(_material(f) == material for f in listed)


def request_key(notice: Notice) -> tuple[str, ...]:
    """What makes notices one request: its copies in each language share the recipient, channel, kind, attempt,
    revision and listed findings (the CLI's review and the console group and lease notices by it)."""
    recipient = notice.recipient
    return (recipient.channel, recipient.address.casefold(), notice.kind, str(notice.attempt), str(notice.revision),
            *notice.finding_ids)


def sites_language(findings: Sequence[Finding]) -> str | None:
    """The language most of the findings' pages are in (the first met, on a tie), or ``None`` if none says."""
    languages = [normalise_language(f.page.language if f.page else f.candidate.language) for f in findings]
    counted = Counter(lang for lang in languages if lang)
    if not counted:
        return None
    top = max(counted.values())
    return next(lang for lang in languages if lang and counted[lang] == top)


def notice_items(findings: Sequence[Finding], bundles: Mapping[str, EvidenceBundle]) -> tuple[NoticeItem, ...]:
    """What a notice lists about each finding: its page, its matched media's URLs and SHA-256, its bundle."""
    items = []
    ids = {f.id for f in findings}
    for finding in findings:
        media = matched_media(finding) or [(m.url, m.sha256, frozenset()) for m in finding.media]
        bundle = bundles.get(finding.id)
        items.append(NoticeItem(
            finding_id=finding.id, url=finding.candidate.url, media=tuple(url for url, _, _ in media),
            sha256=tuple(sha for _, sha, _ in media), bundle_id=bundle.id if bundle is not None else None,
            also_shown_at_of=finding.canonical_id if finding.canonical_id in ids else None,
        ))
    return tuple(items)
