"""What a normal user must not be able to do through the MCP hub (issue 9): get our service
secret sent to their server, read the orchestrator's environment through `${VAR}`, make
the orchestrator connect to internal addresses, or reconnect everyone's servers."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import uuid
from typing import Any
from urllib.parse import unquote

import anyio
import jwt
import pytest

from orchestrator.domain import (
    Forbidden,
    TextPart,
    Unavailable,
)
from orchestrator.mcp import (
    ConnectionState,
    HubServer,
    ServerRegistry,
    ServerSource,
    parse_server,
)
from tests.fakes.mcp_server import build
from tests.fixtures.mcp_api import OpenApi
from tests.mcp.conftest import OpenHub, call_context
from tests.mcp.recording import (
    counting_listener,
    header_values,
    oauth_pointing_to,
    port_of,
    recording_server,
    redirecting_server,
)
from tests.security.conftest import session_tally

pytestmark = pytest.mark.anyio

SECRET = "service-secret-for-the-security-tests-0123"


def _name(prefix: str = "s") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def _ready(server: HubServer | None) -> None:
    assert server is not None
    connection = server.shared
    assert connection is not None
    with anyio.fail_after(20):
        while connection.state is not ConnectionState.READY:
            assert connection.state is not ConnectionState.CIRCUIT_OPEN, (
                connection.breaker.last_error
            )
            await connection.state_changed().wait()


# -- 1. the service secret ------------------------------------------------------------


async def test_the_hubs_own_requests_to_our_http_servers_carry_a_service_jwt_never_the_secret(
    open_hub: OpenHub,
) -> None:
    with recording_server() as (url, recorder):
        async with open_hub({"web": {"url": url, "assistant": True}}, service_secret=SECRET) as hub:
            spec = {s.name: s for s in await hub.list_tools("user-3")}["web__whoami"]
            await hub.call_tool(spec, {}, call_context("user-3"))
    bearers = [value for value in header_values(recorder, "authorization") if value]
    assert len(bearers) == len(recorder.requests) >= 3
    assert not any(SECRET in bearer for bearer in bearers)
    kinds = []
    for bearer in bearers:
        scheme, token = bearer.split(" ", 1)
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], audience="mcp:web", issuer="assistant"
        )
        assert scheme == "Bearer" and 0 < claims["exp"] - claims["iat"] <= 300
        kinds.append((claims.get("kind"), claims["sub"]))
    assert ("service", "assistant-hub") in kinds  # the handshake and listing
    assert (None, "user-3") in kinds  # the call, for its user


@pytest.mark.postgres
async def test_a_normal_user_cannot_mark_their_server_as_ours(open_api: OpenApi) -> None:
    name = _name("ours")
    body = {"name": name, "url": "http://127.0.0.1:9/mcp", "assistant": True}
    async with open_api(allowed_internal_hosts="127.0.0.1:9") as api:
        refused = await api.client.post("/api/v1/mcp/servers", json=body, headers=api.alice)
        stored = [row["name"] for row in await api.hub.store.load_servers()]
        admin = await api.client.post(
            "/api/v1/mcp/servers", json={**body, "name": name + "a"}, headers=api.admin
        )
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["type"] == "forbidden" and "assistant: true" in error["message"]
    assert name not in stored
    assert admin.status_code == 201 and admin.json()["assistant"] is True


# -- 2. no ${VAR} expansion ---------------------------------------------------------------

INJECTIONS = {
    "X-Home": "${HOME}",
    "X-Secret": "${JWT_SECRET_KEY}",
    "X-Template": "{{config.secret}}",
    "X-Command": "$(id)",
    "X-Backticks": "`id`",
}


@pytest.mark.postgres
async def test_a_users_url_and_headers_reach_their_server_literally(open_api: OpenApi) -> None:
    name = _name("lit")
    with recording_server() as (url, recorder):
        port = url.rsplit(":", 1)[1].split("/")[0]
        target = f"{url}?home=${{HOME}}&tpl={{{{7*7}}}}&cmd=$(id)"
        body = {"name": name, "url": target, "headers": INJECTIONS}
        async with open_api(allowed_internal_hosts=f"127.0.0.1:{port}") as api:
            created = await api.client.post("/api/v1/mcp/servers", json=body, headers=api.alice)
            assert created.status_code == 201, created.text
            await _ready(api.hub.find(api.alice_id, name))
    assert recorder.requests
    home = os.environ.get("HOME", "/root")
    for seen in recorder.requests:
        for header, value in INJECTIONS.items():
            assert seen.headers[header.lower()] == value
        assert unquote(seen.query) == "home=${HOME}&tpl={{7*7}}&cmd=$(id)"
        assert home not in seen.query and "x" * 40 not in str(seen.headers)


@pytest.mark.postgres
async def test_an_admins_stdio_args_and_env_from_the_api_are_literal(
    open_api: OpenApi,
) -> None:
    name = _name("echo")
    body = {
        "name": name,
        "command": sys.executable,
        "args": ["-m", "tests.mcp.hostile_server", *INJECTIONS.values()],
        "env": {f"PROBE_{i}": value for i, value in enumerate(INJECTIONS.values())},
        "cwd": os.getcwd(),
        "shared": True,
    }
    async with open_api() as api:
        created = await api.client.post("/api/v1/mcp/servers", json=body, headers=api.admin)
        assert created.status_code == 201, created.text
        await _ready(api.hub.find(api.alice_id, name))
        spec = {s.name: s for s in await api.hub.list_tools(api.alice_id)}[f"{name}__launched"]
        outcome = await api.hub.call_tool(spec, {}, call_context(api.alice_id))
    text = "".join(part.text for part in outcome.content if isinstance(part, TextPart))
    seen = json.loads(text)
    assert seen["argv"] == list(INJECTIONS.values())
    assert list(seen["env"].values()) == list(INJECTIONS.values())


# -- 3. SSRF ------------------------------------------------------------------------------

CORPUS = [
    "http://127.0.0.1:{port}/mcp",
    "http://localhost:{port}/mcp",
    "http://0.0.0.0:{port}/mcp",
    "http://10.0.0.1:{port}/mcp",
    "http://172.16.0.1:{port}/mcp",
    "http://192.168.1.1:{port}/mcp",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/mcp",
    "http://[::ffff:127.0.0.1]:{port}/mcp",
    "http://[::]:{port}/mcp",
    "http://2130706433:{port}/mcp",
    "http://0x7f000001:{port}/mcp",
    "http://0177.0.0.1:{port}/mcp",
    "http://127.1:{port}/mcp",
    "http://loopback.example:{port}/mcp",
    "http://metadata.google.internal/computeMetadata/v1/",
]


async def _loopback_resolver(host: str, port: int) -> list[Any]:
    """DNS as an attacker controls it: their names resolve to loopback."""
    if host.endswith(".example"):
        return [ipaddress.ip_address("127.0.0.1")]
    raise OSError(f"{host} does not resolve here")


async def test_a_normal_users_server_urls_to_internal_addresses_are_refused_and_never_contacted(
    open_hub: OpenHub, request: pytest.FixtureRequest
) -> None:
    count = session_tally(request.config).attack("SSRF corpus (user MCP URLs)")
    refused = 0
    with counting_listener() as listener:
        async with open_hub(resolver=_loopback_resolver) as hub:
            registry = ServerRegistry(hub)
            for template in CORPUS:
                url = template.format(port=listener.port)
                with pytest.raises(Forbidden, match="address is not allowed") as caught:
                    await registry.add(
                        _name(), {"url": url}, user_id="mallory", is_admin=False, shared=False
                    )
                refused += 1
                assert caught.value.detail["url"] == url
            assert hub.visible("mallory") == []
    count.attempts += len(CORPUS)
    count.refusals += refused
    count.findings += ["a connection reached the listener"] * listener.connections
    count.note = f"{len(CORPUS)} URLs, {listener.connections} contacts with the listener"
    assert refused == len(CORPUS) and listener.connections == 0


async def test_a_name_that_turns_to_loopback_after_registration_is_refused_at_connect(
    open_hub: OpenHub,
) -> None:
    answers = {"rebind.example": ipaddress.ip_address("93.184.215.14")}

    async def rebinding(host: str, port: int) -> list[Any]:
        return [answers[host]]

    with counting_listener() as listener:
        async with open_hub(resolver=rebinding) as hub:
            name = _name("rebind")
            url = f"http://rebind.example:{listener.port}/mcp"
            await hub.egress.check_url(url)  # registered while the name was public...
            answers["rebind.example"] = ipaddress.ip_address("127.0.0.1")  # ...then rebound
            config = parse_server(
                name, {"url": url}, owner_id="mallory", source=ServerSource.API, network="public"
            )
            await hub.sources.add(config, created_by="mallory")
            await hub.reconcile()
            server = hub.find("mallory", name)
            assert server is not None and server.shared is not None
            connection = server.shared
            with anyio.fail_after(10):
                while connection.breaker.failures == 0:
                    await connection.state_changed().wait()
    assert "loopback" in (connection.breaker.last_error or "")
    assert listener.connections == 0


async def test_an_allowed_internal_host_may_not_redirect_to_another(open_hub: OpenHub) -> None:
    with (
        counting_listener() as listener,
        recording_server() as (url, recorder),
        redirecting_server(f"http://127.0.0.1:{listener.port}/mcp") as bouncing,
    ):
        allowed = (f"127.0.0.1:{port_of(url)}", f"127.0.0.1:{port_of(bouncing)}")
        async with open_hub(allowed_internal_hosts=allowed) as hub:
            registry = ServerRegistry(hub)
            ok = await registry.add(
                _name(), {"url": url}, user_id="mallory", is_admin=False, shared=False
            )
            bounced = await registry.add(
                _name(), {"url": bouncing}, user_id="mallory", is_admin=False, shared=False
            )
            found = hub.find("mallory", bounced.config.name)
            assert found is not None and found.shared is not None
            with anyio.fail_after(10):
                while found.shared.breaker.failures == 0:
                    await found.shared.state_changed().wait()
            await _ready(hub.find("mallory", ok.config.name))
    assert recorder.requests  # the allowed host itself works
    assert listener.connections == 0


async def test_oauth_metadata_of_a_users_server_cannot_send_the_hub_to_internal_addresses(
    open_hub: OpenHub,
) -> None:
    with counting_listener() as listener:
        internal = f"http://127.0.0.1:{listener.port}"
        with oauth_pointing_to(internal) as (url, paths):
            async with open_hub(allowed_internal_hosts=(f"127.0.0.1:{port_of(url)}",)) as hub:
                registry = ServerRegistry(hub)
                added = await registry.add(
                    _name("oauth"),
                    {"url": url, "auth": {"type": "oauth"}},
                    user_id="mallory",
                    is_admin=False,
                    shared=False,
                )
                with pytest.raises(Unavailable):
                    await registry.authorize(added.config.name, "mallory")
    assert "/mcp" in paths  # the hub did talk to the allowed server...
    assert listener.connections == 0  # ...but never to what its metadata named


@pytest.mark.postgres
async def test_the_api_refuses_an_internal_url_with_a_clear_403(open_api: OpenApi) -> None:
    async with open_api() as api:
        response = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": _name(), "url": "http://169.254.169.254/mcp"},
            headers=api.alice,
        )
        admin = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": _name(), "url": "http://127.0.0.1:9/mcp"},
            headers=api.admin,
        )
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["type"] == "forbidden" and "link-local" in error["message"]
    assert admin.status_code == 201  # admins are not restricted


# -- 6. shared servers --------------------------------------------------------------------


@pytest.mark.postgres
async def test_only_admins_reconnect_a_shared_server_and_users_their_own(
    open_api: OpenApi,
) -> None:
    demo = _name("demo")
    mine = _name("mine")
    async with open_api(
        {demo: {"command": "in-process"}},
        targets={demo: build()},
        allowed_internal_hosts="127.0.0.1:9",
    ) as api:
        user = await api.client.post(f"/api/v1/mcp/servers/{demo}/reconnect", headers=api.alice)
        admin = await api.client.post(f"/api/v1/mcp/servers/{demo}/reconnect", headers=api.admin)
        created = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": mine, "url": "http://127.0.0.1:9/mcp"},
            headers=api.alice,
        )
        own = await api.client.post(f"/api/v1/mcp/servers/{mine}/reconnect", headers=api.alice)
    assert user.status_code == 403, user.text
    assert user.json()["error"]["type"] == "forbidden"
    assert admin.status_code == 200
    assert created.status_code == 201 and own.status_code == 200, own.text
