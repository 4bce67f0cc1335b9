"""How the hub reaches a server: a stdio child process or a Streamable HTTP endpoint.

Both are the SDK's transports with two additions: the read side is watched so that the
hub learns at once when a stdio server exits (the SDK only tells a request in flight),
and HTTP requests to our own servers carry a fresh service token for the user of the
request being sent.
"""

from __future__ import annotations

import contextvars
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TextIO

import anyio
import httpx2
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from orchestrator.mcp.client.egress import Egress
from orchestrator.mcp.client.limits import Limits, bounded_transport
from orchestrator.mcp.client.service_token import ServiceTokens
from orchestrator.mcp.client.stdio import bounded_stdio_client
from orchestrator.mcp.config import ServerConfig

__all__ = ["RequestUser", "ServiceTokenAuth", "describe", "open_transport", "request_user"]


@dataclass(frozen=True, slots=True)
class RequestUser:
    """The user a request is sent for (None: the hub's own request)."""

    user_id: str | None


request_user: contextvars.ContextVar[RequestUser | None] = contextvars.ContextVar(
    "mcp_request_user", default=None
)


class ServiceTokenAuth(httpx2.Auth):
    """`Authorization: Bearer ...` for our own servers, minted per request.

    A JWT for the user of the request in flight, or a service JWT for the hub's own
    requests (listing, handshake). Both name the server as their audience and expire
    within minutes; the raw secret is never sent.
    """

    def __init__(self, tokens: ServiceTokens, server: str) -> None:
        self._tokens = tokens
        self._server = server

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Add the bearer token for the request's user (or the hub) to `request`."""
        current = request_user.get()
        user_id = current.user_id if current is not None else None
        if user_id:
            token = self._tokens.mint(self._server, user_id)
        else:
            token = self._tokens.mint_service(self._server)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


class _WatchedReceive(anyio.abc.ObjectReceiveStream[Any]):
    """A receive stream that calls `on_end` once when the other side finishes."""

    def __init__(self, inner: Any, on_end: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    @property
    def last_context(self) -> contextvars.Context | None:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def close(self) -> None:
        self._inner.close()


def describe(error: BaseException) -> str:
    """A short account of a failure, looking inside exception groups."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(dict.fromkeys(describe(inner) for inner in error.exceptions))
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    return f"{name}: {text}" if text else name


@asynccontextmanager
async def _http(
    config: ServerConfig,
    auth: httpx2.Auth | None,
    egress: Egress | None,
    limits: Limits,
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[Any]:
    """The SDK's Streamable HTTP client on an httpx2 client of ours.

    Messages are bounded (`limits`); for a server a non-admin registered, every connection
    is judged and pinned (`egress`), without proxies from the environment. With `tls` (our
    own servers under mutual TLS), the client presents our certificate and trusts our CA.
    """
    timeout = httpx2.Timeout(config.connect_timeout, read=300.0)
    restricted = config.network == "public"
    if restricted and egress is None:
        raise ValueError(f"{config.name} may only reach public addresses, and no policy is set")
    inner: httpx2.AsyncBaseTransport | None = None
    if restricted and egress is not None:
        inner = egress.transport()
    elif tls is not None:
        inner = httpx2.AsyncHTTPTransport(verify=tls)
    headers = {**config.resolved_headers(), "Accept-Encoding": "identity"}
    async with httpx2.AsyncClient(
        headers=headers,
        timeout=timeout,
        auth=auth,
        transport=bounded_transport(limits, inner),
        trust_env=not restricted,
    ) as http:
        async with streamable_http_client(
            config.resolved_url(), http_client=http, max_sse_event_size=limits.max_message_bytes
        ) as streams:
            yield streams


@asynccontextmanager
async def open_transport(
    config: ServerConfig,
    *,
    on_end: Callable[[], None],
    errlog: TextIO,
    auth: httpx2.Auth | None = None,
    tokens: ServiceTokens | None = None,
    egress: Egress | None = None,
    limits: Limits | None = None,
    tls: ssl.SSLContext | None = None,
) -> AsyncGenerator[tuple[Any, Any], None]:
    """The (read, write) streams of a new connection to the configured server.

    Raises:
        OSError: the stdio command cannot be started.
    """
    if config.transport == "stdio":
        env = config.resolved_env()
        if tokens is not None and config.assistant:
            # Our own servers check the per-call tokens with the secret they share with us.
            env["MCP_SERVICE_TOKEN"] = tokens.secret
        params = StdioServerParameters(
            command=config.command or "",
            args=config.resolved_args(),
            env=env,
            cwd=config.cwd,
        )
        bound = (limits or Limits()).max_message_bytes
        async with bounded_stdio_client(params, max_line_bytes=bound, errlog=errlog) as (
            read,
            write,
        ):
            yield _WatchedReceive(read, on_end), write
        return
    if tokens is not None and config.assistant:
        auth = ServiceTokenAuth(tokens, config.name)
    async with _http(config, auth, egress, limits or Limits(), tls) as (read, write):
        yield _WatchedReceive(read, on_end), write
