"""Runs that use MCP tools, through the API: progress, approval, elicitation, cancellation."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from tests.api.conftest import Event, collect, names
from tests.fakes.mcp_server import INSTRUCTIONS, ServerState, build
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fixtures.mcp_api import Api, OpenApi
from tests.fixtures.serving import live_client

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def _start(client: httpx.AsyncClient, api: Api, text: str) -> str:
    conversation = await client.post("/api/v1/conversations", json={}, headers=api.alice)
    started = await client.post(
        f"/api/v1/conversations/{conversation.json()['id']}/messages",
        json={"content": text},
        headers=api.alice,
    )
    assert started.status_code == 202, started.text
    return started.json()["run_id"]


async def _events(
    client: httpx.AsyncClient, api: Api, run_id: str, stop: Callable[[list[Event]], bool]
) -> list[Event]:
    _, events = await collect(
        client, "GET", f"/api/v1/runs/{run_id}/events", headers=api.alice, stop_after=stop
    )
    return events


def _first(events: list[Event], name: str) -> Event:
    return next(event for event in events if event.name == name)


async def test_a_run_calls_an_mcp_tool_and_streams_its_progress(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    demo = f"demo{uuid.uuid4().hex[:6]}"
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall(f"{demo}__add", json.dumps({"a": 20, "b": 22}))]),
        Reply(text="It is 42."),
    )
    servers = {demo: {"command": "in-process", "tools": {"slow": {"policy": "auto"}}}}
    async with open_api(servers, targets={demo: build()}) as api, live_client(api.app) as client:
        run_id = await _start(client, api, "What is 20 + 22?")
        with anyio.fail_after(20):
            events = await _events(client, api, run_id, lambda e: e[-1].name == "run.completed")
    call = _first(events, "tool.call").data
    assert (call["server"], call["tool"], call["arguments"]) == (demo, "add", {"a": 20, "b": 22})
    result = _first(events, "tool.result").data
    assert result["content"] == [{"type": "json", "value": {"result": 42}}]
    assert _first(events, "run.completed").data["status"] == "completed"
    system = fake_openai.requests[0]["messages"][0]
    assert system["role"] == "system" and INSTRUCTIONS in system["content"]


async def test_progress_approval_and_a_question_from_the_server_reach_the_user(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    demo = f"demo{uuid.uuid4().hex[:6]}"
    fake_openai.script(
        Reply(
            tool_calls=[
                FakeToolCall(f"{demo}__slow", json.dumps({"steps": 3, "delay": 0.01})),
            ]
        ),
        Reply(tool_calls=[FakeToolCall(f"{demo}__remove", json.dumps({"path": "/tmp/x"}))]),
        Reply(text="Done."),
    )
    servers = {demo: {"command": "in-process", "tools": {"slow": {"policy": "auto"}}}}
    async with open_api(servers, targets={demo: build()}) as api, live_client(api.app) as client:
        run_id = await _start(client, api, "Count, then remove /tmp/x")
        with anyio.fail_after(20):
            events = await _events(
                client, api, run_id, lambda e: e[-1].name == "tool.approval_required"
            )
            approval = events[-1].data
            assert approval["tool"] == "remove"
            approved = await client.post(
                f"/api/v1/tool-calls/{approval['id']}/approve", headers=api.alice
            )
            assert approved.status_code == 200, approved.text
            events = await _events(client, api, run_id, lambda e: e[-1].name == "input.required")
            question = events[-1].data
            assert question["mode"] == "form" and question["message"] == "Delete /tmp/x?"
            assert "ok" in question["schema"]["properties"]
            answered = await client.post(
                f"/api/v1/runs/{run_id}/input",
                json={"id": question["id"], "action": "accept", "content": {"ok": True}},
                headers=api.alice,
            )
            assert answered.status_code == 204, answered.text
            events = await _events(client, api, run_id, lambda e: e[-1].name == "run.completed")
    progress = [event.data for event in events if event.name == "tool.progress"]
    assert [p["progress"] for p in progress] == [1, 2, 3] and progress[0]["total"] == 3
    results = [event.data for event in events if event.name == "tool.result"]
    assert results[-1]["content"][0]["text"] == "removed /tmp/x"
    assert names(events)[-1] == "run.completed"


async def test_cancelling_a_run_cancels_the_tool_call_on_the_server(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    demo = f"demo{uuid.uuid4().hex[:6]}"
    state = ServerState()
    fake_openai.script(Reply(tool_calls=[FakeToolCall(f"{demo}__hang", "{}")]))
    servers: dict[str, Any] = {demo: {"command": "in-process", "policy": "auto"}}
    async with (
        open_api(servers, targets={demo: build(state)}) as api,
        live_client(api.app) as client,
    ):
        run_id = await _start(client, api, "Hang")
        with anyio.fail_after(20):
            await state.hanging.wait()
            cancelled = await client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.alice)
            await state.cancelled.wait()
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_a_message_starts_from_a_prompt_and_attaches_a_resource(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    demo = f"demo{uuid.uuid4().hex[:6]}"
    fake_openai.script(Reply(text="Looks fine."))
    body = {
        "prompt": {"server": demo, "name": "review", "arguments": {"code": "x = 1"}},
        "resources": [{"server": demo, "uri": "config://app"}],
    }
    servers = {demo: {"command": "in-process"}}
    async with open_api(servers, targets={demo: build()}) as api, live_client(api.app) as client:
        conversation = (
            await client.post("/api/v1/conversations", json={}, headers=api.alice)
        ).json()["id"]
        started = await client.post(
            f"/api/v1/conversations/{conversation}/messages", json=body, headers=api.alice
        )
        assert started.status_code == 202, started.text
        with anyio.fail_after(20):
            await _events(
                client, api, started.json()["run_id"], lambda e: e[-1].name == "run.completed"
            )
        detail = await client.get(f"/api/v1/conversations/{conversation}", headers=api.alice)
        unknown = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            json={"content": "hi", "resources": [{"server": "nope", "uri": "x://y"}]},
            headers=api.alice,
        )
    user = detail.json()["messages"][0]
    assert user["content"][0] == {
        "type": "text",
        "text": "Please review this python code:\nx = 1",
    }
    assert user["content"][1]["type"] == "resource"
    assert user["content"][1]["text"] == '{"theme": "dark"}'
    sent = fake_openai.requests[0]["messages"][-1]["content"]
    assert "Please review this python code" in json.dumps(sent) and "theme" in json.dumps(sent)
    assert unknown.status_code == 404
