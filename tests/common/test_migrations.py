"""The migration chains' head, as read without Alembic, is the head Alembic knows."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from common.database import create_engine
from common.migrations import Migrations
from mcp_servers.knowledge.database import KNOWLEDGE_SCHEMA
from orchestrator.store.migrations import SCHEMA

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("chain", [SCHEMA, KNOWLEDGE_SCHEMA], ids=["orchestrator", "knowledge"])
def test_the_head_read_from_the_scripts_is_alembics_head(chain: Migrations) -> None:
    scripts = ScriptDirectory.from_config(chain.config("postgresql://unused/db"))
    assert chain.head() == scripts.get_current_head()


@pytest.mark.postgres
async def test_a_start_on_an_up_to_date_schema_runs_no_migration(database_url: str) -> None:
    # The session database is migrated already: a development start finds nothing to do,
    # and a production start (which checks instead of migrating) finds it current.
    assert await SCHEMA.upgrade(database_url) is False
    engine = create_engine(database_url, pool_size=1)
    try:
        assert await SCHEMA.current(engine) == SCHEMA.head()
    finally:
        await engine.dispose()
