"""Rows to domain objects and back, and the cursors that page through conversations."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from orchestrator.domain import (
    ContentPart,
    Conversation,
    InvalidInput,
    Message,
    MessageStatus,
    Role,
    StoredEvent,
    ToolCall,
    Usage,
)

__all__ = [
    "MESSAGE_FIELDS",
    "conversation_from_row",
    "decode_cursor",
    "encode_cursor",
    "expand_events",
    "message_from_row",
    "message_row",
    "pack_events",
]

_PARTS = TypeAdapter(list[ContentPart])
_CALLS = TypeAdapter(list[ToolCall])
_DELTA = "message.delta"


def message_row(
    message: Message, *, conversation_id: str, seq: int, run_id: str | None
) -> dict[str, Any]:
    """The `messages` row of a message, numbered `seq` in its conversation."""
    return {
        "id": message.id,
        "conversation_id": conversation_id,
        "seq": seq,
        "parent_id": message.parent_id,
        "run_id": run_id,
        "role": message.role.value,
        "content": [part.model_dump(mode="json", exclude_none=True) for part in message.content],
        "text": message.text,
        "tool_calls": [call.model_dump(mode="json") for call in message.tool_calls] or None,
        "tool_call_id": message.tool_call_id,
        "name": message.name,
        "model": message.model,
        "usage": message.usage.model_dump() if message.usage else None,
        "status": message.status.value,
        "is_error": message.is_error,
        "fault": message.fault,
        "token_count": message.token_count,
    }


MESSAGE_FIELDS = tuple(
    message_row(Message(id="", role=Role.USER), conversation_id="", seq=0, run_id=None)
)
"""The columns `message_row` fills, in its order."""


def message_from_row(row: Mapping[Any, Any]) -> Message:
    """The message stored in a `messages` row (the inverse of `message_row`)."""
    usage = row["usage"]
    return Message(
        id=str(row["id"]),
        role=Role(row["role"]),
        parent_id=str(row["parent_id"]) if row.get("parent_id") else None,
        content=_PARTS.validate_python(row["content"]),
        tool_calls=_CALLS.validate_python(row["tool_calls"]) if row["tool_calls"] else [],
        tool_call_id=row["tool_call_id"],
        name=row["name"],
        model=row["model"],
        usage=Usage(**usage) if usage else None,
        status=MessageStatus(row["status"]),
        is_error=row["is_error"],
        fault=row["fault"],
        token_count=row["token_count"],
        created_at=row["created_at"],
    )


def pack_events(run_id: str, events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """Rows for `run_events`: consecutive deltas fold into one row with their lengths."""
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    first = 0
    for event in events:
        if event.name == _DELTA:
            if not texts:
                first = event.seq
            texts.append(event.data["text"])
            continue
        if texts:
            rows.append(_delta_row(run_id, first, texts))
            texts = []
        rows.append(
            {
                "run_id": run_id,
                "seq": event.seq,
                "last_seq": event.seq,
                "name": event.name,
                "data": event.data,
                "splits": None,
            }
        )
    if texts:
        rows.append(_delta_row(run_id, first, texts))
    return rows


def _delta_row(run_id: str, first: int, texts: list[str]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "seq": first,
        "last_seq": first + len(texts) - 1,
        "name": _DELTA,
        "data": {"text": "".join(texts)},
        "splits": [len(text) for text in texts],
    }


def expand_events(rows: Sequence[Mapping[Any, Any]], after: int) -> list[StoredEvent]:
    """The events stored in `rows` whose sequence number is above `after`, one by one."""
    events: list[StoredEvent] = []
    for row in rows:
        splits = row["splits"]
        if splits is None:
            if row["seq"] > after:
                events.append(StoredEvent(seq=row["seq"], name=row["name"], data=row["data"]))
            continue
        text: str = row["data"]["text"]
        offset = 0
        for index, length in enumerate(splits):
            seq = row["seq"] + index
            if seq > after:
                events.append(
                    StoredEvent(seq=seq, name=_DELTA, data={"text": text[offset : offset + length]})
                )
            offset += length
    return events


def conversation_from_row(row: Any) -> Conversation:
    """The conversation in a `conversations` row (`last_seq` counts its messages)."""
    return Conversation(
        id=str(row.id),
        user_id=str(row.user_id),
        title=row.title,
        created_at=row.created_at,
        updated_at=row.updated_at,
        message_count=row.last_seq,
        pinned=row.pinned,
    )


def encode_cursor(pinned: bool, updated_at: datetime, conversation_id: str) -> str:
    """An opaque cursor for the page that follows this conversation in the list."""
    raw = json.dumps([updated_at.isoformat(), conversation_id, pinned]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[bool, datetime, str]:
    """A cursor's position; one from before pins (two fields) is among the unpinned.

    Raises:
        InvalidInput: not a cursor `encode_cursor` made.
    """
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
