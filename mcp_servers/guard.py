"""HTTP hardening in front of every server: Host, Origin, bearer token, body size.

Checked in that order, before any MCP code runs:

- `Host` must be allow-listed (loopback names by default, plus MCP_ALLOWED_HOSTS): 421
  otherwise. With `Origin`, this defeats DNS rebinding against a server on 127.0.0.1.
- `Origin`, when a browser sends one, must be allow-listed: 403 otherwise.
- A bearer token is required except on the few open paths (health, OAuth metadata): 401
  with `WWW-Authenticate` otherwise. The authenticated `Caller` goes into the ASGI scope.
- Bodies over the limit get 413, by Content-Length or while streaming
  (`common.body_limit.BodyLimit`, answered in plain text).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from common.body_limit import BodyLimit
from mcp_servers.identity import SCOPE_KEY, Caller

__all__ = ["LOOPBACK_HOSTS", "LOOPBACK_ORIGINS", "Guard", "GuardPolicy", "host_allowed"]

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")

Authenticator = Callable[[str, str], Awaitable[Caller | None]]
"""(path, bearer token) -> the caller, or None when the token is not accepted there."""


def _has_port(pattern: str) -> bool:
    rest = pattern.split("//", 1)[-1].rsplit("]", 1)[-1]
    return ":" in rest


def _port_follows(value: str, base: str) -> bool:
    return value.startswith(base + ":") and value[len(base) + 1 :].isdigit()


def _matches(value: str, patterns: Iterable[str]) -> bool:
    """`name:*` and `name` match with any port or none; `name:port` matches exactly."""
    value = value.lower()
    for pattern in patterns:
        pattern = pattern.lower()
        base = pattern[:-2] if pattern.endswith(":*") else pattern
        if value == base:
            return True
        if (pattern.endswith(":*") or not _has_port(pattern)) and _port_follows(value, base):
            return True
    return False


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    return _matches(host, patterns)


@dataclass(frozen=True)
class GuardPolicy:
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    max_body_bytes: int
    open_paths: tuple[str, ...] = ("/healthz",)
    open_prefixes: tuple[str, ...] = ("/.well-known/",)

    @classmethod
    def build(
        cls, hosts: Iterable[str], origins: Iterable[str], max_body_bytes: int
    ) -> GuardPolicy:
        return cls(
            allowed_hosts=(*LOOPBACK_HOSTS, *hosts),
            allowed_origins=(*LOOPBACK_ORIGINS, *origins),
            max_body_bytes=max_body_bytes,
        )


class Guard:
    """ASGI middleware applying a `GuardPolicy` (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        policy: GuardPolicy,
        authenticate: Authenticator,
        resource_metadata: Callable[[str], str | None] = lambda path: None,
    ) -> None:
        self.app = app
        self.policy = policy
        self.authenticate = authenticate
        self.resource_metadata = resource_metadata
        self._limited = BodyLimit(app, policy.max_body_bytes, refusal=_too_large)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope.get("path", "")
        host = headers.get("host")
        if not host or not host_allowed(host, self.policy.allowed_hosts):
            logger.warning("Refused Host %r on %s", host, path)
            await _plain(send, 421, "Invalid Host header")
            return
        origin = headers.get("origin")
        if origin is not None and not _matches(origin, self.policy.allowed_origins):
            logger.warning("Refused Origin %r on %s", origin, path)
            await _plain(send, 403, "Invalid Origin header")
            return
        if path not in self.policy.open_paths and not path.startswith(self.policy.open_prefixes):
            caller = await self._caller(headers, path)
            if caller is None:
                await self._unauthorized(send, path, has_token="authorization" in headers)
                return
            scope[SCOPE_KEY] = caller
            # The SDK binds a stateful session to the principal that opened it.
            scope["user"] = AuthenticatedUser(
                AccessToken(
                    token="-",  # noqa: S106 - a placeholder; the real one stays in the header
                    client_id=caller.kind,
                    scopes=[],
                    subject=caller.user_id,
                )
            )
        await self._limited(scope, receive, send)

    async def _caller(self, headers: Headers, path: str) -> Caller | None:
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return await self.authenticate(path, token.strip())

    async def _unauthorized(self, send: Send, path: str, *, has_token: bool) -> None:
        parts = ['Bearer realm="assistant-mcp"']
        if has_token:
            parts.append('error="invalid_token"')
        metadata = self.resource_metadata(path)
        if metadata:
            parts.append(f'resource_metadata="{metadata}"')
        body = json.dumps(
            {"error": "invalid_token", "error_description": "A valid bearer token is required."}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", ", ".join(parts).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _too_large(limit: int) -> ASGIApp:
    return PlainTextResponse("Request body too large", status_code=413)


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
