"""Who is calling a server: the user tokens the orchestrator signs, and OAuth access tokens.

The orchestrator calls our servers on behalf of a user with a short-lived JWT (HS256, signed
with MCP_SERVICE_TOKEN): `iss="assistant"`, `aud="mcp:<server>"`, `sub=<user id>`, `iat`,
`exp` at most five minutes later, `jti`. Over HTTP it is the bearer token; over stdio (no
headers) it travels in each request's `_meta` under `io.assistant/user-token`. The hub's
own requests (handshake, listing) carry a service JWT of the same shape with
`"kind": "service"`: service-level access (no user) to that one server. The raw service
token is refused as a bearer: a token that leaked to one server must not open the others,
and the raw secret would let its holder sign tokens for every user. (The discovery service
still takes the raw token: see `hosting`.) A server takes the user from these tokens and
never from tool arguments.

The caller of the request being handled is kept in a context variable set by the
`identity_middleware` of each server, so tools and resource handlers ask `current_caller()`.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import mcp_types as types
from mcp import MCPError

__all__ = [
    "ISSUER",
    "MAX_TOKEN_SECONDS",
    "USER_TOKEN_META_KEY",
    "Caller",
    "CallerResolver",
    "InvalidToken",
    "OAuthVerifier",
    "ServiceTokens",
    "current_caller",
    "identity_middleware",
    "require_user",
    "sign_service_token",
    "sign_user_token",
]

logger = logging.getLogger(__name__)

ISSUER = "assistant"
USER_TOKEN_META_KEY = "io.assistant/user-token"  # noqa: S105 - a key name, not a secret
MAX_TOKEN_SECONDS = 300
_LEEWAY_SECONDS = 30
SCOPE_KEY = "assistant.caller"
"""Where the HTTP guard leaves the authenticated `Caller` in the ASGI scope."""

CallerKind = Literal["service", "user", "oauth", "local", "api"]


class InvalidToken(Exception):
    """A token that is malformed, expired, for another server, or badly signed."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated party behind a request.

    `user_id` is None for service-level access. `credential` is the raw bearer, kept only
    where a server forwards it (the assistant server calls the orchestrator with it).
    """

    kind: CallerKind
    user_id: str | None
    credential: str | None = None

    def __repr__(self) -> str:  # never print the credential
        return f"Caller(kind={self.kind!r}, user_id={self.user_id!r})"


def sign_user_token(
    secret: str, server: str, user_id: str, *, seconds: int = MAX_TOKEN_SECONDS
) -> str:
    """A user token for `server`, as the orchestrator signs it (tests and tools use this)."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": f"mcp:{server}",
        "sub": user_id,
        "iat": now,
        "exp": now + seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def sign_service_token(secret: str, server: str, *, seconds: int = MAX_TOKEN_SECONDS) -> str:
    """A service token for `server`, as the hub signs it for its own requests (tests)."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": f"mcp:{server}",
        "sub": "assistant-hub",
        "kind": "service",
        "iat": now,
        "exp": now + seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class ServiceTokens:
    """Checks the service token and the user tokens signed with it, for one server."""

    def __init__(self, secret: str, server: str) -> None:
        if not secret:
            raise ValueError("The MCP service token is empty.")
        self._secret = secret
        self.server = server

    def is_service_token(self, token: str) -> bool:
        """Whether `token` is the raw secret itself (accepted by the discovery service only)."""
        return hmac.compare_digest(token.encode(), self._secret.encode())

    def verify_user_token(self, token: str) -> Caller:
        """The user a token speaks for.

        Raises:
            InvalidToken: bad signature, wrong issuer or audience, expired, too long-lived,
                or a service token.
        """
        caller = self._caller(self._claims(token), token)
        if caller.kind != "user":
            raise InvalidToken("invalid user token: it is a service token")
        return caller

    def authenticate(self, token: str) -> Caller | None:
        """The caller behind a bearer token (a user or service JWT), or None when it is not
        ours. The raw service token is not accepted here."""
        try:
            return self._caller(self._claims(token), token)
        except InvalidToken:
            return None

    def _caller(self, claims: dict[str, Any], token: str) -> Caller:
        kind = claims.get("kind")
        if kind == "service":
            return Caller("service", None)
        if kind is not None:
            raise InvalidToken(f"invalid token: unknown kind {kind!r}")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("invalid user token: no subject")
        return Caller("user", subject, token)

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=f"mcp:{self.server}",
                issuer=ISSUER,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "sub", "iat", "exp", "jti"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(f"invalid token: {error}") from error
        if int(claims["exp"]) - int(claims["iat"]) > MAX_TOKEN_SECONDS:
            raise InvalidToken("invalid token: it lives longer than five minutes")
        return claims


class OAuthVerifier:
    """Validates OAuth access tokens (JWTs) of one issuer: signature, issuer, audience, expiry.

    The signing keys come from `jwks_url`, or from the issuer's OpenID configuration; PyJWT
    caches them and refetches when a token names an unknown key.
    """

    def __init__(self, issuer: str, audience: str, jwks_url: str | None = None) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._client: jwt.PyJWKClient | None = None
        self._lock = asyncio.Lock()

    async def _jwks(self) -> jwt.PyJWKClient:
        async with self._lock:
            if self._client is None:
                url = self._jwks_url or await asyncio.to_thread(self._discover_jwks_url)
                self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)
            return self._client

    def _discover_jwks_url(self) -> str:
        import json
        import urllib.request

        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - configured issuer
            return str(json.load(response)["jwks_uri"])

    async def verify(self, token: str) -> Caller | None:
        try:
            client = await self._jwks()
            key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "sub", "exp"]},
            )
        except (jwt.PyJWTError, OSError, KeyError, ValueError) as error:
            logger.info("OAuth token refused: %s", error)
            return None
        return Caller("oauth", str(claims["sub"]), token)


BearerCheck = Callable[[str], Awaitable["Caller | None"]]


class CallerResolver:
    """Turns one server's bearer tokens and `_meta` user tokens into callers."""

    def __init__(
        self,
        tokens: ServiceTokens,
        *,
        oauth: OAuthVerifier | None = None,
        extra: BearerCheck | None = None,
        stdio_user: str | None = None,
    ) -> None:
        self.tokens = tokens
        self.oauth = oauth
        self.extra = extra
        self.stdio_user = stdio_user

    async def authenticate_bearer(self, token: str) -> Caller | None:
        """The caller behind an HTTP bearer token, or None (answer 401)."""
        caller = self.tokens.authenticate(token)
        if caller is None and self.oauth is not None:
            caller = await self.oauth.verify(token)
        if caller is None and self.extra is not None:
            caller = await self.extra(token)  # noqa: S610 - not Django
        return caller

    def resolve(self, transport_caller: Caller | None, meta: Mapping[str, Any] | None) -> Caller:
        """The caller of one MCP request, from the HTTP guard's verdict and the `_meta` token.

        Raises:
            MCPError: a `_meta` token that is invalid, or that names another user than the
                bearer did.
        """
        meta_token = (meta or {}).get(USER_TOKEN_META_KEY)
        if meta_token is not None:
            if not isinstance(meta_token, str):
                raise MCPError(types.INVALID_REQUEST, "invalid user token: not a string")
            try:
                from_meta = self.tokens.verify_user_token(meta_token)
            except InvalidToken as error:
                raise MCPError(types.INVALID_REQUEST, str(error)) from error
            if transport_caller is None or transport_caller.kind == "service":
                return from_meta
            if transport_caller.user_id != from_meta.user_id:
                raise MCPError(
                    types.INVALID_REQUEST, "the user token names another user than the bearer"
                )
            return transport_caller
        if transport_caller is not None:
            return transport_caller
        if self.stdio_user:
            return Caller("local", self.stdio_user)
        return Caller("local", None)


_current: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "mcp_servers_caller", default=None
)


def current_caller() -> Caller | None:
    return _current.get()


def require_user() -> str:
    """The id of the user the current request acts for.

    Raises:
        MCPError: the request carries no user (a host configuration problem, so a protocol
            error rather than a tool error the model would read).
    """
    caller = _current.get()
    if caller is None or caller.user_id is None:
        raise MCPError(
            types.INVALID_REQUEST,
            "This server acts for a user: send a user token (Authorization: Bearer, "
            f"or _meta[{USER_TOKEN_META_KEY!r}]).",
        )
    return caller.user_id


def identity_middleware(resolver: CallerResolver) -> Any:
    """An MCP server middleware that sets `current_caller()` for each request it handles."""

    async def middleware(ctx: Any, call_next: Any) -> Any:
        if ctx.request_id is None:  # notifications act for no one
            return await call_next(ctx)
        request = getattr(ctx, "request", None)
        scope = getattr(request, "scope", None)
        transport_caller = scope.get(SCOPE_KEY) if isinstance(scope, dict) else None
        params = ctx.params if isinstance(ctx.params, Mapping) else {}
        meta = params.get("_meta")
        caller = resolver.resolve(transport_caller, meta if isinstance(meta, Mapping) else None)
        reset = _current.set(caller)
        try:
            return await call_next(ctx)
        finally:
            _current.reset(reset)

    return middleware
