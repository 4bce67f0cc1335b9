"""The assistant itself as an MCP server, so that other MCP hosts can use it.

`ask` runs a conversation turn, `list_conversations` and `search_history` read the history;
all three call the orchestrator's HTTP API with the caller's own credentials: the API key or
access token the host sent as its bearer token (HTTP), or ASSISTANT_API_KEY (stdio). The
server holds no credentials of its own, so a caller sees exactly what the API shows them.
"""

from __future__ import annotations

import json
import ssl
import time
from typing import Annotated, Any

import httpx
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.identity import Caller, current_caller
from mcp_servers.server import READ_ONLY, OurServer, resolver_for
from mcp_servers.settings import ServersSettings

__all__ = ["NAME", "OrchestratorCredentials", "build_server"]

NAME = "assistant"
_INSTRUCTIONS = (
    "A self-hosted AI assistant with its own tools and memory. ask sends it a message "
    "(optionally in an existing conversation) and returns its answer."
)
_VERIFY_CACHE_SECONDS = 30.0


class OrchestratorCredentials:
    """Checks orchestrator credentials (API keys, access tokens) by asking the orchestrator."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._verify = verify
        self._cache: dict[str, tuple[Caller | None, float]] = {}

    def client(self, timeout: float = 30.0) -> httpx.AsyncClient:
        return self._client or httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, trust_env=False, verify=self._verify
        )

    async def verify(self, token: str) -> Caller | None:
        """The user an orchestrator credential belongs to, or None (briefly cached)."""
        cached = self._cache.get(token)
        if cached is not None and time.monotonic() - cached[1] < _VERIFY_CACHE_SECONDS:
            return cached[0]
        client = self.client(timeout=10.0)
        try:
            response = await client.get(
                f"{self.base_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError:
            return None  # the orchestrator is down: nobody gets in, nothing is cached
        finally:
            if self._client is None:
                await client.aclose()
        caller = None
        if response.status_code == 200:
            user = response.json()
            caller = Caller("api", str(user.get("id") or user.get("user_id")), token)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token] = (caller, time.monotonic())
        return caller


def build_server(
    settings: ServersSettings | None = None, *, http: httpx.AsyncClient | None = None
) -> OurServer:
    """The assistant server. `http` replaces the client to the orchestrator (tests)."""
    settings = settings or ServersSettings()
    config = settings.assistant
    tls = settings.mutual_tls()
    # Under mutual TLS the orchestrator wants our certificate, and we check its.
    verify: ssl.SSLContext | bool = tls.client_context() if tls is not None else True
    credentials = OrchestratorCredentials(config.url, client=http, verify=verify)
    server = OurServer(
        NAME,
        resolver=resolver_for(NAME, settings, extra=credentials.verify),
        instructions=_INSTRUCTIONS,
        # Not advertised to the orchestrator's own hub: `ask` there would start a run inside
        # a run. Other hosts connect to /mcp/assistant (or stdio) directly.
        listed=False,
    )

    def bearer() -> str:
        caller = current_caller()
        if caller is not None and caller.kind in ("api", "user", "oauth") and caller.credential:
            return caller.credential
        if config.api_key is not None:
            return config.api_key.get_secret_value()
        raise ToolError(
            "No credentials for the assistant: connect with an API key (Authorization: Bearer "
            "sk-asst-...) or set ASSISTANT_API_KEY for stdio."
        )

    async def call(method: str, path: str, **kwargs: Any) -> Any:
        client = http or httpx.AsyncClient(
            base_url=config.url, timeout=config.ask_timeout, trust_env=False, verify=verify
        )
        try:
            response = await client.request(
                method,
                f"{config.url.rstrip('/')}/api/v1{path}",
                headers={"Authorization": f"Bearer {bearer()}", **kwargs.pop("headers", {})},
                **kwargs,
            )
        except httpx.HTTPError as error:
            raise ToolError(f"The assistant is not reachable at {config.url}: {error}") from error
        finally:
            if http is None:
                await client.aclose()
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:300]
            raise ToolError(f"The assistant answered {response.status_code}: {message}")
        return response.json() if response.content else None

    @server.tool()
    async def ask(
        message: Annotated[str, Field(min_length=1, max_length=100_000)],
        ctx: Context,
        conversation_id: Annotated[str | None, Field(max_length=64)] = None,
        model: Annotated[str | None, Field(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Send a message to the assistant and return its answer. Without a conversation_id
        a new conversation is started; pass the returned id to continue it."""
        if conversation_id is None:
            created = await call("POST", "/conversations", json={"title": message[:60]})
            conversation_id = str(created["id"])
        body: dict[str, Any] = {"content": message}
        if model:
            body["model"] = model
        accepted = await call("POST", f"/conversations/{conversation_id}/messages", json=body)
        run_id = str(accepted["run_id"])
        answer, status, tools = await _follow(call_stream, run_id, ctx)
        return {
            "conversation_id": conversation_id,
            "run_id": run_id,
            "status": status,
            "answer": answer,
            "tool_calls": tools,
        }

    async def call_stream(run_id: str) -> Any:
        client = http or httpx.AsyncClient(
            base_url=config.url, timeout=config.ask_timeout, trust_env=False, verify=verify
        )
        return client, client.stream(
            "GET",
            f"{config.url.rstrip('/')}/api/v1/runs/{run_id}/events",
            headers={"Authorization": f"Bearer {bearer()}", "Accept": "text/event-stream"},
        )

    async def _follow(open_stream: Any, run_id: str, ctx: Context) -> tuple[str, str, list]:
        client, stream = await open_stream(run_id)
        text: list[str] = []
        tools: list[dict[str, Any]] = []
        status = "unknown"
        steps = 0
        try:
            async with stream as response:
                if response.status_code >= 400:
                    raise ToolError(f"Could not follow run {run_id}: HTTP {response.status_code}")
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:].strip() or "{}")
                        if event == "message.delta":
                            text.append(str(data.get("text", "")))
                        elif event == "tool.call":
                            tools.append({"server": data.get("server"), "tool": data.get("tool")})
                            steps += 1
                            await ctx.report_progress(steps, None, f"tool {data.get('tool')}")
                        elif event == "run.completed":
                            status = str(data.get("status", "completed"))
                            break
                        elif event == "error":
                            raise ToolError(f"The run failed: {data.get('message')}")
        except httpx.HTTPError as error:
            raise ToolError(f"Lost the run's event stream: {error}") from error
        finally:
            if http is None:
                await client.aclose()
        return "".join(text), status, tools

    @server.tool(annotations=READ_ONLY)
    async def list_conversations(
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
        cursor: Annotated[str | None, Field(max_length=500)] = None,
    ) -> dict[str, Any]:
        """The caller's conversations, newest first (pass next_cursor for more)."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return await call("GET", "/conversations", params=params)

    @server.tool(annotations=READ_ONLY)
    async def search_history(
        query: Annotated[str, Field(min_length=1, max_length=200)],
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
    ) -> dict[str, Any]:
        """Search the caller's past conversations; returns the matching messages."""
        page = await call("GET", "/conversations", params={"q": query, "limit": limit})
        needle = query.lower()
        results: list[dict[str, Any]] = []
        for conversation in page.get("items", []):
            detail = await call("GET", f"/conversations/{conversation['id']}")
            matches = []
            for message in detail.get("messages", []):
                content = _text_of(message)
                where = content.lower().find(needle)
                if where >= 0:
                    start = max(0, where - 120)
                    matches.append(
                        {
                            "role": message.get("role"),
                            "message_id": message.get("id"),
                            "snippet": content[start : where + len(query) + 120],
                        }
                    )
            results.append(
                {
                    "conversation_id": conversation["id"],
                    "title": conversation.get("title"),
                    "updated_at": conversation.get("updated_at"),
                    "matches": matches[:5],
                }
            )
        return {"query": query, "conversations": results}

    return server


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(message.get("text", ""))
