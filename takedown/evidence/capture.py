"""Capture: turn a finding's page into sealed artifacts and an evidence bundle.

Two ways, one layout (files written atomically under ``root/<case>/<bundle>/``, every one hashed; the caller
records the bundle, its custody events and the finding's move to ``evidenced`` in one transaction):

- :func:`capture_finding` (offline) copies what the site adapter already fetched (the page's HTML and the raw
  media bytes, from the blob store) and runs the report writers.
- :class:`Capturer` (live) fetches the page again at capture time and keeps everything a court may ask about:
  every HTTP exchange as raw bytes in a WARC (redirects included), the server's IP address and TLS certificate,
  the page and its media, a full-page screenshot and an MHTML snapshot from headless Chromium together with every
  request and response of that browser load in a second WARC, both WARCs packaged as a (signed) WACZ, capture
  times in UTC and in the agency's time zone, the User-Agents, the tool, its version and commit, Python and the
  platform, and the operator. :func:`capture_finding_live` does that for a finding, adds masked previews
  (:mod:`takedown.evidence.preview`) and runs the writers.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import ipaddress
import json
import mimetypes
import os
import platform
import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ConfigDict, Field

from takedown._version import __version__
from takedown.errors import (
    EvidenceError,
    FetchBlockedError,
    MissingDependencyError,
    SiteError,
    TakedownError,
    UsageError,
)
from takedown.evidence.base import EvidenceWriter, bundle_folder
from takedown.evidence.preview import make_previews
from takedown.evidence.signing import AgencySigner
from takedown.evidence.wacz import WACZ_FILE, WACZ_MEDIA_TYPE, WaczPage, write_wacz
from takedown.evidence.warc import (
    WARC_MEDIA_TYPE,
    HttpExchange,
    WarcRecorder,
    http_head,
    http_request_head,
    http_response_head,
)
from takedown.files import file_sha256
from takedown.models import Artifact, EvidenceBundle, Finding, make_id, utcnow
from takedown.settings import AgencySettings, EvidenceSettings, NetworkSettings, Settings, SigningSettings
from takedown.sites.chromium import (
    DriverPool,
    NetworkExchange,
    browser_user_agent,
    browser_version,
    full_page_screenshot,
    media_regions,
    mhtml_snapshot,
    navigate,
    network_log,
    page_exchanges,
    response_body,
    start_network_log,
)
from takedown.sites.extract import extract
from takedown.sites.guard import FetchGuard
from takedown.sites.guard_proxy import BlockedRequest
from takedown.store.blobs import BlobStore, atomic_write

__all__ = ["CaptureConfig", "Capturer", "bundle_folder", "capture_finding", "capture_finding_live", "provenance"]


def _git_commit(folder: Path) -> str:
    """The commit checked out where ``folder`` is tracked in a git work tree, else ``""`` (2 s at most per call)."""
    git = shutil.which("git")
    if git is None:
        return ""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # the package's own repository only
    try:
        tracked = subprocess.run([git, "-C", str(folder), "ls-files", "--error-unmatch", "__init__.py"],
                                 capture_output=True, timeout=2, check=False, env=env)
        if tracked.returncode != 0:  # not a checkout, or an installed copy inside some other repository
            return ""
        head = subprocess.run([git, "-C", str(folder), "rev-parse", "--verify", "HEAD"], capture_output=True,
                              text=True, timeout=2, check=False, env=env)
    except (OSError, subprocess.SubprocessError):
        return ""
    commit = head.stdout.strip()
    return commit if head.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit) else ""


@functools.cache
def provenance() -> dict[str, str]:
    """What ran a capture, for ``bundle.capture``: computed once per process.

    ``takedown_version``; ``takedown_commit`` (only when takedown runs from a git checkout: ``git rev-parse HEAD``
    where the package's files are tracked); ``python`` (e.g. ``"CPython 3.11.7"``); ``platform``
    (:func:`platform.platform`).
    """
    facts = {
        "takedown_version": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }
    if commit := _git_commit(Path(__file__).resolve().parent.parent):
        facts["takedown_commit"] = commit
    return facts


def _copy(blobs: BlobStore, sha256: str, target: Path, root: Path, *, media_type: str, role: str) -> Artifact:
    data = blobs.read(sha256)
    if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != sha256:
        atomic_write(target, data)
    return Artifact(path=target.relative_to(root).as_posix(), sha256=sha256, size=len(data), media_type=media_type,
                    role=role)


def capture_finding(
    finding: Finding,
    *,
    blobs: BlobStore,
    root: Path,
    writers: Sequence[EvidenceWriter],
    operator: str,
) -> EvidenceBundle:
    """Write a finding's evidence files and return the sealed bundle (not yet stored).

    A finding whose page could not be fetched yields a bundle whose ``error`` says so, never an empty one that
    looks complete.

    Raises:
        EvidenceError: a file could not be written, or a writer failed.
    """
    page = finding.page
    base = EvidenceBundle(
        case_id=finding.case_id, finding_id=finding.id, captured_at=utcnow(),
        capture={
            "url": finding.candidate.url,
            "final_url": page.final_url if page else "",
            "status": str(page.status) if page else "",
            "fetched_at": page.fetched_at.isoformat() if page else "",
            "site": finding.candidate.site,
            "tool": f"takedown {__version__}",
            "operator": operator,
            **provenance(),
        },
    )
    out = bundle_folder(root, base)
    artifacts: list[Artifact] = []
    try:
        if page is None:
            return base.model_copy(update={"error": "the page was never fetched"})
        artifacts.append(_copy(blobs, page.html_sha256, out / "page.html", root, media_type="text/html",
                               role="page_html"))
        for media in finding.media:
            ext = mimetypes.guess_extension(media.content_type) or ".bin"
            artifacts.append(_copy(blobs, media.sha256, out / "media" / f"{media.sha256[:16]}{ext}", root,
                                   media_type=media.content_type, role="media"))
        bundle = base.model_copy(update={"artifacts": tuple(artifacts)})
        for writer in writers:
            artifact = writer.write(bundle, finding, out=out, root=root)
            bundle = bundle.model_copy(update={"artifacts": (*bundle.artifacts, artifact)})
    except TakedownError as exc:
        if isinstance(exc, EvidenceError):
            raise
        raise EvidenceError(f"capture of {finding.id} failed: {exc}", url=finding.candidate.url) from exc
    except OSError as exc:
        raise EvidenceError(f"cannot write evidence for {finding.id}: {exc}", url=finding.candidate.url) from exc
    return bundle


# ------------------------------------------------------------------------------------------------------------
# Live capture: the page, its media and a WARC over HTTP; a screenshot and MHTML from Chromium.

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_WARC_FILE: Final = "capture.warc.gz"
_BROWSER_WARC_FILE: Final = "browser.warc.gz"
_LISTED: Final = 100  # skipped or blocked items named in bundle.capture; the browser WARC names them all


class CaptureConfig(BaseModel):
    """How a live capture is made: the agency's settings plus the capture's own knobs.

    Build it from an agency's :class:`~takedown.settings.Settings` with :meth:`from_settings`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    agency: AgencySettings = Field(default_factory=AgencySettings)
    operator: str = Field(default="takedown", description="who makes the capture; in the WARC and the bundle")
    verify: bool | Path = Field(
        default=True,
        description="TLS: verify against the default CAs (true), against this CA bundle (a PEM path), or not at "
        "all (false: sites with broken certificates can still be captured; the bundle says it was not verified)",
    )
    max_redirects: int = Field(default=10, ge=0)
    media: bool = Field(default=True, description="download the page's images, videos and audio")
    browsers: int = Field(default=1, ge=1, description="how many Chromium instances captures share")
    window: tuple[int, int] = (1280, 900)
    browser_user_agent: str | None = Field(default=None, description="default: Chromium's own User-Agent")
    max_media_items: int = Field(
        default=300, ge=0,
        description="the most media items one capture downloads over HTTP; the rest are listed in media_skipped",
    )
    max_browser_exchanges: int = Field(
        default=300, ge=0,
        description="the most requests of the browser's page load archived in browser.warc.gz (each redirect hop "
        "counts); the rest are listed as skipped",
    )
    wacz: bool = Field(default=True, description="package the capture's WARC files as archive.wacz")
    signing: SigningSettings = Field(
        default_factory=SigningSettings,
        description="the agency's key: an ECDSA P-384 key signs the WACZ (other keys leave it unsigned)",
    )

    @classmethod
    def from_settings(cls, settings: Settings, *, operator: str, **changes: Any) -> CaptureConfig:
        """The capture configuration for an agency's settings, with ``changes`` to the capture's own fields."""
        return cls(evidence=settings.evidence, network=settings.network, agency=settings.agency,
                   signing=settings.signing, operator=operator, **changes)


@dataclass
class _Hop:
    """One HTTP exchange of a capture, read to its end (or to the byte limit)."""

    url: str
    status: int
    reason: str
    headers: httpx.Headers
    raw: bytes
    truncated: bool
    server_ip: str
    tls: dict[str, str]
    certificate: bytes | None
    location: httpx.URL | None
    response_id: str
    received_at: datetime


@dataclass
class _Run:
    """The state of one capture while it runs."""

    url: str
    out: Path
    root: Path
    warc: WarcRecorder
    remaining: int
    bundle_id: str = ""
    title: str = ""
    media_tried: int = 0
    jar: httpx.Cookies = field(default_factory=httpx.Cookies)
    artifacts: list[Artifact] = field(default_factory=list)
    capture: dict[str, str] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    certificates: set[str] = field(default_factory=set)


def _proxy_label(proxy: str | None) -> str:
    if not proxy:
        return ""
    parts = urlsplit(proxy)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


def _certificate_fields(der: bytes) -> dict[str, str]:
    """Subject, issuer, validity, serial, names and SHA-256 fingerprint of a DER certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return {"tls_sha256": hashlib.sha256(der).hexdigest(), "tls_certificate_error": "not a readable certificate"}
    fields = {
        "tls_subject": cert.subject.rfc4514_string(),
        "tls_issuer": cert.issuer.rfc4514_string(),
        "tls_not_before": cert.not_valid_before_utc.isoformat(),
        "tls_not_after": cert.not_valid_after_utc.isoformat(),
        "tls_serial": format(cert.serial_number, "x"),
        "tls_sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        fields["tls_san"] = ", ".join(
            [*names.get_values_for_type(x509.DNSName), *(str(ip) for ip in names.get_values_for_type(x509.IPAddress))]
        )
    except x509.ExtensionNotFound:
        pass
    return fields


def _peer(response: httpx.Response) -> tuple[str, dict[str, str], bytes | None]:
    """The server's address, the TLS session's facts and the server's DER certificate, as far as known."""
    stream = response.extensions.get("network_stream")
    if stream is None:  # a mock or custom transport: no socket to ask
        return "", {}, None
    address = stream.get_extra_info("server_addr")
    server_ip = str(address[0]) if isinstance(address, tuple) and address else ""
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        return server_ip, {}, None
    tls: dict[str, str] = {}
    version = ssl_object.version()
    cipher = ssl_object.cipher()
    if version:
        tls["tls_version"] = str(version)
    if cipher:
        tls["tls_cipher"] = str(cipher[0])
    der = ssl_object.getpeercert(binary_form=True)
    return server_ip, tls, der or None


def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as received; a transport that already read it (``MockTransport``) still has its raw stream."""
    if response.is_stream_consumed and isinstance(response.stream, httpx.AsyncByteStream):
        return response.stream.__aiter__()
    return response.aiter_raw()


def _decoded(hop: _Hop) -> tuple[bytes, str]:
    """The body with its Content-Encoding removed (what a browser parses), and how it was obtained."""
    encoding = hop.headers.get("content-encoding", "").strip().lower()
    if not encoding or encoding == "identity":
        return hop.raw, "as received"
    try:
        return httpx.Response(hop.status, headers=hop.headers, content=hop.raw).read(), f"{encoding} decoded"
    except httpx.DecodingError:
        return hop.raw, f"as received ({encoding} could not be decoded)"


def _content_type(headers: httpx.Headers, default: str) -> str:
    value = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value or default


def _error_text(exc: Exception, *, timeout: float) -> str:
    if isinstance(exc, FetchBlockedError):
        return f"blocked by the fetch guard: {exc}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out (limit {timeout:g} s): {type(exc).__name__}"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {exc}"
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL):
        return f"request failed: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


class Capturer:
    """Captures live web pages as evidence: raw HTTP exchanges in a WARC, the page, its media, a screenshot, MHTML.

    One capture (:meth:`capture_url`):

    1. fetches the URL over httpx, following redirects itself (at most ``max_redirects``); every request, each
       redirect included, is first checked by the fetch guard, and the address the connection actually went to is
       checked again (against DNS rebinding). Each hop's URL and status, the final response's headers, the server's
       IP address and, over HTTPS, the TLS version, cipher and the server's certificate are recorded;
    2. downloads the page's media (``img``, ``video``, ``audio``, ``source``; at most ``max_media_items``) while
       the capture stays under ``EvidenceSettings.max_capture_bytes`` (and each item under
       ``NetworkSettings.max_media_bytes``);
    3. writes ``page.html``, ``media/<sha256[:16]><ext>`` and ``capture.warc.gz`` (every exchange: request and
       response records with the raw bytes, per-exchange metadata, the certificates);
    4. if ``EvidenceSettings.screenshot`` is set, loads the final URL in headless Chromium and writes
       ``screenshot.png`` (the full page), ``page.mhtml`` and ``browser.warc.gz``: every request of that load and
       its response (at most ``max_browser_exchanges``; bodies count towards ``max_capture_bytes``), as Chromium's
       DevTools reported them (see :class:`~takedown.sites.chromium.NetworkExchange`); requests the guard refused
       are noted there, never fetched;
    5. if ``wacz`` is set, packages the WARC files as ``archive.wacz`` (:func:`~takedown.evidence.wacz.write_wacz`),
       signed when the agency's key is ECDSA P-384.

    ``page.html`` and the media files hold the bodies **after content decoding** (a gzip-served page is stored as
    the HTML a browser parses); the WARC holds the bytes **as received** (still gzip), and the bundle's capture
    metadata says which encoding was removed (``content_encoding``). Without a Content-Encoding they are the same
    bytes.

    The browser fetches the page a second time, on its own, so the screenshot shows the page as Chromium rendered
    it moments after the HTTP capture; its own pool sends every request the page makes through a
    guarding proxy (:class:`~takedown.sites.guard_proxy.GuardProxy`); a pool passed in is guarded only if it was
    built with ``guard=``. A browser that fails leaves the HTTP capture intact and says why in
    ``capture["browser_error"]``.

    Cookies set during a capture are kept for that capture only.

    Args:
        config: settings, operator and the capture's limits.
        client: an ``httpx.AsyncClient`` to send requests with (tests pass one that trusts a test CA, or a mock
            transport); its redirect setting and cookie jar are not used. If omitted, one is built from ``config``
            and closed by :meth:`aclose`.
        drivers: a :class:`~takedown.sites.chromium.DriverPool` to take browsers from; if omitted and screenshots
            are on, one is started on first use and closed by :meth:`aclose`. The browser load is archived only
            from a pool started with ``network_log=True`` (as the capturer's own pool is).

    Raises:
        ConfigError: ``config.signing`` names a key that cannot be loaded.
    """

    name: ClassVar[str] = "live"

    def __init__(
        self,
        config: CaptureConfig | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        drivers: DriverPool | None = None,
    ) -> None:
        self.config = config or CaptureConfig()
        network = self.config.network
        self.guard = FetchGuard.for_network(network)
        self._zone = ZoneInfo(self.config.agency.time_zone)
        self._owns_client = client is None
        self._client = client
        self._owns_drivers = drivers is None
        self._drivers = drivers
        self._drivers_lock = threading.Lock()
        self._signer = AgencySigner.from_settings(self.config.signing) if self.config.wacz else None

    # -- resources ------------------------------------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client (built on first use when none was passed in).

        Raises:
            UsageError: the CA bundle in ``config.verify`` cannot be read, or a client passed in is closed.
        """
        if self._client is None or (self._owns_client and self._client.is_closed):
            verify: bool | ssl.SSLContext
            if isinstance(self.config.verify, Path):
                try:
                    verify = ssl.create_default_context(cafile=str(self.config.verify))
                except (OSError, ssl.SSLError) as exc:
                    raise UsageError(f"cannot read the CA bundle {self.config.verify}: {exc}") from exc
            else:
                verify = self.config.verify
            self._client = httpx.AsyncClient(
                timeout=self.config.network.timeout_s, headers={"User-Agent": self.config.network.user_agent},
                follow_redirects=False, proxy=self.config.network.proxy, verify=verify,
            )
        elif self._client.is_closed:
            raise UsageError("the httpx client passed to the capturer is closed")
        return self._client

    def _pool(self) -> DriverPool:
        with self._drivers_lock:
            if self._drivers is None:
                self._drivers = DriverPool(
                    self.config.evidence, size=self.config.browsers, window=self.config.window,
                    user_agent=self.config.browser_user_agent, accept_insecure_certs=self.config.verify is False,
                    network_log=True,  # the page load is archived from the browser's network events
                    guard=self.guard,  # every request the page makes goes through the guarding proxy
                )
            return self._drivers

    def warm(self) -> None:
        """Start the browsers now (blocking), so the first capture does not wait for Chromium to start.

        Raises:
            MissingDependencyError: Selenium is not installed.
            EvidenceError: Chromium would not start.
        """
        if self.config.evidence.screenshot:
            self._pool().warm()

    async def aclose(self) -> None:
        """Close the HTTP client and quit the browsers, if this capturer started them."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
        if self._owns_drivers and self._drivers is not None:
            drivers, self._drivers = self._drivers, None
            await asyncio.to_thread(drivers.close)

    async def __aenter__(self) -> Capturer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- one capture -----------------------------------------------------------------------------------------

    async def capture_url(
        self, url: str, *, out: Path, root: Path, case_id: str, finding_id: str, site: str = ""
    ) -> EvidenceBundle:
        """Capture ``url`` into the folder ``out`` (inside the evidence ``root``) and return the bundle.

        Every file is written atomically and hashed into an artifact (roles ``page_html``, ``media``, ``warc``,
        ``browser_warc``, ``screenshot``, ``mhtml``, ``wacz``; paths relative to ``root``). ``bundle.capture`` holds
        string values:
        ``requested_url`` (also as ``url``), ``final_url``, ``redirect_chain`` (JSON list of ``{"url", "status"}``),
        ``status``, ``headers`` (JSON list of ``[name, value]`` pairs as received), ``content_encoding``,
        ``page_html`` (how page.html relates to the body received), ``server_ip`` (absent behind a proxy: then
        ``proxy``), ``tls_*`` (over HTTPS: ``version``, ``cipher``, ``subject``, ``issuer``, ``not_before``,
        ``not_after``, ``serial``, ``san``, ``sha256``, ``verified``), ``captured_at_utc``, ``captured_at_local``
        (the agency's time zone, ISO 8601 with offset), ``received_at_utc`` (when the page's response head arrived),
        ``finished_at_utc``, ``time_zone``, ``tool``, ``adapter`` (the HTTP client), ``user_agent`` (the User-Agent
        it sent), ``takedown_version``, ``takedown_commit`` (from a git checkout only), ``python``, ``platform``,
        ``operator``, ``site`` (when given), ``media_count``, ``media_sources`` (JSON list of
        ``{"url", "final_url", "path", "sha256", "media_type"}``: which URL each media file came from),
        ``media_skipped`` (JSON list of ``{"url", "reason"}``), ``warc_records``; from the browser ``browser``
        ("Chromium <version>"), ``browser_user_agent`` (``navigator.userAgent``), ``browser_final_url``,
        ``viewport``, ``screenshot_size`` and ``media_regions`` (JSON boxes ``[x, y, width, height]`` of pictures on
        the screenshot, for masked previews), or ``browser_error``; from the browser's archive ``browser_requests``
        (exchanges archived in browser.warc.gz), ``browser_warc_records``, ``browser_skipped`` and
        ``browser_blocked`` (JSON lists of ``{"url", "reason"}``, the first 100; the WARC lists all),
        ``browser_skipped_count``, or ``browser_archive_error``; from the WACZ ``wacz_signature`` (how it was signed,
        or why not) or ``wacz_error``.

        A capture that fails (blocked by the guard, connection refused, timeout, HTTP status 400 or more, a page
        over the size limit) is not an exception: the bundle's ``error`` says what happened and its artifacts are
        whatever was captured (at least the WARC, which records the attempt).

        Raises:
            UsageError: ``out`` is not inside ``root``.
            EvidenceError: a file could not be written.
            MissingDependencyError: warcio (the ``warc`` extra) is not installed.
        """
        out, root = Path(out), Path(root)
        if not out.resolve().is_relative_to(root.resolve()):
            raise UsageError(f"the capture folder {out} is not inside the evidence root {root}")
        started = utcnow()
        config = self.config
        capture: dict[str, str] = {
            "url": url,
            "requested_url": url,
            "captured_at_utc": started.isoformat(),
            "captured_at_local": started.astimezone(self._zone).isoformat(),
            "time_zone": config.agency.time_zone,
            "tool": f"takedown {__version__}",
            "adapter": f"httpx {httpx.__version__}",
            "operator": config.operator,
            **provenance(),
        }
        if site:
            capture["site"] = site
        if proxy := _proxy_label(config.network.proxy):
            capture["proxy"] = proxy
        bundle_id = make_id("bnd", finding_id)
        try:
            warc = WarcRecorder(out / _WARC_FILE, operator=config.operator, software=f"takedown/{__version__}",
                                description=f"case {case_id}, finding {finding_id}: {url}", is_part_of=bundle_id)
        except OSError as exc:
            raise EvidenceError(f"cannot write evidence into {out}: {exc}", url=url) from exc
        run = _Run(url=url, out=out, root=root, warc=warc, remaining=config.evidence.max_capture_bytes,
                   capture=capture, bundle_id=bundle_id)
        error: str | None = None
        try:
            try:
                error = await self._capture_http(run)
            except (FetchBlockedError, httpx.HTTPError, httpx.InvalidURL) as exc:
                error = _error_text(exc, timeout=config.network.timeout_s)
            if error is None and config.evidence.screenshot:
                await self._capture_browser(run)
            capture["finished_at_utc"] = utcnow().isoformat()
            capture["media_count"] = str(sum(1 for a in run.artifacts if a.role == "media"))
            if run.sources:
                capture["media_sources"] = json.dumps(run.sources, ensure_ascii=False)
            if run.skipped:
                capture["media_skipped"] = json.dumps(run.skipped, ensure_ascii=False)
            summary = {k: v for k, v in capture.items() if k not in ("media_regions",)}
            if error:
                summary["error"] = error
            warc.write_metadata(f"urn:takedown:capture:{bundle_id}", summary)
            capture["warc_records"] = str(warc.records)
            path = await asyncio.to_thread(warc.close)
        except BaseException:
            warc.abort()
            raise
        warc_artifact = await asyncio.to_thread(self._hash_file, path, root, WARC_MEDIA_TYPE, "warc")
        run.artifacts.append(warc_artifact)
        if error is None and config.wacz:
            await self._package(run, case_id=case_id, finding_id=finding_id)
        return EvidenceBundle(case_id=case_id, finding_id=finding_id, captured_at=started, capture=capture,
                              artifacts=tuple(_ordered(run.artifacts)), error=error)

    async def _package(self, run: _Run, *, case_id: str, finding_id: str) -> None:
        """Write ``archive.wacz`` from the capture's WARC files; a failure is noted in ``wacz_error``, never raised."""
        capture = run.capture
        warcs = [run.root / a.path for a in run.artifacts if a.role in ("warc", "browser_warc")]
        received = capture.get("received_at_utc") or capture["captured_at_utc"]
        page = WaczPage(url=capture.get("final_url", run.url), ts=datetime.fromisoformat(received), title=run.title)
        try:
            info = await asyncio.to_thread(
                write_wacz, run.out / WACZ_FILE, sorted(warcs, key=lambda p: p.name != _WARC_FILE), pages=[page],
                created=datetime.fromisoformat(capture["finished_at_utc"]),
                title=f"takedown capture {run.bundle_id}",
                description=f"case {case_id}, finding {finding_id}: {run.url}", signer=self._signer,
            )
        except (EvidenceError, MissingDependencyError) as exc:
            capture["wacz_error"] = str(exc)
            return
        capture["wacz_signature"] = info.signature
        run.artifacts.append(await asyncio.to_thread(self._hash_file, info.path, run.root, WACZ_MEDIA_TYPE, "wacz"))

    # -- HTTP ------------------------------------------------------------------------------------------------

    def _request(self, url: str | httpx.URL, run: _Run) -> httpx.Request:
        client = self.client
        request = httpx.Request("GET", url, headers=client.headers,
                                extensions={"timeout": client.timeout.as_dict()})
        run.jar.set_cookie_header(request)
        return request

    async def _exchange(self, request: httpx.Request, run: _Run, *, limit: int, hop: int | None) -> _Hop:
        """Send one request (guard first), read the raw body up to ``limit`` bytes, record both in the WARC."""
        url = str(request.url)
        await self.guard.acheck(url)
        started = utcnow()
        response = await self.client.send(request, stream=True, follow_redirects=False)
        received = utcnow()  # the response head is in; the body follows
        truncated = False
        proxy_ip = ""
        try:
            server_ip, tls, der = _peer(response)
            if self.config.network.proxy:  # the socket's peer is the proxy, not the site
                proxy_ip, server_ip = server_ip, ""
            elif server_ip:
                # The guard resolved the name before connecting; check where the connection really went (a host
                # the agency allowed by name in allow_hosts stays allowed at its address).
                request_url = request.url
                port = request_url.port or (443 if request_url.scheme == "https" else 80)
                self.guard.check_endpoint(request_url.host, port, ipaddress.ip_address(server_ip.split("%", 1)[0]),
                                          url=url)
            chunks: list[bytes] = []
            size = 0
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                truncated = True
            else:
                async for chunk in _raw_chunks(response):
                    if size + len(chunk) > limit:
                        chunks.append(chunk[: limit - size])
                        size = limit
                        truncated = True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
        finally:
            await response.aclose()
        raw = b"".join(chunks)
        run.jar.extract_cookies(response)
        notes: dict[str, str] = {"fetched-by": f"takedown {__version__} (httpx {httpx.__version__})",
                                 "http-version": response.http_version}
        if hop is not None:
            notes["redirect-hop"] = str(hop)
        if proxy_ip:
            notes["proxy-ip"] = proxy_ip
        if "chunked" in response.headers.get("transfer-encoding", "").lower():
            notes["transfer-decoding"] = "chunked framing removed by the HTTP client; the payload is the message body"
        if truncated:
            notes["truncated"] = f"body not read past {limit} bytes (capture size limit)"
        notes.update({k.replace("_", "-"): v for k, v in tls.items()})
        if der is not None:
            fingerprint = hashlib.sha256(der).hexdigest()
            notes["tls-certificate-sha256"] = fingerprint
        exchange = HttpExchange(
            url=url, started_at=started, request_head=http_request_head(request), request_body=b"",
            response_head=http_response_head(response), response_body=raw, server_ip=server_ip or None,
            metadata=notes, truncated="length" if truncated else None,
        )
        response_id = await asyncio.to_thread(run.warc.write_exchange, exchange)
        if der is not None and fingerprint not in run.certificates:
            run.certificates.add(fingerprint)
            run.warc.write_resource(f"urn:takedown:tls-certificate:sha256:{fingerprint}", der,
                                    content_type="application/pkix-cert", refers_to=response_id, at=started)
        location = None
        if response.status_code in _REDIRECTS and "location" in response.headers:
            location = response.url.join(response.headers["location"])
        reason = response.extensions.get("reason_phrase", b"")
        return _Hop(
            url=url, status=response.status_code,
            reason=reason.decode("latin-1", "replace") if isinstance(reason, bytes) else response.reason_phrase,
            headers=response.headers, raw=raw, truncated=truncated, server_ip=server_ip, tls=tls, certificate=der,
            location=location, response_id=response_id, received_at=received,
        )

    async def _capture_http(self, run: _Run) -> str | None:
        """Fetch the page (following redirects) and its media; return the capture's error, if it failed."""
        capture, config = run.capture, self.config
        chain: list[dict[str, str | int]] = []
        request = self._request(run.url, run)
        capture["user_agent"] = request.headers.get("user-agent", "")
        try:
            for hop_number in range(config.max_redirects + 1):
                hop = await self._exchange(request, run, limit=run.remaining, hop=hop_number or None)
                run.remaining -= len(hop.raw)
                chain.append({"url": hop.url, "status": hop.status})
                if hop.location is None:
                    break
                if hop_number == config.max_redirects:
                    return f"more than {config.max_redirects} redirects"
                request = self._request(hop.location, run)
        finally:
            capture["redirect_chain"] = json.dumps(chain, ensure_ascii=False)
            if chain:
                capture["final_url"] = str(chain[-1]["url"])
                capture["status"] = str(chain[-1]["status"])
                capture["received_at_utc"] = hop.received_at.isoformat()
        capture["headers"] = json.dumps(
            [[k.decode("latin-1"), v.decode("latin-1")] for k, v in hop.headers.raw], ensure_ascii=False
        )
        if hop.server_ip:
            capture["server_ip"] = hop.server_ip
        if hop.certificate is not None:
            capture.update(hop.tls)
            capture.update(_certificate_fields(hop.certificate))
            if self._owns_client:
                capture["tls_verified"] = "false" if config.verify is False else "true"
        if hop.truncated:
            return f"the page is larger than the capture limit of {config.evidence.max_capture_bytes} bytes"
        body, how = await asyncio.to_thread(_decoded, hop)
        capture["content_encoding"] = hop.headers.get("content-encoding", "") or "identity"
        capture["page_html"] = f"the response body, {how}"
        page_type = _content_type(hop.headers, "text/html")
        run.artifacts.append(await self._write(run, run.out / "page.html", body, page_type, "page_html"))
        if hop.status >= 400:
            return f"the page answered HTTP {hop.status} {hop.reason}".rstrip()
        if page_type in ("text/html", "application/xhtml+xml"):
            page = extract(_html_text(body, hop.headers.get("content-type", "")), hop.url)
            run.title = page.title
            for ref in page.media if config.media else ():
                await self._capture_media(ref.url, run)
        return None

    async def _capture_media(self, url: str, run: _Run) -> None:
        """Download one media item (following its redirects) into ``media/``; a failure is noted, never raised."""
        if run.media_tried >= self.config.max_media_items:
            run.skipped.append({"url": url, "reason": f"over the limit of {self.config.max_media_items} media items "
                                                      "per capture (max_media_items)"})
            return
        run.media_tried += 1
        limit = min(self.config.network.max_media_bytes, run.remaining)
        if limit <= 0:
            run.skipped.append({"url": url, "reason": "the capture size limit was reached"})
            return
        request = self._request(url, run)
        try:
            for hop_number in range(self.config.max_redirects + 1):
                hop = await self._exchange(request, run, limit=limit, hop=hop_number or None)
                run.remaining -= len(hop.raw)
                limit = min(limit, run.remaining)
                if hop.location is None:
                    break
                request = self._request(hop.location, run)
            else:
                run.skipped.append({"url": url, "reason": f"more than {self.config.max_redirects} redirects"})
                return
        except (FetchBlockedError, httpx.HTTPError, httpx.InvalidURL) as exc:
            run.skipped.append({"url": url, "reason": _error_text(exc, timeout=self.config.network.timeout_s)})
            return
        if hop.status >= 300:
            run.skipped.append({"url": url, "reason": f"HTTP {hop.status} (recorded in the WARC only)"})
            return
        if hop.truncated:
            run.skipped.append({"url": url, "reason": "over the size limit (capture or per item)"})
            return
        body, _ = await asyncio.to_thread(_decoded, hop)
        media_type = _content_type(hop.headers, "application/octet-stream")
        if media_type == "application/octet-stream":
            media_type = mimetypes.guess_type(urlsplit(hop.url).path)[0] or media_type
        digest = hashlib.sha256(body).hexdigest()
        ext = mimetypes.guess_extension(media_type) or Path(urlsplit(hop.url).path).suffix[:8] or ".bin"
        path = run.out / "media" / f"{digest[:16]}{ext}"
        run.sources.append({"url": url, "final_url": hop.url, "path": path.relative_to(run.root).as_posix(),
                            "sha256": digest, "media_type": media_type})
        if any(a.sha256 == digest and a.role == "media" for a in run.artifacts):
            return  # the same bytes under another URL: one file, and both exchanges in the WARC
        run.artifacts.append(await self._write(run, path, body, media_type, "media"))

    async def _write(self, run: _Run, path: Path, data: bytes, media_type: str, role: str) -> Artifact:
        try:
            await asyncio.to_thread(atomic_write, path, data)
        except OSError as exc:
            raise EvidenceError(f"cannot write {path}: {exc}", url=run.url) from exc
        return Artifact(path=path.relative_to(run.root).as_posix(), sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data), media_type=media_type, role=role)

    @staticmethod
    def _hash_file(path: Path, root: Path, media_type: str, role: str) -> Artifact:
        sha256, size = file_sha256(path)
        return Artifact(path=path.relative_to(root).as_posix(), sha256=sha256, size=size, media_type=media_type,
                        role=role)

    # -- browser ---------------------------------------------------------------------------------------------

    async def _capture_browser(self, run: _Run) -> None:
        """Screenshot, MHTML and the browser's own traffic (``browser.warc.gz``) of the final URL.

        A browser that fails is recorded in ``browser_error``, an archive that cannot be made in
        ``browser_archive_error``; neither is raised.
        """
        url = run.capture.get("final_url", run.url)
        config = self.config
        archive = _BrowserArchive(
            run.out / _BROWSER_WARC_FILE, operator=config.operator, bundle_id=run.bundle_id,
            description=f"the browser's load of {url} ({run.bundle_id})", budget=run.remaining,
            per_item=config.network.max_media_bytes, max_exchanges=config.max_browser_exchanges,
        )
        try:
            pool = self._pool()
            shot = await asyncio.to_thread(_browse, pool, url, self.guard, archive)
        except (MissingDependencyError, EvidenceError, SiteError) as exc:
            archive.abort()
            run.capture["browser_error"] = str(exc)
            return
        except BaseException:
            archive.abort()
            raise
        run.capture.update({
            "browser": shot.version,
            "browser_user_agent": shot.user_agent,
            "browser_final_url": shot.final_url,
            "viewport": f"{shot.viewport[0]}x{shot.viewport[1]}",
            "screenshot_size": f"{shot.size[0]}x{shot.size[1]}",
            "media_regions": json.dumps(shot.regions),
        })
        try:
            run.artifacts.append(await self._write(run, run.out / "screenshot.png", shot.png, "image/png",
                                                   "screenshot"))
            run.artifacts.append(await self._write(run, run.out / "page.mhtml", shot.mhtml, "multipart/related",
                                                   "mhtml"))
            path = await asyncio.to_thread(archive.close)
        except BaseException:
            archive.abort()
            raise
        if archive.error:
            run.capture["browser_archive_error"] = archive.error
        if path is None:
            return
        run.remaining -= archive.stored
        run.capture["browser_requests"] = str(archive.archived)
        run.capture["browser_warc_records"] = str(archive.records)
        if archive.skipped:
            run.capture["browser_skipped"] = json.dumps(archive.skipped[:_LISTED], ensure_ascii=False)
            run.capture["browser_skipped_count"] = str(len(archive.skipped))
        if archive.blocked:
            run.capture["browser_blocked"] = json.dumps(archive.blocked[:_LISTED], ensure_ascii=False)
        run.artifacts.append(await asyncio.to_thread(self._hash_file, path, run.root, WARC_MEDIA_TYPE,
                                                     "browser_warc"))


class _BrowserArchive:
    """Writes the exchanges of one browser load into their own WARC file (blocking; used from the browser's thread).

    The file is started by :meth:`open` once the browser's User-Agent is known (it goes into the ``warcinfo``
    record) and published by :meth:`close`; :meth:`abort` discards it.
    """

    def __init__(
        self, path: Path, *, operator: str, bundle_id: str, description: str, budget: int, per_item: int,
        max_exchanges: int,
    ) -> None:
        self.path = path
        self.operator = operator
        self.bundle_id = bundle_id
        self.description = description
        self.budget = budget
        self.per_item = per_item
        self.max_exchanges = max_exchanges
        self.recorder: WarcRecorder | None = None
        self.summary: dict[str, str] = {}
        self.error = ""
        """Why the load could not be archived (the screenshot may still exist)."""
        self.archived = 0
        """Exchanges written as response and request records."""
        self.stored = 0
        """Body bytes written."""
        self.records = 0
        self.skipped: list[dict[str, str]] = []
        self.blocked: list[dict[str, str]] = []

    def open(self, *, browser: str, user_agent: str, proxy: str) -> None:
        self.summary = {
            "source": "the browser's own page load: Chrome DevTools Protocol Network events (chromedriver's "
                      "performance log) and Network.getResponseBody",
            "browser": browser,
            "user-agent": user_agent,
            "payloads": "bodies as Chromium holds them: after it removed any Content-Encoding (gzip, br, ...), which "
                        "the head, kept as received, still names; each exchange's metadata says how its body was "
                        "obtained. Pictures and videos are not content-encoded by servers: they are the bytes received",
        }
        if proxy:
            self.summary["proxy"] = (f"{proxy}: takedown's guard proxy. WARC-IP-Address is left out (the browser's "
                                     "connections went to the proxy); the request headers are as the browser sent "
                                     "them to the proxy, which drops hop-by-hop headers (Proxy-Connection, "
                                     "Keep-Alive) and sends Connection: close")
        self.recorder = WarcRecorder(
            self.path, operator=self.operator, software=f"takedown/{__version__} ({browser}, DevTools Protocol)",
            description=self.description, is_part_of=self.bundle_id,
            info={"http-header-user-agent": user_agent, "browser": browser},
        )

    def record(
        self, driver: Any, exchanges: Sequence[NetworkExchange], *, blocked: Sequence[BlockedRequest], url: str,
        final_url: str, proxied: bool, started: datetime,
    ) -> None:
        """Write every exchange (within the limits) with its body; blocked and failed requests as notes."""
        recorder = self.recorder
        if recorder is None:
            return
        refused = {b.url: b.reason for b in blocked}
        for exchange in exchanges:
            reason = _blocked_reason(exchange, refused)
            if reason is not None:
                self.blocked.append({"url": exchange.url, "reason": reason})
                recorder.write_metadata(exchange.url, {
                    "blocked-by": "takedown's fetch guard (guard proxy): the request never left this machine",
                    "reason": reason, "resource-type": exchange.resource_type,
                }, at=exchange.started_at)
                continue
            if self.archived >= self.max_exchanges:
                self.skipped.append({"url": exchange.url, "reason": f"over the limit of {self.max_exchanges} browser "
                                                                    "requests per capture (max_browser_exchanges)"})
                continue
            if exchange.status is None:
                reason = exchange.error or "no response before the capture ended"
                self.skipped.append({"url": exchange.url, "reason": reason})
                recorder.write_metadata(exchange.url, {"no-response": reason,
                                                       "resource-type": exchange.resource_type},
                                        at=exchange.started_at)
                continue
            recorder.write_exchange(self._exchange(driver, exchange, proxied=proxied))
            self.archived += 1
        self.summary.update({
            "page": url, "final-url": final_url, "loaded-at": started.isoformat(),
            "exchanges-archived": str(self.archived), "exchanges-skipped": str(len(self.skipped)),
            "requests-blocked": str(len(self.blocked)),
        })
        if self.skipped:
            self.summary["skipped"] = json.dumps(self.skipped, ensure_ascii=False)
        if self.blocked:
            self.summary["blocked"] = json.dumps(self.blocked, ensure_ascii=False)

    def _exchange(self, driver: Any, exchange: NetworkExchange, *, proxied: bool) -> HttpExchange:
        notes: dict[str, str] = {
            "fetched-by": "Chromium (DevTools Protocol Network events)",
            "resource-type": exchange.resource_type,
            "http-version": exchange.protocol,
            "request-headers": "as sent (Network.requestWillBeSentExtraInfo); the request line is rebuilt"
            if exchange.request_headers_sent else
            "as Chromium prepared them before its network stack added its own (cookies, Accept-Encoding, ...)",
        }
        if exchange.hop:
            notes["redirect-hop"] = str(exchange.hop)
        if exchange.head_text is not None:
            notes["response-head"] = "as received (Network.responseReceivedExtraInfo headersText)"
            head = _text_bytes(exchange.head_text)
            if not head.endswith(b"\r\n\r\n"):
                head = head.rstrip(b"\r\n") + b"\r\n\r\n"
        else:
            notes["response-head"] = ("rebuilt from the raw header list (no status line: "
                                      f"{exchange.protocol or 'the protocol'} has none, or Chromium kept none)"
                                      if exchange.response_headers_raw else
                                      "rebuilt from the headers the page saw (Chromium gave no raw headers)")
            reason = exchange.status_text or _phrase(exchange.status)
            head = http_head(f"HTTP/1.1 {exchange.status} {reason}".rstrip().encode("latin-1", "replace"),
                             _byte_pairs(exchange.response_headers))
        if exchange.from_cache or exchange.from_service_worker:
            notes["served-from"] = "the browser's cache" if exchange.from_cache else "a service worker"
        if proxied and exchange.remote_ip:
            notes["proxy-ip"] = f"{exchange.remote_ip}:{exchange.remote_port}" if exchange.remote_port else \
                exchange.remote_ip
        notes.update({f"tls-{k.replace('_', '-')}": v for k, v in exchange.security.items()})
        if exchange.error:
            notes["error"] = exchange.error
        body, truncated = b"", None
        if exchange.is_redirect:
            notes["payload"] = "none: Chromium keeps no body of a redirect it followed"
            truncated = "unspecified" if _declared_length(exchange) else None
        elif not exchange.finished:
            notes["payload"] = "none: the body was not complete when the page was archived"
            truncated = "unspecified"
        else:
            limit = min(self.per_item, self.budget - self.stored)
            declared = _declared_length(exchange)
            if limit <= 0 or (declared is not None and declared > limit):
                notes["payload"] = "not read: over the capture size limit"
                truncated = "length"
            else:
                try:
                    body, how = response_body(driver, exchange)
                except EvidenceError as exc:
                    notes["payload"] = f"none: Chromium no longer held the body ({exc})"
                    truncated = "unspecified"
                else:
                    notes["payload"] = how
                    encoding = _header(exchange.response_headers, "content-encoding")
                    if encoding and encoding.strip().lower() != "identity":
                        notes["payload"] = f"{how}; Chromium removed the Content-Encoding {encoding}"
                    if "chunked" in _header(exchange.response_headers, "transfer-encoding").lower():
                        notes["transfer-decoding"] = "chunked framing removed; the payload is the message body"
                    if len(body) > limit:
                        body, truncated = body[:limit], "length"
                        notes["truncated"] = f"body cut at {limit} bytes (capture size limit)"
        self.stored += len(body)
        target = urlsplit(exchange.url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        request_line = f"{exchange.method} {path} HTTP/1.1".encode("latin-1", "replace")
        request_headers = [(k, v) for k, v in exchange.request_headers if not k.startswith(":")]
        if len(request_headers) != len(exchange.request_headers):
            notes["request-pseudo-headers"] = "HTTP/2 pseudo-headers are in the request line and WARC-Target-URI"
        return HttpExchange(
            url=exchange.url, started_at=exchange.started_at,
            request_head=http_head(request_line, _byte_pairs(request_headers)), request_body=exchange.request_body,
            response_head=head, response_body=body,
            server_ip=None if proxied else (exchange.remote_ip or None), metadata=notes, truncated=truncated,
        )

    def close(self) -> Path | None:
        """Write the load's summary and publish the file; ``None`` if nothing was opened."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        try:
            if self.error:
                self.summary["archive-error"] = self.error
            recorder.write_metadata(f"urn:takedown:browser-load:{self.bundle_id}", self.summary)
            self.records = recorder.records
            return recorder.close()
        except BaseException:
            recorder.abort()
            raise

    def abort(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.abort()


def _text_bytes(text: str) -> bytes:
    """Header text as bytes: DevTools hands over the raw header bytes as Latin-1 characters (else UTF-8)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _byte_pairs(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(_text_bytes(k), _text_bytes(v)) for k, v in headers]


def _phrase(status: int | None) -> str:
    try:
        return HTTPStatus(status or 0).phrase
    except ValueError:
        return ""


def _header(headers: Sequence[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def _declared_length(exchange: NetworkExchange) -> int | None:
    value = _header(exchange.response_headers, "content-length").strip()
    return int(value) if value.isdigit() else None


def _blocked_reason(exchange: NetworkExchange, refused: dict[str, str]) -> str | None:
    """Why the guard proxy refused this request, if it did (it answers 403 to HTTP, refuses HTTPS tunnels)."""
    if not refused:
        return None
    parts = urlsplit(exchange.url)
    if parts.scheme == "https":
        if exchange.status is not None:
            return None
        host = parts.hostname or ""
        port = parts.port or 443
        literal = f"[{host}]" if ":" in host else host
        keys = (f"https://{literal}:{port}",) if port != 443 else (f"https://{literal}/", f"https://{host}/")
        return next((refused[key] for key in keys if key in refused), None)
    if exchange.status == 403 and _header(exchange.response_headers, "x-takedown-blocked"):
        return refused.get(exchange.url)
    return None


@dataclass(frozen=True)
class _Shot:
    png: bytes
    mhtml: bytes
    version: str
    user_agent: str
    final_url: str
    viewport: tuple[int, int]
    size: tuple[int, int]
    regions: list[tuple[int, int, int, int]]


def _browse(pool: DriverPool, url: str, guard: FetchGuard, archive: _BrowserArchive) -> _Shot:
    """Load ``url`` in a pooled browser: screenshot, media boxes, MHTML, and the load's archive (blocking).

    The network log is read after the screenshot, so what the screenshot made the page load (lazy pictures) is in
    the archive too. A log that cannot be read leaves the screenshot and sets ``archive.error``.
    """
    from PIL import Image

    with pool.driver() as driver:
        version = browser_version(driver)
        user_agent = browser_user_agent(driver)
        logging = False
        try:
            start_network_log(driver)
            logging = True
        except EvidenceError as exc:
            archive.error = str(exc)
        started = utcnow()
        final = navigate(driver, url, guard=guard)
        png = full_page_screenshot(driver)
        regions = media_regions(driver)
        mhtml = mhtml_snapshot(driver)
        try:
            inner = driver.execute_script(
                "return [document.documentElement.clientWidth, document.documentElement.clientHeight];"
            )
            viewport = (int(inner[0]), int(inner[1]))
        except Exception:  # the viewport is context, not evidence: never fail a capture over it
            viewport = (0, 0)
        if logging:
            try:
                events = network_log(driver)
            except EvidenceError as exc:
                archive.error = str(exc)
            else:
                proxy = pool.proxy_url
                archive.open(browser=version, user_agent=user_agent, proxy=proxy)
                archive.record(driver, page_exchanges(events), blocked=pool.blocked, url=url, final_url=final,
                               proxied=bool(proxy), started=started)
    with Image.open(io.BytesIO(png)) as image:
        size = image.size
    return _Shot(png=png, mhtml=mhtml, version=version, user_agent=user_agent, final_url=final, viewport=viewport,
                 size=size, regions=regions)


def _html_text(body: bytes, content_type: str) -> str:
    charset = ""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"')
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


_ROLE_ORDER: Final = {"page_html": 0, "media": 1, "warc": 2, "browser_warc": 3, "screenshot": 4, "mhtml": 5,
                      "wacz": 6}


def _ordered(artifacts: list[Artifact]) -> list[Artifact]:
    return sorted(artifacts, key=lambda a: (_ROLE_ORDER.get(a.role, 9), a.path))


async def capture_finding_live(
    finding: Finding,
    *,
    capturer: Capturer,
    root: Path,
    writers: Sequence[EvidenceWriter] = (),
    previews: bool = True,
) -> EvidenceBundle:
    """Capture a finding's page live (:meth:`Capturer.capture_url`), add masked previews, then run the writers.

    The bundle's files go to ``bundle_folder(root, bundle)``. Previews (role ``preview``) are made unless
    ``previews`` is false; ``bundle.capture["previews_include_originals"]`` says whether the agency's settings let
    reports show unmasked originals, which the caller records in the custody log. Writers run in order on a
    successful capture (each sees the artifacts before it); a failed capture returns its bundle with ``error`` set
    and no reports.

    Raises:
        EvidenceError: a file could not be written, or a writer failed.
    """
    url = finding.candidate.url
    base = EvidenceBundle(case_id=finding.case_id, finding_id=finding.id)
    out = bundle_folder(root, base)
    bundle = await capturer.capture_url(url, out=out, root=root, case_id=finding.case_id, finding_id=finding.id,
                                        site=finding.candidate.site)
    if bundle.error is not None:
        return bundle
    try:
        if previews:
            made, originals = await asyncio.to_thread(
                make_previews, bundle, root=root, out=out, settings=capturer.config.evidence
            )
            bundle = bundle.model_copy(update={
                "artifacts": (*bundle.artifacts, *made),
                "capture": {**bundle.capture, "previews_include_originals": "true" if originals else "false"},
            })
        for writer in writers:
            artifact = await asyncio.to_thread(functools.partial(writer.write, bundle, finding, out=out, root=root))
            bundle = bundle.model_copy(update={"artifacts": (*bundle.artifacts, artifact)})
    except TakedownError as exc:
        if isinstance(exc, EvidenceError):
            raise
        raise EvidenceError(f"capture of {finding.id} failed: {exc}", url=url) from exc
    except OSError as exc:
        raise EvidenceError(f"cannot write evidence for {finding.id}: {exc}", url=url) from exc
    return bundle
