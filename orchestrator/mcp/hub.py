"""The MCP hub: every MCP server's tools, resources and prompts, for the agent loop.

`MCPHub` implements the core's `ToolHost`. It keeps one supervised connection per server
(one per user for servers that need the user's own OAuth authorization), reconciles them
with the configured servers every few seconds, turns each server's tools into tool specs
and routes calls, with their progress, questions and cancellation, to the right server.

Opening the hub starts every connection at once and waits for none: a slow or dead
server delays nobody, its tools simply arrive when it does.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.abc
from mcp.server import Server
from mcp.server.mcpserver import MCPServer

from orchestrator.domain import (
    AccessPolicies,
    ChatModel,
    Tokenizer,
    ToolCallContext,
    ToolOutcome,
    ToolServerError,
    ToolSpec,
    error_outcome,
)
from orchestrator.mcp.client import (
    Call,
    CircuitBreaker,
    ConnectionState,
    Egress,
    ElicitationsRequired,
    Limits,
    Resolver,
    ServerConnection,
    ServerRequests,
    ServiceTokens,
    elicitation_request,
    outcome_of,
)
from orchestrator.mcp.config import PROTECTED_ENV, ServerConfig
from orchestrator.mcp.governance import (
    HubStore,
    OAuthBroker,
    ToolApprovals,
    ToolEntry,
    Vault,
    build_specs,
)
from orchestrator.mcp.server_set import Discovery, ServerSet

__all__ = ["HubOptions", "HubServer", "MCPHub", "protected_values"]

logger = logging.getLogger(__name__)

_WITHDRAWN = (ConnectionState.CIRCUIT_OPEN, ConnectionState.AUTH_REQUIRED, ConnectionState.STOPPED)
_INSTRUCTIONS_MAX_CHARS = 4_000
_SHUTDOWN_GRACE = 5.0


@dataclass(frozen=True)
class HubOptions:
    """How the hub runs; `open_services` fills it from the settings."""

    data_dir: Path
    model_name: str = "gpt-5"
    config_path: Path | None = None
    discovery_url: str | None = None
    service_secret: str | None = None
    vault: Vault | None = None
    oauth_redirect_url: str = "http://127.0.0.1:8000/mcp/oauth/callback"
    reconcile_interval: float = 10.0
    discovery_interval: float = 15.0
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    protected_values: tuple[str, ...] = ()
    targets: dict[str, Any] = field(default_factory=dict[str, Any])
    allowed_internal_hosts: tuple[str, ...] = ()
    resolver: Resolver | None = None
    """How restricted servers' host names are resolved (tests replace the system's)."""
    limits: Limits = field(default_factory=Limits)
    tls: ssl.SSLContext | None = None
    """Mutual TLS with our own servers and discovery (MTLS): our certificate and our CA."""


@dataclass(eq=False)
class HubServer:
    """A configured server, its connections (None: shared) and their tools."""

    config: ServerConfig
    connections: dict[str | None, ServerConnection] = field(
        default_factory=dict[str | None, ServerConnection]
    )
    tools: dict[str | None, list[ToolEntry]] = field(
        default_factory=dict[str | None, list[ToolEntry]]
    )
    built: dict[str | None, tuple[int, int, int]] = field(
        default_factory=dict[str | None, tuple[int, int, int]]
    )

    @property
    def shared(self) -> ServerConnection | None:
        """The connection everyone shares; None for an OAuth server (one per user)."""
        return self.connections.get(None)

    def entry(self, user_key: str | None, tool: str) -> ToolEntry | None:
        """The tool of that name on the connection of `user_key` (None: the shared one)."""
        return next((e for e in self.tools.get(user_key, ()) if e.spec.tool == tool), None)


def _routing_only_changed(old: ServerConfig, new: ServerConfig) -> bool:
    governance = {"policy", "tools", "timeout", "enabled"}
    return old.model_dump(exclude=governance) == new.model_dump(exclude=governance)


class MCPHub:
    """The core's `ToolHost` over every configured MCP server; use it as `async with`.

    The attributes the API and the registry reach for: `sources` (where servers come
    from), `approvals` (tool versions trusted), `oauth` (users' authorizations), `egress`
    (the address policy for users' servers) and `requests` (what servers ask back).
    """

    def __init__(
        self,
        store: HubStore,
        options: HubOptions,
        *,
        model: ChatModel | None = None,
        tokenizer: Tokenizer | None = None,
        access: AccessPolicies | None = None,
    ) -> None:
        self.options = options
        self.access = access
        self.store = store
        self.approvals = ToolApprovals(store)
        tokens = ServiceTokens(options.service_secret) if options.service_secret else None
        self.tokens = tokens
        self.egress = Egress(options.allowed_internal_hosts, resolver=options.resolver)
        discovery = (
            Discovery(options.discovery_url, options.service_secret, tls=options.tls)
            if options.discovery_url
            else None
        )
        self.sources = ServerSet(
            store, options.vault, config_path=options.config_path, discovery=discovery
        )
        self.requests = ServerRequests(
            model=model, model_name=options.model_name, data_dir=options.data_dir
        )
        self.oauth = OAuthBroker(store, options.vault, redirect_url=options.oauth_redirect_url)
        self._tokenizer = tokenizer
        self._servers: dict[str, HubServer] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._stack = AsyncExitStack()
        self._errlog: TextIO | None = None
        self._lock = anyio.Lock()
        self._loops = anyio.CancelScope()
        self._tools_changed = anyio.Event()
        self._servers_changed = anyio.Event()

    # -- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> MCPHub:
        self._errlog = self._stack.enter_context(_server_log(self.options.data_dir))
        self._group = await self._stack.enter_async_context(anyio.create_task_group())
        await self.approvals.load()
        await self.reconcile()  # discovery is polled in the background: it may be down
        self._group.start_soon(self._loops_task)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for server in self._servers.values():
            for connection in server.connections.values():
                connection.stop()
        self._loops.cancel()
        if self._group is not None:
            self._group.cancel_scope.deadline = anyio.current_time() + _SHUTDOWN_GRACE
        await self._stack.__aexit__(None, None, None)

    async def _loops_task(self) -> None:
        """The periodic work, cancelled at once on close (connections get a grace)."""
        with self._loops:
            async with anyio.create_task_group() as loops:
                loops.start_soon(self._reconcile_loop)
                if self.sources.discovery is not None:
                    loops.start_soon(self._discovery_loop)

    async def _reconcile_loop(self) -> None:
        while True:
            await anyio.sleep(self.options.reconcile_interval)
            await self.approvals.load()
            await self.reconcile()

    async def _discovery_loop(self) -> None:
        while True:
            await self.reconcile(poll=True)
            await anyio.sleep(self.options.discovery_interval)

    async def reconcile(self, *, poll: bool = False) -> None:
        """Connect new servers, drop removed ones, restart changed ones."""
        async with self._lock:
            desired = await self.sources.desired(poll=poll)
            before = {key: server.config for key, server in self._servers.items()}
            for key in [key for key in self._servers if key not in desired]:
                self._drop(key)
            for key, config in desired.items():
                server = self._servers.get(key)
                if server is None:
                    self._add(config)
                elif server.config != config:
                    if _routing_only_changed(server.config, config):
                        server.config = config
                        for connection in server.connections.values():
                            connection.config = config
                            await self.changed(connection)
                    else:
                        self._drop(key)
                        self._add(config)
            if before != {key: server.config for key, server in self._servers.items()}:
                self._servers_changed.set()
                self._servers_changed = anyio.Event()

    def _add(self, config: ServerConfig) -> None:
        server = HubServer(config)
        self._servers[config.key] = server
        if config.auth is None:
            self._connect(server, None)
        logger.info("MCP server %s added (%s)", config.name, config.source.value)

    def _drop(self, key: str) -> None:
        server = self._servers.pop(key)
        for connection in server.connections.values():
            connection.stop()
        logger.info("MCP server %s removed", server.config.name)

    def connect_user(self, server: HubServer, user_id: str) -> ServerConnection:
        """Start the user's own connection to an OAuth server."""
        return self._connect(server, user_id)

    def _connect(self, server: HubServer, user_id: str | None) -> ServerConnection:
        assert self._group is not None and self._errlog is not None, "the hub is not open"
        config = server.config
        connection = ServerConnection(
            config,
            self.requests,
            on_change=self.changed,
            user_id=user_id,
            errlog=self._errlog,
            tokens=self.tokens,
            egress=self.egress,
            limits=self.options.limits,
            tls=self.options.tls,
            auth=self.oauth.provider(config, user_id) if user_id is not None else None,
            breaker=replace(self.options.breaker),
            sampling=self.requests.can_sample,
            roots=config.roots is not None,
            target=self._target(config),
        )
        server.connections[user_id] = connection
        self._group.start_soon(connection.run)
        return connection

    def _target(self, config: ServerConfig) -> Server[Any] | MCPServer | None:
        return self.options.targets.get(config.name)

    async def settled(self) -> None:
        """Wait until every shared connection has connected or failed once (tests, CLI).

        The caller bounds the wait.
        """
        for server in list(self._servers.values()):
            connection = server.shared
            # Until its first state is set and the hub has taken it in (its tools listed).
            while connection is not None and (
                connection.state is ConnectionState.STARTING or connection.announcing
            ):
                await connection.state_changed().wait()

    # -- who sees what ----------------------------------------------------------------

    def servers(self) -> list[HubServer]:
        """Every configured server, whoever it is for."""
        return list(self._servers.values())

    def visible(self, user_id: str) -> list[HubServer]:
        """The shared servers and the user's own."""
        return [s for s in self._servers.values() if s.config.owner_id in (None, user_id)]

    def find(self, user_id: str, name: str) -> HubServer | None:
        """The user's own server of that name, else the shared one."""
        own = self._servers.get(f"{user_id}/{name}")
        return own if own is not None else self._servers.get(f"*/{name}")

    async def seen_by(self, user_id: str) -> list[HubServer]:
        """The servers the user sees: `visible`, less shared ones limited to other groups."""
        servers = self.visible(user_id)
        if self.access is None:
            return servers
        access = await self.access.access(user_id)
        return [s for s in servers if access.sees_server(s.config.name, s.config.owner_id, user_id)]

    async def lookup(self, user_id: str, name: str) -> HubServer | None:
        """`find`, for a user: a shared server limited to groups they are not in is None."""
        server = self.find(user_id, name)
        if server is None or self.access is None or server.config.owner_id is not None:
            return server
        access = await self.access.access(user_id)
        return server if access.sees_server(name, None, user_id) else None

    async def connection_for(self, server: HubServer, user_id: str) -> ServerConnection | None:
        """The connection that serves `user_id`: the shared one, or the user's own."""
        if server.config.auth is None:
            return server.shared
        connection = server.connections.get(user_id)
        if connection is None and await self.oauth.has_credentials(user_id, server.config):
            connection = self._connect(server, user_id)
        return connection

    def enabled_entries(self, server: HubServer, connection: ServerConnection) -> list[ToolEntry]:
        """The connection's tools the model may see: approved, and the server not withdrawn."""
        if connection.state in _WITHDRAWN:
            return []
        key = server.config.key
        return [
            entry
            for entry in server.tools.get(connection.user_id, ())
            if self.approvals.is_approved(key, entry)
        ]

    # -- ToolHost ---------------------------------------------------------------------

    async def list_tools(self, user_id: str) -> Sequence[ToolSpec]:
        """Every tool the user's runs may call now, across the servers they see."""
        specs: list[ToolSpec] = []
        for server in await self.seen_by(user_id):
            connection = await self.connection_for(server, user_id)
            if connection is not None:
                specs.extend(entry.spec for entry in self.enabled_entries(server, connection))
        return specs

    async def call_tool(
        self, spec: ToolSpec, arguments: dict[str, Any], context: ToolCallContext
    ) -> ToolOutcome:
        """Call a tool on its server for the user of `context`, visiting any pages it needs.

        A tool that fails, or is gone or withheld, is an error outcome for the model.

        Raises:
            ToolServerError: the server needs authorization, or failed or is unreachable.
        """
        server = await self.lookup(context.user_id, spec.server)
        if server is None:
            return error_outcome(f"The tool server {spec.server!r} is no longer available.")
        connection = await self.connection_for(server, context.user_id)
        if connection is None:
            raise ToolServerError(f"{spec.server} needs authorization first.")
        entry = server.entry(connection.user_id, spec.tool)
        if entry is not None and not self.approvals.is_approved(server.config.key, entry):
            return error_outcome(
                f"The tool {spec.name} changed since it was approved; it is disabled until "
                "an admin approves the new version."
            )
        seconds = server.config.tool_timeout(spec.tool)
        try:
            return await self._call_once(connection, spec, arguments, context, seconds)
        except ElicitationsRequired as needed:
            if not await self._visit(needed, context):
                return error_outcome(
                    f"{spec.name} needs the user to complete a step in the browser first; "
                    "it was not completed."
                )
        return await self._call_once(connection, spec, arguments, context, seconds)

    async def _call_once(
        self,
        connection: ServerConnection,
        spec: ToolSpec,
        arguments: dict[str, Any],
        context: ToolCallContext,
        seconds: float,
    ) -> ToolOutcome:
        call = Call(user_id=context.user_id, timeout=seconds, context=context)

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            call.extend()
            context.report_progress(progress, total, message)

        result = await connection.request(
            call,
            lambda client, meta: client.call_tool(
                spec.tool, arguments, progress_callback=on_progress, meta=meta
            ),
        )
        return connection.limits.cut_outcome(outcome_of(result))

    async def _visit(self, needed: ElicitationsRequired, context: ToolCallContext) -> bool:
        """Show the user the pages a server requires (URL elicitation); True if all done."""
        for params in needed.elicitations:
            answer = await context.elicit(elicitation_request(params))
            if answer.action != "accept":
                return False
        return True

    async def instructions(self, user_id: str, servers: Iterable[str]) -> str | None:
        """What the named servers ask the model to know, for the system prompt."""
        wanted = set(servers)
        sections: list[str] = []
        for server in await self.seen_by(user_id):
            if server.config.name not in wanted:
                continue
            connection = await self.connection_for(server, user_id)
            text = (connection.instructions or "").strip() if connection else ""
            if text:
                sections.append(f"## {server.config.name}\n{text[:_INSTRUCTIONS_MAX_CHARS]}")
        if not sections:
            return None
        return "Instructions from the tool servers:\n\n" + "\n\n".join(sections)

    # -- changes ----------------------------------------------------------------------

    def servers_changed(self) -> anyio.Event:
        """An event set the next time servers are added, dropped or reconfigured."""
        return self._servers_changed

    def tools_changed(self) -> anyio.Event:
        """An event set the next time any server's tools are rebuilt."""
        return self._tools_changed

    async def changed(self, connection: ServerConnection) -> None:
        """Rebuild a connection's tools after it changed (state, listing or configuration).

        New tools are trusted and recorded; a tool that changed is withheld until approved.
        """
        server = self._servers.get(connection.config.key)
        if server is None or server.connections.get(connection.user_id) is not connection:
            return
        listing = connection.listing
        built = (id(listing), listing.version, id(server.config))
        if server.built.get(connection.user_id) == built:
            return
        server.built[connection.user_id] = built
        taken: set[str] = set()
        entries = build_specs(
            server.config, connection.listing.tools, taken=taken, tokenizer=self._tokenizer
        )
        key = server.config.key
        new = self.approvals.first_seen(key, entries)
        if new:
            try:
                await self.approvals.record(key, new)
            except Exception:  # the store failing must not stop the server's supervisor
                logger.exception("Cannot record the tools of %s", server.config.name)
        for entry in entries:
            if not self.approvals.is_approved(key, entry):
                logger.warning(
                    "MCP tool %s of %s changed; disabled until approved",
                    entry.spec.tool,
                    server.config.name,
                )
        server.tools[connection.user_id] = entries
        self._tools_changed.set()
        self._tools_changed = anyio.Event()


def _server_log(data_dir: Path) -> TextIO:
    """Where stdio servers' stderr goes: one file in the data folder."""
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    return open(log_dir / "mcp-stdio-servers.log", "a", encoding="utf-8")


def protected_values(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The values of the orchestrator's own secrets, which configurations may not spell out."""
    source = os.environ if environ is None else environ
    return tuple(value for key, value in source.items() if key in PROTECTED_ENV and value)
