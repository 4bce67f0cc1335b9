"""Questions a run is waiting on (tool approvals, elicitations) and their answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from orchestrator.domain import (
    Conflict,
    ElicitationAnswer,
    ElicitationRequest,
    NotFound,
    RunStatus,
)

__all__ = ["PendingInteractions", "StatusWriter"]


@dataclass(slots=True)
class _Question:
    run_id: str
    user_id: str
    future: asyncio.Future[Any]
    kind: str
    request: Any = None


@dataclass(slots=True)
class _Answered:
    kind: str
    user_id: str


StatusWriter = Callable[[str, RunStatus], Awaitable[None]]
"""Records a run's status (the run store's `set_status`)."""


class PendingInteractions:
    """`Interactions` in one process: a future per open question.

    Args:
        set_status: told a run is `WAITING` when it starts waiting on its user, and
            `RUNNING` once nothing of it waits any more (None: statuses are not recorded).
    """

    def __init__(self, *, set_status: StatusWriter | None = None) -> None:
        self._set_status = set_status
        self._owners: dict[str, str] = {}
        self._grants: dict[str, set[str]] = {}
        self._open: dict[str, _Question] = {}
        self._answered: dict[str, _Answered] = {}

    def register_run(self, run_id: str, user_id: str) -> None:
        """Record whose run this is: only its user may answer its questions."""
        self._owners[run_id] = user_id

    def set_grants(self, user_id: str, tools: Iterable[str]) -> None:
        """The tools the user always allows, as stored (read when a run starts)."""
        self._grants[user_id] = set(tools)

    def preapproved(self, run_id: str, tool: str) -> bool:
        """Whether the run's user always allows `tool`."""
        user_id = self._owners.get(run_id)
        return user_id is not None and tool in self._grants.get(user_id, ())

    def forget_run(self, run_id: str) -> None:
        """Drop an ended run: its open questions are cancelled."""
        self._owners.pop(run_id, None)
        for key in [key for key, question in self._open.items() if question.run_id == run_id]:
            question = self._open.pop(key)
            if not question.future.done():
                question.future.cancel()

    async def _ask(self, run_id: str, key: str, kind: str, request: Any = None) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._open[key] = _Question(run_id, self._owners.get(run_id, ""), future, kind, request)
        if self._set_status is not None:
            await self._set_status(run_id, RunStatus.WAITING)
        try:
            return await future
        finally:
            self._open.pop(key, None)
            if self._set_status is not None and not any(
                q.run_id == run_id for q in self._open.values()
            ):
                await self._set_status(run_id, RunStatus.RUNNING)

    async def approval(self, run_id: str, call_id: str, tool: str) -> bool:
        """Wait for the user's decision on a call of `tool` (the caller bounds the wait)."""
        return bool(await self._ask(run_id, call_id, "approval", tool))

    async def elicitation(
        self, run_id: str, request_id: str, request: ElicitationRequest
    ) -> ElicitationAnswer:
        """Wait for the user's answer to a tool server's question (the caller bounds it)."""
        return await self._ask(run_id, request_id, "input", request)

    def _resolve(self, user_id: str, key: str, kind: str, value: Any) -> _Question:
        question = self._open.get(key)
        if question is None or question.user_id != user_id or question.kind != kind:
            done = self._answered.get(key)
            if done is not None and done.user_id == user_id and done.kind == kind:
                raise Conflict("This question was already answered.")
            raise NotFound("Nothing is waiting for that answer.")
        if question.future.done():
            raise Conflict("This question was already answered.")
        question.future.set_result(value)
        if len(self._answered) > 10_000:
            self._answered.clear()
        self._answered[key] = _Answered(kind, user_id)
        return question

    def decide(self, user_id: str, call_id: str, approved: bool) -> str:
        """Answer a tool approval; returns the run id.

        Raises:
            NotFound: no such pending call for this user.
            Conflict: already decided.
        """
        return self._resolve(user_id, call_id, "approval", approved).run_id

    def allow_always(self, user_id: str, call_id: str) -> tuple[str, str]:
        """Approve a call and every later call of its tool; returns the run id and the tool.

        Raises:
            NotFound: no such pending call for this user.
            Conflict: already decided.
        """
        question = self._resolve(user_id, call_id, "approval", True)
        # Before the loop resumes (it runs only once this returns): its decided event says so.
        tool = str(question.request)
        self._grants.setdefault(user_id, set()).add(tool)
        # Other calls of the same tool already waiting (parallel calls) need no answer either.
        for key, other in list(self._open.items()):
            if (
                other.kind == "approval"
                and other.user_id == user_id
                and other.request == tool
                and not other.future.done()
            ):
                self._resolve(user_id, key, "approval", True)
        return question.run_id, tool

    def answer(self, user_id: str, run_id: str, request_id: str, answer: ElicitationAnswer) -> None:
        """Answer a question of the user's run.

        Raises:
            NotFound: nothing of that run waits for that answer.
            Conflict: already answered.
        """
        question = self._open.get(request_id)
        if question is not None and question.run_id != run_id:
            raise NotFound("Nothing is waiting for that answer.")
        self._resolve(user_id, request_id, "input", answer)
