"""What a server offers: its tools, prompts, resources and instructions, as last listed.

Lists are fetched page by page (up to a cap, so a server that never stops paginating
cannot hang the hub) and only for the capabilities the server declares. Changes are
followed live: on 2025-11-25 through list_changed notifications (the connection's
message handler), on 2026-07-28 through a `subscriptions/listen` stream (`follow_changes`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.abc
import httpx2
import mcp_types as types
from mcp import Client, MCPError
from mcp.client.subscriptions import (
    ListenNotSupportedError,
    PromptsListChanged,
    SubscriptionLost,
    ToolsListChanged,
)
from pydantic import ValidationError

from orchestrator.mcp.client.limits import Limits

__all__ = ["ServerListing", "follow_changes", "load_listing"]

logger = logging.getLogger(__name__)

_PAGE_CAP = 50
_LISTEN_ACK_WAIT = 5.0

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
    """What a server offers, as last listed; `version` counts the reloads."""

    tools: list[types.Tool] = field(default_factory=list[types.Tool])
    prompts: list[types.Prompt] = field(default_factory=list[types.Prompt])
    resources: list[types.Resource] = field(default_factory=list[types.Resource])
    templates: list[types.ResourceTemplate] = field(default_factory=list[types.ResourceTemplate])
    instructions: str | None = None
    version: int = 0
    limits: Limits = field(default_factory=Limits)
    """Descriptions are cut to `max_description_bytes` as they are listed."""

    async def reload(self, client: Client, kind: str) -> None:
        """Fetch one list again: "tools", "prompts" or "resources" (with templates)."""
        self.version += 1
        caps = client.server_capabilities
        cut = self.limits
        if kind == "tools" and caps.tools is not None:
            self.tools = await _all_pages(
                lambda cursor: client.list_tools(cursor=cursor),
                lambda page: [cut.cut_tool(tool) for tool in page.tools],
            )
        elif kind == "prompts" and caps.prompts is not None:
            self.prompts = await _all_pages(
                lambda cursor: client.list_prompts(cursor=cursor),
                lambda page: [cut.cut_listed(prompt) for prompt in page.prompts],
            )
        elif kind == "resources" and caps.resources is not None:
            self.resources = await _all_pages(
                lambda cursor: client.list_resources(cursor=cursor),
                lambda page: [cut.cut_listed(resource) for resource in page.resources],
            )
            try:
                self.templates = await _all_pages(
                    lambda cursor: client.list_resource_templates(cursor=cursor),
                    lambda page: [cut.cut_listed(t) for t in page.resource_templates],
                )
            except (MCPError, ValidationError):  # optional, and often missing
                self.templates = []


async def load_listing(client: Client, server: str, limits: Limits | None = None) -> ServerListing:
    """Everything a freshly connected server offers.

    Tools must list; prompts and resources that fail to list are left empty (and logged),
    so that a server with one broken list still serves its tools.
    """
    limits = limits or Limits()
    listing = ServerListing(instructions=limits.cut_description(client.instructions), limits=limits)
    await listing.reload(client, "tools")
    for kind in ("prompts", "resources"):
        try:
            await listing.reload(client, kind)
        except (MCPError, ValidationError) as error:
            logger.warning("MCP server %s: cannot list %s: %s", server, kind, error)
    return listing


async def follow_changes(
    client: Client,
    lost: anyio.Event,
    refresh: Callable[[str], Awaitable[None]],
    server: str,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Refresh the lists a 2026-07-28 server says changed; started once subscribed.

    The stream can drop; it is opened again after a pause and every list fetched anew,
    since nothing is replayed.
    """
    caps = client.server_capabilities
    wanted = {
        "tools": bool(caps.tools and caps.tools.list_changed),
        "prompts": bool(caps.prompts and caps.prompts.list_changed),
        "resources": bool(caps.resources and caps.resources.list_changed),
    }
    kinds = {ToolsListChanged: "tools", PromptsListChanged: "prompts"}
    started = False
    delay = 1.0
    while any(wanted.values()) and not lost.is_set():
        try:
            with anyio.CancelScope() as opening:
                opening.deadline = anyio.current_time() + _LISTEN_ACK_WAIT
                async with client.listen(
                    tools_list_changed=wanted["tools"],
                    prompts_list_changed=wanted["prompts"],
                    resources_list_changed=wanted["resources"],
                ) as subscription:
                    opening.deadline = math.inf
                    if started:
                        for kind in wanted:
                            await refresh(kind)
                    else:
                        task_status.started()
                        started = True
                    delay = 1.0
                    async for event in subscription:
                        await refresh(kinds.get(type(event), "resources"))
            if not opening.cancelled_caught:
                break
        except ListenNotSupportedError:
            break
        except (MCPError, SubscriptionLost, TimeoutError, httpx2.HTTPError) as error:
            logger.debug("MCP server %s: listen ended: %s", server, error)
        if not started:
            task_status.started()
            started = True
        await anyio.sleep(delay)
        delay = min(delay * 2, 30.0)
    if not started:
        task_status.started()
