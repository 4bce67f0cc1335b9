"""Conversations and runs: the records a chat is kept in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from orchestrator.domain.messages import Usage

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "Conversation",
    "Page",
    "Run",
    "RunControl",
    "RunOutcome",
    "RunStatus",
]

T = TypeVar("T")


class Conversation(BaseModel):
    """A user's chat: its title, when it last changed and how many messages it holds."""

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int = 0
    pinned: bool = False


class RunStatus(StrEnum):
    """Where a run is. The last four are final."""

    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    CANCELLED = "cancelled"
    FAILED = "failed"


ACTIVE_RUN_STATUSES = frozenset({RunStatus.RUNNING, RunStatus.WAITING})


class Run(BaseModel):
    """One turn of the agent loop answering a user's message, as stored.

    `last_event_id` is the sequence number of the run's last stored event, where a client that
    reconnects resumes from; `error` is the `type` and `message` of a failed run.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    conversation_id: str
    user_id: str
    status: RunStatus
    model: str
    created_at: datetime
    finished_at: datetime | None = None
    error: dict[str, Any] | None = None
    usage: Usage = Usage()
    last_event_id: int = 0
    message_seq: int | None = None
    """When the run was just started: the number of the user's message that it answers."""
    message_parent_id: str | None = None
    """When the run was just started: the message its user's message follows (its branch)."""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended: a status, and for a failed run the error's type and message."""

    status: RunStatus
    error_type: str | None = None
    error_message: str | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass(slots=True)
class RunControl:
    """Set by whoever stops a run, read by the loop when it winds down.

    `reason` is "cancelled" for a user's cancel and "interrupted" when the server stops.
    """

    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; `next_cursor` (opaque) fetches the next, None on the last."""

    items: list[T]
    next_cursor: str | None = None
