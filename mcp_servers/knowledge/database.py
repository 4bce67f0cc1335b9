"""The knowledge store's database: which one, its migrations, and whether it has pgvector.

By default the knowledge tables live in the orchestrator's database (DATABASE_URL, or the
embedded PostgreSQL in the data folder); KNOWLEDGE_DATABASE_URL moves them elsewhere. The
migrations are their own Alembic chain with their own version table, applied by
`assistant db upgrade` and by the knowledge server at start in development.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.database import EmbeddedPostgres, create_engine
from common.migrations import Migrations

__all__ = [
    "KNOWLEDGE_SCHEMA",
    "current_revision",
    "has_vectors",
    "head_revision",
    "open_engine",
    "upgrade",
]

logger = logging.getLogger(__name__)

VERSION_TABLE = "knowledge_alembic_version"

KNOWLEDGE_SCHEMA = Migrations(
    Path(__file__).resolve().parent / "migrations",
    version_table=VERSION_TABLE,
    revision_files="k[0-9]*_*.py",
)
"""The knowledge tables' own chain, tracked apart from the orchestrator's."""

head_revision = KNOWLEDGE_SCHEMA.head
current_revision = KNOWLEDGE_SCHEMA.current
upgrade = KNOWLEDGE_SCHEMA.upgrade


async def has_vectors(engine: AsyncEngine) -> bool:
    """Whether the chunks table has its vector column (the server had pgvector)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT 1 FROM information_schema.columns "
                "WHERE table_name = 'kb_chunks' AND column_name = 'embedding' "
                "AND table_schema = current_schema()"
            )
        )
        return found.scalar() is not None


@asynccontextmanager
async def open_engine(
    url: str | None, data_dir: Path, *, migrate: bool = True, pool_size: int = 5
) -> AsyncIterator[AsyncEngine]:
    """An engine on the knowledge database (embedded when `url` is None), migrated."""
    embedded: EmbeddedPostgres | None = None
    if url is None:
        embedded = EmbeddedPostgres(data_dir)
        url = await asyncio.to_thread(embedded.start)
    engine = create_engine(url, pool_size=pool_size)
    try:
        if migrate and await upgrade(url, engine):
            logger.info("Knowledge tables upgraded to %s", head_revision())
        yield engine
    finally:
        await engine.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
