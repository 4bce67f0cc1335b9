"""A remote server behind OAuth 2.1: each user authorizes the hub, and only they use it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import anyio
import httpx
import pytest

from orchestrator.mcp import ConnectionState
from orchestrator.mcp.governance import credential_binding
from tests.fixtures.mcp_api import OpenApi
from tests.fixtures.processes import free_port, listening

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

CALLBACK = "http://test/mcp/oauth/callback"


@pytest.fixture(scope="module")
def oauth_server() -> Iterator[str]:
    port = free_port()
    with listening([sys.executable, "-m", "tests.fakes.oauth_server", "--port", str(port)], port):
        yield f"http://127.0.0.1:{port}/mcp"


async def test_a_user_authorizes_an_oauth_server_for_themselves(
    open_api: OpenApi, oauth_server: str
) -> None:
    name = f"vault{uuid.uuid4().hex[:6]}"
    body = {"name": name, "url": oauth_server, "auth": {"type": "oauth"}, "shared": True}
    async with open_api(oauth_redirect_url=CALLBACK) as api:
        created = await api.client.post("/api/v1/mcp/servers", json=body, headers=api.admin)
        assert created.status_code == 201, created.text
        assert created.json()["health"]["state"] == "auth_required"
        assert created.json()["oauth"] is True

        started = await api.client.post(f"/api/v1/mcp/servers/{name}/authorize", headers=api.alice)
        assert started.status_code == 200, started.text
        assert started.json()["status"] == "authorize"
        url = started.json()["authorization_url"]
        query = dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))
        assert query["code_challenge_method"] == "S256" and query["resource"]

        async with httpx.AsyncClient() as browser:  # the user clicks "Allow"
            consent = await browser.get(url, follow_redirects=False)
        location = consent.headers["location"]
        assert location.startswith(CALLBACK)
        back = await api.client.get(location.removeprefix("http://test"))
        assert back.status_code == 200 and name in back.text
        replayed = await api.client.get(location.removeprefix("http://test"))
        assert replayed.status_code == 404

        server = api.hub.find(api.alice_id, name)
        assert server is not None
        connection = server.connections[api.alice_id]
        with anyio.fail_after(20):
            while connection.state is not ConnectionState.READY:
                await connection.state_changed().wait()

        alice_tools = await api.client.get("/api/v1/tools", headers=api.alice)
        bob_tools = await api.client.get("/api/v1/tools", headers=api.bob)
        bob_view = await api.client.get(f"/api/v1/mcp/servers/{name}", headers=api.bob)
        sealed = await api.hub.store.load_credentials(api.alice_id, server.config.key)
        again = await api.client.post(f"/api/v1/mcp/servers/{name}/authorize", headers=api.alice)
        forgot = await api.client.delete(
            f"/api/v1/mcp/servers/{name}/authorization", headers=api.alice
        )
        after = await api.hub.store.load_credentials(api.alice_id, server.config.key)
        not_oauth = await api.client.post("/api/v1/mcp/servers/nope/authorize", headers=api.bob)
    assert f"{name}__secret" in {tool["name"] for tool in alice_tools.json()["items"]}
    assert not any(tool["server"] == name for tool in bob_tools.json()["items"])
    assert bob_view.json()["health"]["state"] == "auth_required"
    assert sealed is not None and "access_token" not in sealed and "refresh" not in sealed
    assert again.json() == {"status": "ready", "authorization_url": None}
    assert forgot.status_code == 204 and after is None
    assert not_oauth.status_code == 404


async def test_a_callback_opened_in_another_browser_stores_nothing_for_the_sender(
    open_api: OpenApi, oauth_server: str
) -> None:
    name = f"vault{uuid.uuid4().hex[:6]}"
    body = {"name": name, "url": oauth_server, "auth": {"type": "oauth"}, "shared": True}
    async with open_api(oauth_redirect_url=CALLBACK) as api:
        created = await api.client.post("/api/v1/mcp/servers", json=body, headers=api.admin)
        assert created.status_code == 201, created.text
        # Mallory (here: alice's account) starts an authorization and sends its link on.
        started = await api.client.post(f"/api/v1/mcp/servers/{name}/authorize", headers=api.alice)
        assert started.status_code == 200, started.text
        cookie = started.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        async with httpx.AsyncClient() as victim_browser:  # the victim clicks "Allow"
            consent = await victim_browser.get(started.json()["authorization_url"])
        callback = consent.headers["location"].removeprefix("http://test")
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as victim:
            stolen = await victim.get(callback)  # the victim's browser has no cookie
        server = api.hub.find(api.alice_id, name)
        assert server is not None
        sealed = await api.hub.store.load_credentials(api.alice_id, server.config.key)
        vault = api.hub.options.vault
        assert vault is not None
        binding = credential_binding(api.alice_id, server.config.key)
        after_attack = (await vault.open(sealed, binding) or {}).get("tokens")
        own = await api.client.get(callback)  # the browser that started it completes it
        sealed = await api.hub.store.load_credentials(api.alice_id, server.config.key)
        with anyio.fail_after(20):
            while (await vault.open(sealed, binding) or {}).get("tokens") is None:
                await server.connections[api.alice_id].state_changed().wait()
                sealed = await api.hub.store.load_credentials(api.alice_id, server.config.key)
    assert stolen.status_code == 403, stolen.text
    assert stolen.json()["error"]["type"] == "forbidden"
    assert after_attack is None
    assert own.status_code == 200 and name in own.text
