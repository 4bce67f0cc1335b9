"""Conversations and their messages in PostgreSQL, with a per-process history cache.

A conversation's messages form a tree (`parent_id`): editing a message or regenerating an
answer starts a sibling branch. The conversation remembers the newest message of the branch
the user is on (`active_leaf_id`); the conversation view and every run follow the path from
the root to it. Messages are also numbered by `seq` in the order they were stored, across
branches.

The cache keeps the active path of recently used conversations with the `seq` it was read
at; a read fetches only the messages numbered after that, so the cost of a turn grows with
the new messages, not with the length of the conversation.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orchestrator.domain import Conversation, InvalidInput, Message, NotFound, Page
from orchestrator.store.codec import message_from_row, message_row
from orchestrator.store.schema import conversations, messages

__all__ = ["BranchPoints", "HistoryCache", "SqlConversationStore"]

BranchPoints = dict[str | None, list[str]]
"""For each message with more than one child (None: the first messages), its children's
ids, oldest first."""

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


@dataclass(slots=True)
class _Entry:
    last_seq: int
    path: list[Message]
    points: BranchPoints | None = None
    """The tree's branch points as of `last_seq`, once read."""

    @property
    def leaf(self) -> str | None:
        return self.path[-1].id if self.path else None

    def up_to(self, message_id: str | None) -> list[Message] | None:
        """The path up to and with `message_id` (empty for None), or None if not on it."""
        if message_id is None:
            return []
        if message_id == self.leaf:
            return self.path
        for index, message in enumerate(self.path):
            if message.id == message_id:
                return self.path[: index + 1]
        return None


class HistoryCache:
    """The active paths of recently used conversations, newest conversations kept.

    An entry also knows the conversation's owner once this process has seen it, so that a
    turn can be started from the cache without asking the database whose it is first.
    """

    def __init__(self, max_conversations: int = 512) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._owners: dict[str, str] = {}
        self._max = max_conversations

    def get(self, conversation_id: str) -> _Entry | None:
        entry = self._entries.get(conversation_id)
        if entry is not None:
            self._entries.move_to_end(conversation_id)
        return entry

    def history_of(self, conversation_id: str, user_id: str) -> tuple[int, list[Message]] | None:
        """The cached active path (a copy) if it is known to be `user_id`'s conversation."""
        if self._owners.get(conversation_id) != user_id:
            return None
        entry = self.get(conversation_id)
        if entry is None:
            return None
        return entry.last_seq, list(entry.path)

    def own(self, conversation_id: str, user_id: str) -> None:
        """Record whose conversation this is (only while it is cached)."""
        if conversation_id in self._entries:
            self._owners[conversation_id] = user_id

    def put(self, conversation_id: str, last_seq: int, path: list[Message]) -> None:
        self._entries[conversation_id] = _Entry(last_seq, path)
        self._entries.move_to_end(conversation_id)
        while len(self._entries) > self._max:
            evicted, _ = self._entries.popitem(last=False)
            self._owners.pop(evicted, None)

    def extend(
        self, conversation_id: str, first_seq: int, new: Sequence[Message], *, active: bool = True
    ) -> None:
        """Record messages numbered from `first_seq`, chained from `new[0].parent_id`.

        `active`: whether they are now the end of the active branch (else another branch
        is active and the cached path stays as it is).
        """
        entry = self._entries.get(conversation_id)
        if entry is None or not new:
            return
        if first_seq != entry.last_seq + 1:
            self.drop(conversation_id)
            return
        entry.last_seq += len(new)
        entry.points = None
        if not active:
            return
        base = entry.up_to(new[0].parent_id)
        if base is None:
            self.drop(conversation_id)
            return
        entry.path = [*base, *new]

    def move(self, conversation_id: str, leaf_id: str | None) -> None:
        """The active branch now ends at `leaf_id`: keep what of the path still holds."""
        entry = self._entries.get(conversation_id)
        if entry is None:
            return
        base = entry.up_to(leaf_id)
        if base is None:
            self.drop(conversation_id)
        else:
            entry.path = base

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
            path = _follow(entry, newer, leaf)
        if path is None:
            path = await self._path(conn, conversation_id, leaf)
        self.cache.put(conversation_id, head.last_seq, path)
        return head.last_seq, path

    def cached_history(
        self, conversation_id: str, user_id: str
    ) -> tuple[int, list[Message]] | None:
        """The cached active path (a copy) and its last seq, if known to be `user_id`'s."""
        return self.cache.history_of(conversation_id, user_id)

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


def _follow(entry: _Entry, newer: list[Message], leaf: str | None) -> list[Message] | None:
    """The active path from a cached one and the messages stored since, if they reach it.

    None when the active leaf's path leaves the cached path before the new messages end.
    """
    by_id = {message.id: message for message in newer}
    chain: list[Message] = []
    current = leaf
    while current is not None and current in by_id:
        chain.append(by_id[current])
        current = by_id[current].parent_id
    base = entry.up_to(current)
    if base is None:
        return None
    return [*base, *reversed(chain)]
