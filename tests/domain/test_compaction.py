"""Compacting a long history: the agent loop against a scripted model and a memory store."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from orchestrator.domain import (
    Agent,
    AgentBudget,
    CompactionPolicy,
    Compactor,
    ContextCompacted,
    Message,
    ModelRequest,
    Role,
    RunControl,
    RunStatus,
    Summary,
    TextPart,
    ToolCall,
    Turn,
)
from orchestrator.runtime.interactions import PendingInteractions
from orchestrator.settings import AgentSettings
from tests.fakes.journal import RecordingJournal
from tests.fakes.model import Script, ScriptedModel
from tests.fakes.summaries import MemorySummaries
from tests.fakes.tools import FakeTools

pytestmark = pytest.mark.anyio

# A window of 2,000 with 200 kept for the answer: 1,800 for the history, compacted past
# 80% (1,440), keeping 30% (540) as recent turns. Every message costs 100 tokens.
WINDOW, MAX_OUTPUT, COST = 2_000, 200, 100


def _message(index: int, role: Role, **extra: object) -> Message:
    return Message(
        id=f"m{index}",
        role=role,
        content=[TextPart(text=f"message number {index}")],
        token_count=COST,
        **extra,
    )  # type: ignore[arg-type]


def _chat(count: int) -> list[Message]:
    """Questions and answers, ending with a question: m0 (user), m1 (assistant), ..."""
    return [_message(i, Role.USER if i % 2 == 0 else Role.ASSISTANT) for i in range(count)]


def _turn(history: list[Message]) -> Turn:
    return Turn(
        run_id="run-1",
        conversation_id="conv-1",
        user_id="user-1",
        model="gpt-5",
        history=history,
    )


def _agent(model: ScriptedModel, store: MemorySummaries, **policy: float) -> Agent:
    counter = itertools.count()

    def new_id() -> str:
        return f"id-{next(counter)}"

    compactor = Compactor(model, store, policy=CompactionPolicy(**policy), new_id=new_id)  # type: ignore[arg-type]
    return Agent(
        model,
        FakeTools(),
        PendingInteractions(),
        new_id=new_id,
        budget=AgentBudget(),
        compactor=compactor,
    )


def _ids(request: ModelRequest) -> list[str]:
    return [message.id for message in request.messages]


def _transcript(request: ModelRequest) -> str:
    return request.messages[-1].text


async def test_a_history_under_the_threshold_is_sent_whole_without_asking_the_store() -> None:
    model = ScriptedModel(Script(text=["Fine."]), window=WINDOW, max_output=MAX_OUTPUT)
    store = MemorySummaries()
    history = _chat(13)  # 1,300 tokens: under 1,440
    journal = RecordingJournal()
    outcome = await _agent(model, store).run(_turn(history), journal, RunControl())
    assert outcome.status is RunStatus.COMPLETED
    assert len(model.requests) == 1
    assert _ids(model.requests[0]) == [f"m{i}" for i in range(13)]
    assert store.reads == 0 and store.stored == []
    assert "context.compacted" not in journal.names


async def test_over_the_threshold_the_older_turns_are_summarised_and_the_recent_ones_kept() -> None:
    model = ScriptedModel(
        Script(text=["The user counted messages."]),
        Script(text=["Answer."]),
        window=WINDOW,
        max_output=MAX_OUTPUT,
    )
    store = MemorySummaries()
    history = _chat(21)  # 2,100 tokens
    journal = RecordingJournal()
    outcome = await _agent(model, store).run(_turn(history), journal, RunControl())
    assert outcome.status is RunStatus.COMPLETED

    summarising, answering = model.requests
    assert summarising.tools == () and summarising.max_output_tokens is not None
    assert "message number 0" in _transcript(summarising)
    assert "message number 15" in _transcript(summarising)
    assert "message number 16" not in _transcript(summarising)

    [summary] = store.stored
    assert summary.last_message_id == "m15" and summary.message_count == 16
    assert summary.text == "The user counted messages."
    assert _ids(answering) == [f"summary-{summary.id}", "m16", "m17", "m18", "m19", "m20"]
    assert answering.messages[0].role is Role.SYSTEM
    assert "The user counted messages." in answering.messages[0].text

    [event] = [e for e in journal.events if isinstance(e, ContextCompacted)]
    assert event.summary_id == summary.id and event.messages == 16
    assert event.tokens_before == 2_100
    assert event.tokens_after == summary.token_count + 5 * COST < event.tokens_before
    assert journal.names[:2] == ["run.started", "context.compacted"]
    # The summary is paid for: its tokens count in the run's usage.
    assert outcome.usage.input_tokens == 20


async def test_a_tool_call_and_its_result_are_never_split_by_the_summary() -> None:
    call = ToolCall(id="call_1", name="t__x", arguments="{}")
    history = _chat(15)  # m0..m14, m14 a question
    history += [
        _message(15, Role.ASSISTANT, tool_calls=[call]),
        _message(16, Role.TOOL, tool_call_id="call_1", name="t__x"),
        _message(17, Role.ASSISTANT),
        # A second result: the server failed this time.
        _message(18, Role.TOOL, tool_call_id="call_1", name="t__x", is_error=True, fault="host"),
        _message(19, Role.ASSISTANT),
        _message(20, Role.USER),
    ]
    model = ScriptedModel(
        Script(text=["Summary."]), Script(text=["Answer."]), window=WINDOW, max_output=MAX_OUTPUT
    )
    store = MemorySummaries()
    await _agent(model, store).run(_turn(history), RecordingJournal(), RunControl())
    [summary] = store.stored
    sent = _ids(model.requests[1])
    # The recent part would start among the tool messages; it starts at the question.
    assert sent == [f"summary-{summary.id}", "m20"]
    transcript = _transcript(model.requests[0])
    assert "[called t__x with {}]" in transcript and "Tool result (t__x)" in transcript
    assert "Tool server failed (t__x)" in transcript


async def test_a_summary_is_made_once_and_reused_by_later_runs() -> None:
    store = MemorySummaries()
    history = _chat(21)
    first = ScriptedModel(
        Script(text=["Summary one."]), Script(text=["A."]), window=WINDOW, max_output=MAX_OUTPUT
    )
    await _agent(first, store).run(_turn(history), RecordingJournal(), RunControl())
    [summary] = store.stored

    later = [*history, _message(21, Role.ASSISTANT), _message(22, Role.USER)]
    second = ScriptedModel(Script(text=["B."]), window=WINDOW, max_output=MAX_OUTPUT)
    journal = RecordingJournal()
    await _agent(second, store).run(_turn(later), journal, RunControl())
    [request] = second.requests  # no summarising request this time
    assert _ids(request) == [f"summary-{summary.id}", *(f"m{i}" for i in range(16, 23))]
    assert "context.compacted" not in journal.names
    assert len(store.stored) == 1


async def test_a_summary_on_another_branch_is_not_used() -> None:
    store = MemorySummaries()
    history = _chat(21)
    other_branch = Summary(
        id="s-other",
        conversation_id="conv-1",
        last_message_id="not-on-this-path",
        first_message_id="m0",
        message_count=16,
        text="Another branch.",
        token_count=50,
    )
    store.stored.append(other_branch)
    model = ScriptedModel(
        Script(text=["This branch."]), Script(text=["A."]), window=WINDOW, max_output=MAX_OUTPUT
    )
    await _agent(model, store).run(_turn(history), RecordingJournal(), RunControl())
    assert "Another branch." not in model.requests[1].messages[0].text
    assert [s.text for s in store.stored] == ["Another branch.", "This branch."]


async def test_when_the_recent_turns_grow_again_a_new_summary_folds_in_the_old_one() -> None:
    store = MemorySummaries()
    history = _chat(21)
    await _agent(
        ScriptedModel(
            Script(text=["Summary one."]), Script(text=["A."]), window=WINDOW, max_output=MAX_OUTPUT
        ),
        store,
    ).run(_turn(history), RecordingJournal(), RunControl())
    longer = _chat(41)
    model = ScriptedModel(
        Script(text=["Summary two."]), Script(text=["B."]), window=WINDOW, max_output=MAX_OUTPUT
    )
    await _agent(model, store).run(_turn(longer), RecordingJournal(), RunControl())
    transcript = _transcript(model.requests[0])
    assert "Summary one." in transcript
    assert "message number 15" not in transcript and "message number 16" in transcript
    _, second = store.stored
    assert second.message_count == 36 and second.last_message_id == "m35"
    assert _ids(model.requests[1])[0] == f"summary-{second.id}"


async def test_a_failed_summary_falls_back_to_cutting_and_the_run_still_answers() -> None:
    model = ScriptedModel(
        Script(fail_before="The model API failed (500)."),
        Script(text=["Still here."]),
        window=WINDOW,
        max_output=MAX_OUTPUT,
    )
    store = MemorySummaries()
    history = _chat(21)
    journal = RecordingJournal()
    outcome = await _agent(model, store).run(_turn(history), journal, RunControl())
    assert outcome.status is RunStatus.COMPLETED
    assert journal.messages[-1].text == "Still here."
    assert store.stored == []
    assert "context.compacted" not in journal.names
    sent = _ids(model.requests[1])
    assert sent[-1] == "m20" and "m0" not in sent  # the oldest were cut, as before
    assert not any(message_id.startswith("summary-") for message_id in sent)


async def test_after_a_failed_summary_the_next_try_waits_for_the_history_to_grow() -> None:
    model = ScriptedModel(
        Script(fail_before="The model API failed (500)."),
        Script(text=["A."]),
        Script(text=["B."]),
        Script(text=["Summary."]),
        Script(text=["C."]),
        window=WINDOW,
        max_output=MAX_OUTPUT,
    )
    store = MemorySummaries()
    agent = _agent(model, store)
    await agent.run(_turn(_chat(21)), RecordingJournal(), RunControl())
    assert len(model.requests) == 2  # tried, failed, answered
    await agent.run(_turn(_chat(23)), RecordingJournal(), RunControl())
    assert len(model.requests) == 3  # not tried again: answered at once
    journal = RecordingJournal()
    await agent.run(_turn(_chat(25)), journal, RunControl())
    assert len(model.requests) == 5 and len(store.stored) == 1
    assert "context.compacted" in journal.names


async def test_a_summary_that_cannot_be_stored_falls_back_too() -> None:
    model = ScriptedModel(
        Script(text=["Summary."]), Script(text=["A."]), window=WINDOW, max_output=MAX_OUTPUT
    )
    store = MemorySummaries(fail_saves=True)
    journal = RecordingJournal()
    outcome = await _agent(model, store).run(_turn(_chat(21)), journal, RunControl())
    assert outcome.status is RunStatus.COMPLETED
    assert "context.compacted" not in journal.names


async def test_a_history_longer_than_the_window_is_summarised_in_several_requests() -> None:
    model = ScriptedModel(
        *(Script(text=[f"Summary {i}."]) for i in range(1, 12)),
        window=WINDOW,
        max_output=MAX_OUTPUT,
    )
    store = MemorySummaries()
    long_text = "word " * 300  # about 300 tokens each, 21 of them: three windows' worth
    history = [
        message.model_copy(update={"content": [TextPart(text=long_text)], "token_count": 300})
        for message in _chat(21)
    ]
    await _agent(model, store).run(_turn(history), RecordingJournal(), RunControl())
    summarising = model.requests[:-1]
    assert len(summarising) >= 3
    tokenizer = model.tokenizer("gpt-5")
    for number, request in enumerate(summarising):
        size = sum(tokenizer.count(message.text) for message in request.messages)
        assert size <= WINDOW - MAX_OUTPUT
        if number:
            assert f"Summary {number}." in _transcript(request)
    [summary] = store.stored
    assert summary.text == f"Summary {len(summarising)}."
    assert summary.message_count == 20


async def test_compaction_turned_off_cuts_as_before() -> None:
    model = ScriptedModel(Script(text=["A."]), window=WINDOW, max_output=MAX_OUTPUT)
    store = MemorySummaries()
    await _agent(model, store, threshold=0).run(_turn(_chat(21)), RecordingJournal(), RunControl())
    assert len(model.requests) == 1 and store.reads == 0


async def test_a_history_that_ends_in_tool_results_is_cut_at_a_question() -> None:
    call = ToolCall(id="call_9", name="t__x", arguments="{}")
    history = [
        *_chat(19),  # m18 is a question
        _message(19, Role.ASSISTANT, tool_calls=[call]),
        _message(20, Role.TOOL, tool_call_id="call_9", name="t__x"),
    ]
    model = ScriptedModel(
        Script(text=["Summary."]), Script(text=["A."]), window=WINDOW, max_output=MAX_OUTPUT
    )
    store = MemorySummaries()
    await _agent(model, store).run(_turn(history), RecordingJournal(), RunControl())
    [summary] = store.stored
    assert summary.last_message_id == "m15"
    sent = _ids(model.requests[1])
    assert sent == [f"summary-{summary.id}", "m16", "m17", "m18", "m19", "m20"]


def test_settings_refuse_keeping_more_than_the_threshold() -> None:
    with pytest.raises(ValidationError, match="COMPACTION_KEEP"):
        AgentSettings(compaction_threshold=0.5, compaction_keep=0.6)
    assert AgentSettings(compaction_threshold=0, compaction_keep=0.6).compaction_keep == 0.6
