"""Who is calling: passwords, tokens and API keys, turned into a `Principal`.

Every request's credential is checked against the account as it is now, not only as it was
when the token was issued: the user's state (active, admin, token version) is read from the
database and kept for `recheck_seconds` (5 by default). So a disabled or demoted user, a
changed password or "log out everywhere" stops every access token and API key within that
bound on every replica, and at once on the replica that made the change.

Logins are bounded twice: `LoginThrottle` counts failures per account and per address (a
throttled attempt never reaches argon2), and at most `verify_concurrency` password checks
run at once; the others wait up to `verify_queue_seconds`, then get 429.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from orchestrator.auth.api_keys import KEY_PREFIX, digest, new_key
from orchestrator.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from orchestrator.auth.throttle import LoginThrottle
from orchestrator.auth.tokens import TokenCodec, TokenPair
from orchestrator.domain import InvalidInput, LimitExceeded, Unauthorized
from orchestrator.store import ApiKeyRecord, SqlUserStore, UserRecord

__all__ = ["AuthService", "FirstAdmin", "LoginRefused", "Principal", "RefreshReused"]

logger = logging.getLogger(__name__)

_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller; `via` is the credential used ("token" or "api_key")."""

    user_id: str
    email: str
    is_admin: bool
    via: str


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


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    """The admin account created on first start.

    `password` and `password_file` are set only for a generated password (then written to that
    file); None when the operator chose it.
    """

    email: str
    password: str | None
    password_file: Path | None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


class AuthService:
    """Accounts and their credentials: users, logins, tokens, API keys; see the module."""

    def __init__(
        self,
        users: SqlUserStore,
        codec: TokenCodec,
        *,
        throttle: LoginThrottle | None = None,
        verify_concurrency: int | None = None,
        verify_queue_seconds: float = 5.0,
        recheck_seconds: float = 5.0,
    ) -> None:
        self._users = users
        self._codec = codec
        self._throttle = throttle
        self._verifying = asyncio.Semaphore(verify_concurrency or os.cpu_count() or 1)
        self._verify_queue = verify_queue_seconds
        self._recheck = recheck_seconds
        self._keys: dict[str, tuple[str, float]] = {}
        self._states: dict[str, tuple[UserRecord | None, float]] = {}

    @property
    def users(self) -> SqlUserStore:
        """The user store behind this service, for lookups that need no credential check."""
        return self._users

    async def create_user(
        self, email: str, password: str | None, *, is_admin: bool = False
    ) -> UserRecord:
        """A new account; with `password` None, one that cannot log in with a password.

        Raises:
            InvalidInput: the email is not an address, or the password is too short.
            Conflict: a user with that email exists.
        """
        email = email.strip().lower()
        if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
            raise InvalidInput(f"{email!r} is not an email address.")
        password_hash = None
        if password is not None:
            if len(password) < MIN_PASSWORD_LENGTH:
                raise InvalidInput(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
            password_hash = await hash_password(password)
        return await self._users.create_user(email, password_hash, is_admin=is_admin)

    async def login(self, email: str, password: str, *, address: str | None = None) -> TokenPair:
        """Tokens for a right email and password.

        Raises:
            Unauthorized: wrong email or password, or a disabled account (alike).
            LimitExceeded: too many failures for the account or the address, or too many
                logins being checked at once.
        """
        attempt = self._throttle.reserve(email, address) if self._throttle else None
        try:
            user = await self._users.by_email(email)
            valid = await self._verify(user.password_hash if user else None, password)
        except BaseException:
            if attempt is not None:
                attempt.succeeded()  # not the caller's failure: give the attempt back
            raise
        if user is None or not valid or not user.is_active:
            if attempt is not None:
                hold = attempt.failed()
                if hold > 0:
                    await asyncio.sleep(hold)
            reason = "unknown_account" if user is None else "bad_credentials"
            raise LoginRefused(
                "disabled" if valid and user is not None else reason, user.id if user else None
            )
        if attempt is not None:
            attempt.succeeded()
        return await self._issue(user)

    async def _verify(self, password_hash: str | None, password: str) -> bool:
        """One argon2 check, at most `verify_concurrency` at once.

        Raises:
            LimitExceeded: no slot became free within `verify_queue_seconds`.
        """
        try:
            async with asyncio.timeout(self._verify_queue):
                await self._verifying.acquire()
        except TimeoutError:
            raise LimitExceeded(
                "Too many logins are being checked right now; try again shortly.",
                retry_after=1,
                detail={"limit": "concurrent password checks", "retry_after": 1},
            ) from None
        try:
            return await verify_password(password_hash, password)
        finally:
            self._verifying.release()

    async def session_for(self, email: str) -> TokenPair:
        """Tokens for a user, without a password.

        Only for a process that already holds this server's database and secret (the
        terminal client running the app in-process).

        Raises:
            Unauthorized: no such user, or the account is disabled.
        """
        user = await self._users.by_email(email.strip().lower())
        if user is None or not user.is_active:
            raise Unauthorized(f"No active user {email}.")
        return await self._issue(user)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new token pair for a refresh token, which is used up (rotation).

        Raises:
            Unauthorized: the token is invalid, revoked or already used, or the account is disabled.
        """
        claims = self._codec.decode(refresh_token, kind="refresh")
        used = await self._users.use_refresh_token(str(claims.get("jti")))
        if used is None:
            raise RefreshReused(str(claims["sub"]) if claims.get("sub") else None)
        user_id, family = used
        user = await self._users.by_id(user_id)
        if user is None or not user.is_active:
            raise Unauthorized("The account is disabled.")
        return await self._issue(user, family=family)

    async def _issue(self, user: UserRecord, family: str | None = None) -> TokenPair:
        pair, family = self._codec.issue(
            user_id=user.id,
            email=user.email,
            is_admin=user.is_admin,
            version=user.token_version,
            family=family,
        )
        await self._users.save_refresh_token(
            pair.refresh_jti, family, user.id, pair.refresh_expires_at
        )
        return pair

    async def authenticate(self, credential: str) -> Principal:
        """The principal behind a bearer credential: an access token or an API key.

        The account is checked as it is now (within `recheck_seconds`): disabled, deleted,
        or a token issued before the user's token version was bumped, is refused.

        Raises:
            Unauthorized: unknown, revoked, expired or malformed; or the account is disabled.
        """
        if credential.startswith(KEY_PREFIX):
            return await self._authenticate_key(credential)
        claims = self._codec.decode(credential, kind="access")
        user = await self._state(str(claims["sub"]))
        if user is None or not user.is_active:
            raise Unauthorized("The account is disabled.")
        if claims.get("ver", 0) != user.token_version:
            raise Unauthorized("The token was revoked; log in again.")
        return Principal(user_id=user.id, email=user.email, is_admin=user.is_admin, via="token")

    async def _state(self, user_id: str) -> UserRecord | None:
        """The account as stored, at most `recheck_seconds` old."""
        now = time.monotonic()
        cached = self._states.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        user = await self._users.by_id(user_id)
        if len(self._states) >= _CACHE_SIZE:
            self._states.clear()
        self._states[user_id] = (user, now + self._recheck)
        return user

    async def _authenticate_key(self, secret: str) -> Principal:
        key_hash = digest(secret)
        cached = self._keys.get(key_hash)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            user = await self._state(cached[0])
        else:
            user = await self._users.user_for_key(key_hash)
            if user is None:
                self._keys.pop(key_hash, None)
                raise Unauthorized("The API key is not valid.")
            if len(self._keys) >= _CACHE_SIZE:
                self._keys.clear()
            self._keys[key_hash] = (user.id, now + self._recheck)
            self._states[user.id] = (user, now + self._recheck)
        if user is None or not user.is_active:
            self._keys.pop(key_hash, None)
            raise Unauthorized("The account is disabled.")
        return Principal(user_id=user.id, email=user.email, is_admin=user.is_admin, via="api_key")

    async def update_account(
        self,
        user_id: str,
        *,
        is_active: bool | None = None,
        is_admin: bool | None = None,
        password: str | None = None,
    ) -> UserRecord:
        """Disable or enable, promote or demote, or set a new password.

        With nothing given, log out everywhere. Every access token, refresh token and cached
        API key check of the user is retired (at once here, within `recheck_seconds` on
        other replicas).

        Raises:
            InvalidInput: the password is too short.
            NotFound: no such user.
        """
        password_hash = None
        if password is not None:
            if len(password) < MIN_PASSWORD_LENGTH:
                raise InvalidInput(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
            password_hash = await hash_password(password)
        user = await self._users.update_account(
            user_id, is_active=is_active, is_admin=is_admin, password_hash=password_hash
        )
        self._forget(user_id)
        return user

    async def change_password(self, user_id: str, current: str, new: str) -> None:
        """A user's own password change; their other sessions end.

        Raises:
            Unauthorized: the current password is wrong.
            InvalidInput: the new one is too short.
            LimitExceeded: too many wrong current passwords.
        """
        user = await self._users.by_id(user_id)
        if user is None:
            raise Unauthorized("The account no longer exists.")
        attempt = self._throttle.reserve(user.email, None) if self._throttle else None
        if not await self._verify(user.password_hash, current):
            if attempt is not None:
                attempt.failed()
            raise Unauthorized("The current password is wrong.")
        if attempt is not None:
            attempt.succeeded()
        await self.update_account(user_id, password=new)

    def _forget(self, user_id: str) -> None:
        self._states.pop(user_id, None)
        for key_hash in [key for key, (owner, _) in self._keys.items() if owner == user_id]:
            self._keys.pop(key_hash, None)

    async def create_api_key(self, user_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        """A new API key for the user: its record, and its secret, to show only once."""
        secret, prefix, key_hash = new_key()
        record = await self._users.create_api_key(user_id, name, prefix, key_hash)
        return record, secret

    async def delete_api_key(self, user_id: str, key_id: str) -> None:
        """Delete the user's key; it stops working at once on this replica.

        Raises:
            NotFound: the user has no such key.
        """
        key_hash = await self._users.delete_api_key(user_id, key_id)
        self._keys.pop(key_hash, None)

    async def ensure_first_admin(
        self, data_dir: Path, *, email: str | None, password: str | None
    ) -> FirstAdmin | None:
        """Create the first admin when there are no users; None when users exist.

        With `email` and `password` (ASSISTANT_ADMIN_EMAIL / _PASSWORD) those are used.
        Otherwise the admin is `admin@localhost` with a random password, written to a file
        only the owner can read, so that it is shown once and never lost.
        """
        if await self._users.count() > 0:
            return None
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        email = email or "admin@localhost"
        await self.create_user(email, password, is_admin=True)
        if not generated:
            return FirstAdmin(email=email, password=None, password_file=None)
        path = data_dir / "initial-admin-password"
        await asyncio.to_thread(_write_private, path, f"{email}\n{password}\n")
        logger.info("Created the first admin %s; password in %s", email, path)
        return FirstAdmin(email=email, password=password, password_file=path)

    async def issue_session(self, user_id: str, *, via: str) -> TokenPair:
        """Tokens for a user another credential proved (`via`: "oidc"), without a password.

        Raises:
            Unauthorized: no such user, or the account is disabled.
        """
        user = await self._users.by_id(user_id)
        if user is None or not user.is_active:
            raise Unauthorized("The account is disabled.")
        logger.info("session issued for %s via %s", user_id, via)
        return await self._issue(user)
