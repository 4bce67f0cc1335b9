"""The per-process history cache: the active paths of recently used conversations.

Each entry holds a conversation's active path with the `seq` it was read at, so that
`SqlConversationStore` reads only the messages numbered after it: the cost of a turn grows
with the new messages, not with the length of the conversation. Another process may have
added messages meanwhile; the store compares `last_seq` and the active leaf with the
database's before trusting an entry.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.domain import Message

__all__ = ["BranchPoints", "HistoryCache", "HistoryEntry", "follow"]

BranchPoints = dict[str | None, list[str]]
"""For each message with more than one child (None: the first messages), its children's
ids, oldest first."""


@dataclass(slots=True)
class HistoryEntry:
    """One conversation's active path as of its `last_seq`-th message."""

    last_seq: int
    path: list[Message]
    points: BranchPoints | None = None
    """The tree's branch points as of `last_seq`, once read."""

    @property
    def leaf(self) -> str | None:
        """The active branch's newest message (None: the conversation is empty)."""
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
        self._entries: OrderedDict[str, HistoryEntry] = OrderedDict()
        self._owners: dict[str, str] = {}
        self._max = max_conversations

    def get(self, conversation_id: str) -> HistoryEntry | None:
        """The conversation's entry (the cached object itself), marked as recently used."""
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
        """Cache a path read at `last_seq`, evicting the least recently used past the limit."""
        self._entries[conversation_id] = HistoryEntry(last_seq, path)
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
        """Forget the conversation (deleted, or its entry no longer to be trusted)."""
        self._entries.pop(conversation_id, None)
        self._owners.pop(conversation_id, None)


def follow(entry: HistoryEntry, newer: list[Message], leaf: str | None) -> list[Message] | None:
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
