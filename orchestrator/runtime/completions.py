"""Stateless completions for OpenAI clients: the agent loop, with tools, and no storage.

`POST /v1/chat/completions` brings its whole history each time, so nothing is stored;
the same agent loop runs it, with the user's MCP tools executed on the server. Nobody is
there to approve a call or answer a server's question, so a tool whose policy is "ask"
is refused with a message that says why, and elicitations are cancelled.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectSendStream

from orchestrator.domain import (
    AccessPolicies,
    Agent,
    AgentBudget,
    ApprovalUnavailable,
    AuditTrail,
    ChatModel,
    ElicitationAnswer,
    ElicitationRequest,
    Message,
    MessageDelta,
    RunControl,
    RunEvent,
    RunOutcome,
    RunStatus,
    ToolCallContext,
    ToolHost,
    ToolOutcome,
    ToolPolicy,
    ToolSpec,
    Turn,
    Usage,
    count_message_tokens,
    refusal_outcome,
)

__all__ = ["CompletionEvent", "CompletionService", "Finished", "TextChunk"]

logger = logging.getLogger(__name__)

ASK_REFUSAL = (
    "The tool {name} needs the user's approval before it runs, and the OpenAI-compatible "
    "API (/v1/chat/completions) has no way to ask for it, so it was not called. Use the "
    "assistant's own chat (or its /api/v1 conversations), or ask an admin to set this "
    "tool's policy to auto."
)


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A piece of the answer's text, as the model streamed it."""

    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The end: `finish_reason` as OpenAI says it, or an error type and message."""

    finish_reason: str
    usage: Usage
    error_type: str | None = None
    error_message: str | None = None


CompletionEvent = TextChunk | Finished


class _Unattended:
    """Interactions with nobody there: approvals are never asked, questions are cancelled."""

    def preapproved(self, run_id: str, tool: str) -> bool:
        return False

    async def approval(self, run_id: str, call_id: str, tool: str) -> bool:
        raise ApprovalUnavailable(ASK_REFUSAL.format(name=tool), "approval_unavailable")

    async def elicitation(
        self, run_id: str, request_id: str, request: ElicitationRequest
    ) -> ElicitationAnswer:
        return ElicitationAnswer(action="cancel")


class _WithoutApprovals:
    """The user's tools; a call listed as auto whose tool needs approval by now is refused.

    Calls of tools listed as needing approval are denied by the loop (`_Unattended`).
    """

    def __init__(self, tools: ToolHost) -> None:
        self._tools = tools

    async def list_tools(self, user_id: str) -> Sequence[ToolSpec]:
        return await self._tools.list_tools(user_id)

    async def call_tool(
        self, spec: ToolSpec, arguments: dict[str, Any], context: ToolCallContext
    ) -> ToolOutcome:
        current = {s.name: s for s in await self._tools.list_tools(context.user_id)}.get(spec.name)
        if current is not None and current.policy is ToolPolicy.ASK:
            return refusal_outcome(ASK_REFUSAL.format(name=spec.name))
        return await self._tools.call_tool(spec, arguments, context)

    async def instructions(self, user_id: str, servers: Sequence[str]) -> str | None:
        return await self._tools.instructions(user_id, servers)


class _StreamJournal:
    """A `RunJournal` that stores nothing and hands text and the end to a stream."""

    def __init__(self, send: MemoryObjectSendStream[CompletionEvent]) -> None:
        self._send = send

    def put(self, event: CompletionEvent) -> None:
        try:
            self._send.send_nowait(event)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the client has gone; the run is being cancelled

    def emit(self, event: RunEvent) -> None:
        if isinstance(event, MessageDelta):
            self.put(TextChunk(event.text))

    async def commit(self, messages: Sequence[Message]) -> None:
        return None

    async def finish(
        self,
        outcome: RunOutcome,
        messages: Sequence[Message] = (),
        events: Sequence[RunEvent] = (),
    ) -> None:
        reason = "length" if outcome.status is RunStatus.INCOMPLETE else "stop"
        self.put(Finished(reason, outcome.usage, outcome.error_type, outcome.error_message))


class CompletionService:
    """Runs completions as tasks of its own task group (open it with `async with`)."""

    def __init__(
        self,
        *,
        model: ChatModel,
        tools: ToolHost,
        budget: AgentBudget,
        access: AccessPolicies | None = None,
        audit: AuditTrail | None = None,
    ) -> None:
        self._model = model
        self._access = access
        self._tools = _WithoutApprovals(tools)
        self._agent = Agent(
            model,
            self._tools,
            _Unattended(),
            new_id=lambda: str(uuid.uuid4()),
            budget=budget,
            audit=audit,
        )
        self._stack = AsyncExitStack()
        self._group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> CompletionService:
        self._group = await self._stack.enter_async_context(anyio.create_task_group())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._group is not None:
            self._group.cancel_scope.cancel()
        await self._stack.__aexit__(None, None, None)

    async def _run(
        self, turn: Turn, send: MemoryObjectSendStream[CompletionEvent], scope: anyio.CancelScope
    ) -> None:
        with scope, send:
            try:
                await self._agent.run(turn, _StreamJournal(send), RunControl())
            except Exception:  # the root of a background task: report, keep serving
                logger.exception("Completion %s failed", turn.run_id)
                failed = Finished(
                    "stop", Usage(), "internal_error", "The completion failed on an internal error."
                )
                _StreamJournal(send).put(failed)

    async def check_model(self, user_id: str, model: str) -> None:
        """Refuse a model the user's groups do not allow; call before `complete`.

        Raises:
            Forbidden: the user's groups do not allow the model.
        """
        if self._access is not None:
            (await self._access.access(user_id)).check_model(model)

    async def offered_models(self, user_id: str, default: str) -> list[str]:
        """The models to offer the user: `default` if their groups allow it, else theirs."""
        if self._access is None:
            return [default]
        return (await self._access.access(user_id)).offered_models(default)

    async def complete(
        self, user_id: str, model: str, messages: list[Message]
    ) -> AsyncGenerator[CompletionEvent, None]:
        """The answer to `messages` as it is written, ending with one `Finished`.

        Closing the iterator early (the client left) stops the loop and its tool calls.
        """
        tokenizer = self._model.tokenizer(model)
        history = [
            message.model_copy(update={"token_count": count_message_tokens(message, tokenizer)})
            for message in messages
        ]
        tools = list(await self._tools.list_tools(user_id))
        instructions = await self._tools.instructions(
            user_id, sorted({spec.server for spec in tools})
        )
        run_id = f"completion-{uuid.uuid4()}"
        turn = Turn(
            run_id=run_id,
            conversation_id=run_id,
            user_id=user_id,
            model=model,
            history=history,
            tools=tools,
            instructions=instructions,
        )
        assert self._group is not None, "the completion service is not open"
        send, receive = anyio.create_memory_object_stream[CompletionEvent](math.inf)
        scope = anyio.CancelScope()
        self._group.start_soon(self._run, turn, send, scope)
        try:
            with receive:
                async for event in receive:
                    yield event
        finally:
            scope.cancel()
