"""Per-call tokens for our own MCP servers: who is calling, signed with the shared secret.

Our servers (those marked `"assistant": true` or found by discovery) learn the user a call
is for from a short-lived JWT, HS256 with `MCP_SERVICE_TOKEN`:

    iss "assistant", aud "mcp:<server name>", sub <user id>, iat, exp (at most 5 minutes), jti

Over HTTP it is the `Authorization: Bearer` header of each request made for a user. The
hub's own requests (the handshake, listing tools) carry a service JWT of the same shape
whose `sub` is `SERVICE_SUBJECT` and which says `"kind": "service"`: service-level access to
that one server, for at most five minutes. The raw `MCP_SERVICE_TOKEN` never travels as a
bearer (our servers refuse it); only our stdio children get it, in their environment, and
the discovery service, which is ours too. Over stdio, which has no headers, the user JWT is
`_meta["io.assistant/user-token"]` of each request made for a user. Third-party servers
never get any of these.
"""

from __future__ import annotations

import time
import uuid

import jwt

__all__ = ["META_KEY", "SERVICE_SUBJECT", "ServiceTokens"]

META_KEY = "io.assistant/user-token"
SERVICE_SUBJECT = "assistant-hub"
_ISSUER = "assistant"


class ServiceTokens:
    """Mints the per-call tokens; `lifetime` is capped at five minutes."""

    def __init__(self, secret: str, *, lifetime: float = 120.0) -> None:
        if not secret:
            raise ValueError("the service token secret is empty")
        self._secret = secret
        self._lifetime = min(lifetime, 300.0)

    @property
    def secret(self) -> str:
        """The shared secret itself, for our stdio children's environment only."""
        return self._secret

    def mint(self, server: str, user_id: str) -> str:
        """A token for one call to `server` on behalf of `user_id`."""
        return jwt.encode(self._claims(server, user_id), self._secret, algorithm="HS256")

    def mint_service(self, server: str) -> str:
        """A token for the hub's own requests to `server` (no user): service-level access."""
        claims = {**self._claims(server, SERVICE_SUBJECT), "kind": "service"}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def _claims(self, server: str, subject: str) -> dict[str, object]:
        now = int(time.time())
        return {
            "iss": _ISSUER,
            "aud": f"mcp:{server}",
            "sub": subject,
            "iat": now,
            "exp": now + int(self._lifetime),
            "jti": uuid.uuid4().hex,
        }

    def verify(self, token: str, server: str) -> dict[str, object]:
        """The claims of a token minted for `server` (for our servers and the tests).

        Raises:
            jwt.InvalidTokenError: wrong secret, audience or issuer, or expired.
        """
        return jwt.decode(
            token,
            self._secret,
            algorithms=["HS256"],
            audience=f"mcp:{server}",
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
        )
