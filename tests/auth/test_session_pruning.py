"""Ended and expired sessions are pruned at login, now and then, never too early."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.auth import AuthService, TokenCodec
from orchestrator.domain import Unauthorized
from orchestrator.store import SqlUserStore
from orchestrator.store.sessions import SqlSessionStore

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

PASSWORD = "a-long-password"


def _auth(engine: AsyncEngine, prune_every: float = 600.0) -> AuthService:
    codec = TokenCodec("p" * 32, access_minutes=15, refresh_days=1)
    return AuthService(
        SqlUserStore(engine), codec, sessions=SqlSessionStore(engine, prune_every=prune_every)
    )


async def _sql(engine: AsyncEngine, statement: str, **values: Any) -> list[Any]:
    async with engine.begin() as conn:
        result = await conn.execute(text(statement), values)
        return list(result.all()) if result.returns_rows else []


def _sid(access_token: str) -> str:
    return jwt.decode(access_token, options={"verify_signature": False})["sid"]


async def _exists(engine: AsyncEngine, sid: str) -> bool:
    return bool(await _sql(engine, "SELECT 1 FROM sessions WHERE id = :id", id=sid))


async def test_a_login_prunes_old_ended_and_expired_sessions_but_keeps_recent_ones(
    engine: AsyncEngine,
) -> None:
    auth = _auth(engine)
    email = f"prune-{uuid.uuid4().hex[:8]}@example.com"
    user = await auth.create_user(email, PASSWORD)
    old_ended, just_ended, expired, live = [await auth.login(email, PASSWORD) for _ in range(4)]
    await auth.logout(user.id, _sid(old_ended.access_token))
    await auth.logout(user.id, _sid(just_ended.access_token))
    await _sql(
        engine,
        "UPDATE sessions SET revoked_at = now() - interval '1 hour',"
        " created_at = now() - interval '2 hours' WHERE id = :id",
        id=_sid(old_ended.access_token),
    )
    await _sql(
        engine,
        "UPDATE sessions SET created_at = now() - interval '3 days' WHERE id = :id",
        id=_sid(expired.access_token),
    )
    await _sql(
        engine,
        "UPDATE refresh_tokens SET expires_at = now() - interval '2 days' WHERE family = :id",
        id=_sid(expired.access_token),
    )

    later = _auth(engine)  # another process: it has not pruned yet
    await later.login(email, PASSWORD)

    assert not await _exists(engine, _sid(old_ended.access_token))
    assert not await _exists(engine, _sid(expired.access_token))
    assert not await _sql(
        engine, "SELECT 1 FROM refresh_tokens WHERE family = :id", id=_sid(expired.access_token)
    )
    # Ended within the access tokens' lifetime: kept, and its access token still refused.
    assert await _exists(engine, _sid(just_ended.access_token))
    with pytest.raises(Unauthorized):
        await later.authenticate(just_ended.access_token)
    assert await _exists(engine, _sid(live.access_token))
    assert (await later.authenticate(live.access_token)).user_id == user.id
    assert [s.id for s in await later.sessions(user.id)][-1] == _sid(live.access_token)


async def test_a_process_prunes_at_most_once_per_period(engine: AsyncEngine) -> None:
    auth = _auth(engine)
    email = f"prune-{uuid.uuid4().hex[:8]}@example.com"
    user = await auth.create_user(email, PASSWORD)
    await auth.login(email, PASSWORD)  # this process's prune for the period
    ended = await auth.login(email, PASSWORD)
    await auth.logout(user.id, _sid(ended.access_token))
    await _sql(
        engine,
        "UPDATE sessions SET revoked_at = now() - interval '1 hour' WHERE id = :id",
        id=_sid(ended.access_token),
    )
    await auth.login(email, PASSWORD)
    assert await _exists(engine, _sid(ended.access_token))  # not yet: pruned a moment ago
    await _auth(engine, prune_every=0).login(email, PASSWORD)
    assert not await _exists(engine, _sid(ended.access_token))
