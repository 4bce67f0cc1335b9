"""The hub with our own MCP servers (issue 4), over HTTP and stdio: the user token works."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.domain import JsonPart, TextPart, ToolOutcome
from tests.fixtures.processes import free_port, listening
from tests.mcp.conftest import OpenHub, call_context

pytestmark = pytest.mark.anyio

SECRET = "shared-secret-between-hub-and-servers-0123"
ASSISTANT = str(Path(sys.executable).parent / "assistant")


def _dump(outcome: ToolOutcome) -> str:
    return " ".join(
        part.text if isinstance(part, TextPart) else str(part.value)
        for part in outcome.content
        if isinstance(part, TextPart | JsonPart)
    )


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "DATABASE_"))}
    env.update(ASSISTANT_ENV_FILE="", DATA_DIR=str(data_dir), MCP_SERVICE_TOKEN=SECRET)
    return env


@pytest.fixture(scope="module")
def files_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("files-server")
    port = free_port()
    command = [ASSISTANT, "serve", "mcp", "files", "--port", str(port)]
    with listening(command, port, env=_env(data_dir), timeout=60, graceful=True):
        yield f"http://127.0.0.1:{port}/mcp/files"


async def _each_user_sees_their_own_files(open_hub: OpenHub, servers: dict[str, object]) -> None:
    async with open_hub(servers, service_secret=SECRET) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        write, listing = specs["files__write_file"], specs["files__list_files"]
        written = await hub.call_tool(
            write, {"path": "notes.txt", "content": "hello"}, call_context("user-1")
        )
        assert not written.is_error, _dump(written)
        mine = await hub.call_tool(listing, {}, call_context("user-1"))
        theirs = await hub.call_tool(listing, {}, call_context("user-2"))
    assert "notes.txt" in _dump(mine)
    assert "notes.txt" not in _dump(theirs)


async def test_our_http_files_server_knows_the_user_from_the_hubs_token(
    open_hub: OpenHub, files_http: str
) -> None:
    await _each_user_sees_their_own_files(
        open_hub, {"files": {"url": files_http, "assistant": True}}
    )


async def test_our_stdio_files_server_knows_the_user_from_the_hubs_token(
    open_hub: OpenHub, tmp_path: Path
) -> None:
    server = {
        "command": ASSISTANT,
        "args": ["serve", "mcp", "files", "--stdio"],
        "env": {"DATA_DIR": str(tmp_path / "files-data"), "ASSISTANT_ENV_FILE": ""},
        "assistant": True,
    }
    await _each_user_sees_their_own_files(open_hub, {"files": server})
