"""Run events: what a client sees of a run, in order.

Each event has a wire name (the SSE `event:` field) and a payload. The bus gives every event
of a run a sequence number starting at 1; that number is the SSE `id:` and what a client
sends back as `Last-Event-ID` to resume. Exactly one of `run.completed` and `error` ends a
run's stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from orchestrator.domain.messages import ContentPart, Usage

__all__ = [
    "TERMINAL_EVENTS",
    "ContextCompacted",
    "InputRequired",
    "MessageCompleted",
    "MessageDelta",
    "RunCompleted",
    "RunError",
    "RunEvent",
    "RunStarted",
    "StoredEvent",
    "ToolApprovalRequired",
    "ToolCallStarted",
    "ToolProgress",
    "ToolResult",
]


class RunEvent(BaseModel):
    """Base of the run events; `name` is the wire name."""

    model_config = ConfigDict(frozen=True)
    name: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class RunStarted(RunEvent):
    name = "run.started"
    run_id: str
    conversation_id: str
    model: str


class MessageDelta(RunEvent):
    name = "message.delta"
    text: str

    def payload(self) -> dict[str, Any]:
        return {"text": self.text}


class ToolCallStarted(RunEvent):
    name = "tool.call"
    id: str
    server: str
    tool: str
    arguments: Any


class ToolApprovalRequired(RunEvent):
    name = "tool.approval_required"
    id: str
    server: str
    tool: str
    arguments: Any
    description: str | None = None


class ToolProgress(RunEvent):
    name = "tool.progress"
    id: str
    progress: float
    total: float | None = None
    message: str | None = None


class ToolResult(RunEvent):
    name = "tool.result"
    id: str
    content: list[ContentPart]
    is_error: bool


class InputRequired(RunEvent):
    """A tool server asks the user for input (MCP elicitation)."""

    name = "input.required"
    id: str
    mode: str
    message: str | None = None
    requested_schema: dict[str, Any] | None = None
    url: str | None = None

    def payload(self) -> dict[str, Any]:
        data = super().payload()
        if "requested_schema" in data:
            data["schema"] = data.pop("requested_schema")
        return data


class ContextCompacted(RunEvent):
    """The older turns were summarised: `messages` of them, the history from
    `tokens_before` down to `tokens_after` tokens (the summary and the recent turns)."""

    name = "context.compacted"
    summary_id: str
    messages: int
    tokens_before: int
    tokens_after: int


class MessageCompleted(RunEvent):
    name = "message.completed"
    message_id: str
    usage: Usage | None = None


class RunCompleted(RunEvent):
    name = "run.completed"
    status: str


class RunError(RunEvent):
    name = "error"
    type: str
    message: str


TERMINAL_EVENTS = frozenset({RunCompleted.name, RunError.name})


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as published: its sequence number, wire name and JSON payload."""

    seq: int
    name: str
    data: dict[str, Any]

    @property
    def is_terminal(self) -> bool:
        return self.name in TERMINAL_EVENTS
