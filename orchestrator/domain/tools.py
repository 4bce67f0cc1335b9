"""Tools as the agent loop sees them: specs, policies, calls and outcomes.

A `ToolSpec` is one function the model may call. Its `name` is what the model sees:
namespaced per server (`files__read`) and within OpenAI's `^[a-zA-Z0-9_-]{1,64}$`. The
`policy` says whether a call runs at once (auto), waits for the user (ask) or never runs
(deny); the tool host sets it from configuration and the tool's annotations.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain.messages import ContentPart, TextPart, ToolFault

__all__ = [
    "TOOL_NAME_PATTERN",
    "ElicitationAnswer",
    "ElicitationRequest",
    "ToolCallContext",
    "ToolGrant",
    "ToolOutcome",
    "ToolPolicy",
    "ToolSpec",
    "error_outcome",
    "host_fault_outcome",
    "refusal_outcome",
]

TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class ToolPolicy(StrEnum):
    """Whether a call runs at once (auto), waits for the user's approval (ask) or never (deny)."""

    AUTO = "auto"
    ASK = "ask"
    DENY = "deny"


class ToolSpec(BaseModel):
    """One tool offered to the model."""

    model_config = ConfigDict(frozen=True)

    name: str
    server: str
    tool: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    policy: ToolPolicy = ToolPolicy.ASK
    always_ask: bool = False
    """Ask on every call, even when the user always allows the tool (a group's rule)."""
    annotations: dict[str, Any] = Field(default_factory=dict[str, Any])
    timeout: float | None = None
    token_cost: int = 0


class ToolOutcome(BaseModel):
    """What a call to a tool came to, as the model will read it.

    MCP keeps two error channels apart, and so does this: a tool that ran and failed answers
    with `is_error` content of its own (the model reads it and may correct itself); a call
    that never got the tool's answer (the server failed, timed out, was unreachable) has
    `fault="host"`, and its content is the host's report, never worded as the tool's.
    """

    model_config = ConfigDict(frozen=True)

    content: list[ContentPart]
    is_error: bool = False
    fault: ToolFault | None = None
    refused: bool = Field(
        default=False,
        description="Refused by a rule before reaching the tool (a group's deny): the "
        "loop records the call's decision as policy-denied.",
    )


def error_outcome(message: str) -> ToolOutcome:
    """An `is_error` outcome of one text: a tool's own error, or one the loop gives in its place."""
    return ToolOutcome(content=[TextPart(text=message)], is_error=True)


def refusal_outcome(message: str) -> ToolOutcome:
    """The outcome of a call a rule refused before it reached the tool (see `refused`)."""
    return ToolOutcome(content=[TextPart(text=message)], is_error=True, refused=True)


def host_fault_outcome(tool: str, server: str, detail: str) -> ToolOutcome:
    """The outcome of a call whose tool server failed (a `ToolServerError`).

    The text says plainly that the host is reporting a failure and that the tool gave no
    answer, so that the model does not read the failure as the tool's own result.
    """
    text = (
        f"The tool server {server!r} failed, so {tool} gave no answer: {detail.rstrip('. ')}. "
        "This is the host reporting a failure, not the tool's own result."
    )
    return ToolOutcome(content=[TextPart(text=text)], is_error=True, fault="host")


class ElicitationRequest(BaseModel):
    """A tool server's request for user input: a form (`schema`) or a page to visit (`url`)."""

    model_config = ConfigDict(frozen=True)

    mode: str = "form"
    message: str | None = None
    requested_schema: dict[str, Any] | None = None
    url: str | None = None


class ElicitationAnswer(BaseModel):
    """The user's answer: `accept` with `content`, `decline` or `cancel`."""

    model_config = ConfigDict(frozen=True)

    action: str
    content: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolCallContext:
    """Who a tool call is for and how it talks back while it runs.

    `report_progress` streams progress to the client; `elicit` asks the user for input and
    waits for the answer.
    """

    user_id: str
    conversation_id: str
    run_id: str
    call_id: str
    report_progress: Callable[[float, float | None, str | None], None]
    elicit: Callable[[ElicitationRequest], Awaitable[ElicitationAnswer]]


class ToolGrant(BaseModel):
    """A tool its user always allows: the "Always allow" answer to an approval, kept."""

    model_config = ConfigDict(frozen=True)

    tool: str
    created_at: datetime
