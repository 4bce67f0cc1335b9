"""ASGI middleware: request body limits."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.api.errors import error_json

__all__ = ["BodyLimit"]


class BodyLimit:
    """Refuses bodies over `max_bytes` with 413, by Content-Length or while reading.

    A chunked body (no Content-Length) is counted as it arrives; once over the limit,
    whatever the app would have answered is replaced by the 413.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}
        """Other limits for exact paths (document uploads are larger than messages)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
                    await self._refuse(scope, receive, send, limit)
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
                # The app's answer to a body it could not finish reading (FastAPI turns any
                # error while reading into a 400): the 413 below replaces it.
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass
        if too_large and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_json(
            413,
            "payload_too_large",
            f"The request body is larger than {limit} bytes.",
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass
