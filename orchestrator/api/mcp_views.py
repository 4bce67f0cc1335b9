"""What the API shows of the MCP hub's servers: status, health, tools, resources, prompts.

These are the bodies of `/api/v1/mcp/...`, built from the hub's own objects (its servers,
their connections and listings). A shared server's configuration is shown to its owner
and to admins only; env and header values never are.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field

from orchestrator.mcp import HubServer, MCPHub, ServerConnection, ServerListing, ToolEntry

__all__ = [
    "HealthView",
    "PromptArgumentView",
    "PromptView",
    "ResourceView",
    "ServerView",
    "ToolView",
    "health_of",
    "prompt_views",
    "resource_views",
    "server_view",
    "server_views",
    "tool_view",
]


class HealthView(BaseModel):
    """A connection's state, failures and restarts, as `/mcp/servers/{name}/health` shows it."""

    state: str = Field(
        description="starting, ready, reconnecting, circuit_open, auth_required or stopped."
    )
    protocol_version: str | None = None
    server_name: str | None = Field(default=None, description="As the server calls itself.")
    connected_since: float | None = Field(default=None, description="Unix time.")
    consecutive_failures: int = 0
    restarts: int = 0
    last_error: str | None = None
    next_attempt_in: float | None = Field(default=None, description="Seconds.")
    circuit_open: bool = False
    authorization_url: str | None = None


class ToolView(BaseModel):
    """One of a server's tools, as the model sees it, and whether it is withheld."""

    name: str = Field(description="The name the model sees.")
    tool: str = Field(description="The server's own name for it.")
    description: str
    policy: str
    annotations: dict[str, Any]
    token_cost: int
    status: Literal["enabled", "changed"] = Field(
        description="`changed`: the server changed it since it was approved; it is withheld."
    )


class ServerView(BaseModel):
    """A server the user can see: where it comes from, its health and its tools."""

    name: str
    scope: Literal["shared", "personal"]
    source: str = Field(description="config (mcp.json), api or discovery.")
    transport: str
    assistant: bool = Field(description="One of our own servers (it gets the service token).")
    oauth: bool = False
    health: HealthView
    tools: list[ToolView] = Field(default_factory=list[ToolView])
    instructions: str | None = None
    config: dict[str, Any] | None = Field(
        default=None, description="The configuration, secrets masked (owners and admins)."
    )


class ResourceView(BaseModel):
    """A resource, or a resource template, that a server lists."""

    server: str
    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    template: bool = Field(default=False, description="`uri` is an RFC 6570 URI template.")


class PromptArgumentView(BaseModel):
    """One argument of a prompt."""

    name: str
    description: str | None = None
    required: bool = False


class PromptView(BaseModel):
    """A prompt that a server lists, with its arguments."""

    server: str
    name: str
    title: str | None = None
    description: str | None = None
    arguments: list[PromptArgumentView] = Field(default_factory=list[PromptArgumentView])


def health_of(connection: ServerConnection | None) -> HealthView:
    """The health of a connection; none yet (an OAuth server) reads as `auth_required`."""
    if connection is None:
        return HealthView(state="auth_required")
    now = anyio.current_time()
    since = None
    if connection.connected_at is not None and connection.ready:
        since = time.time() - (now - connection.connected_at)
    wait = None
    if connection.next_attempt_at is not None:
        wait = round(max(0.0, connection.next_attempt_at - now), 1)
    return HealthView(
        state=connection.state.value,
        protocol_version=connection.protocol_version,
        server_name=connection.server_name,
        connected_since=since,
        consecutive_failures=connection.breaker.failures,
        restarts=connection.restarts,
        last_error=connection.breaker.last_error,
        next_attempt_in=wait,
        circuit_open=connection.breaker.open,
        authorization_url=connection.authorization_url,
    )


def tool_view(entry: ToolEntry, approved: bool) -> ToolView:
    """A tool as listed under its server; `approved` False: it changed and is withheld."""
    spec = entry.spec
    return ToolView(
        name=spec.name,
        tool=spec.tool,
        description=spec.description,
        policy=spec.policy.value,
        annotations=spec.annotations,
        token_cost=spec.token_cost,
        status="enabled" if approved else "changed",
    )


async def server_view(hub: MCPHub, server: HubServer, user_id: str, is_admin: bool) -> ServerView:
    """A server as `user_id` sees it, through the connection that serves them."""
    config = server.config
    connection = await hub.connection_for(server, user_id)
    tools = []
    if connection is not None:
        key = config.key
        tools = [
            tool_view(entry, hub.approvals.is_approved(key, entry))
            for entry in server.tools.get(connection.user_id, ())
        ]
    mine = config.owner_id == user_id
    return ServerView(
        name=config.name,
        scope="personal" if config.owner_id else "shared",
        source=config.source.value,
        transport=config.transport,
        assistant=config.assistant,
        oauth=config.auth is not None,
        health=health_of(connection),
        tools=tools,
        instructions=connection.instructions if connection else None,
        config=config.public() if (mine or is_admin) else None,
    )


async def server_views(hub: MCPHub, user_id: str, is_admin: bool) -> list[ServerView]:
    """Every server the user can see, by name."""
    servers = sorted(await hub.seen_by(user_id), key=lambda s: (s.config.name, s.config.key))
    return [await server_view(hub, server, user_id, is_admin) for server in servers]


def resource_views(listings: list[tuple[str, ServerListing]]) -> list[ResourceView]:
    """The resources, then the resource templates, of each (server name, listing)."""
    views: list[ResourceView] = []
    for name, listing in listings:
        for resource in listing.resources:
            views.append(
                ResourceView(
                    server=name,
                    uri=str(resource.uri),
                    name=resource.name,
                    title=resource.title,
                    description=resource.description,
                    mime_type=resource.mime_type,
                )
            )
        for template in listing.templates:
            views.append(
                ResourceView(
                    server=name,
                    uri=template.uri_template,
                    name=template.name,
                    title=template.title,
                    description=template.description,
                    mime_type=template.mime_type,
                    template=True,
                )
            )
    return views


def prompt_views(listings: list[tuple[str, ServerListing]]) -> list[PromptView]:
    """The prompts of each (server name, listing), with their arguments."""
    return [
        PromptView(
            server=name,
            name=prompt.name,
            title=prompt.title,
            description=prompt.description,
            arguments=[
                PromptArgumentView(
                    name=argument.name,
                    description=argument.description,
                    required=bool(argument.required),
                )
                for argument in prompt.arguments or []
            ],
        )
        for name, listing in listings
        for prompt in listing.prompts
    ]
