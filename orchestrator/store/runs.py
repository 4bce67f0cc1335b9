"""Runs, their steps and their events in PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, bindparam, case, exists, func, insert, literal, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orchestrator.domain import (
    ACTIVE_RUN_STATUSES,
    Conflict,
    Message,
    NotFound,
    Run,
    RunOutcome,
    RunStatus,
    StoredEvent,
    Usage,
)
from orchestrator.store.codec import (
    MESSAGE_FIELDS,
    expand_events,
    message_row,
    pack_events,
)
from orchestrator.store.conversations import SqlConversationStore
from orchestrator.store.schema import conversations, messages, run_events, runs, users

__all__ = ["RECOVERY_SEQ_GAP", "SqlRunStore"]

# A run found unfinished after a restart ends with an event numbered well past anything a
# client could have seen live, so that a client resuming from its last id still gets it.
RECOVERY_SEQ_GAP = 1_000_000

_ACTIVE = [status.value for status in ACTIVE_RUN_STATUSES]


def _start_statement() -> Any:
    """Number the conversation's next message, insert it and a running run: one round trip.

    The message follows the active leaf, or `b_parent` when `b_branch` is true (an edit),
    and becomes the active leaf. The statements of a WITH run as one, atomically: if the run
    cannot be inserted (another is active), neither is the message nor the new number. No
    row back: not the user's. Built once: SQLAlchemy then reuses its compiled form.
    """
    prior = (
        select(conversations.c.id, conversations.c.active_leaf_id.label("leaf"))
        .where(conversations.c.id == bindparam("b_conversation_id"))
        .subquery("prior")
    )
    parent = case(
        (bindparam("b_branch", type_=Boolean), bindparam("b_parent", type_=_UUID)),
        else_=prior.c.leaf,
    )
    numbered = (
        update(conversations)
        .where(
            conversations.c.id == prior.c.id,
            conversations.c.user_id == bindparam("b_user_id"),
        )
        .values(
            last_seq=conversations.c.last_seq + 1,
            updated_at=func.now(),
            active_leaf_id=bindparam("m_id", type_=_UUID),
        )
        .returning(conversations.c.last_seq, parent.label("parent_id"))
        .cte("numbered")
    )
    stored = insert(messages).from_select(
        [*_MESSAGE_FIELDS, "seq", "parent_id"],
        select(
            *(bindparam(f"m_{name}", type_=messages.c[name].type) for name in _MESSAGE_FIELDS),
            numbered.c.last_seq,
            numbered.c.parent_id,
        ),
    )
    started = _run_insert(exists(select(numbered.c.last_seq)))
    return (
        select(
            *started.c,
            numbered.c.last_seq.label("message_seq"),
            numbered.c.parent_id.label("message_parent_id"),
        )
        .select_from(started.join(numbered, true()))
        .add_cte(stored.cte("stored"))
    )


def _run_insert(condition: Any) -> Any:
    return (
        insert(runs)
        .from_select(
            ["id", "conversation_id", "user_id", "status", "model"],
            select(
                bindparam("b_run_id", type_=runs.c.id.type),
                bindparam("b_conversation_id", type_=runs.c.conversation_id.type),
                bindparam("b_user_id", type_=runs.c.user_id.type),
                literal(RunStatus.RUNNING.value),
                bindparam("b_model", type_=runs.c.model.type),
            ).where(condition),
        )
        .returning(*runs.c)
        .cte("started")
    )


def _answer_again_statement() -> Any:
    """Make `b_message_id` the active leaf and insert a running run: one round trip.

    A new answer to a message that has one already: the run's messages become its children.
    """
    moved = (
        update(conversations)
        .where(
            conversations.c.id == bindparam("b_conversation_id"),
            conversations.c.user_id == bindparam("b_user_id"),
        )
        .values(active_leaf_id=bindparam("b_message_id", type_=_UUID), updated_at=func.now())
        .returning(conversations.c.last_seq)
        .cte("moved")
    )
    started = _run_insert(exists(select(moved.c.last_seq)))
    return select(*started.c).select_from(started.join(moved, true()))


_UUID = conversations.c.active_leaf_id.type
_MESSAGE_FIELDS = [name for name in MESSAGE_FIELDS if name not in ("seq", "parent_id")]
_START = _start_statement()
_ANSWER_AGAIN = _answer_again_statement()
_SET_LAST_EVENT = (
    update(runs).where(runs.c.id == bindparam("b_run_id")).values(last_event_id=bindparam("b_last"))
)
_FINISH = (
    update(runs)
    .where(runs.c.id == bindparam("b_run_id"))
    .values(
        status=bindparam("b_status"),
        finished_at=func.now(),
        error=bindparam("b_error", type_=runs.c.error.type),
        input_tokens=bindparam("b_input"),
        output_tokens=bindparam("b_output"),
        # Without events of its own, the run keeps its number.
        last_event_id=func.greatest(runs.c.last_event_id, bindparam("b_last")),
    )
)
_INSERT_EVENTS = insert(run_events)


def _run(row: Any) -> Run:
    return Run(
        id=str(row.id),
        conversation_id=str(row.conversation_id),
        user_id=str(row.user_id),
        status=RunStatus(row.status),
        model=row.model,
        created_at=row.created_at,
        finished_at=row.finished_at,
        error=row.error,
        usage=Usage(input_tokens=row.input_tokens, output_tokens=row.output_tokens),
        last_event_id=row.last_event_id,
        message_seq=getattr(row, "message_seq", None),
        message_parent_id=_text(getattr(row, "message_parent_id", None)),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _raise_if_busy(error: IntegrityError) -> None:
    if "uq_runs_one_active_per_conversation" in str(error.orig):
        raise Conflict(
            "A run is already in progress in this conversation; wait for it or cancel it."
        ) from error


class SqlRunStore:
    """`RunStore` on PostgreSQL; messages go through the conversation store's numbering."""

    def __init__(self, engine: AsyncEngine, conversations: SqlConversationStore) -> None:
        self._engine = engine
        self._conversations = conversations

    async def start_run(
        self,
        user_id: str,
        conversation_id: str,
        message: Message,
        model: str,
        *,
        run_id: str | None = None,
        branch_from: str | None = None,
        branch: bool = False,
    ) -> Run:
        """Store the user's message and a new running run, atomically, in one statement.

        The message continues the active branch, or with `branch` starts a new one after
        `branch_from` (None: a new first message), and becomes the active leaf.
        `Run.message_seq` is the message's number in the conversation, `message_parent_id`
        the message it follows.

        Raises:
            NotFound: the conversation is not the user's.
            Conflict: a run is already in progress in this conversation.
        """
        run_id = run_id or str(uuid.uuid4())
        try:
            async with self._engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                values = message_row(message, conversation_id=conversation_id, seq=0, run_id=run_id)
                parameters = {f"m_{name}": values[name] for name in _MESSAGE_FIELDS}
                parameters.update(
                    b_conversation_id=conversation_id,
                    b_user_id=user_id,
                    b_run_id=run_id,
                    b_model=model,
                    b_branch=branch,
                    b_parent=branch_from,
                )
                row = (await conn.execute(_START, parameters)).one_or_none()
        except IntegrityError as error:
            _raise_if_busy(error)
            raise
        if row is None:
            raise NotFound("No such conversation.")
        run = _run(row)
        stored = message.model_copy(update={"parent_id": run.message_parent_id})
        cache = self._conversations.cache
        cache.extend(conversation_id, row.message_seq, [stored])
        cache.own(conversation_id, user_id)
        return run

    async def start_answer_again(
        self, user_id: str, conversation_id: str, message_id: str, model: str
    ) -> Run:
        """Start a run that answers `message_id` anew, as a new branch after it.

        `message_id` becomes the active leaf, so the run's messages continue from it.

        Raises:
            NotFound: the conversation is not the user's.
            Conflict: a run is already in progress in this conversation.
        """
        run_id = str(uuid.uuid4())
        try:
            async with self._engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                row = (
                    await conn.execute(
                        _ANSWER_AGAIN,
                        {
                            "b_conversation_id": conversation_id,
                            "b_user_id": user_id,
                            "b_message_id": message_id,
                            "b_run_id": run_id,
                            "b_model": model,
                        },
                    )
                ).one_or_none()
        except IntegrityError as error:
            _raise_if_busy(error)
            raise
        if row is None:
            raise NotFound("No such conversation.")
        self._conversations.cache.move(conversation_id, message_id)
        return _run(row)

    async def get_run(self, user_id: str, run_id: str) -> Run:
        """One of the user's runs.

        Raises:
            NotFound: no such run, or someone else's.
        """
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(runs).where(runs.c.id == run_id, runs.c.user_id == user_id)
                )
            ).one_or_none()
        if row is None:
            raise NotFound("No such run.")
        return _run(row)

    async def save_step(
        self,
        run_id: str,
        conversation_id: str,
        messages: Sequence[Message],
        events: Sequence[StoredEvent],
    ) -> None:
        """Store a finished step's messages and events in one transaction."""
        first, active = 0, False
        async with self._engine.begin() as conn:
            if messages:
                first, active = await self._conversations.append(
                    conn, conversation_id, run_id, messages
                )
            await self._write_events(conn, run_id, events)
        if messages:
            self._conversations.cache.extend(conversation_id, first, messages, active=active)

    async def save_events(self, run_id: str, events: Sequence[StoredEvent]) -> None:
        """Store events written between steps (the journal flushes them), for replay."""
        if events:
            async with self._engine.begin() as conn:
                await self._write_events(conn, run_id, events)

    async def finish_run(
        self,
        run_id: str,
        outcome: RunOutcome,
        events: Sequence[StoredEvent],
        *,
        conversation_id: str | None = None,
        messages: Sequence[Message] = (),
    ) -> None:
        """End the run; with `messages` (of `conversation_id`), store its last step too."""
        error = None
        if outcome.error_type is not None:
            error = {"type": outcome.error_type, "message": outcome.error_message}
        first, active = 0, False
        async with self._engine.begin() as conn:
            if messages:
                assert conversation_id is not None
                first, active = await self._conversations.append(
                    conn, conversation_id, run_id, messages
                )
            if events:
                await conn.execute(_INSERT_EVENTS, pack_events(run_id, events))
            await conn.execute(
                _FINISH,
                {
                    "b_run_id": run_id,
                    "b_status": outcome.status.value,
                    "b_error": error,
                    "b_input": outcome.usage.input_tokens,
                    "b_output": outcome.usage.output_tokens,
                    "b_last": events[-1].seq if events else 0,
                },
            )
        if messages:
            assert conversation_id is not None
            self._conversations.cache.extend(conversation_id, first, messages, active=active)

    async def set_status(self, run_id: str, status: RunStatus) -> None:
        """Move a run that is still active to `status` (a finished run stays as it ended)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status.in_(_ACTIVE))
                .values(status=status.value)
            )

    @staticmethod
    async def _write_events(
        conn: AsyncConnection, run_id: str, events: Sequence[StoredEvent]
    ) -> None:
        if not events:
            return
        await conn.execute(_INSERT_EVENTS, pack_events(run_id, events))
        await conn.execute(_SET_LAST_EVENT, {"b_run_id": run_id, "b_last": events[-1].seq})

    async def events(self, run_id: str, after: int) -> list[StoredEvent]:
        """The run's events numbered after `after`, in order (for a client resuming)."""
        async with self._engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(run_events)
                        .where(run_events.c.run_id == run_id, run_events.c.last_seq > after)
                        .order_by(run_events.c.seq)
                    )
                )
                .mappings()
                .all()
            )
        return expand_events(rows, after)

    async def usage(
        self, user_id: str | None, *, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Requests and tokens per user and model, with the user's email.

        Every user's when `user_id` is None; only runs started at or after `since` when given.
        """
        statement = (
            select(
                runs.c.user_id,
                users.c.email,
                runs.c.model,
                func.count().label("runs"),
                func.coalesce(func.sum(runs.c.input_tokens), 0).label("input_tokens"),
                func.coalesce(func.sum(runs.c.output_tokens), 0).label("output_tokens"),
            )
            .join(users, users.c.id == runs.c.user_id)
            .group_by(runs.c.user_id, users.c.email, runs.c.model)
        )
        if user_id is not None:
            statement = statement.where(runs.c.user_id == user_id)
        if since is not None:
            statement = statement.where(runs.c.created_at >= since)
        async with self._engine.connect() as conn:
            rows = (
                (await conn.execute(statement.order_by(users.c.email, runs.c.model)))
                .mappings()
                .all()
            )
        return [{**row, "user_id": str(row["user_id"])} for row in rows]

    async def recover_unfinished(self) -> int:
        """End runs left running by a process that died; returns how many.

        Only safe when this process is the only one running runs (no shared event bus).
        """
        message = "The server stopped while this run was in progress; the partial answer was saved."
        async with self._engine.begin() as conn:
            orphans = (
                await conn.execute(
                    update(runs)
                    .where(runs.c.status.in_(_ACTIVE))
                    .values(
                        status=RunStatus.FAILED.value,
                        finished_at=func.now(),
                        error={"type": "interrupted", "message": message},
                        last_event_id=runs.c.last_event_id + RECOVERY_SEQ_GAP,
                    )
                    .returning(runs.c.id, runs.c.last_event_id)
                )
            ).all()
            if orphans:
                await conn.execute(
                    insert(run_events),
                    [
                        {
                            "run_id": row.id,
                            "seq": row.last_event_id,
                            "last_seq": row.last_event_id,
                            "name": "error",
                            "data": {"type": "interrupted", "message": message},
                            "splits": None,
                        }
                        for row in orphans
                    ],
                )
        return len(orphans)
