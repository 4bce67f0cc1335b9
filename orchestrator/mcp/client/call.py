"""A request in flight on a server connection, and how its failures read.

`Call` carries who a request is for (the user whose token it gets, whose workspace its
roots are, who is asked its questions), its deadline (pushed back by progress, stopped
while the user answers) and the run's callbacks. The context variables make it known to
code the SDK runs on the request's behalf: the OAuth flow, and server requests that the
SDK delivers in the caller's context.

`request_result` turns what a finished request left behind (a value, or the SDK's error)
into the value or a `ToolServerError` that says, in words for the model and the user,
why there is none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp import MCPError
from mcp.shared.exceptions import UrlElicitationRequiredError
from pydantic import ValidationError

from orchestrator.domain import ToolServerError
from orchestrator.mcp.client.limits import CUT_PREFIX, Limits, cut_marker

__all__ = [
    "AuthorizationRequired",
    "Call",
    "ElicitationsRequired",
    "connecting_call",
    "current_call",
    "request_result",
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


def request_result(
    server: str, outcome: list[Any], call: Call, limits: Limits, *, on_closed: Callable[[], None]
) -> Any:
    """The value a request on `server` produced, from what its task left in `outcome`.

    `outcome` is empty when the request never finished (the connection went away), else
    holds the value, a `TimeoutError`, or the SDK's `MCPError` or `ValidationError`.
    `on_closed` is called when the server's answer says the connection closed.

    Raises:
        ElicitationsRequired: the server will answer once the user has visited its pages.
        ToolServerError: the connection was lost or closed, the server did not answer in
            time, broke the protocol, sent too much, or answered with an error.
    """
    if not outcome:
        raise ToolServerError(f"The connection to {server} was lost during the request.")
    value = outcome[0]
    if isinstance(value, TimeoutError):
        raise ToolServerError(f"{server} did not answer within {call.timeout:g} s.")
    if isinstance(value, ValidationError):
        raise ToolServerError(f"{server} sent a result that does not follow the protocol.")
    if isinstance(value, MCPError):
        too_large = _too_large(value.error.message, limits)
        if too_large is not None:
            raise ToolServerError(too_large)
        if value.code == types.CONNECTION_CLOSED:
            on_closed()
            raise ToolServerError(f"The connection to {server} closed during the request.")
        if value.code == types.REQUEST_TIMEOUT:
            raise ToolServerError(f"{server} did not answer in time.")
        if value.code == types.URL_ELICITATION_REQUIRED:
            try:
                pages = UrlElicitationRequiredError.from_error(value.error).elicitations
            except (ValueError, ValidationError):
                pages = []
            if pages:
                raise ElicitationsRequired(value.error.message, pages)
        raise ToolServerError(f"{server} answered with an error: {value.error.message}")
    return value


def _too_large(message: str, limits: Limits) -> str | None:
    """The cut marker, when a request failed because the server's answer was too large.

    Too large for our own transport bound, or for the SDK's SSE event bound.
    """
    if CUT_PREFIX in message:
        return message[message.index(CUT_PREFIX) :]
    if "Server-sent event exceeded" in message:
        limit = limits.max_message_bytes
        return cut_marker(limit, limit, more_than=True)
    return None
