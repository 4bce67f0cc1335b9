"""A run launched before its row is stored (`HeadStart`), against in-memory stores."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import anyio
import pytest

from orchestrator.domain import (
    Agent,
    AgentBudget,
    Conflict,
    Message,
    ModelEvent,
    ModelRequest,
    Role,
    Run,
    RunStatus,
    StoredEvent,
    TextPart,
)
from orchestrator.events import InMemoryEventBus
from orchestrator.runtime.interactions import PendingInteractions
from orchestrator.runtime.runs import RunService
from tests.fakes.model import Script, ScriptedModel
from tests.fakes.stores import MemoryConversations, MemoryRuns
from tests.fakes.tools import FakeTools

pytestmark = pytest.mark.anyio

USER = "user-1"
CONVERSATION = "conv-1"


class _SignallingModel(ScriptedModel):
    """Sets `answered` once a stream has yielded its last event."""

    def __init__(self, *scripts: Script) -> None:
        super().__init__(*scripts)
        self.answered = anyio.Event()

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        async for event in super().stream(request):
            yield event
        self.answered.set()


def _service(model: ScriptedModel, runs: MemoryRuns) -> tuple[RunService, InMemoryEventBus]:
    counter = itertools.count()
    interactions = PendingInteractions()
    agent = Agent(
        model,
        FakeTools(),
        interactions,
        new_id=lambda: f"id-{next(counter)}",
        budget=AgentBudget(),
    )
    bus = InMemoryEventBus()
    service = RunService(
        agent=agent,
        model=model,
        tools=FakeTools(),
        conversations=runs.conversations,
        runs=runs,
        steps=runs,
        bus=bus,
        interactions=interactions,
        default_model="gpt-5",
    )
    return service, bus


def _runs(*texts: str) -> MemoryRuns:
    history = [
        Message(id=f"m{i}", role=Role.USER, content=[TextPart(text=text)], token_count=3)
        for i, text in enumerate(texts)
    ]
    for earlier, later in itertools.pairwise(history):
        history[history.index(later)] = later.model_copy(update={"parent_id": earlier.id})
    return MemoryRuns(MemoryConversations(USER, history))


async def _events(bus: InMemoryEventBus, run_id: str) -> list[StoredEvent]:
    """The run's events until its stream closes (after its end is stored)."""
    with anyio.fail_after(5):
        return [event async for event in bus.subscribe(run_id, 0)]


async def test_a_failed_insert_drops_the_launched_run_and_the_caller_gets_the_error() -> None:
    model = ScriptedModel(Script(text=["Hel"], hang_after_text=True))
    runs = _runs("earlier")
    runs.fail_with = Conflict("A run is already in progress in this conversation.")
    service, _ = _service(model, runs)
    async with anyio.create_task_group() as group:
        outcome: list[BaseException] = []

        async def start() -> None:
            try:
                await service.start(USER, CONVERSATION, [TextPart(text="hi")])
            except Conflict as error:
                outcome.append(error)

        group.start_soon(start)
        with anyio.fail_after(5):
            await model.hanging.wait()  # the model was asked before the row exists
        runs.release.set()
    assert [type(error) for error in outcome] == [Conflict]
    assert runs.writes == []
    assert runs.messages == []
    assert service.active_count == 0


async def test_writes_made_before_the_row_exists_land_after_it() -> None:
    model = _SignallingModel(Script(text=["Hel", "lo"]))
    runs = _runs("earlier")
    service, bus = _service(model, runs)
    async with anyio.create_task_group() as group:
        started: list[Run] = []

        async def start() -> None:
            started.append(await service.start(USER, CONVERSATION, [TextPart(text="hi")]))

        group.start_soon(start)
        with anyio.fail_after(5):
            await model.answered.wait()  # the answer is whole and waits to be written
        assert runs.writes == []
        runs.release.set()
    [run] = started
    names = [event.name for event in await _events(bus, run.id)]
    assert names[0] == "run.started" and names[-1] == "run.completed"
    assert runs.writes == [("start_run", run.id), ("finish_run", run.id)]
    assert [message.text for message in runs.messages] == ["Hello"]
    assert runs.messages[0].parent_id == runs.conversations.history[-1].id
    assert runs.outcomes[run.id].status is RunStatus.COMPLETED


async def test_a_row_showing_another_writer_relaunches_the_run_on_the_stored_history() -> None:
    model = _SignallingModel(Script(text=["stale"], hang_after_text=True), Script(text=["fresh"]))
    runs = _runs("earlier")
    runs.seq_offset = 1
    service, bus = _service(model, runs)
    async with anyio.create_task_group() as group:
        started: list[Run] = []

        async def start() -> None:
            started.append(await service.start(USER, CONVERSATION, [TextPart(text="hi")]))

        group.start_soon(start)
        with anyio.fail_after(5):
            await model.hanging.wait()
        runs.release.set()
    [run] = started
    texts = [event.data.get("text") for event in await _events(bus, run.id)]
    assert "stale" not in texts and "fresh" in texts
    assert len(model.requests) == 2
    assert [m.text for m in model.requests[1].messages if m.role is Role.USER] == ["earlier", "hi"]
    assert [message.text for message in runs.messages] == ["fresh"]
    assert runs.writes == [("start_run", run.id), ("finish_run", run.id)]
