"""Sites described by a TOML file alone: where to discover pages, how to read them, and how the site takes reports.

A ``SiteSpec`` is read from TOML (``read_spec``) and turned into a ``ConfiguredSite`` adapter (``load_site``,
``load_sites`` for a folder). The adapter discovers candidate pages through the site's search, its listings, its
RSS/Atom feeds and its sitemaps (URLs canonicalised and de-duplicated, at most ``query.limit``), fetches pages over
HTTP or in a browser, and submits approved notices to the site's web form (``report_form``) when the site takes
requests only that way. Every key is documented in ``docs/sites.md``; a minimal file::

    name = "sns.example"
    base_url = "https://sns.example"
    sitemaps = ["/sitemap.xml"]          # top-level keys before the first [table]

    [search]
    url = "/search?q={query}&page={page}"
    results = "a.result"

Errors in a file are ``ConfigError``s that name the file and the key (``sns.toml: search.results: ...``).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import re
import time
import tomllib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args
from urllib.parse import quote_plus, urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from takedown.addresses import check_email
from takedown.errors import (
    ConfigError,
    DeliveryError,
    DeliveryStateUnknownError,
    FetchBlockedError,
    MissingDependencyError,
    NotApprovedError,
    SiteError,
    UsageError,
)
from takedown.legal import FIELD_KEYS, JurisdictionCode
from takedown.models import (
    Candidate,
    ContactHint,
    FetchedMedia,
    FormSubmission,
    Notice,
    NoticeState,
    Page,
    SearchQuery,
    media_kind_of,
)
from takedown.settings import EvidenceSettings, NetworkSettings
from takedown.sites.browser import BrowserCookie, BrowserLogin, BrowserSite, BrowserSiteConfig
from takedown.sites.extract import HtmlDocument
from takedown.sites.feeds import parse_feed, parse_sitemap
from takedown.sites.fetcher import HttpFetcher, decode_text
from takedown.sites.http import HttpSite, HttpSiteConfig
from takedown.sites.urls import canonicalize

if TYPE_CHECKING:
    from takedown.sites.chromium import DriverPool

__all__ = [
    "NOTICE_FORM_FIELDS",
    "BrowserSpec",
    "ConfiguredSite",
    "Engine",
    "FetchSpec",
    "FormSpec",
    "FormSubmission",
    "LimitsSpec",
    "ListingSpec",
    "ReportSpec",
    "SearchSpec",
    "SiteSpec",
    "load_site",
    "load_sites",
    "read_spec",
]

Engine = Literal["http", "browser"]
"""How pages are loaded: ``http`` (the HTML the server sends) or ``browser`` (rendered by headless Chromium)."""

NOTICE_FORM_FIELDS: tuple[str, ...] = tuple(dict.fromkeys((
    "url", "urls", "subject", "body", "notice_id", "case_id", "finding_id", "jurisdiction", "locale", *FIELD_KEYS,
)))
"""The notice values a web form's ``fields`` can send: ``url`` (the first of the notice's URLs), ``urls`` (all,
space-separated), ``subject``, ``body`` (the plain-text body), the ids, ``jurisdiction``, ``locale``, and every key of
``Notice.legal`` (``contact_email``, ``requester``, ``reason`` ...)."""

_Frozen = ConfigDict(frozen=True, extra="forbid", defer_build=True)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ATTR = re.compile(r"^(?P<css>.*?)::attr\((?P<attr>[A-Za-z_:][-A-Za-z0-9_:.]*)\)\s*$", re.DOTALL)
_WAIT = re.compile(r"^(load|idle|idle:\d+|selector:.+)$", re.DOTALL)
_MAX_SITEMAPS = 50  # sitemap files read per search, sitemap indexes included
_LIST_LIMIT = 100_000  # what one rendered list may yield; the search's own limit applies after de-duplication


def _check_css(value: str) -> str:
    """``value`` if it is a CSS selector (with an optional ``::attr(name)`` suffix) that compiles."""
    css = _ATTR.match(value)
    selector = css.group("css") if css else value
    if not selector.strip():
        raise ValueError("a CSS selector is needed")
    try:
        HtmlDocument("<html></html>", "http://selector.check/").count(selector)
    except UsageError as exc:
        raise ValueError(str(exc)) from exc
    return value


def _split_attr(value: str, default: str | None) -> tuple[str, str | None]:
    """``("a.post", "href")`` from ``"a.post::attr(href)"``; ``(value, default)`` without the suffix."""
    found = _ATTR.match(value)
    return (found.group("css").strip(), found.group("attr")) if found else (value, default)


def _check_url(value: str) -> str:
    """An absolute http(s) URL, or a path to be resolved against ``base_url``."""
    text = value.strip()
    if not text:
        raise ValueError("a URL is needed")
    if any(c.isspace() for c in text):
        raise ValueError(f"{text!r} holds white space; encode it (%20) in a URL")
    parts = urlsplit(text)
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"only http and https URLs can be used, not {parts.scheme!r}")
    if parts.scheme and not parts.netloc:
        raise ValueError("the URL has no host")
    return text


class SearchSpec(BaseModel):
    """``[search]``: the site's own search, page by page."""

    model_config = _Frozen

    url: str = Field(description="the search URL; {query} is the URL-encoded query, {page} the page number from 1")
    results: str = Field(description="CSS selector of the result links (their href is read; or add ::attr(name))")
    match: str | None = Field(default=None, description="a regular expression that result URLs must match")
    next: str | None = Field(
        default=None, description="CSS selector of the next-page link; without it, {page} counts up while pages "
        "bring new results"
    )
    max_pages: int = Field(default=5, ge=1, description="result pages read per query")
    engine: Engine | None = Field(default=None, description="overrides the site's engine for the search")

    _css = field_validator("results", "next")(lambda v: v if v is None else _check_css(v))
    _url = field_validator("url")(_check_url)

    @field_validator("url")
    @classmethod
    def _has_query(cls, value: str) -> str:
        if "{query}" not in value:
            raise ValueError("the search URL must hold {query}")
        return value

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class ListingSpec(BaseModel):
    """One ``[[listings]]`` entry: a page that lists posts (a home feed, a category, a user's page)."""

    model_config = _Frozen

    url: str = Field(description="the first page; may hold {page}, the page number from 1")
    items: str = Field(description="CSS selector of the links to posts (their href is read; or add ::attr(name))")
    next: str | None = Field(default=None, description="CSS selector of the next-page link")
    max_pages: int = Field(default=5, ge=1, description="pages read, the first included")
    engine: Engine | None = Field(default=None, description="overrides the site's engine for this listing")

    _css = field_validator("items", "next")(lambda v: v if v is None else _check_css(v))
    _url = field_validator("url")(_check_url)


class FetchSpec(BaseModel):
    """``[fetch]``: what to read from a post page beyond the automatic extraction."""

    model_config = _Frozen

    media: tuple[str, ...] = Field(
        default=(), description="CSS selectors of more media elements (src is read; or add ::attr(name))"
    )
    title: str | None = Field(default=None, description="CSS selector of the post's title (else <title>/og:title)")
    text: str | None = Field(default=None, description="CSS selector of the post's text (else the page's text)")
    max_media: int = Field(
        default=50, ge=0, description="the most media items downloaded per post page, the selectors' included; "
        "the rest are named in Page.skipped"
    )
    engine: Engine | None = Field(default=None, description="overrides the site's engine for fetching posts")

    _css = field_validator("title", "text")(lambda v: v if v is None else _check_css(v))

    @field_validator("media")
    @classmethod
    def _media_css(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_css(v) for v in value)


class BrowserSpec(BaseModel):
    """``[browser]``: how the browser engine treats pages; each key is passed to ``BrowserSiteConfig`` as it is.

    Keys left out keep ``BrowserSiteConfig``'s defaults (see the browser adapter's docs).
    """

    model_config = _Frozen

    age_gate: tuple[str, ...] | None = Field(
        default=None, description='what to click, if present, to pass an age gate: CSS, or "text=Label"'
    )
    cookie_banner: tuple[str, ...] | None = Field(default=None, description="what to click to close a cookie banner")
    wait: str | None = Field(
        default=None, description='when a rendered page is ready: "load", "idle" or "idle:MS" (no request open for '
        'that long), or "selector:CSS"'
    )
    max_scrolls: int | None = Field(default=None, ge=0, description="scrolls (and load-more clicks) per list page")
    scroll_pause_s: float | None = Field(default=None, gt=0, description="how long to wait for new items per scroll")
    load_more_selector: str | None = Field(default=None, description='CSS of a "load more" button')
    wait_timeout_s: float | None = Field(default=None, gt=0, description="the longest wait for a page to be ready")
    network_media: bool | None = Field(default=None, description="take the media the page loaded, from the network")
    max_media: int | None = Field(default=None, ge=0, description="the most media items downloaded per page")
    pool_size: int | None = Field(default=None, ge=1, description="browsers started for this site")
    cookies: tuple[BrowserCookie, ...] = Field(
        default=(), description="cookies set before every page (a signed-in session); sent over HTTP too"
    )
    login: BrowserLogin | None = Field(default=None, description="sign in with a form before the first page")

    _css = field_validator("load_more_selector")(lambda v: v if v is None else _check_css(v))

    @field_validator("wait")
    @classmethod
    def _wait(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not _WAIT.match(value):
            raise ValueError('use "load", "idle", "idle:MS" or "selector:CSS"')
        if value.startswith("selector:"):
            _check_css(value.removeprefix("selector:"))
        return value

    def config(self) -> dict[str, Any]:
        """The ``BrowserSiteConfig`` keyword arguments this section sets."""
        return {key: getattr(self, key) for key in self.model_fields_set if getattr(self, key) is not None}


class FormSpec(BaseModel):
    """``[report.form]``: the site's web form for removal requests."""

    model_config = _Frozen

    url: str = Field(description="where the form is submitted (its action)")
    method: Literal["post", "get"] = "post"
    fields: dict[str, str] = Field(
        min_length=1, description="notice value -> form field name, e.g. { url = \"url\", body = \"details\" }"
    )
    values: dict[str, str] = Field(default_factory=dict, description="form field -> fixed value, e.g. a reason code")
    success: str | None = Field(
        default=None, description="text the site's answer holds when it accepted the request"
    )

    _url = field_validator("url")(_check_url)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(NOTICE_FORM_FIELDS))
        if unknown:
            raise ValueError(f"unknown notice value(s) {', '.join(unknown)}; known: {', '.join(NOTICE_FORM_FIELDS)}")
        if any(not name.strip() for name in value.values()):
            raise ValueError("every notice value needs a form field name")
        return value


class ReportSpec(BaseModel):
    """``[report]``: where the site takes removal requests."""

    model_config = _Frozen

    email: str | None = Field(default=None, description="the address for removal requests")
    form: FormSpec | None = Field(default=None, description="the web form for removal requests")
    use: Literal["both", "form", "email"] = Field(
        default="both",
        description="with both an email and a form: draft requests for both (the officer picks), the form only, "
                    "or email only",
    )
    country: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2}$",
        description="the operator's country (ISO 3166-1 alpha-2): requests are written in its language",
    )
    language: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$",
        description="the language the operator reads (BCP 47), when it is not its country's",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip()
            check_email(value)  # what drafting would refuse (a .test or .invalid domain ...) is refused here
        return value


class LimitsSpec(BaseModel):
    """``[limits]``: politeness overrides for this site (else the agency's ``[network]`` settings apply)."""

    model_config = _Frozen

    rate: float | None = Field(default=None, ge=0, description="requests per second per host; 0: no limit")
    burst: int | None = Field(default=None, ge=1, description="requests an idle host may get at once")
    concurrency: int | None = Field(default=None, ge=1, description="requests in flight at once per host")
    relist_after_s: float = Field(
        default=60.0, ge=0, description="listings, feeds and sitemaps are read again after this long; a search "
        "for another keyword sooner reuses what they listed"
    )

    def apply(self, network: NetworkSettings) -> NetworkSettings:
        """``network`` with this site's overrides."""
        changes = {key: value for key, value in (
            ("per_host_rate", self.rate), ("per_host_burst", self.burst), ("per_host_concurrency", self.concurrency),
        ) if value is not None}
        return network.model_copy(update=changes) if changes else network


class SiteSpec(BaseModel):
    """One site, as a TOML file describes it. ``read_spec`` reads one; every key is in ``docs/sites.md``."""

    model_config = _Frozen

    name: str = Field(min_length=1, description="the site's label, e.g. its host name; stored with every candidate")
    base_url: str = Field(description="the site's root URL; relative URLs in the file resolve against it")
    language: str | None = Field(default=None, description="the site's main language (BCP 47), if pages omit it")
    jurisdiction: JurisdictionCode | None = Field(
        default=None, description="the legal regime of the site's operator, recorded on each candidate"
    )
    engine: Engine = Field(default="http", description="how pages are loaded unless a section says otherwise")
    feeds: tuple[str, ...] = Field(default=(), description="RSS or Atom feed URLs")
    sitemaps: tuple[str, ...] = Field(default=(), description="sitemap (or sitemap index) URLs")
    search: SearchSpec | None = None
    listings: tuple[ListingSpec, ...] = ()
    fetch: FetchSpec = FetchSpec()
    browser: BrowserSpec = BrowserSpec()
    report: ReportSpec = ReportSpec()
    limits: LimitsSpec = LimitsSpec()

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an absolute http or https URL")
        return value.strip().rstrip("/")

    @field_validator("feeds", "sitemaps")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_url(v) for v in value)

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any) -> Any:
        """Resolve relative URLs against ``base_url`` before validation, so the adapter sees absolute ones only."""
        if not isinstance(data, dict) or not isinstance(data.get("base_url"), str):
            return data  # the field validators say what is wrong
        root = data["base_url"].strip().rstrip("/") + "/"

        def absolute(url: Any) -> Any:
            return urljoin(root, url.strip()) if isinstance(url, str) else url

        def with_url(section: Any) -> Any:
            if isinstance(section, dict):
                return {**section, "url": absolute(section.get("url"))} if "url" in section else section
            if isinstance(section, SearchSpec | ListingSpec | FormSpec):
                return section.model_copy(update={"url": absolute(section.url)})
            return section

        data = dict(data)
        for key in ("feeds", "sitemaps"):
            if isinstance(data.get(key), list | tuple):
                data[key] = [absolute(url) for url in data[key]]
        if "search" in data:
            data["search"] = with_url(data["search"])
        if isinstance(data.get("listings"), list | tuple):
            data["listings"] = [with_url(item) for item in data["listings"]]
        report = data.get("report")
        if isinstance(report, dict) and "form" in report:
            data["report"] = {**report, "form": with_url(report["form"])}
        elif isinstance(report, ReportSpec) and report.form is not None:
            data["report"] = report.model_copy(update={"form": with_url(report.form)})
        return data

    def engine_for(self, part: Literal["search", "listing", "fetch"], listing: ListingSpec | None = None) -> Engine:
        """The engine one part of the site is loaded with: its own ``engine`` key, else the site's."""
        own = {"search": self.search.engine if self.search else None, "fetch": self.fetch.engine,
               "listing": listing.engine if listing else None}[part]
        return own or self.engine

    @model_validator(mode="after")
    def _browser_reads_href(self) -> SiteSpec:
        """The browser reads result links' ``href``: ``::attr()`` works over HTTP only."""
        selectors: list[tuple[str, str | None]] = []
        if self.search is not None and self.engine_for("search") == "browser":
            selectors += [("search.results", self.search.results), ("search.next", self.search.next)]
        for index, item in enumerate(self.listings):
            if self.engine_for("listing", item) == "browser":
                selectors += [(f"listings[{index}].items", item.items), (f"listings[{index}].next", item.next)]
        for key, selector in selectors:
            if selector is not None and _ATTR.match(selector):
                raise ValueError(f"{key}: ::attr() works with the http engine only; the browser follows href")
        return self

    @property
    def uses_browser(self) -> bool:
        """Whether any part of the site is loaded in a browser."""
        return "browser" in {self.engine_for("fetch"), *(self.engine_for("listing", item) for item in self.listings),
                             *([self.engine_for("search")] if self.search else [])}


# -- reading TOML ---------------------------------------------------------------------------------------------


def _key_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc`` (for listing the keys it knows)."""
    model: type[BaseModel] = SiteSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        inner = [a for a in (field.annotation, *get_args(field.annotation)) if isinstance(a, type)
                 and issubclass(a, BaseModel)]
        if not inner:
            return None
        model = inner[0]
    return model


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        key = _key_path(loc)
        if error["type"] == "extra_forbidden":
            model = _model_at(loc)
            known = f" (known keys: {', '.join(model.model_fields)})" if model else ""
            out.append(f"{key}: unknown key{known}")
        elif error["type"] == "missing":
            out.append(f"{key}: required key is missing")
        else:
            message = error["msg"].removeprefix("Value error, ")
            out.append(f"{key}: {message}" if key else message)
    return out


def _substitute(value: Any, key: str, variables: Mapping[str, str], problems: list[str]) -> Any:
    """Replace ``{name}`` for each variable in every string; note unknown placeholders outside URL templates."""
    if isinstance(value, dict):
        return {k: _substitute(v, f"{key}.{k}" if key else k, variables, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{key}[{i}]", variables, problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    templates = key == "search.url" or re.fullmatch(r"listings\[\d+\]\.url", key)
    allowed = ({"query", "page"} if key == "search.url" else {"page"}) if templates else set()

    def replace(found: re.Match[str]) -> str:
        name = found.group(1)
        if name in variables:
            return variables[name]
        if name not in allowed:
            known = ", ".join(sorted(variables)) or "none were given"
            problems.append(f"{key}: unknown variable {{{name}}} (variables: {known})")
        return found.group(0)

    return _PLACEHOLDER.sub(replace, value)


def read_spec(path: Path | str, *, variables: Mapping[str, str] | None = None) -> SiteSpec:
    """Read and check one site's TOML file.

    Args:
        path: the TOML file.
        variables: values for ``{name}`` placeholders in the file's strings, e.g. ``{"base_url": ...}`` for a
            site whose address is only known at run time. ``{query}`` and ``{page}`` in URL templates are left
            for the adapter.

    Returns:
        The validated spec, every URL in it absolute.

    Raises:
        ConfigError: the file cannot be read, is not TOML, uses an unknown variable, or a key is missing, unknown
            or invalid; the message names the file and each key at fault.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the site file: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return _validate(data, where=str(path), variables=variables or {})


def _validate(data: Mapping[str, Any], *, where: str, variables: Mapping[str, str]) -> SiteSpec:
    problems: list[str] = []
    substituted = _substitute(dict(data), "", variables, problems)
    try:
        spec = SiteSpec.model_validate(substituted)
    except ValidationError as exc:
        problems += _problems(exc)
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    return spec


def load_site(
    source: Path | str | SiteSpec,
    *,
    network: NetworkSettings | None = None,
    variables: Mapping[str, str] | None = None,
    client: httpx.AsyncClient | None = None,
    drivers: DriverPool | None = None,
    evidence: EvidenceSettings | None = None,
) -> ConfiguredSite:
    """A site adapter for one site's TOML file (or an already-read spec).

    Args:
        source: the TOML file, or a ``SiteSpec``.
        network: timeouts, limits and what the fetch guard allows (the file's ``[limits]`` override the per-host
            ones); default: ``NetworkSettings()``.
        variables: values for ``{name}`` placeholders in the file, e.g. ``{"base_url": "http://127.0.0.1:8080"}``.
        client: an ``httpx.AsyncClient`` for the HTTP engine (tests pass one with a mock transport).
        drivers: a Chromium ``DriverPool`` for the browser engine (the caller closes it); default: one started on
            first use and closed by ``aclose()``.
        evidence: the Chromium paths, for the browsers the adapter starts.

    Raises:
        ConfigError: the file is invalid (the message names the file and the key).
    """
    if isinstance(source, SiteSpec):
        return ConfiguredSite(source, network=network, client=client, drivers=drivers, evidence=evidence)
    spec = read_spec(source, variables=variables)
    return ConfiguredSite(spec, network=network, client=client, drivers=drivers, evidence=evidence,
                          origin=str(source))


def load_sites(
    folder: Path | str,
    *,
    network: NetworkSettings | None = None,
    variables: Mapping[str, str] | None = None,
    drivers: DriverPool | None = None,
    evidence: EvidenceSettings | None = None,
) -> list[ConfiguredSite]:
    """Site adapters for every ``*.toml`` file in ``folder``, in file-name order (arguments as ``load_site``).

    Every file is checked before any adapter is built, and all problems are reported together.

    Raises:
        ConfigError: a file is invalid, two files give one site ``name`` (the workflow routes candidates by it),
            or ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder of site files")
    specs: list[tuple[Path, SiteSpec]] = []
    problems: list[str] = []
    for path in sorted(root.glob("*.toml")):
        try:
            specs.append((path, read_spec(path, variables=variables)))
        except ConfigError as exc:
            problems.append(str(exc))
    first: dict[str, Path] = {}
    for path, spec in specs:
        if spec.name in first:
            problems.append(f"{path}: name: site {spec.name!r} is already described by {first[spec.name]}; "
                            "give each site one file (a part that needs a browser sets engine = \"browser\")")
        first.setdefault(spec.name, path)
    if problems:
        raise ConfigError("\n".join(problems))
    return [ConfiguredSite(spec, network=network, drivers=drivers, evidence=evidence, origin=str(path))
            for path, spec in specs]


# -- web forms ------------------------------------------------------------------------------------------------


def _notice_values(notice: Notice) -> dict[str, str]:
    urls = notice.legal.get("urls", "").split()
    return {
        **{k: v for k, v in notice.legal.items() if isinstance(v, str)},
        "url": urls[0] if urls else "", "urls": " ".join(urls), "subject": notice.subject, "body": notice.body_text,
        "notice_id": notice.id, "case_id": notice.case_id, "finding_id": notice.finding_id,
        "jurisdiction": notice.jurisdiction, "locale": notice.locale,
    }


# -- the adapter ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    url: str
    title: str
    source: str


class ConfiguredSite:
    """A site adapter built from a ``SiteSpec``: discovery by search, listings, feeds and sitemaps; fetching over
    HTTP or in a browser; and web-form reports.

    ``search`` yields the search results for ``query.text``, then what the listings, feeds and sitemaps list
    (those do not depend on the query, and are read at most once per ``limits.relist_after_s``), each URL once
    (canonicalised), only URLs on the site's own host, at most ``query.limit``. A source that fails does not stop
    the others: the search raises a ``SiteError`` naming the failed sources after yielding what the rest found.

    Args:
        spec: the site.
        network: timeouts, limits and what the fetch guard allows; the spec's ``[limits]`` override it.
        client: an ``httpx.AsyncClient`` for the HTTP engine (tests pass one with a mock transport).
        drivers: a Chromium ``DriverPool`` for the browser engine (the caller closes it); default: one started on
            first use, behind the fetch guard's proxy, and closed by ``aclose()``.
        evidence: the Chromium paths, for the browsers the adapter starts.
        origin: where the spec came from (a file name), for messages and contact hints.

    Raises:
        MissingDependencyError: a part of the site needs the browser and Selenium (the ``browser`` extra) is not
            installed.
    """

    name: ClassVar[str] = "configured"

    def __init__(
        self,
        spec: SiteSpec,
        *,
        network: NetworkSettings | None = None,
        client: httpx.AsyncClient | None = None,
        drivers: DriverPool | None = None,
        evidence: EvidenceSettings | None = None,
        origin: str | None = None,
    ) -> None:
        if spec.uses_browser and drivers is None and importlib.util.find_spec("selenium") is None:
            # Said now, not in the middle of a workflow run.
            raise MissingDependencyError("selenium", "browser", feature=f"site {spec.name!r} (engine = \"browser\")")
        self.spec = spec
        self.evidence = evidence or EvidenceSettings()
        self.origin = origin or f"site spec {spec.name}"
        self.network = _with_cookies(spec.limits.apply(network or NetworkSettings()), spec)
        self.fetcher = HttpFetcher(self.network, client=client, plugin=self.name)
        # HttpSite fetches posts (media, HLS, contact pages, security.txt) through the same fetcher, so that
        # discovery and fetching share one per-host limit.
        self._http = HttpSite(
            HttpSiteConfig(site=spec.name, base_url=spec.base_url, language=spec.language,
                           max_media=spec.fetch.max_media),
            fetcher=self.fetcher,
        )
        self._drivers = drivers
        self._owns_drivers = drivers is None
        self._browsers: dict[str, BrowserSite] = {}
        self._host = (urlsplit(spec.base_url).hostname or "").lower()
        self._listed: tuple[float, list[_Found], list[str]] | None = None
        self._listing_lock = asyncio.Lock()

    @property
    def site(self) -> str:
        """The site's label: the spec's ``name``."""
        return self.spec.name

    def __repr__(self) -> str:
        return f"ConfiguredSite({self.spec.name!r}, origin={self.origin!r})"

    async def aclose(self) -> None:
        """Close the HTTP client and the browsers this adapter started (it can be used again afterwards)."""
        await self._http.aclose()
        await self.fetcher.aclose()
        for browser in self._browsers.values():
            await browser.aclose()
        self._browsers.clear()
        if self._owns_drivers and self._drivers is not None:
            drivers, self._drivers = self._drivers, None
            await asyncio.to_thread(drivers.close)

    # -- discovery --------------------------------------------------------------------------------------------

    def _on_site(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return parts.scheme in ("http", "https") and (host == self._host or host.endswith("." + self._host))

    async def search(self, query: SearchQuery) -> AsyncIterator[Candidate]:
        """Yield the site's pages for ``query``: search results first, then what listings, feeds and sitemaps list.

        Raises:
            SiteError: a source failed (after the other sources' candidates were yielded).
        """
        seen: set[str] = set()
        failures: list[str] = []
        count = 0

        async def sources() -> AsyncGenerator[_Found, None]:
            if self.spec.search is not None:
                try:
                    async for found in self._search(query.text):
                        yield found
                except SiteError as exc:
                    failures.append(f"search: {exc}")
            listed, problems = await self._listed_now()
            failures.extend(problems)
            for found in listed:
                yield found

        async with aclosing(sources()) as found_all:  # closed at once when the limit is reached
            async for found in found_all:
                if not self._on_site(found.url):
                    continue
                try:
                    url = canonicalize(found.url)
                except UsageError:  # an unusable URL on the site's page (a bad port, say): not a candidate
                    continue
                if url in seen:
                    continue
                seen.add(url)
                metadata = {"source": found.source, "site_spec": self.origin}
                if self.spec.jurisdiction:
                    metadata["jurisdiction"] = self.spec.jurisdiction
                yield Candidate(
                    case_id=query.case_id, site=self.site, url=url, title=found.title,
                    query=query.text if found.source == "search" else None, language=self.spec.language,
                    metadata=metadata,
                )
                count += 1
                if count >= query.limit:
                    return
        if failures:
            raise SiteError(f"{len(failures)} source(s) failed: " + "; ".join(failures), plugin=self.name,
                            url=self.spec.base_url)

    async def _listed_now(self) -> tuple[list[_Found], list[str]]:
        """What the listings, feeds and sitemaps list now (read again after ``relist_after_s``)."""
        async with self._listing_lock:
            now = time.monotonic()
            if self._listed is None or now - self._listed[0] >= self.spec.limits.relist_after_s:
                found: list[_Found] = []
                problems: list[str] = []
                for index, listing in enumerate(self.spec.listings):
                    try:
                        found += [f async for f in self._listing(listing)]
                    except SiteError as exc:
                        problems.append(f"listings[{index}]: {exc}")
                for url in self.spec.feeds:
                    try:
                        found += await self._feed(url)
                    except SiteError as exc:
                        problems.append(f"feed {url}: {exc}")
                for url in self.spec.sitemaps:
                    try:
                        found += await self._sitemap(url)
                    except SiteError as exc:
                        problems.append(f"sitemap {url}: {exc}")
                # A failed read is tried again by the next search rather than cached.
                self._listed = (now if not problems else -float("inf"), found, problems)
            return list(self._listed[1]), list(self._listed[2])

    async def _search(self, text: str) -> AsyncIterator[_Found]:
        spec = self.spec.search
        assert spec is not None
        template = spec.url.replace("{query}", quote_plus(text))
        pattern = re.compile(spec.match) if spec.match else None
        if self.spec.engine_for("search") == "browser":
            # The browser fills {query} itself and pages by the next link.
            browser_url = spec.url.replace("{page}", "1")
            async for found in self._rendered(browser_url, spec.results, spec.next, spec.max_pages, source="search",
                                              query=text):
                if pattern is None or pattern.search(found.url):
                    yield found
            return
        async for found in self._pages(template, spec.results, spec.next, spec.max_pages, source="search"):
            if pattern is None or pattern.search(found.url):
                yield found

    async def _listing(self, listing: ListingSpec) -> AsyncIterator[_Found]:
        if self.spec.engine_for("listing", listing) == "browser":
            async for found in self._rendered(listing.url, listing.items, listing.next, listing.max_pages,
                                              source="listing"):
                yield found
            return
        async for found in self._pages(listing.url, listing.items, listing.next, listing.max_pages, source="listing"):
            yield found

    async def _get_html(self, url: str) -> HtmlDocument:
        result = await self.fetcher.get(url, kind="page")
        if result.status >= 400:
            raise SiteError(f"answered HTTP {result.status}", plugin=self.name, url=url)
        return HtmlDocument(result.body, result.final_url, encoding=result.charset)

    async def _pages(
        self, template: str, links: str, following: str | None, max_pages: int, *, source: str
    ) -> AsyncIterator[_Found]:
        """Read a paginated list over HTTP: by its next-page link, else by counting ``{page}`` up."""
        url: str | None = template.replace("{page}", "1")
        visited: set[str] = set()
        page = 1
        while url is not None and page <= max_pages and url not in visited:
            visited.add(url)
            doc = await self._get_html(url)
            found = _links(doc, links)
            for item_url, title in found:
                yield _Found(item_url, title, source)
            page += 1
            if following is not None:
                url = next(iter(_urls(doc, following, "href")), None)
            elif "{page}" in template and found:
                url = template.replace("{page}", str(page))
            else:
                url = None

    async def _feed(self, url: str) -> list[_Found]:
        result = await self.fetcher.get(url, kind="feed")
        if result.status >= 400:
            raise SiteError(f"answered HTTP {result.status}", plugin=self.name, url=url)
        feed = parse_feed(result.body, result.final_url)
        return [_Found(item.url, item.title or "", "feed") for item in feed.items if item.url]

    async def _sitemap(self, url: str) -> list[_Found]:
        found: list[_Found] = []
        queue: list[str] = [url]
        read: set[str] = set()
        while queue and len(read) < _MAX_SITEMAPS:
            current = queue.pop(0)
            if current in read:
                continue
            read.add(current)
            result = await self.fetcher.get(current, kind="feed")
            if result.status >= 400:
                raise SiteError(f"answered HTTP {result.status}", plugin=self.name, url=current)
            sitemap = parse_sitemap(result.body, result.final_url)
            queue += [child for child in sitemap.sitemaps if self._on_site(child)]
            found += [_Found(entry.url, entry.title, "sitemap") for entry in sitemap.urls]
        return found

    # -- the browser engine -----------------------------------------------------------------------------------

    def _pool(self) -> DriverPool:
        """The browsers every part of this site shares: started on first use, behind the guard's proxy."""
        if self._drivers is None:
            from takedown.sites.chromium import DriverPool

            self._drivers = DriverPool(self.evidence, size=self.spec.browser.pool_size or 1, network_log=True,
                                       guard=self.fetcher.guard)
        return self._drivers

    def _browser(self, key: str, **config: Any) -> BrowserSite:
        """One ``BrowserSite`` per part of the site (each has its own selectors), all on one pool of browsers.

        Every part downloads through the site's own fetcher: one per-host limit for discovery, pages and media,
        and one guard check per request.
        """
        if key not in self._browsers:
            spec = self.spec
            settings = BrowserSiteConfig(site=spec.name, base_url=spec.base_url, language=spec.language,
                                         **{**spec.browser.config(), **config})
            self._browsers[key] = BrowserSite(settings, network=self.network, evidence=self.evidence,
                                              pool=self._pool(), fetcher=self.fetcher)
        return self._browsers[key]

    async def _rendered(
        self, url: str, links: str, following: str | None, max_pages: int, *, source: str, query: str = ""
    ) -> AsyncIterator[_Found]:
        """Read a list rendered in the browser: gates clicked, scrolled and "load more" clicked as configured."""
        search = {"search_url": url, "listing_urls": ()} if source == "search" else {"search_url": None,
                                                                                      "listing_urls": (url,)}
        browser = self._browser(f"{source}:{url}", result_selector=links, next_page_selector=following,
                                max_pages=max_pages, **search)
        async for candidate in browser.search(SearchQuery(case_id="-", text=query, limit=_LIST_LIMIT)):
            yield _Found(candidate.url, candidate.title, source)

    # -- fetching ---------------------------------------------------------------------------------------------

    async def fetch(self, candidate: Candidate) -> Page:
        """Fetch the candidate's page with its media and contact hints, reading ``[fetch]``'s extra selectors.

        The site's report address and form (``[report]``) are added to the contact hints, so recipients are
        found even when the pages name none. A media item that cannot be had (an HTTP error, a blocked address,
        over its byte cap, a web page where media was expected, an encrypted HLS stream, beyond ``[fetch]
        max_media`` or the page's media byte budget) is left out and named in ``Page.skipped`` ("URL: why"), so
        one hostile item never hides the rest of the page.

        Raises:
            SiteError: the page could not be fetched (``FetchBlockedError`` if the guard refused it).
        """
        if self.spec.engine_for("fetch") == "browser":
            fetch_cap, browser_cap = self.spec.fetch.max_media, self.spec.browser.max_media
            cap = fetch_cap if browser_cap is None else min(fetch_cap, browser_cap)
            page = await self._browser("fetch", max_media=cap).fetch(candidate)
        else:
            page = await self._http.fetch(candidate)
        if page.status >= 400:
            return page
        return await self._refine(page)

    async def _refine(self, page: Page) -> Page:
        spec = self.spec.fetch
        changes: dict[str, Any] = {}
        if spec.title or spec.text or spec.media:
            doc = HtmlDocument(page.body or page.html, page.final_url)
            if spec.title and (titles := _values(doc, spec.title, None)):
                changes["title"] = titles[0]
            if spec.text and (texts := _values(doc, spec.text, None)):
                changes["text"] = "\n".join(texts)
            if spec.media:
                have = {m.url for m in page.media}
                urls = [u for css in spec.media for u in _urls(doc, css, "src")]
                wanted = [u for u in dict.fromkeys(urls) if u not in have]
                extra, skipped = await self._extra_media(wanted, page)
                if extra:
                    changes["media"] = (*page.media, *extra)
                if skipped:
                    changes["skipped"] = (*page.skipped, *skipped)
        hints = self._report_hints()
        if hints:
            changes["contacts"] = tuple(dict.fromkeys((*page.contacts, *hints)))
        return page.model_copy(update=changes) if changes else page

    def _report_hints(self) -> list[ContactHint]:
        report, source = self.spec.report, f"site config {self.origin}"
        declared = {"source": source, "country": report.country.upper() if report.country else None,
                    "language": report.language}
        hints = [ContactHint(kind="email", value=report.email, **declared)] if report.email else []
        if report.form is not None:
            hints.append(ContactHint(kind="form", value=report.form.url, **declared))
        return hints

    async def _extra_media(self, urls: Sequence[str], page: Page) -> tuple[list[FetchedMedia], list[str]]:
        """The media only the selectors name, within the page's count cap and byte budget, and what was left out."""
        cap, budget_total = self.spec.fetch.max_media, self._http.config.max_page_media_bytes
        room = max(cap - len(page.media), 0)
        skipped = [f"{url}: more than {cap} media items on the page (max_media)" for url in urls[room:]]
        budget = budget_total - sum(len(item.content) for item in page.media)
        media: list[FetchedMedia] = []
        for url in urls[:room]:
            if budget <= 0:
                skipped.append(f"{url}: the page's media budget ({budget_total} B) is spent")
                continue
            item = await self._media(url, referer=page.final_url)
            if isinstance(item, str):
                skipped.append(item)
                continue
            budget -= len(item.content)
            media.append(item)
        return media, skipped

    async def _media(self, url: str, *, referer: str) -> FetchedMedia | str:
        """One media item a ``[fetch] media`` selector named (an HLS stream whole), or why it is left out."""
        try:
            result = await self.fetcher.get_media(url, headers={"Referer": referer})
        except SiteError as exc:  # FetchBlockedError included: that item is refused, not the page
            return f"{url}: {exc}"
        if result.status >= 400:
            return f"{url}: answered HTTP {result.status}"
        kind = media_kind_of(urlsplit(url).path, result.content_type or None)
        if kind is None:
            return f"{url}: not an image, video or audio ({result.content_type or 'no content type'})"
        return FetchedMedia(url=url, kind=kind, content_type=result.content_type or "application/octet-stream",
                            content=result.body)

    # -- reports by web form ----------------------------------------------------------------------------------

    @property
    def form_url(self) -> str | None:
        """The URL of the site's removal-request form (``[report.form] url``), or ``None`` if it has none."""
        form = self.spec.report.form
        return form.url if form is not None and self.spec.report.use != "email" else None

    @property
    def form_only(self) -> bool:
        """Whether requests go through the form alone (``[report] use = "form"``)."""
        return self.spec.report.use == "form" and self.spec.report.form is not None

    @property
    def form_takes_lists(self) -> bool:
        """Whether the form has a field for a list of URLs (``[report.form] fields`` maps ``urls``)."""
        form = self.spec.report.form
        return form is not None and "urls" in form.fields

    async def report_form(self, notice: Notice) -> FormSubmission:
        """Submit an approved notice through the site's web form (``[report.form]``), once.

        Nothing is submitted unless the notice is ``approved``, names who approved it, and is addressed to this
        form (``recipient.channel == "web_form"``, ``recipient.address`` the form's URL). The request goes through
        the guarded client, is never retried (a second POST could file a second report), and the answer is kept
        as a SHA-256. The caller records the result (``FormSubmission.delivery()``) like any other send.

        Returns:
            What was submitted and what the site answered.

        Raises:
            NotApprovedError: the notice has no recorded human approval; nothing was sent.
            UsageError: the site has no form, or the notice is addressed elsewhere; nothing was sent.
            DeliveryError: a notice value the form needs is empty, the guard refused the URL, the connection
                failed before the request went out, or the site refused the request (HTTP 4xx); nothing was filed.
            DeliveryStateUnknownError: the connection failed after the request went out, the site answered a server
                error (5xx), or its answer lacks the success text: the site may have the report; check before
                sending again.
        """
        if notice.state is not NoticeState.APPROVED or not notice.approved_by or notice.approved_at is None:
            raise NotApprovedError(f"notice {notice.id} is {notice.state.value}; only an approved notice is submitted",
                                   plugin=self.name)
        form = self.spec.report.form
        if form is None:
            raise UsageError(f"site {self.site!r} ({self.origin}) has no [report.form]")
        if notice.recipient.channel != "web_form" or not _same_url(notice.recipient.address, form.url):
            raise UsageError(f"notice {notice.id} is addressed to {notice.recipient.channel} "
                             f"{notice.recipient.address}, not to this site's form {form.url}")
        values = _notice_values(notice)
        missing = [key for key in form.fields if not values.get(key, "").strip()]
        if missing:
            raise DeliveryError(f"notice {notice.id} has no {', '.join(missing)}, which the form needs",
                                plugin=self.name, url=form.url)
        fields = {**form.values, **{name: values[key] for key, name in form.fields.items()}}
        host = (urlsplit(form.url).hostname or "").lower()
        client = self.fetcher.client
        headers = {"User-Agent": self.network.user_agent, **self.network.headers}
        if form.method == "post":
            request = client.build_request("POST", form.url, headers=headers, data=fields)
        else:
            request = client.build_request("GET", form.url, headers=headers, params=fields)
        try:
            async with self.fetcher.limiter.slot(host):
                response = await client.send(request, follow_redirects=True, stream=True)
                try:
                    body = await _read_capped(response, self.network.max_body_bytes)
                finally:
                    await response.aclose()
        except FetchBlockedError as exc:
            raise DeliveryError(f"the fetch guard refused the form: {exc}", plugin=self.name, url=form.url) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
            raise DeliveryError(f"could not connect to the form: {exc}", plugin=self.name, url=form.url) from exc
        except httpx.HTTPError as exc:
            raise DeliveryStateUnknownError(
                f"the form submission failed after it was sent ({type(exc).__name__}: {exc}); the site may have it",
                plugin=self.name, url=form.url,
            ) from exc
        status = response.status_code
        if 400 <= status < 500:
            raise DeliveryError(f"the form refused the request: HTTP {status}", plugin=self.name, url=form.url)
        # A server error or an answer without the success text may still mean the report was filed.
        unconfirmed = form.success is not None and form.success not in decode_text(body, response.charset_encoding)
        if status >= 500 or unconfirmed:
            expected = f" without {form.success!r}" if status < 500 else ""
            raise DeliveryStateUnknownError(
                f"the form answered HTTP {status}{expected}; check whether the site has the report before "
                "submitting again", plugin=self.name, url=form.url,
            )
        return FormSubmission(
            notice_id=notice.id, site=self.site, url=form.url, method=form.method, fields=fields, status=status,
            final_url=str(response.url), response_sha256=hashlib.sha256(body).hexdigest(),
            approved_by=notice.approved_by, approved_at=notice.approved_at,
        )


def _same_url(first: str, second: str) -> bool:
    try:
        return canonicalize(first) == canonicalize(second)
    except UsageError:
        return False


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """The response body, up to ``limit`` bytes (a form's answer is only read for its success text)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk[: limit - size])
        size += len(chunks[-1])
        if size >= limit:
            break
    return b"".join(chunks)


def _with_cookies(network: NetworkSettings, spec: SiteSpec) -> NetworkSettings:
    """``network`` with the site's browser cookies for its own host, so the HTTP engine sends them too."""
    host = urlsplit(spec.base_url).hostname or ""
    mine = {c.name: c.value.get_secret_value() for c in spec.browser.cookies
            if (c.domain or host).lstrip(".").lower() == host.lower()}
    if not mine:
        return network
    cookies = {**network.cookies, host: {**network.cookies.get(host, {}), **mine}}
    return network.model_copy(update={"cookies": cookies})


def _values(doc: HtmlDocument, selector: str, default_attr: str | None) -> list[str]:
    """What ``selector`` picks: an attribute (``::attr(name)``, else ``default_attr``) or, with neither, the text."""
    css, attr = _split_attr(selector, default_attr)
    return doc.values(css, attr=attr)


def _urls(doc: HtmlDocument, selector: str, default_attr: str) -> list[str]:
    """The absolute http(s) URLs in what ``selector`` picks (an attribute that is not a URL one may be relative)."""
    resolved = [urljoin(doc.base_url, value.strip()) for value in _values(doc, selector, default_attr)]
    return [url for url in resolved if urlsplit(url).scheme in ("http", "https")]


def _links(doc: HtmlDocument, selector: str) -> list[tuple[str, str]]:
    """``(url, text)`` of each element ``selector`` picks (``href`` unless ``::attr(name)`` says otherwise)."""
    css, _ = _split_attr(selector, "href")
    urls = _urls(doc, selector, "href")
    texts = doc.values(css)
    # values() leaves out empty ones, so texts line up with URLs only when nothing was left out.
    titles = texts if len(texts) == len(urls) == doc.count(css) else [""] * len(urls)
    return list(zip(urls, titles, strict=True))
