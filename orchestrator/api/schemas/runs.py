"""Runs and what a user answers while one waits: approvals, grants, questions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain import (
    Run,
    Usage,
)

__all__ = [
    "DecisionIn",
    "DecisionOut",
    "InputAnswer",
    "RunAccepted",
    "RunOut",
    "ToolGrantList",
    "ToolGrantOut",
]

_Strict = ConfigDict(extra="forbid")


class RunAccepted(BaseModel):
    """A run started; its events are at `GET /api/v1/runs/{run_id}/events`."""

    run_id: str
    conversation_id: str


class RunOut(BaseModel):
    """A run: its status, model, token usage and last event id.

    `error` holds the `type` and `message` of a failed run; `last_event_id` is where an event
    stream ends so far (send it as `Last-Event-ID` to resume after it).
    """

    id: str
    conversation_id: str
    status: str
    model: str
    created_at: datetime
    finished_at: datetime | None = None
    error: dict[str, Any] | None = None
    usage: Usage
    last_event_id: int

    @classmethod
    def of(cls, run: Run) -> RunOut:
        """The API's view of a stored run."""
        return cls(
            id=run.id,
            conversation_id=run.conversation_id,
            status=run.status.value,
            model=run.model,
            created_at=run.created_at,
            finished_at=run.finished_at,
            error=run.error,
            usage=run.usage,
            last_event_id=run.last_event_id,
        )


class DecisionIn(BaseModel):
    """Options of a tool call's approval."""

    model_config = _Strict
    always: bool = Field(
        default=False,
        description="Also allow this tool from now on, without asking (approve only).",
    )


class DecisionOut(BaseModel):
    """A decision on a tool call that waited for the user, as recorded."""

    tool_call_id: str
    run_id: str
    approved: bool
    always: bool | None = Field(
        default=None, description="True when the tool is allowed from now on (else absent)."
    )


class ToolGrantOut(BaseModel):
    """A tool the user allowed from now on, without being asked."""

    tool: str = Field(description="A tool name as GET /api/v1/tools lists it.")
    created_at: datetime


class ToolGrantList(BaseModel):
    """The tools the user allowed from now on."""

    items: list[ToolGrantOut]


class InputAnswer(BaseModel):
    """The answer to an `input.required` event: accept with `content`, decline or cancel."""

    model_config = _Strict
    id: str = Field(
        min_length=1, max_length=100, description="The `id` of the input.required event."
    )
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None
