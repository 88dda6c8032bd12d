"""The fetch guard: takedown fetches only public HTTP(S) addresses unless the caller allows more.

Hostile pages link to ``file://`` URLs, to ``http://127.0.0.1:…`` admin panels and to cloud metadata
addresses; a site adapter checks every URL it requests (redirects included) here first, before connecting.
The host name is resolved and every address it resolves to is checked. ``allow_hosts`` lets named hosts,
addresses or networks through (optionally on one port only), e.g. an agency intranet or a test server.

An IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:0:0/96``, 6to4 ``2002::/16``, Teredo
``2001::/32``) is judged by the IPv4 address it leads to: ``2002:a9fe:a9fe::1`` is 169.254.169.254. Cloud
metadata endpoints (``METADATA_ADDRESSES``) hand out credentials, so they stay refused even with
``allow_private``; only an ``allow_hosts`` entry that names one exactly (its address, or the host name asked
for) lets it through. A refusal says which ``[network]`` setting would allow the address (``allow_loopback``,
``allow_private``, or the ``allow_hosts`` entry for just that host and port); a metadata refusal says that none of
them does.

The check resolves the name itself; the HTTP client resolves it again to connect. A hostile DNS server that
answers differently the second time (DNS rebinding) is not caught here; a proxy that refuses private
addresses closes that gap for agencies that need it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from takedown.allowed_hosts import AllowedHost, IPAddress
from takedown.errors import FetchBlockedError
from takedown.settings import NetworkSettings

__all__ = ["METADATA_ADDRESSES", "AllowedHost", "FetchGuard", "GuardConfig", "guard_client", "guarded_client"]

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean ... instance metadata
    "169.254.170.2",  # AWS ECS task credentials
    "fd00:ec2::254",  # AWS instance metadata over IPv6
    "100.100.100.200",  # Alibaba Cloud instance metadata
))
"""Cloud instance-metadata endpoints: refused even with ``allow_private``, unless ``allow_hosts`` names one."""


def _destinations(address: IPAddress) -> tuple[IPAddress, ...]:
    """The IPv4 address(es) an IPv6 transition address leads to (Teredo: server and client), else ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return (address.ipv4_mapped,)
        if address.sixtofour is not None:
            return (address.sixtofour,)
        if address.teredo is not None:
            return address.teredo
    return (address,)


def _is_metadata(address: IPAddress) -> bool:
    """Whether ``address`` is, or leads to, a cloud metadata endpoint (``METADATA_ADDRESSES``)."""
    return address in METADATA_ADDRESSES or any(a in METADATA_ADDRESSES for a in _destinations(address))


def _allow_entry(url: str, address: IPAddress) -> str:
    """The ``allow_hosts`` entry that lets ``url``'s host on its port through, e.g. ``127.0.0.1:8080``.

    The URL's host as written (a name is let through without being resolved), else ``address``; IPv6 in brackets.
    """
    parts = urlsplit(url)
    host = parts.hostname or str(address)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    except ValueError:
        port = None
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


class GuardConfig(BaseModel):
    """What the guard lets through beyond public HTTP(S) addresses."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    allow_loopback: bool = False
    allow_private: bool = False
    schemes: frozenset[str] = frozenset({"http", "https"})
    allow_hosts: frozenset[str] = Field(
        default=frozenset(),
        description="hosts fetched whatever they resolve to: 'name', 'address', 'network/prefix', each with an"
        " optional ':port' (e.g. '127.0.0.1:8080' lets one local server through, not the rest of loopback)",
    )

    @field_validator("allow_hosts")
    @classmethod
    def _valid_hosts(cls, value: frozenset[str]) -> frozenset[str]:
        for entry in value:
            AllowedHost.parse(entry)
        return value


class FetchGuard:
    """Refuses URLs whose scheme or resolved addresses are not allowed."""

    def __init__(self, config: GuardConfig | None = None) -> None:
        self.config = config or GuardConfig()
        self._allowed = tuple(AllowedHost.parse(entry) for entry in sorted(self.config.allow_hosts))

    def check_address(self, address: IPAddress, *, url: str) -> None:
        """Raise ``FetchBlockedError`` unless ``address`` may be fetched (``allow_hosts`` aside: ``check_endpoint``).

        An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4, Teredo) is judged by the IPv4 address(es)
        it leads to. A cloud metadata address is refused whatever ``allow_private`` says.
        """
        for target in _destinations(address):
            self._check_one(target, url=url, carrier=address if target != address else None)

    def _check_one(self, address: IPAddress, *, url: str, carrier: IPAddress | None) -> None:
        via = f" (carried by {carrier})" if carrier is not None else ""
        if address in METADATA_ADDRESSES:
            raise FetchBlockedError(
                f"cloud metadata address {address}{via} is not allowed: it hands out cloud credentials, so no"
                " [network] setting that opens loopback or private addresses (allow_loopback, allow_private, an"
                " allow_hosts network) lets it through", url=url)
        if address.is_loopback:
            if self.config.allow_loopback:
                return
            raise FetchBlockedError(
                f"loopback address {address}{via} is not allowed; to fetch it, set [network] allow_loopback = true,"
                f" or allow this one server with [network] allow_hosts = [\"{_allow_entry(url, carrier or address)}\"]",
                url=url)
        if address.is_unspecified or address.is_multicast or address.is_reserved:
            raise FetchBlockedError(f"address {address}{via} cannot be fetched", url=url)
        if address.is_private or address.is_link_local or not address.is_global:
            if self.config.allow_private:
                return
            raise FetchBlockedError(
                f"private or link-local address {address}{via} is not allowed; to fetch it, set [network]"
                f" allow_private = true, or allow this one host with [network] allow_hosts ="
                f" [\"{_allow_entry(url, carrier or address)}\"]", url=url)

    def _name_allowed(self, host: str, port: int) -> bool:
        return any(entry.name is not None and entry.covers(host, port) for entry in self._allowed)

    def check_scheme(self, url: str) -> None:
        """Check a URL's scheme, host and port without resolving it (the cheap part of ``check``).

        Raises:
            FetchBlockedError: the scheme is not allowed, the URL has no host, or its port is invalid.
        """
        self._split(url)

    def _split(self, url: str) -> tuple[str, int]:
        parts = urlsplit(url)
        if parts.scheme.lower() not in self.config.schemes:
            raise FetchBlockedError(f"scheme {parts.scheme or '(none)'!r} is not allowed", url=url)
        if not parts.hostname:
            raise FetchBlockedError("URL has no host", url=url)
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError as exc:
            raise FetchBlockedError(f"invalid port: {exc}", url=url) from exc
        return parts.hostname, port

    def _check_infos(self, infos: list[tuple[object, ...]], url: str, host: str, port: int) -> None:
        if not infos:
            raise FetchBlockedError("host does not resolve", url=url)
        for info in infos:
            sockaddr = info[4]
            if not isinstance(sockaddr, tuple):
                raise FetchBlockedError(f"unexpected address {sockaddr!r}", url=url)
            self.check_endpoint(host, port, ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]), url=url)

    def check_endpoint(self, host: str, port: int, address: IPAddress, *, url: str) -> None:
        """Raise ``FetchBlockedError`` unless ``host`` on ``port``, resolved to ``address``, may be fetched.

        For code that resolves names itself (a proxy that connects to the address it checked): like
        ``check_address``, and honouring ``allow_hosts``. A metadata address passes only an entry that names it
        exactly (``AllowedHost.names``).
        """
        metadata = _is_metadata(address)
        if any(entry.names(host, port, address) if metadata else entry.covers(host, port, address)
               for entry in self._allowed):
            return
        self.check_address(address, url=url)

    def check(self, url: str) -> None:
        """Check a URL, resolving its host synchronously.

        Raises:
            FetchBlockedError: the scheme, or any address the host resolves to, is not allowed.
        """
        host, port = self._split(url)
        if self._name_allowed(host, port):
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchBlockedError(f"host {host!r} does not resolve: {exc}", url=url) from exc
        self._check_infos(list(infos), url, host, port)

    @classmethod
    def for_network(cls, network: NetworkSettings) -> FetchGuard:
        """The guard a ``NetworkSettings`` asks for."""
        return cls(GuardConfig(
            allow_loopback=network.allow_loopback, allow_private=network.allow_private,
            schemes=frozenset(network.allowed_schemes), allow_hosts=frozenset(network.allow_hosts),
        ))

    async def hook(self, request: httpx.Request) -> None:
        """An httpx ``request`` event hook: every request a client sends, redirects included, is checked."""
        await self.acheck(str(request.url))

    async def acheck(self, url: str) -> None:
        """Check a URL, resolving its host without blocking the event loop."""
        host, port = self._split(url)
        if self._name_allowed(host, port):
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchBlockedError(f"host {host!r} does not resolve: {exc}", url=url) from exc
        self._check_infos(list(infos), url, host, port)


def guarded_client(guard: FetchGuard, network: NetworkSettings) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` built from ``network`` whose every request passes ``guard``.

    It has ``network``'s timeouts, headers, redirect limit and proxy. The guard checks the URL a request is for,
    not the proxy: an agency's proxy may well sit on a private address.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            network.timeout_s,
            connect=min(network.connect_timeout_s, network.timeout_s),
            read=min(network.read_timeout_s, network.timeout_s),
        ),
        headers={"User-Agent": network.user_agent, **network.headers},
        follow_redirects=True,
        max_redirects=network.max_redirects,
        proxy=network.proxy,
        event_hooks={"request": [guard.hook]},
    )


def guard_client(client: httpx.AsyncClient, guard: FetchGuard) -> None:
    """Add ``guard`` to a client someone else built, so its requests (redirects included) are checked too."""
    hooks = client.event_hooks
    client.event_hooks = {**hooks, "request": [*hooks.get("request", []), guard.hook]}
