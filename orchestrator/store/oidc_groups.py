"""Group memberships that follow an OIDC provider's groups claim.

Only groups whose `source` is "oidc" are managed here: a login creates the claimed groups
that are missing (as "oidc" groups), adds the user to those claimed and removes them from
the "oidc" groups no longer claimed. Local groups, and memberships an admin gave in them,
are never touched, even when a claimed name matches one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.store.schema_identity import group_members, groups

__all__ = ["OIDC_SOURCE", "SqlOIDCGroups"]

logger = logging.getLogger(__name__)

OIDC_SOURCE = "oidc"


class SqlOIDCGroups:
    """Keeps a user's "oidc" group memberships in step with the provider's claim."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def sync(self, user_id: str, names: Sequence[str]) -> list[str]:
        """Make the user's "oidc" groups exactly `names`; return the names they are now in."""
        wanted = sorted(set(names))
        async with self._engine.begin() as conn:
            if wanted:
                await conn.execute(
                    pg_insert(groups)
                    .values(
                        [
                            {
                                "id": str(uuid.uuid4()),
                                "name": name,
                                "source": OIDC_SOURCE,
                                "description": "From the login provider's groups claim.",
                            }
                            for name in wanted
                        ]
                    )
                    .on_conflict_do_nothing(index_elements=[groups.c.name])
                )
            rows = (
                await conn.execute(
                    select(groups.c.id, groups.c.name, groups.c.source).where(
                        groups.c.name.in_(wanted)
                    )
                )
            ).all()
            managed = {str(row.id): row.name for row in rows if row.source == OIDC_SOURCE}
            local = sorted(row.name for row in rows if row.source != OIDC_SOURCE)
            if local:
                logger.info("groups claim names local groups, left alone: %s", local)
            stale = select(groups.c.id).where(
                groups.c.source == OIDC_SOURCE, groups.c.id.not_in(list(managed))
            )
            await conn.execute(
                delete(group_members).where(
                    group_members.c.user_id == user_id, group_members.c.group_id.in_(stale)
                )
            )
            if managed:
                await conn.execute(
                    pg_insert(group_members)
                    .values([{"group_id": gid, "user_id": user_id} for gid in managed])
                    .on_conflict_do_nothing()
                )
        return sorted(managed.values())
