"""Which network addresses `fetch` may reach: public ones, plus what an operator allows.

Refused by default: loopback, private (RFC 1918, unique-local), link-local (and so the
cloud metadata endpoints 169.254.169.254 and fd00:ec2::254), carrier-grade NAT, multicast,
reserved and unspecified addresses, and IPv6 forms that embed an IPv4 address (mapped,
compatible, NAT64, 6to4, Teredo) whose IPv4 part is itself refused. Host names are judged by
every address they resolve to, and a literal written in decimal, octal or hex (`2130706433`,
`0x7f.1`, `0177.0.0.1`) is read the way the C library would read it before it is judged.

An operator's allow list holds names, addresses and networks (any port), and `host:port`
endpoints (that port only). The orchestrator's MCP hub applies the same policy to servers
that non-admins register (`orchestrator.mcp.client.egress`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import anyio

__all__ = ["AddressPolicy", "IPAddress", "Refused", "parse_ip_literal", "resolve_host"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "localhost"}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class Refused(Exception):
    """The URL's host is not allowed; the message says why, for the model to read."""


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host`, in its order, without repeats.

    Raises:
        socket.gaierror: the name does not resolve.
    """
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host string denotes as a literal, as `inet_aton` would read it.

    Covers dotted quads, their short forms (`127.1`), and decimal, octal and hex parts
    (`2130706433`, `0177.0.0.1`, `0x7f000001`), and IPv6 (with or without brackets or a
    zone). None when `host` is a name.
    """
    host = host.strip().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = address.packed
    if packed[:12] == bytes(12) and int(address) > 1:  # IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return None


def _why_not_public(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            reason = _why_not_public(inner)
            return f"embeds {inner}, which {reason}" if reason else None
    if address.is_loopback:
        return "is a loopback address"
    if address.is_link_local:
        return "is a link-local address (cloud metadata lives there)"
    if address.is_unspecified:
        return "is the unspecified address"
    if address.is_multicast:
        return "is a multicast address"
    if address.is_private:
        return "is a private address"
    if address.is_reserved:
        return "is a reserved address"
    if not address.is_global:
        return "is not a public address"
    return None


def _endpoint(item: str) -> tuple[str, int] | None:
    """`name:port`, `1.2.3.4:port` or `[v6]:port` as (normalised host, port), else None."""
    host, colon, port = item.rpartition(":")
    if not colon or not port.isdigit() or not host or (":" in host and not host.endswith("]")):
        return None
    return _normal_host(host), int(port)


def _normal_host(host: str) -> str:
    literal = parse_ip_literal(host)
    return str(literal) if literal is not None else host.lower().rstrip(".")


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus what an operator allows.

    The allow list holds names, IPs and CIDR networks (any port), and `host:port`
    endpoints (that port only).
    """

    allowed_names: frozenset[str]
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    allowed_endpoints: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def build(cls, allow: Iterable[str] = ()) -> AddressPolicy:
        """The policy allowing `allow` (names, IPs, CIDRs, `host:port`) besides public addresses."""
        names: set[str] = set()
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        endpoints: set[tuple[str, int]] = set()
        for item in allow:
            item = item.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            endpoint = _endpoint(item)
            if endpoint is not None:
                endpoints.add(endpoint)
            else:
                names.add(item.rstrip("."))
        return cls(frozenset(names), tuple(networks), frozenset(endpoints))

    def name_allowed(self, host: str, port: int | None = None) -> bool:
        """Whether the operator allowed this host name (or this `host:port`)."""
        if port is not None and (_normal_host(host), port) in self.allowed_endpoints:
            return True
        return host.lower().rstrip(".") in self.allowed_names

    def address_allowed(self, address: IPAddress) -> bool:
        """Whether an allowed network holds the address (or the IPv4 address it embeds)."""
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            inner = _embedded_ipv4(address)
            if inner is not None:
                candidates.append(inner)
        return any(c in network for c in candidates for network in self.allowed_networks)

    def check_host(self, host: str, port: int | None = None) -> IPAddress | None:
        """Refuse a host that is a disallowed literal or name before resolving it.

        Returns the literal address when `host` is one. `port`, when given, is matched
        against the allowed `host:port` endpoints.

        Raises:
            Refused: with the reason.
        """
        literal = parse_ip_literal(host)
        if literal is not None:
            self.check_address(host, literal, port)
            return literal
        name = host.lower().rstrip(".")
        if self.name_allowed(name, port):
            return None
        if name in _METADATA_NAMES or name.endswith((".localhost", ".internal", ".local")):
            raise Refused(f"{host} is a local or metadata host name")
        return None

    def check_address(self, host: str, address: IPAddress, port: int | None = None) -> None:
        """Raises Refused when `address` (what `host` resolved to) may not be reached."""
        if self.name_allowed(host, port) or self.address_allowed(address):
            return
        if port is not None and (str(address), port) in self.allowed_endpoints:
            return
        reason = _why_not_public(address)
        if reason is not None:
            shown = host if str(address) == host.strip("[]") else f"{host} ({address})"
            raise Refused(f"{shown} {reason}")

    def check_resolved(
        self, host: str, addresses: Sequence[IPAddress], port: int | None = None
    ) -> None:
        """Every address a name resolves to must pass: one bad one refuses the host."""
        if not addresses:
            raise Refused(f"{host} does not resolve")
        for address in addresses:
            self.check_address(host, address, port)
