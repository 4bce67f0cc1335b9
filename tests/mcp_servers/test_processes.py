"""Each server as a real subprocess: over stdio (`assistant serve mcp NAME --stdio`) and
over HTTP (`assistant serve mcp`), listed by /discover and called with user tokens."""

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from mcp_servers.identity import USER_TOKEN_META_KEY, sign_user_token
from tests.fixtures.waiting import until
from tests.mcp_servers.conftest import ASSISTANT_BIN, REPO, free_port, server_env

pytestmark = pytest.mark.anyio

EXPECTED_TOOLS = {
    "knowledge": {
        "search_knowledge",
        "add_document",
        "list_documents",
        "delete_document",
        "list_collections",
        "create_collection",
        "remember",
        "recall",
        "forget",
    },
    "web": {"fetch"},
    "files": {
        "list_files",
        "read_file",
        "write_file",
        "make_directory",
        "move_file",
        "delete_file",
        "search_files",
    },
    "assistant": {"ask", "list_conversations", "search_history"},
}


def _secret(data_dir: Path) -> str:
    from common.settings import SharedSettings
    from mcp_servers.settings import ServersSettings

    return ServersSettings(SharedSettings(data_dir=data_dir)).service_token()


@pytest.mark.parametrize("name", ["files", "web", "knowledge", "assistant"])
async def test_each_server_runs_over_stdio(
    name: str, data_dir: Path, knowledge_url: str, tmp_path: Path
) -> None:
    secret = _secret(data_dir)
    params = StdioServerParameters(
        command=ASSISTANT_BIN,
        args=["serve", "mcp", name, "--stdio"],
        env=server_env(data_dir, KNOWLEDGE_DATABASE_URL=knowledge_url),
        cwd=str(REPO),
    )
    meta = {USER_TOKEN_META_KEY: sign_user_token(secret, name, "stdio-user")}
    with (tmp_path / "stderr.log").open("w") as errlog:
        from mcp.client.stdio import stdio_client

        with anyio.fail_after(60):
            async with Client(stdio_client(params, errlog=errlog)) as client:
                tools = {tool.name for tool in (await client.list_tools()).tools}
                assert tools == EXPECTED_TOOLS[name]
                if name == "files":
                    await client.call_tool(
                        "write_file", {"path": "x.txt", "content": "1"}, meta=meta
                    )
                    listing = await client.call_tool("list_files", {}, meta=meta)
                    assert "x.txt" in str(listing.structured_content)
                if name == "knowledge":
                    added = await client.call_tool("remember", {"text": "stdio works"}, meta=meta)
                    assert not added.is_error


async def test_stdio_can_act_for_a_configured_local_user(data_dir: Path, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=ASSISTANT_BIN,
        args=["serve", "mcp", "files", "--stdio", "--user", "desktop-user"],
        env=server_env(data_dir),
        cwd=str(REPO),
    )
    from mcp.client.stdio import stdio_client

    with (tmp_path / "stderr.log").open("w") as errlog, anyio.fail_after(60):
        async with Client(stdio_client(params, errlog=errlog)) as client:
            result = await client.call_tool("write_file", {"path": "hello.txt", "content": "hi"})
            assert not result.is_error
    assert (data_dir / "workspaces" / "desktop-user" / "hello.txt").read_text() == "hi"


@pytest.fixture(scope="module")
def http_servers(
    tmp_path_factory: pytest.TempPathFactory, knowledge_url: str
) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("http-data")
    port = free_port()
    log = (data_dir / "servers.log").open("w")
    process = subprocess.Popen(
        [ASSISTANT_BIN, "serve", "mcp", "--port", str(port)],
        env=server_env(data_dir, KNOWLEDGE_DATABASE_URL=knowledge_url),
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with anyio.from_thread.start_blocking_portal() as portal:
            portal.call(_wait_healthy, url)
        yield url, _secret(data_dir)
    finally:
        process.terminate()
        process.wait(15)
        log.close()


async def _wait_healthy(url: str) -> None:
    async with httpx.AsyncClient() as client:

        async def healthy() -> bool:
            try:
                return (await client.get(f"{url}/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await until(healthy, within=60, every=0.1)


async def test_serve_mcp_lists_every_listed_server_in_discover(
    http_servers: tuple[str, str],
) -> None:
    url, secret = http_servers

    def discover() -> dict[str, Any]:
        return httpx.get(f"{url}/discover", headers={"Authorization": f"Bearer {secret}"}).json()

    await until(lambda: len(discover()["servers"]) == 3, within=30, every=0.1)
    listing = discover()
    assert {s["name"]: set(s["tools"]) for s in listing["servers"]} == {
        name: tools for name, tools in EXPECTED_TOOLS.items() if name != "assistant"
    }
    assert all(s["healthy"] and s["url"] == f"{url}/mcp/{s['name']}" for s in listing["servers"])


@pytest.mark.parametrize("name", ["files", "web", "knowledge", "assistant"])
async def test_each_server_answers_over_http_with_a_user_token(
    http_servers: tuple[str, str], name: str
) -> None:
    url, secret = http_servers
    token = sign_user_token(secret, name, "http-user")
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    with anyio.fail_after(30):
        async with (
            http,
            Client(streamable_http_client(f"{url}/mcp/{name}", http_client=http)) as client,
        ):
            assert client.protocol_version == "2026-07-28"
            assert {t.name for t in (await client.list_tools()).tools} == EXPECTED_TOOLS[name]
            if name == "knowledge":
                result = await client.call_tool("list_collections", {})
                assert not result.is_error


INSPECTOR = REPO / ".tools" / "node" / "node_modules" / ".bin" / "mcp-inspector"
CALLS = {
    "files": ("write_file", ["path=inspected.txt", "content=hello"], False),
    "web": ("fetch", ["url=http://169.254.169.254/latest/meta-data/"], True),
    "knowledge": ("remember", ["text=the inspector was here"], False),
    "assistant": ("list_conversations", ["limit=5"], True),  # no orchestrator running: a tool error
}


def inspector(*args: str, tool_error: bool = False) -> dict:
    """Run the inspector's CLI; it exits 5 when a called tool returned isError."""
    import json
    import os

    if not INSPECTOR.exists():
        pytest.fail("The MCP inspector is not installed: run `make setup`.")
    env = {**os.environ, "PATH": f"{INSPECTOR.parent}:{os.environ['PATH']}"}
    run = subprocess.run(
        [str(INSPECTOR), "--cli", "--format", "json", "-q", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert run.returncode == (5 if tool_error else 0), run.stdout + run.stderr
    return json.loads(run.stdout.splitlines()[0])


@pytest.mark.parametrize("name", ["files", "web", "knowledge", "assistant"])
def test_the_mcp_inspector_lists_and_calls_each_server_over_http(
    http_servers: tuple[str, str], name: str
) -> None:
    url, secret = http_servers
    header = f"Authorization: Bearer {sign_user_token(secret, name, 'inspector-user')}"
    listed = inspector(
        f"{url}/mcp/{name}", "--transport", "http", "--header", header, "--method", "tools/list"
    )
    assert {tool["name"] for tool in listed["result"]["tools"]} == EXPECTED_TOOLS[name]
    tool, arguments, is_error = CALLS[name]
    called = inspector(
        f"{url}/mcp/{name}",
        "--transport",
        "http",
        "--header",
        header,
        "--method",
        "tools/call",
        "--tool-name",
        tool,
        "--tool-arg",
        *arguments,
        tool_error=is_error,
    )
    assert called["result"]["isError"] is is_error, called


def test_the_mcp_inspector_calls_a_server_over_stdio_with_a_meta_token(data_dir: Path) -> None:
    token = sign_user_token(_secret(data_dir), "files", "inspector-user")
    called = inspector(
        "--metadata",
        f"{USER_TOKEN_META_KEY}={token}",
        "-e",
        "ASSISTANT_ENV_FILE=none",
        "-e",
        f"DATA_DIR={data_dir}",
        "--method",
        "tools/call",
        "--tool-name",
        "write_file",
        "--tool-arg",
        "path=a.txt",
        "content=from the inspector",
        "--",
        ASSISTANT_BIN,
        "serve",
        "mcp",
        "files",
        "--stdio",
    )
    assert called["result"]["isError"] is False
    assert (
        data_dir / "workspaces" / "inspector-user" / "a.txt"
    ).read_text() == "from the inspector"
