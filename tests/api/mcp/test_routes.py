"""The MCP routes: servers, health, approvals, resources, prompts, and who sees what."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.fakes.mcp_server import build
from tests.fixtures.mcp_api import OpenApi

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def _name(prefix: str = "s") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _error(response: Any, status: int, type_: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) <= {"type", "message", "detail"} and error["message"]
    if type_ is not None:
        assert error["type"] == type_
    return error


async def test_servers_list_their_health_and_tools(open_api: OpenApi) -> None:
    demo = _name("demo")
    async with open_api({demo: {"command": "in-process"}}, targets={demo: build()}) as api:
        response = await api.client.get("/api/v1/mcp/servers", headers=api.alice)
        health = await api.client.get(f"/api/v1/mcp/servers/{demo}/health", headers=api.alice)
        tools = await api.client.get("/api/v1/tools", headers=api.alice)
    assert response.status_code == 200
    [server] = [s for s in response.json()["items"] if s["name"] == demo]
    assert server["scope"] == "shared" and server["source"] == "config"
    assert server["health"]["state"] == "ready"
    assert server["health"]["protocol_version"] == "2026-07-28"
    assert server["config"] is None  # a shared server's configuration is for admins
    assert {t["tool"] for t in server["tools"]} >= {"add", "slow", "remove"}
    assert health.json()["state"] == "ready"
    listed = {t["name"]: t for t in tools.json()["items"]}
    assert listed[f"{demo}__add"]["server"] == demo
    assert listed[f"{demo}__add"]["annotations"] == {"readOnlyHint": True}
    assert listed[f"{demo}__add"]["token_cost"] > 0


async def test_a_user_adds_a_personal_http_server_that_nobody_else_sees(
    open_api: OpenApi,
) -> None:
    name = _name("mine")
    body = {"name": name, "url": "http://127.0.0.1:9/mcp", "headers": {"X-Key": "s3cret-value"}}
    async with open_api(allowed_internal_hosts="127.0.0.1:9") as api:
        created = await api.client.post("/api/v1/mcp/servers", json=body, headers=api.alice)
        mine = await api.client.get(f"/api/v1/mcp/servers/{name}", headers=api.alice)
        theirs = await api.client.get(f"/api/v1/mcp/servers/{name}", headers=api.bob)
        bob_list = await api.client.get("/api/v1/mcp/servers", headers=api.bob)
        bob_delete = await api.client.delete(f"/api/v1/mcp/servers/{name}", headers=api.bob)
        stored = await api.hub.store.load_servers()
        deleted = await api.client.delete(f"/api/v1/mcp/servers/{name}", headers=api.alice)
        gone = await api.client.get(f"/api/v1/mcp/servers/{name}", headers=api.alice)
    assert created.status_code == 201, created.text
    assert created.json()["scope"] == "personal"
    assert mine.json()["config"]["headers"] == {"X-Key": "***"}
    _error(theirs, 404, "not_found")
    assert name not in {s["name"] for s in bob_list.json()["items"]}
    _error(bob_delete, 404)
    [row] = [row for row in stored if row["name"] == name]
    assert "s3cret-value" not in str(row["config"]) and "s3cret-value" not in (row["secrets"] or "")
    assert deleted.status_code == 204
    _error(gone, 404)


@pytest.mark.parametrize(
    ("body", "status", "type_"),
    [
        ({"name": "bad name!", "url": "http://x/mcp"}, 422, "invalid_input"),
        ({"name": "nourl"}, 422, "invalid_input"),
        ({"name": "both", "url": "http://x/mcp", "command": "ls"}, 422, "invalid_input"),
        ({"name": "badpolicy", "url": "http://x/mcp", "policy": "sometimes"}, 422, None),
        ({"name": "secret", "command": "ls", "env": {"OPENAI_API_KEY": "x"}}, 422, None),
        ({"name": "cmd", "command": "ls"}, 403, "forbidden"),
        ({"name": "everyone", "url": "http://x/mcp", "shared": True}, 403, "forbidden"),
        ({"url": "http://x/mcp"}, 422, "invalid_input"),
    ],
)
async def test_bad_server_registrations_get_the_error_shape(
    open_api: OpenApi, body: dict[str, Any], status: int, type_: str | None
) -> None:
    async with open_api() as api:
        response = await api.client.post("/api/v1/mcp/servers", json=body, headers=api.alice)
    _error(response, status, type_)


async def test_an_admin_adds_a_shared_stdio_server_and_its_secrets_are_refused(
    open_api: OpenApi,
) -> None:
    name = _name("shared")
    async with open_api() as api:
        leak = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": name, "command": "ls", "env": {"TOKEN": "x" * 40}},
            headers=api.admin,
        )
        created = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": name, "command": "/bin/false", "shared": True},
            headers=api.admin,
        )
        again = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": name, "url": "http://127.0.0.1:9/mcp"},
            headers=api.alice,
        )
        seen = await api.client.get(f"/api/v1/mcp/servers/{name}", headers=api.alice)
        refused = await api.client.delete(f"/api/v1/mcp/servers/{name}", headers=api.alice)
        removed = await api.client.delete(f"/api/v1/mcp/servers/{name}", headers=api.admin)
    _error(leak, 422, "invalid_input")
    assert created.status_code == 201 and created.json()["scope"] == "shared"
    _error(again, 409, "conflict")
    assert seen.status_code == 200 and seen.json()["config"] is None
    _error(refused, 403, "forbidden")
    assert removed.status_code == 204


async def test_servers_from_the_config_file_are_not_removed_through_the_api(
    open_api: OpenApi,
) -> None:
    demo = _name("demo")
    async with open_api({demo: {"command": "in-process"}}, targets={demo: build()}) as api:
        response = await api.client.delete(f"/api/v1/mcp/servers/{demo}", headers=api.admin)
        unknown = await api.client.get("/api/v1/mcp/servers/nope", headers=api.admin)
    _error(response, 409, "conflict")
    _error(unknown, 404, "not_found")


async def test_resources_are_listed_and_read(open_api: OpenApi) -> None:
    demo = _name("demo")
    async with open_api({demo: {"command": "in-process"}}, targets={demo: build()}) as api:
        listed = await api.client.get(
            "/api/v1/mcp/resources", params={"server": demo}, headers=api.alice
        )
        read = await api.client.get(
            "/api/v1/mcp/resources/read",
            params={"server": demo, "uri": "config://app"},
            headers=api.alice,
        )
        template = await api.client.get(
            "/api/v1/mcp/resources/read",
            params={"server": demo, "uri": "notes://birds"},
            headers=api.alice,
        )
        missing = await api.client.get(
            "/api/v1/mcp/resources", params={"server": "nope"}, headers=api.alice
        )
    items = {item["uri"]: item for item in listed.json()["items"]}
    assert items["config://app"]["mime_type"] == "application/json"
    assert items["notes://{topic}"]["template"] is True
    assert read.json()["contents"] == [
        {
            "type": "resource",
            "uri": "config://app",
            "mime_type": "application/json",
            "text": '{"theme": "dark"}',
            "blob": None,
        }
    ]
    assert template.json()["contents"][0]["text"] == "note about birds"
    _error(missing, 404)


async def test_prompts_are_listed_and_filled_in(open_api: OpenApi) -> None:
    demo = _name("demo")
    async with open_api({demo: {"command": "in-process"}}, targets={demo: build()}) as api:
        listed = await api.client.get("/api/v1/mcp/prompts", headers=api.alice)
        filled = await api.client.post(
            "/api/v1/mcp/prompts/get",
            json={"server": demo, "name": "review", "arguments": {"code": "x = 1"}},
            headers=api.alice,
        )
        missing_argument = await api.client.post(
            "/api/v1/mcp/prompts/get",
            json={"server": demo, "name": "review"},
            headers=api.alice,
        )
    [review] = [p for p in listed.json()["items"] if p["server"] == demo]
    assert review["name"] == "review"
    assert {a["name"]: a["required"] for a in review["arguments"]} == {
        "code": True,
        "language": False,
    }
    [message] = filled.json()["messages"]
    assert message["role"] == "user"
    assert message["content"][0]["text"] == "Please review this python code:\nx = 1"
    _error(missing_argument, 502, "tool_server_error")
