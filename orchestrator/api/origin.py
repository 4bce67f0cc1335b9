"""Where each request comes from, for the audit log: the client's address and a trace id.

The address is the ASGI client's: behind a proxy, uvicorn (started with `proxy_headers`)
has already replaced it with the `X-Forwarded-For` address when the proxy is trusted
(`FORWARDED_ALLOW_IPS`), so a header a client forges is not believed here either.

The trace id is the W3C `traceparent` header's when the request carries a valid one (so
records join the caller's distributed trace); otherwise the client's own `X-Request-ID`
when it is a plain token, else a new random id. Every answer carries it back as
`X-Request-ID`, so a user can quote it and an admin find the records it left.
(No OpenTelemetry SDK is installed in this process, so there is no current span to read.)

Both go in `orchestrator.domain.request_origin` for the whole request, and for the run
tasks it starts, which is where `AuditTrail.record` reads them.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.domain import RequestOrigin, request_origin

__all__ = ["REQUEST_ID_HEADER", "RequestOrigins", "trace_id_of"]

REQUEST_ID_HEADER = "X-Request-ID"

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C `traceparent` header, or None if absent or malformed."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match.group(1) == "0" * 32:
        return None
    return match.group(1)


class RequestOrigins:
    """ASGI middleware: sets `request_origin` and answers with `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its origin known."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get(REQUEST_ID_HEADER, "")
        trace_id = (
            trace_id_of(headers.get("traceparent"))
            or (given if _REQUEST_ID.match(given) else None)
            or uuid.uuid4().hex
        )
        client = scope.get("client")
        token = request_origin.set(RequestOrigin(client[0] if client else None, trace_id))

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = trace_id
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            request_origin.reset(token)
