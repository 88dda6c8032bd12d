"""Site adapters: finding candidate pages on sites and fetching them (see ``SiteAdapter``).

A site described in a TOML file (``load_site``) becomes a ``ConfiguredSite``; ``HttpSite`` searches over plain
HTTP and ``BrowserSite`` renders JavaScript in headless Chromium. All fetch through an ``HttpFetcher`` (guarded,
rate-limited, retrying, size-capped). Extraction, feeds, sitemaps, streaming manifests and URL canonicalisation are
plain functions here; ``Monitor`` watches a case's sites on a schedule.
"""

from takedown.sites.base import FormReporter, SiteAdapter, submits_to
from takedown.sites.browser import BrowserCookie, BrowserLogin, BrowserSite, BrowserSiteConfig
from takedown.sites.declarative import ConfiguredSite, FormSubmission, SiteSpec, load_site, load_sites, read_spec
from takedown.sites.extract import HtmlDocument, PageContent, extract, select_values
from takedown.sites.feeds import Feed, FeedItem, Sitemap, SitemapEntry, parse_feed, parse_sitemap
from takedown.sites.fetcher import FetchKind, FetchResult, HttpFetcher
from takedown.sites.guard import AllowedHost, FetchGuard, GuardConfig
from takedown.sites.guard_proxy import BlockedRequest, GuardProxy
from takedown.sites.http import HttpSite, HttpSiteConfig
from takedown.sites.limits import HostLimiter, RetryPolicy
from takedown.sites.manifests import DashManifest, HlsPlaylist, parse_dash, parse_hls
from takedown.sites.monitor import FeedSource, Monitor, MonitorTick
from takedown.sites.urls import UrlSet, canonicalize, dedupe

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
