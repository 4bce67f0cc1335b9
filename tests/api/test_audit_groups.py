"""The audit log of group changes: one record per change that happened, none for a refusal."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import insert

from orchestrator.domain import ToolPolicy
from orchestrator.store.schema import mcp_servers
from tests.api.conftest import ADMIN_EMAIL, Api
from tests.api.test_audit import _admin, _records
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, spec

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()
    tools.add(spec("files__delete", ToolPolicy.ASK, server="files"))
    return tools


async def _shared_server(api: Api) -> str:
    """A shared MCP server row, as one registered through the API leaves it."""
    name = f"shared{uuid.uuid4().hex[:6]}"
    async with api.services.database.engine.begin() as conn:
        await conn.execute(
            insert(mcp_servers).values(
                id=str(uuid.uuid4()), owner_id=None, name=name, config={"url": "http://x/mcp"}
            )
        )
    return name


async def _group_records(api: Api, group_id: str) -> list[tuple[Any, ...]]:
    return [
        (r["action"], r["outcome"], r["actor_email"], r["actor_id"], r["target_type"], r["detail"])
        for r in await _records(api, action="group.")
        if r["target_id"] == group_id
    ]


async def test_each_group_change_leaves_one_record_naming_the_admin_and_what_changed(
    api: Api,
) -> None:
    admin = await _admin(api)
    admin_id = (await api.client.get("/api/v1/auth/me", headers=admin)).json()["id"]
    server = await _shared_server(api)
    name = f"auditors-{uuid.uuid4().hex[:6]}"
    created = await api.client.post(
        "/api/v1/groups", json={"name": name, "models": ["m1", "m1", "m2"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    group = created.json()["id"]
    url = f"/api/v1/groups/{group}"
    steps: list[tuple[str, str, Any]] = [
        ("PATCH", url, {"description": "Reads the log", "models": None}),
        ("POST", f"{url}/members", {"user_id": api.user_id}),
        ("PUT", f"{url}/policies", {"server": "files", "tool": "delete", "policy": "ask"}),
        ("DELETE", f"{url}/policies/files/delete", None),
        ("PUT", f"{url}/servers/{server}", None),
        ("DELETE", f"{url}/servers/{server}", None),
        ("DELETE", f"{url}/members/{api.user_id}", None),
    ]
    for method, path, body in steps:
        response = await api.client.request(method, path, json=body, headers=admin)
        assert response.status_code == 200, (method, path, response.text)

    # Refused changes record nothing: a duplicate name, an empty change, an unknown member,
    # a member who is not in the group, a server that does not exist.
    refused: list[tuple[str, str, Any, int]] = [
        ("POST", "/api/v1/groups", {"name": name}, 409),
        ("PATCH", url, {}, 422),
        ("POST", f"{url}/members", {"user_id": str(uuid.uuid4())}, 404),
        ("DELETE", f"{url}/members/{api.user_id}", None, 404),
        ("PUT", f"{url}/servers/nowhere", None, 404),
        ("PUT", f"{url}/policies", {"server": "files", "policy": "maybe"}, 422),
    ]
    for method, path, body, status in refused:
        response = await api.client.request(method, path, json=body, headers=admin)
        assert response.status_code == status, (method, path, response.text)
    assert (await api.client.delete(url, headers=admin)).status_code == 204
    assert (await api.client.delete(url, headers=admin)).status_code == 404

    who = ("ok", ADMIN_EMAIL, admin_id, "group")
    assert await _group_records(api, group) == [
        ("group.create", *who, {"name": name, "models": ["m1", "m2"]}),
        ("group.update", *who, {"description": "Reads the log", "models": None}),
        ("group.member.add", *who, {"user_id": api.user_id}),
        ("group.policy.set", *who, {"server": "files", "tool": "delete", "policy": "ask"}),
        ("group.policy.remove", *who, {"server": "files", "tool": "delete"}),
        ("group.server.share", *who, {"server": server}),
        ("group.server.unshare", *who, {"server": server}),
        ("group.member.remove", *who, {"user_id": api.user_id}),
        ("group.delete", *who, {}),
    ]


async def test_a_call_a_group_denies_while_it_waits_for_approval_is_recorded_as_policy_denied(
    api: Api, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    admin = await _admin(api)
    created = await api.client.post(
        "/api/v1/groups", json={"name": f"g-{uuid.uuid4().hex[:6]}"}, headers=admin
    )
    group = created.json()["id"]
    joined = await api.client.post(
        f"/api/v1/groups/{group}/members", json={"user_id": api.user_id}, headers=admin
    )
    assert joined.status_code == 200
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "a.txt"}))]),
        Reply(text="It was refused."),
    )
    conversation = await api.new_conversation()
    run_id = await conversation.start("delete a.txt")
    events = await api.run_events(
        run_id, stop_after=lambda events: events[-1].name == "tool.approval_required"
    )
    # The admin denies the tool to the group while the user is still deciding.
    rule = {"server": "files", "tool": "delete", "policy": "deny"}
    denied = await api.client.put(f"/api/v1/groups/{group}/policies", json=rule, headers=admin)
    assert denied.status_code == 200
    call_id = events[-1].data["id"]
    approved = await api.client.post(f"/api/v1/tool-calls/{call_id}/approve", headers=api.headers)
    assert approved.status_code == 200
    events = await api.run_events(run_id)
    result = next(e.data for e in events if e.name == "tool.result")
    assert result["is_error"] and "denied to your group" in result["content"][0]["text"]
    assert tools.calls == []

    [record] = await _records(api, user=api.user_id, action="tool.call")
    assert (record["outcome"], record["detail"]["decision"]) == ("refused", "policy-denied")
    assert record["target_id"] == "files/delete"
