"""Groups in PostgreSQL: members, tool rules, model lists, the shared servers they may see.

`access(user_id)` is what the hot path reads (every run, tool listing and completion): a
user's groups folded into one `Access`, kept for `recheck_seconds` (5 by default, as
`AuthService` keeps an account) and forgotten at once in this process on any change made
through this store. Other replicas see a change within `recheck_seconds`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orchestrator.domain import Access, Conflict, GroupPolicy, NotFound, ToolRule
from orchestrator.store.schema import mcp_servers, users
from orchestrator.store.schema_identity import (
    group_members,
    group_tool_policies,
    groups,
    mcp_server_groups,
)

__all__ = ["UNCHANGED", "GroupMember", "GroupRecord", "SqlGroupStore"]

UNCHANGED: Any = object()
"""`update(models=UNCHANGED)`: leave the model list as it is (None means "any model")."""


class GroupMember(BaseModel):
    """A member of a group."""

    model_config = ConfigDict(frozen=True)

    id: str
    email: str


class GroupRecord(BaseModel):
    """A group as stored, with its members, tool rules and the shared servers it sees."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    description: str
    models: list[str] | None
    source: str
    created_at: datetime
    members: list[GroupMember] = []
    rules: list[ToolRule] = []
    servers: list[str] = []


class SqlGroupStore:
    """Groups and what they govern, on PostgreSQL; the `AccessPolicies` of the core."""

    def __init__(self, engine: AsyncEngine, *, recheck_seconds: float = 5.0) -> None:
        self._engine = engine
        self._recheck = recheck_seconds
        self._access: dict[str, tuple[Access, float]] = {}

    def forget(self) -> None:
        """Drop every cached `Access` (after a change, here or by another writer)."""
        self._access.clear()

    # -- what applies to a user ----------------------------------------------------------

    async def access(self, user_id: str) -> Access:
        """What the user's groups allow them, at most `recheck_seconds` old."""
        now = time.monotonic()
        cached = self._access.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._engine.connect() as conn:
            found = await self._load_access(conn, user_id)
        self._access[user_id] = (found, now + self._recheck)
        return found

    async def _load_access(self, conn: AsyncConnection, user_id: str) -> Access:
        rows = (
            await conn.execute(
                select(groups.c.id, groups.c.name, groups.c.models)
                .join(group_members, group_members.c.group_id == groups.c.id)
                .where(group_members.c.user_id == user_id)
                .order_by(groups.c.name)
            )
        ).all()
        ids = [row.id for row in rows]
        names = {row.id: row.name for row in rows}
        models: set[str] | None = None
        if rows and all(row.models is not None for row in rows):
            models = {model for row in rows for model in row.models}
        rules: list[ToolRule] = []
        if ids:
            policy_rows = await conn.execute(
                select(group_tool_policies).where(group_tool_policies.c.group_id.in_(ids))
            )
            rules = [
                ToolRule(
                    server=row.server,
                    tool=row.tool,
                    policy=GroupPolicy(row.policy),
                    group=names[row.group_id],
                )
                for row in policy_rows
            ]
        is_admin = (
            await conn.execute(select(users.c.is_admin).where(users.c.id == user_id))
        ).scalar_one_or_none()
        hidden: set[str] = set()
        if not is_admin:
            limited = (
                await conn.execute(
                    select(mcp_servers.c.name, mcp_server_groups.c.group_id)
                    .join(mcp_server_groups, mcp_server_groups.c.server_id == mcp_servers.c.id)
                    .where(mcp_servers.c.owner_id.is_(None))
                )
            ).all()
            audiences: dict[str, set[str]] = {}
            for row in limited:
                audiences.setdefault(row.name, set()).add(row.group_id)
            hidden = {name for name, audience in audiences.items() if not audience & set(ids)}
        return Access(
            groups=tuple(names[i] for i in ids),
            rules=tuple(rules),
            models=frozenset(models) if models is not None else None,
            hidden_servers=frozenset(hidden),
        )

    # -- groups ----------------------------------------------------------------------------

    async def list_groups(self) -> list[GroupRecord]:
        """Every group, by name, with its members, rules and servers."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(groups).order_by(groups.c.name))).all()
            return await self._records(conn, rows)

    async def get(self, group_id: str) -> GroupRecord:
        """One group.

        Raises:
            NotFound: no such group.
        """
        async with self._engine.connect() as conn:
            return await self._get(conn, group_id)

    async def by_name(self, name: str) -> GroupRecord:
        """The group of that name.

        Raises:
            NotFound: no group of that name.
        """
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(groups).where(groups.c.name == name))).one_or_none()
            if row is None:
                raise NotFound(f"No group named {name!r}.")
            return (await self._records(conn, [row]))[0]

    async def _get(self, conn: AsyncConnection, group_id: str) -> GroupRecord:
        row = (await conn.execute(select(groups).where(groups.c.id == group_id))).one_or_none()
        if row is None:
            raise NotFound("No such group.")
        return (await self._records(conn, [row]))[0]

    async def _records(self, conn: AsyncConnection, rows: Sequence[Any]) -> list[GroupRecord]:
        ids = [row.id for row in rows]
        members: dict[str, list[GroupMember]] = {i: [] for i in ids}
        rules: dict[str, list[ToolRule]] = {i: [] for i in ids}
        servers: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            for row in await conn.execute(
                select(group_members.c.group_id, users.c.id, users.c.email)
                .join(users, users.c.id == group_members.c.user_id)
                .where(group_members.c.group_id.in_(ids))
                .order_by(users.c.email)
            ):
                members[row.group_id].append(GroupMember(id=str(row.id), email=row.email))
            for row in await conn.execute(
                select(group_tool_policies)
                .where(group_tool_policies.c.group_id.in_(ids))
                .order_by(group_tool_policies.c.server, group_tool_policies.c.tool)
            ):
                rules[row.group_id].append(
                    ToolRule(server=row.server, tool=row.tool, policy=GroupPolicy(row.policy))
                )
            for row in await conn.execute(
                select(mcp_server_groups.c.group_id, mcp_servers.c.name)
                .join(mcp_servers, mcp_servers.c.id == mcp_server_groups.c.server_id)
                .where(mcp_server_groups.c.group_id.in_(ids))
                .order_by(mcp_servers.c.name)
            ):
                servers[row.group_id].append(row.name)
        return [
            GroupRecord(
                id=str(row.id),
                name=row.name,
                description=row.description,
                models=row.models,
                source=row.source,
                created_at=row.created_at,
                members=members[row.id],
                rules=rules[row.id],
                servers=servers[row.id],
            )
            for row in rows
        ]

    async def create(
        self, name: str, *, description: str = "", models: list[str] | None = None
    ) -> GroupRecord:
        """A new group.

        Raises:
            Conflict: a group of that name exists.
        """
        group_id = str(uuid.uuid4())
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(groups).values(
                        id=group_id, name=name, description=description, models=models
                    )
                )
                return await self._get(conn, group_id)
        except IntegrityError as error:
            raise Conflict(f"A group named {name!r} already exists.") from error

    async def update(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        models: list[str] | None = UNCHANGED,
    ) -> GroupRecord:
        """Rename, describe, or set the models a group may use (None: any).

        Raises:
            NotFound: no such group.
            Conflict: the new name is taken.
        """
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if description is not None:
            values["description"] = description
        if models is not UNCHANGED:
            values["models"] = models
        try:
            async with self._engine.begin() as conn:
                if values:
                    await conn.execute(
                        update(groups).where(groups.c.id == group_id).values(**values)
                    )
                record = await self._get(conn, group_id)
        except IntegrityError as error:
            raise Conflict(f"A group named {name!r} already exists.") from error
        self.forget()
        return record

    async def delete(self, group_id: str) -> None:
        """Delete a group: its members stay users, its rules and server limits go.

        A shared server limited to this group alone becomes visible to everyone, as a
        server with no limit is.

        Raises:
            NotFound: no such group.
        """
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(groups).where(groups.c.id == group_id))
        if result.rowcount == 0:
            raise NotFound("No such group.")
        self.forget()

    # -- members ---------------------------------------------------------------------------

    async def add_member(self, group_id: str, user_id: str) -> GroupRecord:
        """Put a user in a group (already a member: nothing changes).

        Raises:
            NotFound: no such group or user.
        """
        async with self._engine.begin() as conn:
            await self._get(conn, group_id)
            if (
                await conn.execute(select(users.c.id).where(users.c.id == user_id))
            ).one_or_none() is None:
                raise NotFound("No such user.")
            await conn.execute(
                insert(group_members)
                .values(group_id=group_id, user_id=user_id)
                .on_conflict_do_nothing()
            )
            record = await self._get(conn, group_id)
        self.forget()
        return record

    async def remove_member(self, group_id: str, user_id: str) -> GroupRecord:
        """Take a user out of a group.

        Raises:
            NotFound: no such group, or the user is not a member.
        """
        async with self._engine.begin() as conn:
            await self._get(conn, group_id)
            result = await conn.execute(
                delete(group_members).where(
                    and_(group_members.c.group_id == group_id, group_members.c.user_id == user_id)
                )
            )
            if result.rowcount == 0:
                raise NotFound("The user is not a member of this group.")
            record = await self._get(conn, group_id)
        self.forget()
        return record

    async def groups_of(self, user_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """Each user's groups as (id, name), by name."""
        found: dict[str, list[tuple[str, str]]] = {user_id: [] for user_id in user_ids}
        if not user_ids:
            return found
        async with self._engine.connect() as conn:
            for row in await conn.execute(
                select(group_members.c.user_id, groups.c.id, groups.c.name)
                .join(groups, groups.c.id == group_members.c.group_id)
                .where(group_members.c.user_id.in_(list(user_ids)))
                .order_by(groups.c.name)
            ):
                found.setdefault(str(row.user_id), []).append((str(row.id), row.name))
        return found

    # -- tool rules ------------------------------------------------------------------------

    async def set_rule(
        self, group_id: str, server: str, tool: str, policy: GroupPolicy
    ) -> GroupRecord:
        """Deny a server's tool (or every tool, "*") to a group, or make it always ask.

        Raises:
            NotFound: no such group.
        """
        async with self._engine.begin() as conn:
            await self._get(conn, group_id)
            statement = insert(group_tool_policies).values(
                group_id=group_id, server=server, tool=tool, policy=policy.value
            )
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["group_id", "server", "tool"],
                    set_={"policy": statement.excluded.policy},
                )
            )
            record = await self._get(conn, group_id)
        self.forget()
        return record

    async def remove_rule(self, group_id: str, server: str, tool: str) -> GroupRecord:
        """Drop a group's rule on a server's tool (the tool is allowed again).

        Raises:
            NotFound: no such group, or it has no rule on that tool.
        """
        async with self._engine.begin() as conn:
            await self._get(conn, group_id)
            result = await conn.execute(
                delete(group_tool_policies).where(
                    and_(
                        group_tool_policies.c.group_id == group_id,
                        group_tool_policies.c.server == server,
                        group_tool_policies.c.tool == tool,
                    )
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"The group has no rule on {server}/{tool}.")
            record = await self._get(conn, group_id)
        self.forget()
        return record

    # -- shared servers --------------------------------------------------------------------

    async def _shared_server_id(self, conn: AsyncConnection, name: str) -> str:
        server_id = (
            await conn.execute(
                select(mcp_servers.c.id).where(
                    and_(mcp_servers.c.name == name, mcp_servers.c.owner_id.is_(None))
                )
            )
        ).scalar_one_or_none()
        if server_id is None:
            raise NotFound(
                f"No shared MCP server named {name!r} registered through the API (servers "
                "from mcp.json or discovery, and personal servers, cannot be limited to groups)."
            )
        return str(server_id)

    async def share_server(self, group_id: str, server: str) -> GroupRecord:
        """Limit a shared server to its groups, this one among them.

        Once a server has a group, only the members of its groups (and admins) see it.

        Raises:
            NotFound: no such group, or no shared server of that name in the database.
        """
        async with self._engine.begin() as conn:
            await self._get(conn, group_id)
            server_id = await self._shared_server_id(conn, server)
            await conn.execute(
                insert(mcp_server_groups)
                .values(server_id=server_id, group_id=group_id)
                .on_conflict_do_nothing()
            )
            record = await self._get(conn, group_id)
        self.forget()
        return record

    async def unshare_server(self, group_id: str, server: str) -> GroupRecord:
        """Take a group out of a shared server's audience.

        With no group left, the server is everyone's again.

        Raises:
            NotFound: no such group or server, or the server is not limited to this group.
        """
        async with self._engine.begin() as conn:
            await self._get(conn, group_id)
            server_id = await self._shared_server_id(conn, server)
            result = await conn.execute(
                delete(mcp_server_groups).where(
                    and_(
                        mcp_server_groups.c.server_id == server_id,
                        mcp_server_groups.c.group_id == group_id,
                    )
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"{server!r} is not limited to this group.")
            record = await self._get(conn, group_id)
        self.forget()
        return record
