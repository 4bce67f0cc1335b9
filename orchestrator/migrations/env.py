"""Alembic environment: online migrations on the asyncpg engine or a given connection."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from orchestrator.store import schema_identity as _identity_tables  # noqa: F401  (registers them)
from orchestrator.store import schema_secrets as _secret_tables  # noqa: F401  (registers them)
from orchestrator.store.schema import metadata

config = context.config


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate ignores the knowledge server's tables (its own chain, `kb_*`)."""
    return not (type_ == "table" and (name or "").startswith(("kb_", "knowledge_")))


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, compare_type=True, include_name=_ours
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_online() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_migrate)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _migrate(connection)
else:
    asyncio.run(_migrate_online())
