"""What every one of our servers shares: identity of the caller and caching hints.

`OurServer` is an `MCPServer` that knows how to authenticate its callers (`resolver`), so
that the same object runs in memory (tests), over stdio, or mounted in the HTTP app.
"""

from __future__ import annotations

from typing import Any

from mcp.server.caching import CacheHint
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

from mcp_servers.identity import (
    BearerCheck,
    CallerResolver,
    OAuthVerifier,
    ServiceTokens,
    identity_middleware,
)
from mcp_servers.settings import ServersSettings

__all__ = ["DESTRUCTIVE", "READ_ONLY", "READ_ONLY_OPEN_WORLD", "OurServer", "resolver_for"]

READ_ONLY = ToolAnnotations(read_only_hint=True)
READ_ONLY_OPEN_WORLD = ToolAnnotations(read_only_hint=True, open_world_hint=True)
DESTRUCTIVE = ToolAnnotations(destructive_hint=True)

# Lists and reads depend on who asks: a client may cache them only for that caller, and
# only briefly, since documents and files change under it.
_PRIVATE = CacheHint(ttl_ms=0, scope="private")
_CACHE_HINTS: Any = {
    "tools/list": CacheHint(ttl_ms=60_000, scope="public"),
    "prompts/list": CacheHint(ttl_ms=60_000, scope="public"),
    "resources/list": _PRIVATE,
    "resources/templates/list": CacheHint(ttl_ms=60_000, scope="public"),
    "resources/read": _PRIVATE,
}


def resolver_for(
    name: str, settings: ServersSettings, *, extra: BearerCheck | None = None
) -> CallerResolver:
    """The caller resolver of server `name`: service token, user tokens, OAuth if configured."""
    http = settings.http
    oauth = None
    if http.oauth_issuer:
        audience = http.oauth_audience or f"{settings.base_url}/mcp/{name}"
        oauth = OAuthVerifier(http.oauth_issuer, audience, http.oauth_jwks_url)
    return CallerResolver(
        ServiceTokens(settings.service_token(), name),
        oauth=oauth,
        extra=extra,
        stdio_user=http.stdio_user,
    )


class OurServer(MCPServer[Any]):
    """An MCPServer with its caller resolver installed as middleware."""

    def __init__(
        self,
        name: str,
        *,
        resolver: CallerResolver,
        instructions: str,
        listed: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            name,
            instructions=instructions,
            version=_version(),
            cache_hints=_CACHE_HINTS,
            warn_on_duplicate_tools=True,
            **kwargs,
        )
        self.resolver = resolver
        self.listed = listed
        """Whether the discovery service advertises it to the orchestrator."""
        self.middleware.append(identity_middleware(resolver))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("assistant")
    except PackageNotFoundError:
        return "0.0.0"
