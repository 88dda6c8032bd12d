"""The entries of ``[network] allow_hosts``: hosts fetched whatever they resolve to.

A base module: the settings validate entries with it and the fetch guard (``takedown.sites.guard``) applies them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["AllowedHost", "IPAddress", "IPNetwork"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AllowedHost:
    """One ``allow_hosts`` entry: a host name or an address network, on any port or on one."""

    name: str | None
    network: IPNetwork | None
    port: int | None

    @classmethod
    def parse(cls, entry: str) -> AllowedHost:
        """Read ``name``, ``address``, ``network/prefix`` or any of them with ``:port`` (IPv6 in brackets).

        Raises:
            ValueError: the entry is empty or its port is not a number from 1 to 65535.
        """
        text = entry.strip().lower()
        host, port_text = text, ""
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port_text = rest.removeprefix(":")
        elif text.count(":") == 1:  # more than one colon: a bare IPv6 address or network
            host, _, port_text = text.partition(":")
        port = None
        if port_text:
            if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
                raise ValueError(f"allow_hosts entry {entry!r}: invalid port {port_text!r}")
            port = int(port_text)
        host = host.rstrip(".")
        if not host:
            raise ValueError(f"allow_hosts entry {entry!r} names no host")
        try:
            return cls(name=None, network=ipaddress.ip_network(host, strict=False), port=port)
        except ValueError:
            return cls(name=host, network=None, port=port)

    def covers(self, host: str, port: int, address: IPAddress | None = None) -> bool:
        """Whether this entry allows ``host`` on ``port`` (resolved to ``address``, for a network entry)."""
        if self.port is not None and self.port != port:
            return False
        if self.name is not None:
            return self.name == host.lower().rstrip(".")
        return address is not None and self.network is not None and address in self.network

    def names(self, host: str, port: int, address: IPAddress) -> bool:
        """Whether this entry allows ``host`` on ``port`` by naming it exactly: the host name, or ``address`` alone.

        A network entry (``169.254.0.0/16``) covers addresses without naming any: it never opens a metadata
        endpoint.
        """
        if not self.covers(host, port, address):
            return False
        return self.name is not None or (self.network is not None and self.network.num_addresses == 1)
