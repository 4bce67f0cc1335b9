"""The hub against MCP servers written by others, as real processes over stdio and HTTP.

npm: @modelcontextprotocol/server-everything (stdio and Streamable HTTP), server-filesystem,
server-memory; PyPI: mcp-server-time, mcp-server-fetch. `make setup` installs them (pinned).
One hub serves the whole module: discovery, a call each, resources, prompts, progress,
cancellation, elicitation, sampling, roots, and kill -9 in the middle of a call.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest

from orchestrator.api.mcp_views import prompt_views, resource_views
from orchestrator.cli.mcp_probe import HeadlessUser
from orchestrator.domain import (
    AudioPart,
    ElicitationAnswer,
    ElicitationRequest,
    ImagePart,
    JsonPart,
    ResourceLinkPart,
    ResourcePart,
    TextPart,
    ToolCallContext,
    ToolOutcome,
    ToolServerError,
    ToolSpec,
)
from orchestrator.mcp import (
    Catalog,
    CircuitBreaker,
    ConnectionState,
    HubOptions,
    MCPHub,
    MemoryHubStore,
    Vault,
)
from tests.fakes.model import Script, ScriptedModel
from tests.fixtures.processes import free_port
from tests.fixtures.waiting import wait_for_port

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "node_modules" / ".bin"
VENV_BIN = Path(sys.executable).parent
EVERYTHING = ["everything", "everything_http"]

if not (NODE_BIN / "mcp-server-everything").exists():
    pytest.skip("the npm test servers are not installed: run `make setup`", allow_module_level=True)


class HttpEverything:
    """server-everything over Streamable HTTP, restartable on the same port."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(NODE_BIN / "mcp-server-everything"), "streamableHttp"],
                env={**os.environ, "PORT": str(self.port)},
                stdout=log,
                stderr=log,
            )
        wait_for_port(self.port, process=self.process, timeout=20)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body><h1>Hello MCP</h1><p>fetched locally</p></body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def page() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/page"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("real-servers")
    (path / "files").mkdir()
    (path / "files" / "hello.txt").write_text("hello from the filesystem server\n")
    return path


@pytest.fixture(scope="module")
def http_everything(workdir: Path) -> Iterator[HttpEverything]:
    server = HttpEverything(workdir / "http-everything.log")
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill()


@pytest.fixture(scope="module")
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture(scope="module")
async def hub(
    workdir: Path, http_everything: HttpEverything, model: ScriptedModel
) -> AsyncIterator[MCPHub]:
    files = str(workdir / "files")
    servers = {
        "everything": {
            "command": str(NODE_BIN / "mcp-server-everything"),
            "args": ["stdio"],
            "roots": [files],
        },
        "everything_http": {"url": http_everything.url, "roots": [files]},
        "filesystem": {"command": str(NODE_BIN / "mcp-server-filesystem"), "args": [files]},
        "memory": {
            "command": str(NODE_BIN / "mcp-server-memory"),
            "env": {"MEMORY_FILE_PATH": str(workdir / "memory.jsonl")},
        },
        "time": {
            "command": str(VENV_BIN / "mcp-server-time"),
            "args": ["--local-timezone", "UTC"],
        },
        "fetch": {
            "command": str(VENV_BIN / "mcp-server-fetch"),
            "args": ["--allow-private-ips", "--ignore-robots-txt"],
        },
    }
    config = workdir / "mcp.json"
    config.write_text(json.dumps({"mcpServers": servers}))
    options = HubOptions(
        data_dir=workdir / "data",
        config_path=config,
        vault=Vault.local("test"),
        breaker=CircuitBreaker(threshold=10, base_delay=0.05, max_delay=0.5, stable_after=2.0),
    )
    async with MCPHub(MemoryHubStore(), options, model=model) as hub:
        with anyio.fail_after(60):
            await hub.settled()
        yield hub


def _context(
    progress: list[tuple[float, float | None, str | None]] | None = None,
    asked: list[ElicitationRequest] | None = None,
) -> ToolCallContext:
    user = HeadlessUser("user-1")

    async def elicit(request: ElicitationRequest) -> ElicitationAnswer:
        if asked is not None:
            asked.append(request)
        return await user.elicit(request)

    def report(value: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append((value, total, message))

    return ToolCallContext(
        user_id="user-1",
        conversation_id="c",
        run_id="r",
        call_id="call",
        report_progress=report,
        elicit=elicit,
    )


async def _specs(hub: MCPHub) -> dict[str, ToolSpec]:
    return {spec.name: spec for spec in await hub.list_tools("user-1")}


async def _call(
    hub: MCPHub, name: str, arguments: dict[str, Any], context: ToolCallContext | None = None
) -> ToolOutcome:
    spec = (await _specs(hub))[name]
    return await hub.call_tool(spec, arguments, context or _context())


def _text(outcome: ToolOutcome) -> str:
    return "\n".join(part.text for part in outcome.content if isinstance(part, TextPart))


async def test_every_server_connects_in_its_own_revision(hub: MCPHub) -> None:
    states = {
        server.config.name: (server.shared.state, server.shared.protocol_version)
        for server in hub.servers()
        if server.shared is not None
    }
    assert states == {
        "everything": (ConnectionState.READY, "2025-11-25"),
        "everything_http": (ConnectionState.READY, "2025-11-25"),
        "filesystem": (ConnectionState.READY, "2025-11-25"),
        "memory": (ConnectionState.READY, "2025-11-25"),
        "time": (ConnectionState.READY, "2026-07-28"),
        "fetch": (ConnectionState.READY, "2026-07-28"),
    }


@pytest.mark.parametrize("server", EVERYTHING)
async def test_everything_offers_its_tools_resources_and_prompts(hub: MCPHub, server: str) -> None:
    specs = await _specs(hub)
    tools = {spec.tool for spec in specs.values() if spec.server == server}
    # 13 tools, and the ones offered because the hub declares roots, elicitation and sampling.
    assert {"echo", "get-sum", "trigger-long-running-operation", "get-roots-list"} <= tools
    assert {"trigger-elicitation-request", "trigger-sampling-request"} <= tools
    for spec in specs.values():
        hints = spec.annotations
        read_only = hints.get("readOnlyHint") and not hints.get("destructiveHint")
        assert spec.policy.value == ("auto" if read_only else "ask"), spec.name
    catalog = Catalog(hub)
    listings = await catalog.listings("user-1", server)
    resources = resource_views(listings)
    assert len([r for r in resources if not r.template]) == 7
    assert len([r for r in resources if r.template]) == 2
    prompts = {prompt.name for prompt in prompt_views(listings)}
    assert {"simple-prompt", "args-prompt"} <= prompts


@pytest.mark.parametrize("server", EVERYTHING)
async def test_everything_results_map_to_every_kind_of_part(hub: MCPHub, server: str) -> None:
    assert _text(await _call(hub, f"{server}__echo", {"message": "hi"})) == "Echo: hi"
    image = await _call(hub, f"{server}__get-tiny-image", {})
    assert any(isinstance(p, ImagePart) and p.data for p in image.content)
    structured = await _call(hub, f"{server}__get-structured-content", {"location": "New York"})
    assert any(isinstance(p, JsonPart) for p in structured.content)
    links = await _call(hub, f"{server}__get-resource-links", {"count": 2})
    assert len([p for p in links.content if isinstance(p, ResourceLinkPart)]) == 2
    embedded = await _call(hub, f"{server}__get-resource-reference", {})
    assert any(isinstance(p, ResourcePart) for p in embedded.content)
    assert not any(isinstance(p, AudioPart) for p in embedded.content)


@pytest.mark.parametrize("server", EVERYTHING)
async def test_everything_resources_are_read_and_prompts_filled(hub: MCPHub, server: str) -> None:
    catalog = Catalog(hub)
    [part] = await catalog.read("user-1", server, "demo://resource/static/document/architecture.md")
    assert isinstance(part, ResourcePart) and part.text and "Architecture" in part.text
    _, messages = await catalog.prompt("user-1", server, "args-prompt", {"city": "Paris"})
    assert "Paris" in messages[0].text


@pytest.mark.parametrize("server", EVERYTHING)
async def test_everything_progress_streams_to_the_run(hub: MCPHub, server: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []
    outcome = await _call(
        hub,
        f"{server}__trigger-long-running-operation",
        {"duration": 1, "steps": 4},
        _context(progress=progress),
    )
    assert "completed" in _text(outcome)
    assert [(p, t) for p, t, _ in progress] == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize("server", EVERYTHING)
async def test_everything_call_is_cancelled_and_the_server_stays_usable(
    hub: MCPHub, server: str
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []
    seen = anyio.Event()

    def report(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))
        seen.set()

    context = _context()
    context = ToolCallContext(
        user_id=context.user_id,
        conversation_id=context.conversation_id,
        run_id=context.run_id,
        call_id=context.call_id,
        report_progress=report,
        elicit=context.elicit,
    )
    spec = (await _specs(hub))[f"{server}__trigger-long-running-operation"]
    started = time.monotonic()
    with anyio.fail_after(8):
        async with anyio.create_task_group() as group:
            group.start_soon(hub.call_tool, spec, {"duration": 20, "steps": 20}, context)
            await seen.wait()
            group.cancel_scope.cancel()
    assert time.monotonic() - started < 8
    assert len(progress) < 20
    assert _text(await _call(hub, f"{server}__echo", {"message": "again"})) == "Echo: again"


@pytest.mark.parametrize("server", EVERYTHING)
async def test_everything_elicitation_sampling_and_roots(
    hub: MCPHub, server: str, model: ScriptedModel, workdir: Path
) -> None:
    asked: list[ElicitationRequest] = []
    elicited = await _call(hub, f"{server}__trigger-elicitation-request", {}, _context(asked=asked))
    assert not elicited.is_error and asked and asked[0].mode == "form"
    assert "accept" in _text(elicited).lower()
    model.scripts.append(Script(text=["forty-two"]))
    sampled = await _call(
        hub,
        f"{server}__trigger-sampling-request",
        {"prompt": "6*7?", "maxTokens": 10},
        _context(asked=asked),
    )
    assert "forty-two" in _text(sampled)
    assert "6*7?" in (asked[-1].message or "")
    roots = await _call(hub, f"{server}__get-roots-list", {})
    assert (workdir / "files").as_uri() in _text(roots)


@pytest.mark.parametrize("server", EVERYTHING)
@pytest.mark.parametrize("error_path", [False, True])
async def test_everything_url_elicitation_asks_the_user_to_open_a_page(
    hub: MCPHub, server: str, error_path: bool
) -> None:
    asked: list[ElicitationRequest] = []
    arguments = {"url": "https://example.com/consent", "errorPath": error_path}
    outcome = await _call(
        hub, f"{server}__trigger-url-elicitation", arguments, _context(asked=asked)
    )
    assert not outcome.is_error, _text(outcome)
    # On the error path (-32042) the server first sends the user to a prerequisite page;
    # the hub shows it, then retries the call, which asks for the page itself.
    urls = [question.url for question in asked if question.mode == "url"]
    expected = ["https://modelcontextprotocol.io"] if error_path else []
    assert urls == [*expected, "https://example.com/consent"]


async def test_a_stdio_server_gets_a_minimal_environment(hub: MCPHub) -> None:
    outcome = await _call(hub, "everything__get-env", {})
    env = json.loads(_text(outcome))
    assert set(env) <= {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"}
    assert not any(key.startswith(("OPENAI_", "DATABASE_", "JWT_", "MCP_")) for key in env)


async def test_filesystem_reads_a_file(hub: MCPHub, workdir: Path) -> None:
    path = workdir / "files" / "hello.txt"
    outcome = await _call(hub, "filesystem__read_text_file", {"path": str(path)})
    assert "hello from the filesystem server" in _text(outcome)
    outside = await _call(hub, "filesystem__read_text_file", {"path": "/etc/passwd"})
    assert outside.is_error


async def test_memory_keeps_entities(hub: MCPHub) -> None:
    entity = {"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]}
    await _call(hub, "memory__create_entities", {"entities": [entity]})
    graph = await _call(hub, "memory__read_graph", {})
    assert "wrote the first program" in _text(graph) + json.dumps(
        [p.value for p in graph.content if isinstance(p, JsonPart)]
    )


async def test_time_answers_over_2026_07_28(hub: MCPHub) -> None:
    outcome = await _call(hub, "time__get_current_time", {"timezone": "Europe/Paris"})
    assert "Europe/Paris" in _text(outcome) + json.dumps(
        [p.value for p in outcome.content if isinstance(p, JsonPart)]
    )


async def test_fetch_reads_a_local_page(hub: MCPHub, page: str) -> None:
    outcome = await _call(hub, "fetch__fetch", {"url": page, "raw": True})
    assert "Hello MCP" in _text(outcome)


def _server_pid(marker: str) -> int:
    me = psutil.Process()
    for child in me.children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if marker in command and "stdio" in command:
            return child.pid
    raise AssertionError(f"no child process runs {marker}")


async def test_a_stdio_server_killed_mid_call_fails_the_call_and_comes_back(hub: MCPHub) -> None:
    server = hub.find("user-1", "everything")
    assert server is not None and server.shared is not None
    connection = server.shared
    pid = _server_pid("mcp-server-everything")
    seen = anyio.Event()
    context = _context()
    context = ToolCallContext(
        user_id="user-1",
        conversation_id="c",
        run_id="r",
        call_id="call",
        report_progress=lambda *_: seen.set(),
        elicit=context.elicit,
    )
    spec = (await _specs(hub))["everything__trigger-long-running-operation"]
    with anyio.fail_after(15):
        async with anyio.create_task_group() as group:

            async def kill_after_progress() -> None:
                await seen.wait()
                os.kill(pid, signal.SIGKILL)

            group.start_soon(kill_after_progress)
            started = time.monotonic()
            with pytest.raises(ToolServerError, match=r"closed|lost"):
                await hub.call_tool(spec, {"duration": 30, "steps": 30}, context)
            failed_after = time.monotonic() - started
        while connection.state is not ConnectionState.READY or not connection.ready:
            await connection.state_changed().wait()
    assert failed_after < 5
    assert connection.restarts >= 1
    assert _text(await _call(hub, "everything__echo", {"message": "back"})) == "Echo: back"


async def test_an_http_server_killed_mid_call_fails_the_call_and_is_reconnected(
    hub: MCPHub, http_everything: HttpEverything
) -> None:
    server = hub.find("user-1", "everything_http")
    assert server is not None and server.shared is not None
    connection = server.shared
    seen = anyio.Event()
    context = ToolCallContext(
        user_id="user-1",
        conversation_id="c",
        run_id="r",
        call_id="call",
        report_progress=lambda *_: seen.set(),
        elicit=_context().elicit,
    )
    spec = (await _specs(hub))["everything_http__trigger-long-running-operation"]
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:

            async def kill_after_progress() -> None:
                await seen.wait()
                http_everything.kill()

            group.start_soon(kill_after_progress)
            with pytest.raises(ToolServerError):
                await hub.call_tool(spec, {"duration": 30, "steps": 30}, context)
        while connection.ready:
            await connection.state_changed().wait()
        await anyio.to_thread.run_sync(http_everything.start)
        while not connection.ready:
            await connection.state_changed().wait()
    assert _text(await _call(hub, "everything_http__echo", {"message": "back"})) == "Echo: back"
