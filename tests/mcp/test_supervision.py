"""Servers that fail: restarts with backoff, the circuit breaker, and nobody waiting on them."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import anyio
import pytest

from orchestrator.api.mcp_views import server_view
from orchestrator.domain import ToolCallContext, ToolServerError
from orchestrator.mcp import ConnectionState, ServerConnection
from tests.fakes.mcp_server import build
from tests.mcp.conftest import OpenHub

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
FAKE_SERVER = {
    "command": sys.executable,
    "args": ["-m", "tests.fakes.mcp_server"],
    "cwd": str(ROOT),
}


def _context() -> ToolCallContext:
    async def elicit(request: object) -> object:
        raise AssertionError("no questions expected")

    return ToolCallContext(
        user_id="user-1",
        conversation_id="c",
        run_id="r",
        call_id="call",
        report_progress=lambda *_: None,
        elicit=elicit,  # type: ignore[arg-type]
    )


async def _until(connection: ServerConnection, *states: ConnectionState) -> None:
    while connection.state not in states:
        await connection.state_changed().wait()


def _children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


async def test_a_dead_server_delays_nobody(open_hub: OpenHub) -> None:
    servers = {
        "dead": {"command": "sleep", "args": ["30"], "connect_timeout": 20},
        "demo": {"command": "in-process"},
    }
    with anyio.fail_after(7):  # ready within 3 s, and closed within 4 more
        async with open_hub(servers, targets={"demo": build()}, settle=False) as hub:
            with anyio.fail_after(3):
                demo = hub.find("user-1", "demo")
                dead = hub.find("user-1", "dead")
                assert demo is not None and demo.shared is not None
                assert dead is not None and dead.shared is not None
                await _until(demo.shared, ConnectionState.READY)
                names = {spec.name for spec in await hub.list_tools("user-1")}
                assert dead.shared.state is ConnectionState.STARTING
    assert "demo__add" in names and not any(name.startswith("dead__") for name in names)


async def test_a_server_that_keeps_failing_opens_the_circuit(open_hub: OpenHub) -> None:
    servers = {"broken": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]}}
    async with open_hub(servers, settle=False) as hub:
        server = hub.find("user-1", "broken")
        assert server is not None and server.shared is not None
        with anyio.fail_after(20):
            await _until(server.shared, ConnectionState.CIRCUIT_OPEN)
        view = await server_view(hub, server, "user-1", False)
        assert await hub.list_tools("user-1") == []
    assert view.health.circuit_open and view.health.consecutive_failures == 3
    assert view.health.restarts == 2 and view.health.last_error
    assert view.health.next_attempt_in is not None and view.health.next_attempt_in > 20


async def test_a_killed_stdio_server_fails_its_call_at_once_and_is_restarted(
    open_hub: OpenHub,
) -> None:
    before = _children()
    async with open_hub({"demo": FAKE_SERVER}) as hub:
        server = hub.find("user-1", "demo")
        assert server is not None and server.shared is not None
        connection = server.shared
        assert connection.state is ConnectionState.READY
        [pid] = _children() - before
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}

        async def kill_when_hanging() -> None:
            while not connection.inflight():
                await connection.requests_changed().wait()
            os.kill(pid, signal.SIGKILL)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(kill_when_hanging)
                with pytest.raises(ToolServerError, match=r"closed|lost"):
                    await hub.call_tool(specs["demo__hang"], {}, _context())
            await _until(connection, ConnectionState.RECONNECTING, ConnectionState.STARTING)
            await _until(connection, ConnectionState.READY)
            outcome = await hub.call_tool(specs["demo__add"], {"a": 1, "b": 2}, _context())
    assert not outcome.is_error
    assert connection.restarts == 1
