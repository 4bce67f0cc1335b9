"""What the hub shows of its servers: status, health, tools, resources and prompts.

These are the bodies of `/api/v1/mcp/...` and what `assistant mcp list` prints. A shared
server's configuration is shown to admins only; env and header values never are.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field

from orchestrator.mcp.connection import ServerConnection
from orchestrator.mcp.tool_specs import ToolEntry

__all__ = [
    "HealthView",
    "PromptArgumentView",
    "PromptView",
    "ResourceView",
    "ServerView",
    "ToolView",
    "health_of",
]


class HealthView(BaseModel):
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
    server: str
    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    template: bool = Field(default=False, description="`uri` is an RFC 6570 URI template.")


class PromptArgumentView(BaseModel):
    name: str
    description: str | None = None
    required: bool = False


class PromptView(BaseModel):
    server: str
    name: str
    title: str | None = None
    description: str | None = None
    arguments: list[PromptArgumentView] = Field(default_factory=list[PromptArgumentView])


def health_of(connection: ServerConnection | None) -> HealthView:
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
