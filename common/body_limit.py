"""ASGI middleware that refuses request bodies over a size limit with 413.

The orchestrator's API and our MCP servers both use it; each answers the 413 in its own
shape (the API's JSON error, the MCP servers' plain text), given as `refusal`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "Refusal"]

Refusal = Callable[[int], ASGIApp]
"""The limit in bytes -> the ASGI response that refuses a body over it (a 413)."""


class BodyLimit:
    """Refuses bodies over `max_bytes` with 413, by Content-Length or while reading.

    A declared Content-Length over the limit is refused before the app runs. A chunked body
    (no Content-Length) is counted as it arrives; once over the limit the app's read fails,
    and whatever the app would have answered (FastAPI turns any error while reading into a
    400) is replaced by the 413.
    `overrides` sets other limits for exact paths (document uploads are larger than
    messages).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        refusal: Refusal,
        overrides: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refusal = refusal
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 413 (see the class docstring)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope.get("path", ""), self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self.refusal(limit)(scope, receive, send)
                    return
        received = 0
        too_large = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # the app's answer to a body it could not finish reading
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass
        if too_large and not started:
            await self.refusal(limit)(scope, receive, send)


class _TooLarge(Exception):
    pass
