"""Per-call tokens for our own MCP servers: who is calling, signed with the shared secret.

Our servers (those marked `"assistant": true` or found by discovery) learn the user a call
is for from a short-lived JWT, HS256 with `MCP_SERVICE_TOKEN`:

    iss "assistant", aud "mcp:<server name>", sub <user id>, iat, exp (at most 5 minutes), jti

Over HTTP it is the `Authorization: Bearer` header of each request made for a user; the
hub's own requests (the handshake, listing tools) carry the service token itself, which
our servers take as service-level access. Over stdio, which has no headers, the JWT is
`_meta["io.assistant/user-token"]` of each request made for a user. Third-party servers
never get either.
"""

from __future__ import annotations

import time
import uuid

import jwt

__all__ = ["META_KEY", "ServiceTokens"]

META_KEY = "io.assistant/user-token"
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
        return self._secret

    def mint(self, server: str, user_id: str) -> str:
        now = int(time.time())
        claims = {
            "iss": _ISSUER,
            "aud": f"mcp:{server}",
            "sub": user_id,
            "iat": now,
            "exp": now + int(self._lifetime),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

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
