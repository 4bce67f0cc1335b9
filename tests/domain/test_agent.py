"""The agent loop against a scripted model, fake tools and a recording journal."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import anyio
import pytest

from orchestrator.domain import (
    Agent,
    AgentBudget,
    Message,
    MessageStatus,
    Role,
    RunControl,
    RunStatus,
    TextPart,
    ToolCallContext,
    ToolOutcome,
    ToolPolicy,
    ToolResult,
    Turn,
    Usage,
    error_outcome,
)
from orchestrator.runtime.interactions import PendingInteractions
from tests.fakes.journal import RecordingJournal
from tests.fakes.model import Script, ScriptedModel
from tests.fakes.tools import FakeTools, broken, spec, text

pytestmark = pytest.mark.anyio


def _turn(tools: FakeTools | None = None, content: str = "hello") -> Turn:
    return Turn(
        run_id="run-1",
        conversation_id="conv-1",
        user_id="user-1",
        model="gpt-5",
        history=[Message(id="m0", role=Role.USER, content=[TextPart(text=content)], token_count=5)],
        tools=list(tools.specs) if tools else [],
    )


def _agent(
    model: ScriptedModel,
    tools: FakeTools | None = None,
    interactions: PendingInteractions | None = None,
    **budget: Any,
) -> Agent:
    counter = itertools.count()
    return Agent(
        model,
        tools or FakeTools(),
        interactions or PendingInteractions(),
        new_id=lambda: f"id-{next(counter)}",
        budget=AgentBudget(**budget),
    )


async def test_a_plain_answer_streams_deltas_and_completes() -> None:
    model = ScriptedModel(Script(text=["Hel", "lo", "!"]))
    journal = RecordingJournal()
    outcome = await _agent(model).run(_turn(), journal, RunControl())
    assert outcome.status is RunStatus.COMPLETED
    assert journal.names == [
        "run.started",
        "message.delta",
        "message.delta",
        "message.delta",
        "message.completed",
    ]
    [answer] = journal.messages
    assert answer.role is Role.ASSISTANT and answer.text == "Hello!"
    assert answer.usage == Usage(input_tokens=10, output_tokens=5)
    assert answer.token_count > 0
    assert journal.outcome is not None and journal.outcome.status is RunStatus.COMPLETED


async def test_the_system_prompt_goes_first_and_the_history_follows() -> None:
    model = ScriptedModel(Script(text=["ok"]))
    await _agent(model, system_prompt="Be brief.").run(_turn(), RecordingJournal(), RunControl())
    [request] = model.requests
    assert [m.role for m in request.messages] == [Role.SYSTEM, Role.USER]
    assert request.messages[0].text == "Be brief."


async def test_tool_server_instructions_follow_the_system_prompt() -> None:
    model = ScriptedModel(Script(text=["ok"]))
    turn = Turn(
        run_id="run-1",
        conversation_id="conv-1",
        user_id="user-1",
        model="gpt-5",
        history=_turn().history,
        instructions="Use the files tools for files.",
    )
    await _agent(model, system_prompt="Be brief.").run(turn, RecordingJournal(), RunControl())
    [request] = model.requests
    assert request.messages[0].role is Role.SYSTEM
    assert request.messages[0].text == "Be brief.\n\nUse the files tools for files."


async def test_tool_calls_run_and_their_results_go_back_to_the_model() -> None:
    tools = FakeTools()
    tools.add(spec("math__add"), lambda args, ctx: _ok(str(int(args["a"]) + int(args["b"]))))
    model = ScriptedModel(
        Script(calls=[("math__add", json.dumps({"a": 2, "b": 3}))]),
        Script(text=["It is 5."]),
    )
    journal = RecordingJournal()
    outcome = await _agent(model, tools).run(_turn(tools), journal, RunControl())
    assert outcome.status is RunStatus.COMPLETED
    assert tools.calls == [("math__add", {"a": 2, "b": 3})]
    call_message, result, answer = journal.messages
    assert call_message.tool_calls[0].name == "math__add"
    assert result.role is Role.TOOL and result.text == "5"
    assert result.tool_call_id == call_message.tool_calls[0].id
    assert answer.text == "It is 5."
    second = model.requests[1]
    assert [m.role for m in second.messages][-3:] == [Role.USER, Role.ASSISTANT, Role.TOOL][-3:]
    assert "tool.call" in journal.names and "tool.result" in journal.names


async def _ok(value: str) -> ToolOutcome:
    return text(value)


async def test_tool_calls_of_one_step_run_in_parallel() -> None:
    both_started = anyio.Event()
    started: list[str] = []

    async def meet(args: dict[str, Any], ctx: ToolCallContext) -> ToolOutcome:
        started.append(ctx.call_id)
        if len(started) == 2:
            both_started.set()
        await both_started.wait()  # deadlocks if the calls ran one after the other
        return text("met")

    tools = FakeTools()
    tools.add(spec("a__meet"), meet)
    tools.add(spec("b__meet"), meet)
    model = ScriptedModel(
        Script(calls=[("a__meet", "{}"), ("b__meet", "{}")]), Script(text=["done"])
    )
    with anyio.fail_after(5):
        outcome = await _agent(model, tools).run(_turn(tools), RecordingJournal(), RunControl())
    assert outcome.status is RunStatus.COMPLETED
    assert len(started) == 2


async def test_a_tool_that_asks_waits_for_approval_and_runs_when_approved() -> None:
    tools = FakeTools()
    tools.add(spec("files__delete", ToolPolicy.ASK))
    interactions = PendingInteractions()
    interactions.register_run("run-1", "user-1")
    model = ScriptedModel(
        Script(calls=[("files__delete", '{"x": "a.txt"}')]), Script(text=["Deleted."])
    )
    journal = RecordingJournal()
    task = asyncio.create_task(
        _agent(model, tools, interactions).run(_turn(tools), journal, RunControl())
    )
    with anyio.fail_after(5):
        asked = await journal.seen("tool.approval_required")
    assert tools.calls == []
    call_id = asked.id  # type: ignore[attr-defined]
    assert interactions.decide("user-1", call_id, True) == "run-1"
    with anyio.fail_after(5):
        outcome = await task
    assert outcome.status is RunStatus.COMPLETED
    assert tools.calls == [("files__delete", {"x": "a.txt"})]


async def test_a_denied_call_does_not_run_and_the_model_is_told() -> None:
    tools = FakeTools()
    tools.add(spec("files__delete", ToolPolicy.ASK))
    interactions = PendingInteractions()
    interactions.register_run("run-1", "user-1")
    model = ScriptedModel(Script(calls=[("files__delete", "{}")]), Script(text=["OK, I won't."]))
    journal = RecordingJournal()
    task = asyncio.create_task(
        _agent(model, tools, interactions).run(_turn(tools), journal, RunControl())
    )
    with anyio.fail_after(5):
        asked = await journal.seen("tool.approval_required")
    call_id = asked.id  # type: ignore[attr-defined]
    interactions.decide("user-1", call_id, False)
    with anyio.fail_after(5):
        await task
    assert tools.calls == []
    result = journal.messages[1]
    assert result.is_error and "did not approve" in result.text


async def test_an_unanswered_approval_times_out_as_a_denial() -> None:
    tools = FakeTools()
    tools.add(spec("files__delete", ToolPolicy.ASK))
    model = ScriptedModel(Script(calls=[("files__delete", "{}")]), Script(text=["fine"]))
    journal = RecordingJournal()
    with anyio.fail_after(5):
        await _agent(model, tools, approval_timeout=0.01).run(_turn(tools), journal, RunControl())
    assert tools.calls == []
    assert journal.messages[1].is_error


async def test_a_denied_tool_never_runs() -> None:
    tools = FakeTools()
    tools.add(spec("shell__exec", ToolPolicy.DENY))
    model = ScriptedModel(Script(calls=[("shell__exec", "{}")]), Script(text=["Not allowed."]))
    journal = RecordingJournal()
    await _agent(model, tools).run(_turn(tools), journal, RunControl())
    assert tools.calls == []
    assert "disabled by policy" in journal.messages[1].text
    assert "tool.approval_required" not in journal.names


async def test_unknown_tools_and_bad_arguments_become_error_results() -> None:
    tools = FakeTools()
    tools.add(spec("math__add"))
    model = ScriptedModel(
        Script(calls=[("math__nope", "{}"), ("math__add", "{not json")]), Script(text=["Sorry."])
    )
    journal = RecordingJournal()
    outcome = await _agent(model, tools).run(_turn(tools), journal, RunControl())
    assert outcome.status is RunStatus.COMPLETED
    assert tools.calls == []
    unknown, bad = journal.messages[1], journal.messages[2]
    assert unknown.is_error and "no tool named" in unknown.text
    assert bad.is_error and "JSON object" in bad.text


async def test_a_failing_tool_server_is_a_host_fault_the_model_reads_as_not_the_tools_answer() -> (
    None
):
    tools = FakeTools()
    tools.add(spec("net__fetch", server="net"), broken)
    tools.add(spec("net__lookup", server="net"), _refuses)
    model = ScriptedModel(
        Script(calls=[("net__fetch", "{}"), ("net__lookup", "{}")]),
        Script(text=["The fetch failed."]),
    )
    journal = RecordingJournal()
    outcome = await _agent(model, tools).run(_turn(tools), journal, RunControl())
    assert outcome.status is RunStatus.COMPLETED
    results = {e.id: e for e in journal.events if isinstance(e, ToolResult)}
    fault, own = journal.messages[1], journal.messages[2]
    assert fault.is_error and fault.fault == "host"
    assert results[fault.tool_call_id or ""].fault == "host"
    assert own.is_error and own.fault is None and results[own.tool_call_id or ""].fault is None
    sent = {m.tool_call_id: m for m in model.requests[1].messages if m.role is Role.TOOL}
    host = sent[fault.tool_call_id]
    assert host.fault == "host"
    assert "The tool server 'net' failed, so net__fetch gave no answer" in host.text
    assert "the server went away" in host.text
    assert "not the tool's own result" in host.text
    # A tool's own error reaches the model as the tool wrote it.
    assert sent[own.tool_call_id].text == "no such city"


async def _refuses(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
    return error_outcome("no such city")


async def test_the_last_step_offers_no_tools_so_the_model_must_answer() -> None:
    tools = FakeTools()
    tools.add(spec("loop__again"))
    model = ScriptedModel(
        Script(calls=[("loop__again", "{}")]),
        Script(calls=[("loop__again", "{}")]),
        Script(text=["Final answer."]),
    )
    journal = RecordingJournal()
    outcome = await _agent(model, tools, max_steps=3).run(_turn(tools), journal, RunControl())
    assert [r.tool_choice for r in model.requests] == ["auto", "auto", "none"]
    assert outcome.status is RunStatus.COMPLETED
    assert journal.messages[-1].text == "Final answer."


async def test_the_token_budget_stops_a_run_as_incomplete() -> None:
    tools = FakeTools()
    tools.add(spec("loop__again"))
    big = Usage(input_tokens=600, output_tokens=600)
    model = ScriptedModel(Script(calls=[("loop__again", "{}")], usage=big), Script(text=["never"]))
    journal = RecordingJournal()
    outcome = await _agent(model, tools, max_run_tokens=1000).run(
        _turn(tools), journal, RunControl()
    )
    assert outcome.status is RunStatus.INCOMPLETE
    assert len(model.requests) == 1


async def test_a_model_failure_before_any_text_ends_the_run_with_an_error() -> None:
    model = ScriptedModel(Script(fail_before="The model API failed (500)."))
    journal = RecordingJournal()
    outcome = await _agent(model).run(_turn(), journal, RunControl())
    assert outcome.status is RunStatus.FAILED
    assert outcome.error_type == "model_error"
    assert journal.messages == []


async def test_a_model_failure_mid_answer_keeps_the_partial_answer() -> None:
    model = ScriptedModel(Script(text=["Half an ", "answer"], fail_after_text="connection lost"))
    journal = RecordingJournal()
    outcome = await _agent(model).run(_turn(), journal, RunControl())
    assert outcome.status is RunStatus.FAILED
    [partial] = journal.messages
    assert partial.text == "Half an answer" and partial.status is MessageStatus.PARTIAL


async def test_cancelling_keeps_the_partial_answer_and_finishes_cancelled() -> None:
    model = ScriptedModel(Script(text=["Some", " words"], hang_after_text=True))
    journal = RecordingJournal()
    control = RunControl()
    task = asyncio.create_task(_agent(model).run(_turn(), journal, control))
    with anyio.fail_after(5):
        await model.hanging.wait()
    control.reason = "cancelled"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [partial] = journal.messages
    assert partial.text == "Some words" and partial.status is MessageStatus.PARTIAL
    assert journal.outcome is not None and journal.outcome.status is RunStatus.CANCELLED


async def test_cancelling_during_a_tool_call_answers_the_call_so_history_stays_valid() -> None:
    started = anyio.Event()

    async def slow(args: dict[str, Any], ctx: ToolCallContext) -> ToolOutcome:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError

    tools = FakeTools()
    tools.add(spec("slow__wait"), slow)
    model = ScriptedModel(Script(calls=[("slow__wait", "{}")]))
    journal = RecordingJournal()
    control = RunControl(reason="interrupted")
    task = asyncio.create_task(_agent(model, tools).run(_turn(tools), journal, control))
    with anyio.fail_after(5):
        await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    call_message, result = journal.messages
    assert result.role is Role.TOOL and result.tool_call_id == call_message.tool_calls[0].id
    assert result.is_error
    assert journal.outcome is not None and journal.outcome.error_type == "interrupted"


async def test_progress_from_a_tool_streams_as_events() -> None:
    async def working(args: dict[str, Any], ctx: ToolCallContext) -> ToolOutcome:
        ctx.report_progress(1, 2, "half way")
        ctx.report_progress(2, 2, None)
        return text("done")

    tools = FakeTools()
    tools.add(spec("job__run"), working)
    model = ScriptedModel(Script(calls=[("job__run", "{}")]), Script(text=["ok"]))
    journal = RecordingJournal()
    await _agent(model, tools).run(_turn(tools), journal, RunControl())
    progress = [e for e in journal.events if e.name == "tool.progress"]
    assert [(p.progress, p.total, p.message) for p in progress] == [
        (1, 2, "half way"),
        (2, 2, None),
    ]  # type: ignore[attr-defined]
