"""Authentication: argon2 passwords, JWT access and refresh tokens, hashed API keys, scopes."""

from orchestrator.auth.api_keys import KEY_PREFIX
from orchestrator.auth.first_admin import FirstAdmin, ensure_first_admin
from orchestrator.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_password,
    hash_password,
    verify_password,
)
from orchestrator.auth.principal import (
    LoginRefused,
    PasswordChangeRequired,
    Principal,
    RefreshReused,
)
from orchestrator.auth.scopes import SCOPES, allowed_scopes, require_scope, valid_scopes
from orchestrator.auth.service import AuthService
from orchestrator.auth.throttle import LoginThrottle
from orchestrator.auth.tokens import AUDIENCE, TokenCodec, TokenPair

__all__ = [
    "AUDIENCE",
    "KEY_PREFIX",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SCOPES",
    "AuthService",
    "FirstAdmin",
    "LoginRefused",
    "LoginThrottle",
    "PasswordChangeRequired",
    "Principal",
    "RefreshReused",
    "TokenCodec",
    "TokenPair",
    "allowed_scopes",
    "check_password",
    "ensure_first_admin",
    "hash_password",
    "require_scope",
    "valid_scopes",
    "verify_password",
]
