"""Pages that only repeat another page's media: a site's home, archive, category, tag, author and search pages.

A site that shows a post's image on the post also shows it on its home page, its archives and its author page.
Each of those is a page that matches, but asking the operator to act on its home page is noise: the request is
about the post, and the other pages are where it is *also shown*. ``find_repeats`` decides, within one case and one
site, which judged pages are repeats and of which finding. A repeat keeps its own capture and is listed in the
notice under its finding as "also shown at"; it is not counted as a finding of its own (``Finding.canonical_id``).

The rule, applied to the pages decided ``match`` that have matched media:

1. Pages are ranked, most specific first: a page whose URL does not look like a listing (``looks_like_listing``)
   before one that does; then the page with fewer media items; then the one found first; then by URL.
2. In that order, a page is a finding of its own unless *every* one of its matched media is already held by a page
   ranked before it that is a finding of its own. A media item is held when that page embeds the same file (the
   same media URL); for a page that looks like a listing, also when that page has a file with the same SHA-256 or
   one that matched the same reference (an archive's thumbnail is another file of the same image).
3. A repeat's finding (its canonical page) is the one holding its first matched media item.

So a post, and a reposted copy of it in a post of its own (another upload, even of the same bytes), both stay
findings; the home page and the archives that show them become "also shown at". A page decided earlier is never
re-decided: a post found after its home page was already notified does not take the home page over.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from urllib.parse import parse_qsl, urlsplit

from takedown.models import DetectionLabel, Finding

__all__ = ["LISTING_SEGMENTS", "find_repeats", "looks_like_listing", "matched_media"]

LISTING_SEGMENTS = frozenset({
    "archive", "archives", "author", "authors", "board", "boards", "categories", "category", "feed", "forum",
    "forums", "gallery", "index", "latest", "list", "new", "page", "popular", "search", "tag", "tags", "topics",
    "trending", "user", "users",
})
"""URL path segments (compared case-insensitively, without an extension) that mark a page listing other pages."""

_LISTING_QUERY = frozenset({"s", "q", "query", "search", "page", "paged", "m", "tag", "cat", "category", "author"})
# Queries that name one post: WordPress's plain links (?p=17), Gnuboard (wr_id) and XE (document_srl) boards.
_CONTENT_QUERY = frozenset({"p", "page_id", "attachment_id", "post", "id", "wr_id", "document_srl"})
_YEAR = re.compile(r"^(19|20)\d\d$")
_NUMBER = re.compile(r"^\d{1,2}$")


def looks_like_listing(url: str) -> bool:
    """Whether ``url`` looks like a page that lists other pages rather than holding content of its own.

    True for the site's root, a path with a segment in ``LISTING_SEGMENTS`` (``/tag/x``, ``/author/y``,
    ``/page/2``, ``/search``), a date archive (``/2026/``, ``/2026/05/``), and a root-level path with a search,
    archive or paging query (``?s=x``, ``?paged=2``, ``?cat=3``, ``?m=202605``). A query naming one post
    (``?p=17``, ``?page_id=2``, ``?attachment_id=5`` as WordPress's plain links do, ``board.php?wr_id=12`` on a
    Gnuboard board, ``?document_srl=9`` on XE) is never a listing.
    """
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    stems = [s.rsplit(".", 1)[0].lower() for s in segments]
    keys = {key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if keys & _CONTENT_QUERY:
        return False
    if not segments or stems in (["index"], ["home"]):
        return True
    if any(stem in LISTING_SEGMENTS for stem in stems):
        return True
    if _YEAR.match(stems[0]) and all(_NUMBER.match(s) for s in stems[1:]) and len(stems) <= 3:
        return True
    return len(segments) == 1 and bool(keys & _LISTING_QUERY)


def matched_media(finding: Finding) -> list[tuple[str, str, frozenset[str]]]:
    """The finding's media items that a detector matched: ``(url, sha256, references)`` each, in page order.

    ``references`` are the ``bank:reference`` labels the item matched (empty for a match without a reference,
    such as a classifier's).
    """
    references: dict[str, set[str]] = {}
    for detection in finding.detections:
        if detection.label is not DetectionLabel.MATCH or detection.target == "text":
            continue
        refs = references.setdefault(detection.target, set())
        if detection.matched is not None:
            refs.add(f"{detection.matched.bank}:{detection.matched.reference}")
    return [(m.url, m.sha256, frozenset(references[m.sha256])) for m in finding.media if m.sha256 in references]


def _rank(finding: Finding) -> tuple[bool, int, str, str]:
    candidate = finding.candidate
    return (looks_like_listing(candidate.url), len(finding.media), candidate.found_at.isoformat(), candidate.url)


def find_repeats(findings: Sequence[Finding], *, undecided: Collection[str]) -> dict[str, str]:
    """Which of the ``undecided`` findings only repeat another finding's media, and whose (see the module's rule).

    Args:
        findings: the matching findings of one case and one site, decided or not (others are ignored: give only
            those that get evidence).
        undecided: ids of the findings to decide now; every other finding keeps what it is.

    Returns:
        ``{repeat's id: its canonical finding's id}`` for each undecided finding that is a repeat.
    """
    holders: dict[str, str] = {}  # "url:..." / "sha:..." / "ref:..." -> the finding of its own that holds it
    repeats: dict[str, str] = {}
    for finding in sorted(findings, key=_rank):
        media = matched_media(finding)
        if not media:
            continue
        own = finding.canonical_id is None
        if finding.id in undecided:
            listing = looks_like_listing(finding.candidate.url)

            def holder(url: str, sha: str, refs: frozenset[str], listing: bool = listing) -> str | None:
                keys = [f"url:{url}", *((f"sha:{sha}", *(f"ref:{r}" for r in sorted(refs))) if listing else ())]
                return next((holders[k] for k in keys if k in holders), None)

            held = [holder(*item) for item in media]
            first = held[0]
            if first is not None and all(held):
                repeats[finding.id] = first
                own = False
        if own:
            for url, sha, refs in media:
                for key in (f"url:{url}", f"sha:{sha}", *(f"ref:{r}" for r in refs)):
                    holders.setdefault(key, finding.id)
    return repeats
