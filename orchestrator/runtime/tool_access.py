"""The user's tools as their groups allow them: one `ToolHost` in front of every other.

Runs, the OpenAI-compatible completions and the WebSocket all reach tools through the
`ToolHost` the composition root builds; wrapping it here means no path can list or call a
tool that a user's group denies, whichever host (the MCP hub, or a test's) is behind it.
The rules themselves are `Access`'s (`orchestrator.domain.access`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from orchestrator.domain import (
    AccessPolicies,
    ToolCallContext,
    ToolHost,
    ToolOutcome,
    ToolSpec,
    refusal_outcome,
)

__all__ = ["GovernedTools"]

logger = logging.getLogger(__name__)


class GovernedTools:
    """A `ToolHost` that applies the user's groups' rules to the host behind it.

    Listing leaves denied tools out and marks "ask" ones to ask every time; a call is
    checked again as it is made (the rules may have changed since the listing, or the
    model may name a tool it was never offered), and a denied one is refused with an
    error the model reads, marked `refused` so that the loop's `tool.call` record says
    policy-denied.
    """

    def __init__(self, host: ToolHost, policies: AccessPolicies) -> None:
        self.host = host
        self._policies = policies

    async def list_tools(self, user_id: str) -> Sequence[ToolSpec]:
        """The user's tools, governed by their groups."""
        access = await self._policies.access(user_id)
        return access.govern(await self.host.list_tools(user_id))

    async def instructions(self, user_id: str, servers: Sequence[str]) -> str | None:
        """What the named servers ask the model to know."""
        return await self.host.instructions(user_id, servers)

    async def call_tool(
        self, spec: ToolSpec, arguments: dict[str, Any], context: ToolCallContext
    ) -> ToolOutcome:
        """Call the tool unless a group of the user's denies it now.

        Raises:
            ToolServerError: from the host behind.
        """
        access = await self._policies.access(context.user_id)
        refusal = access.denial(spec)
        if refusal is not None:
            logger.info("Refused %s to user %s: denied by a group", spec.name, context.user_id)
            return refusal_outcome(refusal)
        return await self.host.call_tool(spec, arguments, context)
