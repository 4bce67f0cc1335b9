"""The tables the code describes are the tables the migrations build."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.store import schema_identity
from orchestrator.store.schema import metadata

pytestmark = pytest.mark.anyio


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and (name or "").startswith(("kb_", "knowledge_", "alembic")))


async def test_the_migrated_database_matches_the_schema_module(engine: AsyncEngine) -> None:
    assert schema_identity.audit_log.metadata is metadata

    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _ours}
        )
        return compare_metadata(context, metadata)

    async with engine.connect() as connection:
        found = await connection.run_sync(differences)
    assert found == []
