"""Conversations and their messages in PostgreSQL.

A conversation's messages form a tree (`parent_id`): editing a message or regenerating an
answer starts a sibling branch. The conversation remembers the newest message of the branch
the user is on (`active_leaf_id`); the conversation view and every run follow the path from
the root to it. Messages are also numbered by `seq` in the order they were stored, across
branches.

Reads of the active path go through a `HistoryCache` (`store/history.py`), so that a turn
reads only the messages stored since the path was cached.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orchestrator.domain import Conversation, Message, NotFound, Page
from orchestrator.store.codec import (
    conversation_from_row,
    decode_cursor,
    encode_cursor,
    message_from_row,
    message_row,
)
from orchestrator.store.history import BranchPoints, HistoryCache, follow
from orchestrator.store.schema import conversations, messages

__all__ = ["BranchPoints", "HistoryCache", "SqlConversationStore"]

_LEAF = conversations.c.active_leaf_id
# Built once, so that SQLAlchemy reuses their compiled form (keyed on these objects). A
# step's messages move the active leaf along only if their branch is still the active one.
_NUMBER = (
    update(conversations)
    .where(conversations.c.id == bindparam("b_conversation_id"))
    .values(
        last_seq=conversations.c.last_seq + bindparam("b_count"),
        updated_at=func.now(),
        active_leaf_id=case(
            (
                _LEAF.is_not_distinct_from(bindparam("b_parent", type_=_LEAF.type)),
                bindparam("b_last", type_=_LEAF.type),
            ),
            else_=_LEAF,
        ),
    )
    .returning(conversations.c.last_seq, _LEAF)
)
_NUMBER_OWNED = _NUMBER.where(conversations.c.user_id == bindparam("b_user_id"))
_INSERT_MESSAGES = insert(messages)
_STORED = [column for column in messages.c if column.name != "search"]


def _path_statement() -> Any:
    """A message and its ancestors, root first (a child is always numbered after its parent)."""
    path = (
        select(*_STORED)
        .where(
            messages.c.id == bindparam("b_leaf"),
            messages.c.conversation_id == bindparam("b_conversation_id"),
        )
        .cte("path", recursive=True)
    )
    up = messages.alias("up")
    path = path.union_all(
        select(*(up.c[column.name] for column in _STORED)).select_from(
            up.join(path, up.c.id == path.c.parent_id)
        )
    )
    return select(path).order_by(path.c.seq)


_PATH = _path_statement()
_BRANCH_POINTS = text(
    """
    SELECT parent_id, array_agg(id ORDER BY seq) AS children FROM messages
    WHERE conversation_id = :b_conversation_id
    GROUP BY parent_id HAVING count(*) > 1
    """
)
# The newest message under the chosen one is a leaf (a child is always newer than its
# parent): that is where the branch through the chosen message now ends.
_SWITCH = text(
    """
    WITH RECURSIVE below AS (
        SELECT id, seq FROM messages
        WHERE id = :b_message_id AND conversation_id = :b_conversation_id
        UNION ALL
        SELECT m.id, m.seq FROM messages AS m JOIN below ON m.parent_id = below.id
    )
    UPDATE conversations SET active_leaf_id = (SELECT id FROM below ORDER BY seq DESC LIMIT 1)
    WHERE id = :b_conversation_id AND user_id = :b_user_id AND EXISTS (SELECT 1 FROM below)
    RETURNING active_leaf_id
    """
)


class SqlConversationStore:
    """`ConversationStore` on PostgreSQL.

    Args:
        engine: The database.
        cache: The active paths this process has read; one of its own when None.
    """

    def __init__(self, engine: AsyncEngine, cache: HistoryCache | None = None) -> None:
        self._engine = engine
        self.cache = cache or HistoryCache()

    async def create_conversation(self, user_id: str, title: str) -> Conversation:
        """A new, empty conversation of the user (cached at once: its path is known)."""
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
        return conversation_from_row(row)

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        """One of the user's conversations.

        Raises:
            NotFound: no such conversation, or someone else's.
        """
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
        return conversation_from_row(row)

    async def list_conversations(
        self, user_id: str, *, query: str | None, limit: int, cursor: str | None
    ) -> Page[Conversation]:
        """A page of the user's conversations: pinned first, then the most recently updated.

        Args:
            user_id: Whose conversations.
            query: Keep those whose title contains it or whose messages match it as a
                full-text search; None or empty: all.
            limit: At most this many.
            cursor: Where the previous page ended (its `next_cursor`).

        Raises:
            InvalidInput: a cursor this store did not make.
        """
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
            pinned, stamp, last_id = decode_cursor(cursor)
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
        items = [conversation_from_row(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(last.pinned, last.updated_at, last.id)
        return Page(items=items, next_cursor=next_cursor)

    async def rename_conversation(
        self, user_id: str, conversation_id: str, title: str
    ) -> Conversation:
        """Give the conversation a new title (it counts as an update).

        Raises:
            NotFound: no such conversation, or someone else's.
        """
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
        return conversation_from_row(row)

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
        return conversation_from_row(row)

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        """Delete the conversation with its messages and runs.

        Raises:
            NotFound: no such conversation, or someone else's.
        """
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
        """The active branch, root first; reads only what the cache lacks."""
        async with self._engine.connect() as conn:
            _, path = await self._active(conn, conversation_id)
        return list(path)

    async def branch_view(self, conversation_id: str) -> tuple[list[Message], BranchPoints]:
        """The active branch and where the conversation branches, for showing it.

        With the cache up to date, one query: the tree only changes when messages are added.
        """
        async with self._engine.connect() as conn:
            last_seq, path = await self._active(conn, conversation_id)
            entry = self.cache.get(conversation_id)
            current = entry is not None and entry.last_seq == last_seq
            if current and entry is not None and entry.points is not None:
                return list(path), entry.points
            points = await self._branch_points(conn, conversation_id) if path else {}
        if current and entry is not None:
            entry.points = points
        return list(path), points

    async def _active(
        self, conn: AsyncConnection, conversation_id: str
    ) -> tuple[int, list[Message]]:
        """The conversation's message count and active path (the cached list itself)."""
        entry = self.cache.get(conversation_id)
        head = (
            await conn.execute(
                select(conversations.c.last_seq, _LEAF).where(conversations.c.id == conversation_id)
            )
        ).one_or_none()
        if head is None:
            return 0, []
        leaf = str(head.active_leaf_id) if head.active_leaf_id else None
        if entry is not None and entry.last_seq == head.last_seq and entry.leaf == leaf:
            return entry.last_seq, entry.path
        path = None
        if entry is not None:
            newer = await self._messages_after(conn, conversation_id, entry.last_seq)
            path = follow(entry, newer, leaf)
        if path is None:
            path = await self._path(conn, conversation_id, leaf)
        self.cache.put(conversation_id, head.last_seq, path)
        return head.last_seq, path

    async def cached_messages(self, conversation_id: str, last_seq: int) -> list[Message] | None:
        """The active path if the cache holds it up to `last_seq`, else None."""
        entry = self.cache.get(conversation_id)
        if entry is None or entry.last_seq != last_seq:
            return None
        return list(entry.path)

    async def path_to(self, conversation_id: str, message_id: str | None) -> list[Message]:
        """The messages from the root to `message_id` (with it); empty for None."""
        if message_id is None:
            return []
        entry = self.cache.get(conversation_id)
        cached = entry.up_to(message_id) if entry else None
        if cached is not None:
            return list(cached)
        async with self._engine.connect() as conn:
            return await self._path(conn, conversation_id, message_id)

    async def message_in(self, user_id: str, conversation_id: str, message_id: str) -> Message:
        """One message of the user's conversation.

        Raises:
            NotFound: no such conversation for the user, or no such message in it.
        """
        statement = (
            select(messages)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                messages.c.id == message_id,
                messages.c.conversation_id == conversation_id,
                conversations.c.user_id == user_id,
            )
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(statement)).mappings().one_or_none()
        if row is None:
            await self.get_conversation(user_id, conversation_id)
            raise NotFound("No such message in this conversation.")
        return message_from_row(row)

    async def branch_points(self, conversation_id: str) -> BranchPoints:
        """Where the conversation branches: each parent with several children."""
        async with self._engine.connect() as conn:
            return await self._branch_points(conn, conversation_id)

    @staticmethod
    async def _branch_points(conn: AsyncConnection, conversation_id: str) -> BranchPoints:
        rows = (await conn.execute(_BRANCH_POINTS, {"b_conversation_id": conversation_id})).all()
        return {
            str(row.parent_id) if row.parent_id else None: [str(child) for child in row.children]
            for row in rows
        }

    async def switch_branch(self, user_id: str, conversation_id: str, message_id: str) -> str:
        """Make the branch through `message_id` the active one, to its newest message.

        Returns the new active leaf's id.

        Raises:
            NotFound: no such conversation for the user, or no such message in it.
        """
        async with self._engine.begin() as conn:
            leaf = (
                await conn.execute(
                    _SWITCH,
                    {
                        "b_message_id": message_id,
                        "b_conversation_id": conversation_id,
                        "b_user_id": user_id,
                    },
                )
            ).scalar_one_or_none()
        if leaf is None:
            await self.get_conversation(user_id, conversation_id)
            raise NotFound("No such message in this conversation.")
        self.cache.move(conversation_id, str(leaf))
        return str(leaf)

    @staticmethod
    async def _path(conn: AsyncConnection, conversation_id: str, leaf: str | None) -> list[Message]:
        if leaf is None:
            return []
        rows = (
            (await conn.execute(_PATH, {"b_leaf": leaf, "b_conversation_id": conversation_id}))
            .mappings()
            .all()
        )
        return [message_from_row(row) for row in rows]

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
    ) -> tuple[int, bool]:
        """Number and insert messages inside the caller's transaction.

        The messages carry their `parent_id`s (the first one's is where they attach). Returns
        the first one's seq and whether they now end the active branch (they do unless the
        user switched to another branch meanwhile). With `user_id`, the conversation must be
        that user's.

        Raises:
            NotFound: no such conversation (for that user).
        """
        statement = _NUMBER if user_id is None else _NUMBER_OWNED
        row = (
            await conn.execute(
                statement,
                {
                    "b_conversation_id": conversation_id,
                    "b_user_id": user_id,
                    "b_count": len(new),
                    "b_parent": new[0].parent_id,
                    "b_last": new[-1].id,
                },
            )
        ).one_or_none()
        if row is None:
            raise NotFound("No such conversation.")
        first = row.last_seq - len(new) + 1
        await conn.execute(
            _INSERT_MESSAGES,
            [
                message_row(
                    message, conversation_id=conversation_id, seq=first + index, run_id=run_id
                )
                for index, message in enumerate(new)
            ],
        )
        return first, str(row.active_leaf_id) == new[-1].id
