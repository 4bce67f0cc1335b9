"""Admins manage groups; a group's tool rules and model list hold for its members on every path."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import httpx
import pytest
import websockets

from orchestrator.domain import ToolCallContext, ToolPolicy, text_of
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, names
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, spec

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()
    tools.add(spec("files__read", ToolPolicy.AUTO, server="files"))
    tools.add(spec("files__delete", ToolPolicy.ASK, server="files"))
    tools.add(spec("web__fetch", ToolPolicy.AUTO, server="web"))
    return tools


async def _admin(api: Api) -> dict[str, str]:
    response = await api.client.post(
        "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def _error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == type_ and error["message"]
    return error


async def _group(api: Api, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"group-{uuid.uuid4().hex[:8]}")
    response = await api.client.post("/api/v1/groups", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


async def _join(api: Api, admin: dict[str, str], group_id: str, user_id: str) -> None:
    response = await api.client.post(
        f"/api/v1/groups/{group_id}/members", json={"user_id": user_id}, headers=admin
    )
    assert response.status_code == 200, response.text


async def _rule(
    api: Api, admin: dict[str, str], group_id: str, server: str, tool: str, policy: str
) -> None:
    response = await api.client.put(
        f"/api/v1/groups/{group_id}/policies",
        json={"server": server, "tool": tool, "policy": policy},
        headers=admin,
    )
    assert response.status_code == 200, response.text


async def _tool_names(api: Api) -> list[str]:
    response = await api.client.get("/api/v1/tools", headers=api.headers)
    assert response.status_code == 200, response.text
    return sorted(tool["name"] for tool in response.json()["items"])


async def test_an_admin_creates_edits_lists_and_deletes_a_group(api: Api) -> None:
    admin = await _admin(api)
    group = await _group(api, admin, name="Research", description="R&D", models=["gpt-5"])
    assert group["models"] == ["gpt-5"] and group["members"] == [] and group["source"] == "local"
    await _join(api, admin, group["id"], api.user_id)
    await _rule(api, admin, group["id"], "web", "*", "deny")

    url = f"/api/v1/groups/{group['id']}"
    changed = await api.client.patch(url, json={"models": None, "name": "R"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["models"] is None and changed.json()["name"] == "R"
    got = (await api.client.get(url, headers=admin)).json()
    assert got["members"] == [{"id": api.user_id, "email": api.email}]
    assert got["policies"] == [{"server": "web", "tool": "*", "policy": "deny"}]
    listed = (await api.client.get("/api/v1/groups", headers=admin)).json()["items"]
    assert [g["name"] for g in listed if g["id"] == group["id"]] == ["R"]
    users = (await api.client.get("/api/v1/users", headers=admin)).json()["items"]
    mine = next(u for u in users if u["id"] == api.user_id)
    assert mine["groups"] == [{"id": group["id"], "name": "R"}]

    assert (await api.client.delete(url, headers=admin)).status_code == 204
    _error(await api.client.get(url, headers=admin), 404, "not_found")
    _error(await api.client.delete(url, headers=admin), 404, "not_found")
    assert await _tool_names(api) == ["files__delete", "files__read", "web__fetch"]


async def test_bad_group_requests_are_refused_clearly_and_change_nothing(api: Api) -> None:
    admin = await _admin(api)
    group = await _group(api, admin, name=f"dup-{uuid.uuid4().hex[:6]}")
    _error(
        await api.client.post("/api/v1/groups", json={"name": group["name"]}, headers=admin),
        409,
        "conflict",
    )
    for body in ({"name": ""}, {"name": "x", "models": "gpt-5"}, {"name": "x", "extra": 1}):
        _error(
            await api.client.post("/api/v1/groups", json=body, headers=admin), 422, "invalid_input"
        )
    url = f"/api/v1/groups/{group['id']}"
    _error(await api.client.patch(url, json={}, headers=admin), 422, "invalid_input")
    _error(await api.client.get("/api/v1/groups/not-a-uuid", headers=admin), 422, "invalid_input")
    _error(await api.client.get(f"/api/v1/groups/{uuid.uuid4()}", headers=admin), 404, "not_found")
    _error(
        await api.client.put(
            f"{url}/policies", json={"server": "web", "policy": "maybe"}, headers=admin
        ),
        422,
        "invalid_input",
    )
    _error(
        await api.client.post(f"{url}/members", json={"user_id": str(uuid.uuid4())}, headers=admin),
        404,
        "not_found",
    )
    _error(await api.client.delete(f"{url}/members/{api.user_id}", headers=admin), 404, "not_found")
    _error(await api.client.delete(f"{url}/policies/web/*", headers=admin), 404, "not_found")
    _error(await api.client.put(f"{url}/servers/nowhere", headers=admin), 404, "not_found")
    unchanged = (await api.client.get(url, headers=admin)).json()
    assert unchanged == group


async def test_only_admins_manage_groups(api: Api) -> None:
    admin = await _admin(api)
    group = await _group(api, admin)
    url = f"/api/v1/groups/{group['id']}"
    mine = api.headers
    for method, path, body in [
        ("GET", "/api/v1/groups", None),
        ("POST", "/api/v1/groups", {"name": "mine"}),
        ("GET", url, None),
        ("PATCH", url, {"models": None}),
        ("DELETE", url, None),
        ("POST", f"{url}/members", {"user_id": api.user_id}),
        ("PUT", f"{url}/policies", {"server": "web", "policy": "deny"}),
        ("DELETE", f"{url}/policies/web/*", None),
        ("PUT", f"{url}/servers/anything", None),
    ]:
        response = await api.client.request(method, path, json=body, headers=mine)
        _error(response, 403, "forbidden")
        _error(await api.client.request(method, path, json=body), 401, "unauthorized")
    assert (await api.client.get(url, headers=admin)).json() == group


async def test_a_denied_tool_is_not_offered_and_a_call_for_it_is_refused(
    api: Api, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    admin = await _admin(api)
    group = await _group(api, admin)
    await _join(api, admin, group["id"], api.user_id)
    await _rule(api, admin, group["id"], "web", "*", "deny")
    await _rule(api, admin, group["id"], "files", "read", "deny")
    assert await _tool_names(api) == ["files__delete"]

    # The model asks for the denied tool anyway (as a prompt injection might).
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("web__fetch", json.dumps({"x": "https://a.example"}))]),
        Reply(text="I could not fetch it."),
    )
    conversation = await api.new_conversation()
    events = await conversation.stream("fetch it")
    offered = {tool["function"]["name"] for tool in fake_openai.requests[-2].get("tools", [])}
    assert offered == {"files__delete"}
    result = next(e.data for e in events if e.name == "tool.result")
    assert result["is_error"] and "no tool named" in result["content"][0]["text"]
    assert names(events)[-1] == "run.completed"
    assert [call for call in tools.calls if call[0] == "web__fetch"] == []

    other = await api.as_new_user()  # not in the group: everything is there
    assert await _tool_names(other) == ["files__delete", "files__read", "web__fetch"]


async def test_a_tool_denied_after_it_was_offered_is_refused_when_called(
    api: Api, tools: FakeTools
) -> None:
    admin = await _admin(api)
    group = await _group(api, admin)
    await _join(api, admin, group["id"], api.user_id)
    host = api.services.tools.host
    listed = await host.list_tools(api.user_id)
    web = next(s for s in listed if s.name == "web__fetch")
    # The rule lands between the listing (a run's start) and the call: the host checks again.
    await _rule(api, admin, group["id"], "web", "fetch", "deny")

    async def no_input(request: Any) -> Any:
        raise AssertionError("no input expected")

    context = ToolCallContext(api.user_id, "c", "run", "call", lambda *a: None, no_input)
    outcome = await host.call_tool(web, {"x": "u"}, context)
    assert outcome.is_error
    assert "denied to your group" in text_of(outcome.content)
    assert [call for call in tools.calls if call[0] == "web__fetch"] == []


async def test_ask_makes_a_tool_wait_for_approval_even_when_always_allowed(
    api: Api, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    admin = await _admin(api)
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "a"}))]),
        Reply(text="ok"),
    )
    run_id = await (await api.new_conversation()).start("delete a")
    waiting = await api.run_events(
        run_id, stop_after=lambda e: e[-1].name == "tool.approval_required"
    )
    await api.client.post(
        f"/api/v1/tool-calls/{waiting[-1].data['id']}/approve",
        json={"always": True},
        headers=api.headers,
    )
    await api.run_events(run_id)
    group = await _group(api, admin)
    await _join(api, admin, group["id"], api.user_id)
    await _rule(api, admin, group["id"], "files", "*", "ask")

    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__read", json.dumps({"x": "b"}))]),
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "b"}))]),
        Reply(text="done"),
    )
    conversation = await api.new_conversation()
    run_id = await conversation.start("read then delete b")
    first = await api.run_events(
        run_id, stop_after=lambda e: e[-1].name == "tool.approval_required"
    )
    assert first[-1].data["tool"] == "read"  # auto by itself, "ask" by the group
    await api.client.post(f"/api/v1/tool-calls/{first[-1].data['id']}/approve", headers=api.headers)
    second = await api.run_events(
        run_id,
        after=first[-1].id,
        stop_after=lambda e: e[-1].name == "tool.approval_required",
    )
    assert second[-1].data["tool"] == "delete"  # always allowed, still asked
    await api.client.post(f"/api/v1/tool-calls/{second[-1].data['id']}/deny", headers=api.headers)
    rest = await api.run_events(run_id, after=second[-1].id)
    assert names(rest)[-1] == "run.completed"
    assert ("files__delete", {"x": "b"}) not in tools.calls


async def test_a_group_limits_the_models_its_members_may_use(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    admin = await _admin(api)
    group = await _group(api, admin, models=["small-model"])
    await _join(api, admin, group["id"], api.user_id)
    conversation = await api.new_conversation()
    before = await conversation.messages()

    refused = await conversation.send("hello")  # the default model, gpt-5
    error = _error(refused, 403, "forbidden")
    assert "gpt-5" in error["message"] and "small-model" in error["message"]
    _error(await conversation.send("hello", model="other"), 403, "forbidden")
    assert await conversation.messages() == before
    completion = await api.client.post(
        "/v1/chat/completions",
        json={"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]},
        headers=api.headers,
    )
    _error(completion, 403, "forbidden")
    # The lists offer what the group allows instead of the default it does not.
    listed = (await api.client.get("/v1/models", headers=api.headers)).json()["data"]
    assert [m["id"] for m in listed] == ["small-model"]
    models = (await api.client.get("/api/v1/models", headers=api.headers)).json()
    assert [(m["id"], m["default"]) for m in models["items"]] == [("small-model", True)]

    fake_openai.script(Reply(text="small hello"))
    accepted = await conversation.send("hello", model="small-model")
    assert accepted.status_code == 202, accepted.text
    await api.run_events(accepted.json()["run_id"])
    [asked, answer] = await conversation.messages()
    for tail, body in [("regenerate", {"model": "gpt-5"}), ("edit", {"content": "hi again"})]:
        again = await api.client.post(
            f"{conversation.url}/messages/{answer['id'] if tail == 'regenerate' else asked['id']}"
            f"/{tail}",
            json=body,
            headers=api.headers,
        )
        _error(again, 403, "forbidden")
    assert len(await conversation.messages()) == 2

    # A second group that allows any model (null) opens everything: lists are a union.
    wide = await _group(api, admin)
    await _join(api, admin, wide["id"], api.user_id)
    listed = (await api.client.get("/v1/models", headers=api.headers)).json()["data"]
    assert [m["id"] for m in listed] == ["gpt-5", "assistant"]
    fake_openai.script(Reply(text="hi"))
    ok = await api.client.post(
        "/v1/chat/completions",
        json={"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]},
        headers=api.headers,
    )
    assert ok.status_code == 200, ok.text


async def test_a_denied_tool_is_refused_on_the_openai_compatible_api(
    api: Api, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    admin = await _admin(api)
    group = await _group(api, admin)
    await _join(api, admin, group["id"], api.user_id)
    await _rule(api, admin, group["id"], "files", "read", "deny")
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__read", json.dumps({"x": "secret"}))]),
        Reply(text="I cannot read it."),
    )
    response = await api.client.post(
        "/v1/chat/completions",
        json={"model": "gpt-5", "messages": [{"role": "user", "content": "read secret"}]},
        headers=api.headers,
    )
    assert response.status_code == 200, response.text
    offered = {tool["function"]["name"] for tool in fake_openai.requests[-2].get("tools", [])}
    assert "files__read" not in offered and "web__fetch" in offered
    assert [call for call in tools.calls if call[0] == "files__read"] == []


async def test_groups_hold_over_the_websocket_too(
    api: Api, live_url: str, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    admin = await _admin(api)
    group = await _group(api, admin, models=["gpt-5"])
    await _join(api, admin, group["id"], api.user_id)
    await _rule(api, admin, group["id"], "files", "read", "deny")
    conversation = await api.conversation()
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__read", json.dumps({"x": "secret"}))]),
        Reply(text="I may not read it."),
    )
    url = live_url.replace("http", "ws") + "/api/v1/ws"
    async with websockets.connect(url, additional_headers=api.headers) as socket:
        assert json.loads(await socket.recv())["type"] == "ready"
        base = {"type": "send", "conversation_id": conversation, "content": "hi"}
        await socket.send(json.dumps(base | {"ref": "other", "model": "other-model"}))
        with anyio.fail_after(10):
            refused = json.loads(await socket.recv())
        assert refused["ref"] == "other" and refused["error"]["type"] == "forbidden"
        assert "other-model" in refused["error"]["message"]

        await socket.send(json.dumps(base | {"ref": "ok"}))
        events: list[dict[str, Any]] = []
        with anyio.fail_after(20):
            while not events or events[-1].get("event") not in ("run.completed", "error"):
                events.append(json.loads(await socket.recv()))
    result = next(e["data"] for e in events if e.get("event") == "tool.result")
    assert result["is_error"]
    assert events[-1]["event"] == "run.completed"
    assert [call for call in tools.calls if call[0] == "files__read"] == []


async def test_a_group_allowing_no_model_leaves_empty_lists_that_say_why(api: Api) -> None:
    admin = await _admin(api)
    group = await _group(api, admin, models=[])
    await _join(api, admin, group["id"], api.user_id)
    assert (await api.client.get("/v1/models", headers=api.headers)).json()["data"] == []
    models = (await api.client.get("/api/v1/models", headers=api.headers)).json()
    assert models["items"] == [] and "gpt-5" in models["message"]
