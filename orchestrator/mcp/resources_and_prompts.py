"""Resources and prompts of the servers a user can see: list, read, get.

What a read or a prompt returns is in our content parts, ready to attach to a message:
a resource becomes `resource` parts, a prompt becomes the messages it describes. What a
server lists is handed over as it was listed (`ServerListing`); the API shapes it.
"""

from __future__ import annotations

import uuid

from orchestrator.domain import ContentPart, Message, NotFound
from orchestrator.mcp.client import (
    Call,
    ServerConnection,
    ServerListing,
    cut_parts,
    prompt_messages,
    resource_parts,
)
from orchestrator.mcp.hub import HubServer, MCPHub

__all__ = ["Catalog"]


class Catalog:
    """The resources and prompts of the servers a user can see, on one hub."""

    def __init__(self, hub: MCPHub) -> None:
        self._hub = hub

    async def _servers(self, user_id: str, server: str | None) -> list[HubServer]:
        if server is None:
            return await self._hub.seen_by(user_id)
        found = await self._hub.lookup(user_id, server)
        if found is None:
            raise NotFound(f"No MCP server named {server!r}.")
        return [found]

    async def listings(
        self, user_id: str, server: str | None = None
    ) -> list[tuple[str, ServerListing]]:
        """What each connected server the user can see (or the one named) lists, by name.

        Raises:
            NotFound: no server of that name for the user.
        """
        listings: list[tuple[str, ServerListing]] = []
        for found in await self._servers(user_id, server):
            connection = await self._hub.connection_for(found, user_id)
            if connection is not None and connection.ready:
                listings.append((found.config.name, connection.listing))
        return listings

    async def _connection(self, user_id: str, server: str) -> tuple[HubServer, ServerConnection]:
        found = (await self._servers(user_id, server))[0]
        connection = await self._hub.connection_for(found, user_id)
        if connection is None:
            raise NotFound(f"{server!r} needs authorization first.")
        return found, connection

    async def read(self, user_id: str, server: str, uri: str) -> list[ContentPart]:
        """A resource's contents.

        Raises:
            NotFound: no such server for the user.
            ToolServerError: the server failed or is unreachable.
        """
        found, connection = await self._connection(user_id, server)
        call = Call(user_id=user_id, timeout=found.config.timeout)
        result = await connection.request(
            call, lambda client, meta: client.read_resource(uri, meta=meta)
        )
        return cut_parts(resource_parts(result), connection.limits.max_result_bytes)

    async def prompt(
        self, user_id: str, server: str, name: str, arguments: dict[str, str] | None
    ) -> tuple[str | None, list[Message]]:
        """A prompt filled in with `arguments`: its description and its messages.

        Raises:
            NotFound: no such server for the user.
            ToolServerError: the server failed (for example, a missing argument).
        """
        found, connection = await self._connection(user_id, server)
        call = Call(user_id=user_id, timeout=found.config.timeout)
        result = await connection.request(
            call, lambda client, meta: client.get_prompt(name, arguments or None, meta=meta)
        )
        limits = connection.limits
        messages = prompt_messages(result, lambda: str(uuid.uuid4()))
        budget = limits.max_result_bytes
        kept: list[Message] = []
        for message in messages:
            if budget <= 0:
                break
            parts = cut_parts(list(message.content), budget)
            budget -= sum(len(part.model_dump_json()) for part in parts)
            kept.append(message.model_copy(update={"content": parts}))
        return limits.cut_description(result.description), kept
