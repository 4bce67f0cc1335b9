"""Logging in and API keys: the bodies of `/auth` and `/keys`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "RefreshRequest",
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
    """The signed-in user."""

    id: str
    email: str
    is_admin: bool


class ApiKeyCreate(BaseModel):
    """A new API key's name, to tell keys apart."""

    model_config = _Strict
    name: str = Field(default="default", min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    """An API key as listed: its name and prefix, never the secret."""

    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    """A new API key, with its secret."""

    key: str = Field(description="The secret. Shown once: store it now.")
