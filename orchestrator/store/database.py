"""The orchestrator's engine: `common.database`'s, with unstorable text as `InvalidInput`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from common import database
from common.database import EmbeddedPostgres, to_async_url
from orchestrator.domain import InvalidInput

__all__ = ["EmbeddedPostgres", "create_engine", "to_async_url"]


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine with a pool sized for one orchestrator process.

    Text the database cannot store (a NUL character) raises `InvalidInput` (a 422), not a
    database failure.
    """
    return database.create_engine(url, pool_size=pool_size, echo=echo, unstorable_text=InvalidInput)
