"""The vault's records in PostgreSQL: its wrapped data keys, and the rows holding blobs.

`SqlKeyStore` implements `orchestrator.mcp.governance.key_ring.KeyStore`, `SqlSealedRows`
the rotation's `SealedRows`; both deal in plain values, the cryptography is the vault's.
A blob names its data key after a `v2.` prefix (`v2.<kid>.<ciphertext>`); older blobs
(Fernet) count as `legacy`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    case,
    func,
    literal,
    not_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import Conflict
from orchestrator.domain.secrets import DataKey, SealedKind, SealedRow
from orchestrator.store.schema import mcp_credentials, mcp_servers
from orchestrator.store.schema_secrets import secret_keys

__all__ = ["SqlKeyStore", "SqlSealedRows"]

# One transaction at a time makes the first data key (processes starting together).
_FIRST_KEY_LOCK = 0x5EC2E75
# One rotation at a time, across processes.
_ROTATION_LOCK = 0x5EC2E76


def _key(row: Any) -> DataKey:
    return DataKey(row.kid, row.master_id, row.wrapped, row.created_at, row.retired_at)


class SqlKeyStore:
    """The `secret_keys` table, shared by every process of the orchestrator."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def all_keys(self) -> list[DataKey]:
        """Every data key, oldest first."""
        query = select(secret_keys).order_by(secret_keys.c.created_at, secret_keys.c.kid)
        async with self._engine.connect() as conn:
            return [_key(row) for row in (await conn.execute(query)).all()]

    async def key(self, kid: str) -> DataKey | None:
        """One data key by name, if it exists."""
        query = select(secret_keys).where(secret_keys.c.kid == kid)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _key(row) if row is not None else None

    async def current(self) -> DataKey | None:
        """The newest key not retired: the one new blobs are sealed with."""
        async with self._engine.connect() as conn:
            return await self._current(conn)

    @staticmethod
    async def _current(conn: Any) -> DataKey | None:
        query = (
            select(secret_keys)
            .where(secret_keys.c.retired_at.is_(None))
            .order_by(secret_keys.c.created_at.desc(), secret_keys.c.kid.desc())
            .limit(1)
        )
        row = (await conn.execute(query)).first()
        return _key(row) if row is not None else None

    async def add(self, key: DataKey, *, only_if_none_current: bool = False) -> DataKey:
        """Store a new data key; it becomes current. Returns the current key afterwards."""
        async with self._engine.begin() as conn:
            if only_if_none_current:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _FIRST_KEY_LOCK}
                )
                current = await self._current(conn)
                if current is not None:
                    return current
            await conn.execute(
                secret_keys.insert().values(
                    kid=key.kid,
                    master_id=key.master_id,
                    wrapped=key.wrapped,
                    created_at=key.created_at,
                )
            )
        return key

    async def retire_all_but(self, kid: str) -> list[str]:
        """Retire every other live key (they still open); returns their names."""
        statement = (
            update(secret_keys)
            .where(secret_keys.c.kid != kid, secret_keys.c.retired_at.is_(None))
            .values(retired_at=func.now())
            .returning(secret_keys.c.kid)
        )
        async with self._engine.begin() as conn:
            return sorted((await conn.execute(statement)).scalars())

    async def rewrap(self, kid: str, old_wrapped: str, master_id: str, wrapped: str) -> bool:
        """Replace a key's wrapping if it is still `old_wrapped`; whether it was replaced."""
        statement = (
            update(secret_keys)
            .where(secret_keys.c.kid == kid, secret_keys.c.wrapped == old_wrapped)
            .values(master_id=master_id, wrapped=wrapped)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount > 0

    @asynccontextmanager
    async def rotating(self) -> AsyncIterator[None]:
        """Held while one rotation runs, in any process (a PostgreSQL advisory lock).

        Raises:
            Conflict: another rotation is running.
        """
        async with self._engine.connect() as conn:
            taken = text("SELECT pg_try_advisory_lock(:lock)")
            if not (await conn.execute(taken, {"lock": _ROTATION_LOCK})).scalar():
                raise Conflict("Another rotation of the secrets' keys is running.")
            await conn.commit()
            try:
                yield
            finally:
                release = text("SELECT pg_advisory_unlock(:lock)")
                await conn.execute(release, {"lock": _ROTATION_LOCK})
                await conn.commit()


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def _blob_column(table: Table) -> Any:
    return table.c.secrets if table is mcp_servers else table.c.sealed


def _kid(blob: Any) -> Any:
    return case((blob.like("v2.%"), func.split_part(blob, ".", 2)), else_=literal("legacy"))


class SqlSealedRows:
    """The rows holding sealed blobs: `mcp_servers.secrets` and `mcp_credentials.sealed`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def not_sealed_with(
        self, kind: SealedKind, kid: str, *, after: tuple[str, ...] | None, limit: int
    ) -> list[SealedRow]:
        """Up to `limit` rows whose blob is not under `kid`, by primary key after `after`."""
        if kind == "server":
            table, keys = mcp_servers, (mcp_servers.c.id,)
            columns = (mcp_servers.c.id, mcp_servers.c.owner_id, mcp_servers.c.secrets)
        else:
            table, keys = mcp_credentials, (mcp_credentials.c.user_id, mcp_credentials.c.server_key)
            columns = (*keys, mcp_credentials.c.sealed)
        blob = _blob_column(table)
        query = select(*columns).where(
            blob.is_not(None), blob != "", not_(blob.startswith(f"v2.{kid}."))
        )
        if after is not None:
            bound = (literal(value, col.type) for col, value in zip(keys, after, strict=True))
            query = query.where(tuple_(*keys) > tuple_(*bound))
        query = query.order_by(*keys).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        if kind == "server":
            return [
                SealedRow(
                    "server",
                    (str(row.id),),
                    row.secrets,
                    str(row.owner_id) if row.owner_id else None,
                )
                for row in rows
            ]
        return [
            SealedRow("credential", (str(row.user_id), row.server_key), row.sealed) for row in rows
        ]

    async def replace(self, row: SealedRow, sealed: str) -> bool:
        """Store `sealed` in the row if it still holds `row.sealed`; whether it did."""
        if row.kind == "server":
            where = and_(mcp_servers.c.id == row.row[0], mcp_servers.c.secrets == row.sealed)
            statement = update(mcp_servers).where(where).values(secrets=sealed)
        else:
            where = and_(
                mcp_credentials.c.user_id == row.row[0],
                mcp_credentials.c.server_key == row.row[1],
                mcp_credentials.c.sealed == row.sealed,
            )
            statement = update(mcp_credentials).where(where).values(sealed=sealed)
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount > 0

    async def count_by_kid(self) -> dict[str, int]:
        """How many blobs each data key seals (`legacy`: blobs from before key rings)."""
        blobs = union_all(
            select(mcp_servers.c.secrets.label("blob")).where(mcp_servers.c.secrets.is_not(None)),
            select(mcp_credentials.c.sealed.label("blob")),
        ).subquery()
        kid = _kid(blobs.c.blob).label("kid")
        query = select(kid, func.count()).select_from(blobs).where(blobs.c.blob != "").group_by(kid)
        async with self._engine.connect() as conn:
            return {row[0]: row[1] for row in (await conn.execute(query)).all()}
