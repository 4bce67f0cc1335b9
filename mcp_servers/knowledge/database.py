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
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.store import EmbeddedPostgres, create_engine, to_async_url

__all__ = ["current_revision", "has_vectors", "head_revision", "open_engine", "upgrade"]

logger = logging.getLogger(__name__)

_SCRIPTS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "knowledge_alembic_version"


def head_revision() -> str | None:
    names = sorted(path.name for path in (_SCRIPTS / "versions").glob("k[0-9]*_*.py"))
    return names[-1].split("_", 1)[0] if names else None


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        try:
            return (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar()  # noqa: S608 - a constant table name
        except ProgrammingError:
            return None


async def upgrade(url: str, engine: AsyncEngine | None = None) -> bool:
    """Bring the knowledge tables to the newest revision; returns whether anything ran."""
    own = engine is None
    engine = engine or create_engine(url, pool_size=1)
    try:
        if await current_revision(engine) == head_revision():
            return False
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_SCRIPTS))
        config.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
        async with engine.begin() as conn:
            await conn.run_sync(_run_upgrade, config)
        return True
    finally:
        if own:
            await engine.dispose()


def _run_upgrade(sync_conn: Any, config: Any) -> None:
    from alembic import command

    config.attributes["connection"] = sync_conn
    command.upgrade(config, "head")


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
