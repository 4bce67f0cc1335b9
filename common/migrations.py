"""Alembic migrations run from code: one chain of scripts, brought to its newest revision.

The orchestrator's schema and the knowledge store's tables are two chains, each with its own
scripts folder and version table, often in the same database; both are upgraded by
`Migrations.upgrade` (at start in development, by `assistant db upgrade` in production).
Alembic is imported where it is used: starting on an up-to-date schema costs one query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from common.database import create_engine, to_async_url

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["Migrations"]

_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)


@dataclass(frozen=True)
class Migrations:
    """One Alembic chain: its scripts, the table that records its revision, its file names.

    Script file names sort in the chain's order (`0001_initial_schema.py` ...
    `0008_message_fault.py`, `k0001_knowledge.py`); `revision_files` is the glob that finds
    them in `scripts/versions`. The chain's `env.py` must use the connection it is given in
    `config.attributes["connection"]`.
    """

    scripts: Path
    version_table: str = "alembic_version"
    revision_files: str = "[0-9]*_*.py"

    def config(self, url: str) -> Config:
        """An Alembic configuration for this chain on the database at `url`."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(self.scripts))
        config.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
        return config

    def head(self) -> str | None:
        """The newest script's revision id, or None when there are none.

        Read from the script's `revision = "..."` line, not its file name: an id need not
        be the name's prefix (`0008_message_fault.py` is revision "0008_message_fault"),
        and a head that never matches the database's would run Alembic at every start.
        """
        paths = sorted((self.scripts / "versions").glob(self.revision_files))
        if not paths:
            return None
        found = _REVISION.search(paths[-1].read_text(encoding="utf-8"))
        return found.group(1) if found else None

    async def current(self, engine: AsyncEngine) -> str | None:
        """The database's revision of this chain, or None before its first migration."""
        query = text(f"SELECT version_num FROM {self.version_table}")  # noqa: S608 - our constant
        async with engine.connect() as conn:
            try:
                return (await conn.execute(query)).scalar()
            except ProgrammingError:
                return None

    async def upgrade(self, url: str, engine: AsyncEngine | None = None) -> bool:
        """Bring the chain to its newest revision; returns whether anything ran.

        Uses `engine` when given (it stays open), else a one-connection engine of its own.
        Processes starting together (the orchestrator and the MCP servers both open the
        knowledge store; replicas) take turns on a transaction-scoped advisory lock named
        after the chain's version table: the first migrates, the others then find the chain
        at its head instead of racing to create the same tables.
        """
        own = engine is None
        engine = engine or create_engine(url, pool_size=1)
        try:
            if await self.current(engine) == self.head():
                return False
            config = self.config(url)
            async with engine.begin() as conn:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                    {"name": f"assistant-migrations:{self.version_table}"},
                )
                await conn.run_sync(_run_upgrade, config)
            return True
        finally:
            if own:
                await engine.dispose()


def _run_upgrade(sync_conn: Any, config: Config) -> None:
    from alembic import command

    config.attributes["connection"] = sync_conn
    command.upgrade(config, "head")
