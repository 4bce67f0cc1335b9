"""The tools each user always allows (the "Always allow" answer to an approval)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import NotFound
from orchestrator.store.schema import tool_grants

__all__ = ["SqlToolGrants", "ToolGrant"]


class ToolGrant(BaseModel):
    """A tool the user always allows, and since when."""

    model_config = ConfigDict(frozen=True)

    tool: str
    created_at: datetime


class SqlToolGrants:
    """The `tool_grants` table: per user, the tools called without asking."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list(self, user_id: str) -> list[ToolGrant]:
        """The tools the user always allows, by name."""
        query = (
            select(tool_grants.c.tool, tool_grants.c.created_at)
            .where(tool_grants.c.user_id == user_id)
            .order_by(tool_grants.c.tool)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [ToolGrant(tool=row.tool, created_at=row.created_at) for row in rows]

    async def add(self, user_id: str, tool: str) -> None:
        """Always allow `tool` for the user (already allowed: nothing changes)."""
        statement = insert(tool_grants).values(user_id=user_id, tool=tool)
        async with self._engine.begin() as connection:
            await connection.execute(statement.on_conflict_do_nothing())

    async def remove(self, user_id: str, tool: str) -> None:
        """Ask again before calls to `tool`.

        Raises:
            NotFound: the user does not always allow that tool.
        """
        statement = delete(tool_grants).where(
            tool_grants.c.user_id == user_id, tool_grants.c.tool == tool
        )
        async with self._engine.begin() as connection:
            deleted = (await connection.execute(statement)).rowcount
        if not deleted:
            raise NotFound(f"You do not always allow {tool!r}.")
