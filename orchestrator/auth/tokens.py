"""Access and refresh tokens: HS256 JWTs signed with the assistant's secret."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from orchestrator.domain import Unauthorized

__all__ = ["TokenCodec", "TokenPair"]

_ISSUER = "assistant"
_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_jti: str
    refresh_expires_at: datetime


class TokenCodec:
    def __init__(self, secret: str, *, access_minutes: int, refresh_days: int) -> None:
        self._secret = secret
        self._access = timedelta(minutes=access_minutes)
        self._refresh = timedelta(days=refresh_days)

    def issue(
        self, *, user_id: str, email: str, is_admin: bool, family: str | None = None
    ) -> tuple[TokenPair, str]:
        """A new access and refresh pair; returns it with the refresh token's family."""
        now = datetime.now(UTC)
        family = family or str(uuid.uuid4())
        jti = str(uuid.uuid4())
        access = jwt.encode(
            {
                "iss": _ISSUER,
                "sub": user_id,
                "email": email,
                "adm": is_admin,
                "typ": "access",
                "iat": now,
                "exp": now + self._access,
            },
            self._secret,
            algorithm=_ALGORITHM,
        )
        refresh_expires = now + self._refresh
        refresh = jwt.encode(
            {
                "iss": _ISSUER,
                "sub": user_id,
                "typ": "refresh",
                "jti": jti,
                "iat": now,
                "exp": refresh_expires,
            },
            self._secret,
            algorithm=_ALGORITHM,
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

        Raises:
            Unauthorized: expired, forged, malformed or of the other kind.
        """
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "typ"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("The token has expired.") from error
        except jwt.PyJWTError as error:
            raise Unauthorized("The token is not valid.") from error
        if claims.get("typ") != kind:
            raise Unauthorized(f"An {kind} token is required here.")
        return claims
