"""With no OpenAI key or base URL, the app runs on the local model (the real SmolLM2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from orchestrator.domain import ToolCallContext, ToolOutcome, ToolPolicy, ToolSpec
from orchestrator.main import create_app
from orchestrator.settings import AgentSettings, LocalModelSettings
from tests.api.conftest import Api, collect, make_settings, names
from tests.fakes.tools import FakeTools, text

pytestmark = pytest.mark.anyio

SSE = {"accept": "text/event-stream"}


async def _weather(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
    return text(f"Sunny, 21 °C in {arguments['city']}")


@pytest.fixture
async def local_app(
    database_url: str, data_dir: Path, local_model_path: Path
) -> AsyncIterator[FastAPI]:
    tools = FakeTools()
    tools.add(
        ToolSpec(
            name="weather__get_weather",
            server="weather",
            tool="get_weather",
            description="Get the current weather for a city.",
            parameters={
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city name"}},
                "required": ["city"],
            },
            policy=ToolPolicy.AUTO,
        ),
        _weather,
    )
    settings = make_settings(
        database_url,
        data_dir,
        None,
        local_model=LocalModelSettings(context_window=4096),
        agent=AgentSettings(
            system_prompt="You are a helpful assistant. Use the tools when they help."
        ),
    )
    application = create_app(settings, tools=tools)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def local_api(local_app: FastAPI) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=local_app), base_url="http://test", timeout=120
    ) as client:
        yield await Api(client, local_app, {}, "", "").as_new_user()


async def test_the_api_says_the_local_model_is_in_use_and_is_ready(local_api: Api) -> None:
    models = (await local_api.client.get("/api/v1/models", headers=local_api.headers)).json()
    assert models["configured"] is True
    assert models["items"] == [
        {"id": "smollm2-135m-instruct", "provider": "local", "default": True}
    ]
    assert "local model" in models["message"] and "OPENAI_API_KEY" in models["message"]
    ready = await local_api.client.get("/readyz")
    assert ready.json()["checks"]["model"] == "ok"


async def test_a_question_that_needs_a_tool_calls_it_and_the_answer_uses_the_result(
    local_api: Api,
) -> None:
    conversation = await local_api.conversation()
    with anyio.fail_after(110):
        status, events = await collect(
            local_api.client,
            "POST",
            f"/api/v1/conversations/{conversation}/messages",
            headers=local_api.headers | SSE,
            json={"content": "What's the weather in Paris?"},
        )
    assert status == 200
    assert names(events)[-1] == "run.completed", events[-1]
    call = next(event.data for event in events if event.name == "tool.call")
    assert call["tool"] == "get_weather" and call["arguments"] == {"city": "Paris"}
    result = next(event.data for event in events if event.name == "tool.result")
    assert result["is_error"] is False
    answer = "".join(event.data["text"] for event in events if event.name == "message.delta")
    assert "21" in answer
    assert events[0].data["model"] == "smollm2-135m-instruct"
