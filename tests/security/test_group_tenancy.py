"""Groups and shared objects under attack: a shared server limited to A's group, and B.

B is in no group. The server exists, is shared, and is limited to A's group: to B it must
not exist on any route (listing, tools, its own routes) and its tools must not run for B,
whether B's model asks for them in a run or through `/v1/chat/completions`. A (a member,
not an admin) uses it, less the tool the group denies, and cannot change the group.
"""

from __future__ import annotations

import json

import anyio
import pytest

from tests.api.conftest import collect
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.security.conftest import Caller, Tally, World

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def _limited(world: World) -> str:
    return world.objects["mcp_server"][1]


async def _tools(world: World, caller: Caller) -> set[str]:
    response = await world.client.get("/api/v1/tools", headers=caller.headers)
    assert response.status_code == 200, response.text
    return {tool["name"] for tool in response.json()["items"]}


async def _run_calling(world: World, caller: Caller, fake: FakeOpenAI, tool: str) -> dict:
    """A run of `caller`'s whose model calls `tool` with 1234 + 4321: its `tool.result`."""
    fake.script(
        Reply(tool_calls=[FakeToolCall(tool, json.dumps({"a": 1234, "b": 4321}))]), Reply(text="ok")
    )
    conversation = await world.client.post("/api/v1/conversations", json={}, headers=caller.headers)
    with anyio.fail_after(30):
        status, events = await collect(
            world.client,
            "POST",
            f"/api/v1/conversations/{conversation.json()['id']}/messages",
            headers=caller.headers | {"accept": "text/event-stream"},
            json={"content": "add them"},
        )
    assert status == 200
    assert events[-1].name == "run.completed", events[-1]
    return next(e.data for e in events if e.name == "tool.result")


async def test_a_shared_server_limited_to_a_group_is_invisible_to_others(
    world: World, tally: Tally
) -> None:
    count = tally.attack("group-limited shared server")
    name = _limited(world)
    a, b = world.a, world.b
    assert f"{name}__add" in await _tools(world, a)
    assert f"{name}__delete" not in await _tools(world, a)  # denied to A's group
    assert not any(tool.startswith(f"{name}__") for tool in await _tools(world, b))
    listed = await world.client.get("/api/v1/mcp/servers", headers=b.headers)
    assert listed.status_code == 200 and name not in listed.text
    admin_list = await world.client.get("/api/v1/mcp/servers", headers=world.admin.headers)
    assert name in admin_list.text  # admins manage it
    for method, path in [
        ("GET", f"/api/v1/mcp/servers/{name}"),
        ("GET", f"/api/v1/mcp/servers/{name}/health"),
        ("GET", f"/api/v1/mcp/resources?server={name}"),
        ("GET", f"/api/v1/mcp/prompts?server={name}"),
        ("POST", f"/api/v1/mcp/servers/{name}/reconnect"),
        ("POST", f"/api/v1/mcp/servers/{name}/tools/add/approve"),
        ("DELETE", f"/api/v1/mcp/servers/{name}"),
    ]:
        count.attempts += 1
        response = await world.client.request(method, path, headers=b.headers)
        assert response.status_code == 404, (method, path, response.text)
        count.refusals += 1
    mine = await world.client.get(f"/api/v1/mcp/servers/{name}", headers=a.headers)
    assert mine.status_code == 200, mine.text


async def test_a_non_member_cannot_call_a_limited_servers_tools(
    world: World, openai_fake: FakeOpenAI, tally: Tally
) -> None:
    count = tally.attack("group-limited shared server")
    name = _limited(world)
    result = await _run_calling(world, world.a, openai_fake, f"{name}__add")
    assert not result["is_error"] and "5555" in json.dumps(result["content"])

    count.attempts += 1
    result = await _run_calling(world, world.b, openai_fake, f"{name}__add")
    assert result["is_error"] and "5555" not in json.dumps(result["content"])
    count.refusals += 1

    count.attempts += 1
    result = await _run_calling(world, world.a, openai_fake, f"{name}__delete")
    assert result["is_error"]  # denied to A's group: not offered, not run
    count.refusals += 1

    count.attempts += 1
    openai_fake.script(
        Reply(tool_calls=[FakeToolCall(f"{name}__add", json.dumps({"a": 1234, "b": 4321}))]),
        Reply(text="done"),
    )
    response = await world.client.post(
        "/v1/chat/completions",
        json={"model": "assistant", "messages": [{"role": "user", "content": "add"}]},
        headers=world.b.headers,
    )
    assert response.status_code == 200, response.text
    tool_message = next(m for m in openai_fake.last_request["messages"] if m.get("role") == "tool")
    assert "5555" not in json.dumps(tool_message["content"])
    count.refusals += 1


async def test_a_member_who_is_not_an_admin_cannot_change_their_group(
    world: World, tally: Tally
) -> None:
    count = tally.attack("group administration by non-admins")
    group = world.objects["group"][0]
    before = (await world.client.get(f"/api/v1/groups/{group}", headers=world.admin.headers)).json()
    for caller in (world.a, world.b):
        for method, path, body in [
            ("GET", f"/api/v1/groups/{group}", None),
            ("DELETE", f"/api/v1/groups/{group}/policies/{_limited(world)}/delete", None),
            ("DELETE", f"/api/v1/groups/{group}/servers/{_limited(world)}", None),
            ("POST", f"/api/v1/groups/{group}/members", {"user_id": world.b.user_id}),
            ("PATCH", f"/api/v1/groups/{group}", {"models": None}),
        ]:
            count.attempts += 1
            response = await world.client.request(method, path, json=body, headers=caller.headers)
            assert response.status_code == 403, (method, path, response.text)
            count.refusals += 1
    after = (await world.client.get(f"/api/v1/groups/{group}", headers=world.admin.headers)).json()
    assert after == before
