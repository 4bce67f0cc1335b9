"""The vault's data keys, each wrapped by a master key from the settings (migration 0010).

It shares `schema.metadata`. The blobs the keys seal stay where they were:
`mcp_servers.secrets` and `mcp_credentials.sealed`, each naming its key.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Table, Text, text

from orchestrator.store.schema import created_at_column as _created_at
from orchestrator.store.schema import metadata

__all__ = ["secret_keys"]

# Data keys: `kid` names one in every blob it seals; `wrapped` is the key encrypted by the
# master key `master_id`; a retired key seals nothing new but still opens.
secret_keys = Table(
    "secret_keys",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("master_id", Text, nullable=False),
    Column("wrapped", Text, nullable=False),
    _created_at(),
    Column("retired_at", DateTime(timezone=True)),
    Index("ix_secret_keys_live", "created_at", postgresql_where=text("retired_at IS NULL")),
)
