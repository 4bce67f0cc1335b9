"""Conversation summaries (compaction) in PostgreSQL, remembered per process.

A run only asks for a conversation's summaries when its history is over the compaction
threshold, and then usually finds them in memory: a long conversation costs no extra
database round trip per run. Another process may have added one since; `fresh` reads
again (before paying for a new summary, and for the conversation view).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import Summary, Unavailable
from orchestrator.store.schema import conversation_summaries

__all__ = ["SqlSummaryStore"]

logger = logging.getLogger(__name__)

_table = conversation_summaries


def _summary(row: Any) -> Summary:
    return Summary(
        id=str(row.id),
        conversation_id=str(row.conversation_id),
        last_message_id=str(row.last_message_id),
        first_message_id=str(row.first_message_id),
        message_count=row.message_count,
        text=row.text,
        token_count=row.token_count,
        tokens_before=row.tokens_before,
        tokens_after=row.tokens_after,
        model=row.model,
        created_at=row.created_at,
    )


class SqlSummaryStore:
    """`SummaryStore` on PostgreSQL, with the summaries of recent conversations in memory."""

    def __init__(self, engine: AsyncEngine, max_conversations: int = 512) -> None:
        self._engine = engine
        self._cache: OrderedDict[str, list[Summary]] = OrderedDict()
        self._max = max_conversations

    async def summaries(self, conversation_id: str, *, fresh: bool = False) -> list[Summary]:
        """The conversation's summaries, oldest first.

        Raises:
            Unavailable: the database could not be read.
        """
        cached = None if fresh else self._cache.get(conversation_id)
        if cached is not None:
            self._cache.move_to_end(conversation_id)
            return list(cached)
        try:
            async with self._engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(_table)
                        .where(_table.c.conversation_id == conversation_id)
                        .order_by(_table.c.message_count, _table.c.created_at)
                    )
                ).all()
        except (SQLAlchemyError, OSError) as error:
            raise Unavailable("The conversation's summaries could not be read.") from error
        found = [_summary(row) for row in rows]
        self._remember(conversation_id, found)
        return list(found)

    async def save_summary(self, summary: Summary, run_id: str | None) -> Summary:
        """Store a new summary; if one covering the same last message exists, that one.

        Raises:
            Unavailable: it could not be stored (the conversation is gone, or the database).
        """
        values = summary.model_dump(exclude={"created_at"})
        statement = (
            insert(_table)
            .values(**values, run_id=run_id)
            .on_conflict_do_nothing(index_elements=[_table.c.last_message_id])
            .returning(_table)
        )
        try:
            async with self._engine.begin() as conn:
                row = (await conn.execute(statement)).one_or_none()
                if row is None:
                    row = (
                        await conn.execute(
                            select(_table).where(
                                _table.c.last_message_id == summary.last_message_id
                            )
                        )
                    ).one()
        except (SQLAlchemyError, OSError) as error:
            raise Unavailable("The summary could not be stored.") from error
        stored = _summary(row)
        known = self._cache.get(summary.conversation_id)
        if known is not None and all(item.id != stored.id for item in known):
            self._remember(
                summary.conversation_id,
                sorted([*known, stored], key=lambda item: item.message_count),
            )
        return stored

    def _remember(self, conversation_id: str, found: list[Summary]) -> None:
        self._cache[conversation_id] = found
        self._cache.move_to_end(conversation_id)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
