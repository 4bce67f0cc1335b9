"""What the core needs from the world, as small protocols.

Adapters implement them: `orchestrator.llm` the model, `orchestrator.mcp` the tools,
`orchestrator.store` the stores, `orchestrator.events` the bus. Tests use fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from orchestrator.domain.completion import ModelEvent, ModelRequest
from orchestrator.domain.context import ModelLimits, Tokenizer
from orchestrator.domain.conversations import Conversation, Page, Run, RunOutcome
from orchestrator.domain.events import RunEvent, StoredEvent
from orchestrator.domain.messages import Message
from orchestrator.domain.tools import (
    ElicitationAnswer,
    ElicitationRequest,
    ToolCallContext,
    ToolOutcome,
    ToolSpec,
)

__all__ = [
    "ChatModel",
    "ConversationStore",
    "EventBus",
    "Interactions",
    "RateLimiter",
    "RunJournal",
    "RunStore",
    "ToolHost",
]


class ChatModel(Protocol):
    """A streaming chat model with function calling.

    `stream` retries transient failures itself until the first event; after that a failure
    raises `ModelError` and the caller keeps what arrived.
    """

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]: ...

    def limits(self, model: str) -> ModelLimits: ...

    def tokenizer(self, model: str) -> Tokenizer: ...


class ToolHost(Protocol):
    """The tools a user may use, a way to call them, and what their servers ask the model
    to know (added to the system prompt of runs that use them)."""

    async def list_tools(self, user_id: str) -> Sequence[ToolSpec]: ...

    async def instructions(self, user_id: str, servers: Sequence[str]) -> str | None: ...

    async def call_tool(
        self, spec: ToolSpec, arguments: dict[str, Any], context: ToolCallContext
    ) -> ToolOutcome: ...


class Interactions(Protocol):
    """Questions a run asks its user, answered from elsewhere (the API, the terminal).

    Both wait until answered; the caller bounds the wait.
    """

    def preapproved(self, run_id: str, tool: str) -> bool:
        """Whether the run's user always allows `tool` (so no question is asked)."""
        ...

    async def approval(self, run_id: str, call_id: str, tool: str) -> bool:
        """The user's decision on a call of `tool`; may also grant it from now on."""
        ...

    async def elicitation(
        self, run_id: str, request_id: str, request: ElicitationRequest
    ) -> ElicitationAnswer: ...


class RunJournal(Protocol):
    """The record of one run as the loop writes it.

    `emit` is cheap and in order; `commit` makes messages and events so far durable (one
    step); `finish` records the outcome and then publishes the terminal event. `finish`
    can also commit a last step: its `messages`, and then `events` that are published only
    once all of it is durable (one write where `commit` and `finish` would take two).
    """

    def emit(self, event: RunEvent) -> None: ...

    async def commit(self, messages: Sequence[Message]) -> None: ...

    async def finish(
        self,
        outcome: RunOutcome,
        messages: Sequence[Message] = (),
        events: Sequence[RunEvent] = (),
    ) -> None: ...


class EventBus(Protocol):
    """Live run events: publish in order, subscribe from any point, replay what is kept."""

    def publish(self, run_id: str, event: RunEvent) -> StoredEvent: ...

    def subscribe(self, run_id: str, after: int) -> AsyncIterator[StoredEvent]: ...

    def has(self, run_id: str) -> bool: ...

    def last_seq(self, run_id: str) -> int: ...

    def open(self, run_id: str, start_seq: int = 0) -> None: ...

    def close(self, run_id: str) -> None: ...


class ConversationStore(Protocol):
    async def create_conversation(self, user_id: str, title: str) -> Conversation: ...

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation: ...

    async def list_conversations(
        self, user_id: str, *, query: str | None, limit: int, cursor: str | None
    ) -> Page[Conversation]: ...

    async def rename_conversation(
        self, user_id: str, conversation_id: str, title: str
    ) -> Conversation: ...

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None: ...

    async def messages(self, conversation_id: str) -> list[Message]: ...


class RunStore(Protocol):
    async def start_run(
        self,
        user_id: str,
        conversation_id: str,
        message: Message,
        model: str,
        *,
        run_id: str | None = None,
    ) -> Run: ...

    async def get_run(self, user_id: str, run_id: str) -> Run: ...

    async def save_step(
        self,
        run_id: str,
        conversation_id: str,
        messages: Sequence[Message],
        events: Sequence[StoredEvent],
    ) -> None: ...

    async def finish_run(
        self,
        run_id: str,
        outcome: RunOutcome,
        events: Sequence[StoredEvent],
        *,
        conversation_id: str | None = None,
        messages: Sequence[Message] = (),
    ) -> None: ...

    async def events(self, run_id: str, after: int) -> list[StoredEvent]: ...


class RateLimiter(Protocol):
    """Raises `LimitExceeded` when `key` has spent its allowance."""

    async def acquire(self, key: str, cost: int = 1) -> None: ...
