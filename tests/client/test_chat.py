"""The terminal client's chat: what it prints of tool calls that fail."""

from __future__ import annotations

import json

import anyio
import pytest

from tests.api import conftest as api_fixtures
from tests.api.conftest import Api
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, connection_lost, no_such_city, spec
from tests.security.test_terminal_output import _chat

pytestmark = pytest.mark.anyio

# The app served by uvicorn and a logged-in user: the API tests' own fixtures.
app = api_fixtures.app
live_url = api_fixtures.live_url
api = api_fixtures.api


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()
    tools.add(spec("weather__broken", server="weather"), connection_lost)
    tools.add(spec("weather__refuses", server="weather"), no_such_city)
    return tools


async def test_a_failed_server_is_shown_apart_from_a_tool_s_own_error(
    api: Api, live_url: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("weather__broken", json.dumps({}))]),
        Reply(tool_calls=[FakeToolCall("weather__refuses", json.dumps({}))]),
        Reply(text="Nothing worked."),
    )
    screen, _ = await anyio.to_thread.run_sync(_chat, live_url, api, "weather?")
    lines = [line.strip() for line in screen.splitlines()]
    fault = next(line for line in lines if "connection was lost" in line)
    own = next(line for line in lines if "no such city" in line)
    assert fault.startswith("⚠ server failed: The tool server 'weather' failed")
    assert own == "✗ no such city"
    assert "Nothing worked." in screen
