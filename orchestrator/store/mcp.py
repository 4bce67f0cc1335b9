"""The MCP hub's records in PostgreSQL: registered servers, tool approvals, credentials.

It implements `orchestrator.mcp.HubStore` with plain values; sealing and parsing happen
in the hub.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import Conflict
from orchestrator.store.schema import mcp_credentials, mcp_servers, mcp_tool_approvals

__all__ = ["SqlMCPStore"]


class SqlMCPStore:
    """`HubStore` on PostgreSQL, shared by every replica of the orchestrator."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load_servers(self) -> list[dict[str, Any]]:
        """Every registered server: `id`, `owner_id`, `name`, `config` (public) and `secrets`."""
        query = select(
            mcp_servers.c.id,
            mcp_servers.c.owner_id,
            mcp_servers.c.name,
            mcp_servers.c.config,
            mcp_servers.c.secrets,
        ).order_by(mcp_servers.c.created_at)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {
                "id": str(row.id),
                "owner_id": str(row.owner_id) if row.owner_id else None,
                "name": row.name,
                "config": row.config,
                "secrets": row.secrets,
            }
            for row in rows
        ]

    async def insert_server(
        self,
        owner_id: str | None,
        name: str,
        config: dict[str, Any],
        secrets: str | None,
        created_by: str | None,
        *,
        server_id: str | None = None,
    ) -> None:
        """Register a server of `owner_id` (None: shared with everyone), as `server_id` if given.

        Raises:
            Conflict: the owner (or everyone) already has a server of that name.
        """
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    mcp_servers.insert().values(
                        id=server_id or str(uuid.uuid4()),
                        owner_id=owner_id,
                        name=name,
                        config=config,
                        secrets=secrets,
                        created_by=created_by,
                    )
                )
        except IntegrityError as error:
            raise Conflict(f"There is already a server named {name!r}.") from error

    async def delete_server(self, owner_id: str | None, name: str) -> bool:
        """Forget a registered server; returns whether there was one."""
        owner = (
            mcp_servers.c.owner_id.is_(None)
            if owner_id is None
            else mcp_servers.c.owner_id == owner_id
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(mcp_servers).where(owner, mcp_servers.c.name == name)
            )
        return result.rowcount > 0

    async def update_server(self, owner_id: str | None, name: str, config: dict[str, Any]) -> bool:
        """Replace a registered server's public configuration (its secrets stay)."""
        owner = (
            mcp_servers.c.owner_id.is_(None)
            if owner_id is None
            else mcp_servers.c.owner_id == owner_id
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(mcp_servers).where(owner, mcp_servers.c.name == name).values(config=config)
            )
        return result.rowcount > 0

    async def load_approvals(self) -> dict[str, dict[str, str]]:
        """Approved tool fingerprints: server key, then tool name."""
        query = select(
            mcp_tool_approvals.c.server_key,
            mcp_tool_approvals.c.tool,
            mcp_tool_approvals.c.fingerprint,
        )
        approvals: dict[str, dict[str, str]] = {}
        async with self._engine.connect() as conn:
            for row in (await conn.execute(query)).all():
                approvals.setdefault(row.server_key, {})[row.tool] = row.fingerprint
        return approvals

    async def save_approval(
        self, server_key: str, tool: str, fingerprint: str, approved_by: str | None
    ) -> None:
        """Trust this version (`fingerprint`) of a server's tool; `approved_by` None: first seen."""
        statement = insert(mcp_tool_approvals).values(
            server_key=server_key, tool=tool, fingerprint=fingerprint, approved_by=approved_by
        )
        statement = statement.on_conflict_do_update(
            index_elements=["server_key", "tool"],
            set_={
                "fingerprint": statement.excluded.fingerprint,
                "approved_by": statement.excluded.approved_by,
                "approved_at": func.now(),
            },
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def load_credentials(self, user_id: str, server_key: str) -> str | None:
        """The user's sealed credentials for a server, if any."""
        query = select(mcp_credentials.c.sealed).where(
            mcp_credentials.c.user_id == user_id, mcp_credentials.c.server_key == server_key
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def save_credentials(self, user_id: str, server_key: str, sealed: str) -> None:
        """Keep the user's credentials for a server (already sealed), replacing older ones."""
        statement = insert(mcp_credentials).values(
            user_id=user_id, server_key=server_key, sealed=sealed
        )
        statement = statement.on_conflict_do_update(
            index_elements=["user_id", "server_key"],
            set_={"sealed": statement.excluded.sealed, "updated_at": func.now()},
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def delete_credentials(self, user_id: str, server_key: str) -> None:
        """Forget the user's credentials for a server (none: nothing to do)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(mcp_credentials).where(
                    mcp_credentials.c.user_id == user_id,
                    mcp_credentials.c.server_key == server_key,
                )
            )
