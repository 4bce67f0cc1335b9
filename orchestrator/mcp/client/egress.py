"""Where the hub may connect for a server a non-admin registered: public addresses only.

A user who adds an HTTP server chooses the URL the orchestrator connects to, and the
server's OAuth metadata chooses more (the authorization server, its registration and token
endpoints). Without a rule, that is a way into the orchestrator's network: loopback admin
ports, a database, the cloud metadata service. So those servers get the web `fetch` tool's
address policy (`common.addresses.AddressPolicy`, the one policy we have): every
address a name resolves to is checked, loopback, private, link-local, metadata and
IPv4-in-IPv6 forms are refused, decimal/octal/hex literals are read as the C library reads
them. Operators allow internal hosts with `MCP_ALLOWED_INTERNAL_HOSTS`.

The check runs twice: when the server is registered (a clear 403 naming the problem), and
on every connection the hub opens for it, because DNS answers change. Each connection is
pinned to the address that was checked: the check happens in the HTTP client's network
backend, right where the socket is opened, so there is no second lookup to rebind. Every
request of such a server's HTTP client goes through it: the MCP endpoint, any redirect,
and every request of the OAuth flow (they share the client). Servers from `mcp.json`,
discovery or an admin are not restricted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

import anyio
import httpcore2
import httpx2

from common.addresses import AddressPolicy, IPAddress, Refused, resolve_host

__all__ = ["Egress", "Refused", "Resolver"]

logger = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class Egress:
    """The address policy for restricted servers, and HTTP transports that enforce it."""

    def __init__(self, allow: Iterable[str] = (), *, resolver: Resolver | None = None) -> None:
        self.policy = AddressPolicy.build(allow)
        self._resolver = resolver or resolve_host

    async def judge(self, host: str, port: int) -> IPAddress:
        """The checked address to connect to for `host:port`.

        Raises:
            Refused: the host, or one of its addresses, may not be reached (or it does not
                resolve).
        """
        literal = self.policy.check_host(host, port)
        if literal is not None:
            return literal
        try:
            addresses = await self._resolver(host, port)
        except OSError as error:
            raise Refused(f"{host} does not resolve") from error
        self.policy.check_resolved(host, addresses, port)
        return addresses[0]

    async def check_url(self, url: str) -> None:
        """Check a server URL before it is stored (registration).

        Raises:
            Refused: not http(s), or its host may not be reached.
        """
        try:
            parsed = httpx2.URL(url)
        except httpx2.InvalidURL as error:
            raise Refused(f"{url!r} is not a valid URL") from error
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise Refused(f"{url!r} is not an http:// or https:// URL")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        await self.judge(parsed.host, port)

    def transport(self) -> httpx2.AsyncBaseTransport:
        """An HTTP transport whose every connection is judged and pinned (no proxies)."""
        return _PinnedTransport(self)


class _PinnedBackend(httpcore2.AsyncNetworkBackend):
    """Opens each TCP connection to the address `Egress.judge` returned for its host."""

    def __init__(self, egress: Egress) -> None:
        self._egress = egress
        # Typed as the interface: httpcore2 defines AnyIOBackend conditionally.
        self._inner = cast(httpcore2.AsyncNetworkBackend, httpcore2.AnyIOBackend())

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                address = await self._egress.judge(host, port)
        except Refused as error:
            logger.warning("MCP: refused a connection to %s:%s: %s", host, port, error)
            raise httpcore2.ConnectError(f"refused: {error}") from error
        except TimeoutError as error:
            raise httpcore2.ConnectTimeout(f"{host} did not resolve in time") from error
        return await self._inner.connect_tcp(
            str(address),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Any = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("refused: unix sockets are not for registered servers")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's own transport with its connection pool on the pinning backend.

    httpx2 offers no public way to choose the network backend, so the pool it built is
    replaced by one built the same way on `_PinnedBackend`. TLS still verifies the
    certificate against the URL's host name (httpcore passes it as the server name).
    """

    def __init__(self, egress: Egress) -> None:
        super().__init__(trust_env=False)
        limits = httpx2.Limits()
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(egress),
        )
