"""MCP hub overhead: a tool call through the hub against a direct SDK call, same server.

    python -m benchmarks.hub [--calls 400] [--warmup 50]

For each transport (stdio, Streamable HTTP) one server process per client serves a small
`echo` tool (the SDK's MCPServer, run from this module). The direct client is the SDK's
`mcp.Client`; the hub path is `MCPHub.call_tool`, which adds what a run pays: the tool
lookup, the call task with its deadline, progress plumbing and the mapping of the result
to our content parts. Calls alternate between the two so both see the same machine load.
Prints p50 and p99 per path and the ratio hub / direct (target: at most 1.2).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer

from orchestrator.domain import ElicitationAnswer, ElicitationRequest, ToolCallContext
from orchestrator.mcp import HubOptions, MCPHub, MemoryHubStore, Vault

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.2


def _server() -> MCPServer:
    server = MCPServer("bench")

    @server.tool()
    def echo(message: str) -> str:
        """Echo the message."""
        return message

    return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_http() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.hub", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}/mcp"
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the benchmark server did not start")


async def _no_answer(request: ElicitationRequest) -> ElicitationAnswer:
    return ElicitationAnswer(action="cancel")


def _context() -> ToolCallContext:
    return ToolCallContext(
        user_id="bench",
        conversation_id="bench",
        run_id="bench",
        call_id="bench",
        report_progress=lambda *_: None,
        elicit=_no_answer,
    )


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _measure(
    direct: Callable[[], Awaitable[Any]],
    hub: Callable[[], Awaitable[Any]],
    calls: int,
    warmup: int,
) -> dict[str, float]:
    for _ in range(warmup):
        await direct()
        await hub()
    timings: dict[str, list[float]] = {"direct": [], "hub": []}
    for index in range(calls):
        order = [("direct", direct), ("hub", hub)]
        if index % 2:
            order.reverse()
        for name, call in order:
            started = time.perf_counter()
            await call()
            timings[name].append((time.perf_counter() - started) * 1000)
    result: dict[str, float] = {}
    for name, samples in timings.items():
        result[f"{name}_p50_ms"] = statistics.median(samples)
        result[f"{name}_p99_ms"] = _percentile(samples, 0.99)
    result["ratio_p50"] = result["hub_p50_ms"] / result["direct_p50_ms"]
    result["ratio_p99"] = result["hub_p99_ms"] / result["direct_p99_ms"]
    return result


async def _bench(transport: str, calls: int, warmup: int) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        if transport == "stdio":
            command = [sys.executable, "-m", "benchmarks.hub", "serve"]
            entry: dict[str, Any] = {"command": command[0], "args": command[1:], "cwd": str(ROOT)}
            target: Any = StdioServerParameters(command=command[0], args=command[1:], cwd=ROOT)
            errlog = stack.enter_context(open(os.devnull, "w"))  # noqa: ASYNC230
            client = await stack.enter_async_context(Client(target, cache=None))
        else:
            process, url = _serve_http()
            stack.callback(process.wait)
            stack.callback(process.kill)
            entry = {"url": url}
            errlog = None
            client = await stack.enter_async_context(Client(url, cache=None))
        del errlog
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        config = data / "mcp.json"
        config.write_text(json.dumps({"mcpServers": {"bench": entry}}))
        options = HubOptions(data_dir=data, config_path=config, vault=Vault("bench"))
        hub = await stack.enter_async_context(MCPHub(MemoryHubStore(), options))
        with anyio.fail_after(60):
            await hub.settled()
        [spec] = [s for s in await hub.list_tools("bench") if s.tool == "echo"]
        context = _context()
        arguments = {"message": "hello"}

        async def direct() -> Any:
            return await client.call_tool("echo", arguments)

        async def through_hub() -> Any:
            return await hub.call_tool(spec, arguments, context)

        return await _measure(direct, through_hub, calls, warmup)


async def run(calls: int = 400, warmup: int = 50) -> dict[str, dict[str, float]]:
    """The measurements per transport."""
    return {transport: await _bench(transport, calls, warmup) for transport in ("stdio", "http")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="(internal) serve the echo server")
    serve.add_argument("--port", type=int, default=None)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    if args.command == "serve":
        server = _server()
        if args.port is None:
            server.run()
        else:
            server.run("streamable-http", host="127.0.0.1", port=args.port)
        return
    results = anyio.run(run, args.calls, args.warmup)
    print(f"MCP hub vs direct SDK call, {args.calls} calls each (ms)")
    print(
        f"{'transport':10s} {'direct p50':>11s} {'hub p50':>9s} {'direct p99':>11s} "
        f"{'hub p99':>9s} {'ratio p50':>10s} {'ratio p99':>10s}"
    )
    for transport, r in results.items():
        print(
            f"{transport:10s} {r['direct_p50_ms']:11.2f} {r['hub_p50_ms']:9.2f} "
            f"{r['direct_p99_ms']:11.2f} {r['hub_p99_ms']:9.2f} "
            f"{r['ratio_p50']:10.2f} {r['ratio_p99']:10.2f}"
        )
    worst = max(r["ratio_p50"] for r in results.values())
    verdict = "meets" if worst <= TARGET_RATIO else "misses"
    print(f"worst p50 ratio {worst:.2f}: {verdict} the target of {TARGET_RATIO}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
