"""Access and refresh tokens: HS256 JWTs signed with the assistant's key ring.

The ring is the current secret (`JWT_SECRET_KEY`), which signs, and the previous ones
(`JWT_PREVIOUS_SECRET_KEYS`), which only verify. Every token names the key that signed it in
its header (`kid`, a digest of the secret, never the secret), and is checked with that key
alone; a `kid` the ring does not hold is refused. Rotating (a new current secret, the old one
moved to the previous ones) logs nobody out: tokens signed before still verify until they
expire, and new ones are signed with the new secret. Drop an old secret once the refresh
tokens it signed have expired (`REFRESH_TOKEN_DAYS`).

Every token names its issuer (`iss: "assistant"`) and audience (`aud: "assistant-api"`), so
that a JWT this secret signs for another purpose (the MCP servers' user tokens, say) is not
accepted here. Access tokens carry the user's token version (`ver`): bumping it in the
database (disable, demote, password change, "log out everywhere") retires every access token
issued before, within the bound of `AuthService`'s short version cache.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from orchestrator.domain import Unauthorized

__all__ = ["AUDIENCE", "TokenCodec", "TokenPair", "key_id"]

_ISSUER = "assistant"
AUDIENCE = "assistant-api"
_ALGORITHM = "HS256"
# Clocks of replicas differ a little; a token "issued" further in the future than this was
# not issued by us (or our clock is badly wrong): refuse it.
_LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a login or refresh hands out: an access and a refresh token.

    `expires_in` is the access token's lifetime in seconds; `refresh_jti` and
    `refresh_expires_at` are kept server-side so the refresh token can be rotated and revoked.
    """

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_jti: str
    refresh_expires_at: datetime


def key_id(secret: str) -> str:
    """The `kid` of a signing secret: 16 hex digits of a digest, which reveal nothing of it."""
    return hashlib.sha256(b"assistant-jwt-kid:" + secret.encode()).hexdigest()[:16]


class TokenCodec:
    """Issues access and refresh tokens with the current secret; checks them with the ring.

    Raises:
        ValueError: the current secret is empty.
    """

    def __init__(
        self,
        secret: str,
        *,
        access_minutes: int,
        refresh_days: int,
        previous: Sequence[str] = (),
    ) -> None:
        if not secret:
            raise ValueError("the JWT secret is empty")
        self._secret = secret
        self._kid = key_id(secret)
        self._ring = {key_id(key): key for key in (*previous, secret) if key}
        self._access = timedelta(minutes=access_minutes)
        self._refresh = timedelta(days=refresh_days)

    @property
    def access_lifetime(self) -> timedelta:
        """How long an access token is valid."""
        return self._access

    def issue(
        self,
        *,
        user_id: str,
        email: str,
        is_admin: bool,
        version: int = 0,
        family: str | None = None,
    ) -> tuple[TokenPair, str]:
        """A new access and refresh pair; returns it with the refresh token's family.

        The family is the session: access tokens carry it as `sid`.
        """
        now = datetime.now(UTC)
        family = family or str(uuid.uuid4())
        jti = str(uuid.uuid4())
        access = jwt.encode(
            {
                "iss": _ISSUER,
                "aud": AUDIENCE,
                "sub": user_id,
                "email": email,
                "adm": is_admin,
                "ver": version,
                "sid": family,
                "typ": "access",
                "iat": now,
                "exp": now + self._access,
            },
            self._secret,
            algorithm=_ALGORITHM,
            headers={"kid": self._kid},
        )
        refresh_expires = now + self._refresh
        refresh = jwt.encode(
            {
                "iss": _ISSUER,
                "aud": AUDIENCE,
                "sub": user_id,
                "typ": "refresh",
                "jti": jti,
                "iat": now,
                "exp": refresh_expires,
            },
            self._secret,
            algorithm=_ALGORITHM,
            headers={"kid": self._kid},
        )
        pair = TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=int(self._access.total_seconds()),
            refresh_jti=jti,
            refresh_expires_at=refresh_expires,
        )
        return pair, family

    def decode(self, token: str, *, kind: str) -> dict[str, Any]:
        """The claims of a valid token of `kind` ("access" or "refresh").

        Checked: the HS256 signature by the ring's key named by `kid` (no other algorithm,
        `none` included), issuer, audience, expiry, `nbf`, and an `iat` no later than now
        (plus a small leeway). A token without `kid` (issued before the ring) is checked
        with the current secret.

        Raises:
            Unauthorized: expired, forged, malformed, signed with a key the ring does not
                hold, not yet valid or of the other kind.
        """
        try:
            kid = jwt.get_unverified_header(token).get("kid", self._kid)
        except jwt.PyJWTError as error:
            raise Unauthorized("The token is not valid.") from error
        secret = self._ring.get(kid) if isinstance(kid, str) else None
        if secret is None:
            raise Unauthorized("The token was signed with a key this server does not know.")
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                audience=AUDIENCE,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "typ", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("The token has expired.") from error
        except jwt.PyJWTError as error:
            raise Unauthorized("The token is not valid.") from error
        issued = claims.get("iat")
        if not isinstance(issued, int | float) or issued > (
            datetime.now(UTC).timestamp() + _LEEWAY_SECONDS
        ):
            raise Unauthorized("The token is not valid yet.")
        if claims.get("typ") != kind:
            raise Unauthorized(f"An {kind} token is required here.")
        ids = ("sub", "jti") if kind == "refresh" else ("sub",)
        if not all(_is_uuid(claims.get(name)) for name in ids):
            raise Unauthorized("The token is not valid.")
        if "sid" in claims and not _is_uuid(claims["sid"]):
            raise Unauthorized("The token is not valid.")
        return claims


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
