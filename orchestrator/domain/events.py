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
    "InputAnswered",
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
    "ToolDecided",
    "ToolProgress",
    "ToolResult",
]


class RunEvent(BaseModel):
    """Base of the run events; `name` is the wire name."""

    model_config = ConfigDict(frozen=True)
    name: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        """The event's SSE `data`: its fields as JSON, those that are None left out."""
        return self.model_dump(mode="json", exclude_none=True)


class RunStarted(RunEvent):
    """The first event of every run: which run, in which conversation, on which model."""

    name = "run.started"
    run_id: str
    conversation_id: str
    model: str


class MessageDelta(RunEvent):
    """A piece of the assistant's answer text, in the order the model wrote it."""

    name = "message.delta"
    text: str

    def payload(self) -> dict[str, Any]:
        """Only the text: the most frequent event stays as small as it can be."""
        return {"text": self.text}


class ToolCallStarted(RunEvent):
    """The model called a tool and the call is starting (no approval needed)."""

    name = "tool.call"
    id: str
    server: str
    tool: str
    arguments: Any


class ToolApprovalRequired(RunEvent):
    """The model called a tool whose policy is "ask": the run waits for the user.

    The client answers with the call's `id`; a `tool.decided` event follows.
    """

    name = "tool.approval_required"
    id: str
    server: str
    tool: str
    arguments: Any
    description: str | None = None


class ToolDecided(RunEvent):
    """The user answered an approval (`always`: and allows the tool from now on)."""

    name = "tool.decided"
    id: str
    approved: bool
    always: bool = False


class ToolProgress(RunEvent):
    """A tool's progress report while it runs (MCP progress notifications)."""

    name = "tool.progress"
    id: str
    progress: float
    total: float | None = None
    message: str | None = None


class ToolResult(RunEvent):
    """What a tool call returned, as the model will read it.

    `fault` is "host" when the tool server failed and the content is the host's own message.
    """

    name = "tool.result"
    id: str
    content: list[ContentPart]
    is_error: bool
    fault: str | None = None


class InputRequired(RunEvent):
    """A tool server asks the user for input (MCP elicitation)."""

    name = "input.required"
    id: str
    call_id: str | None = None
    mode: str
    message: str | None = None
    requested_schema: dict[str, Any] | None = None
    url: str | None = None

    def payload(self) -> dict[str, Any]:
        """The payload with `requested_schema` named `schema`, as MCP names it."""
        data = super().payload()
        if "requested_schema" in data:
            data["schema"] = data.pop("requested_schema")
        return data


class ContextCompacted(RunEvent):
    """The older turns were summarised before the model was asked.

    `messages` is how many were folded into the summary; the history went from
    `tokens_before` down to `tokens_after` tokens (the summary and the recent turns).
    """

    name = "context.compacted"
    summary_id: str
    messages: int
    tokens_before: int
    tokens_after: int


class InputAnswered(RunEvent):
    """The user answered (or the run stopped waiting on) an `input.required` question."""

    name = "input.answered"
    id: str
    action: str


class MessageCompleted(RunEvent):
    """The assistant's answer is stored as `message_id`, with the tokens it used."""

    name = "message.completed"
    message_id: str
    usage: Usage | None = None


class RunCompleted(RunEvent):
    """The run ended without error: `status` is completed, incomplete or cancelled."""

    name = "run.completed"
    status: str


class RunError(RunEvent):
    """The run failed: `type` is the error's `code`, `message` is for the user."""

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
        """Whether this event ends its run's stream."""
        return self.name in TERMINAL_EVENTS
