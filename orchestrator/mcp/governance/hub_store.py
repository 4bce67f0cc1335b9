"""What the hub keeps between restarts, as a small port.

Servers registered through the API, approved tool fingerprints, and per-user credentials
(already encrypted).

`orchestrator.store.SqlMCPStore` is the PostgreSQL implementation; `MemoryHubStore` keeps
everything in memory (the CLI's one-off connections and tests).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.domain import Conflict

__all__ = ["HubStore", "MemoryHubStore"]


class HubStore(Protocol):
    """What the hub keeps between restarts; `orchestrator.store.SqlMCPStore` implements it."""

    async def load_servers(self) -> list[dict[str, Any]]:
        """Every registered server: `id`, `owner_id`, `name`, `config` (public), `secrets`."""
        ...

    async def insert_server(
        self,
        owner_id: str | None,
        name: str,
        config: dict[str, Any],
        secrets: str | None,
        created_by: str | None,
        *,
        server_id: str | None = None,
    ) -> None:
        """Register a server (as `server_id` if given); `secrets` are sealed already.

        Raises:
            Conflict: the owner already has a server of that name.
        """
        ...

    async def delete_server(self, owner_id: str | None, name: str) -> bool:
        """Forget a registered server; False if there was none."""
        ...

    async def update_server(self, owner_id: str | None, name: str, config: dict[str, Any]) -> bool:
        """Replace a registered server's public configuration (its secrets stay).

        Returns False if there is no such server.
        """
        ...

    async def load_approvals(self) -> dict[str, dict[str, str]]:
        """Approved fingerprints: server key, then tool name."""
        ...

    async def save_approval(
        self, server_key: str, tool: str, fingerprint: str, approved_by: str | None
    ) -> None:
        """Trust this version of the tool (`approved_by` None: seen first, trusted so)."""
        ...

    async def load_credentials(self, user_id: str, server_key: str) -> str | None:
        """A user's sealed credentials for a server, if any."""
        ...

    async def save_credentials(self, user_id: str, server_key: str, sealed: str) -> None:
        """Store a user's sealed credentials for a server, replacing any."""
        ...

    async def delete_credentials(self, user_id: str, server_key: str) -> None:
        """Forget a user's credentials for a server."""
        ...


@dataclass
class MemoryHubStore:
    """A `HubStore` in memory, for the CLI's one-off connections and tests."""

    servers: dict[tuple[str | None, str], dict[str, Any]] = field(
        default_factory=dict[tuple[str | None, str], dict[str, Any]]
    )
    approvals: dict[str, dict[str, str]] = field(default_factory=dict[str, dict[str, str]])
    credentials: dict[tuple[str, str], str] = field(default_factory=dict[tuple[str, str], str])

    async def load_servers(self) -> list[dict[str, Any]]:
        """Every registered server."""
        return [dict(row) for row in self.servers.values()]

    async def insert_server(
        self,
        owner_id: str | None,
        name: str,
        config: dict[str, Any],
        secrets: str | None,
        created_by: str | None,
        *,
        server_id: str | None = None,
    ) -> None:
        """Register a server.

        Raises:
            Conflict: the owner already has a server of that name.
        """
        if (owner_id, name) in self.servers:
            raise Conflict(f"There is already a server named {name!r}.")
        self.servers[owner_id, name] = {
            "id": server_id or str(uuid.uuid4()),
            "owner_id": owner_id,
            "name": name,
            "config": config,
            "secrets": secrets,
        }

    async def delete_server(self, owner_id: str | None, name: str) -> bool:
        """Forget a registered server; False if there was none."""
        return self.servers.pop((owner_id, name), None) is not None

    async def update_server(self, owner_id: str | None, name: str, config: dict[str, Any]) -> bool:
        """Replace a registered server's public configuration; False if there is none."""
        row = self.servers.get((owner_id, name))
        if row is None:
            return False
        row["config"] = config
        return True

    async def load_approvals(self) -> dict[str, dict[str, str]]:
        """Approved fingerprints: server key, then tool name."""
        return {key: dict(tools) for key, tools in self.approvals.items()}

    async def save_approval(
        self, server_key: str, tool: str, fingerprint: str, approved_by: str | None
    ) -> None:
        """Trust this version of the tool."""
        self.approvals.setdefault(server_key, {})[tool] = fingerprint

    async def load_credentials(self, user_id: str, server_key: str) -> str | None:
        """A user's sealed credentials for a server, if any."""
        return self.credentials.get((user_id, server_key))

    async def save_credentials(self, user_id: str, server_key: str, sealed: str) -> None:
        """Store a user's sealed credentials for a server, replacing any."""
        self.credentials[user_id, server_key] = sealed

    async def delete_credentials(self, user_id: str, server_key: str) -> None:
        """Forget a user's credentials for a server."""
        self.credentials.pop((user_id, server_key), None)
