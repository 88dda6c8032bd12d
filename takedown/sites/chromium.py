"""Headless Chromium over Selenium: a driver factory, a small driver pool, and CDP captures.

Selenium drives Debian's ``chromium`` through ``chromedriver`` at the paths in ``EvidenceSettings``, so Selenium
Manager is never asked to download anything. Every driver gets a fresh temporary profile (``--user-data-dir``) that
is deleted when the driver quits, so no cookie, cache or history of one capture leaks into the next session.

Captures use the Chrome DevTools Protocol: :func:`full_page_screenshot` (``Page.captureScreenshot`` beyond the
viewport, clipped to the document's size) and :func:`mhtml_snapshot` (``Page.captureSnapshot``). A driver started
with ``network_log=True`` also keeps the browser's own network traffic: :func:`start_network_log` before loading a
page, then :func:`page_exchanges` turns the log into one :class:`NetworkExchange` per request (redirects included)
and :func:`response_body` reads a body as Chromium holds it, so the page load can be archived.

Selenium is imported only here, and only when a function needs it: ``import takedown.sites.chromium`` works
without the ``browser`` extra, and calling into it without Selenium raises ``MissingDependencyError``.

The guard's limit: :func:`navigate` checks the page's URL (and the URL the browser ends on) with the
:class:`~takedown.sites.guard.FetchGuard`, but the browser itself fetches the page's sub-resources (images,
scripts, frames) and follows redirects on its own. Those requests are checked only when the driver was started
with ``proxy=`` pointing at a :class:`~takedown.sites.guard_proxy.GuardProxy`, as a ``DriverPool(guard=...)``
starts its drivers (``BrowserSite`` builds its pool so); without it, only navigate the browser to pages whose
HTTP fetch already passed the guard.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from takedown.errors import EvidenceError, FetchBlockedError, MissingDependencyError, SiteError, UsageError
from takedown.settings import EvidenceSettings
from takedown.sites.guard import FetchGuard
from takedown.sites.guard_proxy import BlockedRequest, GuardProxy

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

__all__ = [
    "CHROMIUM_FLAGS",
    "MAX_SCREENSHOT_HEIGHT",
    "DriverPool",
    "NetworkExchange",
    "browser_user_agent",
    "browser_version",
    "chromium_driver",
    "full_page_screenshot",
    "is_alive",
    "media_regions",
    "mhtml_snapshot",
    "navigate",
    "network_log",
    "page_exchanges",
    "response_body",
    "start_network_log",
]

CHROMIUM_FLAGS: Final[tuple[str, ...]] = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--hide-scrollbars",
)
"""The command-line flags every driver starts Chromium with (see DESIGN.md: they work on this machine kind).

``--hide-scrollbars`` keeps a scrollbar out of screenshots, so a screenshot is as wide as the window."""

MAX_SCREENSHOT_HEIGHT: Final = 16_384
"""The tallest screenshot taken, in CSS pixels: Chromium cannot render taller bitmaps reliably."""

_FEATURE: Final = "a browser capture (screenshot, MHTML)"

Region = tuple[int, int, int, int]


def _require_selenium() -> None:
    try:
        import selenium  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("selenium", "browser", feature=_FEATURE) from exc


@functools.cache
def _driver_class() -> type[WebDriver]:
    """Chrome's WebDriver, extended to end its browser and delete its temporary profile when it quits."""
    from selenium.webdriver.chrome.webdriver import WebDriver as ChromeDriver

    class _TakedownChrome(ChromeDriver):
        takedown_profile: Path | None = None

        def quit(self) -> None:
            try:
                super().quit()
            finally:
                if self.takedown_profile is not None:
                    _end_browser(self.takedown_profile)
                    _remove_profile(self.takedown_profile)
                    self.takedown_profile = None

    return _TakedownChrome


def _end_browser(profile: Path) -> None:
    """Kill what is left of the Chromium that used ``profile``.

    When chromedriver dies (killed, crashed), its browser lives on without anyone to quit it. The profile folder is
    unique to one browser, so a process whose command line names it (the browser, and its crash handler, which
    keeps its database there) belongs to that browser and nothing else, whatever process ids have been reused
    since; the browser's other helpers end with it. Linux only (``/proc``); elsewhere nothing is done.
    """
    marker = str(profile).encode()
    killed: list[Path] = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(entry)
        except (OSError, ValueError):  # gone meanwhile, or not ours to read
            continue
    # Wait (briefly) until they are gone, so the profile is not written to while it is deleted.
    deadline = time.monotonic() + 2.0
    while killed and time.monotonic() < deadline:
        killed = [entry for entry in killed if _running(entry)]
        if killed:
            time.sleep(0.02)


def _running(entry: Path) -> bool:
    try:
        state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its parent's bookkeeping is left


def _remove_profile(profile: Path) -> None:
    # Chromium may still be flushing its profile for a moment after chromedriver returns; try again briefly.
    for attempt in range(5):
        shutil.rmtree(profile, ignore_errors=True)
        if not profile.exists():
            return
        time.sleep(0.1 * (attempt + 1))


def chromium_driver(
    settings: EvidenceSettings,
    *,
    window: tuple[int, int] = (1280, 900),
    user_agent: str | None = None,
    accept_insecure_certs: bool = False,
    network_log: bool = False,
    proxy: str | None = None,
) -> WebDriver:
    """Start headless Chromium with a fresh temporary profile and return its driver.

    The caller must call ``driver.quit()``, which also deletes the profile. Selenium Manager is bypassed: the
    driver and the browser are the files named in ``settings``.

    Args:
        settings: the Chromium and chromedriver paths and the page-load timeout.
        window: the browser window's size in pixels (width, height).
        user_agent: a User-Agent to send instead of Chromium's own.
        accept_insecure_certs: load HTTPS pages whose certificate does not verify (self-signed, expired).
        network_log: record the browser's network events (``driver.get_log("performance")``), so a caller can
            see every URL a page loaded, scripts' requests included.
        proxy: ``http://host:port`` of a proxy that every request of the browser goes through, loopback
            included (a :class:`~takedown.sites.guard_proxy.GuardProxy` applies the fetch guard there); WebRTC
            is then kept off direct UDP, which would go around the proxy.

    Raises:
        MissingDependencyError: Selenium is not installed (the ``browser`` extra).
        EvidenceError: Chromium or chromedriver is missing or would not start.
    """
    _require_selenium()
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for path, what in ((settings.chromium, "Chromium"), (settings.chromedriver, "chromedriver")):
        if not Path(path).is_file():
            raise EvidenceError(f"{what} not found at {path}; install Debian's chromium and chromium-driver")
    width, height = window
    if width < 1 or height < 1:
        raise UsageError(f"window must be positive, got {window}")
    profile = Path(tempfile.mkdtemp(prefix="takedown-chromium-"))
    options = Options()
    options.binary_location = str(settings.chromium)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    if user_agent:
        options.add_argument(f"--user-agent={user_agent}")
    if proxy:
        options.add_argument(f"--proxy-server={proxy}")
        # Chromium sends loopback requests around any proxy unless told otherwise; the guard must see them too.
        options.add_argument("--proxy-bypass-list=<-loopback>")
        options.add_argument("--force-webrtc-ip-handling-policy=disable_non_proxied_udp")
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
    options.accept_insecure_certs = accept_insecure_certs
    service = Service(executable_path=str(settings.chromedriver))
    try:
        driver = _driver_class()(options=options, service=service)
    except (WebDriverException, OSError) as exc:
        _remove_profile(profile)
        raise EvidenceError(f"Chromium would not start: {_message(exc)}", plugin="chromium") from exc
    except BaseException:
        _remove_profile(profile)
        raise
    driver.takedown_profile = profile  # type: ignore[attr-defined]
    try:
        driver.set_page_load_timeout(settings.page_load_timeout_s)
        driver.set_script_timeout(settings.page_load_timeout_s)
    except WebDriverException as exc:
        driver.quit()
        raise EvidenceError(f"Chromium would not take its timeouts: {_message(exc)}", plugin="chromium") from exc
    return driver


def _message(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    return str(msg).strip().splitlines()[0] if str(msg).strip() else type(exc).__name__


def browser_version(driver: WebDriver) -> str:
    """``"Chromium <version>"`` of the browser behind ``driver``."""
    caps: dict[str, Any] = driver.capabilities
    return f"Chromium {caps.get('browserVersion', 'unknown')}"


def navigate(driver: WebDriver, url: str, *, guard: FetchGuard) -> str:
    """Load ``url`` in the browser after the guard has passed it; return the URL the browser ended on.

    The browser's final URL (after its own redirects) is checked again; sub-resources are not (see the module's
    docstring).

    Raises:
        FetchBlockedError: the guard refused ``url`` or the final URL.
        SiteError: the page did not load (timeout, network error, crashed browser).
    """
    from selenium.common.exceptions import TimeoutException, WebDriverException

    guard.check(url)
    try:
        driver.get(url)
        final = str(driver.current_url)
    except TimeoutException as exc:
        raise SiteError(f"the browser timed out loading the page: {_message(exc)}", plugin="chromium",
                        url=url) from exc
    except WebDriverException as exc:
        raise SiteError(f"the browser could not load the page: {_message(exc)}", plugin="chromium", url=url) from exc
    if final != url:
        try:
            guard.check(final)
        except FetchBlockedError:
            with contextlib.suppress(WebDriverException):
                driver.get("about:blank")
            raise
    return final


def _cdp(driver: WebDriver, command: str, args: dict[str, Any]) -> dict[str, Any]:
    from selenium.common.exceptions import WebDriverException

    try:
        result: dict[str, Any] = driver.execute_cdp_cmd(command, args)
    except WebDriverException as exc:
        raise EvidenceError(f"Chromium's {command} failed: {_message(exc)}", plugin="chromium") from exc
    return result


def full_page_screenshot(driver: WebDriver, *, max_height: int = MAX_SCREENSHOT_HEIGHT) -> bytes:
    """A PNG of the whole document, not just the viewport, at device scale 1.

    The clip is the document's full content size from ``Page.getLayoutMetrics`` (at least the viewport), cut at
    ``max_height`` CSS pixels for extremely long pages.

    Raises:
        EvidenceError: Chromium could not take the screenshot.
    """
    metrics = _cdp(driver, "Page.getLayoutMetrics", {})
    content = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
    viewport = metrics.get("cssLayoutViewport") or metrics.get("layoutViewport") or {}
    width = max(int(content.get("width", 0)), int(viewport.get("clientWidth", 0)), 1)
    height = max(int(content.get("height", 0)), int(viewport.get("clientHeight", 0)), 1)
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, max_height), "scale": 1}
    # optimizeForSpeed: faster PNG compression (a slightly larger file, the same pixels).
    shot = _cdp(driver, "Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "fromSurface": True, "clip": clip, "optimizeForSpeed": True,
    })
    try:
        return base64.b64decode(shot["data"], validate=True)
    except (KeyError, binascii.Error) as exc:
        raise EvidenceError("Chromium returned no screenshot data", plugin="chromium") from exc


def mhtml_snapshot(driver: WebDriver) -> bytes:
    """The current page as one MHTML document (``Page.captureSnapshot``): the DOM as rendered, with resources.

    Raises:
        EvidenceError: Chromium could not take the snapshot.
    """
    snapshot = _cdp(driver, "Page.captureSnapshot", {"format": "mhtml"})
    data = snapshot.get("data")
    if not isinstance(data, str) or not data:
        raise EvidenceError("Chromium returned no MHTML", plugin="chromium")
    # MHTML is a MIME document: ASCII headers, 7-bit or quoted-printable/base64 parts. Chromium hands it over as a
    # string; characters outside Latin-1 would only appear in a malformed snapshot, so they are kept as UTF-8.
    try:
        return data.encode("latin-1")
    except UnicodeEncodeError:
        return data.encode("utf-8")


# ------------------------------------------------------------------------------------------------------------
# The browser's own traffic, from the DevTools Protocol's Network events (the driver's performance log).

def browser_user_agent(driver: WebDriver) -> str:
    """The User-Agent the browser sends (``navigator.userAgent``); empty if the page will not say."""
    from selenium.common.exceptions import WebDriverException

    try:
        value = driver.execute_script("return navigator.userAgent;")
    except WebDriverException:
        return ""
    return value if isinstance(value, str) else ""


def start_network_log(driver: WebDriver) -> None:
    """Empty the driver's network log before a page load to be archived, so the log holds that load only.

    The browser's requests are left as they are (its own ``Accept-Encoding`` included): asking servers for
    unencoded bodies would make Chromium refuse the body of a server that compresses anyway
    (``ERR_CONTENT_DECODING_FAILED``), and the screenshot would lose that resource.

    Raises:
        EvidenceError: the driver was started without ``network_log=True``.
    """
    network_log(driver)


def network_log(driver: WebDriver) -> list[dict[str, Any]]:
    """The DevTools events logged since the last call (the log is emptied), oldest first, each ``{method, params}``.

    Raises:
        EvidenceError: the driver was started without ``network_log=True``.
    """
    from selenium.common.exceptions import WebDriverException

    try:
        entries = driver.get_log("performance")  # type: ignore[no-untyped-call]
    except WebDriverException as exc:
        raise EvidenceError(f"the browser keeps no network log (start it with network_log=True): {_message(exc)}",
                            plugin="chromium") from exc
    events: list[dict[str, Any]] = []
    for entry in entries:
        try:
            message = json.loads(entry["message"])["message"]
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(message, dict) and isinstance(message.get("params"), dict):
            events.append(message)
    return events


@dataclass(frozen=True)
class NetworkExchange:
    """One HTTP request of a page load and the answer to it, as Chromium's DevTools reported them.

    A request that was redirected is one exchange per hop (``hop`` 0, 1, ...), all with the same ``request_id``;
    only the last hop has a body (:func:`response_body`).

    Attributes:
        request_id: DevTools' id of the request (shared by its redirect hops).
        hop: 0 for the first request, ``n`` for the request after the ``n``-th redirect.
        url: the request's URL.
        method: the request method.
        resource_type: what the page wanted it for (``Document``, ``Image``, ``Script``, ``XHR``, ...).
        started_at: when the request was issued (UTC).
        request_headers: the request headers, in order, one pair per value.
        request_headers_sent: whether they are the headers as sent (``requestWillBeSentExtraInfo``); else the ones
            Chromium prepared before its network stack added its own (cookies, ``Accept-Encoding``, ...).
        request_body: the request body, if DevTools reported one (form posts, ``fetch()`` bodies).
        status: the response's status code; ``None`` if no response came.
        status_text: the reason phrase Chromium reported.
        protocol: ``http/1.1``, ``h2``, ``h3``, ... (lower case, as DevTools says it).
        head_text: the status line and header block exactly as received (``responseReceivedExtraInfo.headersText``;
            HTTP/1.x only), or ``None``.
        response_headers: the response headers, in order, one pair per value.
        response_headers_raw: whether they are the raw header list of ``responseReceivedExtraInfo`` (all of them,
            ``Set-Cookie`` included); else the ones the page saw.
        charset: the character set Chromium decoded a text body with, if it said.
        remote_ip: the address the connection went to (the proxy's, when the browser used one).
        remote_port: its port.
        from_cache: answered from the browser's cache, not the network.
        from_service_worker: answered by a service worker.
        security: TLS facts of the connection (``protocol``, ``cipher``, ``subject``, ``issuer``, ``valid_from``,
            ``valid_to``), over HTTPS.
        finished: the body was received completely (``loadingFinished``); only the last hop.
        error: why the request failed (``loadingFailed``), if it did.
        encoded_length: the bytes received for it, headers included (``loadingFinished.encodedDataLength``).
    """

    request_id: str
    hop: int
    url: str
    method: str
    resource_type: str
    started_at: datetime
    request_headers: tuple[tuple[str, str], ...]
    request_headers_sent: bool
    request_body: bytes = b""
    status: int | None = None
    status_text: str = ""
    protocol: str = ""
    head_text: str | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    response_headers_raw: bool = False
    charset: str = ""
    remote_ip: str = ""
    remote_port: int | None = None
    from_cache: bool = False
    from_service_worker: bool = False
    security: Mapping[str, str] = field(default_factory=dict)
    finished: bool = False
    error: str = ""
    encoded_length: int | None = None

    @property
    def is_redirect(self) -> bool:
        """Whether this hop was answered with a redirect that the browser followed."""
        return self.status is not None and 300 <= self.status < 400 and not self.finished and not self.error


@dataclass
class _Hop:
    request: dict[str, Any]
    response: dict[str, Any] | None = None
    response_has_extra: bool = False


@dataclass
class _Request:
    hops: list[_Hop] = field(default_factory=list)
    finished: dict[str, Any] | None = None
    failed: dict[str, Any] | None = None


def _header_pairs(headers: object) -> tuple[tuple[str, str], ...]:
    """DevTools' header object (one key per name, several values joined by newlines) as ``(name, value)`` pairs."""
    if not isinstance(headers, dict):
        return ()
    return tuple((str(name), value) for name, values in headers.items() for value in str(values).split("\n"))


def _wall_time(hop: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(float(hop["wallTime"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _security(response: dict[str, Any]) -> dict[str, str]:
    details = response.get("securityDetails")
    if not isinstance(details, dict):
        return {}
    out = {"protocol": str(details.get("protocol", "")), "cipher": str(details.get("cipher", "")),
           "subject": str(details.get("subjectName", "")), "issuer": str(details.get("issuer", ""))}
    for key, name in (("validFrom", "valid_from"), ("validTo", "valid_to")):
        with contextlib.suppress(KeyError, TypeError, ValueError, OverflowError, OSError):
            out[name] = datetime.fromtimestamp(float(details[key]), UTC).isoformat()
    return {k: v for k, v in out.items() if v}


def page_exchanges(events: Iterable[Mapping[str, Any]]) -> list[NetworkExchange]:
    """The HTTP(S) exchanges of the page load in ``events`` (:func:`network_log`), in the order they were issued.

    The load starts at the first ``Document`` request for an ``http(s)`` URL: whatever came before it (the
    browser's own pages) is left out, and so are ``data:``, ``blob:`` and other non-HTTP URLs. DevTools reports the
    headers as sent and as received in separate events (``...ExtraInfo``); they are matched to their request in the
    order they came, hop by hop, and used only when they fit (the status codes agree), so an exchange never carries
    another one's headers.
    """
    requests: dict[str, _Request] = {}
    sent: dict[str, list[dict[str, Any]]] = {}
    received: dict[str, list[dict[str, Any]]] = {}
    started = False
    for event in events:
        method, params = event.get("method"), event.get("params")
        if not isinstance(method, str) or not isinstance(params, dict):
            continue
        request_id = params.get("requestId")
        if not isinstance(request_id, str):
            continue
        if method == "Network.requestWillBeSent":
            request = params.get("request")
            url = request.get("url") if isinstance(request, dict) else None
            if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("http", "https"):
                continue
            if not started:
                if params.get("type") != "Document":
                    continue
                started = True
            state = requests.get(request_id)
            redirect = params.get("redirectResponse")
            if state is None:
                state = requests[request_id] = _Request()
            elif isinstance(redirect, dict) and state.hops:
                state.hops[-1].response = redirect
                state.hops[-1].response_has_extra = bool(params.get("redirectHasExtraInfo"))
            state.hops.append(_Hop(request=params))
        elif method == "Network.requestWillBeSentExtraInfo":
            sent.setdefault(request_id, []).append(params)
        elif method == "Network.responseReceivedExtraInfo":
            received.setdefault(request_id, []).append(params)
        elif request_id in requests:
            state = requests[request_id]
            if method == "Network.responseReceived" and state.hops and isinstance(params.get("response"), dict):
                state.hops[-1].response = params["response"]
                state.hops[-1].response_has_extra = bool(params.get("hasExtraInfo"))
            elif method == "Network.loadingFinished":
                state.finished = params
            elif method == "Network.loadingFailed":
                state.failed = params
    exchanges: list[NetworkExchange] = []
    for request_id, state in requests.items():
        exchanges.extend(_exchanges(request_id, state, sent.get(request_id, []), received.get(request_id, [])))
    exchanges.sort(key=lambda e: e.started_at)
    return exchanges


def _exchanges(
    request_id: str, state: _Request, sent: list[dict[str, Any]], received: list[dict[str, Any]]
) -> Iterator[NetworkExchange]:
    hops = state.hops
    # Extra info comes once per hop that went to the network: in order, for the hops DevTools flagged as having it.
    with_extra = [i for i, hop in enumerate(hops) if hop.response_has_extra]
    if len(with_extra) != len(received):
        with_extra = list(range(len(hops))) if len(received) == len(hops) else []
    extra_for = dict(zip(with_extra, received, strict=False))
    sent_for = dict(enumerate(sent)) if len(sent) == len(hops) else {}
    for index, hop in enumerate(hops):
        request = hop.request.get("request") or {}
        response = hop.response or {}
        last = index == len(hops) - 1
        status = response.get("status") if hop.response is not None else None
        extra = extra_for.get(index)
        if extra is not None and status is not None and extra.get("statusCode") not in (None, status):
            extra = None  # not this hop's: never attach another response's headers
        request_extra = sent_for.get(index)
        post = request.get("postData")
        failed = state.failed if last else None
        error = ""
        if failed is not None:
            error = str(failed.get("errorText") or "failed")
            if failed.get("blockedReason"):
                error += f" (blocked: {failed['blockedReason']})"
            elif failed.get("canceled"):
                error += " (canceled)"
        finished = state.finished if last else None
        yield NetworkExchange(
            request_id=request_id, hop=index, url=str(request.get("url", "")),
            method=str(request.get("method", "GET")), resource_type=str(hop.request.get("type", "")),
            started_at=_wall_time(hop.request),
            request_headers=_header_pairs((request_extra or request).get("headers")),
            request_headers_sent=request_extra is not None,
            request_body=post.encode("utf-8") if isinstance(post, str) else b"",
            status=int(status) if isinstance(status, int | float) else None,
            status_text=str(response.get("statusText", "")),
            protocol=str(response.get("protocol", "")).lower(),
            head_text=extra.get("headersText") if extra is not None and isinstance(extra.get("headersText"), str)
            else None,
            response_headers=_header_pairs((extra or response).get("headers")),
            response_headers_raw=extra is not None,
            charset=str(response.get("charset", "")),
            remote_ip=str(response.get("remoteIPAddress", "")),
            remote_port=response.get("remotePort") if isinstance(response.get("remotePort"), int) else None,
            from_cache=bool(response.get("fromDiskCache") or response.get("fromPrefetchCache")),
            from_service_worker=bool(response.get("fromServiceWorker")),
            security=_security(response),
            finished=finished is not None and failed is None,
            error=error,
            encoded_length=int(finished["encodedDataLength"]) if finished is not None
            and isinstance(finished.get("encodedDataLength"), int | float) else None,
        )


def response_body(driver: WebDriver, exchange: NetworkExchange) -> tuple[bytes, str]:
    """The body of a finished exchange as Chromium holds it, and how it was obtained.

    Chromium hands over a body after removing its ``Content-Encoding`` (gzip, br, ...): without one, binary bodies
    are the bytes received. Text bodies DevTools hands over as decoded text only: they are encoded back with the
    character set that reproduces the received length (the response's ``charset``, then UTF-8, then the
    ``Content-Type`` charset), and the second value says which, or that the bytes may differ.

    Raises:
        EvidenceError: Chromium no longer holds the body (evicted from its buffer, a redirect, a failed load).
    """
    result = _cdp(driver, "Network.getResponseBody", {"requestId": exchange.request_id})
    body = result.get("body")
    if not isinstance(body, str):
        raise EvidenceError("Chromium returned no body", plugin="chromium", url=exchange.url)
    if result.get("base64Encoded"):
        try:
            return base64.b64decode(body, validate=True), "as received"
        except binascii.Error as exc:
            raise EvidenceError("Chromium returned a damaged body", plugin="chromium", url=exchange.url) from exc
    expected = _wire_length(exchange)
    candidates = [exchange.charset, "utf-8", _declared_charset(exchange.response_headers)]
    encoded: tuple[bytes, str] | None = None
    for charset in dict.fromkeys(c.strip().lower() for c in candidates if c):
        try:
            data = body.encode(charset)
        except (LookupError, UnicodeEncodeError):
            continue
        encoded = encoded or (data, charset)
        if expected is None or len(data) == expected:
            return data, f"text from Chromium, encoded as {charset}" + (
                " (the length received)" if expected is not None else " (no length to check it against)")
    if encoded is None:
        return body.encode("utf-8", "replace"), "text from Chromium, encoded as utf-8: the bytes may differ"
    return encoded[0], (f"text from Chromium, encoded as {encoded[1]}; {expected} bytes were received: the bytes "
                        "may differ")


def _declared_charset(headers: Iterable[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-type":
            for part in value.split(";")[1:]:
                key, _, charset = part.partition("=")
                if key.strip().lower() == "charset":
                    return charset.strip().strip('"')
    return ""


def _wire_length(exchange: NetworkExchange) -> int | None:
    """How many body bytes came over the wire, when the headers or the byte count say it for sure."""
    names = {name.lower(): value for name, value in exchange.response_headers}
    if names.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        return None  # the body was decoded: no received length applies to it
    length = names.get("content-length", "").strip()
    if length.isdigit():
        return int(length)
    if exchange.encoded_length is not None and exchange.head_text is not None and "chunked" not in names.get(
        "transfer-encoding", ""
    ).lower():
        return exchange.encoded_length - len(exchange.head_text.encode("latin-1", "replace"))
    return None


_REGIONS_SCRIPT: Final = """
const out = [];
const sx = window.scrollX, sy = window.scrollY;
const push = (el) => {
  const r = el.getBoundingClientRect();
  if (r.width >= 1 && r.height >= 1) {
    out.push([Math.floor(r.left + sx), Math.floor(r.top + sy), Math.ceil(r.width), Math.ceil(r.height)]);
  }
};
document.querySelectorAll("img, picture, video, canvas, svg, iframe, embed, object").forEach(push);
for (const el of document.querySelectorAll("body *")) {
  const bg = getComputedStyle(el).backgroundImage;
  if (bg && bg !== "none" && bg.includes("url(")) push(el);
}
return out;
"""


def media_regions(driver: WebDriver) -> list[Region]:
    """Boxes ``(x, y, width, height)`` in document pixels of every element that can show a picture.

    That is ``img``, ``picture``, ``video``, ``canvas``, ``svg``, frames, embedded objects and elements with a CSS
    background image: what a preview of the screenshot must mask. Coordinates match :func:`full_page_screenshot`
    at device scale 1.

    Raises:
        EvidenceError: the script could not run.
    """
    from selenium.common.exceptions import WebDriverException

    try:
        raw = driver.execute_script(_REGIONS_SCRIPT)
    except WebDriverException as exc:
        raise EvidenceError(f"could not read the page's media boxes: {_message(exc)}", plugin="chromium") from exc
    regions: list[Region] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, list) and len(item) == 4 and all(isinstance(v, int | float) for v in item):
            x, y, w, h = (int(v) for v in item)
            regions.append((x, y, w, h))
    return regions


def _reset(driver: WebDriver) -> None:
    """Forget everything the pages of one lending left in the browser, so the next borrower starts clean.

    The tab goes to ``about:blank`` first, so no script of the last page (a timer, an unload handler) writes
    again after the clearing; windows the pages opened are closed. Then every origin the browser has seen (the
    tab's history, and every page, frame and service worker the browser runs) loses all its site data
    (``Storage.clearDataForOrigin`` with ``all``: local and session storage, IndexedDB, Cache Storage, service
    workers ...), and cookies, the HTTP cache and the tab's history are cleared browser-wide.
    """
    driver.get("about:blank")
    own = driver.execute_cdp_cmd("Target.getTargetInfo", {}).get("targetInfo", {}).get("targetId")
    targets = driver.execute_cdp_cmd("Target.getTargets", {}).get("targetInfos", [])
    history = driver.execute_cdp_cmd("Page.getNavigationHistory", {}).get("entries", [])
    for target in targets:
        if target.get("type") == "page" and target.get("targetId") != own:
            driver.execute_cdp_cmd("Target.closeTarget", {"targetId": target["targetId"]})
    for origin in sorted(_origins([*(e.get("url") for e in history), *(t.get("url") for t in targets)])):
        driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.execute_cdp_cmd("Page.resetNavigationHistory", {})


def _origins(urls: Iterable[object]) -> set[str]:
    """The http(s) origins (``scheme://host:port``) of ``urls``."""
    origins: set[str] = set()
    for url in urls:
        if isinstance(url, str):
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") and parts.netloc:
                origins.add(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")
    return origins


def is_alive(driver: WebDriver) -> bool:
    """Whether the driver's chromedriver still answers and its browser session is valid."""
    from selenium.common.exceptions import WebDriverException

    try:
        if not driver.service.is_connectable():
            return False
        _ = driver.current_url
    except WebDriverException:  # InvalidSessionIdException included: the browser is gone
        return False
    except OSError:
        return False
    return True


class DriverPool:
    """Up to ``size`` warm Chromium drivers shared by threads; a crashed driver is replaced on its next use.

    Drivers are started lazily (or all at once by :meth:`warm`). :meth:`driver` lends one for a ``with`` block and
    takes it back clean: on ``about:blank``, without the windows its pages opened, cookies, cache, or any site's
    storage (local and session storage, IndexedDB, service workers). A driver that fails its health check (its
    chromedriver no longer answers, or its session is invalid) is quit and replaced by a new one. :meth:`close`
    quits every driver and their temporary profiles are deleted.

    With a ``guard``, the pool runs a :class:`~takedown.sites.guard_proxy.GuardProxy` and starts every browser
    behind it, so each request a page makes (sub-resources, scripts' requests, redirects) passes the guard;
    :attr:`blocked` lists what it refused.

    Args:
        settings: the Chromium paths and page-load timeout.
        size: the most drivers alive at once.
        window: each browser window's size.
        user_agent: a User-Agent for the browsers, else Chromium's own.
        accept_insecure_certs: let the browsers load pages whose TLS certificate does not verify.
        network_log: start the browsers with their network log on (see :func:`chromium_driver`).
        guard: check every request the browsers make with this guard (through a loopback proxy).
        factory: builds one driver (tests pass a fake); default: :func:`chromium_driver` with the above.

    Raises:
        UsageError: ``size`` is below 1, or both ``factory`` and ``guard`` were given (a factory starts its own
            browsers: give them ``proxy=`` a running ``GuardProxy``'s URL instead).
    """

    def __init__(
        self,
        settings: EvidenceSettings | None = None,
        *,
        size: int = 1,
        window: tuple[int, int] = (1280, 900),
        user_agent: str | None = None,
        accept_insecure_certs: bool = False,
        network_log: bool = False,
        guard: FetchGuard | None = None,
        factory: Callable[[], WebDriver] | None = None,
    ) -> None:
        if size < 1:
            raise UsageError(f"a driver pool needs at least one driver, got size={size}")
        if factory is not None and guard is not None:
            raise UsageError("a driver factory starts its own browsers: start them with proxy=GuardProxy(guard).url")
        self.settings = settings or EvidenceSettings()
        self.size = size
        self.guard = guard
        self._proxy: GuardProxy | None = None
        self._start = functools.partial(
            chromium_driver, self.settings, window=window, user_agent=user_agent,
            accept_insecure_certs=accept_insecure_certs, network_log=network_log,
        )
        self._factory = factory or self._start_driver
        self._idle: queue.LifoQueue[WebDriver] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._alive = 0
        self._closed = False
        self._all: set[WebDriver] = set()
        self.restarts = 0
        """How many broken drivers were replaced."""

    def warm(self) -> None:
        """Start drivers until ``size`` are alive, so the first capture does not pay Chromium's start-up.

        Raises:
            EvidenceError: a driver would not start.
        """
        started: list[WebDriver] = []
        try:
            while True:
                with self._lock:
                    if self._alive >= self.size:
                        break
                    self._alive += 1
                try:
                    started.append(self._new())
                except BaseException:
                    with self._lock:
                        self._alive -= 1
                    raise
        finally:
            for driver in started:
                self._give_back(driver)

    def _start_driver(self) -> WebDriver:
        proxy: str | None = None
        if self.guard is not None:
            with self._lock:
                if self._closed:  # a proxy started now would outlive the pool
                    raise UsageError("the driver pool is closed")
                if self._proxy is None:
                    self._proxy = GuardProxy(self.guard, timeout_s=max(30.0, self.settings.page_load_timeout_s))
                    self._proxy.start()
                proxy = self._proxy.url
        return self._start(proxy=proxy)

    @property
    def proxy_url(self) -> str:
        """The guard proxy the pool's browsers go through (``http://127.0.0.1:PORT``), or ``""`` if none runs."""
        with self._lock:
            proxy = self._proxy
        if proxy is None:
            return ""
        try:
            return proxy.url
        except UsageError:  # stopped meanwhile
            return ""

    @property
    def blocked(self) -> list[BlockedRequest]:
        """The requests of this pool's browsers that the guard refused, oldest first (empty without a guard)."""
        with self._lock:
            proxy = self._proxy
        return proxy.blocked if proxy is not None else []

    def _new(self) -> WebDriver:
        if self._closed:
            raise UsageError("the driver pool is closed")
        driver = self._factory()
        with self._lock:
            closed = self._closed
            if not closed:
                self._all.add(driver)
        if closed:  # close() ran while this browser started: it never saw it, so it is quit here
            with contextlib.suppress(Exception):
                driver.quit()
            raise UsageError("the driver pool is closed")
        return driver

    def _give_back(self, driver: WebDriver) -> None:
        """Put a driver back among the idle ones, or quit it if the pool was closed meanwhile."""
        with self._lock:
            closed = self._closed
            if not closed:
                self._idle.put(driver)
        if closed:
            self._discard(driver)

    def _discard(self, driver: WebDriver) -> None:
        with self._lock:
            if driver in self._all:
                self._all.discard(driver)
                self._alive -= 1
        with contextlib.suppress(Exception):
            driver.quit()

    def acquire(self, timeout: float | None = None) -> WebDriver:
        """Borrow a healthy driver, starting one if fewer than ``size`` are alive; give it back with :meth:`release`.

        Raises:
            UsageError: the pool is closed.
            EvidenceError: no driver became free within ``timeout`` seconds, or a new one would not start.
        """
        if self._closed:
            raise UsageError("the driver pool is closed")
        while True:
            try:
                driver = self._idle.get_nowait()
            except queue.Empty:
                with self._lock:
                    can_start = self._alive < self.size
                    if can_start:
                        self._alive += 1
                if can_start:
                    try:
                        return self._new()
                    except BaseException:
                        with self._lock:
                            self._alive -= 1
                        raise
                try:
                    driver = self._idle.get(timeout=timeout)
                except queue.Empty as exc:
                    raise EvidenceError(f"no browser became free within {timeout} s", plugin="chromium") from exc
            if is_alive(driver):
                return driver
            self.restarts += 1
            self._discard(driver)

    def release(self, driver: WebDriver, *, broken: bool = False) -> None:
        """Give a borrowed driver back; a ``broken`` one (or one that will not reset) is quit and replaced later."""
        if not broken and not self._closed:
            try:
                _reset(driver)
            except Exception:
                broken = True
        if broken or self._closed:
            if broken:
                self.restarts += 1
            self._discard(driver)
            return
        self._give_back(driver)

    @contextlib.contextmanager
    def driver(self, timeout: float | None = None) -> Iterator[WebDriver]:
        """Lend a driver for a ``with`` block; if the block raised and the driver is no longer healthy, replace it."""
        driver = self.acquire(timeout)
        try:
            yield driver
        except BaseException:
            self.release(driver, broken=not is_alive(driver))
            raise
        self.release(driver)

    def close(self) -> None:
        """Quit every driver (lent ones too) and delete their profiles. Safe to call twice.

        A driver still starting (in :meth:`warm` or :meth:`acquire`) is quit as soon as it has started.
        """
        with self._lock:
            self._closed = True
            drivers = list(self._all)
            self._all.clear()
            self._alive = 0
        while True:
            try:
                self._idle.get_nowait()
            except queue.Empty:
                break
        for driver in drivers:
            with contextlib.suppress(Exception):
                driver.quit()
        with self._lock:
            proxy, self._proxy = self._proxy, None
        if proxy is not None:
            proxy.stop()

    def __enter__(self) -> DriverPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
