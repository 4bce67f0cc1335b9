"""Running our servers: all of them over Streamable HTTP behind the discovery service, or
one over stdio.

`build_http_app` mounts each server at `/mcp/<name>` in one ASGI app together with the
discovery routes and `/healthz`, behind the `Guard` (Host, Origin, bearer, body size). Its
lifespan starts each server's session manager and a heartbeat that (re)registers the
listed servers, with their current tool names, in the registry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.version import SUPPORTED_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_servers.discovery import Heartbeat, Registration, Registry, discovery_routes
from mcp_servers.guard import Guard, GuardPolicy
from mcp_servers.identity import Caller, ServiceTokens
from mcp_servers.server import OurServer
from mcp_servers.settings import ServersSettings

__all__ = ["PROTOCOL_VERSIONS", "build_http_app", "registrations", "serve_http", "serve_stdio"]

logger = logging.getLogger(__name__)

PROTOCOL_VERSIONS = sorted({"2026-07-28", "2025-11-25", *SUPPORTED_PROTOCOL_VERSIONS}, reverse=True)


async def registrations(servers: Sequence[OurServer], base_url: str) -> list[Registration]:
    """What the discovery service should list for the servers that are listed."""
    found: list[Registration] = []
    for server in servers:
        if not server.listed:
            continue
        tools = [tool.name for tool in await server.list_tools()]
        found.append(
            Registration(
                name=server.name,
                url=f"{base_url}/mcp/{server.name}",
                protocol_versions=PROTOCOL_VERSIONS,
                tools=tools,
            )
        )
    return found


class _Dispatch:
    """Sends `/mcp/<name>` to that server's app and everything else to the other routes."""

    def __init__(self, mounts: dict[str, ASGIApp], rest: ASGIApp) -> None:
        self.mounts = mounts
        self.rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = self.mounts.get(scope.get("path", "").rstrip("/"))
            if target is not None:
                await target(scope, receive, send)
                return
        await self.rest(scope, receive, send)


def build_http_app(
    settings: ServersSettings,
    servers: Sequence[OurServer],
    *,
    registry: Registry | None = None,
    stateless: bool = False,
) -> ASGIApp:
    """One ASGI app serving every server in `servers` and the discovery service."""
    http = settings.http
    base_url = settings.base_url
    registry = registry or Registry(
        heartbeat_seconds=http.heartbeat_seconds,
        builtin_names=frozenset(server.name for server in servers),
    )
    service = ServiceTokens(settings.service_token(), "discovery")
    by_path: dict[str, OurServer] = {f"/mcp/{server.name}": server for server in servers}
    mounts: dict[str, ASGIApp] = {}
    for path, server in by_path.items():
        mounts[path] = server.streamable_http_app(
            streamable_http_path=path,
            stateless_http=stateless,
            json_response=stateless,
            max_request_body_size=http.max_body_bytes,
            # The guard in front already checks Host and Origin for every path.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            host=http.host,
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "servers": [s.name for s in servers]})

    async def protected_resource(request: Request) -> Response:
        name = request.path_params["name"]
        if f"/mcp/{name}" not in by_path or not http.oauth_issuer:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(
            {
                "resource": f"{base_url}/mcp/{name}",
                "authorization_servers": [http.oauth_issuer],
                "bearer_methods_supported": ["header"],
            }
        )

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for server in servers:
                await stack.enter_async_context(server.session_manager.run())
            beat = asyncio.create_task(_heartbeat(registry, servers, base_url, settings))
            try:
                yield
            finally:
                beat.cancel()
                await asyncio.gather(beat, return_exceptions=True)

    rest = Starlette(
        routes=[
            Route("/healthz", health, methods=["GET"]),
            Route("/.well-known/oauth-protected-resource/mcp/{name}", protected_resource),
            *discovery_routes(registry),
        ],
        lifespan=lifespan,
    )

    async def authenticate(path: str, token: str) -> Caller | None:
        server = by_path.get(path.rstrip("/"))
        if server is not None:
            return await server.resolver.authenticate_bearer(token)
        return Caller("service", None) if service.is_service_token(token) else None

    def resource_metadata(path: str) -> str | None:
        if http.oauth_issuer and path.rstrip("/") in by_path:
            return f"{base_url}/.well-known/oauth-protected-resource{path.rstrip('/')}"
        return None

    return Guard(
        _Dispatch(mounts, rest),
        GuardPolicy.build(http.allowed_hosts, http.allowed_origins, http.max_body_bytes),
        authenticate,
        resource_metadata,
    )


async def _heartbeat(
    registry: Registry, servers: Sequence[OurServer], base_url: str, settings: ServersSettings
) -> None:
    """Register our listed servers now and at every beat; also with a remote discovery
    service when MCP_DISCOVERY_URL points elsewhere."""
    remote: Heartbeat | None = None
    url = settings.core.mcp.discovery_url
    if url and not url.startswith(base_url):
        found = await registrations(servers, base_url)
        tls = settings.mutual_tls()
        remote = Heartbeat(
            url,
            settings.service_token(),
            lambda: found,
            interval=registry.heartbeat_seconds,
            verify=tls.client_context() if tls is not None else True,
        )
    while True:
        try:
            for registration in await registrations(servers, base_url):
                registry.register(registration, builtin=True)
            if remote is not None:
                await remote.beat()
        except Exception:  # the root of a background task: log and keep beating
            logger.exception("Heartbeat failed")
        await asyncio.sleep(registry.heartbeat_seconds)


def serve_http(settings: ServersSettings, servers: Sequence[OurServer]) -> None:
    """Serve `servers` on MCP_HOST:MCP_PORT until interrupted (HTTPS under mutual TLS).

    Raises:
        ConfigError: MTLS is on and the certificate files cannot be used.
    """
    import uvicorn

    app = build_http_app(settings, servers)
    tls = settings.mutual_tls()
    config = uvicorn.Config(
        app,
        host=settings.http.host,
        port=settings.http.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
        lifespan="on",
        **(tls.uvicorn_options() if tls is not None else {}),
    )
    uvicorn.Server(config).run()


def serve_stdio(server: OurServer) -> None:
    """Serve one server over standard input and output until the host closes them."""
    server.run("stdio")
