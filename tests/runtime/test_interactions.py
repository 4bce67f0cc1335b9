"""The questions a run waits on (tool approvals) and who may answer them, in one process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import anyio
import pytest

from orchestrator.domain import Conflict, NotFound, RunStatus
from orchestrator.runtime.interactions import PendingInteractions
from tests.fixtures.waiting import until

pytestmark = pytest.mark.anyio


@dataclass
class Desk:
    """Alice's run `run-1` and its questions, with what the run was told about waiting."""

    told: list[bool] = field(default_factory=list[bool])
    interactions: PendingInteractions = field(init=False)

    def __post_init__(self) -> None:
        async def set_status(run_id: str, status: RunStatus) -> None:
            assert run_id == "run-1"
            self.told.append(status is RunStatus.WAITING)

        self.interactions = PendingInteractions(set_status=set_status)
        self.interactions.register_run("run-1", "alice")

    async def ask(self, call_id: str, tool: str = "files__delete") -> asyncio.Task[bool]:
        """An approval the run waits on, once it is open."""
        asked = self.told.count(True)
        task = asyncio.create_task(self.interactions.approval("run-1", call_id, tool))
        await until(lambda: self.told.count(True) > asked)
        return task


async def test_an_approval_waits_for_its_users_decision_and_returns_it() -> None:
    desk = Desk()
    waiting = await desk.ask("call-1")
    assert not waiting.done()
    assert desk.interactions.decide("alice", "call-1", False) == "run-1"
    with anyio.fail_after(5):
        assert await waiting is False


async def test_another_user_cannot_decide_and_a_second_decision_is_a_conflict() -> None:
    desk = Desk()
    waiting = await desk.ask("call-1")
    with pytest.raises(NotFound):
        desk.interactions.decide("bob", "call-1", True)
    desk.interactions.decide("alice", "call-1", True)
    with anyio.fail_after(5):
        assert await waiting is True
    with pytest.raises(Conflict):
        desk.interactions.decide("alice", "call-1", True)
    with pytest.raises(NotFound):
        desk.interactions.decide("bob", "call-1", True)


async def test_always_allow_answers_the_tools_waiting_calls_and_preapproves_later_ones() -> None:
    desk = Desk()
    first = await desk.ask("call-1")
    second = await desk.ask("call-2")
    other_tool = await desk.ask("call-3", "shell__exec")
    assert not desk.interactions.preapproved("run-1", "files__delete")
    assert desk.interactions.allow_always("alice", "call-1") == ("run-1", "files__delete")
    with anyio.fail_after(5):
        assert await first is True and await second is True
    assert not other_tool.done()
    assert desk.interactions.preapproved("run-1", "files__delete")
    assert not desk.interactions.preapproved("run-1", "shell__exec")
    desk.interactions.decide("alice", "call-3", False)
    with anyio.fail_after(5):
        assert await other_tool is False


async def test_forgetting_a_run_cancels_the_questions_it_waits_on() -> None:
    desk = Desk()
    waiting = await desk.ask("call-1")
    desk.interactions.forget_run("run-1")
    with anyio.fail_after(5), pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(NotFound):
        desk.interactions.decide("alice", "call-1", True)


async def test_the_run_is_told_when_it_starts_and_stops_waiting_on_its_user() -> None:
    desk = Desk()
    first = await desk.ask("call-1")
    second = await desk.ask("call-2")
    desk.interactions.decide("alice", "call-1", True)
    with anyio.fail_after(5):
        await first
    assert desk.told == [True, True]  # still waiting on call-2
    desk.interactions.decide("alice", "call-2", True)
    with anyio.fail_after(5):
        await second
    assert desk.told == [True, True, False]
