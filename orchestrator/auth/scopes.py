"""What a credential may do: the four scopes of API keys, and what a role allows.

- `chat`: start runs (the API's messages and `/v1/chat/completions`), answer approvals and
  questions, cancel.
- `read`: read the caller's own data (every `GET`).
- `mcp`: manage the caller's own MCP servers and their OAuth authorizations.
- `admin`: the admin routes; only an admin may hold it.

An access token from a login carries every scope its user's role allows; an API key carries
the scopes chosen when it was made, cut down to what its owner's role allows now (a demoted
admin's keys lose `admin` at once). Which route needs which scope is decided in one place,
`orchestrator.api.scopes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from orchestrator.domain import Forbidden, InvalidInput

__all__ = [
    "ADMIN",
    "CHAT",
    "DEFAULT_KEY_SCOPES",
    "MCP",
    "READ",
    "SCOPES",
    "allowed_scopes",
    "require_scope",
    "valid_scopes",
]

CHAT: Final = "chat"
READ: Final = "read"
MCP: Final = "mcp"
ADMIN: Final = "admin"
SCOPES: Final = (CHAT, READ, MCP, ADMIN)
"""Every scope, in the order they are shown."""

DEFAULT_KEY_SCOPES: Final = (CHAT, READ)
"""A new key's scopes when none are asked for."""


def allowed_scopes(is_admin: bool) -> frozenset[str]:
    """The scopes a user of this role may hold (and their login tokens carry)."""
    return frozenset(SCOPES if is_admin else (CHAT, READ, MCP))


def valid_scopes(requested: Iterable[str], *, is_admin: bool) -> tuple[str, ...]:
    """The requested scopes, checked and in canonical order.

    Raises:
        InvalidInput: an unknown scope, none at all, or `admin` asked by a non-admin.
    """
    wanted = set(requested)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"Unknown scope {unknown[0]!r}: choose among {', '.join(SCOPES)}.",
            detail={"scopes": list(SCOPES)},
        )
    if not wanted:
        raise InvalidInput(f"Choose at least one scope among {', '.join(SCOPES)}.")
    if ADMIN in wanted and not is_admin:
        raise InvalidInput("Only an admin can create a key with the 'admin' scope.")
    return tuple(scope for scope in SCOPES if scope in wanted)


def require_scope(held: frozenset[str], scope: str, *, via: str) -> None:
    """Refuse a credential that does not hold `scope`.

    Raises:
        Forbidden: the credential lacks the scope (the message names it).
    """
    if scope in held:
        return
    what = "API key" if via == "api_key" else "token"
    raise Forbidden(
        f"This {what} lacks the {scope!r} scope.",
        detail={"required_scope": scope, "scopes": [s for s in SCOPES if s in held]},
    )
