"""The OpenAI adapter against the fake server, through the real SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from orchestrator.domain import (
    ImagePart,
    Message,
    ModelError,
    ModelFinished,
    ModelRequest,
    Role,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallRequested,
    Usage,
    UsageReported,
    host_fault_outcome,
)
from orchestrator.llm import OpenAIChatModel, create_client
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import spec

pytestmark = pytest.mark.anyio


@pytest.fixture
async def model(fake_openai: FakeOpenAI) -> AsyncIterator[OpenAIChatModel]:
    client = create_client(api_key="sk-test", base_url=fake_openai.url, timeout=10)  # type: ignore[attr-defined]
    try:
        yield OpenAIChatModel(client, max_retries=2, official=False, max_output_tokens=123)
    finally:
        await client.close()


def _user(text: str) -> Message:
    return Message(id="u", role=Role.USER, content=[TextPart(text=text)])


async def _events(model: OpenAIChatModel, request: ModelRequest) -> list[object]:
    return [event async for event in model.stream(request)]


async def test_text_streams_as_deltas_then_finish_and_usage(
    model: OpenAIChatModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(chunks=["Hel", "lo"], prompt_tokens=7, completion_tokens=2))
    events = await _events(
        model, ModelRequest(model="gpt-5", messages=[_user("hi")], max_output_tokens=50)
    )
    assert events == [
        TextDelta("Hel"),
        TextDelta("lo"),
        ModelFinished("stop"),
        UsageReported(Usage(input_tokens=7, output_tokens=2)),
    ]
    sent = fake_openai.last_request
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["max_tokens"] == 50 and "max_completion_tokens" not in sent


async def test_tool_calls_are_assembled_from_their_fragments(
    model: OpenAIChatModel, fake_openai: FakeOpenAI
) -> None:
    arguments = json.dumps({"city": "Paris", "days": 3, "units": "metric"})
    fake_openai.script(
        Reply(
            tool_calls=[
                FakeToolCall("weather__forecast", arguments, id="call_a"),
                FakeToolCall("clock__now", "{}", id="call_b"),
            ]
        )
    )
    request = ModelRequest(
        model="gpt-5", messages=[_user("hi")], tools=[spec("weather__forecast"), spec("clock__now")]
    )
    events = await _events(model, request)
    calls = [e for e in events if isinstance(e, ToolCallRequested)]
    assert calls == [
        ToolCallRequested("call_a", "weather__forecast", arguments),
        ToolCallRequested("call_b", "clock__now", "{}"),
    ]
    assert ModelFinished("tool_calls") in events
    sent = fake_openai.last_request
    assert sent["tool_choice"] == "auto"
    assert sent["tools"][0] == {
        "type": "function",
        "function": {
            "name": "weather__forecast",
            "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
            "description": "The weather__forecast tool.",
        },
    }


async def test_history_with_tool_calls_and_images_is_encoded_for_chat_completions(
    model: OpenAIChatModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="ok"))
    call = ToolCall(id="call_1", name="camera__snap", arguments="{}")
    history = [
        Message(id="s", role=Role.SYSTEM, content=[TextPart(text="sys")]),
        _user("take a picture"),
        Message(id="a", role=Role.ASSISTANT, content=[], tool_calls=[call]),
        Message(
            id="t",
            role=Role.TOOL,
            tool_call_id="call_1",
            name="camera__snap",
            content=[TextPart(text="snapped"), ImagePart(mime_type="image/png", data="iVBOR")],
        ),
    ]
    await _events(model, ModelRequest(model="gpt-5", messages=history))
    sent = fake_openai.last_request["messages"]
    assert sent[0] == {"role": "system", "content": "sys"}
    assert sent[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "camera__snap", "arguments": "{}"},
            }
        ],
    }
    assert sent[3]["role"] == "tool" and sent[3]["tool_call_id"] == "call_1"
    assert sent[3]["content"].startswith("snapped")
    assert sent[4]["role"] == "user"
    assert sent[4]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBOR"},
    }


async def test_a_tool_s_own_error_and_a_host_fault_reach_the_model_told_apart(
    model: OpenAIChatModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="ok"))
    calls = [ToolCall(id=f"call_{n}", name="weather__now", arguments="{}") for n in (1, 2)]
    fault = host_fault_outcome("weather__now", "weather", "the connection was lost")
    history = [
        _user("weather?"),
        Message(id="a", role=Role.ASSISTANT, tool_calls=calls),
        Message(
            id="t1",
            role=Role.TOOL,
            tool_call_id="call_1",
            name="weather__now",
            content=[TextPart(text="no such city")],
            is_error=True,
        ),
        Message(
            id="t2",
            role=Role.TOOL,
            tool_call_id="call_2",
            name="weather__now",
            content=fault.content,
            is_error=True,
            fault="host",
        ),
    ]
    await _events(model, ModelRequest(model="gpt-5", messages=history))
    own, host = fake_openai.last_request["messages"][2:4]
    assert own["content"] == "Error: no such city"
    assert host["content"] == fault.content[0].text  # type: ignore[union-attr]
    assert host["content"].startswith("The tool server 'weather' failed")


async def test_official_openai_gets_max_completion_tokens(fake_openai: FakeOpenAI) -> None:
    client = create_client(api_key="sk-test", base_url=fake_openai.url, timeout=10)  # type: ignore[attr-defined]
    model = OpenAIChatModel(client, official=True)
    fake_openai.script(Reply(text="ok"))
    await _events(model, ModelRequest(model="gpt-5", messages=[_user("hi")], max_output_tokens=99))
    await client.close()
    assert (
        fake_openai.last_request["max_completion_tokens"] == 99
        and "max_tokens" not in fake_openai.last_request
    )


async def test_retries_give_up_after_the_budget_with_a_clear_error(
    model: OpenAIChatModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(*[Reply(status=500, retry_after=0.01) for _ in range(5)])
    with pytest.raises(ModelError, match="500"):
        await _events(model, ModelRequest(model="gpt-5", messages=[_user("hi")]))
    assert len(fake_openai.requests) == 3


async def test_a_bad_request_is_not_retried_and_its_message_is_kept(
    model: OpenAIChatModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(status=400, error_message="This model's maximum context length is 8192 tokens.")
    )
    with pytest.raises(ModelError, match="maximum context length"):
        await _events(model, ModelRequest(model="gpt-5", messages=[_user("hi")]))
    assert len(fake_openai.requests) == 1


async def test_an_unreachable_server_is_named_in_the_error() -> None:
    client = create_client(api_key="x", base_url="http://127.0.0.1:9/v1", timeout=2)
    model = OpenAIChatModel(client, max_retries=1)
    with pytest.raises(ModelError, match=r"Cannot reach the model API at http://127\.0\.0\.1:9/v1"):
        await _events(model, ModelRequest(model="gpt-5", messages=[_user("hi")]))
    await client.close()
