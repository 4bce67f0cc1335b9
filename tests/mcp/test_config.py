"""Reading `mcp.json` (the mcpServers format) and what a server configuration may say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.domain import InvalidInput, ToolPolicy
from orchestrator.mcp import ServerSource, load_config_file, parse_server


def test_claude_desktop_entries_read_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "files": {"command": "npx", "args": ["-y", "server-filesystem", "/data"]},
                    "remote": {"url": "https://example.com/mcp", "headers": {"X-Key": "k"}},
                    "typed": {"type": "streamable-http", "url": "http://127.0.0.1:9/mcp"},
                    "off": {"command": "ls", "disabled": True},
                }
            }
        )
    )
    servers, problems = load_config_file(path)
    assert problems == []
    by_name = {server.name: server for server in servers}
    assert set(by_name) == {"files", "remote", "typed"}
    assert by_name["files"].transport == "stdio" and by_name["files"].args[-1] == "/data"
    assert by_name["remote"].transport == "http" and by_name["remote"].headers == {"X-Key": "k"}
    assert by_name["typed"].transport == "http"


def test_one_bad_entry_does_not_hide_the_others(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(
        json.dumps({"mcpServers": {"good": {"command": "ls"}, "bad": {"url": "ftp://x"}}})
    )
    servers, problems = load_config_file(path)
    assert [server.name for server in servers] == ["good"]
    [problem] = problems
    assert "'bad'" in problem and "url" in problem


def test_a_missing_or_broken_file_is_reported_not_fatal(tmp_path: Path) -> None:
    assert load_config_file(tmp_path / "absent.json") == ([], [])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    servers, [problem] = load_config_file(broken)
    assert servers == [] and "JSON" in problem


@pytest.mark.parametrize(
    "entry",
    [
        {"command": "ls", "env": {"OPENAI_API_KEY": "sk-x"}},
        {"command": "ls", "env": {"TOKEN": "${DATABASE_URL}"}},
        {"command": "ls", "args": ["--key", "${JWT_SECRET_KEY}"]},
        {"url": "http://x/mcp", "headers": {"Authorization": "Bearer ${MCP_SERVICE_TOKEN}"}},
    ],
)
def test_the_assistants_own_secrets_can_never_be_named(entry: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="own secrets"):
        parse_server("s", entry)


def test_a_secret_spelled_out_is_refused_too() -> None:
    config = parse_server("s", {"command": "ls", "env": {"KEY": "sk-live-0123456789"}})
    with pytest.raises(InvalidInput, match="own secrets"):
        config.check_secrets(["sk-live-0123456789"])
    config.check_secrets(["something-else-entirely"])


def test_variables_expand_from_the_environment_only_when_named() -> None:
    config = parse_server(
        "s", {"command": "ls", "args": ["${ROOT}/x"], "env": {"GITHUB_TOKEN": "${GH}"}}
    )
    environ = {"ROOT": "/srv", "GH": "ghp_1", "OTHER": "nope"}
    assert config.resolved_args(environ) == ["/srv/x"]
    assert config.resolved_env(environ) == {"GITHUB_TOKEN": "ghp_1"}


INJECTIONS = ["${HOME}", "${JWT_SECRET_KEY}", "{{config.secret}}", "$(id)", "`id`", "$HOME"]


def enumerate_env(values: list[str]) -> list[tuple[str, str]]:
    return [(f"V{i}", value) for i, value in enumerate(values)]


@pytest.mark.parametrize("source", [ServerSource.API, ServerSource.DISCOVERY])
def test_values_from_the_api_or_discovery_are_literal_never_expanded(
    source: ServerSource,
) -> None:
    environ = {"HOME": "/root", "JWT_SECRET_KEY": "the-secret"}
    stdio = parse_server(
        "s",
        {"command": "ls", "args": INJECTIONS, "env": dict(enumerate_env(INJECTIONS))},
        source=source,
    )
    http = parse_server(
        "h",
        {
            "url": "http://127.0.0.1:9/mcp?h=${HOME}&t={{x}}&c=$(id)",
            "headers": {f"X-{i}": v for i, v in enumerate(INJECTIONS)},
        },
        source=source,
    )
    assert stdio.resolved_args(environ) == INJECTIONS
    assert list(stdio.resolved_env(environ).values()) == INJECTIONS
    assert list(http.resolved_headers(environ).values()) == INJECTIONS
    assert http.resolved_url(environ) == "http://127.0.0.1:9/mcp?h=${HOME}&t={{x}}&c=$(id)"


@pytest.mark.parametrize(
    ("name", "entry", "message"),
    [
        ("has space", {"command": "ls"}, "server name"),
        ("s", {}, "command"),
        ("s", {"command": "ls", "url": "http://x/mcp"}, "command"),
        ("s", {"url": "http://x/mcp", "cwd": "/tmp"}, "url"),
        ("s", {"type": "websocket", "url": "ws://x"}, "unknown server type"),
        ("s", {"command": "ls", "auth": "oauth"}, "OAuth is for HTTP"),
        ("s", {"command": "ls", "timeout": -1}, "greater than 0"),
    ],
)
def test_invalid_entries_say_what_is_wrong(
    name: str, entry: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_server(name, entry)


def test_governance_settings_apply_per_tool_over_per_server() -> None:
    config = parse_server(
        "s",
        {
            "url": "http://x/mcp",
            "policy": "ask",
            "timeout": 30,
            "tools": {"read": {"policy": "auto", "timeout": 5}, "wipe": {"enabled": False}},
            "auth": {"type": "oauth", "client_id": "abc", "client_secret": "shh"},
        },
    )
    assert config.tool_timeout("read") == 5 and config.tool_timeout("other") == 30
    assert config.tool_override("read").policy is ToolPolicy.AUTO
    assert not config.tool_override("wipe").enabled
    public = config.public()
    assert public["auth"]["client_secret"] == "***"
    assert "shh" not in json.dumps(public)
