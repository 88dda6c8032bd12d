"""RDAP lookups against a real RDAP server on loopback: bootstrap, caching, abuse contacts, and every failure."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from takedown.errors import ReportError
from takedown.models import ContactHint, PageRecord, Recipient, RecipientKind, utcnow
from takedown.report.rdap import MAX_RESPONSE_BYTES, RdapClient, registered_domain
from takedown.report.recipients import resolve_recipients
from takedown.settings import NetworkSettings
from takedown.testing import sample_finding

FIXTURES = Path(__file__).parent / "fixtures" / "rdap"
LOOPBACK = NetworkSettings(allow_loopback=True, timeout_s=5.0)
BIG = 5 * 1024 * 1024
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread: nothing outlives the test
    block_on_close = True
    owner: RdapServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        owner.hits[path] += 1
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (size cap, timeout)
            owner.respond(self, path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class RdapServer:
    """A small RDAP server: IANA-style bootstrap files that point at itself, domain and IP objects, and
    endpoints that misbehave in every way the client must survive."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.bootstrap_status = 200
        self.rdap_base: str | None = None  # where the bootstrap files send lookups (default: this server)
        self.stop = threading.Event()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def bootstrap(self) -> str:
        return f"{self.base}/bootstrap/"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def fixture(self, name: str, base: str | None = None) -> bytes:
        return (FIXTURES / name).read_text(encoding="utf-8").replace("{{BASE}}", base or self.base).encode()

    def respond(self, h: _Handler, path: str) -> None:
        def send(status: int, body: bytes, ctype: str = "application/rdap+json", **headers: str) -> None:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                h.send_header(key.replace("_", "-"), value)
            h.end_headers()
            h.wfile.write(body)

        if path.startswith("/bootstrap/"):
            name = path.removeprefix("/bootstrap/")
            if self.bootstrap_status != 200:
                return send(self.bootstrap_status, b"unavailable", "text/plain")
            if name in ("dns.json", "ipv4.json", "ipv6.json"):
                return send(200, self.fixture(name, self.rdap_base), "application/json")
        elif path.startswith(("/rdap/ip/", "/rdap-narrow/ip/")):
            address = path.rsplit("/", 1)[1]
            if address.startswith("127.") or address == "::1":
                return send(200, self.fixture("ip-127.json"))
        elif path == "/registrar/domain/related.example":
            return send(200, self.fixture("registrar-related.example.json"))
        elif path.startswith("/rdap/domain/"):
            domain = path.removeprefix("/rdap/domain/")
            if (FIXTURES / f"domain-{domain}.json").is_file():
                return send(200, self.fixture(f"domain-{domain}.json"))
            if domain == "badjson.example":
                return send(200, b'{"objectClassName": "domain", ')
            if domain == "array.example":
                return send(200, b"[1, 2, 3]")
            if domain == "entity.example":
                return send(200, b'{"objectClassName": "entity", "handle": "X"}')
            if domain == "error.example":
                return send(503, b'{"errorCode": 503, "title": "try later"}')
            if domain == "huge.example":  # declares its size honestly
                return send(200, b" " * BIG)
            if domain == "endless.example":  # no Content-Length: read until the connection closes
                h.send_response(200)
                h.send_header("Content-Type", "application/rdap+json")
                h.end_headers()
                chunk = b" " * 65536
                for _ in range(BIG // len(chunk)):
                    h.wfile.write(chunk)
                return None
            if domain == "bomb.example":  # 5 MB of JSON whitespace in a few KB of gzip
                return send(200, gzip.compress(b"{" + b" " * BIG + b"}"), content_encoding="gzip")
            if domain == "drip.example":  # every byte in time for the read timeout, the whole far too late
                h.send_response(200)
                h.send_header("Content-Type", "application/rdap+json")
                h.end_headers()
                while not self.stop.wait(0.05):
                    h.wfile.write(b" ")
                    h.wfile.flush()
                return None
            if domain == "slow.example":
                self.stop.wait(10)
                return send(200, self.fixture("domain-shop.example.json"))
        return send(404, b'{"errorCode": 404, "title": "not found"}')


@pytest.fixture
def rdap_server() -> Iterator[RdapServer]:
    server = RdapServer()
    try:
        yield server
    finally:
        server.close()


def lookup(server: RdapServer, call: Callable[[RdapClient], Coroutine[Any, Any, T]], **options: Any) -> T:
    async def go() -> T:
        options.setdefault("network", LOOPBACK)
        options.setdefault("bootstrap_base", server.bootstrap)
        async with RdapClient(**options) as rdap:
            return await call(rdap)

    return run(go())


# -- registered_domain ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("shop.example", "shop.example"),
        ("www.Shop.Example.", "shop.example"),
        ("m.blog.example.co.kr", "example.co.kr"),
        ("a.b.example.com.vn", "example.com.vn"),
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("user.github.io", "github.io"),
        ("www.例え.jp", "xn--r8jz45g.jp"),
        ("xn--r8jz45g.jp", "xn--r8jz45g.jp"),
    ],
)
def test_registered_domain(host: str, expected: str) -> None:
    assert registered_domain(host) == expected


def test_registered_domain_uses_extra_suffixes() -> None:
    assert registered_domain("a.shop.co.example") == "co.example"
    assert registered_domain("a.shop.co.example", suffixes=["example", "co.example"]) == "shop.co.example"


@pytest.mark.parametrize("host", ["", "127.0.0.1", "::1", "[::1]", "co.kr", "localhost", "bad_host!.example",
                                  "a..example", "a b.example", "evil.example/path", "x" * 64 + ".example",
                                  "a\r\n.example"])
def test_registered_domain_refuses(host: str) -> None:
    with pytest.raises(ReportError) as caught:
        registered_domain(host)
    assert caught.value.plugin == "rdap"


# -- lookups --------------------------------------------------------------------------------------------------


def test_domain_abuse_finds_the_registrars_abuse_desk(rdap_server: RdapServer) -> None:
    found = lookup(rdap_server, lambda rdap: rdap.domain_abuse("www.shop.example"))
    assert found == [
        Recipient(
            address="abuse@registrar.example", kind=RecipientKind.REGISTRAR, name="Example Registrar, Inc.",
            source=(f"rdap registrar abuse (Example Registrar, Inc., IANA id 9999; tel +1.5555550100) at "
                    f"{rdap_server.base}/rdap/domain/shop.example"),
            country="US",
        )
    ], "invalid and header-injection addresses in the vCard are dropped"
    assert rdap_server.hits["/rdap/domain/shop.example"] == 1


def test_domain_abuse_follows_the_related_link_to_the_registrar(rdap_server: RdapServer) -> None:
    found = lookup(rdap_server, lambda rdap: rdap.domain_abuse("related.example"))
    assert [r.address for r in found] == ["abuse@thin-registrar.example"]
    assert found[0].name == "Thin Registry Registrar"
    assert found[0].source.endswith(f"at {rdap_server.base}/registrar/domain/related.example")


def test_domain_abuse_of_a_bootstrap_multi_label_suffix(rdap_server: RdapServer) -> None:
    with pytest.raises(ReportError, match="404"):
        lookup(rdap_server, lambda rdap: rdap.domain_abuse("www.shop.co.example"))
    assert rdap_server.hits["/rdap/domain/shop.co.example"] == 1, "co.example is a suffix in the bootstrap file"


@pytest.mark.parametrize(
    ("address", "path"),
    [
        ("127.0.0.1", "/rdap-narrow/ip/127.0.0.1"),  # the longest matching prefix wins
        ("127.9.0.1", "/rdap/ip/127.9.0.1"),
        ("::1", "/rdap/ip/::1"),
        ("::ffff:127.0.0.1", "/rdap-narrow/ip/127.0.0.1"),
    ],
)
def test_ip_abuse_finds_the_networks_abuse_contact(rdap_server: RdapServer, address: str, path: str) -> None:
    found = lookup(rdap_server, lambda rdap: rdap.ip_abuse(address))
    assert [(r.address, r.kind, r.name, r.country) for r in found] == [
        ("abuse@hosting.example", RecipientKind.HOST, "Example Hosting Ltd", "KR")
    ], "only the abuse role, not the technical contact"
    assert "NET-127-0-0-0-1 LOOPBACK-HOSTING" in found[0].source and found[0].source.endswith(f"{path}")
    assert rdap_server.hits[path] == 1


# -- bootstrap cache ------------------------------------------------------------------------------------------


def test_bootstrap_is_cached_on_disk_and_reused(rdap_server: RdapServer, tmp_path: Path) -> None:
    async def twice(rdap: RdapClient) -> None:
        await rdap.domain_abuse("shop.example")
        await rdap.domain_abuse("shop.example")

    lookup(rdap_server, twice, cache_dir=tmp_path)
    assert rdap_server.hits["/bootstrap/dns.json"] == 1
    stored = json.loads((tmp_path / "rdap-bootstrap-dns.json").read_text(encoding="utf-8"))
    assert stored["url"] == rdap_server.bootstrap + "dns.json"
    assert datetime.fromisoformat(stored["fetched_at"]) <= utcnow()

    lookup(rdap_server, lambda rdap: rdap.domain_abuse("shop.example"), cache_dir=tmp_path)
    assert rdap_server.hits["/bootstrap/dns.json"] == 1, "a new client reads the fresh copy from disk"
    assert rdap_server.hits["/rdap/domain/shop.example"] == 3, "answers themselves are not cached"


def test_stale_bootstrap_is_fetched_again(rdap_server: RdapServer, tmp_path: Path) -> None:
    lookup(rdap_server, lambda rdap: rdap.ip_abuse("127.0.0.1"), cache_dir=tmp_path)
    path = tmp_path / "rdap-bootstrap-ipv4.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored["fetched_at"] = (utcnow() - timedelta(days=8)).isoformat()
    path.write_text(json.dumps(stored), encoding="utf-8")

    lookup(rdap_server, lambda rdap: rdap.ip_abuse("127.0.0.1"), cache_dir=tmp_path)
    assert rdap_server.hits["/bootstrap/ipv4.json"] == 2
    refreshed = datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["fetched_at"])
    assert utcnow() - refreshed < timedelta(minutes=1)

    async def with_zero_ttl(rdap: RdapClient) -> None:
        await rdap.ip_abuse("127.0.0.1")
        await rdap.ip_abuse("127.0.0.1")

    lookup(rdap_server, with_zero_ttl, cache_dir=tmp_path, cache_ttl=timedelta(0))
    assert rdap_server.hits["/bootstrap/ipv4.json"] == 4, "a zero TTL fetches every time"


def test_damaged_cache_is_ignored(rdap_server: RdapServer, tmp_path: Path) -> None:
    (tmp_path / "rdap-bootstrap-dns.json").write_text("{not json", encoding="utf-8")
    found = lookup(rdap_server, lambda rdap: rdap.domain_abuse("shop.example"), cache_dir=tmp_path)
    assert found and rdap_server.hits["/bootstrap/dns.json"] == 1
    assert json.loads((tmp_path / "rdap-bootstrap-dns.json").read_text(encoding="utf-8"))["data"]["services"]


def test_stale_bootstrap_is_used_when_the_bootstrap_server_is_down(rdap_server: RdapServer, tmp_path: Path) -> None:
    iana = RdapServer()  # the bootstrap files come from a second server, whose services point at rdap_server
    iana.rdap_base = rdap_server.base
    bootstrap = iana.bootstrap
    try:
        lookup(rdap_server, lambda rdap: rdap.domain_abuse("shop.example"), cache_dir=tmp_path,
               bootstrap_base=bootstrap)
        assert iana.hits["/bootstrap/dns.json"] == 1
        path = tmp_path / "rdap-bootstrap-dns.json"
        stored = json.loads(path.read_text(encoding="utf-8"))
        stored["fetched_at"] = (utcnow() - timedelta(days=30)).isoformat()
        path.write_text(json.dumps(stored), encoding="utf-8")
        iana.bootstrap_status = 503

        async def twice(rdap: RdapClient) -> list[Recipient]:
            first = await rdap.domain_abuse("shop.example")
            await rdap.domain_abuse("shop.example")  # right after a failed refresh: no second try
            return first

        found = lookup(rdap_server, twice, cache_dir=tmp_path, bootstrap_base=bootstrap)
        assert [r.address for r in found] == ["abuse@registrar.example"]
        assert iana.hits["/bootstrap/dns.json"] == 2, "it tried to refresh once, failed, and used the stale copy"
    finally:
        iana.close()

    found = lookup(rdap_server, lambda rdap: rdap.domain_abuse("shop.example"), cache_dir=tmp_path,
                   bootstrap_base=bootstrap, cache_ttl=timedelta(0))  # connection refused: stale copy again
    assert [r.address for r in found] == ["abuse@registrar.example"]

    with pytest.raises(ReportError, match="request failed") as caught:  # no copy at all: the failure shows
        lookup(rdap_server, lambda rdap: rdap.domain_abuse("shop.example"), bootstrap_base=bootstrap)
    assert caught.value.url == bootstrap + "dns.json"


# -- failures -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("missing.example", "HTTP 404"),
        ("error.example", "HTTP 503"),
        ("badjson.example", "not valid JSON"),
        ("array.example", "not a JSON object"),
        ("entity.example", "expected an RDAP 'domain' object"),
        ("noabuse.example", "names no valid registrar abuse address"),
        ("huge.example", f"larger than {MAX_RESPONSE_BYTES} bytes"),
        ("endless.example", f"larger than {MAX_RESPONSE_BYTES} bytes"),
        ("bomb.example", "once decompressed"),
        ("shop.nothere", "no RDAP service for .nothere"),
        ("shop.unlisted", "no RDAP service for .unlisted"),
        ("127.0.0.1", "is an IP address"),
        ("", "not a host name"),
    ],
)
def test_every_domain_failure_is_a_report_error(rdap_server: RdapServer, domain: str, message: str) -> None:
    with pytest.raises(ReportError, match=message) as caught:
        lookup(rdap_server, lambda rdap: rdap.domain_abuse(domain))
    assert caught.value.plugin == "rdap"
    if domain.endswith(".example"):
        assert caught.value.url == f"{rdap_server.base}/rdap/domain/{domain}"


@pytest.mark.parametrize(("address", "message"), [("10.0.0.1", "no RDAP service for 10.0.0.1"),
                                                  ("2001:db8::1", "no RDAP service"),
                                                  ("not-an-ip", "is not an IP address")])
def test_every_ip_failure_is_a_report_error(rdap_server: RdapServer, address: str, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        lookup(rdap_server, lambda rdap: rdap.ip_abuse(address))


@pytest.mark.parametrize(("domain", "message"), [("slow.example", "no complete answer within 0.5 s"),
                                                 ("drip.example", "no complete answer within 0.5 s")])
def test_a_slow_server_times_out(rdap_server: RdapServer, domain: str, message: str) -> None:
    lookup(rdap_server, lambda rdap: rdap.domain_abuse("shop.example"))  # the bootstrap file, in time
    started = time.monotonic()
    with pytest.raises(ReportError, match=message):
        lookup(rdap_server, lambda rdap: rdap.domain_abuse(domain),
               network=NetworkSettings(allow_loopback=True, timeout_s=0.5))
    assert time.monotonic() - started < 3


def test_the_fetch_guard_applies(rdap_server: RdapServer) -> None:
    with pytest.raises(ReportError, match="fetch guard") as caught:
        lookup(rdap_server, lambda rdap: rdap.domain_abuse("shop.example"), network=NetworkSettings())
    assert caught.value.url == rdap_server.bootstrap + "dns.json"
    assert rdap_server.hits["/bootstrap/dns.json"] == 0, "nothing was requested"


def test_a_client_passed_in_is_guarded_and_left_open(rdap_server: RdapServer) -> None:
    base = rdap_server.bootstrap

    async def go() -> None:
        async with httpx.AsyncClient() as client, RdapClient(client=client, bootstrap_base=base) as rdap:
            with pytest.raises(ReportError, match="fetch guard"):
                await rdap.ip_abuse("127.0.0.1")
        async with httpx.AsyncClient() as client:
            async with RdapClient(client=client, network=LOOPBACK, bootstrap_base=rdap_server.bootstrap) as rdap:
                assert [r.address for r in await rdap.ip_abuse("127.0.0.1")] == ["abuse@hosting.example"]
            assert not client.is_closed
        with pytest.raises(ReportError, match="closed"):
            await RdapClient(client=client, network=LOOPBACK).ip_abuse("127.0.0.1")

    run(go())


# -- resolve_recipients ---------------------------------------------------------------------------------------


def _finding(url: str, *contacts: ContactHint) -> Any:
    finding = sample_finding(url=url)
    page = PageRecord(url=url, final_url=url, status=200, html_sha256="0" * 64, fetched_at=datetime.now(UTC),
                      contacts=contacts)
    return finding.model_copy(update={"page": page})


def test_resolve_recipients_escalates_site_operator_host_registrar(rdap_server: RdapServer) -> None:
    url = "https://www.shop.example/post/1"
    finding = _finding(url, ContactHint(kind="email", value="help@shop.example", source=url),
                       ContactHint(kind="security_txt", value="mailto:ABUSE@hosting.example",
                                   source="https://www.shop.example/.well-known/security.txt"))
    asked: list[str] = []
    errors: list[ReportError] = []

    async def resolve_ip(host: str) -> list[str]:
        asked.append(host)
        return ["127.0.0.1", "127.0.0.1"]

    found = lookup(rdap_server, lambda rdap: resolve_recipients(finding, rdap=rdap, resolve_ip=resolve_ip,
                                                                on_error=errors.append))
    assert [(r.address, r.kind) for r in found] == [
        ("help@shop.example", RecipientKind.SITE_OPERATOR),
        ("abuse@hosting.example", RecipientKind.SITE_OPERATOR),  # also the host's abuse address: kept once
        ("abuse@registrar.example", RecipientKind.REGISTRAR),
    ]
    assert found[0].source == f"mailto on {url}"
    assert found[1].source.startswith("security.txt at ")
    assert found[2].source.startswith("rdap registrar abuse (Example Registrar, Inc.")
    assert asked == ["www.shop.example"] and errors == []
    assert rdap_server.hits["/rdap-narrow/ip/127.0.0.1"] == 1, "a repeated address is looked up once"

    finding = _finding(url, ContactHint(kind="email", value="help@shop.example", source=url))
    found = lookup(rdap_server, lambda rdap: resolve_recipients(finding, rdap=rdap, resolve_ip=resolve_ip))
    assert [(r.address, r.kind) for r in found] == [
        ("help@shop.example", RecipientKind.SITE_OPERATOR),
        ("abuse@hosting.example", RecipientKind.HOST),
        ("abuse@registrar.example", RecipientKind.REGISTRAR),
    ]
    assert found[1].source == (f"rdap network abuse (Example Hosting Ltd, NET-127-0-0-0-1 LOOPBACK-HOSTING) for "
                               f"127.0.0.1 at {rdap_server.base}/rdap-narrow/ip/127.0.0.1")


def test_resolve_recipients_skips_failed_lookups_and_keeps_the_rest(rdap_server: RdapServer) -> None:
    finding = _finding("https://cdn.huge.example/post/1")  # no declared contacts: the guess stands in
    errors: list[ReportError] = []

    async def resolve_ip(host: str) -> list[str]:
        return ["127.0.0.1", "10.0.0.1"]  # the second has no RDAP service in the bootstrap

    found = lookup(rdap_server, lambda rdap: resolve_recipients(finding, rdap=rdap, resolve_ip=resolve_ip,
                                                                on_error=errors.append))
    assert [(r.address, r.kind, r.source.split(" (")[0]) for r in found] == [
        ("abuse@huge.example", RecipientKind.SITE_OPERATOR, "guessed: abuse@ the registered domain huge.example"),
        ("abuse@hosting.example", RecipientKind.HOST, "rdap network abuse"),
    ]
    assert sorted(str(e) for e in errors) == sorted([
        f"response larger than {MAX_RESPONSE_BYTES} bytes ({BIG} declared) "
        f"(plugin=rdap, url={rdap_server.base}/rdap/domain/huge.example)",
        f"no RDAP service for 10.0.0.1 in the bootstrap file (plugin=rdap, url={rdap_server.bootstrap}ipv4.json)",
    ])


def test_resolve_recipients_for_an_ip_address_host(rdap_server: RdapServer) -> None:
    finding = _finding("http://127.0.0.1:8080/post/1")

    async def resolve_ip(host: str) -> list[str]:
        raise AssertionError("an IP address is not resolved")

    found = lookup(rdap_server, lambda rdap: resolve_recipients(finding, rdap=rdap, resolve_ip=resolve_ip))
    assert [(r.address, r.kind) for r in found] == [("abuse@hosting.example", RecipientKind.HOST)]
    assert rdap_server.hits["/bootstrap/dns.json"] == 0, "an IP address has no registrar to look up"
