"""Alembic migrations, run from code (`assistant db upgrade`) or from `alembic` itself.

Alembic is imported where it is used: starting on an up-to-date schema costs one query.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.store.database import create_engine, to_async_url

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade", "upgrade_sync"]

_SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """Alembic's configuration for our migration scripts on the database at `url`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest revision among the migration scripts (each file name starts with its id)."""
    names = sorted(path.name for path in (_SCRIPTS / "versions").glob("[0-9]*_*.py"))
    return names[-1].split("_", 1)[0] if names else None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's revision, or None before the first migration."""
    async with engine.connect() as conn:
        try:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except ProgrammingError:
            return None


async def upgrade(url: str, engine: AsyncEngine | None = None) -> bool:
    """Bring the schema to the newest revision; returns whether anything ran."""
    own = engine is None
    engine = engine or create_engine(url, pool_size=1)
    try:
        if await current_revision(engine) == head_revision():
            return False
        config = alembic_config(url)
        async with engine.begin() as conn:
            await conn.run_sync(_run_upgrade, config)
        return True
    finally:
        if own:
            await engine.dispose()


def _run_upgrade(sync_conn: Any, config: Config) -> None:
    from alembic import command

    config.attributes["connection"] = sync_conn
    command.upgrade(config, "head")


def upgrade_sync(url: str) -> bool:
    """`upgrade` for callers outside an event loop; returns whether anything ran."""
    return asyncio.run(upgrade(url))
