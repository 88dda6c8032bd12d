"""The site adapter extension point: how takedown finds candidate pages on a site and fetches them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar, Protocol, runtime_checkable

from takedown.models import Candidate, Page, SearchQuery

__all__ = ["SiteAdapter"]


@runtime_checkable
class SiteAdapter(Protocol):
    """Finds candidate pages on one site and fetches them.

    ``name`` is the adapter's stable plugin name (it is stored with every candidate); ``site`` says which site
    this instance covers (one adapter class may serve many sites). The verbs are async: adapters do network
    I/O, and the workflow runs many at once under its own concurrency limit.
    """

    name: ClassVar[str]

    @property
    def site(self) -> str:
        """The site this adapter instance covers, e.g. ``demo-sns.example``."""
        ...

    def search(self, query: SearchQuery) -> AsyncIterator[Candidate]:
        """Yield candidate pages for ``query``; each carries ``query.case_id``.

        Raises:
            SiteError: the site could not be searched.
        """
        ...

    async def fetch(self, candidate: Candidate) -> Page:
        """Fetch the candidate's page with its media (raw bytes) and contact hints.

        Raises:
            SiteError: the page could not be fetched (``FetchBlockedError`` if the guard refused it).
        """
        ...

    async def aclose(self) -> None:
        """Release connections and browsers; the adapter is not used afterwards. Its owner calls this."""
        ...
