"""A journal that records what the loop writes, for core tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from orchestrator.domain import Message, RunEvent, RunOutcome


@dataclass
class RecordingJournal:
    events: list[RunEvent] = field(default_factory=list)
    commits: list[list[Message]] = field(default_factory=list)
    outcome: RunOutcome | None = None

    def emit(self, event: RunEvent) -> None:
        self.events.append(event)

    async def commit(self, messages: Sequence[Message]) -> None:
        self.commits.append(list(messages))

    async def finish(self, outcome: RunOutcome) -> None:
        assert self.outcome is None, "finish called twice"
        self.outcome = outcome

    @property
    def names(self) -> list[str]:
        return [event.name for event in self.events]

    @property
    def messages(self) -> list[Message]:
        return [message for commit in self.commits for message in commit]
