"""The in-process event bus: one ordered, replayable stream per run.

Deltas are kept as bare strings (a few dozen bytes each) and turned into events when read,
so a long answer costs little memory while its run is live. A closed stream stays for a
short while so late subscribers read it from memory; after that the store replays it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from orchestrator.domain import MessageDelta, RunEvent, StoredEvent

__all__ = ["InMemoryEventBus"]

_DELTA = MessageDelta.name


class _Stream:
    __slots__ = ("base", "closed", "items", "waiter")

    def __init__(self, base: int) -> None:
        self.base = base
        self.items: list[str | StoredEvent] = []
        self.closed = False
        self.waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        if self.waiter is None:
            self.waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self.waiter)


class InMemoryEventBus:
    """`EventBus` for a single process."""

    def __init__(self, retention_seconds: float = 60.0) -> None:
        self._streams: dict[str, _Stream] = {}
        self._retention = retention_seconds

    def open(self, run_id: str, start_seq: int = 0) -> None:
        """Start a stream for the run; its events are numbered from `start_seq + 1`."""
        self._streams[run_id] = _Stream(start_seq)

    def has(self, run_id: str) -> bool:
        """Whether the run's stream is here: open, or closed and not yet evicted."""
        return run_id in self._streams

    def last_seq(self, run_id: str) -> int:
        """The sequence number of the run's last published event.

        Raises:
            KeyError: the run has no stream here.
        """
        stream = self._streams[run_id]
        return stream.base + len(stream.items)

    def publish(self, run_id: str, event: RunEvent) -> StoredEvent:
        """Number `event`, keep it and wake the run's subscribers.

        Raises:
            KeyError: the run has no stream here (`open` it first).
        """
        stream = self._streams[run_id]
        seq = stream.base + len(stream.items) + 1
        if type(event) is MessageDelta:
            stream.items.append(event.text)
            stored = StoredEvent(seq, _DELTA, {"text": event.text})
        else:
            stored = StoredEvent(seq, event.name, event.payload())
            stream.items.append(stored)
        stream.wake()
        return stored

    def close(self, run_id: str) -> None:
        """End the run's stream; it stays readable for the retention time, then goes."""
        stream = self._streams.get(run_id)
        if stream is None:
            return
        stream.closed = True
        stream.wake()
        asyncio.get_running_loop().call_later(self._retention, self._evict, run_id, stream)

    def _evict(self, run_id: str, stream: _Stream) -> None:
        if self._streams.get(run_id) is stream:
            del self._streams[run_id]

    async def subscribe(self, run_id: str, after: int) -> AsyncIterator[StoredEvent]:
        """Events after `after`, then live ones, until the stream closes."""
        stream = self._streams.get(run_id)
        if stream is None:
            return
        index = max(after - stream.base, 0)
        while True:
            items = stream.items
            while index < len(items):
                item = items[index]
                index += 1
                if type(item) is str:
                    yield StoredEvent(stream.base + index, _DELTA, {"text": item})
                else:
                    yield item  # type: ignore[misc]
            if stream.closed:
                return
            await stream.wait()
