"""`assistant mcp ...` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SYSTEM_POSTGRES, PostgresServer

ASSISTANT = str(Path(sys.executable).parent / "assistant")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database_url_once() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL (the CLI needs one, not both)."""
    with PostgresServer("system-pg15", SYSTEM_POSTGRES).database() as url:
        yield url


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "DATABASE_", "MCP_"))
    }
    env.update(ASSISTANT_ENV_FILE="", DATA_DIR=str(data_dir), **extra)
    return env


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ASSISTANT, "mcp", *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


@pytest.mark.postgres
def test_servers_are_added_listed_and_removed(
    database_url_once: str, data_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"files": {"command": "files-server"}}}))
    env = _env(data_dir, DATABASE_URL=database_url_once, MCP_CONFIG=str(config))
    added = _run("add", "notes", "--url", "http://127.0.0.1:9/mcp", "--header", "X-Key=1", env=env)
    assert added.returncode == 0, added.stderr
    assert "Added http server notes (shared)" in added.stderr
    listed = _run("list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.splitlines()}
    assert rows["notes"][1:4] == ["api", "shared", "http"]
    assert rows["files"][1:5] == ["config", "shared", "stdio", "files-server"]
    removed = _run("remove", "notes", env=env)
    assert removed.returncode == 0, removed.stderr
    again = _run("remove", "notes", env=env)
    assert again.returncode == 1 and "No registered server notes" in again.stderr
    bad = _run("add", "bad name", "--url", "http://x/mcp", env=env)
    assert bad.returncode == 1 and "server name" in bad.stderr


def test_a_server_is_probed_and_a_tool_called(data_dir: Path) -> None:
    env = _env(data_dir)
    probe = _run(
        "test",
        "--call",
        "add",
        "--arguments",
        '{"a": 2, "b": 3}',
        "--",
        sys.executable,
        "-m",
        "tests.fakes.mcp_server",
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    assert "protocol 2026-07-28" in probe.stdout
    assert "  add: Add two integers." in probe.stdout
    assert '"value": {\n        "result": 5\n      }' in probe.stdout
    dead = _run("test", "--", sys.executable, "-c", "raise SystemExit(1)", env=env)
    assert dead.returncode == 1 and "Cannot connect" in dead.stderr
