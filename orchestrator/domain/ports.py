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

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Send `request` and yield the answer as it streams.

        Text comes as `TextDelta`s, each tool call whole as a `ToolCallRequested`, usage as
        `UsageReported`, and a `ModelFinished` last.

        Raises:
            ModelError: the model API failed (after retries, if nothing had arrived yet).
        """
        ...

    def limits(self, model: str) -> ModelLimits:
        """The context window and answer size of `model`, for fitting a history to it."""
        ...

    def tokenizer(self, model: str) -> Tokenizer:
        """A tokenizer that counts as `model` does (or close enough to budget with)."""
        ...


class ToolHost(Protocol):
    """The tools a user may use and a way to call them.

    Also what their servers ask the model to know (added to the system prompt of runs that
    use them).
    """

    async def list_tools(self, user_id: str) -> Sequence[ToolSpec]:
        """Every tool `user_id` may use now, across their servers, with its policy."""
        ...

    async def instructions(self, user_id: str, servers: Sequence[str]) -> str | None:
        """What the named servers ask the model to know, or None if nothing.

        The run adds it to its system prompt.
        """
        ...

    async def call_tool(
        self, spec: ToolSpec, arguments: dict[str, Any], context: ToolCallContext
    ) -> ToolOutcome:
        """Call the tool `spec` names with `arguments`, on behalf of `context`.

        A tool that fails, or one that may not be called, gives an outcome with `is_error`
        for the model to read.

        Raises:
            ToolServerError: the server could not be reached or broke the protocol.
        """
        ...


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
    ) -> ElicitationAnswer:
        """The user's answer to a tool server's request for input (MCP elicitation)."""
        ...


class RunJournal(Protocol):
    """The record of one run as the loop writes it.

    `emit` is cheap and in order; `commit` makes messages and events so far durable (one
    step); `finish` records the outcome and then publishes the terminal event. `finish`
    can also commit a last step: its `messages`, and then `events` that are published only
    once all of it is durable (one write where `commit` and `finish` would take two).
    """

    def emit(self, event: RunEvent) -> None:
        """Publish `event` to the run's live stream now; it is stored with a later write."""
        ...

    async def commit(self, messages: Sequence[Message]) -> None:
        """Store `messages` and the events emitted since the last step, as one step."""
        ...

    async def finish(
        self,
        outcome: RunOutcome,
        messages: Sequence[Message] = (),
        events: Sequence[RunEvent] = (),
    ) -> None:
        """Store the run's outcome (and a last step), then publish its terminal event.

        `events` are published only once everything is stored, so a client never sees an end
        that a crash could undo.
        """
        ...


class EventBus(Protocol):
    """Live run events: publish in order, subscribe from any point, replay what is kept."""

    def publish(self, run_id: str, event: RunEvent) -> StoredEvent:
        """Number `event` as the run's next and deliver it to subscribers.

        The run's stream must be open.
        """
        ...

    def subscribe(self, run_id: str, after: int) -> AsyncIterator[StoredEvent]:
        """The run's events after sequence number `after`, then live ones, until it closes."""
        ...

    def has(self, run_id: str) -> bool:
        """Whether the run's stream is open here (or closed but still kept)."""
        ...

    def last_seq(self, run_id: str) -> int:
        """The sequence number of the run's last published event."""
        ...

    def open(self, run_id: str, start_seq: int = 0) -> None:
        """Start the run's stream; its first event will be numbered `start_seq + 1`."""
        ...

    def close(self, run_id: str) -> None:
        """End the run's stream: subscribers finish; what was published stays a while."""
        ...


class ConversationStore(Protocol):
    """The conversations a user keeps, and each one's messages.

    A conversation that is not the user's is reported as not found.
    """

    async def create_conversation(self, user_id: str, title: str) -> Conversation:
        """Start an empty conversation for the user."""
        ...

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        """The user's conversation.

        Raises:
            NotFound: there is none with that id, or it is not the user's.
        """
        ...

    async def list_conversations(
        self, user_id: str, *, query: str | None, limit: int, cursor: str | None
    ) -> Page[Conversation]:
        """A page of the user's conversations: pinned first, then the latest changed.

        `query` matches titles and message text; `cursor` is the previous page's
        `next_cursor`.
        """
        ...

    async def rename_conversation(
        self, user_id: str, conversation_id: str, title: str
    ) -> Conversation:
        """Give the user's conversation a new title.

        Raises:
            NotFound: there is none with that id, or it is not the user's.
        """
        ...

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        """Delete the user's conversation with its messages and runs.

        Raises:
            NotFound: there is none with that id, or it is not the user's.
        """
        ...

    async def messages(self, conversation_id: str) -> list[Message]:
        """The conversation's active branch, oldest message first."""
        ...


class RunStore(Protocol):
    """Runs as stored: started with the user's message, saved step by step, finished."""

    async def start_run(
        self,
        user_id: str,
        conversation_id: str,
        message: Message,
        model: str,
        *,
        run_id: str | None = None,
    ) -> Run:
        """Store the user's `message` and a new running run for it, together.

        Raises:
            NotFound: the conversation is not the user's.
            Conflict: a run is already in progress in the conversation.
        """
        ...

    async def get_run(self, user_id: str, run_id: str) -> Run:
        """The user's run.

        Raises:
            NotFound: there is none with that id, or it is not the user's.
        """
        ...

    async def save_step(
        self,
        run_id: str,
        conversation_id: str,
        messages: Sequence[Message],
        events: Sequence[StoredEvent],
    ) -> None:
        """Store a step: its new messages and the events numbered so far, in one transaction."""
        ...

    async def finish_run(
        self,
        run_id: str,
        outcome: RunOutcome,
        events: Sequence[StoredEvent],
        *,
        conversation_id: str | None = None,
        messages: Sequence[Message] = (),
    ) -> None:
        """Record the run's outcome with its last events (and its last step's `messages`)."""
        ...

    async def events(self, run_id: str, after: int) -> list[StoredEvent]:
        """The run's stored events after sequence number `after`, for a client that resumes."""
        ...


class RateLimiter(Protocol):
    """Raises `LimitExceeded` when `key` has spent its allowance."""

    async def acquire(self, key: str, cost: int = 1) -> None:
        """Spend `cost` of `key`'s allowance.

        Raises:
            LimitExceeded: not enough is left; `retry_after` says when there will be.
        """
        ...
