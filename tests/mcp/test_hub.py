"""The hub as the loop's tool host, against in-process servers in both protocol revisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.api.mcp_views import server_view
from orchestrator.domain import (
    ElicitationAnswer,
    ElicitationRequest,
    Forbidden,
    ImagePart,
    JsonPart,
    ResourceLinkPart,
    TextPart,
    ToolCallContext,
    ToolOutcome,
    ToolPolicy,
    ToolServerError,
)
from orchestrator.mcp import MemoryHubStore, ServerRegistry
from tests.fakes.mcp_server import INSTRUCTIONS, ServerState, build
from tests.fakes.model import Script, ScriptedModel
from tests.mcp.conftest import OpenHub

pytestmark = pytest.mark.anyio

PROTOCOLS = ["2025-11-25", "auto"]


def _context(
    user_id: str = "user-1",
    progress: list[tuple[float, float | None, str | None]] | None = None,
    answers: list[ElicitationAnswer] | None = None,
    asked: list[ElicitationRequest] | None = None,
) -> ToolCallContext:
    async def elicit(request: ElicitationRequest) -> ElicitationAnswer:
        if asked is not None:
            asked.append(request)
        return (answers or [ElicitationAnswer(action="cancel")]).pop(0)

    return ToolCallContext(
        user_id=user_id,
        conversation_id="conversation-1",
        run_id="run-1",
        call_id="call-1",
        report_progress=lambda p, t, m: (
            progress.append((p, t, m)) if progress is not None else None
        ),
        elicit=elicit,
    )


def _texts(outcome: ToolOutcome) -> list[str]:
    return [part.text for part in outcome.content if isinstance(part, TextPart)]


def _demo(protocol: str, **extra: Any) -> dict[str, dict[str, Any]]:
    return {"demo": {"command": "in-process", "protocol": protocol, **extra}}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_tools_are_namespaced_per_server_with_policies_from_their_hints(
    open_hub: OpenHub, protocol: str
) -> None:
    async with open_hub(_demo(protocol), targets={"demo": build()}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
    assert "demo__add" in specs and "demo__delete" in specs
    add = specs["demo__add"]
    assert (add.server, add.tool) == ("demo", "add")
    assert add.policy is ToolPolicy.AUTO
    assert specs["demo__delete"].policy is ToolPolicy.ASK
    assert add.parameters["type"] == "object" and set(add.parameters["properties"]) == {"a", "b"}
    assert add.token_cost > 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_call_returns_text_and_structured_content(open_hub: OpenHub, protocol: str) -> None:
    async with open_hub(_demo(protocol), targets={"demo": build()}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        outcome = await hub.call_tool(specs["demo__add"], {"a": 2, "b": 3}, _context())
    assert not outcome.is_error
    assert outcome.content == [JsonPart(value={"result": 5})]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_images_and_resource_links_come_back_as_parts(
    open_hub: OpenHub, protocol: str
) -> None:
    async with open_hub(_demo(protocol), targets={"demo": build()}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        outcome = await hub.call_tool(specs["demo__picture"], {}, _context())
    image, link = outcome.content[:2]
    assert isinstance(image, ImagePart) and image.mime_type == "image/png" and image.data
    assert isinstance(link, ResourceLinkPart) and link.uri == "config://app"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_tool_error_is_an_error_result_for_the_model(
    open_hub: OpenHub, protocol: str
) -> None:
    async with open_hub(_demo(protocol), targets={"demo": build()}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        outcome = await hub.call_tool(specs["demo__fail"], {"reason": "no disk"}, _context())
    assert outcome.is_error
    assert "no disk" in "".join(p.text for p in outcome.content if isinstance(p, TextPart))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_progress_reaches_the_run_and_resets_the_timeout(
    open_hub: OpenHub, protocol: str
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []
    servers = _demo(protocol, tools={"slow": {"timeout": 0.4}})
    async with open_hub(servers, targets={"demo": build()}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        # 6 steps of 0.15 s take 0.9 s, twice the timeout, but each step reports progress.
        outcome = await hub.call_tool(
            specs["demo__slow"], {"steps": 6, "delay": 0.15}, _context(progress=progress)
        )
    assert not outcome.is_error
    assert [p[0] for p in progress] == [1, 2, 3, 4, 5, 6]
    assert progress[0][1:] == (6, "step 1")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_silent_call_fails_at_its_timeout(open_hub: OpenHub, protocol: str) -> None:
    state = ServerState()
    servers = _demo(protocol, tools={"hang": {"timeout": 0.3}})
    async with open_hub(servers, targets={"demo": build(state)}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        with anyio.fail_after(5), pytest.raises(ToolServerError, match=r"0\.3 s"):
            await hub.call_tool(specs["demo__hang"], {}, _context())
        with anyio.fail_after(5):
            await state.cancelled.wait()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_cancelling_the_caller_cancels_the_call_on_the_server(
    open_hub: OpenHub, protocol: str
) -> None:
    state = ServerState()
    async with open_hub(_demo(protocol), targets={"demo": build(state)}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        async with anyio.create_task_group() as group:
            group.start_soon(hub.call_tool, specs["demo__hang"], {}, _context())
            with anyio.fail_after(5):
                await state.hanging.wait()
            group.cancel_scope.cancel()
        with anyio.fail_after(5):
            await state.cancelled.wait()
        # The connection is still good.
        outcome = await hub.call_tool(specs["demo__add"], {"a": 1, "b": 1}, _context())
    assert outcome.content == [JsonPart(value={"result": 2})]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_elicitation_asks_the_user_of_the_call(open_hub: OpenHub, protocol: str) -> None:
    asked: list[ElicitationRequest] = []
    answers = [ElicitationAnswer(action="accept", content={"ok": True})]
    async with open_hub(_demo(protocol), targets={"demo": build()}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        outcome = await hub.call_tool(
            specs["demo__remove"], {"path": "/tmp/x"}, _context(answers=answers, asked=asked)
        )
    assert [part.text for part in outcome.content if isinstance(part, TextPart)] == [
        "removed /tmp/x"
    ]
    [question] = asked
    assert question.mode == "form" and question.message == "Delete /tmp/x?"
    assert question.requested_schema and "ok" in question.requested_schema["properties"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_server_instructions_are_offered_for_the_system_prompt(
    open_hub: OpenHub, protocol: str
) -> None:
    async with open_hub(_demo(protocol), targets={"demo": build()}) as hub:
        text = await hub.instructions("user-1", ["demo"])
        assert await hub.instructions("user-1", ["other"]) is None
    assert text is not None and INSTRUCTIONS in text and "## demo" in text


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_sampling_runs_on_our_model_after_the_user_accepts(
    open_hub: OpenHub, protocol: str
) -> None:
    model = ScriptedModel(Script(text=["A short summary."]))
    asked: list[ElicitationRequest] = []
    answers = [ElicitationAnswer(action="accept")]
    async with open_hub(_demo(protocol), targets={"demo": build()}, model=model) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        outcome = await hub.call_tool(
            specs["demo__summarize"], {"text": "long text"}, _context(answers=answers, asked=asked)
        )
    assert _texts(outcome) == ["A short summary."]
    [question] = asked
    assert "demo" in (question.message or "") and "Summarize: long text" in (question.message or "")
    [request] = model.requests
    assert request.messages[-1].text == "Summarize: long text"
    assert request.tools == ()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_sampling_declined_by_the_user_never_reaches_the_model(
    open_hub: OpenHub, protocol: str
) -> None:
    model = ScriptedModel()
    answers = [ElicitationAnswer(action="decline")]
    async with open_hub(_demo(protocol), targets={"demo": build()}, model=model) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        with pytest.raises(ToolServerError, match="declined"):
            await hub.call_tool(specs["demo__summarize"], {"text": "x"}, _context(answers=answers))
    assert model.requests == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_workspace_roots_are_the_folder_of_the_calling_user(
    open_hub: OpenHub, protocol: str, tmp_path: Path
) -> None:
    async with open_hub(_demo(protocol, roots="workspace"), targets={"demo": build()}) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-7")}
        outcome = await hub.call_tool(specs["demo__where"], {}, _context(user_id="user-7"))
    [uri] = _texts(outcome)
    assert uri == (tmp_path / "data" / "workspaces" / "user-7").as_uri()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_changed_tool_is_withheld_until_an_admin_approves_it(
    open_hub: OpenHub, protocol: str
) -> None:
    store = MemoryHubStore()
    async with open_hub(_demo(protocol), targets={"demo": build()}, store=store) as hub:
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
        old_add = specs["demo__add"]
        assert store.approvals["*/demo"]["add"]
        server = hub.find("user-1", "demo")
        assert server is not None
        rebuilt = hub.tools_changed()
        await hub.call_tool(specs["demo__evolve"], {}, _context())
        with anyio.fail_after(5):
            await rebuilt.wait()
        assert "demo__add" not in {spec.name for spec in await hub.list_tools("user-1")}
        refused = await hub.call_tool(old_add, {"a": 1, "b": 2}, _context())
        assert refused.is_error and "approves" in _texts(refused)[0]
        registry = ServerRegistry(hub)
        view = await server_view(hub, server, "user-1", True)
        assert {t.tool: t.status for t in view.tools}["add"] == "changed"
        with pytest.raises(Forbidden):
            await registry.approve("demo", "add", user_id="user-1", is_admin=False)
        await registry.approve("demo", "add", user_id="admin-1", is_admin=True)
        specs = {spec.name: spec for spec in await hub.list_tools("user-1")}
    assert specs["demo__add"].description == "Add two integers, and send them somewhere else too."
