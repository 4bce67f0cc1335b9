from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client, MCPError

from mcp_servers.files import build_server
from mcp_servers.settings import ServersSettings

pytestmark = pytest.mark.anyio


async def test_a_user_writes_lists_reads_moves_searches_and_deletes(
    settings: ServersSettings, user_meta: Callable[[str, str], dict[str, Any]]
) -> None:
    meta = user_meta("files", "alice")
    async with Client(build_server(settings)) as client:

        async def call(tool: str, **arguments: Any) -> Any:
            result = await client.call_tool(tool, arguments, meta=meta)
            assert not result.is_error, result.content
            return result.structured_content

        assert (await call("write_file", path="notes/todo.md", content="buy milk\n"))["size"] == 9
        await call("write_file", path="notes/todo.md", content="call mum\n", append=True)
        listing = await call("list_files", recursive=True)
        assert [e["path"] for e in listing["entries"]] == ["notes", "notes/todo.md"]
        read = await call("read_file", path="notes/todo.md")
        assert read["content"] == "buy milk\ncall mum\n"
        await call("move_file", source="notes/todo.md", destination="archive/todo.md")
        found = await call("search_files", query="MUM")
        assert found["matches"] == [{"path": "archive/todo.md", "line": 2, "text": "call mum"}]
        await call("write_file", path="bin.dat", content="AAEC", encoding="base64")
        assert (await call("read_file", path="bin.dat"))["encoding"] == "base64"
        await call("delete_file", path="archive", recursive=True)
        assert [e["path"] for e in (await call("list_files"))["entries"]] == ["bin.dat", "notes"]


async def test_one_user_never_sees_another_users_files(
    settings: ServersSettings, user_meta: Callable[[str, str], dict[str, Any]]
) -> None:
    async with Client(build_server(settings)) as client:
        await client.call_tool(
            "write_file",
            {"path": "secret.txt", "content": "alice's"},
            meta=user_meta("files", "alice"),
        )
        bob = user_meta("files", "bob")
        listing = await client.call_tool("list_files", {}, meta=bob)
        assert listing.structured_content == {"path": ".", "entries": []}
        read = await client.call_tool("read_file", {"path": "secret.txt"}, meta=bob)
        assert read.is_error
        escape = await client.call_tool("read_file", {"path": "../alice/secret.txt"}, meta=bob)
        assert escape.is_error and "'..' is not allowed" in escape.content[0].text


async def test_a_refused_path_is_a_tool_error_the_model_can_read(
    settings: ServersSettings, user_meta: Callable[[str, str], dict[str, Any]]
) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(
            "read_file", {"path": "/etc/passwd"}, meta=user_meta("files", "alice")
        )
    assert result.is_error
    assert "absolute paths are not allowed" in result.content[0].text


async def test_without_a_user_token_a_call_is_a_protocol_error(settings: ServersSettings) -> None:
    async with Client(build_server(settings)) as client:
        with pytest.raises(MCPError, match="acts for a user"):
            await client.call_tool("list_files", {})


async def test_a_token_for_another_server_is_refused(
    settings: ServersSettings, user_meta: Callable[[str, str], dict[str, Any]]
) -> None:
    async with Client(build_server(settings)) as client:
        with pytest.raises(MCPError, match="Audience"):
            await client.call_tool("list_files", {}, meta=user_meta("knowledge", "alice"))
