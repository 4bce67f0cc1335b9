"""Logging in, sessions and API keys: the bodies of `/auth` and `/keys`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from orchestrator.auth import MAX_PASSWORD_LENGTH

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "PasswordChange",
    "RefreshRequest",
    "SessionList",
    "SessionOut",
    "TokenRequest",
    "TokenResponse",
    "UserOut",
]

_Strict = ConfigDict(extra="forbid")


class TokenRequest(BaseModel):
    """An email and password to log in with."""

    model_config = _Strict
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    new_password: str | None = Field(
        default=None,
        max_length=1024,
        description="A new password to set while logging in: required after an admin's reset "
        "(the login is refused with 403 `password_change_required` until it is sent).",
    )


class PasswordChange(BaseModel):
    """The current password, and the new one (the rules are checked by the server)."""

    model_config = _Strict
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(
        min_length=1,
        max_length=1024,
        description=f"8 to {MAX_PASSWORD_LENGTH} characters, not your email, not a common one.",
    )


class RefreshRequest(BaseModel):
    """A refresh token to exchange for a new token pair; it can be used once."""

    model_config = _Strict
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenResponse(BaseModel):
    """A bearer access token, and the refresh token that renews it."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserOut(BaseModel):
    """The signed-in user; `name` is the display name (from the OIDC provider), if any."""

    id: str
    email: str
    name: str | None = None
    is_admin: bool


class ApiKeyCreate(BaseModel):
    """A new API key: a name to tell keys apart, what it may do, and when it expires."""

    model_config = _Strict
    name: str = Field(default="default", min_length=1, max_length=100)
    scopes: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None,
        max_length=8,
        description='Any of "chat", "read", "mcp", "admin" (admins only); '
        'default ["chat", "read"].',
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    expires_at: AwareDatetime | None = Field(
        default=None, description="An exact expiry (with a time zone); or `expires_in_days`."
    )

    @model_validator(mode="after")
    def _one_expiry(self) -> ApiKeyCreate:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("Give either expires_in_days or expires_at, not both.")
        return self


class ApiKeyOut(BaseModel):
    """An API key as listed: its name and prefix, never the secret."""

    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="Updated at most once a minute."
    )
    scopes: list[str]
    expires_at: datetime | None = None
    expired: bool = False


class SessionOut(BaseModel):
    """A login session: where and how it was started, and whether it is this one."""

    id: str
    via: str = Field(description='"password", "oidc" or "local" (the terminal client).')
    address: str | None
    user_agent: str | None
    created_at: datetime
    last_active_at: datetime | None = Field(description="When its tokens were last renewed.")
    current: bool = Field(description="Whether this is the session of the token used.")


class SessionList(BaseModel):
    """The caller's live sessions, most recently active first."""

    items: list[SessionOut]


class ApiKeyCreated(ApiKeyOut):
    """A new API key, with its secret."""

    key: str = Field(description="The secret. Shown once: store it now.")
