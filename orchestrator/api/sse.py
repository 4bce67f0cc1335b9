"""Run events as Server-Sent Events: `id` is the event's number, `event` its name.

The response is a small ASGI callable rather than a generic streaming response: each event
is one pre-encoded write, with no per-event objects or extra tasks, which is most of what
relaying a token costs. One task sends the events; the request's own task watches for the
client going away (and then stops the sender) and writes a comment every 15 seconds of
silence so that proxies keep the connection open.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from orchestrator.domain import InvalidInput, StoredEvent

__all__ = ["EventStreamResponse", "event_stream", "resume_point"]

PING_SECONDS = 15.0
_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_PING = {"type": "http.response.body", "body": b": ping\n\n", "more_body": True}


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


def encode_event(event: StoredEvent) -> bytes:
    """One event in the SSE wire format (JSON never holds a raw line break)."""
    data = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.name}\ndata: {data}\n\n".encode()


class EventStreamResponse(Response):
    """Streams events until they end or the client goes away."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[StoredEvent], ping_seconds: float = PING_SECONDS):
        # A `Response` (so that routes return it as it is), without a body of its own.
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.raw_headers = list(_HEADERS)
        self._events = events
        self._ping_seconds = ping_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the events until they end or the client leaves, with pings in silences."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        sender = asyncio.get_running_loop().create_task(self._send_events(send))
        try:
            while not sender.done():
                try:
                    async with asyncio.timeout(self._ping_seconds):
                        message = await receive()
                except TimeoutError:
                    if not sender.done():
                        await send(_PING)
                    continue
                # The server answers `http.disconnect` when the client leaves and once the
                # response is complete.
                if message["type"] == "http.disconnect":
                    break
        finally:
            if not sender.done():
                sender.cancel()
            try:
                await sender
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this request is being cancelled, not just the sender
        if self.background is not None:
            await self.background()

    async def _send_events(self, send: Send) -> None:
        try:
            async for event in self._events:
                await send(
                    {"type": "http.response.body", "body": encode_event(event), "more_body": True}
                )
        finally:
            aclose = getattr(self._events, "aclose", None)
            if aclose is not None:
                await aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def event_stream(events: AsyncIterator[StoredEvent]) -> EventStreamResponse:
    """A response that streams `events` as Server-Sent Events."""
    return EventStreamResponse(events)
