"""Run events as Server-Sent Events: `id` is the event's number, `event` its name."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from orchestrator.domain import InvalidInput, StoredEvent

__all__ = ["event_stream", "resume_point"]

_PING_SECONDS = 15


def resume_point(request: Request, after: int | None) -> int:
    """Where a client resumes: the `Last-Event-ID` header, else `?after=`, else the start.

    Raises:
        InvalidInput: a Last-Event-ID that is not a non-negative integer.
    """
    header = request.headers.get("last-event-id")
    if header is not None and header.strip():
        try:
            value = int(header)
        except ValueError:
            raise InvalidInput("Last-Event-ID must be an event id (an integer).") from None
        if value < 0:
            raise InvalidInput("Last-Event-ID must not be negative.")
        return value
    return after or 0


async def _encode(events: AsyncIterator[StoredEvent]) -> AsyncIterator[ServerSentEvent]:
    dumps = json.dumps
    async for event in events:
        yield ServerSentEvent(
            data=dumps(event.data, ensure_ascii=False, separators=(",", ":")),
            event=event.name,
            id=str(event.seq),
        )


def event_stream(events: AsyncIterator[StoredEvent]) -> EventSourceResponse:
    return EventSourceResponse(
        _encode(events),
        ping=_PING_SECONDS,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
