"""Registering servers at run time, and who may do what.

- Anyone signed in may add an HTTP server for themselves; it is theirs alone, and so are
  its credentials.
- Only an admin may add a stdio server (it runs a command on the assistant's host), a
  server for everyone, or one of ours (`assistant: true`: it gets tokens signed with the
  service secret).
- A non-admin's server may only reach public addresses, and the ones an operator allows
  (`MCP_ALLOWED_INTERNAL_HOSTS`): checked now, and again at every connection (`egress`).
- Reconnecting a shared server is for admins; anyone may reconnect their own.
- A server from `mcp.json` or discovery is changed where it comes from, not here.
- Approving a changed tool, or setting a tool's policy, is for admins, and for the owner
  of a personal server.

Someone else's personal server does not exist as far as a user can tell (404).
"""

from __future__ import annotations

from typing import Any

from orchestrator.domain import Conflict, Forbidden, InvalidInput, NotFound, ToolPolicy
from orchestrator.mcp.client import Refused
from orchestrator.mcp.config import ServerConfig, ServerSource, ToolOverride, parse_server
from orchestrator.mcp.governance import AuthorizationStart
from orchestrator.mcp.hub import HubServer, MCPHub

__all__ = ["ServerRegistry"]


class ServerRegistry:
    """Registering, changing and removing a hub's servers, for a user with their rights.

    Each change returns the server as the hub now has it; the API shows it.
    """

    def __init__(self, hub: MCPHub) -> None:
        self._hub = hub

    async def get(self, name: str, user_id: str) -> HubServer:
        """The server of that name the user sees: their own, else the shared one.

        A shared server limited to groups the user is not in is not there for them.

        Raises:
            NotFound: the user sees no server of that name.
        """
        server = await self._hub.lookup(user_id, name)
        if server is None:
            raise NotFound(f"No MCP server named {name!r}.")
        return server

    async def add(
        self,
        name: str,
        entry: dict[str, Any],
        *,
        user_id: str,
        is_admin: bool,
        shared: bool,
    ) -> HubServer:
        """Register a server (an `mcpServers` entry) for the user, or for everyone.

        Raises:
            InvalidInput: the entry is not a valid server (422).
            Forbidden: a stdio, shared or `assistant` server added by someone who is not an
                admin, or a URL whose address a non-admin may not reach.
            Conflict: the name is taken.
        """
        if shared and not is_admin:
            raise Forbidden("Only an admin can add a server for everyone.")
        config = parse_server(
            name,
            entry,
            owner_id=None if shared else user_id,
            source=ServerSource.API,
            network="any" if is_admin else "public",
        )
        if config.transport == "stdio" and not is_admin:
            raise Forbidden(
                "Only an admin can add a stdio server: it runs a command on the assistant's host."
            )
        if config.assistant and not is_admin:
            raise Forbidden(
                "Only an admin can mark a server as one of the assistant's own "
                "(`assistant: true`): such servers get tokens signed with its service secret."
            )
        config.check_secrets(self._hub.options.protected_values)
        self._check_name(config, user_id)
        if config.network == "public":
            try:
                await self._hub.egress.check_url(config.resolved_url())
            except Refused as error:
                raise Forbidden(
                    f"The server's address is not allowed: {error}. Servers you add must be on "
                    "public addresses (an admin can allow internal hosts with "
                    "MCP_ALLOWED_INTERNAL_HOSTS).",
                    detail={"url": config.resolved_url(), "reason": str(error)},
                ) from None
        await self._hub.sources.add(config, created_by=user_id)
        await self._hub.reconcile()
        server = self._hub.find(user_id, name)
        assert server is not None
        return server

    def _check_name(self, config: ServerConfig, user_id: str) -> None:
        taken = {s.config.name for s in self._hub.servers() if s.config.owner_id is None}
        if config.owner_id is None:
            taken |= {s.config.name for s in self._hub.servers()}
        else:
            taken |= {s.config.name for s in self._hub.visible(user_id)}
        if config.name in taken:
            raise Conflict(f"There is already a server named {config.name!r}.")

    async def remove(self, name: str, *, user_id: str, is_admin: bool) -> None:
        """Remove a server registered through the API, and its users' credentials.

        Raises:
            NotFound: no such server visible to the user.
            Forbidden: a shared server, and the user is not an admin.
            Conflict: the server comes from the config file or discovery.
        """
        server = await self.get(name, user_id)
        config = server.config
        if config.owner_id is None and not is_admin:
            raise Forbidden("Only an admin can remove a shared server.")
        if config.source is not ServerSource.API:
            where = "mcp.json" if config.source is ServerSource.CONFIG else "the discovery service"
            raise Conflict(f"{name!r} is defined in {where}; remove it there.")
        await self._hub.sources.remove(config)
        for user in [user for user in server.connections if user is not None]:
            await self._hub.oauth.forget(user, config)
        await self._hub.reconcile()

    async def approve(self, name: str, tool: str, *, user_id: str, is_admin: bool) -> HubServer:
        """Trust the current version of a changed tool.

        Raises:
            NotFound: no such server or tool.
            Forbidden: neither an admin nor the owner of the (personal) server.
        """
        server = await self.get(name, user_id)
        if not is_admin and server.config.owner_id != user_id:
            raise Forbidden("Only an admin can approve a shared server's tools.")
        connection = await self._hub.connection_for(server, user_id)
        entry = server.entry(connection.user_id if connection else user_id, tool)
        if entry is None:
            raise NotFound(f"{name!r} has no tool named {tool!r}.")
        await self._hub.approvals.approve(server.config.key, entry, user_id)
        return server

    async def set_policy(
        self, name: str, tool: str, policy: ToolPolicy, *, user_id: str, is_admin: bool
    ) -> HubServer:
        """Set one tool's policy (auto, ask or deny) on a server registered through the API.

        Raises:
            NotFound: no such server or tool.
            Forbidden: neither an admin nor the owner of the (personal) server.
            Conflict: the server comes from the config file or discovery (set it there).
        """
        server = await self.get(name, user_id)
        config = server.config
        if not is_admin and config.owner_id != user_id:
            raise Forbidden("Only an admin can change a shared server's tool policies.")
        connection = await self._hub.connection_for(server, user_id)
        if server.entry(connection.user_id if connection else user_id, tool) is None:
            raise NotFound(f"{name!r} has no tool named {tool!r}.")
        if config.source is not ServerSource.API:
            where = "mcp.json" if config.source is ServerSource.CONFIG else "the discovery service"
            raise Conflict(f"{name!r} is defined in {where}; set its tools' policies there.")
        current = config.tools.get(tool, ToolOverride())
        tools = {**config.tools, tool: current.model_copy(update={"policy": policy})}
        await self._hub.sources.update(config.model_copy(update={"tools": tools}))
        await self._hub.reconcile()
        return await self.get(name, user_id)

    async def reconnect(self, name: str, user_id: str, is_admin: bool) -> HubServer:
        """Connect again now (after an authorization, or to probe an open circuit).

        Raises:
            NotFound: no such server visible to the user.
            Forbidden: a shared server, and the user is not an admin (it would drop
                everyone's calls in flight).
            InvalidInput: the server needs the user's authorization first.
        """
        server = await self.get(name, user_id)
        if server.config.owner_id is None and not is_admin:
            raise Forbidden("Only an admin can reconnect a shared server.")
        connection = await self._hub.connection_for(server, user_id)
        if connection is None:
            raise InvalidInput(f"{name!r} needs authorization first.")
        connection.reconnect()
        return server

    async def authorize(self, name: str, user_id: str) -> AuthorizationStart | None:
        """Start the user's OAuth authorization for a server.

        Returns the URL to open and the nonce the user's browser must bring back to the
        callback, or None when the stored authorization still works.

        Raises:
            NotFound: no such server for the user.
            Conflict: the server does not use OAuth.
            Unavailable: the server did not start an authorization.
        """
        server = await self.get(name, user_id)
        if server.config.auth is None:
            raise Conflict(f"{name!r} does not use OAuth.")
        asking = self._hub.oauth.expect(server.config, user_id)
        connection = server.connections.get(user_id)
        if connection is None:
            connection = self._hub.connect_user(server, user_id)
        else:
            connection.reconnect()
        return await self._hub.oauth.authorization_url(asking, connection)

    async def forget_authorization(self, name: str, user_id: str) -> None:
        """Stop the user's own connection to an OAuth server and forget their tokens.

        Raises:
            NotFound: no such server for the user.
        """
        server = await self.get(name, user_id)
        connection = server.connections.pop(user_id, None)
        if connection is not None:
            connection.stop()
        await self._hub.oauth.forget(user_id, server.config)
