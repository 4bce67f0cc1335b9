"""The assistant as an MCP server, against the real orchestrator API (served by uvicorn)
with the fake model: every call carries the caller's own credentials."""

from pathlib import Path

import pytest
from mcp import Client
from pydantic import SecretStr

from mcp_servers.assistant import OrchestratorCredentials, build_server
from mcp_servers.settings import AssistantServerSettings
from tests.api.conftest import Api
from tests.mcp_servers.conftest import make_settings

pytestmark = pytest.mark.anyio


def server_for(api: Api, live_url: str, data_dir: Path):
    token = api.headers["authorization"].split(" ", 1)[1]
    settings = make_settings(
        data_dir, assistant=AssistantServerSettings(url=live_url, api_key=SecretStr(token))
    )
    return build_server(settings)


async def test_ask_answers_and_continues_a_conversation(
    api: Api, live_url: str, data_dir: Path
) -> None:
    async with Client(server_for(api, live_url, data_dir)) as client:
        first = await client.call_tool("ask", {"message": "hello there"})
        assert not first.is_error, first.content
        answer = first.structured_content
        assert answer["answer"] == "You said: hello there"
        assert answer["status"] == "completed"
        again = await client.call_tool(
            "ask", {"message": "once more", "conversation_id": answer["conversation_id"]}
        )
        assert again.structured_content["conversation_id"] == answer["conversation_id"]
        listed = await client.call_tool("list_conversations", {})
        assert [c["id"] for c in listed.structured_content["items"]] == [answer["conversation_id"]]
        found = await client.call_tool("search_history", {"query": "once more"})
        matches = found.structured_content["conversations"][0]["matches"]
        assert any("once more" in m["snippet"] for m in matches)


async def test_each_caller_sees_only_their_own_history(
    api: Api, live_url: str, data_dir: Path
) -> None:
    other = await api.as_new_user()
    async with Client(server_for(api, live_url, data_dir)) as client:
        await client.call_tool("ask", {"message": "my secret plan"})
    async with Client(server_for(other, live_url, data_dir)) as client:
        listed = await client.call_tool("list_conversations", {})
        found = await client.call_tool("search_history", {"query": "secret plan"})
    assert listed.structured_content["items"] == []
    assert found.structured_content["conversations"] == []


async def test_orchestrator_credentials_are_checked_by_the_orchestrator(
    api: Api, live_url: str
) -> None:
    credentials = OrchestratorCredentials(live_url)
    token = api.headers["authorization"].split(" ", 1)[1]
    caller = await credentials.verify(token)
    assert caller is not None and caller.user_id == api.user_id
    assert await credentials.verify("sk-asst-not-a-key") is None


async def test_without_credentials_the_tools_say_what_to_configure(
    live_url: str, data_dir: Path
) -> None:
    settings = make_settings(data_dir, assistant=AssistantServerSettings(url=live_url))
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("list_conversations", {})
    assert result.is_error and "ASSISTANT_API_KEY" in result.content[0].text
