"""What a user's groups allow them: tools, models and shared servers, decided in one place.

An admin puts users in groups; a group may deny a server's tools (or one of them), make
them ask for approval every time, limit the models its members may use, and be the only
audience of a shared MCP server. `Access` is all of that for one user, read by the
`AccessPolicies` port; the tool host, the runs and the API ask it and never decide for
themselves.

- A tool denied to any of the user's groups is not offered to the model and not called.
- "ask" forces an approval on each call, even for a tool the user always allows.
- Deny wins over ask; a rule names a server and a tool, or "*" for every tool of it.
- Models: the union of the groups' lists; a group without a list (null) allows any, and
  so does belonging to no group at all.
- A shared server limited to groups is seen by their members only (and by admins, who
  manage it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from functools import cached_property
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain.errors import Forbidden
from orchestrator.domain.tools import ToolPolicy, ToolSpec

__all__ = ["ANY_TOOL", "Access", "AccessPolicies", "GroupPolicy", "ToolRule"]

ANY_TOOL = "*"


class GroupPolicy(StrEnum):
    """What a group's rule does to a tool: never run it (deny) or always ask first (ask)."""

    DENY = "deny"
    ASK = "ask"


class ToolRule(BaseModel):
    """One group's rule for a server's tool (`tool` "*": every tool of the server)."""

    model_config = ConfigDict(frozen=True)

    server: str
    tool: str = ANY_TOOL
    policy: GroupPolicy
    group: str = ""

    def matches(self, server: str, tool: str) -> bool:
        """Whether the rule covers `tool` of `server`."""
        return self.server == server and self.tool in (ANY_TOOL, tool)


class Access(BaseModel):
    """What one user may use, from their groups (empty: no group restricts them)."""

    model_config = ConfigDict(frozen=True)

    groups: tuple[str, ...] = ()
    rules: tuple[ToolRule, ...] = ()
    models: frozenset[str] | None = None
    hidden_servers: frozenset[str] = Field(default_factory=frozenset[str])

    @cached_property
    def _by_server(self) -> dict[str, list[ToolRule]]:
        by_server: dict[str, list[ToolRule]] = {}
        for rule in self.rules:
            by_server.setdefault(rule.server, []).append(rule)
        return by_server

    def rule_for(self, server: str, tool: str) -> GroupPolicy | None:
        """The strongest group rule on `tool` of `server` (deny over ask), or None."""
        rules = self._by_server.get(server, ())
        found = {rule.policy for rule in rules if rule.matches(server, tool)}
        if GroupPolicy.DENY in found:
            return GroupPolicy.DENY
        return GroupPolicy.ASK if found else None

    def govern(self, specs: Iterable[ToolSpec]) -> list[ToolSpec]:
        """The tools as the user may have them: denied ones left out, "ask" ones forced."""
        if not self.rules:
            return list(specs)
        governed: list[ToolSpec] = []
        for spec in specs:
            rule = self.rule_for(spec.server, spec.tool)
            if rule is GroupPolicy.DENY:
                continue
            if rule is GroupPolicy.ASK and spec.policy is not ToolPolicy.DENY:
                spec = spec.model_copy(update={"policy": ToolPolicy.ASK, "always_ask": True})
            governed.append(spec)
        return governed

    def denial(self, spec: ToolSpec) -> str | None:
        """Why a call of `spec` is refused for this user, or None when it may run."""
        if self.rule_for(spec.server, spec.tool) is GroupPolicy.DENY:
            return (
                f"The tool {spec.name} is denied to your group by an administrator, "
                "so it was not called."
            )
        return None

    def allows_model(self, model: str) -> bool:
        """Whether the user may use `model`."""
        return self.models is None or model in self.models

    def allowed_models(self, models: Sequence[str]) -> list[str]:
        """Those of `models` the user may use, in order."""
        return [model for model in models if self.allows_model(model)]

    def offered_models(self, default: str) -> list[str]:
        """The models to offer the user: the default if allowed, else those the groups name."""
        if self.allows_model(default):
            return [default]
        return sorted(self.models or ())

    def check_model(self, model: str) -> None:
        """Refuse a model the user's groups do not allow.

        Raises:
            Forbidden: the model is not in any of the user's groups' lists.
        """
        if not self.allows_model(model):
            allowed = sorted(self.models or ())
            raise Forbidden(
                f"Your groups do not allow the model {model!r}. "
                + (
                    f"Models you may use: {', '.join(allowed)}."
                    if allowed
                    else "No model is allowed to you; ask an administrator."
                ),
                detail={"model": model, "allowed_models": allowed},
            )

    def sees_server(self, name: str, owner_id: str | None, user_id: str) -> bool:
        """Whether the user sees a server: their own, or a shared one not limited away."""
        if owner_id is not None:
            return owner_id == user_id
        return name not in self.hidden_servers


class AccessPolicies(Protocol):
    """Where a user's `Access` comes from (the groups store, cached for a few seconds)."""

    async def access(self, user_id: str) -> Access:
        """What `user_id`'s groups allow them now."""
        ...
