"""The in-process event bus."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from orchestrator.domain import MessageDelta, RunCompleted
from orchestrator.events import InMemoryEventBus
from tests.fixtures.waiting import until

pytestmark = pytest.mark.anyio


async def test_subscribers_get_the_past_then_live_events_until_close() -> None:
    bus = InMemoryEventBus(retention_seconds=0.01)
    bus.open("r")
    bus.publish("r", MessageDelta(text="a"))
    seen: list[tuple[int, str]] = []

    async def follow() -> None:
        async for event in bus.subscribe("r", 0):
            seen.append((event.seq, event.name))

    task = asyncio.create_task(follow())
    await asyncio.sleep(0)
    bus.publish("r", MessageDelta(text="b"))
    bus.publish("r", RunCompleted(status="completed"))
    bus.close("r")
    with anyio.fail_after(5):
        await task
    assert seen == [(1, "message.delta"), (2, "message.delta"), (3, "run.completed")]
    late = [e.seq async for e in bus.subscribe("r", 1)]
    assert late == [2, 3]


async def test_a_closed_stream_is_forgotten_after_its_retention() -> None:
    bus = InMemoryEventBus(retention_seconds=0.01)
    bus.open("r")
    bus.close("r")
    assert bus.has("r")
    await until(lambda: not bus.has("r"), within=5)  # the eviction is a loop timer, not an event
