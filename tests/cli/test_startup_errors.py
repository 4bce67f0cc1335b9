"""A configuration error found while the orchestrator starts: one clear line, exit code 2."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SYSTEM_POSTGRES, PostgresServer
from tests.mcp.test_cli import ASSISTANT, ROOT, _env

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]


@pytest.fixture
def sealed_database() -> Iterator[str]:
    """A database of its own (the test seals its data key with one master key)."""
    with PostgresServer("system-pg15", SYSTEM_POSTGRES).database() as url:
        yield url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ASSISTANT, *args], env=env, capture_output=True, text=True, timeout=150, cwd=ROOT
    )


@pytest.mark.parametrize("command", [("serve", "orchestrator"), ("up",)])
def test_a_wrong_master_key_stops_the_start_with_one_clear_line(
    sealed_database: str, data_dir: Path, command: tuple[str, ...]
) -> None:
    env = _env(
        data_dir,
        DATABASE_URL=sealed_database,
        PYTHONPATH=str(ROOT),
        PORT=str(_free_port()),
        FRONTEND_PORT=str(_free_port()),
        MCP_PORT=str(_free_port()),
        MCP_TOKEN_KEY="first-master-key-of-this-test",
    )
    made = _run("secrets", "rotate", env=env)  # a data key sealed with the first master key
    assert made.returncode == 0, made.stderr

    env["MCP_TOKEN_KEY"] = "another-master-key-entirely"
    result = _run(*command, env=env)

    assert result.returncode == 2, result.stderr
    said = " ".join(result.stderr.split())
    assert "Configuration error: Data key" in said and "MCP_TOKEN_KEY does not hold" in said
    assert "Traceback" not in result.stderr and "Application startup failed" not in said
