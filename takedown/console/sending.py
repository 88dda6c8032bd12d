"""Sending approved requests from the console: e-mails through the transport, web forms through their site.

The same rules as ``takedown send``: only an approved request goes, each once (``send_notice`` and
``submit_notice`` record the intent before sending and the delivery after, so a repeated click or a crash never
sends twice); a request to a site's web form is submitted by the site adapter of the site file that owns the
form (``[sites] dir``). The officer who asked is recorded in the request's custody log (``send_requested``)
before anything leaves. One request that cannot be sent does not stop the others: each outcome is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from takedown.errors import NotApprovedError, TakedownError, UsageError
from takedown.models import Delivery, NoticeState
from takedown.report.base import Transport
from takedown.settings import Settings
from takedown.sites.base import SiteAdapter
from takedown.store.base import CaseStore

__all__ = ["Sent", "send_requests"]


@dataclass(frozen=True)
class Sent:
    """What became of one request: its delivery, or why it was not sent."""

    notice_id: str
    delivery: Delivery | None = None
    error: TakedownError | None = None

    @property
    def why(self) -> str:
        """Why it was not sent, for a person: the error's type and message."""
        return f"{type(self.error).__name__}: {self.error}" if self.error else ""


async def send_requests(
    store: CaseStore,
    settings: Settings,
    notice_ids: Sequence[str],
    *,
    make_transport: Callable[[], Transport],
    actor: str,
    context: Mapping[str, str],
) -> list[Sent]:
    """Send each approved request once, in order, and say what became of each.

    A request sent already returns its delivery and is not sent again. The transport is made only when an
    e-mail goes, and the site files are read only when a web-form request goes; both are closed at the end.

    Args:
        store: the agency's store.
        settings: the agency's settings (``[smtp] sender``, the agency's name, ``[sites]``, the evidence root).
        notice_ids: the requests to send.
        make_transport: makes the transport e-mails go through.
        actor: the signed-in officer's display name, for the custody log.
        context: who asked, and how (user name, session or token), for the custody log.
    """
    from takedown.evidence.signing import AgencySigner
    from takedown.pipeline import notice_renderer
    from takedown.report.review import send_notice, submit_notice
    from takedown.sites.base import FormReporter, submits_to

    transport: Transport | None = None
    renderer, signer = notice_renderer(settings), AgencySigner.from_settings(settings.signing)
    adapters: list[SiteAdapter] | None = None
    out: list[Sent] = []
    try:
        for notice_id in notice_ids:
            try:
                existing = store.get_delivery(notice_id)
                if existing is not None:
                    out.append(Sent(notice_id, delivery=existing))
                    continue
                notice = store.get_notice(notice_id)
                if notice.state is not NoticeState.APPROVED:
                    raise NotApprovedError(f"request {notice_id} is {notice.state.value}; only an approved request "
                                           "is sent")
                store.append_custody(notice_id, "send_requested", actor=actor, details=dict(context))
                if notice.recipient.channel == "web_form":
                    if adapters is None:
                        from takedown.pipeline import build_sites

                        adapters = build_sites(settings)
                    form = next((a for a in adapters
                                 if isinstance(a, FormReporter) and submits_to(a, notice.recipient.address)), None)
                    if form is None:
                        raise UsageError(f"no site file in {settings.sites.dir} submits to the web form "
                                         f"{notice.recipient.address}; add it to [sites] dir")
                    delivery = await submit_notice(store, notice_id, site=form)
                else:
                    if transport is None:
                        transport = make_transport()
                    delivery = send_notice(store, notice_id, transport=transport, sender=settings.smtp.sender,
                                           sender_name=settings.agency.name,
                                           evidence_root=settings.storage.evidence_root, renderer=renderer,
                                           signer=signer)
                out.append(Sent(notice_id, delivery=delivery))
            except TakedownError as exc:
                out.append(Sent(notice_id, error=exc))
    finally:
        if transport is not None:
            transport.close()
        for adapter in adapters or ():
            await adapter.aclose()
    return out
