"""The site adapter extension point: how takedown finds candidate pages on a site and fetches them.

``FormReporter`` is the optional part: an adapter for a site that takes removal requests through a web form
submits approved notices to it. The workflow checks for it with ``isinstance``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar, Protocol, runtime_checkable

from takedown.errors import UsageError
from takedown.models import Candidate, FormSubmission, Notice, Page, SearchQuery
from takedown.sites.urls import canonicalize

__all__ = ["FormReporter", "SiteAdapter", "submits_to"]


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


@runtime_checkable
class FormReporter(Protocol):
    """A site adapter that files removal requests through the site's own web form.

    ``form_url`` says which form (the workflow drafts a notice addressed to it: ``recipient.channel ==
    "web_form"``, ``recipient.address`` the form's URL); ``report_form`` submits one approved notice there. The
    review step (``takedown.report.review.submit_notice``) calls it once per notice, between recording its intent
    and recording the delivery, so an implementation must not retry a request that may have reached the site.
    """

    @property
    def form_url(self) -> str | None:
        """The URL of the site's removal-request form, or ``None`` if this site has none."""
        ...

    @property
    def form_only(self) -> bool:
        """Whether the form replaces the email requests to the site (the operator answers only its form).

        ``False``: the workflow drafts the form request beside the email requests, and the officer approves the
        channel the operator answers. Emails to the host and registrar stay for escalation either way.
        """
        ...

    @property
    def form_takes_lists(self) -> bool:
        """Whether one submission can carry several URLs (the form has a field for a list of them).

        ``False``: a notice that lists several pages is submitted once per page (``notice.finding_id`` and the
        ``urls`` legal field then name that page alone), all under the notice's one approval.
        """
        ...

    async def report_form(self, notice: Notice) -> FormSubmission:
        """Submit an approved notice to the form, once, and return what was submitted and what the site answered.

        Raises:
            NotApprovedError: the notice has no recorded human approval; nothing was sent.
            UsageError: the site has no form, or the notice is addressed elsewhere; nothing was sent.
            DeliveryError: the request was not filed (refused, or it never left).
            DeliveryStateUnknownError: the site may have the request (the connection failed after it went out,
                a server error, or no sign of success); it must not be submitted again unchecked.
        """
        ...


def submits_to(reporter: object, form_url: str) -> bool:
    """Whether ``reporter`` is a ``FormReporter`` whose form is ``form_url`` (compared canonicalised).

    Used to route a web-form notice (whose ``recipient.address`` is the form's URL) to the adapter that can
    submit it; anything that is not a ``FormReporter``, or has no form, submits to nothing.
    """
    if not isinstance(reporter, FormReporter) or not reporter.form_url:
        return False
    return _canonical(reporter.form_url) == _canonical(form_url)


def _canonical(url: str) -> str:
    try:
        return canonicalize(url)
    except UsageError:  # not an absolute http(s) URL: compared as written
        return url.strip()
