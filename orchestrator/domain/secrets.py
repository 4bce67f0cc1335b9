"""The records of secrets at rest: data keys and the sealed blobs they seal.

Plain values passed between the vault (`orchestrator.mcp.governance`) and the tables that
keep them (`orchestrator.store.secret_keys`); the cryptography lives in the vault.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = ["DataKey", "SealedKind", "SealedRow"]

SealedKind = Literal["server", "credential"]
"""A server's secret configuration (`mcp_servers.secrets`) or a user's OAuth credentials."""


@dataclass(frozen=True)
class DataKey:
    """A data key as stored: its name (`kid`), the master key that wrapped it, its lifetime."""

    kid: str
    master_id: str
    wrapped: str
    created_at: datetime
    retired_at: datetime | None = None


@dataclass(frozen=True)
class SealedRow:
    """One sealed blob and the row it belongs to.

    `row` is the primary key: `(server id,)` for a server, `(user id, server key)` for
    credentials; `owner_id` is the server's owner (None for credentials or shared servers).
    """

    kind: SealedKind
    row: tuple[str, ...]
    sealed: str
    owner_id: str | None = None
