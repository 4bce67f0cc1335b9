"""Who is calling: passwords, tokens and API keys, turned into a `Principal`.

Each login starts a session (a row in `sessions`, whose id is its refresh-token family and
the `sid` of its access tokens). Logging out of one session ends its refresh tokens at once
and its access tokens within `recheck_seconds` on every replica (a session's state is cached
no longer than an account's); logging out everywhere bumps the token version.

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
from datetime import datetime

from orchestrator.auth.api_keys import KEY_PREFIX, KeyChecker, digest, new_key
from orchestrator.auth.passwords import check_password, hash_password, verify_password
from orchestrator.auth.principal import (
    LoginRefused,
    PasswordChangeRequired,
    Principal,
    RefreshReused,
)
from orchestrator.auth.scopes import DEFAULT_KEY_SCOPES, allowed_scopes, valid_scopes
from orchestrator.auth.throttle import LoginThrottle
from orchestrator.auth.tokens import TokenCodec, TokenPair
from orchestrator.domain import InvalidInput, LimitExceeded, NotFound, Unauthorized
from orchestrator.store import (
    ApiKeyRecord,
    SessionRecord,
    SqlSessionStore,
    SqlUserStore,
    UserRecord,
)

__all__ = ["AuthService"]

logger = logging.getLogger(__name__)

_CACHE_SIZE = 10_000


class AuthService:
    """Accounts and their credentials: users, logins, tokens, API keys; see the module."""

    def __init__(
        self,
        users: SqlUserStore,
        codec: TokenCodec,
        *,
        sessions: SqlSessionStore | None = None,
        throttle: LoginThrottle | None = None,
        verify_concurrency: int | None = None,
        verify_queue_seconds: float = 5.0,
        recheck_seconds: float = 5.0,
        key_stamp_every: float = 60.0,
    ) -> None:
        self._users = users
        self._codec = codec
        self._sessions = sessions or SqlSessionStore(users.engine)
        self._throttle = throttle
        self._verifying = asyncio.Semaphore(verify_concurrency or os.cpu_count() or 1)
        self._verify_queue = verify_queue_seconds
        self._recheck = recheck_seconds
        self._keys = KeyChecker(users, recheck_seconds=recheck_seconds, stamp_every=key_stamp_every)
        self._states: dict[str, tuple[UserRecord | None, float]] = {}
        self._live_sessions: dict[str, tuple[bool, float]] = {}

    @property
    def users(self) -> SqlUserStore:
        """The user store behind this service, for lookups that need no credential check."""
        return self._users

    async def create_user(
        self, email: str, password: str | None, *, is_admin: bool = False
    ) -> UserRecord:
        """A new account; with `password` None, one that cannot log in with a password.

        Raises:
            InvalidInput: the email is not an address, or the password breaks a rule.
            Conflict: a user with that email exists.
        """
        email = email.strip().lower()
        if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
            raise InvalidInput(f"{email!r} is not an email address.")
        password_hash = None
        if password is not None:
            check_password(password, email=email)
            password_hash = await hash_password(password)
        return await self._users.create_user(email, password_hash, is_admin=is_admin)

    async def login(
        self,
        email: str,
        password: str,
        *,
        address: str | None = None,
        user_agent: str | None = None,
        new_password: str | None = None,
    ) -> TokenPair:
        """Tokens for a right email and password, in a new session.

        With `new_password`, the password is changed first (the way to log in after an
        admin's reset, which requires it).

        Raises:
            Unauthorized: wrong email or password, or a disabled account (alike).
            PasswordChangeRequired: the password was reset by an admin and no
                `new_password` was given.
            InvalidInput: `new_password` breaks a rule or is the current one.
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
        if new_password is not None:
            user = await self._set_own_password(user, password, new_password)
        elif user.password_change_required:
            raise PasswordChangeRequired(
                "An admin reset your password: choose a new one to log in.",
                detail={"send": "new_password"},
            )
        return await self.start_session(
            user, via="password", address=address, user_agent=user_agent
        )

    async def _set_own_password(self, user: UserRecord, current: str, new: str) -> UserRecord:
        """Set a password the user chose (clearing a required change); sessions end.

        Raises:
            InvalidInput: the new password breaks a rule or is the current one.
        """
        if new == current:
            raise InvalidInput(
                "The new password must differ from the current one.", detail={"rule": "unchanged"}
            )
        check_password(new, email=user.email)
        updated = await self._users.update_account(
            user.id, password_hash=await hash_password(new), password_change_required=False
        )
        self._forget(user.id)
        return updated

    async def start_session(
        self,
        user: UserRecord,
        *,
        via: str,
        address: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair:
        """Tokens for a user whose identity was just proven (password or OIDC): a new session.

        Raises:
            Unauthorized: the account is disabled.
        """
        if not user.is_active:
            raise Unauthorized("The account is disabled.")
        pair, family = self._codec.issue(
            user_id=user.id, email=user.email, is_admin=user.is_admin, version=user.token_version
        )
        await self._sessions.prune_now_and_then(self._codec.access_lifetime)
        await self._sessions.start(family, user.id, via=via, address=address, user_agent=user_agent)
        await self._users.save_refresh_token(
            pair.refresh_jti, family, user.id, pair.refresh_expires_at
        )
        return pair

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
        return await self.start_session(user, via="local")

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

    async def _issue(self, user: UserRecord, family: str) -> TokenPair:
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
        or a token issued before the user's token version was bumped, or of an ended
        session, is refused.

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
        session_id = claims.get("sid")
        if isinstance(session_id, str) and not await self._session_live(session_id):
            raise Unauthorized("This session was logged out; log in again.")
        return Principal(
            user_id=user.id,
            email=user.email,
            is_admin=user.is_admin,
            via="token",
            scopes=allowed_scopes(user.is_admin),
            session_id=session_id if isinstance(session_id, str) else None,
        )

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

    async def _session_live(self, session_id: str) -> bool:
        """Whether the session is not ended, as stored at most `recheck_seconds` ago."""
        now = time.monotonic()
        cached = self._live_sessions.get(session_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        live = await self._sessions.is_live(session_id)
        if len(self._live_sessions) >= _CACHE_SIZE:
            self._live_sessions.clear()
        self._live_sessions[session_id] = (live, now + self._recheck)
        return live

    async def _authenticate_key(self, secret: str) -> Principal:
        key, owner = await self._keys.check(secret)
        if owner.id not in self._states:
            self._states[owner.id] = (owner, time.monotonic() + self._recheck)
        user = await self._state(owner.id)
        if user is None or not user.is_active:
            self._keys.forget(key_hash=digest(secret))
            raise Unauthorized("The account is disabled.")
        return Principal(
            user_id=user.id,
            email=user.email,
            is_admin=user.is_admin,
            via="api_key",
            scopes=frozenset(key.scopes) & allowed_scopes(user.is_admin),
            key_id=key.id,
        )

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
            InvalidInput: the password breaks a rule.
            NotFound: no such user.
        """
        password_hash = None
        if password is not None:
            current = await self._users.by_id(user_id)
            check_password(password, email=current.email if current else None)
            password_hash = await hash_password(password)
        user = await self._users.update_account(
            user_id, is_active=is_active, is_admin=is_admin, password_hash=password_hash
        )
        self._forget(user_id)
        return user

    async def reset_password(self, user_id: str, password: str | None = None) -> str:
        """An admin's reset; returns the temporary password.

        `password` (or a generated one) must be changed at the next login; every session of
        the user ends.

        Raises:
            InvalidInput: the given password breaks a rule.
            NotFound: no such user.
        """
        user = await self._users.by_id(user_id)
        if user is None:
            raise NotFound("No such user.")
        temporary = password or secrets.token_urlsafe(12)
        check_password(temporary, email=user.email)
        await self._users.update_account(
            user_id, password_hash=await hash_password(temporary), password_change_required=True
        )
        self._forget(user_id)
        return temporary

    async def logout(self, user_id: str, session_id: str) -> None:
        """End one of the user's sessions.

        Its refresh tokens stop at once, its access tokens at once here and within
        `recheck_seconds` on other replicas.

        Raises:
            NotFound: the user has no such live session.
        """
        await self._sessions.end(user_id, session_id)
        self._live_sessions[session_id] = (False, time.monotonic() + self._recheck)

    async def logout_everywhere(self, user_id: str) -> None:
        """End every session of the user (the token version is bumped).

        Raises:
            NotFound: no such user.
        """
        await self.update_account(user_id)

    async def sessions(self, user_id: str) -> list[SessionRecord]:
        """The user's sessions that are still live, most recently active first."""
        return await self._sessions.live(user_id)

    async def change_password(self, user_id: str, current: str, new: str) -> None:
        """A user's own password change; their other sessions end.

        Raises:
            Unauthorized: the current password is wrong.
            InvalidInput: the new one breaks a rule or is the current one.
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
        await self._set_own_password(user, current, new)

    def _forget(self, user_id: str) -> None:
        self._states.pop(user_id, None)
        self._keys.forget(user_id=user_id)
        self._live_sessions.clear()

    async def create_api_key(
        self,
        user_id: str,
        name: str,
        *,
        scopes: tuple[str, ...] | list[str] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKeyRecord, str]:
        """A new API key for the user: its record, and its secret, to show only once.

        `scopes` None gives `DEFAULT_KEY_SCOPES`.

        Raises:
            InvalidInput: an unknown scope, none, `admin` for a non-admin, or an expiry
                in the past.
            NotFound: no such user.
        """
        user = await self._users.by_id(user_id)
        if user is None:
            raise NotFound("No such user.")
        chosen = valid_scopes(
            DEFAULT_KEY_SCOPES if scopes is None else scopes, is_admin=user.is_admin
        )
        if expires_at is not None and expires_at <= datetime.now(expires_at.tzinfo):
            raise InvalidInput("The expiry must be in the future.")
        secret, prefix, key_hash = new_key()
        record = await self._users.create_api_key(
            user_id, name, prefix, key_hash, scopes=chosen, expires_at=expires_at
        )
        return record, secret

    async def delete_api_key(self, user_id: str, key_id: str) -> None:
        """Delete the user's key; it stops working at once on this replica.

        Raises:
            NotFound: the user has no such key.
        """
        key_hash = await self._users.delete_api_key(user_id, key_id)
        self._keys.forget(key_hash=key_hash)

    async def issue_session(
        self,
        user_id: str,
        *,
        via: str,
        address: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair:
        """Tokens for a user another credential proved (`via`: "oidc"): a new session.

        Raises:
            Unauthorized: no such user, or the account is disabled.
        """
        user = await self._users.by_id(user_id)
        if user is None or not user.is_active:
            raise Unauthorized("The account is disabled.")
        logger.info("session issued for %s via %s", user_id, via)
        return await self.start_session(user, via=via, address=address, user_agent=user_agent)
