"""Processes that start together migrate one chain once: the orchestrator and our MCP
servers both open the knowledge store at start, on the same database."""

from __future__ import annotations

import asyncio

import pytest

from common.database import create_engine
from mcp_servers.knowledge.database import KNOWLEDGE_SCHEMA
from orchestrator.store.migrations import SCHEMA
from tests.conftest import SYSTEM_POSTGRES, PostgresServer

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def test_concurrent_upgrades_of_a_fresh_database_all_succeed() -> None:
    server = PostgresServer("system-pg15", SYSTEM_POSTGRES)
    name = await asyncio.to_thread(server.create_database)
    url = server.url_for(name)
    try:
        # Without a lock, these collide on the same CREATE statements (a unique violation on
        # pg_type, or a deadlock); with it, they take turns and all succeed.
        async with asyncio.timeout(60):
            await asyncio.gather(*(KNOWLEDGE_SCHEMA.upgrade(url) for _ in range(4)))
            await asyncio.gather(*(SCHEMA.upgrade(url) for _ in range(3)))
        engine = create_engine(url, pool_size=1)
        try:
            assert await KNOWLEDGE_SCHEMA.current(engine) == KNOWLEDGE_SCHEMA.head()
            assert await SCHEMA.current(engine) == SCHEMA.head()
        finally:
            await engine.dispose()
    finally:
        await asyncio.to_thread(server.drop_database, name)
