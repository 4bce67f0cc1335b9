"""HTTP metrics middleware: requests and time to first byte, by route template."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.telemetry import Metrics

__all__ = ["RequestMetrics"]


class RequestMetrics:
    """ASGI middleware counting requests and timing the first byte, by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, recording its status and time to first byte."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                self.metrics.request_seconds.labels(path).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = scope.get("route")
            self.metrics.requests.labels(
                scope["method"], getattr(route, "path", "unmatched"), str(status)
            ).inc()
