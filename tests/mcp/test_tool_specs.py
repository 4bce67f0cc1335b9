"""MCP tools as function specs: names, schemas, policies and fingerprints."""

from __future__ import annotations

import mcp_types as types
import pytest

from orchestrator.domain import TOOL_NAME_PATTERN, ToolPolicy
from orchestrator.mcp import parse_server
from orchestrator.mcp.governance.tool_specs import (
    build_specs,
    fingerprint,
    function_schema,
    tool_name,
)


def _tool(name: str, **extra: object) -> types.Tool:
    schema = {"type": "object", "properties": {"x": {"type": "string"}}}
    return types.Tool(name=name, input_schema=schema, **extra)  # type: ignore[arg-type]


def test_names_are_namespaced_and_always_valid_for_openai() -> None:
    taken: set[str] = set()
    plain = tool_name("files", "read", taken)
    dotted = tool_name("files", "read.file", taken)
    underscored = tool_name("files", "read_file", taken)
    long = tool_name("files", "x" * 100, taken)
    assert plain == "files__read"
    assert dotted == "files__read_file"
    assert underscored != dotted and underscored.startswith("files__read_file_")
    assert len(long) <= 64
    for name in (plain, dotted, underscored, long):
        assert TOOL_NAME_PATTERN.match(name)
    assert tool_name("files", "x" * 100, set()) == long  # stable across restarts


def test_input_schemas_become_function_parameters() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "$defs": {"A": {"type": "string"}},
    }
    converted = function_schema(schema)
    assert converted == {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "$defs": {"A": {"type": "string"}},
    }
    assert function_schema({"type": "object"}) == {"type": "object", "properties": {}}
    assert "$schema" in schema  # the server's schema itself is untouched


@pytest.mark.parametrize(
    ("hints", "configured", "expected"),
    [
        (types.ToolAnnotations(read_only_hint=True), {}, ToolPolicy.AUTO),
        (types.ToolAnnotations(read_only_hint=True, destructive_hint=True), {}, ToolPolicy.ASK),
        (None, {}, ToolPolicy.ASK),
        (types.ToolAnnotations(read_only_hint=True), {"policy": "deny"}, ToolPolicy.DENY),
        (None, {"tools": {"t": {"policy": "auto"}}}, ToolPolicy.AUTO),
        (None, {"policy": "deny", "tools": {"t": {"policy": "ask"}}}, ToolPolicy.ASK),
    ],
)
def test_policies_follow_configuration_then_read_only_hints(
    hints: types.ToolAnnotations | None, configured: dict[str, object], expected: ToolPolicy
) -> None:
    config = parse_server("s", {"command": "ls", **configured})
    [entry] = build_specs(config, [_tool("t", annotations=hints)])
    assert entry.spec.policy is expected


def test_disabled_tools_are_left_out_and_timeouts_apply() -> None:
    config = parse_server(
        "s", {"command": "ls", "timeout": 9, "tools": {"b": {"enabled": False, "timeout": 1}}}
    )
    entries = build_specs(config, [_tool("a"), _tool("b")])
    assert [e.spec.tool for e in entries] == ["a"]
    assert entries[0].spec.timeout == 9
    assert entries[0].spec.token_cost > 0


def test_fingerprints_change_with_what_the_model_reads() -> None:
    base = _tool("t", description="Reads a file.")
    assert fingerprint(base) == fingerprint(_tool("t", description="Reads a file."))
    assert fingerprint(base) != fingerprint(_tool("t", description="Reads a file and mails it."))
    hinted = _tool(
        "t", description="Reads a file.", annotations=types.ToolAnnotations(read_only_hint=True)
    )
    assert fingerprint(base) != fingerprint(hinted)
