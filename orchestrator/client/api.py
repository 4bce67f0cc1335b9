"""A small async client for the orchestrator's HTTP API (what `assistant chat` talks to).

It speaks only HTTP: conversations, runs and their SSE events, approvals, input, tools and
models. A bearer credential is an API key (never expires) or an access token with its
refresh token (renewed once on a 401).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["ApiError", "AssistantClient", "Credentials", "RunEvent"]


class ApiError(Exception):
    """The API answered with an error (or could not be reached)."""

    def __init__(self, message: str, *, status: int | None = None, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


@dataclass
class Credentials:
    """An API key (`sk-asst-...`), or an access token with the refresh token that renews it."""

    token: str
    refresh_token: str | None = None


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One SSE event of a run: its sequence number, name and payload."""

    id: int
    name: str
    data: dict[str, Any]

    def as_json(self) -> str:
        """The event as one JSON line, for `--json` output: `id`, `event` and `data`."""
        return json.dumps({"id": self.id, "event": self.name, "data": self.data})


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return ApiError(
            str(error.get("message", response.reason_phrase)),
            status=response.status_code,
            kind=str(error.get("type", "error")),
        )
    return ApiError(f"{response.status_code} {response.reason_phrase}", status=response.status_code)


class AssistantClient:
    """The API under `base_url` (the server's root, e.g. http://127.0.0.1:8000).

    Each call that reaches the API raises `ApiError` for an error answer or no answer.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        *,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=httpx.Timeout(30.0, read=None), verify=verify
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    def _headers(self) -> dict[str, str]:
        if self.credentials is None:
            return {}
        return {"authorization": f"Bearer {self.credentials.token}"}

    async def _renew(self) -> bool:
        credentials = self.credentials
        if credentials is None or credentials.refresh_token is None:
            return False
        response = await self._http.post(
            "/api/v1/auth/refresh", json={"refresh_token": credentials.refresh_token}
        )
        if response.status_code != 200:
            return False
        body = response.json()
        self.credentials = Credentials(body["access_token"], body.get("refresh_token"))
        return True

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """JSON in, JSON out.

        Raises:
            ApiError: an error answer, or no answer.
        """
        try:
            response = await self._http.request(method, path, headers=self._headers(), **kwargs)
            if response.status_code == 401 and await self._renew():
                response = await self._http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.TransportError as error:
            raise ApiError(f"Cannot reach the assistant at {self.base_url}: {error}") from error
        if response.status_code >= 400:
            raise _error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def login(self, email: str, password: str) -> Credentials:
        """Log in with a password; the tokens become this client's credentials.

        Raises:
            ApiError: wrong email or password, throttled, or no answer.
        """
        body = await self.request(
            "POST", "/api/v1/auth/token", json={"email": email, "password": password}
        )
        self.credentials = Credentials(body["access_token"], body.get("refresh_token"))
        return self.credentials

    async def healthy(self) -> bool:
        """Whether the server answers `/healthz` within two seconds."""
        try:
            response = await self._http.get("/healthz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def me(self) -> dict[str, Any]:
        """The signed-in user (`GET /api/v1/auth/me`)."""
        return await self.request("GET", "/api/v1/auth/me")

    async def create_key(self, name: str) -> str:
        """A new API key for the signed-in user; returns the secret (shown once)."""
        return (await self.request("POST", "/api/v1/keys", json={"name": name}))["key"]

    async def conversations(self, limit: int = 20) -> list[dict[str, Any]]:
        """The user's latest conversations, at most `limit`."""
        return (await self.request("GET", "/api/v1/conversations", params={"limit": limit}))[
            "items"
        ]

    async def create_conversation(self) -> str:
        """Start an empty conversation; returns its id."""
        return (await self.request("POST", "/api/v1/conversations", json={}))["id"]

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        """One conversation with its messages."""
        return await self.request("GET", f"/api/v1/conversations/{conversation_id}")

    async def tools(self) -> list[dict[str, Any]]:
        """The tools the user may use, from every server."""
        return (await self.request("GET", "/api/v1/tools"))["items"]

    async def models(self) -> dict[str, Any]:
        """The model runs use by default, and whether one is configured at all."""
        return await self.request("GET", "/api/v1/models")

    async def cancel(self, run_id: str) -> None:
        """Ask the server to cancel the run."""
        await self.request("POST", f"/api/v1/runs/{run_id}/cancel")

    async def decide(self, call_id: str, approve: bool) -> None:
        """Approve or deny a tool call that waits for the user."""
        action = "approve" if approve else "deny"
        await self.request("POST", f"/api/v1/tool-calls/{call_id}/{action}")

    async def answer_input(
        self, run_id: str, input_id: str, action: str, content: dict[str, Any] | None
    ) -> None:
        """Answer an `input.required` question: accept with `content`, decline or cancel."""
        await self.request(
            "POST",
            f"/api/v1/runs/{run_id}/input",
            json={"id": input_id, "action": action, "content": content},
        )

    async def send(
        self, conversation_id: str, content: str, *, model: str | None = None
    ) -> AsyncIterator[RunEvent]:
        """Start a run and yield its events until `run.completed` or `error`.

        Raises:
            ApiError: the message was refused, or the stream broke.
        """
        body: dict[str, Any] = {"content": content}
        if model:
            body["model"] = model
        path = f"/api/v1/conversations/{conversation_id}/messages"
        for attempt in range(2):
            try:
                async with self._http.stream(
                    "POST",
                    path,
                    json=body,
                    headers=self._headers() | {"accept": "text/event-stream"},
                ) as response:
                    if response.status_code == 401 and attempt == 0 and await self._renew():
                        continue
                    if response.status_code >= 400:
                        await response.aread()
                        raise _error(response)
                    async for event in _parse_sse(response.aiter_lines()):
                        yield event
                        if event.name in ("run.completed", "error"):
                            return
                    return
            except httpx.TransportError as error:
                raise ApiError(f"The connection to the assistant broke: {error}") from error


async def _parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[RunEvent]:
    """Server-sent events from response lines (comments and pings skipped)."""
    name, data, event_id = "message", [], 0
    async for line in lines:
        if not line:
            if data:
                yield RunEvent(event_id, name, json.loads("\n".join(data)))
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id" and value.isdigit():
            event_id = int(value)
