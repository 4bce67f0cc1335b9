"""A tool host for tests: tools with scripted behaviour, and a record of the calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.domain import (
    TextPart,
    ToolCallContext,
    ToolOutcome,
    ToolPolicy,
    ToolServerError,
    ToolSpec,
    error_outcome,
)

Handler = Callable[[dict[str, Any], ToolCallContext], Awaitable[ToolOutcome]]


def spec(name: str, policy: ToolPolicy = ToolPolicy.AUTO, server: str = "test") -> ToolSpec:
    return ToolSpec(
        name=name,
        server=server,
        tool=name.split("__")[-1],
        description=f"The {name} tool.",
        parameters={"type": "object", "properties": {"x": {"type": "string"}}},
        policy=policy,
    )


def text(value: str) -> ToolOutcome:
    return ToolOutcome(content=[TextPart(text=value)])


@dataclass
class FakeTools:
    specs: list[ToolSpec] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, tool: ToolSpec, handler: Handler | None = None) -> None:
        self.specs.append(tool)
        if handler is not None:
            self.handlers[tool.name] = handler

    instructions_text: str | None = None

    async def list_tools(self, user_id: str) -> Sequence[ToolSpec]:
        return list(self.specs)

    async def instructions(self, user_id: str, servers: Sequence[str]) -> str | None:
        return self.instructions_text

    async def call_tool(
        self, spec: ToolSpec, arguments: dict[str, Any], context: ToolCallContext
    ) -> ToolOutcome:
        self.calls.append((spec.name, arguments))
        handler = self.handlers.get(spec.name)
        if handler is None:
            return text(f"{spec.name} ran with {arguments}")
        return await handler(arguments, context)


async def deleted(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
    """A delete tool's handler: says it deleted its `x`."""
    return text(f"deleted {arguments.get('x')}")


async def connection_lost(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
    """A tool whose server fails under the call: a host fault, not the tool's own answer."""
    raise ToolServerError("the connection was lost")


async def no_such_city(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
    """A tool that answers with an error of its own, for the model to read."""
    return error_outcome("no such city")


async def broken(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
    raise ToolServerError("the server went away")
