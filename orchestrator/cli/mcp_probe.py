"""One-off connections outside the hub: `assistant mcp test` and the conformance client.

`connect_once` runs a single `ServerConnection` (the hub's own code) until it is ready or
has failed once, and stops it on exit. `HeadlessUser` stands in for a person: it accepts
elicitations, filling each field from its schema default (else a value of the right
type), which is what a conformance scenario expects of a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2

from orchestrator.domain import (
    ChatModel,
    ElicitationAnswer,
    ElicitationRequest,
    ToolCallContext,
    ToolServerError,
)
from orchestrator.mcp import ServerConfig
from orchestrator.mcp.client import (
    Call,
    CircuitBreaker,
    ConnectionState,
    ServerConnection,
    ServerRequests,
)

__all__ = ["HeadlessUser", "connect_once"]

_TYPE_VALUES: dict[str, Any] = {"boolean": True, "integer": 1, "number": 1, "string": "x"}


class HeadlessUser:
    """Answers a server's questions the way a cooperative user would."""

    def __init__(self, user_id: str = "cli") -> None:
        self.user_id = user_id
        self.asked: list[ElicitationRequest] = []

    async def elicit(self, request: ElicitationRequest) -> ElicitationAnswer:
        """Accept, with every field of a form filled in (and remember the question)."""
        self.asked.append(request)
        if request.mode != "form":
            return ElicitationAnswer(action="accept")
        properties = (request.requested_schema or {}).get("properties") or {}
        content: dict[str, Any] = {}
        for name, schema in properties.items():
            if "default" in schema:
                content[name] = schema["default"]
            elif schema.get("enum"):
                content[name] = schema["enum"][0]
            elif schema.get("type") == "array":
                options = (schema.get("items") or {}).get("enum") or []
                content[name] = options[:1]
            else:
                content[name] = _TYPE_VALUES.get(schema.get("type"), "x")
        return ElicitationAnswer(action="accept", content=content)

    def context(self) -> ToolCallContext:
        """A tool call context whose questions this user answers."""
        return ToolCallContext(
            user_id=self.user_id,
            conversation_id="cli",
            run_id="cli",
            call_id="cli",
            report_progress=lambda progress, total, message: None,
            elicit=self.elicit,
        )

    def call(self, timeout: float) -> Call:
        """A request for this user, within `timeout` seconds."""
        return Call(user_id=self.user_id, timeout=timeout, context=self.context())


@asynccontextmanager
async def connect_once(
    config: ServerConfig,
    *,
    errlog: TextIO,
    data_dir: Path,
    auth: httpx2.Auth | None = None,
    model: ChatModel | None = None,
    model_name: str = "assistant",
) -> AsyncIterator[ServerConnection]:
    """A ready connection to the server, closed on exit.

    Raises:
        ToolServerError: the server could not be connected (or needs authorization).
    """
    requests = ServerRequests(model=model, model_name=model_name, data_dir=data_dir)
    connection = ServerConnection(
        config,
        requests,
        errlog=errlog,
        auth=auth,
        breaker=CircuitBreaker(threshold=1, open_interval=3600),
        sampling=model is not None,
        roots=config.roots is not None,
    )
    async with anyio.create_task_group() as group:
        group.start_soon(connection.run)
        try:
            while connection.state is ConnectionState.STARTING:
                await connection.state_changed().wait()
            if connection.state is not ConnectionState.READY:
                reason = connection.breaker.last_error or connection.state.value
                raise ToolServerError(f"Cannot connect to {config.name}: {reason}")
            yield connection
        finally:
            connection.stop()
