"""Alembic environment of the knowledge store: its own chain and version table.

The knowledge tables (`kb_*`) live in the orchestrator's database by default; their chain is
tracked in `knowledge_alembic_version` so it never meets the orchestrator's.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

VERSION_TABLE = "knowledge_alembic_version"


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, version_table=VERSION_TABLE, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run the knowledge migrations with `assistant db upgrade`.")
_migrate(connection)
