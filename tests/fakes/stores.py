"""In-memory doubles of the store ports the runtime uses, for runtime tests.

`MemoryRuns` holds each insert until the test lets it through (or makes it fail), and
refuses a write of a run whose row does not exist yet: the order `HeadStart` promises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from orchestrator.domain import (
    Message,
    NotFound,
    Run,
    RunOutcome,
    RunStatus,
    StoredEvent,
)


class MemoryConversations:
    """One conversation of one user, its active branch always cached."""

    def __init__(self, user_id: str, history: Sequence[Message] = ()) -> None:
        self.user_id = user_id
        self.history = list(history)

    def cached_history(
        self, conversation_id: str, user_id: str
    ) -> tuple[int, list[Message]] | None:
        if user_id != self.user_id:
            return None
        return len(self.history), list(self.history)

    async def cached_messages(self, conversation_id: str, last_seq: int) -> list[Message] | None:
        return None

    async def messages(self, conversation_id: str) -> list[Message]:
        return list(self.history)

    async def path_to(self, conversation_id: str, message_id: str | None) -> list[Message]:
        ids = [message.id for message in self.history]
        return self.history[: ids.index(message_id) + 1] if message_id in ids else []

    async def message_in(self, user_id: str, conversation_id: str, message_id: str) -> Message:
        for message in self.history:
            if message.id == message_id:
                return message
        raise NotFound("No such message in this conversation.")


class MemoryRuns:
    """Runs and their steps; each insert waits for `release` (or raises `fail_with`).

    `writes` logs every write in order: `("start_run", run_id)`, `("save_events", run_id)`,
    `("save_step", run_id)`, `("finish_run", run_id)`.
    """

    def __init__(self, conversations: MemoryConversations) -> None:
        self.conversations = conversations
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None
        self.seq_offset = 0
        """Added to the stored message's number: as if another process wrote meanwhile."""
        self.rows: dict[str, Run] = {}
        self.writes: list[tuple[str, str]] = []
        self.messages: list[Message] = []
        self.outcomes: dict[str, RunOutcome] = {}

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
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        history = self.conversations.history
        run = Run(
            id=run_id or f"run-{len(self.rows) + 1}",
            conversation_id=conversation_id,
            user_id=user_id,
            status=RunStatus.RUNNING,
            model=model,
            created_at=datetime.now(UTC),
            message_seq=len(history) + 1 + self.seq_offset,
            message_parent_id=history[-1].id if history else None,
        )
        history.append(message.model_copy(update={"parent_id": run.message_parent_id}))
        self.rows[run.id] = run
        self.writes.append(("start_run", run.id))
        return run

    async def start_answer_again(
        self, user_id: str, conversation_id: str, message_id: str, model: str
    ) -> Run:
        raise NotImplementedError

    async def get_run(self, user_id: str, run_id: str) -> Run:
        run = self.rows.get(run_id)
        if run is None or run.user_id != user_id:
            raise NotFound("No such run.")
        return run

    async def events(self, run_id: str, after: int) -> list[StoredEvent]:
        return []

    def _write(self, kind: str, run_id: str) -> None:
        if run_id not in self.rows:
            raise AssertionError(f"{kind} of run {run_id} before its row was stored")
        self.writes.append((kind, run_id))

    async def save_events(self, run_id: str, events: Sequence[StoredEvent]) -> None:
        self._write("save_events", run_id)

    async def save_step(
        self,
        run_id: str,
        conversation_id: str,
        messages: Sequence[Message],
        events: Sequence[StoredEvent],
    ) -> None:
        self._write("save_step", run_id)
        self.messages.extend(messages)

    async def finish_run(
        self,
        run_id: str,
        outcome: RunOutcome,
        events: Sequence[StoredEvent],
        *,
        conversation_id: str | None = None,
        messages: Sequence[Message] = (),
    ) -> None:
        self._write("finish_run", run_id)
        self.messages.extend(messages)
        self.outcomes[run_id] = outcome
