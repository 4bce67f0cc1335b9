"""What the assistant offers: tools, models and their usage."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from orchestrator.domain import (
    ToolSpec,
)

__all__ = [
    "ModelList",
    "ModelOut",
    "ToolList",
    "ToolOut",
    "UsageOut",
    "UsageRow",
]


class ToolOut(BaseModel):
    """A tool the user's runs may call, as the model sees it.

    `policy` says whether a call runs at once (auto), waits for approval (ask) or never runs
    (deny); `token_cost` is what its schema adds to each request.
    """

    name: str
    server: str
    tool: str
    description: str
    parameters: dict[str, Any]
    policy: str
    annotations: dict[str, Any]
    token_cost: int

    @classmethod
    def of(cls, spec: ToolSpec) -> ToolOut:
        """The API's view of a tool spec."""
        return cls(
            name=spec.name,
            server=spec.server,
            tool=spec.tool,
            description=spec.description,
            parameters=spec.parameters,
            policy=spec.policy.value,
            annotations=spec.annotations,
            token_cost=spec.token_cost,
        )


class ToolList(BaseModel):
    """Every tool the user's runs may call, namespaced per server."""

    items: list[ToolOut]


class UsageRow(BaseModel):
    """Runs and tokens of one user on one model."""

    user_id: str
    email: str | None = None
    model: str
    runs: int
    input_tokens: int
    output_tokens: int


class UsageOut(BaseModel):
    """Usage per user and model."""

    items: list[UsageRow]


class ModelOut(BaseModel):
    """A model runs can use: its id, and where it runs (`provider`)."""

    id: str
    provider: str
    default: bool


class ModelList(BaseModel):
    """The models on offer, and whether one is configured at all.

    `message` says what to set when none is, or describes the one in use.
    """

    items: list[ModelOut]
    configured: bool
    message: str | None = None
