"""Site adapters: finding candidate pages on sites and fetching them (see ``SiteAdapter``).

A site described in a TOML file (``load_site``) becomes a ``ConfiguredSite``; ``HttpSite`` searches over plain
HTTP and ``BrowserSite`` renders JavaScript in headless Chromium. All fetch through an ``HttpFetcher`` (guarded,
rate-limited, retrying, size-capped). Extraction, feeds, sitemaps, streaming manifests and URL canonicalisation are
plain functions here; ``Monitor`` watches a case's sites on a schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown._lazy import lazy_exports

if TYPE_CHECKING:
    from takedown.sites.base import (
        FormReporter,
        SiteAdapter,
        submits_to,
    )
    from takedown.sites.browser import (
        BrowserCookie,
        BrowserLogin,
        BrowserSite,
        BrowserSiteConfig,
    )
    from takedown.sites.declarative import (
        ConfiguredSite,
        FormSubmission,
        SiteSpec,
        load_site,
        load_sites,
        read_spec,
    )
    from takedown.sites.extract import (
        HtmlDocument,
        PageContent,
        extract,
        select_values,
    )
    from takedown.sites.feeds import (
        Feed,
        FeedItem,
        Sitemap,
        SitemapEntry,
        parse_feed,
        parse_sitemap,
    )
    from takedown.sites.fetcher import (
        FetchKind,
        FetchResult,
        HttpFetcher,
    )
    from takedown.sites.guard import (
        AllowedHost,
        FetchGuard,
        GuardConfig,
    )
    from takedown.sites.guard_proxy import (
        BlockedRequest,
        GuardProxy,
    )
    from takedown.sites.http import (
        HttpSite,
        HttpSiteConfig,
    )
    from takedown.sites.limits import (
        HostLimiter,
        RetryPolicy,
    )
    from takedown.sites.manifests import (
        DashManifest,
        HlsPlaylist,
        parse_dash,
        parse_hls,
    )
    from takedown.sites.monitor import (
        FeedSource,
        Monitor,
        MonitorTick,
    )
    from takedown.sites.urls import (
        UrlSet,
        canonicalize,
        dedupe,
    )

_LAZY: dict[str, str] = {
    "AllowedHost": "takedown.sites.guard",
    "BlockedRequest": "takedown.sites.guard_proxy",
    "BrowserCookie": "takedown.sites.browser",
    "BrowserLogin": "takedown.sites.browser",
    "BrowserSite": "takedown.sites.browser",
    "BrowserSiteConfig": "takedown.sites.browser",
    "ConfiguredSite": "takedown.sites.declarative",
    "DashManifest": "takedown.sites.manifests",
    "Feed": "takedown.sites.feeds",
    "FeedItem": "takedown.sites.feeds",
    "FeedSource": "takedown.sites.monitor",
    "FetchGuard": "takedown.sites.guard",
    "FetchKind": "takedown.sites.fetcher",
    "FetchResult": "takedown.sites.fetcher",
    "FormReporter": "takedown.sites.base",
    "FormSubmission": "takedown.sites.declarative",
    "GuardConfig": "takedown.sites.guard",
    "GuardProxy": "takedown.sites.guard_proxy",
    "HlsPlaylist": "takedown.sites.manifests",
    "HostLimiter": "takedown.sites.limits",
    "HtmlDocument": "takedown.sites.extract",
    "HttpFetcher": "takedown.sites.fetcher",
    "HttpSite": "takedown.sites.http",
    "HttpSiteConfig": "takedown.sites.http",
    "Monitor": "takedown.sites.monitor",
    "MonitorTick": "takedown.sites.monitor",
    "PageContent": "takedown.sites.extract",
    "RetryPolicy": "takedown.sites.limits",
    "SiteAdapter": "takedown.sites.base",
    "SiteSpec": "takedown.sites.declarative",
    "Sitemap": "takedown.sites.feeds",
    "SitemapEntry": "takedown.sites.feeds",
    "UrlSet": "takedown.sites.urls",
    "canonicalize": "takedown.sites.urls",
    "dedupe": "takedown.sites.urls",
    "extract": "takedown.sites.extract",
    "load_site": "takedown.sites.declarative",
    "load_sites": "takedown.sites.declarative",
    "parse_dash": "takedown.sites.manifests",
    "parse_feed": "takedown.sites.feeds",
    "parse_hls": "takedown.sites.manifests",
    "parse_sitemap": "takedown.sites.feeds",
    "read_spec": "takedown.sites.declarative",
    "select_values": "takedown.sites.extract",
    "submits_to": "takedown.sites.base",
}
"""Where each name lives: imported on first use, so importing one module of the package stays light."""

# A name that is also a sub-module's name is bound now: once the sub-module is imported, Python sets the
# package attribute to the module itself, and ``from takedown.sites import extract`` would give the module.
from takedown.sites.extract import extract  # noqa: E402

__all__ = [
    "AllowedHost",
    "BlockedRequest",
    "BrowserCookie",
    "BrowserLogin",
    "BrowserSite",
    "BrowserSiteConfig",
    "ConfiguredSite",
    "DashManifest",
    "Feed",
    "FeedItem",
    "FeedSource",
    "FetchGuard",
    "FetchKind",
    "FetchResult",
    "FormReporter",
    "FormSubmission",
    "GuardConfig",
    "GuardProxy",
    "HlsPlaylist",
    "HostLimiter",
    "HtmlDocument",
    "HttpFetcher",
    "HttpSite",
    "HttpSiteConfig",
    "Monitor",
    "MonitorTick",
    "PageContent",
    "RetryPolicy",
    "SiteAdapter",
    "SiteSpec",
    "Sitemap",
    "SitemapEntry",
    "UrlSet",
    "canonicalize",
    "dedupe",
    "extract",
    "load_site",
    "load_sites",
    "parse_dash",
    "parse_feed",
    "parse_hls",
    "parse_sitemap",
    "read_spec",
    "select_values",
    "submits_to",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
