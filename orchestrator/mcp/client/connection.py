"""One MCP server, connected and kept connected.

A `ServerConnection` runs a supervisor task (`run`) that opens an SDK `Client`, loads
the server's tools, prompts and resources, follows their changes (list_changed
notifications on 2025-11-25, a `subscriptions/listen` stream on 2026-07-28), and, when
the connection ends, opens a new one after a backoff; a server that keeps failing opens
the circuit (see `breaker`).

Requests run as tasks inside the connection's own task group, never in the caller's
task: the SDK tears a connection down through its task group, and that must fail the
requests in flight, not cancel their callers. A caller that is cancelled cancels its
request, which makes the SDK send `notifications/cancelled` (or abort the HTTP request
on 2026-07-28). Each request has a deadline that progress notifications push back and
that stands still while the user is being asked something.
"""

from __future__ import annotations

import logging
import math
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TextIO, TypeVar

import anyio
import anyio.abc
import httpx2
import mcp_types as types
from mcp import Client, MCPError
from mcp.client import ClientRequestContext
from mcp.server import Server
from mcp.server.mcpserver import MCPServer
from pydantic import ValidationError

from orchestrator.domain import ToolServerError
from orchestrator.mcp.client.breaker import CircuitBreaker
from orchestrator.mcp.client.call import (
    AuthorizationRequired,
    Call,
    connecting_call,
    current_call,
    request_result,
)
from orchestrator.mcp.client.egress import Egress
from orchestrator.mcp.client.limits import Limits
from orchestrator.mcp.client.listing import ServerListing, follow_changes, load_listing
from orchestrator.mcp.client.server_requests import ServerRequests
from orchestrator.mcp.client.service_token import META_KEY, ServiceTokens
from orchestrator.mcp.client.transport import RequestUser, describe, open_transport, request_user
from orchestrator.mcp.config import ServerConfig

__all__ = ["ConnectionState", "Meta", "ServerConnection"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Meta = types.RequestParamsMeta | None
_CANCEL_GRACE = 2.0
_CLIENT_INFO = types.Implementation(name="assistant", version="1.0")


class ConnectionState(StrEnum):
    """Where a connection is in its life, as its health shows it."""

    STARTING = "starting"
    READY = "ready"
    RECONNECTING = "reconnecting"
    CIRCUIT_OPEN = "circuit_open"
    AUTH_REQUIRED = "auth_required"
    STOPPED = "stopped"


@dataclass(eq=False)
class _Live:
    client: Client
    group: anyio.abc.TaskGroup
    lost: anyio.Event = field(default_factory=anyio.Event)


class ServerConnection:
    """A supervised connection to one server, for everyone or for one user.

    `requests` answers what the server asks while connected; `on_change` is awaited after
    every change of state and of the server's lists (the hub rebuilds its tools then).
    """

    def __init__(
        self,
        config: ServerConfig,
        requests: ServerRequests,
        *,
        on_change: Callable[[ServerConnection], Awaitable[None]] | None = None,
        user_id: str | None = None,
        errlog: TextIO,
        tokens: ServiceTokens | None = None,
        egress: Egress | None = None,
        limits: Limits | None = None,
        tls: ssl.SSLContext | None = None,
        auth: httpx2.Auth | None = None,
        breaker: CircuitBreaker | None = None,
        sampling: bool = False,
        roots: bool = False,
        target: Server[Any] | MCPServer | None = None,
    ) -> None:
        self.config = config
        self.user_id = user_id
        self.listing = ServerListing()
        self.breaker = breaker or CircuitBreaker()
        self.state = ConnectionState.STARTING
        self.protocol_version: str | None = None
        self.server_name: str | None = None
        self.connected_at: float | None = None
        self.next_attempt_at: float | None = None
        self.restarts = 0
        self.authorization_url: str | None = None
        self._server_requests = requests
        self._on_change = on_change
        self._errlog = errlog
        self._tokens = tokens if config.assistant else None
        self._tls = tls if config.assistant else None
        self._egress = egress
        self.limits = limits or Limits()
        self._auth = auth
        self._sampling = sampling
        self._roots = roots
        self._target = target
        self._live: _Live | None = None
        self._session_scope: anyio.CancelScope | None = None
        self._stopping = False
        self._wake = anyio.Event()
        self._changed = anyio.Event()
        self._announcing = False
        self._requests_changed: anyio.Event | None = None
        self._inflight: list[Call] = []

    @property
    def instructions(self) -> str | None:
        """What the server asks the model to know, from its handshake."""
        return self.listing.instructions

    @property
    def ready(self) -> bool:
        """Whether the connection is up and can take requests now."""
        return self._live is not None

    def inflight(self) -> list[Call]:
        """The requests running on the connection now."""
        return list(self._inflight)

    def state_changed(self) -> anyio.Event:
        """An event set at the next change of state."""
        return self._changed

    @property
    def announcing(self) -> bool:
        """Whether a change of state is still being told to the hub (its tools re-read)."""
        return self._announcing

    def requests_changed(self) -> anyio.Event:
        """An event set when a request next starts or ends."""
        if self._requests_changed is None:
            self._requests_changed = anyio.Event()
        return self._requests_changed

    def _pulse_requests(self) -> None:
        if self._requests_changed is not None:
            self._requests_changed.set()
            self._requests_changed = None

    # -- the supervisor ---------------------------------------------------------------

    async def run(self) -> None:
        """Connect, and reconnect whenever the connection ends, until `stop`."""
        first = True
        while not self._stopping:
            if not first:
                await self._pause_before_retry()
                if self._stopping:
                    break
                self.restarts += 1
            first = False
            error: str | None = None
            needs_auth: AuthorizationRequired | None = None
            self.connected_at = None
            try:
                await self._session()
            except* AuthorizationRequired as group:
                needs_auth = group.exceptions[0]  # type: ignore[assignment]
            except* Exception as group:
                error = describe(group)
            if self._stopping:
                break
            if needs_auth is not None:
                self.authorization_url = needs_auth.authorization_url
                await self._set_state(ConnectionState.AUTH_REQUIRED)
                await self._wake.wait()
                self._wake = anyio.Event()
                first = True
                continue
            self._record_end(error)
        await self._set_state(ConnectionState.STOPPED)

    def _record_end(self, error: str | None) -> None:
        name = self.config.name
        if self.connected_at is None:
            self.breaker.record_failure(error or "the connection ended during the handshake")
            logger.warning("MCP server %s: cannot connect: %s", name, self.breaker.last_error)
        else:
            lasted = anyio.current_time() - self.connected_at
            self.breaker.session_ended(lasted, error or "the server closed the connection")
            logger.warning(
                "MCP server %s: connection lost after %.1f s: %s",
                name,
                lasted,
                self.breaker.last_error,
            )

    async def _pause_before_retry(self) -> None:
        delay = self.breaker.delay()
        self.next_attempt_at = anyio.current_time() + delay
        if self.breaker.open:
            if self.state is not ConnectionState.CIRCUIT_OPEN:
                logger.error(
                    "MCP server %s: circuit open after %d failures; its tools are withdrawn",
                    self.config.name,
                    self.breaker.failures,
                )
            await self._set_state(ConnectionState.CIRCUIT_OPEN)
        else:
            await self._set_state(ConnectionState.RECONNECTING)
        with anyio.move_on_after(delay):
            await self._wake.wait()
        self._wake = anyio.Event()
        self.next_attempt_at = None

    def stop(self) -> None:
        """End the connection for good; `run` returns once it is closed."""
        self._stopping = True
        self._wake.set()
        if self._live is None and self._session_scope is not None:
            self._session_scope.cancel()
        if self._live is not None:
            self._live.lost.set()

    def reconnect(self) -> None:
        """Try now: after an authorization, or to probe an open circuit."""
        if self._live is not None:
            self._live.lost.set()
        self._wake.set()

    async def _set_state(self, state: ConnectionState) -> None:
        self.state = state
        self._announcing = True
        try:
            await self._changed_now()
        finally:
            self._announcing = False
            self._changed.set()
            self._changed = anyio.Event()

    def _client(self, on_end: Callable[[], None]) -> Client:
        callbacks: dict[str, Any] = {"elicitation_callback": self._on_elicit}
        if self._sampling:
            callbacks["sampling_callback"] = self._on_sample
        if self._roots:
            callbacks["list_roots_callback"] = self._on_roots
        mode = {"auto": "auto", "2025-11-25": "legacy"}.get(self.config.protocol, "2026-07-28")
        if self._target is not None:
            server: Any = self._target
        else:
            server = open_transport(
                self.config,
                on_end=on_end,
                errlog=self._errlog,
                auth=self._auth,
                tokens=self._tokens,
                egress=self._egress,
                limits=self.limits,
                tls=self._tls,
            )
        return Client(
            server,
            mode=mode,
            message_handler=self._on_message,
            client_info=_CLIENT_INFO,
            cache=None,
            **callbacks,
        )

    async def _session(self) -> None:
        lost = anyio.Event()
        client = self._client(lost.set)
        with anyio.CancelScope() as connecting:
            self._session_scope = connecting
            handshake = Call(user_id=self.user_id, timeout=self.config.connect_timeout)
            handshake.scope = connecting
            handshake.extend()
            connecting_call.set(handshake)
            async with client, anyio.create_task_group() as group:
                live = _Live(client, group, lost)
                if client.protocol_version >= "2026":
                    await group.start(self._follow, live)
                self.listing = await load_listing(client, self.config.name, self.limits)
                handshake.scope = None
                connecting.deadline = math.inf
                self.protocol_version = client.protocol_version
                info = client.server_info
                self.server_name = info.name if info is not None else None
                self.connected_at = anyio.current_time()
                self.authorization_url = None
                self._live = live
                await self._set_state(ConnectionState.READY)
                logger.info(
                    "MCP server %s connected (%s, %d tools)",
                    self.config.name,
                    self.protocol_version,
                    len(self.listing.tools),
                )
                try:
                    await lost.wait()
                finally:
                    self._live = None
                    group.cancel_scope.cancel()
        if connecting.cancelled_caught and self.connected_at is None:
            raise TimeoutError(f"no answer within {self.config.connect_timeout:g} s")

    # -- following changes ------------------------------------------------------------

    async def _on_message(self, message: Any) -> None:
        live = self._live
        if isinstance(message, Exception):
            logger.debug("MCP server %s: transport error: %s", self.config.name, describe(message))
            return
        kind = None
        if isinstance(message, types.ToolListChangedNotification):
            kind = "tools"
        elif isinstance(message, types.PromptListChangedNotification):
            kind = "prompts"
        elif isinstance(message, types.ResourceListChangedNotification):
            kind = "resources"
        elif isinstance(message, types.LoggingMessageNotification):
            logger.debug("MCP server %s says: %s", self.config.name, message.params.data)
        if kind is not None and live is not None:
            live.group.start_soon(self._refresh, live, kind)

    async def _follow(
        self, live: _Live, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Follow a 2026-07-28 server's list changes (started once subscribed)."""

        async def refresh(kind: str) -> None:
            await self._refresh(live, kind)

        await follow_changes(
            live.client, live.lost, refresh, self.config.name, task_status=task_status
        )

    async def refresh(self, kind: str) -> None:
        """Fetch one of the lists again ("tools", "prompts" or "resources")."""
        if self._live is not None:
            await self._refresh(self._live, kind)

    async def _refresh(self, live: _Live, kind: str) -> None:
        try:
            with anyio.fail_after(self.config.connect_timeout):
                await self.listing.reload(live.client, kind)
        except (MCPError, ValidationError, TimeoutError) as error:
            logger.warning(
                "MCP server %s: cannot list %s: %s", self.config.name, kind, describe(error)
            )
            return
        await self._changed_now()

    async def _changed_now(self) -> None:
        if self._on_change is not None:
            await self._on_change(self)

    # -- requests ---------------------------------------------------------------------

    async def _wait_live(self, limit: float) -> _Live:
        if self._live is not None:
            return self._live
        with anyio.move_on_after(limit):
            while True:
                if self._live is not None:
                    return self._live
                if self.state in (
                    ConnectionState.CIRCUIT_OPEN,
                    ConnectionState.STOPPED,
                    ConnectionState.AUTH_REQUIRED,
                ):
                    break
                await self._changed.wait()
        raise ToolServerError(self._unavailable())

    def _unavailable(self) -> str:
        name = self.config.name
        if self.state is ConnectionState.AUTH_REQUIRED:
            return f"The server {name} needs authorization first."
        reason = f": {self.breaker.last_error}" if self.breaker.last_error else ""
        if self.state is ConnectionState.CIRCUIT_OPEN:
            return f"The server {name} is failing repeatedly and is paused{reason}."
        return f"The server {name} is not connected{reason}."

    def _meta(self, call: Call) -> types.RequestParamsMeta | None:
        if self._tokens is None or self.config.transport != "stdio" or not call.user_id:
            return None
        meta = types.RequestParamsMeta()
        meta[META_KEY] = self._tokens.mint(self.config.name, call.user_id)
        return meta

    async def request(self, call: Call, operation: Callable[[Client, Meta], Awaitable[T]]) -> T:
        """Run `operation` on the live client for `call`, within its deadline.

        Raises:
            ToolServerError: not connected, timed out, connection lost, or a protocol error.
        """
        live = await self._wait_live(call.timeout)
        outcome: list[Any] = []
        done = anyio.Event()

        async def runner() -> None:
            call_token = current_call.set(call)
            user_token = request_user.set(RequestUser(call.user_id))
            try:
                if call.cancelled:
                    return
                with anyio.CancelScope() as scope:
                    call.scope = scope
                    call.extend()
                    try:
                        outcome.append(await operation(live.client, self._meta(call)))
                    except (MCPError, ValidationError) as error:
                        outcome.append(error)
                if scope.cancelled_caught and not outcome and not call.cancelled:
                    outcome.append(TimeoutError())
            finally:
                request_user.reset(user_token)
                current_call.reset(call_token)
                done.set()

        self._inflight.append(call)
        self._pulse_requests()
        try:
            try:
                live.group.start_soon(runner)
            except RuntimeError:
                raise ToolServerError(self._unavailable()) from None
            try:
                await done.wait()
            except BaseException:
                call.cancelled = True
                if call.scope is not None:
                    call.scope.cancel()
                with anyio.CancelScope(shield=True), anyio.move_on_after(_CANCEL_GRACE):
                    await done.wait()
                raise
        finally:
            self._inflight.remove(call)
            self._pulse_requests()
        return request_result(self.config.name, outcome, call, self.limits, on_closed=live.lost.set)

    # -- what servers ask of us -------------------------------------------------------

    def _call_for(self) -> Call | None:
        """The request a server's question belongs to.

        Exact when the SDK carries our context to the handler (2026-07-28, and HTTP); on a
        stdio 2025-11-25 connection, the one request in flight, or the oldest when all in
        flight are the same user's. Otherwise nobody: a question is never shown to a user
        it may not be meant for.
        """
        call = current_call.get()
        if call is not None:
            return call
        users = {call.user_id for call in self._inflight}
        if len(users) == 1:
            return self._inflight[0]
        return None

    async def _on_elicit(
        self, ctx: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        return await self._server_requests.elicit(self._call_for(), params)

    async def _on_sample(
        self, ctx: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        return await self._server_requests.sample(self.config.name, self._call_for(), params)

    async def _on_roots(self, ctx: ClientRequestContext) -> types.ListRootsResult | types.ErrorData:
        call = self._call_for()
        user_id = (call.user_id if call is not None else None) or self.user_id
        return await self._server_requests.roots(self.config.roots, user_id)
