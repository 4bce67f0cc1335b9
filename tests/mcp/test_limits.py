"""A hostile server's answers are cut before they are stored: a 50 MB tool result over
stdio and over HTTP, and a 100,000-character tool description."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.mcp import Limits
from tests.api.conftest import collect
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fixtures.mcp_api import OpenApi
from tests.fixtures.processes import free_port, listening
from tests.fixtures.serving import live_client
from tests.mcp.conftest import OpenHub

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
MARKER = "[… cut: the server sent "


def _rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@pytest.fixture(scope="module")
def hostile_http() -> Iterator[str]:
    port = free_port()
    with listening([sys.executable, "-m", "tests.mcp.hostile_server", "--http", str(port)], port):
        yield f"http://127.0.0.1:{port}/mcp"


def _entry(transport: str, http_url: str) -> dict[str, Any]:
    if transport == "http":
        return {"url": http_url, "policy": "auto"}
    return {
        "command": sys.executable,
        "args": ["-m", "tests.mcp.hostile_server"],
        "cwd": str(ROOT),
        "policy": "auto",
    }


@pytest.mark.postgres
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_50_mb_tool_result_is_stored_cut_with_a_marker_and_the_process_stays_up(
    open_api: OpenApi, fake_openai: FakeOpenAI, hostile_http: str, transport: str
) -> None:
    name = f"hostile{uuid.uuid4().hex[:6]}"
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall(f"{name}__flood", json.dumps({"megabytes": 50}))]),
        Reply(text="That was a lot."),
    )
    async with (
        open_api({name: _entry(transport, hostile_http)}) as api,
        live_client(api.app) as client,
    ):
        before = _rss_bytes()
        conversation = (
            await client.post("/api/v1/conversations", json={}, headers=api.alice)
        ).json()["id"]
        started = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            json={"content": "flood me"},
            headers=api.alice,
        )
        assert started.status_code == 202, started.text
        with anyio.fail_after(60):
            _, events = await collect(
                client,
                "GET",
                f"/api/v1/runs/{started.json()['run_id']}/events",
                headers=api.alice,
                stop_after=lambda e: e[-1].name == "run.completed",
            )
        grown = _rss_bytes() - before
        detail = await client.get(f"/api/v1/conversations/{conversation}", headers=api.alice)
        health = await client.get(f"/api/v1/mcp/servers/{name}/health", headers=api.alice)
    print(f"{transport}: RSS grew by {grown / 2**20:.0f} MiB for a 50 MiB tool result")
    assert events[-1].data["status"] == "completed"
    stored = json.dumps(
        [m for m in detail.json()["messages"] if m["role"] == "tool"], ensure_ascii=False
    )
    assert MARKER in stored
    assert len(stored) <= Limits().max_result_bytes + 4096
    assert health.json()["state"] == "ready"  # the server's connection is still up
    assert grown < 400 * 2**20


async def test_a_huge_tool_description_is_cut_when_listed(open_hub: OpenHub) -> None:
    entry = _entry("stdio", "")
    async with open_hub({"hostile": entry}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
    description = specs["hostile__described"].description
    assert len(description.encode()) <= Limits().max_description_bytes + 200
    assert MARKER + "98 KB, the limit is 8.0 KB]" in description


async def test_a_result_over_the_limit_but_within_one_message_keeps_its_first_part(
    open_hub: OpenHub,
) -> None:
    from orchestrator.domain import ElicitationAnswer, TextPart, ToolCallContext

    async def elicit(request: object) -> ElicitationAnswer:
        return ElicitationAnswer(action="cancel")

    context = ToolCallContext(
        user_id="user-1",
        conversation_id="c",
        run_id="r",
        call_id="call",
        report_progress=lambda *_: None,
        elicit=elicit,  # type: ignore[arg-type]
    )
    async with open_hub({"hostile": _entry("stdio", "")}) as hub:
        spec = {s.name: s for s in await hub.list_tools("user-1")}["hostile__flood"]
        outcome = await hub.call_tool(spec, {"megabytes": 6}, context)
    text = "".join(part.text for part in outcome.content if isinstance(part, TextPart))
    assert not outcome.is_error
    assert text.startswith("xxxx") and len(text) <= Limits().max_result_bytes + 200
    assert text.endswith(MARKER + "6.0 MB, the limit is 4.0 MB]")


async def test_a_huge_resource_or_prompt_is_cut_with_a_marker(open_hub: OpenHub) -> None:
    from orchestrator.domain import ResourcePart, TextPart
    from orchestrator.mcp import Catalog

    async with open_hub({"hostile": _entry("stdio", "")}) as hub:
        catalog = Catalog(hub)
        parts = await catalog.read("user-1", "hostile", "flood://6")
        _, messages = await catalog.prompt("user-1", "hostile", "flooded", {"megabytes": "6"})
    limit = Limits().max_result_bytes
    [kept, marker] = parts
    assert isinstance(kept, ResourcePart) and isinstance(marker, TextPart)
    assert kept.uri == "flood://6" and kept.text and set(kept.text) == {"r"}
    assert len(kept.text) <= limit
    assert marker.text == MARKER + "6.0 MB, the limit is 4.0 MB]"
    prompt = "".join(
        part.text for message in messages for part in message.content if isinstance(part, TextPart)
    )
    assert prompt.startswith("pppp") and len(prompt) <= limit + 200
    assert MARKER in prompt
