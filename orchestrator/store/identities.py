"""Accounts at OIDC providers linked to users (`user_identities`), and users made for them."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import Conflict
from orchestrator.store.schema import users
from orchestrator.store.schema_identity import user_identities
from orchestrator.store.users import SqlUserStore, UserRecord

__all__ = ["SqlIdentityStore"]


class SqlIdentityStore:
    """Who (issuer, subject) is: the user an identity is linked to, on PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._users = SqlUserStore(engine)

    async def user_id_for(self, issuer: str, subject: str) -> str | None:
        """The user linked to the provider's identity, if any."""
        async with self._engine.connect() as conn:
            user_id = (
                await conn.execute(
                    select(user_identities.c.user_id).where(
                        user_identities.c.issuer == issuer, user_identities.c.subject == subject
                    )
                )
            ).scalar_one_or_none()
        return None if user_id is None else str(user_id)

    async def link(self, issuer: str, subject: str, user_id: str, email: str | None) -> None:
        """Link the identity to an existing user, stamping the login.

        Raises:
            Conflict: the identity is linked to another user already.
        """
        async with self._engine.begin() as conn:
            linked = (
                await conn.execute(
                    pg_insert(user_identities)
                    .values(
                        issuer=issuer,
                        subject=subject,
                        user_id=user_id,
                        email=email,
                        last_login_at=func.now(),
                    )
                    .on_conflict_do_nothing()
                    .returning(user_identities.c.user_id)
                )
            ).scalar_one_or_none()
        if linked is None and await self.user_id_for(issuer, subject) != user_id:
            raise Conflict("This provider account is linked to another user.")

    async def create_user(
        self, issuer: str, subject: str, *, email: str, name: str | None, is_admin: bool
    ) -> UserRecord:
        """A new user without a password, linked to the identity, in one transaction.

        Raises:
            Conflict: the email is taken, or the identity is linked already (a concurrent
                first login: look it up again).
        """
        user_id = str(uuid.uuid4())
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(users).values(
                        id=user_id,
                        email=email.strip().lower(),
                        name=name,
                        password_hash=None,
                        is_admin=is_admin,
                    )
                )
                await conn.execute(
                    insert(user_identities).values(
                        issuer=issuer,
                        subject=subject,
                        user_id=user_id,
                        email=email,
                        last_login_at=func.now(),
                    )
                )
        except IntegrityError as error:
            raise Conflict(f"A user with the email {email!r} already exists.") from error
        created = await self._users.by_id(user_id)
        assert created is not None  # just committed; users are never deleted in between here
        return created

    async def touch(self, issuer: str, subject: str, email: str | None) -> None:
        """Stamp a login of the identity, keeping the provider's latest email."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(user_identities)
                .where(user_identities.c.issuer == issuer, user_identities.c.subject == subject)
                .values(email=email, last_login_at=func.now())
            )

    async def fill_name(self, user_id: str, name: str) -> None:
        """Give the user the provider's name, unless they have one already."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(users).where(users.c.id == user_id, users.c.name.is_(None)).values(name=name)
            )

    async def name_of(self, user_id: str) -> str | None:
        """The user's display name, if any."""
        async with self._engine.connect() as conn:
            return (
                await conn.execute(select(users.c.name).where(users.c.id == user_id))
            ).scalar_one_or_none()
