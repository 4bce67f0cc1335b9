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

from orchestrator.domain.messages import ContentPart, TextPart

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
]

TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class ToolPolicy(StrEnum):
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
    annotations: dict[str, Any] = Field(default_factory=dict[str, Any])
    timeout: float | None = None
    token_cost: int = 0


class ToolOutcome(BaseModel):
    """What a tool returned. `is_error` results go back to the model for it to read."""

    model_config = ConfigDict(frozen=True)

    content: list[ContentPart]
    is_error: bool = False
    # "host" when the call never got a tool's answer (the server failed or was unreachable),
    # as opposed to a tool that answered with an error of its own.
    fault: str | None = None


def error_outcome(message: str, fault: str | None = None) -> ToolOutcome:
    return ToolOutcome(content=[TextPart(text=message)], is_error=True, fault=fault)


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
