"""What a server offers: its tools, prompts, resources and instructions, as last listed.

Lists are fetched page by page (up to a cap, so a server that never stops paginating
cannot hang the hub) and only for the capabilities the server declares.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import mcp_types as types
from mcp import Client, MCPError
from pydantic import ValidationError

__all__ = ["ServerListing", "load_listing"]

logger = logging.getLogger(__name__)

_PAGE_CAP = 50

P = TypeVar("P")


async def _all_pages(
    fetch: Callable[[str | None], Awaitable[Any]], items: Callable[[Any], list[P]]
) -> list[P]:
    collected: list[P] = []
    cursor: str | None = None
    for _ in range(_PAGE_CAP):
        page = await fetch(cursor)
        collected.extend(items(page))
        cursor = page.next_cursor
        if not cursor:
            break
    return collected


@dataclass
class ServerListing:
    tools: list[types.Tool] = field(default_factory=list[types.Tool])
    prompts: list[types.Prompt] = field(default_factory=list[types.Prompt])
    resources: list[types.Resource] = field(default_factory=list[types.Resource])
    templates: list[types.ResourceTemplate] = field(default_factory=list[types.ResourceTemplate])
    instructions: str | None = None
    version: int = 0

    async def reload(self, client: Client, kind: str) -> None:
        """Fetch one list again: "tools", "prompts" or "resources" (with templates)."""
        self.version += 1
        caps = client.server_capabilities
        if kind == "tools" and caps.tools is not None:
            self.tools = await _all_pages(
                lambda cursor: client.list_tools(cursor=cursor), lambda page: page.tools
            )
        elif kind == "prompts" and caps.prompts is not None:
            self.prompts = await _all_pages(
                lambda cursor: client.list_prompts(cursor=cursor), lambda page: page.prompts
            )
        elif kind == "resources" and caps.resources is not None:
            self.resources = await _all_pages(
                lambda cursor: client.list_resources(cursor=cursor), lambda page: page.resources
            )
            try:
                self.templates = await _all_pages(
                    lambda cursor: client.list_resource_templates(cursor=cursor),
                    lambda page: page.resource_templates,
                )
            except (MCPError, ValidationError):  # optional, and often missing
                self.templates = []


async def load_listing(client: Client, server: str) -> ServerListing:
    """Everything a freshly connected server offers.

    Tools must list; prompts and resources that fail to list are left empty (and logged),
    so that a server with one broken list still serves its tools.
    """
    listing = ServerListing(instructions=client.instructions)
    await listing.reload(client, "tools")
    for kind in ("prompts", "resources"):
        try:
            await listing.reload(client, kind)
        except (MCPError, ValidationError) as error:
            logger.warning("MCP server %s: cannot list %s: %s", server, kind, error)
    return listing
