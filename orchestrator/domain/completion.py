"""A request to a chat model and the events its stream yields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from orchestrator.domain.messages import Message, Usage
from orchestrator.domain.tools import ToolSpec

__all__ = [
    "ModelEvent",
    "ModelFinished",
    "ModelRequest",
    "TextDelta",
    "ToolCallRequested",
    "UsageReported",
]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One call to a chat model: the model's name, the messages, the tools it may call.

    `tool_choice="none"` forbids tool calls (a run's last step, a summary); `max_output_tokens`
    None leaves the model's own limit.
    """

    model: str
    messages: Sequence[Message]
    tools: Sequence[ToolSpec] = ()
    max_output_tokens: int | None = None
    tool_choice: Literal["auto", "none"] = "auto"


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text, as it streams."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallRequested:
    """A whole tool call, assembled by the adapter from the stream's fragments."""

    provider_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class UsageReported:
    """The tokens the call used, reported once near the end of the stream."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class ModelFinished:
    """The model stopped: "stop", "length", "tool_calls" or "content_filter"."""

    reason: str


ModelEvent = TextDelta | ToolCallRequested | UsageReported | ModelFinished
