"""Which scope each route needs: the one table, read by the `CurrentUser` dependency.

A route's need follows from its router's tag and the method, not from its handler:

| tag | GET | other methods |
|---|---|---|
| conversations, runs, files, knowledge, catalog, openai | read | chat |
| mcp (the caller's MCP servers, their OAuth) | read | mcp |
| users, groups, audit (the admin API) | admin | admin |
| auth, keys, sessions (the caller's credentials) | read | a login session |

"A login session" means an access token: an API key cannot make keys, end sessions or
change the password, so a leaked key cannot outlive its revocation or widen its scopes.
A tag missing from the table refuses API keys altogether (a new router must be added here;
`tests/api/test_scopes.py` checks that every route is). Access tokens hold every scope
their user's role allows, so for them only `admin` ever fails (and `AdminUser` checks the
role anyway).
"""

from __future__ import annotations

from typing import Final

from fastapi.routing import APIRoute

from orchestrator.auth import Principal, require_scope
from orchestrator.auth.scopes import ADMIN, CHAT, MCP, READ
from orchestrator.domain import Forbidden

__all__ = ["SESSION", "TAGS", "check_route_scope", "route_scope"]

SESSION: Final = "session"
"""Not a scope: the route needs an access token from a login, never an API key."""

_READS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

# tag -> (what a read needs, what any other method needs)
_TABLE: Final[dict[str, tuple[str, str]]] = {
    "conversations": (READ, CHAT),
    "runs": (READ, CHAT),
    "files": (READ, CHAT),
    "knowledge": (READ, CHAT),
    "catalog": (READ, CHAT),
    "openai": (READ, CHAT),
    "mcp": (READ, MCP),
    "users": (ADMIN, ADMIN),
    "groups": (ADMIN, ADMIN),
    "audit": (ADMIN, ADMIN),
    "auth": (READ, SESSION),
    "oidc": (READ, SESSION),
    "keys": (READ, SESSION),
    "sessions": (READ, SESSION),
}


TAGS: Final = frozenset(_TABLE)
"""The router tags the table knows."""


def route_scope(method: str, tags: list[str]) -> str:
    """What a request by `method` to a route with `tags` needs: a scope, or `SESSION`."""
    for tag in tags:
        rule = _TABLE.get(tag)
        if rule is not None:
            return rule[0] if method.upper() in _READS else rule[1]
    return SESSION


def check_route_scope(principal: Principal, method: str, route: object) -> None:
    """Refuse `principal` when its credential lacks what the route needs.

    `route` is the matched route (`request.scope["route"]`); anything else (a WebSocket,
    say) is checked as a `chat` action.

    Raises:
        Forbidden: the API key lacks the scope, or the route needs a login session.
    """
    if isinstance(route, APIRoute):
        tags = [tag if isinstance(tag, str) else str(tag.value) for tag in route.tags]
        need = route_scope(method, tags)
    else:
        need = CHAT
    if need == SESSION:
        if principal.via == "api_key":
            raise Forbidden(
                "An API key cannot manage credentials or sessions: log in to do this.",
                detail={"required": "session"},
            )
        return
    require_scope(principal.scopes, need, via=principal.via)
