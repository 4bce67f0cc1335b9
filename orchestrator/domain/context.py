"""Fitting a conversation into a model's context window, by real token counts.

The newest messages are kept, as many as fit beside the system prompt, the tool schemas and
the room reserved for the answer. A tool result never travels without the assistant message
that asked for it. Long tool results are cut to a budget with a note saying so; the stored
message keeps every byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestrator.domain.errors import InvalidInput
from orchestrator.domain.messages import (
    ContentPart,
    ImagePart,
    Message,
    ResourcePart,
    Role,
    TextPart,
)

__all__ = [
    "ContextPlan",
    "ModelLimits",
    "Tokenizer",
    "count_message_tokens",
    "input_budget",
    "message_cost",
    "plan_context",
]

# What OpenAI's chat format adds around each message, and a flat estimate for images
# (a high-detail 512x512 tile costs 170 + 85).
_PER_MESSAGE = 4
_IMAGE_TOKENS = 255
_NOTE_TOKENS = 16
_TRUNCATION_NOTE = "\n\n[Tool result truncated: {kept} of {total} tokens shown.]"


class Tokenizer(Protocol):
    """Counts and cuts text in a model's tokens."""

    def count(self, text: str) -> int:
        """The number of tokens `text` takes in this model."""
        ...

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of `text` that fits in `max_tokens` tokens."""
        ...


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """A model's context window and the most it may write in one answer, in tokens."""

    context_window: int
    max_output_tokens: int


def count_message_tokens(message: Message, tokenizer: Tokenizer) -> int:
    """The tokens a message costs in a request, counted once when it is made."""
    total = _PER_MESSAGE + _parts_tokens(message.content, tokenizer)
    for call in message.tool_calls:
        total += tokenizer.count(call.name) + tokenizer.count(call.arguments) + _PER_MESSAGE
    return total


def _parts_tokens(parts: Sequence[ContentPart], tokenizer: Tokenizer) -> int:
    total = 0
    for part in parts:
        if isinstance(part, TextPart):
            total += tokenizer.count(part.text)
        elif isinstance(part, ImagePart):
            total += _IMAGE_TOKENS
        elif isinstance(part, ResourcePart) and part.text is not None:
            total += tokenizer.count(part.text)
        else:
            total += tokenizer.count(part.model_dump_json())
    return total


@dataclass(frozen=True, slots=True)
class ContextPlan:
    """The messages to send, and what was left out."""

    messages: list[Message]
    input_tokens: int
    dropped: int


def plan_context(
    history: Sequence[Message],
    *,
    system_prompt: str | None,
    tools_tokens: int,
    limits: ModelLimits,
    tool_result_max_tokens: int,
    tokenizer: Tokenizer,
) -> ContextPlan:
    """Choose the newest messages that fit, system prompt first.

    Raises:
        InvalidInput: when not even the newest message fits the window.
    """
    system_tokens = _system_tokens(system_prompt, tokenizer)
    budget = limits.context_window - limits.max_output_tokens - tools_tokens - system_tokens
    used = 0
    start = len(history)
    for index in range(len(history) - 1, -1, -1):
        cost = message_cost(history[index], tool_result_max_tokens)
        if used + cost > budget:
            break
        used += cost
        start = index
    # A tool result whose call was cut off means nothing to the model.
    while start < len(history) and history[start].role is Role.TOOL:
        used -= message_cost(history[start], tool_result_max_tokens)
        start += 1
    if start >= len(history) and history:
        raise InvalidInput(
            "The conversation's newest message does not fit in the model's context window "
            f"({limits.context_window} tokens, {limits.max_output_tokens} kept for the answer)."
        )
    kept = [
        _truncate_tool_result(message, tool_result_max_tokens, tokenizer)
        if message.role is Role.TOOL and message.token_count > tool_result_max_tokens
        else message
        for message in history[start:]
    ]
    if system_prompt:
        kept.insert(
            0,
            Message(
                id="system",
                role=Role.SYSTEM,
                content=[TextPart(text=system_prompt)],
                token_count=system_tokens,
            ),
        )
    return ContextPlan(messages=kept, input_tokens=used + system_tokens, dropped=start)


def input_budget(
    limits: ModelLimits, *, system_prompt: str | None, tools_tokens: int, tokenizer: Tokenizer
) -> int:
    """The tokens a history may take in a request.

    That is the window less the room kept for the answer, the system prompt and the tool
    schemas.
    """
    system_tokens = _system_tokens(system_prompt, tokenizer)
    return limits.context_window - limits.max_output_tokens - tools_tokens - system_tokens


def _system_tokens(system_prompt: str | None, tokenizer: Tokenizer) -> int:
    return tokenizer.count(system_prompt) + _PER_MESSAGE if system_prompt else 0


def message_cost(message: Message, tool_result_max_tokens: int) -> int:
    """What a message costs in a request: its tokens, a tool result at most its budget."""
    if message.role is Role.TOOL:
        return min(message.token_count, tool_result_max_tokens + _PER_MESSAGE + _NOTE_TOKENS)
    return message.token_count


def _truncate_tool_result(message: Message, max_tokens: int, tokenizer: Tokenizer) -> Message:
    parts: list[ContentPart] = []
    remaining = max_tokens
    for part in message.content:
        if isinstance(part, TextPart):
            total = tokenizer.count(part.text)
            if total <= remaining:
                parts.append(part)
                remaining -= total
                continue
            kept_text = tokenizer.truncate(part.text, max(remaining, 0))
            note = _TRUNCATION_NOTE.format(kept=max(remaining, 0), total=total)
            parts.append(TextPart(text=kept_text + note))
            remaining = 0
        elif remaining > 0:
            parts.append(part)
    return message.model_copy(update={"content": parts, "token_count": max_tokens})
