"""The orchestrator's schema: its Alembic chain (`orchestrator/migrations`), run from code.

`assistant db upgrade` applies it, and a development start does so itself; `alembic` run
from the repository uses the same scripts (see alembic.ini).
"""

from __future__ import annotations

from pathlib import Path

from common.migrations import Migrations

__all__ = ["SCHEMA", "alembic_config", "current_revision", "head_revision", "upgrade"]

SCHEMA = Migrations(Path(__file__).resolve().parent.parent / "migrations")
"""The orchestrator's chain, tracked in the `alembic_version` table."""

alembic_config = SCHEMA.config
head_revision = SCHEMA.head
current_revision = SCHEMA.current
upgrade = SCHEMA.upgrade
