"""Conversations and their messages in PostgreSQL, with a per-process history cache.

A conversation's messages are numbered by `seq`. The cache keeps the histories of recently
active conversations; a turn reads only the messages numbered after what it holds, so the
cost of a turn grows with the new messages, not with the length of the conversation.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orchestrator.domain import Conversation, InvalidInput, Message, NotFound, Page
from orchestrator.store.codec import message_from_row, message_row
from orchestrator.store.schema import conversations, messages

__all__ = ["HistoryCache", "SqlConversationStore"]


# Built once, so that SQLAlchemy reuses their compiled form (keyed on these objects).
_NUMBER = (
    update(conversations)
    .where(conversations.c.id == bindparam("b_conversation_id"))
    .values(last_seq=conversations.c.last_seq + bindparam("b_count"), updated_at=func.now())
    .returning(conversations.c.last_seq)
)
_NUMBER_OWNED = _NUMBER.where(conversations.c.user_id == bindparam("b_user_id"))
_INSERT_MESSAGES = insert(messages)


class HistoryCache:
    """The messages of recently used conversations, newest conversations kept.

    An entry also knows the conversation's owner once this process has seen it, so that a
    turn can be started from the cache without asking the database whose it is first.
    """

    def __init__(self, max_conversations: int = 512) -> None:
        self._entries: OrderedDict[str, tuple[int, list[Message]]] = OrderedDict()
        self._owners: dict[str, str] = {}
        self._max = max_conversations

    def get(self, conversation_id: str) -> tuple[int, list[Message]] | None:
        entry = self._entries.get(conversation_id)
        if entry is not None:
            self._entries.move_to_end(conversation_id)
        return entry

    def history_of(self, conversation_id: str, user_id: str) -> tuple[int, list[Message]] | None:
        """The cached history (a copy) if it is known to be `user_id`'s conversation."""
        if self._owners.get(conversation_id) != user_id:
            return None
        entry = self.get(conversation_id)
        if entry is None:
            return None
        return entry[0], list(entry[1])

    def own(self, conversation_id: str, user_id: str) -> None:
        """Record whose conversation this is (only while it is cached)."""
        if conversation_id in self._entries:
            self._owners[conversation_id] = user_id

    def put(self, conversation_id: str, last_seq: int, history: list[Message]) -> None:
        self._entries[conversation_id] = (last_seq, history)
        self._entries.move_to_end(conversation_id)
        while len(self._entries) > self._max:
            evicted, _ = self._entries.popitem(last=False)
            self._owners.pop(evicted, None)

    def extend(self, conversation_id: str, first_seq: int, new: Sequence[Message]) -> None:
        """Append messages numbered from `first_seq`, if they follow what is cached."""
        entry = self._entries.get(conversation_id)
        if entry is None:
            return
        last_seq, history = entry
        if first_seq != last_seq + 1:
            self.drop(conversation_id)
            return
        history.extend(new)
        self._entries[conversation_id] = (last_seq + len(new), history)

    def drop(self, conversation_id: str) -> None:
        self._entries.pop(conversation_id, None)
        self._owners.pop(conversation_id, None)


def _conversation(row: Any) -> Conversation:
    return Conversation(
        id=str(row.id),
        user_id=str(row.user_id),
        title=row.title,
        created_at=row.created_at,
        updated_at=row.updated_at,
        message_count=row.last_seq,
        pinned=row.pinned,
    )


def _encode_cursor(pinned: bool, updated_at: datetime, conversation_id: str) -> str:
    raw = json.dumps([updated_at.isoformat(), conversation_id, pinned]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[bool, datetime, str]:
    """A cursor's position; one from before pins (two fields) is among the unpinned."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        fields = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(fields, list) or len(fields) not in (2, 3):
            raise ValueError("not a cursor")
        stamp, conversation_id, *rest = fields
        pinned = rest[0] if rest else False
        if not isinstance(pinned, bool):
            raise ValueError("not a cursor")
        return pinned, datetime.fromisoformat(stamp), str(uuid.UUID(conversation_id))
    except (ValueError, TypeError, AttributeError) as error:
        raise InvalidInput("The cursor is not one this API returned.") from error


class SqlConversationStore:
    """`ConversationStore` on PostgreSQL."""

    def __init__(self, engine: AsyncEngine, cache: HistoryCache | None = None) -> None:
        self._engine = engine
        self.cache = cache or HistoryCache()

    async def create_conversation(self, user_id: str, title: str) -> Conversation:
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    insert(conversations)
                    .values(id=str(uuid.uuid4()), user_id=user_id, title=title)
                    .returning(conversations)
                )
            ).one()
        self.cache.put(str(row.id), 0, [])
        self.cache.own(str(row.id), user_id)
        return _conversation(row)

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(conversations).where(
                        conversations.c.id == conversation_id, conversations.c.user_id == user_id
                    )
                )
            ).one_or_none()
        if row is None:
            raise NotFound("No such conversation.")
        self.cache.own(conversation_id, user_id)
        return _conversation(row)

    async def list_conversations(
        self, user_id: str, *, query: str | None, limit: int, cursor: str | None
    ) -> Page[Conversation]:
        statement = select(conversations).where(conversations.c.user_id == user_id)
        if query:
            pattern = (
                "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            matching = select(messages.c.conversation_id).where(
                messages.c.conversation_id == conversations.c.id,
                messages.c.search.op("@@")(func.websearch_to_tsquery("simple", query)),
            )
            statement = statement.where(
                or_(conversations.c.title.ilike(pattern), matching.exists())
            )
        if cursor:
            pinned, stamp, last_id = _decode_cursor(cursor)
            after_in_group = or_(
                conversations.c.updated_at < stamp,
                and_(conversations.c.updated_at == stamp, conversations.c.id < last_id),
            )
            unpinned = conversations.c.pinned.is_(False)
            statement = statement.where(
                or_(unpinned, and_(conversations.c.pinned.is_(True), after_in_group))
                if pinned
                else and_(unpinned, after_in_group)
            )
        statement = statement.order_by(
            conversations.c.pinned.desc(),
            conversations.c.updated_at.desc(),
            conversations.c.id.desc(),
        ).limit(limit + 1)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        items = [_conversation(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = _encode_cursor(last.pinned, last.updated_at, last.id)
        return Page(items=items, next_cursor=next_cursor)

    async def rename_conversation(
        self, user_id: str, conversation_id: str, title: str
    ) -> Conversation:
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(conversations)
                    .where(
                        conversations.c.id == conversation_id, conversations.c.user_id == user_id
                    )
                    .values(title=title, updated_at=func.now())
                    .returning(conversations)
                )
            ).one_or_none()
        if row is None:
            raise NotFound("No such conversation.")
        return _conversation(row)

    async def pin_conversation(
        self, user_id: str, conversation_id: str, pinned: bool
    ) -> Conversation:
        """Pin or unpin; its place among the others by date does not change.

        Raises:
            NotFound: not the user's conversation.
        """
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(conversations)
                    .where(
                        conversations.c.id == conversation_id, conversations.c.user_id == user_id
                    )
                    .values(pinned=pinned)
                    .returning(conversations)
                )
            ).one_or_none()
        if row is None:
            raise NotFound("No such conversation.")
        return _conversation(row)

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(conversations).where(
                    conversations.c.id == conversation_id, conversations.c.user_id == user_id
                )
            )
        self.cache.drop(conversation_id)
        if result.rowcount == 0:
            raise NotFound("No such conversation.")

    async def messages(self, conversation_id: str) -> list[Message]:
        """The whole history, oldest first; reads only what the cache lacks."""
        entry = self.cache.get(conversation_id)
        known = entry[0] if entry else 0
        async with self._engine.connect() as conn:
            newer = await self._messages_after(conn, conversation_id, known)
        if entry is None:
            history = newer
            last_seq = len(history)
        else:
            history = entry[1] + newer
            last_seq = known + len(newer)
        self.cache.put(conversation_id, last_seq, history)
        return list(history)

    async def cached_messages(self, conversation_id: str, last_seq: int) -> list[Message] | None:
        """The history if the cache holds it up to `last_seq`, else None."""
        entry = self.cache.get(conversation_id)
        if entry is None or entry[0] != last_seq:
            return None
        return list(entry[1])

    @staticmethod
    async def _messages_after(
        conn: AsyncConnection, conversation_id: str, after: int
    ) -> list[Message]:
        rows = (
            (
                await conn.execute(
                    select(messages)
                    .where(messages.c.conversation_id == conversation_id, messages.c.seq > after)
                    .order_by(messages.c.seq)
                )
            )
            .mappings()
            .all()
        )
        return [message_from_row(row) for row in rows]

    async def append(
        self,
        conn: AsyncConnection,
        conversation_id: str,
        run_id: str | None,
        new: Sequence[Message],
        *,
        user_id: str | None = None,
    ) -> int:
        """Number and insert messages inside the caller's transaction; return the first seq.

        With `user_id`, the conversation must be that user's.

        Raises:
            NotFound: no such conversation (for that user).
        """
        statement = _NUMBER if user_id is None else _NUMBER_OWNED
        last_seq = (
            await conn.execute(
                statement,
                {"b_conversation_id": conversation_id, "b_user_id": user_id, "b_count": len(new)},
            )
        ).scalar_one_or_none()
        if last_seq is None:
            raise NotFound("No such conversation.")
        first = last_seq - len(new) + 1
        await conn.execute(
            _INSERT_MESSAGES,
            [
                message_row(
                    message, conversation_id=conversation_id, seq=first + index, run_id=run_id
                )
                for index, message in enumerate(new)
            ],
        )
        return first
