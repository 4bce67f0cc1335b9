"""A journal that records what the loop writes, for core tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from orchestrator.domain import Message, RunEvent, RunOutcome


@dataclass
class RecordingJournal:
    events: list[RunEvent] = field(default_factory=list)
    commits: list[list[Message]] = field(default_factory=list)
    outcome: RunOutcome | None = None
    _seen: dict[str, asyncio.Event] = field(default_factory=dict)

    def emit(self, event: RunEvent) -> None:
        self.events.append(event)
        self._signal(event.name).set()

    def _signal(self, name: str) -> asyncio.Event:
        return self._seen.setdefault(name, asyncio.Event())

    async def seen(self, name: str) -> RunEvent:
        """Wait for the first event called `name` and return it."""
        await self._signal(name).wait()
        return next(event for event in self.events if event.name == name)

    async def commit(self, messages: Sequence[Message]) -> None:
        self.commits.append(list(messages))

    async def finish(
        self,
        outcome: RunOutcome,
        messages: Sequence[Message] = (),
        events: Sequence[RunEvent] = (),
    ) -> None:
        assert self.outcome is None, "finish called twice"
        if messages:
            self.commits.append(list(messages))
        for event in events:
            self.emit(event)
        self.outcome = outcome

    @property
    def names(self) -> list[str]:
        return [event.name for event in self.events]

    @property
    def messages(self) -> list[Message]:
        return [message for commit in self.commits for message in commit]
