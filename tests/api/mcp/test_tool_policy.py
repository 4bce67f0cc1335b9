"""Setting a tool's policy through the API: who may, where it is stored, what runs see."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest

from tests.fakes.mcp_server import build
from tests.fixtures.mcp_api import OpenApi

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _policies(body: dict[str, Any]) -> dict[str, str]:
    return {tool["tool"]: tool["policy"] for tool in body["tools"]}


async def test_an_admin_sets_a_tools_policy_and_runs_see_it(open_api: OpenApi) -> None:
    name = _name("pol")
    async with open_api(targets={name: build()}) as api:
        added = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": name, "command": "in-process", "shared": True},
            headers=api.admin,
        )
        assert added.status_code == 201, added.text
        with anyio.fail_after(20):
            await api.hub.settled()
        changed = await api.client.put(
            f"/api/v1/mcp/servers/{name}/tools/add/policy",
            json={"policy": "deny"},
            headers=api.admin,
        )
        tools = await api.client.get("/api/v1/tools", headers=api.alice)
        stored = await api.hub.store.load_servers()
        await api.client.delete(f"/api/v1/mcp/servers/{name}", headers=api.admin)
    assert changed.status_code == 200, changed.text
    policies = _policies(changed.json())
    assert policies["add"] == "deny"
    assert policies["slow"] != "deny"
    assert changed.json()["health"]["state"] == "ready"  # governance only: no reconnect
    listed = {tool["name"]: tool["policy"] for tool in tools.json()["items"]}
    assert listed[f"{name}__add"] == "deny"
    [row] = [row for row in stored if row["name"] == name]
    assert row["config"]["tools"]["add"]["policy"] == "deny"


async def test_only_admins_and_owners_set_policies_and_config_servers_are_set_in_their_file(
    open_api: OpenApi,
) -> None:
    shared, configured = _name("pol"), _name("conf")
    targets = {shared: build(), configured: build()}
    async with open_api({configured: {"command": "in-process"}}, targets=targets) as api:
        added = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": shared, "command": "in-process", "shared": True},
            headers=api.admin,
        )
        assert added.status_code == 201, added.text
        with anyio.fail_after(20):
            await api.hub.settled()
        before = await api.client.get(f"/api/v1/mcp/servers/{shared}", headers=api.admin)
        path = f"/api/v1/mcp/servers/{shared}/tools/add/policy"
        by_user = await api.client.put(path, json={"policy": "deny"}, headers=api.alice)
        unknown_tool = await api.client.put(
            f"/api/v1/mcp/servers/{shared}/tools/nope/policy",
            json={"policy": "ask"},
            headers=api.admin,
        )
        bad_policy = await api.client.put(path, json={"policy": "maybe"}, headers=api.admin)
        in_file = await api.client.put(
            f"/api/v1/mcp/servers/{configured}/tools/add/policy",
            json={"policy": "deny"},
            headers=api.admin,
        )
        after = await api.client.get(f"/api/v1/mcp/servers/{shared}", headers=api.admin)
        await api.client.delete(f"/api/v1/mcp/servers/{shared}", headers=api.admin)
    assert by_user.status_code == 403, by_user.text
    assert unknown_tool.status_code == 404, unknown_tool.text
    assert bad_policy.status_code == 422, bad_policy.text
    assert in_file.status_code == 409, in_file.text
    assert "mcp.json" in in_file.json()["error"]["message"]
    assert _policies(after.json()) == _policies(before.json())  # nothing changed
    assert _policies(before.json())["add"] == "auto"
