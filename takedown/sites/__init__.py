"""Site adapters: finding candidate pages on sites and fetching them (see ``SiteAdapter``)."""

from takedown.sites.base import SiteAdapter
from takedown.sites.extract import PageContent, extract
from takedown.sites.guard import FetchGuard, GuardConfig
from takedown.sites.http import HttpSite, HttpSiteConfig

__all__ = ["FetchGuard", "GuardConfig", "HttpSite", "HttpSiteConfig", "PageContent", "SiteAdapter", "extract"]
