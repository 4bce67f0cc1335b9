"""Authentication: argon2 passwords, JWT access and refresh tokens, hashed API keys."""

from orchestrator.auth.api_keys import KEY_PREFIX
from orchestrator.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from orchestrator.auth.service import (
    AuthService,
    FirstAdmin,
    LoginRefused,
    Principal,
    RefreshReused,
)
from orchestrator.auth.throttle import LoginThrottle
from orchestrator.auth.tokens import AUDIENCE, TokenCodec, TokenPair

__all__ = [
    "AUDIENCE",
    "KEY_PREFIX",
    "MIN_PASSWORD_LENGTH",
    "AuthService",
    "FirstAdmin",
    "LoginRefused",
    "LoginThrottle",
    "Principal",
    "RefreshReused",
    "TokenCodec",
    "TokenPair",
    "hash_password",
    "verify_password",
]
