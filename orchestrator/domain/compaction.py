"""Compacting long conversations: older turns summarised once, the summary reused.

When a conversation's history nears the model's window (a share of the input budget, the
threshold), the older turns are summarised by the model and the summary is stored, keyed
by the id of the last message it covers. A summary covers everything from the first
message up to that one, so it is valid for every branch whose path passes through it.
Later runs send the summary and the turns after its last message, instead of a history
cut to fit; the stored turns stay as they are.

The turns kept verbatim always start at a user's question, so an assistant's tool calls
and their results are summarised together or kept together, never split. A summary is
made once: the next run finds it and reuses it, until the turns after it near the
threshold again and a new summary folds the old one in. If the model cannot summarise,
the run goes on with the history cut to fit (`plan_context`) and still answers.

Deciding needs only the token counts the messages already carry: a short conversation
never asks the store for anything.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from orchestrator.domain.completion import ModelRequest, TextDelta, UsageReported
from orchestrator.domain.context import (
    ModelLimits,
    Tokenizer,
    count_message_tokens,
    message_cost,
)
from orchestrator.domain.errors import AssistantError, ModelError
from orchestrator.domain.events import ContextCompacted
from orchestrator.domain.messages import Message, Role, TextPart, Usage
from orchestrator.domain.ports import ChatModel

__all__ = [
    "Compacted",
    "CompactionCut",
    "CompactionPlan",
    "CompactionPolicy",
    "Compactor",
    "Summary",
    "SummaryStore",
    "needs_summaries",
    "plan_compaction",
    "summary_message",
]

logger = logging.getLogger(__name__)

SUMMARY_PREFIX = "Summary of the earlier part of this conversation:\n\n"

_INSTRUCTIONS = (
    "You compact a conversation so that it can go on beyond the model's context window. "
    "Summarise the conversation you are given, keeping everything needed to continue it: "
    "what the user wants and asked for, facts and figures, decisions, names, code and "
    "file names, the tools that were called and what they returned, and open questions. "
    "Write in the conversation's language, as short prose and lists, with no preamble."
)
_SUMMARY_SO_FAR = "The summary so far:\n\n{summary}\n\nThe conversation after it:\n\n"
_LINE_NOTE = " [... cut]"
# Room left in a summarising request for the chat format's own tokens.
_MARGIN = 64
_MIN_CHUNK = 64
# After a failed summary, the next try waits for this many new messages (two turns).
_RETRY_AFTER_MESSAGES = 4
_MAX_FAILED = 1_024


class Summary(BaseModel):
    """A stored summary of a conversation from its first message up to `last_message_id`.

    `message_count` is how many messages it covers; `tokens_before` and `tokens_after`
    what the history cost in a request before and after it was made.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    conversation_id: str
    last_message_id: str
    first_message_id: str
    message_count: int
    text: str
    token_count: int
    tokens_before: int = 0
    tokens_after: int = 0
    model: str | None = None
    created_at: datetime | None = None


class SummaryStore(Protocol):
    """Where summaries are kept. `summaries` may answer from memory unless `fresh`."""

    async def summaries(self, conversation_id: str, *, fresh: bool = False) -> list[Summary]:
        """The conversation's summaries, oldest first; read again, not remembered, if `fresh`.

        Raises:
            Unavailable: the store could not be read.
        """
        ...

    async def save_summary(self, summary: Summary, run_id: str | None) -> Summary:
        """Store it, or return the one already stored for the same last message."""
        ...


@dataclass(frozen=True, slots=True)
class CompactionPolicy:
    """When to compact and how much to keep.

    `threshold` is the share of the input budget (the window less the room kept for the
    answer, the system prompt and the tool schemas) above which a history is compacted;
    0 turns compaction off. `keep` is the share of that budget kept as recent turns.
    """

    threshold: float = 0.8
    keep: float = 0.3
    summary_max_tokens: int = 1_000

    @property
    def enabled(self) -> bool:
        """Whether compaction is on at all (a threshold of 0 turns it off)."""
        return self.threshold > 0


@dataclass(frozen=True, slots=True)
class CompactionCut:
    """Messages to fold into a new summary: `history[start:end]`, after `previous`."""

    previous: Summary | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class CompactionPlan:
    """What to send (`history`, with the summary in effect first) and what to summarise."""

    history: list[Message]
    summary: Summary | None
    tokens: int
    cut: CompactionCut | None = None


def summary_message(summary: Summary) -> Message:
    """The summary as the model reads it: a system message before the recent turns."""
    return Message(
        id=f"summary-{summary.id}",
        role=Role.SYSTEM,
        content=[TextPart(text=SUMMARY_PREFIX + summary.text)],
        token_count=summary.token_count,
    )


def history_tokens(history: Sequence[Message], tool_result_max_tokens: int) -> int:
    return sum(message_cost(message, tool_result_max_tokens) for message in history)


def _in_effect(
    history: Sequence[Message], summaries: Sequence[Summary]
) -> tuple[Summary, int] | None:
    """The summary covering most of this history, and the index of its last message.

    A summary never covers the newest message: that is the question being answered.
    """
    if not summaries or not history:
        return None
    wanted = {summary.last_message_id: summary for summary in summaries}
    for index in range(len(history) - 2, -1, -1):
        found = wanted.get(history[index].id)
        if found is not None:
            return found, index
    return None


def plan_compaction(
    history: Sequence[Message],
    *,
    summaries: Sequence[Summary] | None,
    budget: int,
    policy: CompactionPolicy,
    tool_result_max_tokens: int,
) -> CompactionPlan:
    """Decide what a run sends, and whether a new summary is due.

    A run sends the whole history, or the summary in effect and the turns after it.

    `summaries` None means "not looked up": a history under the threshold never needs
    them, and then the plan says so without them (`needs_summaries`).
    """
    total = history_tokens(history, tool_result_max_tokens)
    threshold = int(budget * policy.threshold)
    if not policy.enabled or total <= threshold or summaries is None:
        return CompactionPlan(history=list(history), summary=None, tokens=total)
    found = _in_effect(history, summaries)
    previous, start = (found[0], found[1] + 1) if found else (None, 0)
    effective = list(history[start:])
    tokens = history_tokens(effective, tool_result_max_tokens)
    if previous is not None:
        effective.insert(0, summary_message(previous))
        tokens += previous.token_count
    if tokens <= threshold:
        return CompactionPlan(history=effective, summary=previous, tokens=tokens)
    end = _recent_start(history, start, int(budget * policy.keep), tool_result_max_tokens)
    cut = CompactionCut(previous, start, end) if end > start else None
    return CompactionPlan(history=effective, summary=previous, tokens=tokens, cut=cut)


def needs_summaries(
    history: Sequence[Message],
    *,
    budget: int,
    policy: CompactionPolicy,
    tool_result_max_tokens: int,
) -> bool:
    """Whether the history is over the threshold (then stored summaries matter)."""
    if not policy.enabled:
        return False
    threshold = int(budget * policy.threshold)
    # Each message's own count bounds its cost (a tool result's is capped): most runs stop here.
    if sum(message.token_count for message in history) <= threshold:
        return False
    return history_tokens(history, tool_result_max_tokens) > threshold


def _recent_start(
    history: Sequence[Message], start: int, keep: int, tool_result_max_tokens: int
) -> int:
    """Where the turns kept verbatim begin.

    That is at a user's question: the oldest one such that what follows fits in `keep`
    tokens, or the newest question if none does.

    Starting at a question keeps each answer whole, tool calls and results with it.
    `start` (nothing to summarise) when there is no question after it.
    """
    chosen: int | None = None
    used = 0
    for index in range(len(history) - 1, start - 1, -1):
        used += message_cost(history[index], tool_result_max_tokens)
        if used > keep and chosen is not None:
            break
        if history[index].role is Role.USER:
            chosen = index
    return start if chosen is None else chosen


@dataclass(frozen=True, slots=True)
class Compacted:
    """The history a run sends, and what compaction did on the way."""

    history: list[Message]
    event: ContextCompacted | None = None
    usage: Usage = field(default_factory=Usage)


class Compactor:
    """Applies stored summaries to a run's history and makes a new one when it is due."""

    def __init__(
        self,
        model: ChatModel,
        store: SummaryStore,
        *,
        policy: CompactionPolicy,
        new_id: Callable[[], str],
    ) -> None:
        self._model = model
        self._store = store
        self._policy = policy
        self._new_id = new_id
        # Conversations whose summary failed, with their length then: a model that cannot
        # summarise is not asked again on every run, only once the history has grown.
        self._failed: OrderedDict[str, int] = OrderedDict()

    @property
    def policy(self) -> CompactionPolicy:
        """The policy this compactor applies."""
        return self._policy

    async def prepare(
        self,
        history: Sequence[Message],
        *,
        conversation_id: str,
        run_id: str,
        model: str,
        budget: int,
        tool_result_max_tokens: int,
    ) -> Compacted:
        """The history to send for this run: summarised if due, else as it was.

        Never raises for a failed summary: the history then goes on to be cut to fit.
        """
        policy = self._policy
        if not needs_summaries(
            history, budget=budget, policy=policy, tool_result_max_tokens=tool_result_max_tokens
        ):
            return Compacted(list(history))

        def plan(summaries: Sequence[Summary]) -> CompactionPlan:
            return plan_compaction(
                history,
                summaries=summaries,
                budget=budget,
                policy=policy,
                tool_result_max_tokens=tool_result_max_tokens,
            )

        try:
            found = plan(await self._store.summaries(conversation_id))
            if found.cut is not None:
                # Another process may have made it meanwhile: look again before paying for it.
                found = plan(await self._store.summaries(conversation_id, fresh=True))
        except AssistantError as error:
            logger.warning("Summaries of %s unavailable: %s", conversation_id, error.message)
            return Compacted(list(history))
        if found.cut is None:
            return Compacted(found.history)
        failed_at = self._failed.get(conversation_id)
        if failed_at is not None and len(history) < failed_at + _RETRY_AFTER_MESSAGES:
            return Compacted(found.history)
        try:
            compacted = await self._summarise(
                history,
                found,
                conversation_id=conversation_id,
                run_id=run_id,
                model=model,
                tool_result_max_tokens=tool_result_max_tokens,
            )
        except AssistantError as error:
            logger.warning(
                "Could not compact conversation %s (%s); the history is cut to fit instead",
                conversation_id,
                error.message,
            )
            self._failed[conversation_id] = len(history)
            while len(self._failed) > _MAX_FAILED:
                self._failed.popitem(last=False)
            return Compacted(found.history)
        self._failed.pop(conversation_id, None)
        return compacted

    async def _summarise(
        self,
        history: Sequence[Message],
        plan: CompactionPlan,
        *,
        conversation_id: str,
        run_id: str,
        model: str,
        tool_result_max_tokens: int,
    ) -> Compacted:
        cut = plan.cut
        assert cut is not None
        tokenizer = self._model.tokenizer(model)
        limits = self._model.limits(model)
        max_output = max(1, min(self._policy.summary_max_tokens, limits.max_output_tokens))
        lines = [
            _transcript_line(message, tokenizer, tool_result_max_tokens)
            for message in history[cut.start : cut.end]
        ]
        text = cut.previous.text if cut.previous is not None else None
        usage = Usage()
        chunk: list[str] = []
        used = 0
        for line in lines:
            room = _chunk_room(limits, max_output, text, tokenizer)
            cost = tokenizer.count(line) + 1
            if chunk and used + cost > room:
                text, spent = await self._ask(model, text, chunk, max_output, tokenizer)
                usage = usage + spent
                chunk, used = [], 0
                room = _chunk_room(limits, max_output, text, tokenizer)
            if cost > room:
                line = tokenizer.truncate(line, max(room - 8, 1)) + _LINE_NOTE
                cost = room
            chunk.append(line)
            used += cost
        if chunk:
            text, spent = await self._ask(model, text, chunk, max_output, tokenizer)
            usage = usage + spent
        assert text is not None
        kept = list(history[cut.end :])
        kept_tokens = history_tokens(kept, tool_result_max_tokens)
        draft = Summary(
            id=self._new_id(),
            conversation_id=conversation_id,
            last_message_id=history[cut.end - 1].id,
            first_message_id=history[0].id,
            message_count=cut.end,
            text=text,
            token_count=0,
            tokens_before=plan.tokens,
            model=model,
        )
        token_count = count_message_tokens(summary_message(draft), tokenizer)
        draft = draft.model_copy(
            update={"token_count": token_count, "tokens_after": token_count + kept_tokens}
        )
        stored = await self._store.save_summary(draft, run_id)
        event = ContextCompacted(
            summary_id=stored.id,
            messages=stored.message_count,
            tokens_before=stored.tokens_before,
            tokens_after=stored.tokens_after,
        )
        return Compacted([summary_message(stored), *kept], event=event, usage=usage)

    async def _ask(
        self,
        model: str,
        previous: str | None,
        lines: Sequence[str],
        max_output: int,
        tokenizer: Tokenizer,
    ) -> tuple[str, Usage]:
        """One summarising request: the summary so far and a chunk of transcript.

        Raises:
            ModelError: the model failed, or answered nothing.
        """
        body = "\n\n".join(lines)
        if previous is not None:
            body = _SUMMARY_SO_FAR.format(summary=previous) + body
        request = ModelRequest(
            model=model,
            messages=[
                Message(
                    id="compaction-instructions",
                    role=Role.SYSTEM,
                    content=[TextPart(text=_INSTRUCTIONS)],
                ),
                Message(id="compaction-transcript", role=Role.USER, content=[TextPart(text=body)]),
            ],
            max_output_tokens=max_output,
            tool_choice="none",
        )
        pieces: list[str] = []
        usage = Usage()
        async for event in self._model.stream(request):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
            elif isinstance(event, UsageReported):
                usage = event.usage
        text = "".join(pieces).strip()
        if not text:
            raise ModelError("The model answered the summary request with nothing.")
        if tokenizer.count(text) > max_output:
            text = tokenizer.truncate(text, max_output)
        return text, usage


def _chunk_room(
    limits: ModelLimits, max_output: int, previous: str | None, tokenizer: Tokenizer
) -> int:
    """How much transcript one summarising request can carry.

    Raises:
        ModelError: the window is too small for any (then the run cuts instead).
    """
    fixed = tokenizer.count(_INSTRUCTIONS) + _MARGIN
    if previous is not None:
        fixed += tokenizer.count(previous) + tokenizer.count(_SUMMARY_SO_FAR)
    room = limits.context_window - max_output - fixed
    if room < _MIN_CHUNK:
        raise ModelError("The model's window is too small to summarise the conversation in.")
    return room


def _transcript_line(message: Message, tokenizer: Tokenizer, tool_result_max_tokens: int) -> str:
    """A message as a line of the transcript the model summarises."""
    text = message.text
    if message.role is Role.TOOL:
        if tokenizer.count(text) > tool_result_max_tokens:
            text = tokenizer.truncate(text, tool_result_max_tokens) + _LINE_NOTE
        label = "Tool server failed" if message.fault else "Tool result"
        label += f" ({message.name})" if message.name else ""
        return f"{label}: {text or '(no text)'}"
    if message.role is Role.ASSISTANT:
        calls = "".join(
            f"\n[called {call.name} with {call.arguments}]" for call in message.tool_calls
        )
        return f"Assistant: {text}{calls}"
    if message.role is Role.SYSTEM:
        return f"System: {text}"
    return f"User: {text or '(no text)'}"
