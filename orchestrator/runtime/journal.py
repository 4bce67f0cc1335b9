"""`RunJournal` on the event bus and the run store.

Events go to the bus at once (clients see them live) and into a buffer that is written to
the database with each step, and at least every second while a step streams, so a resume
from another process or after a restart finds them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from orchestrator.domain import (
    EventBus,
    Message,
    RunCompleted,
    RunError,
    RunEvent,
    RunOutcome,
    RunStatus,
    StepStore,
    StoredEvent,
)
from orchestrator.runtime.head_start import HeadStart

__all__ = ["StoreJournal"]

logger = logging.getLogger(__name__)

_FLUSH_SECONDS = 1.0


class StoreJournal:
    """`RunJournal` of one run: live on the bus, durable in the store.

    Args:
        run_id: the run written.
        conversation_id: where its messages go.
        bus: where its events are published.
        store: where its steps are made durable.
        head_start: set when the run was launched before its row was stored: every
            write waits on it (see `HeadStart`); None when the row exists already.
        tip: the message the run's first message follows (it answers on its own branch).
    """

    def __init__(
        self,
        run_id: str,
        conversation_id: str,
        bus: EventBus,
        store: StepStore,
        *,
        head_start: HeadStart | None = None,
        tip: str | None = None,
    ) -> None:
        self._head_start = head_start
        self._tip = tip
        self._run_id = run_id
        self._conversation_id = conversation_id
        self._bus = bus
        self._store = store
        self._pending: list[StoredEvent] = []
        self._flushed_at = time.monotonic()
        self._flushing: asyncio.Task[None] | None = None

    def emit(self, event: RunEvent) -> None:
        """Publish `event` now; store it with the next write (within about a second)."""
        self._pending.append(self._bus.publish(self._run_id, event))
        if self._flushing is None and time.monotonic() - self._flushed_at > _FLUSH_SECONDS:
            self._flushing = asyncio.create_task(self._flush())

    async def _stored(self) -> bool:
        """Whether writes may go to the store: the run's row exists (or never will: False)."""
        return self._head_start is None or await self._head_start.stored()

    def _take(self) -> list[StoredEvent]:
        events, self._pending = self._pending, []
        self._flushed_at = time.monotonic()
        return events

    async def _flush(self) -> None:
        if not await self._stored():
            self._flushing = None
            return
        events = self._take()
        try:
            await self._store.save_events(self._run_id, events)
        except Exception:  # a background task's root: keep the events for the next write
            logger.exception(
                "Could not save events of run %s; retrying with the next step", self._run_id
            )
            self._pending[:0] = events
        finally:
            self._flushing = None

    async def _settle(self) -> None:
        flushing = self._flushing
        if flushing is not None:
            await asyncio.shield(flushing)

    def _chain(self, messages: Sequence[Message]) -> list[Message]:
        """The messages, each following the one before: tool results stay with their call."""
        chained: list[Message] = []
        for message in messages:
            chained.append(message.model_copy(update={"parent_id": self._tip}))
            self._tip = message.id
        return chained

    async def commit(self, messages: Sequence[Message]) -> None:
        """Store a step: `messages` and the events published so far, in one write."""
        if not await self._stored():
            return
        await self._settle()
        await self._store.save_step(
            self._run_id, self._conversation_id, self._chain(messages), self._take()
        )

    async def finish(
        self,
        outcome: RunOutcome,
        messages: Sequence[Message] = (),
        events: Sequence[RunEvent] = (),
    ) -> None:
        """Record the run's end (with a last step, if given), then publish it and close.

        A failure to store is logged, not raised: the client still hears the end, and the
        recovery at the next start fixes the row.
        """
        if not await self._stored():
            return
        await self._settle()
        terminal: RunEvent
        if outcome.status is RunStatus.FAILED:
            terminal = RunError(
                type=outcome.error_type or "internal_error",
                message=outcome.error_message or "The run failed.",
            )
        else:
            terminal = RunCompleted(status=outcome.status.value)
        # The last events are numbered now and published once stored: a client never sees
        # the end of a run that a crash could still undo.
        last = [*events, terminal]
        seq = self._bus.last_seq(self._run_id)
        final = [
            StoredEvent(seq + number, event.name, event.payload())
            for number, event in enumerate(last, start=1)
        ]
        try:
            await self._store.finish_run(
                self._run_id,
                outcome,
                [*self._take(), *final],
                conversation_id=self._conversation_id,
                messages=self._chain(messages),
            )
        except Exception:  # the client must still hear the end; recovery fixes the row
            logger.exception("Could not record the end of run %s", self._run_id)
        for event in last:
            self._bus.publish(self._run_id, event)
        self._bus.close(self._run_id)
