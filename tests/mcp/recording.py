"""Real listeners for the security tests: an HTTP MCP server that records every request it
gets, and a bare TCP listener that counts the connections made to it.

Both run on loopback from a thread of the test process, so a test reads what they saw
directly: the headers and URLs the hub sent, or that nothing connected at all.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.fakes.mcp_server import build
from tests.mcp_servers.conftest import ThreadServer

__all__ = [
    "Counter",
    "Recorder",
    "Seen",
    "counting_listener",
    "header_values",
    "oauth_pointing_to",
    "port_of",
    "recording_server",
    "redirecting_server",
]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class Recorder:
    """ASGI middleware keeping every HTTP request's method, path, query and headers."""

    app: ASGIApp
    requests: list[Seen] = field(default_factory=list[Seen])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            raw_path = scope.get("raw_path") or scope["path"].encode()
            self.requests.append(
                Seen(
                    scope["method"],
                    raw_path.decode("latin-1"),
                    scope.get("query_string", b"").decode("latin-1"),
                    headers,
                )
            )
        await self.app(scope, receive, send)


@contextmanager
def recording_server(server: MCPServer | None = None) -> Iterator[tuple[str, Recorder]]:
    """`with recording_server() as (url, recorder):` the fake MCP server at `url` (/mcp)."""
    mcp = server or build(name="demo")
    app = mcp.streamable_http_app(
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    recorder = Recorder(app)
    with ThreadServer(recorder) as running:
        yield f"{running.url}/mcp", recorder


@contextmanager
def redirecting_server(location: str) -> Iterator[str]:
    """`with redirecting_server(to) as url:` an HTTP server whose `/mcp` answers 307 `to`."""

    async def redirect(request: Request) -> RedirectResponse:
        return RedirectResponse(location, status_code=307)

    app = Starlette(routes=[Route("/mcp", redirect, methods=["GET", "POST", "DELETE"])])
    with ThreadServer(app) as running:
        yield f"{running.url}/mcp"


@contextmanager
def oauth_pointing_to(elsewhere: str) -> Iterator[tuple[str, list[str]]]:
    """`with oauth_pointing_to(base) as (url, paths):` an MCP endpoint that requires OAuth
    and whose protected-resource metadata names `base` as its metadata and authorization
    server; `paths` are the paths it was asked for."""
    paths: list[str] = []

    async def endpoint(request: Request) -> Response:
        paths.append(request.url.path)
        if request.url.path.startswith("/.well-known/oauth-protected-resource"):
            resource = f"{request.url.scheme}://{request.url.netloc}/mcp"
            return JSONResponse({"resource": resource, "authorization_servers": [elsewhere]})
        if request.url.path == "/mcp":
            challenge = (
                f'Bearer resource_metadata="{elsewhere}/.well-known/oauth-protected-resource"'
            )
            return Response(status_code=401, headers={"WWW-Authenticate": challenge})
        return Response(status_code=404)

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "DELETE"])])
    with ThreadServer(app) as running:
        yield f"{running.url}/mcp", paths


def port_of(url: str) -> int:
    return int(url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


@dataclass
class Counter:
    """A TCP listener on loopback (IPv4 and IPv6) that counts and closes connections."""

    port: int
    connections: int = 0


@contextmanager
def counting_listener() -> Iterator[Counter]:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", 0))
    sock.listen(64)
    counter = Counter(port=sock.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = sock.accept()
            except OSError:
                return
            if stop.is_set():
                connection.close()
                return
            counter.connections += 1
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        stop.set()
        with socket.create_connection(("127.0.0.1", counter.port)):
            pass  # wakes the accept so the thread ends
        thread.join(timeout=5)
        sock.close()


def header_values(recorder: Recorder, name: str) -> list[Any]:
    return [seen.headers.get(name) for seen in recorder.requests]
