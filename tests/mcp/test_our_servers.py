"""Our own servers: the per-call service token, and discovery of servers that come and go."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import anyio
import jwt
import pytest

from orchestrator.domain import TextPart, ToolOutcome
from orchestrator.mcp import META_KEY, ServiceTokens
from tests.fakes.mcp_server import ServerState, build
from tests.fixtures.processes import free_port, listening
from tests.mcp.conftest import OpenHub, call_context

pytestmark = pytest.mark.anyio

SECRET = "service-secret-for-tests-0123456789"


def _text(outcome: ToolOutcome) -> str:
    return "".join(part.text for part in outcome.content if isinstance(part, TextPart))


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "tests.fakes.mcp_server", "--http", str(port), "--name", "web"]
    with listening(command, port):
        yield f"http://127.0.0.1:{port}/mcp"


@pytest.mark.parametrize("protocol", ["2025-11-25", "auto"])
async def test_our_stdio_servers_get_a_signed_token_for_the_user_in_meta(
    open_hub: OpenHub, protocol: str
) -> None:
    state = ServerState()
    servers = {"demo": {"command": "in-process", "assistant": True, "protocol": protocol}}
    async with open_hub(servers, targets={"demo": build(state)}, service_secret=SECRET) as hub:
        spec = {s.name: s for s in await hub.list_tools("user-9")}["demo__whoami"]
        token = _text(await hub.call_tool(spec, {}, call_context("user-9")))
    claims = ServiceTokens(SECRET).verify(token, "demo")
    assert claims["sub"] == "user-9" and claims["iss"] == "assistant"
    assert claims["aud"] == "mcp:demo"
    assert 0 < int(claims["exp"]) - int(claims["iat"]) <= 300  # type: ignore[call-overload]
    assert claims["jti"]
    with pytest.raises(jwt.InvalidAudienceError):
        ServiceTokens(SECRET).verify(token, "other")
    assert state.tokens == [token]


async def test_third_party_servers_never_get_the_token(open_hub: OpenHub) -> None:
    state = ServerState()
    servers = {"demo": {"command": "in-process"}}
    async with open_hub(servers, targets={"demo": build(state)}, service_secret=SECRET) as hub:
        spec = {s.name: s for s in await hub.list_tools("user-1")}["demo__whoami"]
        answer = _text(await hub.call_tool(spec, {}, call_context()))
    assert answer == "anonymous" and state.tokens == [None]


async def test_our_http_servers_get_the_token_as_a_bearer_header(
    open_hub: OpenHub, http_server: str
) -> None:
    servers = {"web": {"url": http_server, "assistant": True}}
    async with open_hub(servers, service_secret=SECRET) as hub:
        spec = {s.name: s for s in await hub.list_tools("user-3")}["web__whoami"]
        answer = _text(await hub.call_tool(spec, {}, call_context("user-3")))
    scheme, token = answer.split(" ", 1)
    assert scheme == "Bearer"
    assert ServiceTokens(SECRET).verify(token, "web")["sub"] == "user-3"
    assert META_KEY == "io.assistant/user-token"


class _Discovery(http.server.BaseHTTPRequestHandler):
    servers: ClassVar[list[dict[str, Any]]] = []
    authorizations: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).authorizations.append(self.headers.get("authorization"))
        body = json.dumps({"servers": type(self).servers}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def discovery() -> Iterator[tuple[str, type[_Discovery]]]:
    handler = type("Discovery", (_Discovery,), {"servers": [], "authorizations": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/discover", handler
    finally:
        server.shutdown()
        server.server_close()


async def test_discovered_servers_are_added_and_dropped_as_they_come_and_go(
    open_hub: OpenHub, http_server: str, discovery: tuple[str, type[_Discovery]]
) -> None:
    url, handler = discovery
    entry = {
        "name": "web",
        "url": http_server,
        "transport": "streamable-http",
        "protocol_versions": ["2025-11-25", "2026-07-28"],
        "tools": ["whoami"],
        "healthy": True,
    }
    async with open_hub(discovery_url=url, service_secret=SECRET, discovery_interval=0.05) as hub:
        assert hub.find("user-1", "web") is None
        handler.servers = [entry]
        with anyio.fail_after(10):
            while hub.find("user-1", "web") is None:
                await hub.servers_changed().wait()
            server = hub.find("user-1", "web")
            assert server is not None and server.shared is not None
            while not server.shared.ready:
                await server.shared.state_changed().wait()
        assert server.config.assistant and server.config.source.value == "discovery"
        names = {spec.name for spec in await hub.list_tools("user-1")}
        assert "web__whoami" in names
        handler.servers = []
        with anyio.fail_after(10):
            while hub.find("user-1", "web") is not None:
                await hub.servers_changed().wait()
        assert not any(s.name.startswith("web__") for s in await hub.list_tools("user-1"))
    assert handler.authorizations[-1] == f"Bearer {SECRET}"
