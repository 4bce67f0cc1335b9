"""MCP tools as the model sees them: names, function schemas, policies, fingerprints.

Names are `<server>__<tool>` within OpenAI's `^[a-zA-Z0-9_-]{1,64}$`: characters outside
it become `_`, and a name that is too long or already taken gets a short hash of the
original so it stays stable across restarts.

The input schema goes to the model with the few changes OpenAI needs (an object at the
top, `properties` present, no top-level combinators or `$schema`); the server still gets
exactly what the model wrote. A tool's fingerprint covers everything the model reads
about it (title, description, schema, annotations), so a change to any of them is seen.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from orchestrator.domain import TOOL_NAME_PATTERN, Tokenizer, ToolPolicy, ToolSpec
from orchestrator.mcp.config import ServerConfig

__all__ = [
    "SEPARATOR",
    "ToolEntry",
    "build_specs",
    "fingerprint",
    "function_schema",
    "resolve_policy",
    "tool_name",
]

SEPARATOR = "__"
_INVALID = re.compile(r"[^a-zA-Z0-9_-]")
_TOP_LEVEL_DROPPED = ("$schema", "$id", "allOf", "anyOf", "oneOf", "not", "if", "then", "else")


def tool_name(server: str, tool: str, taken: set[str] | None = None) -> str:
    """The namespaced name of a server's tool, unique within `taken` (which it joins)."""
    taken = taken if taken is not None else set()
    base = f"{_INVALID.sub('_', server)}{SEPARATOR}{_INVALID.sub('_', tool)}"
    name = base
    if len(base) > 64 or base in taken:
        digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:6]
        name = f"{base[:57]}_{digest}"
    counter = 1
    while name in taken:
        counter += 1
        name = f"{name[:60]}_{counter}"
    assert TOOL_NAME_PATTERN.match(name), name
    taken.add(name)
    return name


def function_schema(input_schema: dict[str, Any]) -> dict[str, Any]:
    """An MCP input schema as OpenAI function parameters."""
    schema = {k: v for k, v in input_schema.items() if k not in _TOP_LEVEL_DROPPED}
    schema["type"] = "object"
    if not isinstance(schema.get("properties"), dict):
        schema["properties"] = {}
    required = schema.get("required")
    if required is not None and not isinstance(required, list):
        schema.pop("required")
    return schema


def _annotations(tool: types.Tool) -> dict[str, Any]:
    if tool.annotations is None:
        return {}
    return tool.annotations.model_dump(mode="json", by_alias=True, exclude_none=True)


def fingerprint(tool: types.Tool) -> str:
    """A hash of what the model reads about a tool."""
    material = {
        "title": tool.title,
        "description": tool.description,
        "input_schema": tool.input_schema,
        "annotations": _annotations(tool),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def resolve_policy(config: ServerConfig, tool: types.Tool) -> ToolPolicy:
    """Configured per tool, else per server; unconfigured read-only tools run at once."""
    override = config.tool_override(tool.name).policy
    if override is not None:
        return override
    if config.policy is not None:
        return config.policy
    hints = tool.annotations
    if hints is not None and hints.read_only_hint and not hints.destructive_hint:
        return ToolPolicy.AUTO
    return ToolPolicy.ASK


@dataclass(frozen=True, slots=True)
class ToolEntry:
    """One tool of one server: what the server said, what the model gets, and its hash."""

    tool: types.Tool
    spec: ToolSpec
    fingerprint: str


def _token_cost(spec: ToolSpec, tokenizer: Tokenizer | None) -> int:
    text = json.dumps(
        {"name": spec.name, "description": spec.description, "parameters": spec.parameters}
    )
    if tokenizer is None:
        return len(text) // 4 + 8
    return tokenizer.count(text) + 8


def build_specs(
    config: ServerConfig,
    tools: Iterable[types.Tool],
    *,
    taken: set[str] | None = None,
    tokenizer: Tokenizer | None = None,
) -> list[ToolEntry]:
    """A server's tools as tool specs; tools disabled in the configuration are left out."""
    taken = taken if taken is not None else set()
    entries: list[ToolEntry] = []
    for tool in tools:
        override = config.tool_override(tool.name)
        if not override.enabled:
            continue
        description = tool.description or tool.title or ""
        spec = ToolSpec(
            name=tool_name(config.name, tool.name, taken),
            server=config.name,
            tool=tool.name,
            description=description,
            parameters=function_schema(tool.input_schema),
            policy=resolve_policy(config, tool),
            annotations=_annotations(tool),
            timeout=config.tool_timeout(tool.name),
        )
        spec = spec.model_copy(update={"token_cost": _token_cost(spec, tokenizer)})
        entries.append(ToolEntry(tool=tool, spec=spec, fingerprint=fingerprint(tool)))
    return entries
