"""Starting, following, cancelling and answering runs.

A run is a background task that outlives the request that started it: a client that
disconnects does not stop it, only `cancel` does. Its events are read from the bus while it
is live and from the store afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrator.domain import (
    Agent,
    ChatModel,
    Conflict,
    ContentPart,
    ElicitationAnswer,
    EventBus,
    InvalidInput,
    Message,
    Role,
    Run,
    RunControl,
    RunOutcome,
    RunStatus,
    StoredEvent,
    ToolHost,
    ToolSpec,
    Turn,
    count_message_tokens,
)
from orchestrator.runtime.interactions import PendingInteractions
from orchestrator.runtime.journal import StoreJournal
from orchestrator.store import SqlConversationStore, SqlRunStore

__all__ = ["RunService"]

logger = logging.getLogger(__name__)

_CANCEL_WAIT_SECONDS = 10.0


@dataclass(slots=True)
class _Active:
    task: asyncio.Task[None]
    control: RunControl
    user_id: str
    conversation_id: str
    journal: StoreJournal


class RunService:
    def __init__(
        self,
        *,
        agent: Agent,
        model: ChatModel,
        tools: ToolHost,
        conversations: SqlConversationStore,
        runs: SqlRunStore,
        bus: EventBus,
        interactions: PendingInteractions,
        default_model: str,
    ) -> None:
        self._agent = agent
        self._model = model
        self._tools = tools
        self._conversations = conversations
        self._runs = runs
        self._bus = bus
        self._interactions = interactions
        self._default_model = default_model
        self._active: dict[str, _Active] = {}

    @property
    def active_count(self) -> int:
        return len(self._active)

    async def _select_tools(self, user_id: str, names: Sequence[str] | None) -> list[ToolSpec]:
        available = list(await self._tools.list_tools(user_id))
        if names is None:
            return available
        by_name = {spec.name: spec for spec in available}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise InvalidInput(
                f"Unknown tools: {', '.join(unknown)}. GET /api/v1/tools lists the available ones.",
                detail={"unknown_tools": unknown},
            )
        return [by_name[name] for name in dict.fromkeys(names)]

    async def start(
        self,
        user_id: str,
        conversation_id: str,
        content: list[ContentPart],
        *,
        model: str | None = None,
        tool_names: Sequence[str] | None = None,
    ) -> Run:
        """Store the user's message and start a run answering it.

        Raises:
            NotFound: the conversation is not the user's.
            Conflict: a run is already in progress there.
            InvalidInput: unknown tools were asked for.
        """
        model_name = model or self._default_model
        tools = await self._select_tools(user_id, tool_names)
        message = Message(id=str(uuid.uuid4()), role=Role.USER, content=content)
        message = message.model_copy(
            update={"token_count": count_message_tokens(message, self._model.tokenizer(model_name))}
        )
        servers = sorted({spec.server for spec in tools})
        cached = self._conversations.cache.history_of(conversation_id, user_id)
        if cached is None or self._running_in(conversation_id):
            run = await self._runs.start_run(user_id, conversation_id, message, model_name)
            history = (
                run.message_seq is not None
                and await self._conversations.cached_messages(conversation_id, run.message_seq)
            ) or await self._conversations.messages(conversation_id)
            instructions = await self._tools.instructions(user_id, servers)
            self._launch(run, history, tools, instructions)
            return run
        # The history is at hand and known to be the user's: the model is asked at once,
        # while the message and the run are being stored. Nothing of the run is written or
        # shown before they are; if they cannot be, the run is dropped unseen.
        known, history = cached
        run_id = str(uuid.uuid4())
        instructions = await self._tools.instructions(user_id, servers)
        started: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        draft = Run(
            id=run_id,
            conversation_id=conversation_id,
            user_id=user_id,
            status=RunStatus.RUNNING,
            model=model_name,
            created_at=datetime.now(UTC),
        )
        active = self._launch(draft, [*history, message], tools, instructions, started)
        try:
            run = await self._runs.start_run(
                user_id, conversation_id, message, model_name, run_id=run_id
            )
        except BaseException:
            await self._drop(run_id, active, started)
            raise
        tip = history[-1].id if history else None
        if run.message_seq != known + 1 or run.message_parent_id != tip:
            # Another process wrote to this conversation or switched its branch meanwhile:
            # ask again, with the branch as stored.
            await self._drop(run_id, active, started)
            history = await self._conversations.messages(conversation_id)
            self._launch(run, history, tools, instructions)
            return run
        started.set_result(True)
        return run

    async def edit(
        self,
        user_id: str,
        conversation_id: str,
        message_id: str,
        content: list[ContentPart],
        *,
        model: str | None = None,
        tool_names: Sequence[str] | None = None,
    ) -> Run:
        """Start a new branch: a user message in place of `message_id`, and its answer.

        The new message is a sibling of `message_id`; the model sees only the history
        above it.

        Raises:
            NotFound: the conversation or the message is not the user's.
            InvalidInput: `message_id` is not a user message, or unknown tools.
            Conflict: a run is already in progress there.
        """
        target = await self._conversations.message_in(user_id, conversation_id, message_id)
        if target.role is not Role.USER:
            raise InvalidInput(
                f"Only a user message can be edited; this one is a {target.role.value} message."
            )
        model_name = model or self._default_model
        tools = await self._select_tools(user_id, tool_names)
        history = await self._conversations.path_to(conversation_id, target.parent_id)
        message = Message(id=str(uuid.uuid4()), role=Role.USER, content=content)
        message = message.model_copy(
            update={"token_count": count_message_tokens(message, self._model.tokenizer(model_name))}
        )
        run = await self._runs.start_run(
            user_id,
            conversation_id,
            message,
            model_name,
            branch_from=target.parent_id,
            branch=True,
        )
        instructions = await self._tools.instructions(user_id, sorted({s.server for s in tools}))
        self._launch(run, [*history, message], tools, instructions)
        return run

    async def regenerate(
        self,
        user_id: str,
        conversation_id: str,
        message_id: str,
        *,
        model: str | None = None,
        tool_names: Sequence[str] | None = None,
    ) -> Run:
        """Start a new answer, a sibling of the answer `message_id` belongs to.

        `message_id` is an assistant message (any of the answer's, when it called tools) or
        the user message the answer is to; the model sees the history up to that user
        message.

        Raises:
            NotFound: the conversation or the message is not the user's.
            InvalidInput: `message_id` is neither a user nor an assistant message, or
                unknown tools.
            Conflict: a run is already in progress there.
        """
        target = await self._conversations.message_in(user_id, conversation_id, message_id)
        if target.role not in (Role.USER, Role.ASSISTANT):
            raise InvalidInput(
                "Only an answer (an assistant message) or the user message it answers can be "
                f"regenerated; this one is a {target.role.value} message."
            )
        model_name = model or self._default_model
        tools = await self._select_tools(user_id, tool_names)
        path = await self._conversations.path_to(conversation_id, target.id)
        asked = max((i for i, m in enumerate(path) if m.role is Role.USER), default=None)
        if asked is None:
            raise InvalidInput("This answer does not follow a user message to answer again.")
        history = path[: asked + 1]
        run = await self._runs.start_answer_again(
            user_id, conversation_id, history[-1].id, model_name
        )
        instructions = await self._tools.instructions(user_id, sorted({s.server for s in tools}))
        self._launch(run, history, tools, instructions)
        return run

    def _running_in(self, conversation_id: str) -> bool:
        return any(active.conversation_id == conversation_id for active in self._active.values())

    def _launch(
        self,
        run: Run,
        history: list[Message],
        tools: list[ToolSpec],
        instructions: str | None,
        started: asyncio.Future[bool] | None = None,
    ) -> _Active:
        self._bus.open(run.id)
        self._interactions.register_run(run.id, run.user_id)
        journal = StoreJournal(
            run.id,
            run.conversation_id,
            self._bus,
            self._runs,
            started=started,
            tip=history[-1].id if history else None,
        )
        control = RunControl()
        turn = Turn(
            run_id=run.id,
            conversation_id=run.conversation_id,
            user_id=run.user_id,
            model=run.model,
            history=history,
            tools=tools,
            instructions=instructions,
        )
        task = asyncio.create_task(self._execute(turn, journal, control), name=f"run-{run.id}")
        active = _Active(task, control, run.user_id, run.conversation_id, journal)
        self._active[run.id] = active
        return active

    async def _drop(self, run_id: str, active: _Active, started: asyncio.Future[bool]) -> None:
        """Stop a run whose record was never stored; it leaves no trace."""
        started.set_result(False)
        active.control.reason = "dropped"
        active.task.cancel()
        await asyncio.wait({active.task})
        self._bus.close(run_id)

    async def _execute(self, turn: Turn, journal: StoreJournal, control: RunControl) -> None:
        try:
            await self._agent.run(turn, journal, control)
        except asyncio.CancelledError:
            pass  # the loop recorded the cancel; the task ends here by design
        except Exception:  # the root of a background task: record the failure, keep serving
            logger.exception("Run %s failed", turn.run_id)
            await journal.finish(
                RunOutcome(
                    status=RunStatus.FAILED,
                    error_type="internal_error",
                    error_message="The run failed on an internal error; its answer so far is kept.",
                )
            )
        finally:
            self._active.pop(turn.run_id, None)
            self._interactions.forget_run(turn.run_id)

    async def get(self, user_id: str, run_id: str) -> Run:
        return await self._runs.get_run(user_id, run_id)

    async def cancel(self, user_id: str, run_id: str) -> Run:
        """Stop a run, keeping its partial answer; returns the run as it ended.

        Raises:
            NotFound: not the user's run.
            Conflict: the run has already ended.
        """
        run = await self._runs.get_run(user_id, run_id)
        active = self._active.get(run_id)
        if active is None:
            if run.status in (RunStatus.RUNNING, RunStatus.WAITING):
                raise Conflict("The run is not running in this process; try again shortly.")
            raise Conflict(f"The run has already ended ({run.status.value}).")
        active.control.reason = "cancelled"
        active.task.cancel()
        await asyncio.wait({active.task}, timeout=_CANCEL_WAIT_SECONDS)
        return await self._runs.get_run(user_id, run_id)

    async def stop_conversation(self, user_id: str, conversation_id: str) -> None:
        """Cancel the conversation's live run, if any (before the conversation is deleted)."""
        for run_id, active in list(self._active.items()):
            if active.conversation_id == conversation_id and active.user_id == user_id:
                active.control.reason = "cancelled"
                active.task.cancel()
                await asyncio.wait({active.task}, timeout=_CANCEL_WAIT_SECONDS)
                self._active.pop(run_id, None)

    async def events(
        self, user_id: str, run_id: str, after: int, *, owned: bool = False
    ) -> AsyncIterator[StoredEvent]:
        """The run's events after `after`: live from the bus, else replayed from the store."""
        if not owned:
            await self._runs.get_run(user_id, run_id)
        if self._bus.has(run_id):
            async for event in self._bus.subscribe(run_id, after):
                yield event
            return
        for event in await self._runs.events(run_id, after):
            yield event

    def decide(self, user_id: str, call_id: str, approved: bool) -> str:
        return self._interactions.decide(user_id, call_id, approved)

    async def answer_input(
        self, user_id: str, run_id: str, request_id: str, answer: ElicitationAnswer
    ) -> None:
        await self._runs.get_run(user_id, run_id)
        self._interactions.answer(user_id, run_id, request_id, answer)

    async def set_waiting(self, run_id: str, waiting: bool) -> None:
        await self._runs.set_status(run_id, RunStatus.WAITING if waiting else RunStatus.RUNNING)

    async def shutdown(self, grace_seconds: float = 10.0) -> None:
        """Interrupt every live run, saving what each has written."""
        active = list(self._active.values())
        for entry in active:
            entry.control.reason = "interrupted"
            entry.task.cancel()
        if active:
            await asyncio.wait({entry.task for entry in active}, timeout=grace_seconds)
