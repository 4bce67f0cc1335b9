"""The combined HTTP app: guard (Host, Origin, bearer, body), discovery, MCP over HTTP."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_servers.discovery import Heartbeat, Registration, Registry
from mcp_servers.files import build_server as files_server
from mcp_servers.hosting import build_http_app
from mcp_servers.identity import sign_service_token, sign_user_token
from mcp_servers.settings import HttpSettings, ServersSettings
from mcp_servers.web import build_server as web_server
from tests.mcp_servers.conftest import ThreadServer, free_port, make_settings

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_settings(data_dir: Path) -> ServersSettings:
    port = free_port()
    return make_settings(
        data_dir,
        http=HttpSettings(
            port=port,
            max_body_bytes=50_000,
            heartbeat_seconds=10,
            allowed_hosts=["mcp.internal:8001"],
        ),
    )


@pytest.fixture
def running(app_settings: ServersSettings, clock: Clock) -> Iterator[tuple[str, Registry]]:
    registry = Registry(
        heartbeat_seconds=10, clock=clock, builtin_names=frozenset({"files", "web"})
    )
    app = build_http_app(
        app_settings, [files_server(app_settings), web_server(app_settings)], registry=registry
    )
    server = ThreadServer(app)
    server.port = app_settings.http.port
    server.server.config.port = app_settings.http.port
    with server:
        yield server.url, registry


def service(settings: ServersSettings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.service_token()}"}


async def test_discover_lists_our_servers_with_their_tools(
    running: tuple[str, Registry], app_settings: ServersSettings
) -> None:
    url, _ = running
    listing = httpx.get(f"{url}/discover", headers=service(app_settings)).json()
    by_name = {entry["name"]: entry for entry in listing["servers"]}
    assert set(by_name) == {"files", "web"}
    assert by_name["web"] == {
        "name": "web",
        "url": f"{url}/mcp/web",
        "transport": "streamable-http",
        "protocol_versions": by_name["web"]["protocol_versions"],
        "tools": ["fetch"],
        "healthy": True,
    }
    assert "2026-07-28" in by_name["web"]["protocol_versions"]
    assert "2025-11-25" in by_name["web"]["protocol_versions"]


@pytest.mark.parametrize(
    ("headers", "authorized", "status"),
    [
        ({}, False, 401),
        ({"Authorization": "Bearer wrong"}, False, 401),
        ({"Authorization": "Basic abc"}, False, 401),
        ({"Host": "evil.example.com"}, True, 421),
        ({"Host": "127.0.0.1.evil.com:80"}, True, 421),
        ({"Origin": "http://evil.example.com"}, True, 403),
        ({"Origin": "null"}, True, 403),
        ({"Origin": "http://localhost.evil.com"}, True, 403),
    ],
)
async def test_the_guard_refuses_before_anything_runs(
    running: tuple[str, Registry],
    app_settings: ServersSettings,
    headers: dict,
    authorized: bool,
    status: int,
) -> None:
    url, _ = running
    base = service(app_settings) if authorized else {}
    discover = httpx.get(f"{url}/discover", headers={**base, **headers})
    mcp = httpx.post(
        f"{url}/mcp/files",
        headers={**base, **headers},
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
    )
    assert (discover.status_code, mcp.status_code) == (status, status)
    if status == 401:
        assert mcp.headers["www-authenticate"].startswith("Bearer")


async def test_an_allow_listed_host_and_loopback_origins_pass(
    running: tuple[str, Registry], app_settings: ServersSettings
) -> None:
    url, _ = running
    for extra in ({"Host": "mcp.internal:8001"}, {"Origin": "http://localhost:5000"}):
        response = httpx.get(f"{url}/discover", headers={**service(app_settings), **extra})
        assert response.status_code == 200


async def test_bodies_over_the_limit_get_413(
    running: tuple[str, Registry], app_settings: ServersSettings
) -> None:
    url, _ = running
    token = sign_user_token(app_settings.service_token(), "files", "alice")
    big = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "write_file", "arguments": {"path": "a", "content": "x" * 60_000}},
    }
    response = httpx.post(
        f"{url}/mcp/files",
        json=big,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
        },
    )
    assert response.status_code == 413


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_user_token_reaches_the_users_workspace_over_http(
    running: tuple[str, Registry], app_settings: ServersSettings, mode: str
) -> None:
    url, _ = running
    token = sign_user_token(app_settings.service_token(), "files", "alice")
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    async with (
        http,
        Client(streamable_http_client(f"{url}/mcp/files", http_client=http), mode=mode) as client,
    ):
        written = await client.call_tool("write_file", {"path": f"{mode}.txt", "content": "hi"})
        assert not written.is_error
        listing = await client.call_tool("list_files", {})
    assert f"{mode}.txt" in str(listing.structured_content)


async def test_a_token_for_one_server_does_not_open_another(
    running: tuple[str, Registry], app_settings: ServersSettings
) -> None:
    url, _ = running
    token = sign_user_token(app_settings.service_token(), "web", "alice")
    response = httpx.post(
        f"{url}/mcp/files",
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


async def test_our_servers_refuse_the_raw_service_token_and_take_a_service_jwt(
    running: tuple[str, Registry], app_settings: ServersSettings
) -> None:
    url, _ = running
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    raw = httpx.post(f"{url}/mcp/files", json=ping, headers=service(app_settings))
    assert raw.status_code == 401
    token = sign_service_token(app_settings.service_token(), "files")
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(f"{url}/mcp/files", http_client=http)) as client:
        tools = await client.list_tools()
    assert "list_files" in {tool.name for tool in tools.tools}
    discover = httpx.get(f"{url}/discover", headers=service(app_settings))
    assert discover.status_code == 200  # the discovery service still takes the raw token


async def test_third_parties_register_and_heartbeat_and_missed_beats_expire(
    running: tuple[str, Registry], app_settings: ServersSettings, clock: Clock
) -> None:
    url, _registry = running
    beat = Heartbeat(
        f"{url}/discover",
        app_settings.service_token(),
        lambda: [Registration(name="weather", url="http://127.0.0.1:9999/mcp", tools=["forecast"])],
    )
    assert await beat.beat()

    def entry() -> dict | None:
        listing = httpx.get(f"{url}/discover", headers=service(app_settings)).json()["servers"]
        return next((e for e in listing if e["name"] == "weather"), None)

    assert entry() == {
        "name": "weather",
        "url": "http://127.0.0.1:9999/mcp",
        "transport": "streamable-http",
        "protocol_versions": [],
        "tools": ["forecast"],
        "healthy": True,
    }
    clock.now += 31
    assert entry()["healthy"] is False  # type: ignore[index]
    assert await beat.beat()
    assert entry()["healthy"] is True  # type: ignore[index]
    clock.now += 101
    assert entry() is None


async def test_registration_is_validated_and_our_names_are_reserved(
    running: tuple[str, Registry], app_settings: ServersSettings
) -> None:
    url, _ = running
    post = lambda body, headers=None: httpx.post(  # noqa: E731
        f"{url}/register", json=body, headers=headers or service(app_settings)
    )
    assert post({"name": "files", "url": "http://127.0.0.1:1/mcp"}).status_code == 409
    assert post({"name": "Bad Name", "url": "http://127.0.0.1:1/mcp"}).status_code == 422
    assert post({"name": "x", "url": "ftp://host/mcp"}).status_code == 422
    assert post({"name": "x", "url": "http://h/mcp", "transport": "stdio"}).status_code == 422
    user_token = sign_user_token(app_settings.service_token(), "files", "alice")
    assert (
        post(
            {"name": "x", "url": "http://h/mcp"}, {"Authorization": f"Bearer {user_token}"}
        ).status_code
        == 401
    )
    assert httpx.delete(f"{url}/register/files", headers=service(app_settings)).status_code == 409
    assert post({"name": "gone", "url": "http://h/mcp"}).status_code == 200
    assert httpx.delete(f"{url}/register/gone", headers=service(app_settings)).status_code == 204


async def test_health_needs_no_token(running: tuple[str, Registry]) -> None:
    url, _ = running
    assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
