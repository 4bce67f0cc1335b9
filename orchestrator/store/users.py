"""Users, API keys and refresh tokens in PostgreSQL (sessions: `orchestrator.store.sessions`)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import Conflict, NotFound
from orchestrator.store.schema import api_keys, refresh_tokens, users
from orchestrator.store.schema_identity import sessions

__all__ = ["ApiKeyRecord", "SqlUserStore", "UserRecord"]


class UserRecord(BaseModel):
    """A user account as stored (`token_version` invalidates older access tokens)."""

    model_config = ConfigDict(frozen=True)

    id: str
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    password_hash: str | None = None
    token_version: int = 0
    name: str | None = None
    password_change_required: bool = False


class ApiKeyRecord(BaseModel):
    """An API key as listed to its owner: never the key itself, only its prefix."""

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    scopes: tuple[str, ...] = ("chat", "read")
    expires_at: datetime | None = None


def _user(row: Any) -> UserRecord:
    return UserRecord(
        id=str(row.id),
        email=row.email,
        is_admin=row.is_admin,
        is_active=row.is_active,
        created_at=row.created_at,
        password_hash=row.password_hash,
        token_version=row.token_version,
        name=row.name,
        password_change_required=row.password_change_required,
    )


def _key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=str(row.id),
        user_id=str(row.user_id),
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        scopes=tuple(row.scopes),
        expires_at=row.expires_at,
    )


class SqlUserStore:
    """Accounts, API keys (stored as hashes) and refresh tokens on PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        """The database engine (the session store shares it)."""
        return self._engine

    async def create_user(
        self, email: str, password_hash: str | None, *, is_admin: bool
    ) -> UserRecord:
        """A new account; the email is kept trimmed and in lower case.

        Raises:
            Conflict: the email is taken.
        """
        try:
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(
                        insert(users)
                        .values(
                            id=str(uuid.uuid4()),
                            email=email.strip().lower(),
                            password_hash=password_hash,
                            is_admin=is_admin,
                        )
                        .returning(users)
                    )
                ).one()
        except IntegrityError as error:
            raise Conflict(f"A user with the email {email!r} already exists.") from error
        return _user(row)

    async def update_account(
        self,
        user_id: str,
        *,
        is_active: bool | None = None,
        is_admin: bool | None = None,
        password_hash: str | None = None,
        password_change_required: bool | None = None,
    ) -> UserRecord:
        """Change what is given and retire every credential issued before.

        The token version is bumped (outstanding access tokens stop working), every live
        refresh token of the user is revoked and every session ended, in one transaction.
        With nothing given, this is "log out everywhere".

        The last active admin can be neither disabled nor demoted: someone must be able to
        administer the assistant. Concurrent changes are serialised on the admins' rows.

        Raises:
            NotFound: no such user.
            Conflict: the change would leave no active admin.
        """
        values: dict[str, Any] = {"token_version": users.c.token_version + 1}
        if is_active is not None:
            values["is_active"] = is_active
        if is_admin is not None:
            values["is_admin"] = is_admin
        if password_hash is not None:
            values["password_hash"] = password_hash
        if password_change_required is not None:
            values["password_change_required"] = password_change_required
        async with self._engine.begin() as conn:
            if is_active is False or is_admin is False:
                admins = (
                    await conn.execute(
                        select(users.c.id)
                        .where(users.c.is_admin, users.c.is_active)
                        .with_for_update()
                    )
                ).scalars()
                if set(map(str, admins)) == {user_id}:
                    raise Conflict(
                        "This is the last active admin: make another user an admin first."
                    )
            row = (
                await conn.execute(
                    update(users).where(users.c.id == user_id).values(**values).returning(users)
                )
            ).one_or_none()
            if row is None:
                raise NotFound("No such user.")
            await conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )
            await conn.execute(
                update(sessions)
                .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )
        return _user(row)

    async def set_password(self, user_id: str, password_hash: str) -> None:
        """Change the password (retiring every credential issued before).

        Raises:
            NotFound: no such user.
        """
        await self.update_account(user_id, password_hash=password_hash)

    async def by_email(self, email: str) -> UserRecord | None:
        """The account with this email (in any case), if any."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(users).where(users.c.email == email.strip().lower()))
            ).one_or_none()
        return _user(row) if row else None

    async def by_id(self, user_id: str) -> UserRecord | None:
        """The account with this id, if any."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).one_or_none()
        return _user(row) if row else None

    async def list_users(self) -> list[UserRecord]:
        """Every account, oldest first."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(select(users).order_by(users.c.created_at, users.c.email))
            ).all()
        return [_user(row) for row in rows]

    async def count(self) -> int:
        """How many accounts there are (none: the first one becomes an admin)."""
        async with self._engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(users))).scalar_one()

    async def create_api_key(
        self,
        user_id: str,
        name: str,
        prefix: str,
        key_hash: str,
        *,
        scopes: tuple[str, ...] = ("chat", "read"),
        expires_at: datetime | None = None,
    ) -> ApiKeyRecord:
        """Record a new key of the user by its hash; the key itself is never stored."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    insert(api_keys)
                    .values(
                        id=str(uuid.uuid4()),
                        user_id=user_id,
                        name=name,
                        prefix=prefix,
                        key_hash=key_hash,
                        scopes=list(scopes),
                        expires_at=expires_at,
                    )
                    .returning(api_keys)
                )
            ).one()
        return _key(row)

    async def list_api_keys(self, user_id: str) -> list[ApiKeyRecord]:
        """The user's keys, oldest first."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(api_keys)
                    .where(api_keys.c.user_id == user_id)
                    .order_by(api_keys.c.created_at)
                )
            ).all()
        return [_key(row) for row in rows]

    async def delete_api_key(self, user_id: str, key_id: str) -> str:
        """Delete the user's key; return its hash so caches can forget it.

        Raises:
            NotFound: the user has no such key.
        """
        async with self._engine.begin() as conn:
            key_hash = (
                await conn.execute(
                    delete(api_keys)
                    .where(api_keys.c.id == key_id, api_keys.c.user_id == user_id)
                    .returning(api_keys.c.key_hash)
                )
            ).scalar_one_or_none()
        if key_hash is None:
            raise NotFound("No such API key.")
        return key_hash

    async def key_and_owner(self, key_hash: str) -> tuple[ApiKeyRecord, UserRecord] | None:
        """The key with this hash and its owner (active or not), if the key exists."""
        async with self._engine.connect() as conn:
            key = (
                await conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash))
            ).one_or_none()
            if key is None:
                return None
            owner = (
                await conn.execute(select(users).where(users.c.id == key.user_id))
            ).one_or_none()
        return (_key(key), _user(owner)) if owner is not None else None

    async def stamp_key_used(self, key_id: str, *, every: timedelta) -> bool:
        """Set the key's `last_used_at` to now unless it was set less than `every` ago.

        The condition is in the UPDATE, so replicas racing on one key write it once.
        Returns whether this call wrote it.
        """
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    or_(
                        api_keys.c.last_used_at.is_(None),
                        api_keys.c.last_used_at < func.now() - every,
                    ),
                )
                .values(last_used_at=func.now())
            )
        return result.rowcount > 0

    async def save_refresh_token(
        self, jti: str, family: str, user_id: str, expires_at: datetime
    ) -> None:
        """Record a refresh token just issued (by its id), in its family of rotations."""
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(refresh_tokens).values(
                    jti=jti, family=family, user_id=user_id, expires_at=expires_at
                )
            )

    async def use_refresh_token(self, jti: str) -> tuple[str, str] | None:
        """Revoke a live refresh token and return (user_id, family).

        A token used twice means it leaked: the whole family is revoked and None returned.
        """
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(refresh_tokens).where(refresh_tokens.c.jti == jti).with_for_update()
                )
            ).one_or_none()
            if row is None:
                return None
            if row.revoked_at is not None or row.expires_at <= datetime.now(row.expires_at.tzinfo):
                await conn.execute(
                    update(refresh_tokens)
                    .where(
                        refresh_tokens.c.family == row.family, refresh_tokens.c.revoked_at.is_(None)
                    )
                    .values(revoked_at=func.now())
                )
                return None
            await conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.jti == jti)
                .values(revoked_at=func.now())
            )
        return str(row.user_id), str(row.family)
