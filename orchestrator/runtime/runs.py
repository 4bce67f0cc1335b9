"""Starting, following, cancelling and answering runs.

A run is a background task that outlives the request that started it: a client that
disconnects does not stop it, only `cancel` does. Its events are read from the bus while it
is live and from the store afterwards. The service reaches the database only through the
domain's ports (`ConversationStore`, `RunStore`, `StepStore`, `ToolGrants`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrator.domain import (
    AccessPolicies,
    Agent,
    AuditTrail,
    ChatModel,
    Conflict,
    ContentPart,
    ConversationStore,
    ElicitationAnswer,
    EventBus,
    InvalidInput,
    Message,
    NotFound,
    Role,
    Run,
    RunControl,
    RunOutcome,
    RunStatus,
    RunStore,
    StepStore,
    StoredEvent,
    ToolGrant,
    ToolGrants,
    ToolHost,
    ToolSpec,
    Turn,
    Unavailable,
    by_user,
    count_message_tokens,
)
from orchestrator.runtime.head_start import HeadStart
from orchestrator.runtime.interactions import PendingInteractions
from orchestrator.runtime.journal import StoreJournal

__all__ = ["RunService"]

logger = logging.getLogger(__name__)

_CANCEL_WAIT_SECONDS = 10.0


@dataclass(slots=True)
class _Active:
    task: asyncio.Task[None]
    control: RunControl
    user_id: str
    conversation_id: str

    async def stop(self, reason: str, grace: float | None = None) -> None:
        """Cancel the run's task, saying why, and wait (at most `grace` s) until it ends."""
        self.control.reason = reason
        self.task.cancel()
        await asyncio.wait({self.task}, timeout=grace)


class RunService:
    """The runs of this process: started here, followed, cancelled and answered.

    Args:
        agent: the loop each run executes.
        model: its tokenizer counts the user's message.
        tools: the tools runs may call, and their servers' instructions.
        conversations: the history a run answers.
        runs: where runs are started and read back.
        steps: where each run's journal makes its steps durable.
        bus: live events.
        interactions: the questions runs ask their users.
        default_model: the model a run uses unless told otherwise.
        grants: the tools users always allow (None: "Always allow" is not offered).
        access: what users' groups allow them (None: everyone may use any model).
    """

    def __init__(
        self,
        *,
        agent: Agent,
        model: ChatModel,
        tools: ToolHost,
        conversations: ConversationStore,
        runs: RunStore,
        steps: StepStore,
        bus: EventBus,
        interactions: PendingInteractions,
        default_model: str,
        grants: ToolGrants | None = None,
        access: AccessPolicies | None = None,
        audit: AuditTrail | None = None,
    ) -> None:
        self._audit = audit
        self._agent = agent
        self._model = model
        self._tools = tools
        self._conversations = conversations
        self._runs = runs
        self._steps = steps
        self._bus = bus
        self._interactions = interactions
        self._default_model = default_model
        self._grants = grants
        self._access = access
        self._active: dict[str, _Active] = {}

    async def check_model(self, user_id: str, model: str | None) -> None:
        """Refuse a model (None: the default) the user's groups do not allow.

        Runs check it themselves; a route checks it first when it has other work to do
        before starting one, so that a refused request changes nothing.

        Raises:
            Forbidden: the user's groups do not allow the model.
        """
        if self._access is not None:
            (await self._access.access(user_id)).check_model(model or self._default_model)

    @property
    def active_count(self) -> int:
        """How many runs are live in this process."""
        return len(self._active)

    async def _select_tools(self, user_id: str, names: Sequence[str] | None) -> list[ToolSpec]:
        if self._grants is not None:
            granted = await self._grants.list(user_id)
            self._interactions.set_grants(user_id, [grant.tool for grant in granted])
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

    def _user_message(self, content: list[ContentPart], model_name: str) -> Message:
        message = Message(id=str(uuid.uuid4()), role=Role.USER, content=content)
        tokens = count_message_tokens(message, self._model.tokenizer(model_name))
        return message.model_copy(update={"token_count": tokens})

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

        When this process holds the conversation's history, the run gets a head start: it
        asks the model while its row is being stored (see `HeadStart`).

        Raises:
            NotFound: the conversation is not the user's.
            Conflict: a run is already in progress there.
            InvalidInput: unknown tools were asked for.
            Forbidden: the user's groups do not allow the model.
        """
        model_name = model or self._default_model
        await self.check_model(user_id, model_name)
        tools = await self._select_tools(user_id, tool_names)
        message = self._user_message(content, model_name)
        cached = self._conversations.cached_history(conversation_id, user_id)
        if cached is None or self._running_in(conversation_id):
            run = await self._runs.start_run(user_id, conversation_id, message, model_name)
            history = (
                run.message_seq is not None
                and await self._conversations.cached_messages(conversation_id, run.message_seq)
            ) or await self._conversations.messages(conversation_id)
            instructions = await self._instructions(user_id, tools)
            self._launch(run, history, tools, instructions)
            return run
        return await self._start_ahead(user_id, conversation_id, message, model_name, tools, cached)

    async def _start_ahead(
        self,
        user_id: str,
        conversation_id: str,
        message: Message,
        model_name: str,
        tools: list[ToolSpec],
        cached: tuple[int, list[Message]],
    ) -> Run:
        """Launch the run on the cached history, then store its row (see `HeadStart`)."""
        known, history = cached
        run_id = str(uuid.uuid4())
        tip = history[-1].id if history else None
        instructions = await self._instructions(user_id, tools)
        draft = Run(
            id=run_id,
            conversation_id=conversation_id,
            user_id=user_id,
            status=RunStatus.RUNNING,
            model=model_name,
            created_at=datetime.now(UTC),
        )
        head_start = HeadStart()
        active = self._launch(draft, [*history, message], tools, instructions, head_start)
        run = await head_start.settle(
            self._runs.start_run(user_id, conversation_id, message, model_name, run_id=run_id),
            fresh=lambda stored: (
                stored.message_seq == known + 1 and stored.message_parent_id == tip
            ),
            drop=lambda: self._drop(run_id, active),
        )
        if not head_start.released:
            history = await self._conversations.messages(conversation_id)
            self._launch(run, history, tools, instructions)
        return run

    async def _instructions(self, user_id: str, tools: list[ToolSpec]) -> str | None:
        return await self._tools.instructions(user_id, sorted({spec.server for spec in tools}))

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
            Forbidden: the user's groups do not allow the model.
        """
        target = await self._conversations.message_in(user_id, conversation_id, message_id)
        if target.role is not Role.USER:
            raise InvalidInput(
                f"Only a user message can be edited; this one is a {target.role.value} message."
            )
        model_name = model or self._default_model
        await self.check_model(user_id, model_name)
        tools = await self._select_tools(user_id, tool_names)
        history = await self._conversations.path_to(conversation_id, target.parent_id)
        message = self._user_message(content, model_name)
        run = await self._runs.start_run(
            user_id,
            conversation_id,
            message,
            model_name,
            branch_from=target.parent_id,
            branch=True,
        )
        instructions = await self._instructions(user_id, tools)
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
            Forbidden: the user's groups do not allow the model.
        """
        target = await self._conversations.message_in(user_id, conversation_id, message_id)
        if target.role not in (Role.USER, Role.ASSISTANT):
            raise InvalidInput(
                "Only an answer (an assistant message) or the user message it answers can be "
                f"regenerated; this one is a {target.role.value} message."
            )
        model_name = model or self._default_model
        await self.check_model(user_id, model_name)
        tools = await self._select_tools(user_id, tool_names)
        path = await self._conversations.path_to(conversation_id, target.id)
        asked = max((i for i, m in enumerate(path) if m.role is Role.USER), default=None)
        if asked is None:
            raise InvalidInput("This answer does not follow a user message to answer again.")
        history = path[: asked + 1]
        run = await self._runs.start_answer_again(
            user_id, conversation_id, history[-1].id, model_name
        )
        instructions = await self._instructions(user_id, tools)
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
        head_start: HeadStart | None = None,
    ) -> _Active:
        self._bus.open(run.id)
        self._interactions.register_run(run.id, run.user_id)
        journal = StoreJournal(
            run.id,
            run.conversation_id,
            self._bus,
            self._steps,
            head_start=head_start,
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
        active = _Active(task, control, run.user_id, run.conversation_id)
        self._active[run.id] = active
        return active

    async def _drop(self, run_id: str, active: _Active) -> None:
        """Stop a run launched ahead of a row that was not stored as it expected."""
        await active.stop("dropped")
        # A task cancelled before its first step never reaches `_execute`'s cleanup.
        self._active.pop(run_id, None)
        self._interactions.forget_run(run_id)
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
        """The user's run.

        Raises:
            NotFound: not the user's run.
        """
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
        await active.stop("cancelled", _CANCEL_WAIT_SECONDS)
        return await self._runs.get_run(user_id, run_id)

    async def stop_conversation(self, user_id: str, conversation_id: str) -> None:
        """Cancel the conversation's live run, if any (before the conversation is deleted)."""
        for run_id, active in list(self._active.items()):
            if active.conversation_id == conversation_id and active.user_id == user_id:
                await active.stop("cancelled", _CANCEL_WAIT_SECONDS)
                self._active.pop(run_id, None)

    async def events(self, run: Run, after: int) -> AsyncIterator[StoredEvent]:
        """The run's events after `after`: live from the bus, else replayed from the store.

        `run` is one `get`, `start`, `edit` or `regenerate` returned, so already known to be
        the caller's: nothing is checked again.
        """
        if self._bus.has(run.id):
            async for event in self._bus.subscribe(run.id, after):
                yield event
            return
        for event in await self._runs.events(run.id, after):
            yield event

    async def _audit_answer(
        self, user_id: str, action: str, target: tuple[str, str], /, **detail: str
    ) -> None:
        """Record a user's answer to their run; for an elicitation, never what they typed."""
        if self._audit is not None:
            await self._audit.record(by_user(user_id, action, target, **detail))

    async def decide(self, user_id: str, call_id: str, approved: bool) -> str:
        """Answer a tool approval; returns the run id.

        Raises:
            NotFound: no such pending call for this user.
            Conflict: already decided.
        """
        run_id = self._interactions.decide(user_id, call_id, approved)
        action = "tool.approve" if approved else "tool.deny"
        await self._audit_answer(user_id, action, ("tool_call", call_id), run_id=run_id)
        return run_id

    async def allow_always(self, user_id: str, call_id: str) -> str:
        """Approve a waiting call, and let its tool run without asking from now on.

        Raises:
            NotFound: no such pending call for this user.
            Conflict: already decided.
            Unavailable: nowhere to remember the decision.
        """
        if self._grants is None:
            raise Unavailable("Decisions cannot be remembered here.")
        run_id, tool = self._interactions.allow_always(user_id, call_id)
        await self._grants.add(user_id, tool)
        call = ("tool_call", call_id)
        await self._audit_answer(user_id, "tool.allow_always", call, run_id=run_id, tool=tool)
        return run_id

    async def grants(self, user_id: str) -> list[ToolGrant]:
        """The tools the user always allows."""
        return await self._grants.list(user_id) if self._grants is not None else []

    async def revoke(self, user_id: str, tool: str) -> None:
        """Ask again before calls of `tool`, in runs already going too.

        Raises:
            NotFound: the user does not always allow that tool.
        """
        if self._grants is None:
            raise NotFound(f"You do not always allow {tool!r}.")
        await self._grants.remove(user_id, tool)
        await self._audit_answer(user_id, "tool.grant.revoke", ("tool", tool))
        remaining = await self._grants.list(user_id)
        self._interactions.set_grants(user_id, [grant.tool for grant in remaining])

    async def answer_input(
        self, user_id: str, run_id: str, request_id: str, answer: ElicitationAnswer
    ) -> None:
        """Answer a question (an elicitation) the user's run is waiting on.

        Raises:
            NotFound: not the user's run, or nothing waits for that answer.
            Conflict: already answered.
        """
        await self._runs.get_run(user_id, run_id)
        self._interactions.answer(user_id, run_id, request_id, answer)
        where, action = ("run", run_id), answer.action
        await self._audit_answer(user_id, "tool.input", where, request_id=request_id, action=action)

    async def shutdown(self, grace_seconds: float = 10.0) -> None:
        """Interrupt every live run, saving what each has written."""
        active = list(self._active.values())
        for entry in active:  # all at once, then one wait: each run saves in parallel
            entry.control.reason = "interrupted"
            entry.task.cancel()
        if active:
            await asyncio.wait({entry.task for entry in active}, timeout=grace_seconds)
