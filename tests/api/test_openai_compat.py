"""`/v1/chat/completions` through the official OpenAI SDK, with MCP tools run server-side."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2
import openai
import pytest

from tests.fakes.mcp_server import build
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fixtures.mcp_api import Api, OpenApi

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def _sdk(api: Api, headers: dict[str, str]) -> openai.AsyncOpenAI:
    transport = httpx2.ASGITransport(app=api.app)
    return openai.AsyncOpenAI(
        api_key=headers["Authorization"].removeprefix("Bearer "),
        base_url="http://test/v1",
        http_client=httpx2.AsyncClient(transport=transport, base_url="http://test"),
        max_retries=0,
    )


def _tool_messages(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def test_an_openai_client_gets_mcp_tools_run_on_the_server(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    demo = f"demo{uuid.uuid4().hex[:6]}"
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall(f"{demo}__add", json.dumps({"a": 2, "b": 3}))]),
        Reply(text="It is 5."),
    )
    async with open_api({demo: {"command": "in-process"}}, targets={demo: build()}) as api:
        answer = await _sdk(api, api.alice).chat.completions.create(
            model="assistant", messages=[{"role": "user", "content": "What is 2 + 3?"}]
        )
    assert answer.choices[0].message.content == "It is 5."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    first, second = fake_openai.requests
    assert f"{demo}__add" in {tool["function"]["name"] for tool in first["tools"]}
    assert _tool_messages(second) == ['{"result": 5}']
    assert first["messages"][0]["role"] == "system"
    assert "Use demo__add for arithmetic." in first["messages"][0]["content"]


async def test_streaming_answers_arrive_as_chunks_with_usage(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="one two three", prompt_tokens=7, completion_tokens=3))
    async with open_api() as api:
        stream = await _sdk(api, api.alice).chat.completions.create(
            model="assistant",
            messages=[{"role": "user", "content": "Count."}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 7


async def test_tools_that_need_approval_are_refused_with_a_reason(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    demo = f"demo{uuid.uuid4().hex[:6]}"
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall(f"{demo}__delete", json.dumps({"path": "/etc"}))]),
        Reply(text="I could not delete it."),
    )
    async with open_api({demo: {"command": "in-process"}}, targets={demo: build()}) as api:
        answer = await _sdk(api, api.alice).chat.completions.create(
            model="assistant", messages=[{"role": "user", "content": "Delete /etc"}]
        )
    assert answer.choices[0].message.content == "I could not delete it."
    [result] = _tool_messages(fake_openai.requests[1])
    assert "needs the user's approval" in result and "/v1/chat/completions" in result


async def test_models_are_listed_for_openai_clients(open_api: OpenApi) -> None:
    async with open_api() as api:
        models = await _sdk(api, api.alice).models.list()
    assert [model.id for model in models.data] == ["gpt-5", "assistant"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "m", "messages": []}, 422),
        ({"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}, 422),
        ({"model": "m", "messages": [{"role": "assistant", "content": "hi"}]}, 422),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, 422),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "function", "function": {"name": "f"}}],
            },
            422,
        ),
    ],
)
async def test_bad_completion_requests_get_the_error_shape(
    open_api: OpenApi, body: dict[str, Any], status: int
) -> None:
    async with open_api() as api:
        response = await api.client.post("/v1/chat/completions", json=body, headers=api.alice)
        anonymous = await api.client.post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) >= {"type", "message"}
    assert anonymous.status_code == 401
