"""Live capture: raw HTTP exchanges in a WARC, the page, its media, TLS facts, a screenshot, MHTML, the browser's
own traffic in a second WARC, a WACZ of both, and what the capture knew about itself.

Everything runs against servers on loopback (the demo site and small servers started here); all media are
synthetic.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import platform
import socket
import ssl
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import ValidationError

import takedown
from takedown.demo.site import DemoSite
from takedown.errors import UsageError
from takedown.evidence.capture import CaptureConfig, Capturer, capture_finding_live, provenance
from takedown.evidence.json_writer import JsonWriter
from takedown.evidence.warc import HttpExchange, WarcRecorder
from takedown.models import Candidate, EvidenceBundle, Finding
from takedown.settings import EvidenceSettings, NetworkSettings, Settings
from takedown.sites.chromium import DriverPool

WARCIO = Path(sys.executable).parent / "warcio"
WACZ = Path(sys.executable).parent / "wacz"
LOOPBACK = NetworkSettings(allow_loopback=True, timeout_s=5)
NO_BROWSER = EvidenceSettings(screenshot=False)

Route = Callable[[], tuple[int | tuple[int, str], list[tuple[str, str]], bytes]]


# -- helpers ----------------------------------------------------------------------------------------------------


@contextmanager
def serve(routes: dict[str, Route], *, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """An HTTP/1.1 server on loopback for ``routes`` (path → (status, headers, body)); yields its base URL.

    A status may be ``(code, reason phrase)``. Header names go out spelled as given. A route that sets
    ``Transfer-Encoding: chunked`` gets its body sent as two chunks.
    """

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            route = routes.get(self.path.split("?", 1)[0])
            status, headers, body = route() if route else (404, [("Content-Type", "text/plain")], b"not found")
            code, reason = status if isinstance(status, tuple) else (status, None)
            self.send_response(code, reason)
            chunked = ("Transfer-Encoding", "chunked") in headers
            for name, value in headers:
                self.send_header(name, value)
            if not chunked:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if chunked:
                half = len(body) // 2
                for part in (body[:half], body[half:], b""):
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            else:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def run_capture(config: CaptureConfig, url: str, tmp_path: Path, **kwargs: Any) -> EvidenceBundle:
    async def go() -> EvidenceBundle:
        async with Capturer(config, **kwargs) as capturer:
            root = tmp_path / "evidence"
            return await capturer.capture_url(url, out=root / "case" / "b1", root=root, case_id="case",
                                              finding_id="fnd-b1")

    return asyncio.run(go())


def check_hashes(bundle: EvidenceBundle, root: Path) -> None:
    for artifact in bundle.artifacts:
        data = (root / artifact.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == artifact.sha256, artifact.path
        assert len(data) == artifact.size


def warc_records(path: Path) -> list[dict[str, Any]]:
    from warcio.archiveiterator import ArchiveIterator

    records = []
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            headers = dict(record.rec_headers.headers)
            head = record.http_headers.to_str() if record.http_headers else ""
            records.append({"type": record.rec_type, "uri": headers.get("WARC-Target-URI", ""), "headers": headers,
                            "http": head, "payload": record.raw_stream.read()})
    return records


def warcio_check(path: Path, *, index: bool = False) -> None:
    """``warcio check`` (every digest verified) and, with ``index``, ``warcio index`` must accept the file."""
    result = subprocess.run([str(WARCIO), "check", "-v", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout and "digest failed" not in result.stdout
    if not index:
        return
    listing = subprocess.run([str(WARCIO), "index", str(path)], capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert all(json.loads(line)["offset"] for line in listing.stdout.splitlines()[1:])


def role(bundle: EvidenceBundle, name: str) -> list[Path]:
    return [Path(a.path) for a in bundle.artifacts if a.role == name]


def wacz_validate(path: Path) -> str:
    """``wacz validate`` (py-wacz: structure, Frictionless package, every file's hash, the digest) must pass."""
    result = subprocess.run([str(WACZ), "validate", "-f", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Validation succeeded" in result.stdout, result.stdout + result.stderr
    return result.stdout


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the demo site, with a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[DriverPool]:
    with DriverPool(EvidenceSettings(page_load_timeout_s=30), size=1, network_log=True) as drivers:
        yield drivers


@pytest.mark.slow
def test_capture_of_a_demo_post_keeps_everything(demo_site: DemoSite, pool: DriverPool, tmp_path: Path) -> None:
    post = next(p for p in demo_site.manifest.posts if len(p.media) >= 2)
    url = demo_site.url_for(post.id)
    config = CaptureConfig(network=LOOPBACK, operator="officer-7")
    bundle = run_capture(config, url, tmp_path, drivers=pool)
    root = tmp_path / "evidence"

    assert bundle.error is None
    assert [a.role for a in bundle.artifacts] == [
        "page_html", *["media"] * len(post.media), "warc", "browser_warc", "screenshot", "mhtml", "wacz"
    ]
    check_hashes(bundle, root)
    for artifact in bundle.artifacts:
        assert not artifact.path.startswith("/") and artifact.path.startswith("case/b1/")

    meta = bundle.capture
    assert meta["requested_url"] == url == meta["final_url"]
    assert json.loads(meta["redirect_chain"]) == [{"url": url, "status": 200}]
    assert meta["status"] == "200" and meta["server_ip"] == "127.0.0.1"
    assert ["Content-Type", "text/html; charset=utf-8"] in json.loads(meta["headers"])
    assert meta["operator"] == "officer-7" and meta["tool"].startswith("takedown ")
    assert meta["adapter"].startswith("httpx ") and meta["browser"].startswith("Chromium ")
    assert meta["time_zone"] == "Asia/Seoul" and meta["captured_at_local"].endswith("+09:00")
    assert datetime.fromisoformat(meta["captured_at_utc"]) == datetime.fromisoformat(meta["captured_at_local"])
    assert datetime.fromisoformat(meta["captured_at_utc"]) == bundle.captured_at
    assert meta["media_count"] == str(len(post.media))

    # the screenshot: a real PNG of at least the viewport; the MHTML: a MIME document from Chromium
    with Image.open(root / role(bundle, "screenshot")[0]) as shot:
        fmt, (shot_width, shot_height) = shot.format, shot.size
    width, height = (int(v) for v in meta["viewport"].split("x"))
    assert fmt == "PNG" and shot_width >= width and shot_height >= height
    assert meta["screenshot_size"] == f"{shot_width}x{shot_height}"
    assert len(json.loads(meta["media_regions"])) >= len(post.media)
    mhtml = (root / role(bundle, "mhtml")[0]).read_bytes()
    assert mhtml.startswith(b"From: <Saved by Blink>") and b"MIME-Version: 1.0" in mhtml[:2000]

    # the WARC: valid, and holds request + response records for the page and every media item, as received
    warc = root / role(bundle, "warc")[0]
    warcio_check(warc, index=True)
    records = warc_records(warc)
    assert records[0]["type"] == "warcinfo"
    responses = {r["uri"]: r for r in records if r["type"] == "response"}
    requests = {r["uri"] for r in records if r["type"] == "request"}
    media_urls = [f"{demo_site.base_url}/{file}" for file in post.media]
    assert set(responses) == requests == {url, *media_urls}
    assert responses[url]["payload"] == (root / role(bundle, "page_html")[0]).read_bytes()
    assert responses[url]["headers"]["WARC-IP-Address"] == "127.0.0.1"
    assert responses[url]["http"].startswith("HTTP/1.0 200 OK") or responses[url]["http"].startswith("HTTP/1.1 200")
    media_files = {(root / p).read_bytes() for p in role(bundle, "media")}
    assert {responses[u]["payload"] for u in media_urls} == media_files
    for u in media_urls:  # the bytes the site serves, byte for byte
        assert responses[u]["payload"] in {(demo_site.root / "site" / f).read_bytes() for f in post.media}
    assert int(meta["warc_records"]) == len(records)
    sources = json.loads(meta["media_sources"])
    assert {s["url"] for s in sources} == set(media_urls)
    assert {s["path"] for s in sources} == {p.as_posix() for p in role(bundle, "media")}
    summary = next(r for r in records if r["type"] == "metadata" and r["uri"].startswith("urn:takedown:capture:"))
    assert b"operator: officer-7" in summary["payload"]
    assert all(r["headers"]["WARC-Warcinfo-ID"] == records[0]["headers"]["WARC-Record-ID"] for r in records[1:])

    # the browser's own load: every request of it, with the bytes Chromium got, in its own WARC
    browser = root / role(bundle, "browser_warc")[0]
    warcio_check(browser, index=True)
    loaded = warc_records(browser)
    info = loaded[0]["payload"].decode()
    assert loaded[0]["type"] == "warcinfo" and f"http-header-user-agent: {meta['browser_user_agent']}" in info
    assert all(r["headers"]["WARC-Warcinfo-ID"] == loaded[0]["headers"]["WARC-Record-ID"] for r in loaded[1:])
    got = {r["uri"]: r for r in loaded if r["type"] == "response"}
    asked = {r["uri"]: r for r in loaded if r["type"] == "request"}
    assert {url, *media_urls} <= set(got) <= set(asked)  # the favicon may come too
    assert got[url]["payload"] == responses[url]["payload"]  # the same page, fetched twice
    for file in post.media:  # the pictures as Chromium received them, byte for byte
        expected = sha256((demo_site.root / "site" / file).read_bytes())
        assert sha256(got[f"{demo_site.base_url}/{file}"]["payload"]) == expected
    for record in got.values():  # linked request and response; the head as received
        assert asked[record["uri"]]["headers"]["WARC-Concurrent-To"] == record["headers"]["WARC-Record-ID"]
    assert got[url]["http"].startswith("HTTP/1.1 200 OK")
    assert "User-Agent: " + meta["browser_user_agent"] in asked[url]["http"]
    load = next(r for r in loaded if r["type"] == "metadata" and r["uri"].startswith("urn:takedown:browser-load:"))
    assert b"DevTools" in load["payload"] and f"user-agent: {meta['browser_user_agent']}".encode() in load["payload"]
    assert int(meta["browser_requests"]) == len(got) and int(meta["browser_warc_records"]) == len(loaded)

    # what the capture knew: the User-Agents, when the page arrived, what ran it
    assert meta["user_agent"] == NetworkSettings().user_agent
    assert meta["browser_user_agent"].startswith("Mozilla/5.0") and "Chrome" in meta["browser_user_agent"]
    received = datetime.fromisoformat(meta["received_at_utc"])
    assert bundle.captured_at <= received <= datetime.fromisoformat(meta["finished_at_utc"])
    assert meta["takedown_version"] == takedown.__version__ and meta["python"].startswith("CPython 3.")
    assert meta["platform"] and all(isinstance(v, str) for v in meta.values())

    # the WACZ: both WARCs, an index, the page; valid for py-wacz; unsigned without an agency key
    wacz = root / role(bundle, "wacz")[0]
    wacz_validate(wacz)
    with zipfile.ZipFile(wacz) as package:
        assert sorted(package.namelist()) == [
            "archive/browser.warc.gz", "archive/capture.warc.gz", "datapackage-digest.json", "datapackage.json",
            "indexes/index.cdx", "pages/pages.jsonl",
        ]
        assert package.read("archive/browser.warc.gz") == browser.read_bytes()
        assert package.getinfo("archive/capture.warc.gz").compress_type == zipfile.ZIP_STORED
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()]
        assert pages[1]["url"] == url and post.title in pages[1]["title"]
        assert "signedData" not in json.loads(package.read("datapackage-digest.json"))
    assert meta["wacz_signature"].startswith("unsigned: no agency signing key")
    assert not list((root / "case").rglob("*.tmp"))


@pytest.mark.slow
def test_capture_finding_live_adds_previews_and_reports(
    demo_site: DemoSite, pool: DriverPool, tmp_path: Path
) -> None:
    post = next(p for p in demo_site.manifest.posts if any(f.endswith(".mp4") for f in p.media))
    finding = Finding(case_id="case", candidate=Candidate(case_id="case", site="demo", url=demo_site.url_for(post.id)))
    root = tmp_path / "evidence"

    async def go() -> EvidenceBundle:
        async with Capturer(CaptureConfig(network=LOOPBACK), drivers=pool) as capturer:
            return await capture_finding_live(finding, capturer=capturer, root=root, writers=[JsonWriter()])

    bundle = asyncio.run(go())
    assert bundle.error is None and bundle.id == finding.bundle_id
    previews = role(bundle, "preview")
    assert Path("case", bundle.id, "previews", "screenshot.png") in previews
    assert len(previews) == 1 + 3 * sum(f.endswith(".mp4") for f in post.media) + sum(
        not f.endswith(".mp4") for f in post.media
    )
    assert bundle.capture["previews_include_originals"] == "false" and bundle.capture["site"] == "demo"
    manifest = json.loads((root / role(bundle, "manifest")[0]).read_text())
    assert {a["role"] for a in manifest["artifacts"]} >= {"page_html", "media", "warc", "screenshot", "preview"}
    check_hashes(bundle, root)


def _png(color: str, size: tuple[int, int] = (24, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.slow
def test_heads_and_bodies_as_received_in_both_warcs(pool: DriverPool, tmp_path: Path) -> None:
    """Header spelling and order, the reason phrase, a Korean page in EUC-KR, a gzip-encoded script."""
    korean = ("<!doctype html><title>증거 페이지</title><p>합성 시험 페이지</p>"
              "<img src='/a.png'><script src='/s.js'></script>")
    page = korean.encode("euc-kr")
    script = b"document.title += ' (script ran)';" * 20
    picture = _png("green")
    routes: dict[str, Route] = {
        "/": lambda: ((200, "Fine Thanks"), [("Content-Type", "text/html; charset=euc-kr"), ("X-ODD-case", "Yes"),
                                             ("x-second", "2")], page),
        "/a.png": lambda: (200, [("Content-Type", "image/png"), ("X-ODD-case", "pic")], picture),
        "/s.js": lambda: (200, [("Content-Type", "text/javascript"), ("Content-Encoding", "gzip")],
                          gzip.compress(script, mtime=0)),
    }
    with serve(routes) as base:
        bundle = run_capture(CaptureConfig(network=LOOPBACK), base + "/", tmp_path, drivers=pool)
    root = tmp_path / "evidence"
    assert bundle.error is None and "browser_error" not in bundle.capture, bundle.capture.get("browser_error")

    http = {r["uri"]: r for r in warc_records(root / role(bundle, "warc")[0]) if r["type"] == "response"}
    records = warc_records(root / role(bundle, "browser_warc")[0])
    browser = {r["uri"]: r for r in records if r["type"] == "response"}
    notes = {r["uri"]: r["payload"].decode() for r in records if r["type"] == "metadata"}
    for heads in (http, browser):  # the status line and the header names as the server wrote them, in order
        head = heads[base + "/"]["http"]
        assert head.startswith("HTTP/1.1 200 Fine Thanks\r\n") or head.startswith("HTTP/1.0 200 Fine Thanks"), head
        assert "X-ODD-case: Yes\r\nx-second: 2\r\n" in head
        assert heads[base + "/"]["payload"] == page  # EUC-KR bytes, not text re-encoded as UTF-8
        assert heads[base + "/a.png"]["payload"] == picture and "X-ODD-case: pic" in heads[base + "/a.png"]["http"]
    assert ["X-ODD-case", "Yes"] in json.loads(bundle.capture["headers"])
    assert "encoded as euc-kr (the length received)" in notes[base + "/"]
    assert "response-head: as received" in notes[base + "/"]
    assert browser[base + "/s.js"]["payload"] == script  # Chromium hands over the decoded body ...
    assert "Content-Encoding: gzip" in browser[base + "/s.js"]["http"]  # ... the head stays as received ...
    assert "removed the Content-Encoding gzip" in notes[base + "/s.js"]  # ... and the record says so
    request = next(r for r in records if r["type"] == "request" and r["uri"] == base + "/")
    assert request["http"].startswith("GET / HTTP/1.1") and "Accept-Encoding: gzip, " in request["http"]
    assert request["headers"]["WARC-IP-Address"] == "127.0.0.1"  # no proxy in front of this pool


@pytest.mark.slow
def test_the_guard_proxy_refusals_are_noted_never_archived(tmp_path: Path) -> None:
    """The capturer's own browsers go through the guard proxy: a request it refuses is a note, not a response."""
    secret = _png("red")
    with serve({"/admin.png": lambda: (200, [("Content-Type", "image/png")], secret)}) as other:
        page = (f"<!doctype html><title>t</title><img src='/ok.png'><img src='{other}/admin.png'>"
                "<img src='https://127.0.0.1:4443/tunnel.png'>").encode()
        routes: dict[str, Route] = {
            "/": lambda: (200, [("Content-Type", "text/html")], page),
            "/ok.png": lambda: (200, [("Content-Type", "image/png")], _png("blue")),
        }
        with serve(routes) as base:
            host = base.split("//", 1)[1]  # only the page's own server is allowed, by name and port
            config = CaptureConfig(network=NetworkSettings(allow_hosts=(host,), timeout_s=5), media=False,
                                   evidence=EvidenceSettings(page_load_timeout_s=30))
            bundle = run_capture(config, base + "/", tmp_path)
    meta = bundle.capture
    assert bundle.error is None and "browser_error" not in meta, meta.get("browser_error")
    assert sorted(b["url"] for b in json.loads(meta["browser_blocked"])) == [
        f"{other}/admin.png", "https://127.0.0.1:4443/tunnel.png"]  # a plain request and an HTTPS tunnel
    records = warc_records(tmp_path / "evidence" / role(bundle, "browser_warc")[0])
    responses = {r["uri"] for r in records if r["type"] == "response"}
    assert base + "/ok.png" in responses and f"{other}/admin.png" not in responses
    assert not any(r["payload"] == secret for r in records)
    note = next(r for r in records if r["type"] == "metadata" and r["uri"] == f"{other}/admin.png")
    assert b"blocked-by: takedown's fetch guard" in note["payload"] and b"loopback" in note["payload"]
    page_record = next(r for r in records if r["type"] == "response" and r["uri"] == base + "/")
    assert "WARC-IP-Address" not in page_record["headers"]  # the connection went to the proxy, not the site
    load = next(r for r in records if r["uri"].startswith("urn:takedown:browser-load:"))
    assert b"proxy: http://127.0.0.1:" in load["payload"] and b"requests-blocked: 2" in load["payload"]
    warcio_check(tmp_path / "evidence" / role(bundle, "browser_warc")[0], index=True)


@pytest.mark.slow
def test_a_page_with_very_many_pictures_stays_bounded(pool: DriverPool, tmp_path: Path) -> None:
    count = 400
    tiny = _png("white", (2, 2))
    page = ("<!doctype html><title>many</title>" + "".join(
        f"<img src='/i/{n}.png' width='2' height='2'>" for n in range(count)
    )).encode()
    routes: dict[str, Route] = {"/": lambda: (200, [("Content-Type", "text/html")], page)}
    routes.update({f"/i/{n}.png": (lambda: (200, [("Content-Type", "image/png")], tiny)) for n in range(count)})
    config = CaptureConfig(network=LOOPBACK, max_media_items=20, max_browser_exchanges=30)
    with serve(routes) as base:
        started = time.monotonic()
        bundle = run_capture(config, base + "/", tmp_path, drivers=pool)
        took = time.monotonic() - started
    meta = bundle.capture
    assert bundle.error is None and "browser_error" not in meta, meta.get("browser_error")
    assert meta["media_count"] == "1"  # twenty downloads, one file: every picture has the same bytes
    assert len(json.loads(meta["media_sources"])) == 20
    skipped = json.loads(meta["media_skipped"])
    assert len(skipped) == count - 20 and all("max_media_items" in s["reason"] for s in skipped)
    assert meta["browser_requests"] == "30"
    assert int(meta["browser_skipped_count"]) >= count - 30 + 1  # the page itself is one of the thirty
    assert len(json.loads(meta["browser_skipped"])) == 100  # the first hundred here; the WARC names them all
    browser = tmp_path / "evidence" / role(bundle, "browser_warc")[0]
    records = warc_records(browser)
    assert sum(r["type"] == "response" for r in records) == 30
    load = next(r for r in records if r["uri"].startswith("urn:takedown:browser-load:"))
    assert f"exchanges-skipped: {meta['browser_skipped_count']}".encode() in load["payload"]
    wacz_validate(tmp_path / "evidence" / role(bundle, "wacz")[0])
    assert took < 120, f"a capture of {count} pictures took {took:.0f} s"


def test_the_capture_record_says_what_ran_it(demo_site: DemoSite, tmp_path: Path) -> None:
    network = NetworkSettings(allow_loopback=True, timeout_s=5, user_agent="takedown-test/1 (synthetic)")
    bundle = run_capture(CaptureConfig(network=network, evidence=NO_BROWSER), demo_site.base_url + "/", tmp_path)
    meta = bundle.capture
    assert bundle.error is None
    assert meta["user_agent"] == "takedown-test/1 (synthetic)"
    records = warc_records(tmp_path / "evidence" / role(bundle, "warc")[0])
    request = next(r for r in records if r["type"] == "request")
    assert "User-Agent: takedown-test/1 (synthetic)" in request["http"]
    received = datetime.fromisoformat(meta["received_at_utc"])
    assert bundle.captured_at <= received <= datetime.fromisoformat(meta["finished_at_utc"])
    assert {k: meta[k] for k in provenance()} == provenance()
    assert meta["takedown_version"] == takedown.__version__
    assert meta["python"] == f"{platform.python_implementation()} {platform.python_version()}"
    package = Path(takedown.__file__).parent
    head = subprocess.run(["git", "-C", str(package), "rev-parse", "HEAD"], capture_output=True, text=True,
                          timeout=10, check=False)
    if head.returncode == 0:  # run from a checkout: the commit is on record
        assert meta["takedown_commit"] == head.stdout.strip()
    else:
        assert "takedown_commit" not in meta
    assert all(isinstance(v, str) for v in meta.values())
    assert role(bundle, "wacz") and "browser_requests" not in meta  # no browser, still a WACZ of the HTTP WARC
    wacz_validate(tmp_path / "evidence" / role(bundle, "wacz")[0])


# -- HTTP-level behaviour (no browser) ----------------------------------------------------------------------


def test_gzip_page_raw_in_warc_decoded_in_page_html(tmp_path: Path) -> None:
    html = "<!doctype html><title>압축</title><p>compressed page</p><img src='/a.png'>".encode()
    packed = gzip.compress(html, mtime=0)
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, format="PNG")
    routes: dict[str, Route] = {
        "/": lambda: (200, [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")], packed),
        "/a.png": lambda: (200, [("Content-Type", "image/png"), ("Transfer-Encoding", "chunked")], png.getvalue()),
    }
    with serve(routes) as base:
        bundle = run_capture(CaptureConfig(network=LOOPBACK, evidence=NO_BROWSER), base + "/", tmp_path)
    root = tmp_path / "evidence"
    assert bundle.error is None
    assert (root / role(bundle, "page_html")[0]).read_bytes() == html  # what a browser parses
    assert bundle.capture["content_encoding"] == "gzip"
    assert "gzip decoded" in bundle.capture["page_html"]
    warc = root / role(bundle, "warc")[0]
    warcio_check(warc)
    records = warc_records(warc)
    page = next(r for r in records if r["type"] == "response" and r["uri"] == base + "/")
    assert page["payload"] == packed  # as received: still compressed
    assert "Content-Encoding: gzip" in page["http"]
    picture = next(r for r in records if r["type"] == "response" and r["uri"].endswith("/a.png"))
    assert picture["payload"] == png.getvalue()  # de-chunked: the message body
    assert "Transfer-Encoding: chunked" in picture["http"]
    notes = [r["payload"] for r in records if r["type"] == "metadata" and r["uri"].endswith("/a.png")]
    assert any(b"transfer-decoding: chunked" in n for n in notes)
    assert (root / role(bundle, "media")[0]).read_bytes() == png.getvalue()
    check_hashes(bundle, root)


def test_a_404_is_a_failed_capture_with_hashed_artifacts(demo_site: DemoSite, tmp_path: Path) -> None:
    url = f"{demo_site.base_url}/post/does-not-exist"
    bundle = run_capture(CaptureConfig(network=LOOPBACK, evidence=NO_BROWSER), url, tmp_path)
    assert bundle.error is not None and "HTTP 404" in bundle.error
    assert [a.role for a in bundle.artifacts] == ["page_html", "warc"]
    assert bundle.capture["status"] == "404"
    check_hashes(bundle, tmp_path / "evidence")
    warcio_check(tmp_path / "evidence" / role(bundle, "warc")[0])


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bundle = run_capture(CaptureConfig(network=LOOPBACK, evidence=NO_BROWSER), f"http://127.0.0.1:{port}/",
                         tmp_path)
    assert bundle.error is not None and "could not connect" in bundle.error
    assert [a.role for a in bundle.artifacts] == ["warc"]  # the attempt itself is on record
    assert json.loads(bundle.capture["redirect_chain"]) == []
    check_hashes(bundle, tmp_path / "evidence")
    warcio_check(tmp_path / "evidence" / role(bundle, "warc")[0])


def test_loopback_is_refused_unless_allowed(demo_site: DemoSite, tmp_path: Path) -> None:
    bundle = run_capture(CaptureConfig(evidence=NO_BROWSER), demo_site.base_url + "/", tmp_path)
    assert bundle.error is not None and "fetch guard" in bundle.error and "loopback" in bundle.error
    host = demo_site.base_url.split("//", 1)[1]  # 127.0.0.1:PORT, allowed by name: that port only
    allowed = run_capture(CaptureConfig(network=NetworkSettings(allow_hosts=(host,), timeout_s=5),
                                        evidence=NO_BROWSER), demo_site.base_url + "/", tmp_path / "allowed")
    assert allowed.error is None, allowed.error


PUBLIC = "http://93.184.215.14"
"""A public address literal: the guard passes it without DNS; a mock transport answers for it."""


def test_redirect_chain_and_a_redirect_into_loopback(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/a":
            return httpx.Response(301, headers={"Location": "/b", "Set-Cookie": "s=1; Path=/"})
        if path == "/b":
            assert request.headers.get("cookie") == "s=1"  # cookies of this capture follow its redirects
            return httpx.Response(302, headers={"Location": f"{PUBLIC}/c"})
        if path == "/c":
            return httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<p>end</p>")
        if path == "/evil":
            return httpx.Response(302, headers={"Location": "http://127.0.0.1:9/admin"})
        return httpx.Response(404)

    config = CaptureConfig(evidence=NO_BROWSER)
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    bundle = run_capture(config, f"{PUBLIC}/a", tmp_path, client=client)
    assert bundle.error is None
    chain = json.loads(bundle.capture["redirect_chain"])
    assert chain == [{"url": f"{PUBLIC}/a", "status": 301}, {"url": f"{PUBLIC}/b", "status": 302},
                     {"url": f"{PUBLIC}/c", "status": 200}]
    assert bundle.capture["final_url"] == f"{PUBLIC}/c"
    records = warc_records(tmp_path / "evidence" / role(bundle, "warc")[0])
    assert [r["uri"] for r in records if r["type"] == "response"] == [f"{PUBLIC}/a", f"{PUBLIC}/b", f"{PUBLIC}/c"]

    blocked = run_capture(config, f"{PUBLIC}/evil", tmp_path / "2", client=client)
    assert blocked.error is not None and "fetch guard" in blocked.error and "loopback" in blocked.error
    assert json.loads(blocked.capture["redirect_chain"]) == [{"url": f"{PUBLIC}/evil", "status": 302}]
    assert [a.role for a in blocked.artifacts] == ["warc"]
    asyncio.run(client.aclose())


def test_media_redirects_are_followed_and_failures_noted(tmp_path: Path) -> None:
    png = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(png, format="PNG")
    page = b"<img src='/cdn/a.png'><img src='/gone.png'><img src='http://127.0.0.1/x.png'><video src='/v.mp4'></video>"

    def handler(request: httpx.Request) -> httpx.Response:
        routes = {
            "/": httpx.Response(200, headers={"Content-Type": "text/html"}, content=page),
            "/cdn/a.png": httpx.Response(302, headers={"Location": f"{PUBLIC}/store/a"}),
            "/store/a": httpx.Response(200, headers={"Content-Type": "image/png"}, content=png.getvalue()),
            "/v.mp4": httpx.Response(200, content=b"\x00\x00\x00\x18ftypmp42"),
        }
        return routes.get(request.url.path, httpx.Response(404))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    bundle = run_capture(CaptureConfig(evidence=NO_BROWSER), f"{PUBLIC}/", tmp_path, client=client)
    asyncio.run(client.aclose())
    assert bundle.error is None
    media = [a for a in bundle.artifacts if a.role == "media"]
    assert sorted(a.media_type for a in media) == ["image/png", "video/mp4"]  # the type from the URL when unsaid
    sources = {s["url"]: s for s in json.loads(bundle.capture["media_sources"])}
    assert sources[f"{PUBLIC}/cdn/a.png"]["final_url"] == f"{PUBLIC}/store/a"
    skipped = {s["url"]: s["reason"] for s in json.loads(bundle.capture["media_skipped"])}
    assert "HTTP 404" in skipped[f"{PUBLIC}/gone.png"]
    assert "fetch guard" in skipped["http://127.0.0.1/x.png"]


def test_too_many_redirects(tmp_path: Path) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(
        lambda request: httpx.Response(302, headers={"Location": f"{PUBLIC}/loop"})
    ))
    bundle = run_capture(CaptureConfig(evidence=NO_BROWSER, max_redirects=3), f"{PUBLIC}/loop", tmp_path,
                         client=client)
    assert bundle.error == "more than 3 redirects"
    assert len(json.loads(bundle.capture["redirect_chain"])) == 4
    asyncio.run(client.aclose())


def test_size_limits(demo_site: DemoSite, tmp_path: Path) -> None:
    post = next(p for p in demo_site.manifest.posts if p.media)
    url = demo_site.url_for(post.id)
    tiny = CaptureConfig(network=LOOPBACK, evidence=EvidenceSettings(screenshot=False, max_capture_bytes=200))
    bundle = run_capture(tiny, url, tmp_path)
    assert bundle.error is not None and "capture limit of 200 bytes" in bundle.error
    assert [a.role for a in bundle.artifacts] == ["warc"]
    records = warc_records(tmp_path / "evidence" / role(bundle, "warc")[0])
    response = next(r for r in records if r["type"] == "response")
    assert response["headers"]["WARC-Truncated"] == "length"

    page_only = CaptureConfig(network=LOOPBACK, evidence=EvidenceSettings(screenshot=False, max_capture_bytes=3000))
    bundle = run_capture(page_only, url, tmp_path / "2")
    assert bundle.error is None
    assert not role(bundle, "media")
    skipped = json.loads(bundle.capture["media_skipped"])
    assert len(skipped) == len(post.media) and all("limit" in s["reason"] for s in skipped)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=takedown-test/O=Synthetic Test Site",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@contextmanager
def https_site(tls_files: tuple[Path, Path]) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    with serve({"/": lambda: (200, [("Content-Type", "text/html")], b"<p>over TLS</p>")}, tls=context) as base:
        yield base


def test_tls_certificate_is_recorded(tls_files: tuple[Path, Path], tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(tls_files[0].read_bytes())
    with https_site(tls_files) as base:
        trusted = run_capture(CaptureConfig(network=LOOPBACK, evidence=NO_BROWSER, verify=tls_files[0]),
                              base + "/", tmp_path / "trusted")
        unverified = run_capture(CaptureConfig(network=LOOPBACK, evidence=NO_BROWSER, verify=False),
                                 base + "/", tmp_path / "unverified")
        refused = run_capture(CaptureConfig(network=LOOPBACK, evidence=NO_BROWSER), base + "/", tmp_path / "refused")

    assert trusted.error is None
    meta = trusted.capture
    assert "CN=takedown-test" in meta["tls_subject"] and "O=Synthetic Test Site" in meta["tls_subject"]
    assert meta["tls_issuer"] == meta["tls_subject"]  # self-signed
    assert meta["tls_sha256"] == cert.fingerprint(hashes.SHA256()).hex()
    assert meta["tls_not_before"] == cert.not_valid_before_utc.isoformat()
    assert meta["tls_not_after"] == cert.not_valid_after_utc.isoformat()
    assert meta["tls_version"].startswith("TLS") and meta["tls_cipher"]
    assert "127.0.0.1" in meta["tls_san"] and "localhost" in meta["tls_san"]
    assert meta["tls_verified"] == "true" and meta["server_ip"] == "127.0.0.1"
    records = warc_records(tmp_path / "trusted" / "evidence" / role(trusted, "warc")[0])
    certificates = [r for r in records if r["type"] == "resource"]
    assert len(certificates) == 1
    assert certificates[0]["payload"] == cert.public_bytes(Encoding.DER)

    assert unverified.error is None and unverified.capture["tls_verified"] == "false"
    assert unverified.capture["tls_sha256"] == meta["tls_sha256"]
    assert refused.error is not None and "CERTIFICATE_VERIFY_FAILED" in refused.error


# -- browser failures, atomicity and usage --------------------------------------------------------------------


def test_a_broken_browser_leaves_the_http_capture_intact(demo_site: DemoSite, tmp_path: Path) -> None:
    post = demo_site.manifest.posts[0]
    evidence = EvidenceSettings(chromedriver=tmp_path / "missing-chromedriver")
    bundle = run_capture(CaptureConfig(network=LOOPBACK, evidence=evidence), demo_site.url_for(post.id), tmp_path)
    assert bundle.error is None
    assert "chromedriver not found" in bundle.capture["browser_error"]
    assert not role(bundle, "screenshot") and role(bundle, "page_html") and role(bundle, "warc")


def test_a_crash_leaves_no_finished_looking_file(
    demo_site: DemoSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Capturer, run: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Capturer, "_capture_http", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        run_capture(CaptureConfig(network=LOOPBACK, evidence=NO_BROWSER), demo_site.base_url + "/", tmp_path)
    folder = tmp_path / "evidence" / "case" / "b1"
    assert not folder.exists() or not any(folder.iterdir())

    target = tmp_path / "w" / "x.warc.gz"

    def interrupted() -> None:
        with WarcRecorder(target, operator="t") as recorder:
            recorder.write_metadata("urn:x", {"a": "b"})
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        interrupted()
    assert not target.exists() and not list(target.parent.iterdir())
    with WarcRecorder(target, operator="t") as recorder:
        pass
    assert target.exists() and recorder.closed
    with pytest.raises(UsageError):
        recorder.write_exchange(HttpExchange(url="http://x/", started_at=datetime.now().astimezone(),
                                             request_head=b"", response_head=b"", response_body=b""))


def test_usage_errors(tmp_path: Path) -> None:
    capturer = Capturer(CaptureConfig(evidence=NO_BROWSER))
    with pytest.raises(UsageError, match="not inside"):
        asyncio.run(capturer.capture_url("http://93.184.215.14/", out=tmp_path / "elsewhere",
                                         root=tmp_path / "root", case_id="c", finding_id="f"))
    with pytest.raises(UsageError, match="timezone-aware"), WarcRecorder(tmp_path / "y.warc.gz",
                                                                         operator="t") as recorder:
        recorder.write_metadata("urn:x", {}, at=datetime(2024, 1, 1))


def test_config_from_settings(tmp_path: Path) -> None:
    from takedown.evidence.signing import make_agency_identity

    settings = Settings(signing=make_agency_identity(tmp_path, name="Synthetic Agency"))
    config = CaptureConfig.from_settings(settings, operator="kim", max_redirects=2)
    assert config.evidence == settings.evidence and config.agency == settings.agency
    assert config.signing == settings.signing
    assert config.operator == "kim" and config.max_redirects == 2
    with pytest.raises(ValidationError):  # frozen
        config.operator = "lee"  # type: ignore[misc]
