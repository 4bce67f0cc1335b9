"""An in-memory summary store for core tests, counting how it is asked."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.domain import Summary, Unavailable


@dataclass
class MemorySummaries:
    stored: list[Summary] = field(default_factory=list[Summary])
    reads: int = 0
    fail_saves: bool = False

    async def summaries(self, conversation_id: str, *, fresh: bool = False) -> list[Summary]:
        self.reads += 1
        return [s for s in self.stored if s.conversation_id == conversation_id]

    async def save_summary(self, summary: Summary, run_id: str | None) -> Summary:
        if self.fail_saves:
            raise Unavailable("The summary could not be stored.")
        for known in self.stored:
            if known.last_message_id == summary.last_message_id:
                return known
        self.stored.append(summary)
        return summary
