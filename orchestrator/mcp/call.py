"""A request in flight on a server connection, and what a connection asks of its hub.

`Call` carries who a request is for (the user whose token it gets, whose workspace its
roots are, who is asked its questions), its deadline (pushed back by progress, stopped
while the user answers) and the run's callbacks. The context variables make it known to
code the SDK runs on the request's behalf: the OAuth flow, and server requests that the
SDK delivers in the caller's context.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import mcp_types as types

from orchestrator.domain import ToolServerError

if TYPE_CHECKING:
    from orchestrator.mcp.connection import ServerConnection

__all__ = [
    "AuthorizationRequired",
    "Call",
    "ConnectionHost",
    "ElicitationsRequired",
    "connecting_call",
    "current_call",
]


@dataclass(eq=False)
class Call:
    """A request in flight: who it is for, its deadline, and the run it belongs to.

    `context` is the run's `ToolCallContext` for tool calls (how to ask the user), None
    for requests nobody can be asked about.
    """

    user_id: str | None
    timeout: float
    context: Any = None
    cancelled: bool = False
    scope: anyio.CancelScope | None = None
    _pauses: int = 0

    def extend(self) -> None:
        """Push the deadline back by the timeout (progress was made)."""
        if self.scope is not None and self._pauses == 0:
            self.scope.deadline = anyio.current_time() + self.timeout

    @contextmanager
    def waiting_on_user(self) -> Iterator[None]:
        """Stop the clock while the user is asked something."""
        self._pauses += 1
        if self.scope is not None:
            self.scope.deadline = math.inf
        try:
            yield
        finally:
            self._pauses -= 1
            self.extend()


current_call: ContextVar[Call | None] = ContextVar("mcp_current_call", default=None)
# The handshake in progress, as a call whose clock an OAuth authorization can stop.
connecting_call: ContextVar[Call | None] = ContextVar("mcp_connecting_call", default=None)


class ElicitationsRequired(ToolServerError):
    """The server will answer once the user has visited these pages (MCP error -32042)."""

    def __init__(self, message: str, elicitations: list[types.ElicitRequestURLParams]) -> None:
        super().__init__(message)
        self.elicitations = elicitations


class AuthorizationRequired(Exception):
    """The server needs the user to authorize the hub (OAuth) before it can connect."""

    def __init__(self, authorization_url: str | None = None) -> None:
        super().__init__("authorization required")
        self.authorization_url = authorization_url


class ConnectionHost(Protocol):
    """What a connection asks of the hub that owns it."""

    async def elicit(
        self, connection: ServerConnection, call: Call | None, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData: ...

    async def sample(
        self,
        connection: ServerConnection,
        call: Call | None,
        params: types.CreateMessageRequestParams,
    ) -> types.CreateMessageResult | types.ErrorData: ...

    async def roots(
        self, connection: ServerConnection, call: Call | None
    ) -> types.ListRootsResult | types.ErrorData: ...

    async def changed(self, connection: ServerConnection) -> None: ...
