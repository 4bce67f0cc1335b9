"""Who is calling: passwords, tokens and API keys, turned into a `Principal`."""

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
from orchestrator.auth.tokens import TokenCodec, TokenPair
from orchestrator.domain import InvalidInput, Unauthorized
from orchestrator.store import ApiKeyRecord, SqlUserStore, UserRecord

__all__ = ["AuthService", "FirstAdmin", "Principal"]

logger = logging.getLogger(__name__)

_KEY_CACHE_SECONDS = 30.0
_KEY_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    email: str
    is_admin: bool
    via: str


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    email: str
    password: str | None
    password_file: Path | None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


class AuthService:
    def __init__(self, users: SqlUserStore, codec: TokenCodec) -> None:
        self._users = users
        self._codec = codec
        self._keys: dict[str, tuple[Principal, float]] = {}

    @property
    def users(self) -> SqlUserStore:
        return self._users

    async def create_user(
        self, email: str, password: str | None, *, is_admin: bool = False
    ) -> UserRecord:
        """Raises InvalidInput for a bad email or short password, Conflict if taken."""
        email = email.strip().lower()
        if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
            raise InvalidInput(f"{email!r} is not an email address.")
        password_hash = None
        if password is not None:
            if len(password) < MIN_PASSWORD_LENGTH:
                raise InvalidInput(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
            password_hash = await hash_password(password)
        return await self._users.create_user(email, password_hash, is_admin=is_admin)

    async def login(self, email: str, password: str) -> TokenPair:
        user = await self._users.by_email(email)
        valid = await verify_password(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            raise Unauthorized("Wrong email or password.")
        return await self._issue(user)

    async def session_for(self, email: str) -> TokenPair:
        """Tokens for a user, without a password: only for a process that already holds this
        server's database and secret (the terminal client running the app in-process).

        Raises:
            Unauthorized: no such user, or the account is disabled.
        """
        user = await self._users.by_email(email.strip().lower())
        if user is None or not user.is_active:
            raise Unauthorized(f"No active user {email}.")
        return await self._issue(user)

    async def refresh(self, refresh_token: str) -> TokenPair:
        claims = self._codec.decode(refresh_token, kind="refresh")
        used = await self._users.use_refresh_token(str(claims.get("jti")))
        if used is None:
            raise Unauthorized("The refresh token was revoked or already used; log in again.")
        user_id, family = used
        user = await self._users.by_id(user_id)
        if user is None or not user.is_active:
            raise Unauthorized("The account is disabled.")
        return await self._issue(user, family=family)

    async def _issue(self, user: UserRecord, family: str | None = None) -> TokenPair:
        pair, family = self._codec.issue(
            user_id=user.id, email=user.email, is_admin=user.is_admin, family=family
        )
        await self._users.save_refresh_token(
            pair.refresh_jti, family, user.id, pair.refresh_expires_at
        )
        return pair

    async def authenticate(self, credential: str) -> Principal:
        """The principal behind a bearer credential: an access token or an API key.

        Raises:
            Unauthorized: unknown, revoked, expired or malformed.
        """
        if credential.startswith(KEY_PREFIX):
            return await self._authenticate_key(credential)
        claims = self._codec.decode(credential, kind="access")
        return Principal(
            user_id=str(claims["sub"]),
            email=str(claims.get("email", "")),
            is_admin=bool(claims.get("adm", False)),
            via="token",
        )

    async def _authenticate_key(self, secret: str) -> Principal:
        key_hash = digest(secret)
        cached = self._keys.get(key_hash)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        user = await self._users.user_for_key(key_hash)
        if user is None:
            self._keys.pop(key_hash, None)
            raise Unauthorized("The API key is not valid.")
        principal = Principal(
            user_id=user.id, email=user.email, is_admin=user.is_admin, via="api_key"
        )
        if len(self._keys) >= _KEY_CACHE_SIZE:
            self._keys.clear()
        self._keys[key_hash] = (principal, now + _KEY_CACHE_SECONDS)
        return principal

    async def create_api_key(self, user_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        secret, prefix, key_hash = new_key()
        record = await self._users.create_api_key(user_id, name, prefix, key_hash)
        return record, secret

    async def delete_api_key(self, user_id: str, key_id: str) -> None:
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
