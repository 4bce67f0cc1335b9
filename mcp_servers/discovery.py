"""The discovery service: which MCP servers exist, where, and whether they are alive.

    GET  /discover             (service token) {"servers": [{name, url, transport,
                               protocol_versions, tools, healthy}]}
    POST /register             (service token) add or refresh a server; also the heartbeat
    DELETE /register/{name}    (service token) remove one

Our own servers register when `assistant serve mcp` starts and heartbeat from then on; a
third-party Streamable HTTP server registers (and heartbeats) with the same POST. An entry
that has not been refreshed for 3 heartbeat intervals is listed as unhealthy, and after 10
it is dropped. Names of our own servers cannot be taken by a registration.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "Heartbeat",
    "Registration",
    "Registry",
    "discovery_routes",
]

logger = logging.getLogger(__name__)

UNHEALTHY_AFTER_BEATS = 3
EXPIRE_AFTER_BEATS = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Registration(BaseModel):
    """What a server tells the discovery service about itself."""

    name: str = Field(max_length=63)
    url: str = Field(max_length=2048)
    transport: str = "streamable-http"
    protocol_versions: list[str] = Field(default_factory=list, max_length=20)
    tools: list[str] = Field(default_factory=list, max_length=1000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "lowercase letters, digits, '-' and '_', starting with a letter or digit"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an http:// or https:// URL")
        return value

    @field_validator("transport")
    @classmethod
    def _transport(cls, value: str) -> str:
        if value != "streamable-http":
            raise ValueError("only streamable-http servers can be registered")
        return value


@dataclass
class _Entry:
    registration: Registration
    last_seen: float
    builtin: bool = False


@dataclass
class Registry:
    """The servers known to the discovery service, in memory."""

    heartbeat_seconds: float = 10.0
    clock: Callable[[], float] = time.monotonic
    builtin_names: frozenset[str] = frozenset()
    _entries: dict[str, _Entry] = field(default_factory=dict)

    def register(self, registration: Registration, *, builtin: bool = False) -> None:
        """Add or refresh a server.

        Raises:
            PermissionError: a third party tried to take the name of one of our servers.
        """
        if not builtin and registration.name in self.builtin_names:
            raise PermissionError(f"{registration.name!r} is the name of a built-in server")
        self._entries[registration.name] = _Entry(registration, self.clock(), builtin)

    def remove(self, name: str) -> bool:
        return self._entries.pop(name, None) is not None

    def listing(self) -> list[dict[str, Any]]:
        now = self.clock()
        unhealthy_after = UNHEALTHY_AFTER_BEATS * self.heartbeat_seconds
        expire_after = EXPIRE_AFTER_BEATS * self.heartbeat_seconds
        for name, entry in list(self._entries.items()):
            if now - entry.last_seen > expire_after:
                logger.info("Discovery: %s missed its heartbeats and was dropped", name)
                del self._entries[name]
        return [
            {
                **entry.registration.model_dump(),
                "healthy": now - entry.last_seen <= unhealthy_after,
            }
            for entry in sorted(self._entries.values(), key=lambda e: e.registration.name)
        ]


def _error(status: int, type_: str, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse({"error": body}, status_code=status)


def discovery_routes(registry: Registry) -> list[Route]:
    """The HTTP face of a registry. Authentication is the guard's job (service token)."""

    async def discover(request: Request) -> Response:
        return JSONResponse({"servers": registry.listing()})

    async def register(request: Request) -> Response:
        try:
            registration = Registration.model_validate_json(await request.body())
        except ValidationError as error:
            detail = [
                {"loc": list(e["loc"]), "msg": e["msg"]}
                for e in error.errors(include_url=False, include_input=False)
            ]
            return _error(422, "invalid_input", "Not a valid registration.", detail)
        try:
            registry.register(registration)
        except PermissionError as error:
            return _error(409, "conflict", str(error))
        logger.info("Discovery: %s registered at %s", registration.name, registration.url)
        return JSONResponse(
            {
                "name": registration.name,
                "heartbeat_seconds": registry.heartbeat_seconds,
                "unhealthy_after_seconds": UNHEALTHY_AFTER_BEATS * registry.heartbeat_seconds,
                "expires_after_seconds": EXPIRE_AFTER_BEATS * registry.heartbeat_seconds,
            }
        )

    async def unregister(request: Request) -> Response:
        name = request.path_params["name"]
        if name in registry.builtin_names:
            return _error(409, "conflict", f"{name!r} is a built-in server")
        if not registry.remove(name):
            return _error(404, "not_found", f"No server {name!r} is registered.")
        return Response(status_code=204)

    return [
        Route("/discover", discover, methods=["GET"]),
        Route("/register", register, methods=["POST"]),
        Route("/register/{name}", unregister, methods=["DELETE"]),
    ]


class Heartbeat:
    """Registers servers with a discovery service over HTTP and keeps them fresh.

    For a server that runs apart from the discovery service (`assistant serve mcp NAME`
    with MCP_DISCOVERY_URL set) or a third-party one. Failures are logged and retried at
    the next beat: the discovery service may start after us.
    """

    def __init__(
        self,
        discovery_url: str,
        service_token: str,
        registrations: Callable[[], Sequence[Registration]],
        *,
        interval: float = 10.0,
        client: httpx.AsyncClient | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        base = discovery_url.rstrip("/")
        self._verify = verify
        self._register_url = base.removesuffix("/discover") + "/register"
        self._token = service_token
        self._registrations = registrations
        self._interval = interval
        self._client = client
        self.beats = 0

    async def beat(self) -> bool:
        """Register everything once; True when the discovery service accepted all of it."""
        client = self._client or httpx.AsyncClient(
            timeout=5.0, trust_env=False, verify=self._verify
        )
        ok = True
        try:
            for registration in self._registrations():
                try:
                    response = await client.post(
                        self._register_url,
                        json=registration.model_dump(),
                        headers={"Authorization": f"Bearer {self._token}"},
                    )
                    ok = ok and response.status_code == 200
                    if response.status_code != 200:
                        logger.warning(
                            "Discovery refused %s: %s %s",
                            registration.name,
                            response.status_code,
                            response.text[:200],
                        )
                except httpx.HTTPError as error:
                    ok = False
                    logger.warning("Discovery at %s unreachable: %s", self._register_url, error)
        finally:
            if self._client is None:
                await client.aclose()
        self.beats += 1
        return ok

    async def run(self) -> None:
        """Beat forever (until cancelled)."""
        while True:
            try:
                await self.beat()
            except Exception:  # the root of a background task: log, keep beating
                logger.exception("Discovery heartbeat failed")
            await asyncio.sleep(self._interval)
