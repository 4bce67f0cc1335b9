"""Who a request is from (`Principal`), and the refusal of a login that must change its password."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.domain import Forbidden

__all__ = ["PasswordChangeRequired", "Principal"]


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
