"""Which version of each tool is trusted: a changed tool waits for an admin.

The first version of a tool the hub sees is trusted (and recorded). When a server later
describes the tool differently (its description, schema, title or annotations), the tool
is withheld from the model until someone allowed to approves the new version: this is
what stops a server from quietly turning a harmless tool into a different one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from orchestrator.mcp.governance.hub_store import HubStore
from orchestrator.mcp.governance.tool_specs import ToolEntry

__all__ = ["ToolApprovals"]

logger = logging.getLogger(__name__)


class ToolApprovals:
    """The trusted fingerprint of each server's tools, kept in the hub store."""

    def __init__(self, store: HubStore) -> None:
        self._store = store
        self._approved: dict[str, dict[str, str]] = {}

    async def load(self) -> None:
        """Read the approved fingerprints (again: another replica may have approved)."""
        self._approved = await self._store.load_approvals()

    def is_approved(self, server_key: str, entry: ToolEntry) -> bool:
        """Whether the tool is the version trusted (or one never seen, trusted now)."""
        known = self._approved.get(server_key, {}).get(entry.spec.tool)
        return known is None or known == entry.fingerprint

    def first_seen(self, server_key: str, entries: Sequence[ToolEntry]) -> list[ToolEntry]:
        """The tools never seen before; they are trusted from now on."""
        known = self._approved.setdefault(server_key, {})
        new = [entry for entry in entries if entry.spec.tool not in known]
        for entry in new:
            known[entry.spec.tool] = entry.fingerprint
        return new

    async def record(self, server_key: str, entries: Sequence[ToolEntry]) -> None:
        """Store the fingerprints of tools seen for the first time (approved by nobody)."""
        for entry in entries:
            await self._store.save_approval(server_key, entry.spec.tool, entry.fingerprint, None)

    async def approve(self, server_key: str, entry: ToolEntry, approved_by: str) -> None:
        """Trust the tool's current version, on behalf of `approved_by`."""
        await self._store.save_approval(server_key, entry.spec.tool, entry.fingerprint, approved_by)
        self._approved.setdefault(server_key, {})[entry.spec.tool] = entry.fingerprint
        logger.info("Tool %s of %s approved by %s", entry.spec.tool, server_key, approved_by)
