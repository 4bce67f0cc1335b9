"""Login sessions in PostgreSQL: one row per login, whose id is its refresh-token family.

A session ends when its user logs out of it, ends it from another session, logs out
everywhere, changes their password or is disabled. Ending it revokes its refresh tokens in
the same transaction; its access tokens carry its id (`sid`), and `AuthService` refuses
those of an ended session.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import NotFound
from orchestrator.store.schema import refresh_tokens
from orchestrator.store.schema_identity import sessions

__all__ = ["PRUNE_EVERY_SECONDS", "SessionRecord", "SqlSessionStore"]

logger = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 600.0
"""How often (at most, per process) logins prune ended and expired sessions."""


class SessionRecord(BaseModel):
    """A login session as its user sees it."""

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str
    via: str
    address: str | None
    user_agent: str | None
    created_at: datetime
    last_active_at: datetime | None = None


def _session(row: Any) -> SessionRecord:
    return SessionRecord(
        id=str(row.id),
        user_id=str(row.user_id),
        via=row.via,
        address=row.address,
        user_agent=row.user_agent,
        created_at=row.created_at,
        last_active_at=row.last_active_at,
    )


class SqlSessionStore:
    """Sessions: started at login, listed, ended one by one, pruned now and then."""

    def __init__(self, engine: AsyncEngine, *, prune_every: float = PRUNE_EVERY_SECONDS) -> None:
        self._engine = engine
        self._prune_every = prune_every
        self._next_prune = 0.0

    async def prune(self, keep: timedelta) -> int:
        """Delete sessions ended, or whose refresh tokens all expired, more than `keep` ago.

        Refresh tokens expired more than `keep` ago go too. `keep` is the access tokens'
        lifetime: until then an ended session's row still refuses its access tokens (a
        missing row refuses them as well). Returns how many sessions were deleted.
        """
        cutoff = func.now() - keep
        alive = exists().where(
            refresh_tokens.c.family == sessions.c.id, refresh_tokens.c.expires_at > cutoff
        )
        async with self._engine.begin() as conn:
            gone = await conn.execute(
                delete(sessions).where(
                    (sessions.c.revoked_at < cutoff) | ((sessions.c.created_at < cutoff) & ~alive)
                )
            )
            await conn.execute(delete(refresh_tokens).where(refresh_tokens.c.expires_at < cutoff))
        return gone.rowcount

    async def prune_now_and_then(self, keep: timedelta) -> None:
        """`prune(keep)` if this process has not in the last `prune_every` seconds.

        Called at login; a failure is logged, never the login's.
        """
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + self._prune_every
        try:
            pruned = await self.prune(keep)
        except SQLAlchemyError:
            logger.warning(
                "Pruning ended sessions failed; next try at a later login.", exc_info=True
            )
            return
        if pruned:
            logger.info("Pruned %d ended or expired sessions.", pruned)

    async def start(
        self,
        session_id: str,
        user_id: str,
        *,
        via: str,
        address: str | None,
        user_agent: str | None,
    ) -> None:
        """Record a new session (its id is the family of the refresh tokens it will hold)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(sessions).values(
                    id=session_id,
                    user_id=user_id,
                    via=via,
                    address=address,
                    user_agent=(user_agent or None) and user_agent[:512],
                )
            )

    async def is_live(self, session_id: str) -> bool:
        """Whether the session exists and has not been ended."""
        async with self._engine.connect() as conn:
            revoked = (
                await conn.execute(select(sessions.c.revoked_at).where(sessions.c.id == session_id))
            ).one_or_none()
        return revoked is not None and revoked.revoked_at is None

    async def live(self, user_id: str) -> list[SessionRecord]:
        """The user's usable sessions (not ended, a refresh token alive), latest first."""
        live_token = and_(
            refresh_tokens.c.family == sessions.c.id,
            refresh_tokens.c.revoked_at.is_(None),
            refresh_tokens.c.expires_at > func.now(),
        )
        last_active = (
            select(func.max(refresh_tokens.c.created_at))
            .where(refresh_tokens.c.family == sessions.c.id)
            .scalar_subquery()
        )
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(sessions, last_active.label("last_active_at"))
                    .where(
                        sessions.c.user_id == user_id,
                        sessions.c.revoked_at.is_(None),
                        exists().where(live_token),
                    )
                    .order_by(last_active.desc(), sessions.c.created_at.desc())
                )
            ).all()
        return [_session(row) for row in rows]

    async def end(self, user_id: str, session_id: str) -> None:
        """End one of the user's sessions and revoke its refresh tokens.

        Raises:
            NotFound: the user has no such live session.
        """
        async with self._engine.begin() as conn:
            ended = (
                await conn.execute(
                    update(sessions)
                    .where(
                        sessions.c.id == session_id,
                        sessions.c.user_id == user_id,
                        sessions.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=func.now())
                    .returning(sessions.c.id)
                )
            ).scalar_one_or_none()
            if ended is None:
                raise NotFound("No such session.")
            await conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.family == session_id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )
