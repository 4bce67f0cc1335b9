"""The agent loop: model, tools, model, ... until an answer or a budget runs out.

One run answers one user message. A long history is first compacted (older turns replaced
by a stored summary, see `compaction`). Each step streams the model's answer as deltas, commits
the assistant message, runs the tool calls it asked for in parallel (each under its policy:
auto runs, ask waits for the user, deny refuses), commits the results and goes round again.
The last allowed step offers no tools, so the model has to answer. A step is committed
before the next begins; a failure or a cancel keeps what was written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.domain.audit import tool_call_event
from orchestrator.domain.compaction import Compactor
from orchestrator.domain.completion import (
    ModelRequest,
    TextDelta,
    ToolCallRequested,
    UsageReported,
)
from orchestrator.domain.context import (
    Tokenizer,
    count_message_tokens,
    input_budget,
    plan_context,
)
from orchestrator.domain.conversations import RunControl, RunOutcome, RunStatus
from orchestrator.domain.errors import ApprovalUnavailable, AssistantError, ToolServerError
from orchestrator.domain.events import (
    InputAnswered,
    InputRequired,
    MessageCompleted,
    MessageDelta,
    RunEvent,
    RunStarted,
    ToolApprovalRequired,
    ToolCallStarted,
    ToolDecided,
    ToolProgress,
    ToolResult,
)
from orchestrator.domain.messages import (
    Message,
    MessageStatus,
    Role,
    TextPart,
    ToolCall,
    Usage,
)
from orchestrator.domain.ports import AuditTrail, ChatModel, Interactions, RunJournal, ToolHost
from orchestrator.domain.tools import (
    ElicitationAnswer,
    ElicitationRequest,
    ToolCallContext,
    ToolOutcome,
    ToolPolicy,
    ToolSpec,
    error_outcome,
    host_fault_outcome,
)

__all__ = ["Agent", "AgentBudget", "Turn"]

_INTERRUPTED = "The server stopped while this run was in progress; the partial answer was saved."


@dataclass(frozen=True, slots=True)
class AgentBudget:
    """Limits of one run, and the texts and timeouts the loop works with."""

    max_steps: int = 10
    max_run_tokens: int | None = None
    max_output_tokens: int | None = None
    tool_result_max_tokens: int = 8_000
    approval_timeout: float = 900.0
    input_timeout: float = 900.0
    system_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One run's input: the history ends with the user's new message.

    `instructions` (from the tool servers) follow the system prompt.
    """

    run_id: str
    conversation_id: str
    user_id: str
    model: str
    history: Sequence[Message]
    tools: Sequence[ToolSpec] = ()
    instructions: str | None = None


@dataclass(slots=True)
class _Step:
    """What the model has written so far in the step in flight."""

    message_id: str
    text: list[str] = field(default_factory=list[str])
    calls: list[ToolCallRequested] = field(default_factory=list[ToolCallRequested])
    usage: Usage | None = None


class Agent:
    """Runs turns against a model and a tool host."""

    def __init__(
        self,
        model: ChatModel,
        tools: ToolHost,
        interactions: Interactions,
        *,
        new_id: Callable[[], str],
        budget: AgentBudget,
        compactor: Compactor | None = None,
        audit: AuditTrail | None = None,
    ) -> None:
        self._audit = audit
        self._model = model
        self._compactor = compactor
        self._tools = tools
        self._interactions = interactions
        self._new_id = new_id
        self._budget = budget

    async def run(self, turn: Turn, journal: RunJournal, control: RunControl) -> RunOutcome:
        """Run one turn to its end and return how it ended.

        A model or tool-server failure ends the run with an `error` event; cancelling the
        task keeps the partial answer, finishes the run and re-raises.
        """
        budget = self._budget
        tokenizer = self._model.tokenizer(turn.model)
        limits = self._model.limits(turn.model)
        specs = {spec.name: spec for spec in turn.tools}
        tools_tokens = sum(_spec_tokens(spec) for spec in turn.tools)
        history = list(turn.history)
        usage = Usage()
        step: _Step | None = None
        pending_calls: list[ToolCall] = []
        answered: dict[str, Message] = {}
        system_prompt = "\n\n".join(
            text for text in (budget.system_prompt, turn.instructions) if text
        )
        journal.emit(
            RunStarted(run_id=turn.run_id, conversation_id=turn.conversation_id, model=turn.model)
        )
        try:
            if self._compactor is not None:
                compacted = await self._compactor.prepare(
                    history,
                    conversation_id=turn.conversation_id,
                    run_id=turn.run_id,
                    model=turn.model,
                    budget=input_budget(
                        limits,
                        system_prompt=system_prompt or None,
                        tools_tokens=tools_tokens,
                        tokenizer=tokenizer,
                    ),
                    tool_result_max_tokens=budget.tool_result_max_tokens,
                )
                history = compacted.history
                usage = usage + compacted.usage
                if compacted.event is not None:
                    journal.emit(compacted.event)
            for number in range(budget.max_steps):
                last_step = number == budget.max_steps - 1
                plan = plan_context(
                    history,
                    system_prompt=system_prompt or None,
                    tools_tokens=tools_tokens,
                    limits=limits,
                    tool_result_max_tokens=budget.tool_result_max_tokens,
                    tokenizer=tokenizer,
                )
                request = ModelRequest(
                    model=turn.model,
                    messages=plan.messages,
                    tools=turn.tools,
                    max_output_tokens=budget.max_output_tokens,
                    tool_choice="none" if last_step or not turn.tools else "auto",
                )
                step = _Step(message_id=self._new_id())
                try:
                    await self._stream(request, step, journal)
                except AssistantError as error:
                    await self._save_partial(step, turn, tokenizer, journal)
                    step = None
                    return await self._finish(
                        journal, RunStatus.FAILED, usage, error.code, error.message
                    )
                assistant = self._assistant_message(step, turn, tokenizer)
                step = None
                usage = usage + (assistant.usage or Usage())
                history.append(assistant)
                completed = MessageCompleted(message_id=assistant.id, usage=assistant.usage)
                if not assistant.tool_calls:
                    # The answer and the run's end: one write.
                    return await self._finish(
                        journal,
                        RunStatus.COMPLETED,
                        usage,
                        messages=[assistant],
                        events=[completed],
                    )
                await journal.commit([assistant])
                journal.emit(completed)
                pending_calls = assistant.tool_calls
                answered = {}
                results = await self._run_tools(pending_calls, specs, turn, journal, answered)
                pending_calls = []
                history.extend(results)
                await journal.commit(results)
                if (
                    budget.max_run_tokens is not None
                    and usage.total_tokens >= budget.max_run_tokens
                ):
                    return await self._finish(journal, RunStatus.INCOMPLETE, usage)
            return await self._finish(journal, RunStatus.INCOMPLETE, usage)
        except asyncio.CancelledError:
            saved: list[Message] = []
            if step is not None:
                partial = self._partial_message(step, turn, tokenizer)
                if partial is not None:
                    saved.append(partial)
            for call in pending_calls:
                saved.append(
                    answered.get(call.id)
                    or _tool_message(
                        self._new_id(),
                        call,
                        error_outcome("The run was stopped before this tool call finished."),
                        tokenizer,
                    )
                )
            if saved:
                await journal.commit(saved)
            if control.reason == "interrupted":
                await self._finish(
                    journal,
                    RunStatus.FAILED,
                    usage,
                    "interrupted",
                    _INTERRUPTED,
                )
            else:
                await self._finish(journal, RunStatus.CANCELLED, usage)
            raise

    async def _stream(self, request: ModelRequest, step: _Step, journal: RunJournal) -> None:
        emit = journal.emit
        async for event in self._model.stream(request):
            if isinstance(event, TextDelta):
                if event.text:
                    step.text.append(event.text)
                    emit(MessageDelta(text=event.text))
            elif isinstance(event, ToolCallRequested):
                step.calls.append(event)
            elif isinstance(event, UsageReported):
                step.usage = event.usage

    def _assistant_message(self, step: _Step, turn: Turn, tokenizer: Tokenizer) -> Message:
        text = "".join(step.text)
        message = Message(
            id=step.message_id,
            role=Role.ASSISTANT,
            content=[TextPart(text=text)] if text else [],
            tool_calls=[
                ToolCall(
                    id=f"call_{self._new_id().replace('-', '')}",
                    name=call.name,
                    arguments=call.arguments,
                )
                for call in step.calls
            ],
            model=turn.model,
            usage=step.usage,
        )
        return message.model_copy(update={"token_count": count_message_tokens(message, tokenizer)})

    def _partial_message(self, step: _Step, turn: Turn, tokenizer: Tokenizer) -> Message | None:
        if not step.text:
            return None
        text = "".join(step.text)
        message = Message(
            id=step.message_id,
            role=Role.ASSISTANT,
            content=[TextPart(text=text)],
            model=turn.model,
            usage=step.usage,
            status=MessageStatus.PARTIAL,
        )
        return message.model_copy(update={"token_count": count_message_tokens(message, tokenizer)})

    async def _save_partial(
        self, step: _Step, turn: Turn, tokenizer: Tokenizer, journal: RunJournal
    ) -> None:
        partial = self._partial_message(step, turn, tokenizer)
        if partial is not None:
            await journal.commit([partial])

    async def _run_tools(
        self,
        calls: Sequence[ToolCall],
        specs: dict[str, ToolSpec],
        turn: Turn,
        journal: RunJournal,
        answered: dict[str, Message],
    ) -> list[Message]:
        tokenizer = self._model.tokenizer(turn.model)

        async def one(call: ToolCall) -> None:
            outcome = await self._call_tool(call, specs.get(call.name), turn, journal)
            journal.emit(
                ToolResult(
                    id=call.id,
                    content=outcome.content,
                    is_error=outcome.is_error,
                    fault=outcome.fault,
                )
            )
            answered[call.id] = _tool_message(self._new_id(), call, outcome, tokenizer)

        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(one(call))
        return [answered[call.id] for call in calls]

    async def _call_tool(
        self, call: ToolCall, spec: ToolSpec | None, turn: Turn, journal: RunJournal
    ) -> ToolOutcome:
        arguments = call.parsed_arguments()
        journal.emit(
            ToolCallStarted(
                id=call.id,
                server=spec.server if spec else "",
                tool=spec.tool if spec else call.name,
                arguments=arguments if arguments is not None else call.arguments,
            )
        )
        decision, outcome, reason = "invalid", None, None
        try:
            if spec is None:
                outcome = error_outcome(f"There is no tool named {call.name!r}.")
            elif arguments is None:
                outcome = error_outcome(
                    f"The arguments for {call.name} must be a JSON object; "
                    f"got: {call.arguments[:200]}"
                )
            else:
                try:
                    decision, outcome = await self._decide(call, spec, arguments, turn, journal)
                except ApprovalUnavailable as denial:  # no one to ask: denied, and why
                    decision, outcome, reason = (
                        "denied",
                        error_outcome(denial.message),
                        denial.reason,
                    )
                if outcome is None:
                    outcome = await self._invoke(call, spec, arguments, turn, journal)
                    if outcome.refused:  # a rule the host checked as the call was made
                        decision = "policy-denied"
            return outcome
        finally:
            if self._audit is not None:
                where = (turn.user_id, turn.conversation_id, turn.run_id, call.id)
                server, tool = (spec.server, spec.tool) if spec else ("", call.name)
                await self._audit.record(
                    tool_call_event(where, server, tool, arguments, decision, outcome, reason)
                )

    async def _decide(
        self,
        call: ToolCall,
        spec: ToolSpec,
        arguments: dict[str, Any],
        turn: Turn,
        journal: RunJournal,
    ) -> tuple[str, ToolOutcome | None]:
        """The decision on a call (see `orchestrator.domain.audit`), and the refusal if any."""
        if spec.policy is ToolPolicy.DENY:
            return "policy-denied", error_outcome(f"The tool {call.name} is disabled by policy.")
        if spec.policy is not ToolPolicy.ASK:
            return "auto", None
        # A group's "ask" (`always_ask`) outranks the user's own "always allow".
        if not spec.always_ask and self._interactions.preapproved(turn.run_id, spec.name):
            return "always-allowed", None
        journal.emit(
            ToolApprovalRequired(
                id=call.id,
                server=spec.server,
                tool=spec.tool,
                arguments=arguments,
                description=spec.description or None,
            )
        )
        try:
            async with asyncio.timeout(self._budget.approval_timeout):
                approved = await self._interactions.approval(turn.run_id, call.id, spec.name)
        except TimeoutError:
            approved = False
        always = approved and self._interactions.preapproved(turn.run_id, spec.name)
        journal.emit(ToolDecided(id=call.id, approved=approved, always=always))
        if not approved:
            return "denied", error_outcome(f"The user did not approve the call to {call.name}.")
        return "approved", None

    async def _invoke(
        self,
        call: ToolCall,
        spec: ToolSpec,
        arguments: dict[str, Any],
        turn: Turn,
        journal: RunJournal,
    ) -> ToolOutcome:
        context = ToolCallContext(
            user_id=turn.user_id,
            conversation_id=turn.conversation_id,
            run_id=turn.run_id,
            call_id=call.id,
            report_progress=lambda progress, total, message: journal.emit(
                ToolProgress(id=call.id, progress=progress, total=total, message=message)
            ),
            elicit=lambda request: self._elicit(turn, call.id, request, journal),
        )
        try:
            return await self._tools.call_tool(spec, arguments, context)
        except ToolServerError as error:
            # The host's channel, not the tool's: see `ToolOutcome`.
            return host_fault_outcome(call.name, spec.server, error.message)

    async def _elicit(
        self, turn: Turn, call_id: str, request: ElicitationRequest, journal: RunJournal
    ) -> ElicitationAnswer:
        request_id = self._new_id()
        journal.emit(
            InputRequired(
                id=request_id,
                call_id=call_id,
                mode=request.mode,
                message=request.message,
                requested_schema=request.requested_schema,
                url=request.url,
            )
        )
        try:
            async with asyncio.timeout(self._budget.input_timeout):
                answer = await self._interactions.elicitation(turn.run_id, request_id, request)
        except TimeoutError:
            answer = ElicitationAnswer(action="cancel")
        journal.emit(InputAnswered(id=request_id, action=answer.action))
        return answer

    async def _finish(
        self,
        journal: RunJournal,
        status: RunStatus,
        usage: Usage,
        error_type: str | None = None,
        error_message: str | None = None,
        *,
        messages: Sequence[Message] = (),
        events: Sequence[RunEvent] = (),
    ) -> RunOutcome:
        outcome = RunOutcome(
            status=status, error_type=error_type, error_message=error_message, usage=usage
        )
        await journal.finish(outcome, messages, events)
        return outcome


def _tool_message(
    message_id: str, call: ToolCall, outcome: ToolOutcome, tokenizer: Tokenizer
) -> Message:
    message = Message(
        id=message_id,
        role=Role.TOOL,
        content=outcome.content,
        tool_call_id=call.id,
        name=call.name,
        is_error=outcome.is_error,
        fault=outcome.fault,
    )
    return message.model_copy(update={"token_count": count_message_tokens(message, tokenizer)})


def _spec_tokens(spec: ToolSpec) -> int:
    if spec.token_cost:
        return spec.token_cost
    return (len(spec.name) + len(spec.description) + len(str(spec.parameters))) // 3 + 8
