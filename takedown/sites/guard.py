"""The fetch guard: takedown fetches only public HTTP(S) addresses unless the caller allows more.

Hostile pages link to ``file://`` URLs, to ``http://127.0.0.1:…`` admin panels and to cloud metadata
addresses; a site adapter checks every URL it requests (redirects included) here first. The host name is
resolved and every address it resolves to is checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from takedown.errors import FetchBlockedError
from takedown.settings import NetworkSettings

__all__ = ["FetchGuard", "GuardConfig", "guard_client", "guarded_client"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class GuardConfig(BaseModel):
    """What the guard lets through beyond public HTTP(S) addresses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_loopback: bool = False
    allow_private: bool = False
    schemes: frozenset[str] = frozenset({"http", "https"})


class FetchGuard:
    """Refuses URLs whose scheme or resolved addresses are not allowed."""

    def __init__(self, config: GuardConfig | None = None) -> None:
        self.config = config or GuardConfig()

    def check_address(self, address: IPAddress, *, url: str) -> None:
        """Raise ``FetchBlockedError`` unless ``address`` may be fetched."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            if self.config.allow_loopback:
                return
            raise FetchBlockedError(f"loopback address {address} is not allowed", url=url)
        if address.is_unspecified or address.is_multicast or address.is_reserved:
            raise FetchBlockedError(f"address {address} cannot be fetched", url=url)
        if address.is_private or address.is_link_local or not address.is_global:
            if self.config.allow_private:
                return
            raise FetchBlockedError(f"private or link-local address {address} is not allowed", url=url)

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

    def _check_infos(self, infos: list[tuple[object, ...]], url: str) -> None:
        if not infos:
            raise FetchBlockedError("host does not resolve", url=url)
        for info in infos:
            sockaddr = info[4]
            assert isinstance(sockaddr, tuple)
            self.check_address(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]), url=url)

    def check(self, url: str) -> None:
        """Check a URL, resolving its host synchronously.

        Raises:
            FetchBlockedError: the scheme, or any address the host resolves to, is not allowed.
        """
        host, port = self._split(url)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchBlockedError(f"host {host!r} does not resolve: {exc}", url=url) from exc
        self._check_infos(list(infos), url)

    @classmethod
    def for_network(cls, network: NetworkSettings) -> FetchGuard:
        """The guard a ``NetworkSettings`` asks for."""
        return cls(GuardConfig(allow_loopback=network.allow_loopback, allow_private=network.allow_private))

    async def hook(self, request: httpx.Request) -> None:
        """An httpx ``request`` event hook: every request a client sends, redirects included, is checked."""
        await self.acheck(str(request.url))

    async def acheck(self, url: str) -> None:
        """Check a URL, resolving its host without blocking the event loop."""
        host, port = self._split(url)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchBlockedError(f"host {host!r} does not resolve: {exc}", url=url) from exc
        self._check_infos(list(infos), url)


def guarded_client(guard: FetchGuard, network: NetworkSettings) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` built from ``network`` whose every request passes ``guard``."""
    return httpx.AsyncClient(
        timeout=network.timeout_s,
        headers={"User-Agent": network.user_agent},
        follow_redirects=True,
        max_redirects=5,
        proxy=network.proxy,
        event_hooks={"request": [guard.hook]},
    )


def guard_client(client: httpx.AsyncClient, guard: FetchGuard) -> None:
    """Add ``guard`` to a client someone else built, so its requests (redirects included) are checked too."""
    hooks = client.event_hooks
    client.event_hooks = {**hooks, "request": [*hooks.get("request", []), guard.hook]}
