"""What a client sees of tool calls beyond their results: a server's fault told apart from a
tool's own error, and questions tied to their call and closed when answered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrator.domain import (
    ElicitationRequest,
    ToolCallContext,
    ToolOutcome,
)
from tests.api.conftest import Api, Conversation
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, connection_lost, no_such_city, spec, text

pytestmark = pytest.mark.anyio


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()

    async def asks(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
        answer = await context.elicit(
            ElicitationRequest(
                message="Which city?",
                requested_schema={"type": "object", "properties": {"city": {"type": "string"}}},
            )
        )
        return text(f"{answer.action}: {(answer.content or {}).get('city')}")

    tools.add(spec("weather__broken"), connection_lost)
    tools.add(spec("weather__refuses"), no_such_city)
    tools.add(spec("weather__asks"), asks)
    return tools


async def _start(api: Api, fake_openai: FakeOpenAI, *calls: str) -> tuple[Conversation, str]:
    """Ask for `calls` in a new conversation; it and the run's id."""
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall(name, json.dumps({})) for name in calls]),
        Reply(text="Done."),
    )
    conversation = await api.new_conversation()
    return conversation, await conversation.start("go")


async def _run(api: Api, fake_openai: FakeOpenAI, *calls: str) -> str:
    return (await _start(api, fake_openai, *calls))[1]


async def test_a_server_that_fails_is_marked_as_a_host_fault_and_a_tool_error_is_not(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    run_id = await _run(api, fake_openai, "weather__broken", "weather__refuses")
    events = await api.run_events(run_id)
    calls = {e.data["id"]: e.data["tool"] for e in events if e.name == "tool.call"}
    results = {calls[e.data["id"]]: e.data for e in events if e.name == "tool.result"}
    assert results["broken"]["is_error"] is True and results["broken"]["fault"] == "host"
    assert "the connection was lost" in results["broken"]["content"][0]["text"]
    assert results["refuses"]["is_error"] is True and "fault" not in results["refuses"]


async def test_a_stored_tool_message_keeps_the_host_fault_and_a_tool_error_has_none(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation, run_id = await _start(api, fake_openai, "weather__broken", "weather__refuses")
    await api.run_events(run_id)
    messages = await conversation.messages()
    names = {c["id"]: c["name"] for m in messages for c in m["tool_calls"]}
    stored = {names[m["tool_call_id"]]: m for m in messages if m["role"] == "tool"}
    broken, refuses = stored["weather__broken"], stored["weather__refuses"]
    assert broken["is_error"] is True and broken["fault"] == "host"
    assert "not the tool's own result" in broken["content"][0]["text"]
    assert refuses["is_error"] is True and refuses["fault"] is None
    assert refuses["content"][0]["text"] == "no such city"
    # What the model read next: the host's report, and the tool's own error as an error.
    sent = {m["tool_call_id"]: m["content"] for m in fake_openai.last_request["messages"][-2:]}
    assert sent[broken["tool_call_id"]].startswith("The tool server 'test' failed")
    assert sent[refuses["tool_call_id"]] == "Error: no such city"
    markdown = await api.client.get(
        f"{conversation.url}/export?format=markdown", headers=api.headers
    )
    assert "**Tool server failed** (weather__broken)" in markdown.text
    assert "**Tool result** (weather__refuses)" in markdown.text


async def test_the_openapi_document_describes_a_message_s_fault(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    schema = document["components"]["schemas"]["MessageOut"]
    fault = schema["properties"]["fault"]
    assert {"const": "host", "type": "string"} in fault["anyOf"] and "host" in fault["description"]


async def test_a_question_names_its_call_and_its_answer_is_an_event_every_tab_sees(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    run_id = await _run(api, fake_openai, "weather__asks")
    first = await api.run_events(
        run_id, stop_after=lambda events: events[-1].name == "input.required"
    )
    call_id = next(e.data["id"] for e in first if e.name == "tool.call")
    question = first[-1].data
    assert question["call_id"] == call_id and question["message"] == "Which city?"
    answered = await api.client.post(
        f"/api/v1/runs/{run_id}/input",
        json={"id": question["id"], "action": "accept", "content": {"city": "Oslo"}},
        headers=api.headers,
    )
    assert answered.status_code == 204
    rest = await api.run_events(run_id, after=first[-1].id)
    assert rest[0].name == "input.answered"
    assert rest[0].data == {"id": question["id"], "action": "accept"}
    result = next(e.data for e in rest if e.name == "tool.result")
    assert result["content"][0]["text"] == "accept: Oslo"
