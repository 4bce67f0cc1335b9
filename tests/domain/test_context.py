"""Fitting a history into a context window."""

from __future__ import annotations

import pytest

from orchestrator.domain import (
    InvalidInput,
    Message,
    ModelLimits,
    Role,
    TextPart,
    ToolCall,
    count_message_tokens,
    plan_context,
)
from orchestrator.llm import tokenizer_for

TOKENIZER = tokenizer_for("gpt-5")


def _message(
    index: int, role: Role = Role.USER, text: str | None = None, **extra: object
) -> Message:
    message = Message(
        id=f"m{index}",
        role=role,
        content=[TextPart(text=text or f"message number {index}")],
        **extra,
    )  # type: ignore[arg-type]
    return message.model_copy(update={"token_count": count_message_tokens(message, TOKENIZER)})


def _plan(history: list[Message], window: int, *, system: str | None = None, tool_max: int = 1000):
    return plan_context(
        history,
        system_prompt=system,
        tools_tokens=0,
        limits=ModelLimits(context_window=window, max_output_tokens=10),
        tool_result_max_tokens=tool_max,
        tokenizer=TOKENIZER,
    )


def test_a_history_that_fits_is_sent_whole_after_the_system_prompt() -> None:
    history = [_message(i) for i in range(5)]
    plan = _plan(history, 10_000, system="Be kind.")
    assert [m.id for m in plan.messages] == ["system", "m0", "m1", "m2", "m3", "m4"]
    assert plan.dropped == 0
    assert plan.input_tokens == sum(m.token_count for m in history) + plan.messages[0].token_count


def test_the_oldest_messages_go_first_when_the_window_is_full() -> None:
    history = [_message(i) for i in range(50)]
    per_message = history[0].token_count
    plan = _plan(history, 10 + per_message * 5 + 2)
    assert [m.id for m in plan.messages] == [f"m{i}" for i in range(45, 50)]
    assert plan.dropped == 45


def test_a_tool_result_never_travels_without_its_call() -> None:
    call = ToolCall(id="call_1", name="t__x", arguments="{}")
    history = [
        _message(0),
        _message(1, Role.ASSISTANT, text="", tool_calls=[call]),
        _message(2, Role.TOOL, text="result " * 5, tool_call_id="call_1"),
        _message(3),
    ]
    budget = history[2].token_count + history[3].token_count + 10
    plan = _plan(history, budget)
    assert [m.id for m in plan.messages] == ["m3"]


def test_a_long_tool_result_is_cut_with_a_note_but_the_stored_one_is_whole() -> None:
    long = "lorem ipsum " * 2000
    call = ToolCall(id="call_1", name="t__x", arguments="{}")
    history = [
        _message(0),
        _message(1, Role.ASSISTANT, text="", tool_calls=[call]),
        _message(2, Role.TOOL, text=long, tool_call_id="call_1"),
    ]
    plan = _plan(history, 100_000, tool_max=50)
    sent = plan.messages[-1].text
    assert sent.startswith("lorem ipsum") and "truncated: 50 of" in sent
    assert TOKENIZER.count(sent) < 100
    assert history[2].text == long


def test_a_newest_message_too_large_for_the_window_is_refused() -> None:
    with pytest.raises(InvalidInput, match="does not fit"):
        _plan([_message(0, text="word " * 500)], 100)
