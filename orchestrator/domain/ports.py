"""What the core needs from the world, as small protocols.

Adapters implement them: `orchestrator.llm` the model, `orchestrator.mcp` the tools,
`orchestrator.store` the stores, `orchestrator.events` the bus. Tests use fakes. Each port
is shaped by what its user calls (the store ports by `orchestrator.runtime`), not by
everything an adapter can do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from orchestrator.domain.audit import AuditEvent
from orchestrator.domain.completion import ModelEvent, ModelRequest
from orchestrator.domain.context import ModelLimits, Tokenizer
from orchestrator.domain.conversations import Run, RunOutcome
from orchestrator.domain.events import RunEvent, StoredEvent
from orchestrator.domain.messages import Message
from orchestrator.domain.tools import (
    ElicitationAnswer,
    ElicitationRequest,
    ToolCallContext,
    ToolGrant,
    ToolOutcome,
    ToolSpec,
)

__all__ = [
    "AuditTrail",
    "ChatModel",
    "ConversationStore",
    "EventBus",
    "Interactions",
    "RunJournal",
    "RunStore",
    "StepStore",
    "ToolGrants",
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
        """The user's decision on a call of `tool`; may also grant it from now on.

        Raises:
            ApprovalUnavailable: no one can be asked here.
        """
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
    """A conversation's messages as a run reads them: its history, through a cache.

    The cache is this process's copy of each recently used conversation's active branch;
    `cached_history` answers from it alone, which lets a run start without a round trip.
    """

    def cached_history(
        self, conversation_id: str, user_id: str
    ) -> tuple[int, list[Message]] | None:
        """The cached active branch and the number of the conversation's last message.

        None unless this process holds it and knows the conversation is `user_id`'s; no I/O.
        """
        ...

    async def cached_messages(self, conversation_id: str, last_seq: int) -> list[Message] | None:
        """The active branch if the cache holds it up to message `last_seq`, else None."""
        ...

    async def messages(self, conversation_id: str) -> list[Message]:
        """The active branch, root first."""
        ...

    async def path_to(self, conversation_id: str, message_id: str | None) -> list[Message]:
        """The messages from the root to `message_id`, with it; empty for None."""
        ...

    async def message_in(self, user_id: str, conversation_id: str, message_id: str) -> Message:
        """One message of the user's conversation.

        Raises:
            NotFound: no such conversation for the user, or no such message in it.
        """
        ...


class RunStore(Protocol):
    """Runs as they are started and read back: a run's row and its stored events."""

    async def start_run(
        self,
        user_id: str,
        conversation_id: str,
        message: Message,
        model: str,
        *,
        run_id: str | None = None,
        branch_from: str | None = None,
        branch: bool = False,
    ) -> Run:
        """Store the user's message and a new running run, atomically.

        The message continues the active branch, or with `branch` starts a new one after
        `branch_from`. `Run.message_seq` and `message_parent_id` say where it landed.

        Raises:
            NotFound: the conversation is not the user's.
            Conflict: a run is already in progress in this conversation.
        """
        ...

    async def start_answer_again(
        self, user_id: str, conversation_id: str, message_id: str, model: str
    ) -> Run:
        """Store a new running run that answers `message_id` anew, on a new branch.

        Raises:
            NotFound: the conversation is not the user's.
            Conflict: a run is already in progress in this conversation.
        """
        ...

    async def get_run(self, user_id: str, run_id: str) -> Run:
        """The user's run.

        Raises:
            NotFound: no such run for the user.
        """
        ...

    async def events(self, run_id: str, after: int) -> list[StoredEvent]:
        """The run's stored events after `after`, in order."""
        ...


class StepStore(Protocol):
    """Where a run's journal makes its steps durable (the run's row exists already)."""

    async def save_events(self, run_id: str, events: Sequence[StoredEvent]) -> None:
        """Store events published since the last write."""
        ...

    async def save_step(
        self,
        run_id: str,
        conversation_id: str,
        messages: Sequence[Message],
        events: Sequence[StoredEvent],
    ) -> None:
        """Store one step's messages (each chained to the one before) and events together."""
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
        """Record the run's end with its last events; with `messages`, its last step too."""
        ...


class ToolGrants(Protocol):
    """The tools each user always allows (so their calls need no approval)."""

    async def list(self, user_id: str) -> list[ToolGrant]:
        """The user's grants, by tool name."""
        ...

    async def add(self, user_id: str, tool: str) -> None:
        """Always allow `tool` (a no-op if it already is)."""
        ...

    async def remove(self, user_id: str, tool: str) -> None:
        """Ask again before calls of `tool`.

        Raises:
            NotFound: the user does not always allow that tool.
        """
        ...


class AuditTrail(Protocol):
    """The append-only audit log (`orchestrator.domain.audit` names the actions)."""

    async def record(self, event: AuditEvent) -> None:
        """Write one record, with the request's address and trace id where unset.

        Returns once the record is stored. A failure to store it is logged with the whole
        record, never raised: the action it describes has happened.
        """
        ...
