"""MCP servers (list, register, remove, health, approvals, OAuth), resources and prompts."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.api.deps import AuditDep, CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.mcp_views import (
    HealthView,
    PromptView,
    ResourceView,
    ServerView,
    prompt_views,
    resource_views,
    server_view,
    server_views,
)
from orchestrator.api.schemas import MessageCreate
from orchestrator.domain import AuditEvent, ContentPart, NotFound, ToolPolicy, Unavailable
from orchestrator.mcp import COOKIE_SECONDS, Catalog, MCPHub, ServerRegistry, cookie_name
from orchestrator.runtime.services import Services

router = APIRouter(prefix="/mcp", tags=["mcp"])
# Browser-facing, outside the API prefix: where authorization servers send users back.
callback_router = APIRouter(tags=["mcp"])


async def message_parts(services: Services, user_id: str, body: MessageCreate) -> list[ContentPart]:
    """A new message's parts: the prompt's messages, the content, then the resources.

    Raises:
        Unavailable: MCP references without a hub.
        NotFound: an unknown server, or a prompt without messages.
        ToolServerError: a server failed to produce the prompt or a resource.
    """
    if body.prompt is None and not body.resources:
        return body.parts()
    catalog = Catalog(_require_hub(services))
    parts: list[ContentPart] = []
    if body.prompt is not None:
        ref = body.prompt
        _, messages = await catalog.prompt(user_id, ref.server, ref.name, ref.arguments)
        if not messages:
            raise NotFound(f"The prompt {ref.name!r} has no messages.")
        parts.extend(part for message in messages for part in message.content)
    parts.extend(body.parts())
    for resource in body.resources or []:
        parts.extend(await catalog.read(user_id, resource.server, resource.uri))
    return parts


def _require_hub(services: Services) -> MCPHub:
    if services.tools.hub is None:
        raise Unavailable("The MCP hub is not running in this process.")
    return services.tools.hub


async def _hub(services: ServicesDep) -> MCPHub:
    # async: FastAPI runs a plain function dependency on a worker thread.
    return _require_hub(services)


HubDep = Annotated[MCPHub, Depends(_hub)]
ServerName = Annotated[str, Query(min_length=1, max_length=63)]


class ServerCreate(BaseModel):
    """An `mcpServers` entry with its name.

    `command`/`args`/`env`/`cwd` for stdio, `url`/`headers` for Streamable HTTP, and the
    hub's own keys (see `mcp.json`).
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"name": "docs", "url": "https://example.com/mcp", "policy": "ask"},
                {
                    "name": "everything",
                    "command": "npx",
                    "args": ["@modelcontextprotocol/server-everything"],
                    "shared": True,
                },
            ]
        },
    )
    name: str = Field(min_length=1, max_length=63)
    shared: bool = Field(default=False, description="For everyone (admins only).")


class ServerList(BaseModel):
    """The servers the caller can see, with configuration entries that were skipped."""

    items: list[ServerView]
    problems: list[str] = Field(
        default_factory=list[str], description="Configuration entries that were skipped (admins)."
    )


class AuthorizeOut(BaseModel):
    """Where an OAuth authorization stands: a URL to open, or already connected."""

    status: str = Field(description="`authorize`: open `authorization_url`; `ready`: connected.")
    authorization_url: str | None = None


class ResourceList(BaseModel):
    """The resources of the caller's servers."""

    items: list[ResourceView]


class ResourceContents(BaseModel):
    """A resource read from its server, as content parts."""

    server: str
    uri: str
    contents: list[ContentPart]


class PromptList(BaseModel):
    """The prompts of the caller's servers."""

    items: list[PromptView]


class PromptGet(BaseModel):
    """A prompt to render: its server, its name and its arguments."""

    model_config = ConfigDict(extra="forbid")
    server: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    arguments: dict[str, str] = Field(default_factory=dict[str, str])


class PromptMessage(BaseModel):
    """One message of a rendered prompt."""

    role: str
    content: list[ContentPart]


class PromptOut(BaseModel):
    """A rendered prompt: the messages to put in the conversation."""

    server: str
    name: str
    description: str | None = None
    messages: list[PromptMessage]


@router.get("/servers", response_model=ServerList, responses=error_responses(401, 422, 503))
async def list_servers(user: CurrentUser, hub: HubDep) -> ServerList:
    """The servers this user's runs use: shared ones and their own, with health and tools."""
    views = await server_views(hub, user.user_id, user.is_admin)
    return ServerList(items=views, problems=hub.sources.problems if user.is_admin else [])


@router.post(
    "/servers",
    response_model=ServerView,
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 413, 422, 503),
)
async def add_server(
    body: ServerCreate, user: CurrentUser, hub: HubDep, audit: AuditDep
) -> ServerView:
    """Register a server for yourself, or for everyone (`shared`, admins only).

    Only admins may register stdio servers: they run a command on the assistant's host.
    """
    entry: dict[str, Any] = dict(body.model_extra or {})
    server = await ServerRegistry(hub).add(
        body.name, entry, user_id=user.user_id, is_admin=user.is_admin, shared=body.shared
    )
    transport = "stdio" if "command" in entry else "http"
    await audit.record(
        AuditEvent.by(
            user,
            "mcp.server.add",
            target=("mcp_server", body.name),
            detail={"shared": body.shared, "transport": transport},
        )
    )
    return await server_view(hub, server, user.user_id, user.is_admin)


@router.get(
    "/servers/{name}", response_model=ServerView, responses=error_responses(401, 404, 422, 503)
)
async def get_server(name: str, user: CurrentUser, hub: HubDep) -> ServerView:
    """One server this user can see, with its health and tools."""
    server = await ServerRegistry(hub).get(name, user.user_id)
    return await server_view(hub, server, user.user_id, user.is_admin)


@router.get(
    "/servers/{name}/health",
    response_model=HealthView,
    responses=error_responses(401, 404, 422, 503),
)
async def server_health(name: str, user: CurrentUser, hub: HubDep) -> HealthView:
    """Connection state, protocol revision, failures, restarts and the circuit breaker."""
    server = await ServerRegistry(hub).get(name, user.user_id)
    view = await server_view(hub, server, user.user_id, user.is_admin)
    return view.health


@router.delete(
    "/servers/{name}", status_code=204, responses=error_responses(401, 403, 404, 409, 422, 503)
)
async def remove_server(name: str, user: CurrentUser, hub: HubDep, audit: AuditDep) -> Response:
    """Remove a server registered through the API (with its users' credentials)."""
    await ServerRegistry(hub).remove(name, user_id=user.user_id, is_admin=user.is_admin)
    await audit.record(AuditEvent.by(user, "mcp.server.remove", target=("mcp_server", name)))
    return Response(status_code=204)


@router.post(
    "/servers/{name}/reconnect",
    response_model=ServerView,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def reconnect_server(name: str, user: CurrentUser, hub: HubDep) -> ServerView:
    """Connect again now (for example, to probe a server whose circuit is open).

    A shared server is reconnected by admins only; anyone may reconnect their own.
    """
    server = await ServerRegistry(hub).reconnect(name, user.user_id, user.is_admin)
    return await server_view(hub, server, user.user_id, user.is_admin)


@router.post(
    "/servers/{name}/tools/{tool}/approve",
    response_model=ServerView,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def approve_tool(
    name: str, tool: str, user: CurrentUser, hub: HubDep, audit: AuditDep
) -> ServerView:
    """Trust the current version of a tool that changed (admins; owners of personal servers)."""
    server = await ServerRegistry(hub).approve(
        name, tool, user_id=user.user_id, is_admin=user.is_admin
    )
    await audit.record(
        AuditEvent.by(
            user, "mcp.tool.trust", target=("tool", f"{name}/{tool}"), detail={"server": name}
        )
    )
    return await server_view(hub, server, user.user_id, user.is_admin)


class PolicyChange(BaseModel):
    """A tool's new approval policy."""

    model_config = ConfigDict(extra="forbid")
    policy: ToolPolicy = Field(description="auto: run; ask: ask the user first; deny: never.")


@router.put(
    "/servers/{name}/tools/{tool}/policy",
    response_model=ServerView,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def set_tool_policy(
    name: str, tool: str, body: PolicyChange, user: CurrentUser, hub: HubDep, audit: AuditDep
) -> ServerView:
    """Set a tool's policy on a server registered through the API.

    Admins may, and owners of personal servers. Servers from `mcp.json` or discovery are
    changed there (409).
    """
    server = await ServerRegistry(hub).set_policy(
        name, tool, body.policy, user_id=user.user_id, is_admin=user.is_admin
    )
    await audit.record(
        AuditEvent.by(
            user,
            "mcp.tool.policy",
            target=("tool", f"{name}/{tool}"),
            detail={"server": name, "policy": body.policy.value},
        )
    )
    return await server_view(hub, server, user.user_id, user.is_admin)


@router.post(
    "/servers/{name}/authorize",
    response_model=AuthorizeOut,
    responses=error_responses(401, 404, 409, 422, 503),
)
async def authorize_server(
    name: str, user: CurrentUser, hub: HubDep, response: Response
) -> AuthorizeOut:
    """Start the OAuth authorization of this server for you.

    Open the returned URL in the same browser. The answer sets an httpOnly cookie that the
    callback requires, so the authorization completes only in the browser that started it.
    """
    start = await ServerRegistry(hub).authorize(name, user.user_id)
    if start is None:
        return AuthorizeOut(status="ready")
    secure = hub.oauth.secure_cookies
    response.set_cookie(
        cookie_name(start.state, secure=secure),
        start.nonce,
        max_age=COOKIE_SECONDS,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    return AuthorizeOut(status="authorize", authorization_url=start.url)


@router.delete(
    "/servers/{name}/authorization",
    status_code=204,
    responses=error_responses(401, 404, 422, 503),
)
async def forget_authorization(name: str, user: CurrentUser, hub: HubDep) -> Response:
    """Forget your tokens for this server."""
    await ServerRegistry(hub).forget_authorization(name, user.user_id)
    return Response(status_code=204)


@callback_router.get(
    "/mcp/oauth/callback",
    response_class=HTMLResponse,
    responses={
        400: {
            "description": "The authorization server reported an error: a page saying so.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **error_responses(403, 404, 422, 503, page=True),
    },
)
async def oauth_callback(
    hub: HubDep,
    request: Request,
    state: Annotated[str, Query(min_length=1, max_length=500)],
    code: Annotated[str | None, Query(max_length=4000)] = None,
    iss: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Where the authorization server sends the browser back.

    `state` names the authorization, and the cookie set when it started must come with it
    (403 otherwise, and nothing is stored).
    """
    name = cookie_name(state, secure=hub.oauth.secure_cookies)
    nonce = request.cookies.get(name)
    if code is None:
        hub.oauth.fail(state, nonce)
        reason = html.escape(error or "no code")
        page = HTMLResponse(f"<p>Authorization failed: {reason}.</p>", status_code=400)
    else:
        _, server = hub.oauth.complete(state, code, iss, nonce)
        page = HTMLResponse(
            f"<p>The assistant is now authorized for <b>{html.escape(server)}</b>. "
            "You can close this window.</p>"
        )
    page.delete_cookie(name, path="/", secure=hub.oauth.secure_cookies, httponly=True)
    return page


@router.get(
    "/resources", response_model=ResourceList, responses=error_responses(401, 404, 422, 503)
)
async def list_resources(
    user: CurrentUser, hub: HubDep, server: ServerName | None = None
) -> ResourceList:
    """Resources and resource templates of the servers you can use (or of one)."""
    listings = await Catalog(hub).listings(user.user_id, server)
    return ResourceList(items=resource_views(listings))


@router.get(
    "/resources/read",
    response_model=ResourceContents,
    responses=error_responses(401, 404, 422, 502, 503),
)
async def read_resource(
    user: CurrentUser,
    hub: HubDep,
    server: ServerName,
    uri: Annotated[str, Query(min_length=1, max_length=4000)],
) -> ResourceContents:
    """A resource's contents, as parts you can attach to a message."""
    contents = await Catalog(hub).read(user.user_id, server, uri)
    return ResourceContents(server=server, uri=uri, contents=contents)


@router.get("/prompts", response_model=PromptList, responses=error_responses(401, 404, 422, 503))
async def list_prompts(
    user: CurrentUser, hub: HubDep, server: ServerName | None = None
) -> PromptList:
    """Prompts of the servers you can use (or of one), with their arguments."""
    listings = await Catalog(hub).listings(user.user_id, server)
    return PromptList(items=prompt_views(listings))


@router.post(
    "/prompts/get",
    response_model=PromptOut,
    responses=error_responses(400, 401, 404, 413, 422, 502, 503),
)
async def get_prompt(body: PromptGet, user: CurrentUser, hub: HubDep) -> PromptOut:
    """A prompt filled in with arguments: the messages to start a conversation from."""
    description, messages = await Catalog(hub).prompt(
        user.user_id, body.server, body.name, body.arguments
    )
    if not messages:
        raise NotFound(f"The prompt {body.name!r} has no messages.")
    return PromptOut(
        server=body.server,
        name=body.name,
        description=description,
        messages=[PromptMessage(role=m.role.value, content=m.content) for m in messages],
    )
