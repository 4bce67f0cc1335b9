"""Who a request is from (`Principal`), and the ways a login or refresh is refused."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.domain import Forbidden, Unauthorized

__all__ = ["LoginRefused", "PasswordChangeRequired", "Principal", "RefreshReused"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller.

    `via` is the credential used ("token" or "api_key"); `scopes` what it may do (see
    `orchestrator.auth.scopes`); `session_id` the login session of a token, `key_id` the key.
    """

    user_id: str
    email: str
    is_admin: bool
    via: str
    scopes: frozenset[str] = frozenset()
    session_id: str | None = None
    key_id: str | None = None


class PasswordChangeRequired(Forbidden):
    """The password was reset by an admin: the user must choose a new one to log in (403)."""

    code = "password_change_required"


class LoginRefused(Unauthorized):
    """A wrong email or password, or a disabled account: one answer to the caller.

    `reason` (unknown_account, bad_credentials, disabled) is for the audit log only.
    """

    def __init__(self, reason: str, user_id: str | None = None) -> None:
        super().__init__("Wrong email or password.")
        self.reason = reason
        self.user_id = user_id


class RefreshReused(Unauthorized):
    """A refresh token used again, or after its revocation: its whole family is revoked."""

    def __init__(self, user_id: str | None) -> None:
        super().__init__("The refresh token was revoked or already used; log in again.")
        self.user_id = user_id
