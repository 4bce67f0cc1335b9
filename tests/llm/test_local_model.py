"""The local model with the real SmolLM2-135M on llama.cpp: streaming, tool calls, cancel."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from orchestrator.domain import (
    Message,
    ModelEvent,
    ModelFinished,
    ModelRequest,
    Role,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallRequested,
    ToolSpec,
    UsageReported,
)
from orchestrator.llm.local_model import LocalChatModel

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    name="get_weather",
    server="weather",
    tool="get_weather",
    description="Get the current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city name"}},
        "required": ["city"],
    },
)
SYSTEM = Message(
    id="system",
    role=Role.SYSTEM,
    content=[TextPart(text="You are a helpful assistant. Use the tools when they help.")],
)


def user(text: str) -> Message:
    return Message(id="u1", role=Role.USER, content=[TextPart(text=text)])


@pytest.fixture
async def model(local_llama: object, local_model_path: Path) -> AsyncIterator[LocalChatModel]:
    served = LocalChatModel(local_llama, name="smollm2-135m-instruct", path=local_model_path)
    try:
        yield served
    finally:
        await served.aclose()


async def events_of(model: LocalChatModel, request: ModelRequest) -> list[ModelEvent]:
    with anyio.fail_after(90):
        return [event async for event in model.stream(request)]


async def test_an_answer_streams_in_pieces_and_ends_with_usage(model: LocalChatModel) -> None:
    events = await events_of(
        model,
        ModelRequest(model="local", messages=[SYSTEM, user("What is the capital of France?")]),
    )
    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert len(deltas) > 2
    assert "paris" in "".join(deltas).lower()
    usage = next(event.usage for event in events if isinstance(event, UsageReported))
    assert usage.input_tokens > 5 and usage.output_tokens >= len(deltas)
    assert events[-1] == ModelFinished("stop")


async def test_a_tool_with_a_clear_description_is_called_with_valid_json(
    model: LocalChatModel,
) -> None:
    events = await events_of(
        model,
        ModelRequest(
            model="local", messages=[SYSTEM, user("What's the weather in Paris?")], tools=[WEATHER]
        ),
    )
    calls = [event for event in events if isinstance(event, ToolCallRequested)]
    assert [call.name for call in calls] == ["get_weather"]
    assert json.loads(calls[0].arguments) == {"city": "Paris"}
    assert events[-1] == ModelFinished("tool_calls")
    assert not [event for event in events if isinstance(event, TextDelta)]


async def test_with_tools_offered_a_greeting_is_answered_not_turned_into_a_call(
    model: LocalChatModel,
) -> None:
    events = await events_of(
        model,
        ModelRequest(model="local", messages=[SYSTEM, user("Hi! Who are you?")], tools=[WEATHER]),
    )
    assert not [event for event in events if isinstance(event, ToolCallRequested)]
    assert "".join(event.text for event in events if isinstance(event, TextDelta)).strip()


async def test_after_the_tool_answers_the_model_uses_its_result(model: LocalChatModel) -> None:
    call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
    messages = [
        SYSTEM,
        user("What's the weather in Paris?"),
        Message(id="a1", role=Role.ASSISTANT, tool_calls=[call]),
        Message(
            id="t1",
            role=Role.TOOL,
            tool_call_id="call_1",
            name="get_weather",
            content=[TextPart(text="Sunny, 21 °C, light wind")],
        ),
    ]
    events = await events_of(model, ModelRequest(model="local", messages=messages, tools=[WEATHER]))
    assert not [event for event in events if isinstance(event, ToolCallRequested)]
    text = "".join(event.text for event in events if isinstance(event, TextDelta))
    assert "21" in text


async def test_cancelling_a_stream_stops_generation_within_a_second(
    model: LocalChatModel,
) -> None:
    started = asyncio.Event()
    received: list[str] = []

    async def consume() -> None:
        request = ModelRequest(
            model="local",
            messages=[SYSTEM, user("Write a very long story about a dragon and a knight.")],
            max_output_tokens=400,
        )
        async for event in model.stream(request):
            if isinstance(event, TextDelta):
                received.append(event.text)
                started.set()

    task = asyncio.create_task(consume())
    with anyio.fail_after(60):
        await started.wait()
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with anyio.fail_after(1):
        await model.drained()
    assert time.monotonic() - cancelled_at < 1.0
    assert len(received) < 400


async def test_concurrent_streams_take_turns_first_come_first_served_and_the_loop_stays_free(
    model: LocalChatModel,
) -> None:
    order: list[str] = []
    ticks = 0
    ticks_while_generating: list[int] = []

    async def run(name: str) -> None:
        request = ModelRequest(
            model="local", messages=[SYSTEM, user(f"Say hello to {name}.")], max_output_tokens=8
        )
        async for event in model.stream(request):
            if isinstance(event, TextDelta):
                ticks_while_generating.append(ticks)
            if isinstance(event, ModelFinished):
                order.append(name)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)  # yields to the loop; counts how often the loop runs us

    ticking = asyncio.create_task(ticker())
    try:
        with anyio.fail_after(120):
            async with asyncio.TaskGroup() as group:
                for name in ("Ann", "Bob", "Cy"):
                    group.create_task(run(name))
                    await asyncio.sleep(0)  # let it queue before the next one
    finally:
        ticking.cancel()
    assert order == ["Ann", "Bob", "Cy"]
    # The loop kept running other work between the tokens of the generations.
    assert ticks_while_generating[-1] - ticks_while_generating[0] > len(ticks_while_generating)


def _bounded_tool(number: int) -> ToolSpec:
    """A tool like our servers' own: long length bounds, a `\\w` pattern, integers."""
    return ToolSpec(
        name=f"workspace__tool_{number}",
        server="workspace",
        tool=f"tool_{number}",
        description=f"Workspace operation number {number}.",
        parameters={
            "type": "object",
            "properties": {
                "path": {"type": "string", "maxLength": 1024, "minLength": 1},
                "collection": {"type": "string", "pattern": r"^[\w .-]+$", "maxLength": 200},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
                "limit": {"type": "integer"},
            },
            "required": ["path"],
        },
    )


async def test_tools_with_long_bounds_and_patterns_do_not_break_the_grammar(
    model: LocalChatModel,
) -> None:
    # Such schemas once made a grammar llama.cpp cannot parse, which crashed the process
    # at the first question with our own MCP servers' tools offered.
    tools = [WEATHER, *(_bounded_tool(number) for number in range(16))]
    events = await events_of(
        model,
        ModelRequest(
            model="local", messages=[SYSTEM, user("What's the weather in Paris?")], tools=tools
        ),
    )
    calls = [event for event in events if isinstance(event, ToolCallRequested)]
    assert [call.name for call in calls] == ["get_weather"]
    assert json.loads(calls[0].arguments) == {"city": "Paris"}
