"""`assistant secrets status|rotate` as an operator runs them, against a real database."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestrator.mcp import MasterKeys, Vault
from orchestrator.mcp.governance import server_binding
from orchestrator.store import SqlKeyStore, create_engine
from tests.conftest import SYSTEM_POSTGRES, PostgresServer
from tests.mcp.test_cli import ASSISTANT, ROOT, _env
from tests.mcp.test_vault import legacy_seal


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL: a rotation retires every other key."""
    with PostgresServer("system-pg15", SYSTEM_POSTGRES).database() as url:
        yield url


def _said(result: subprocess.CompletedProcess[str]) -> str:
    """Standard error as one line (the console wraps long messages)."""
    return " ".join(result.stderr.split())


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ASSISTANT, *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def _status(env: dict[str, str]) -> list[list[str]]:
    result = _run("secrets", "status", env=env)
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


async def _sql(url: str, statement: str, **values: object) -> list[tuple[object, ...]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), values)
            return [tuple(row) for row in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def _open_server_secrets(url: str, master: str, name: str) -> dict[str, object] | None:
    (server_id, owner, sealed), *_ = await _sql(
        url, "SELECT id::text, owner_id::text, secrets FROM mcp_servers WHERE name = :n", n=name
    )
    engine = create_engine(url, pool_size=1)
    try:
        vault = Vault(MasterKeys(master), SqlKeyStore(engine))
        return await vault.open(str(sealed), server_binding(str(server_id), owner))  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.timeout(300)  # nine runs of the command, on a machine that may be busy
def test_rotate_reseals_old_and_legacy_secrets_and_a_wrong_master_key_changes_nothing(
    own_database: str, data_dir: Path
) -> None:
    url = own_database
    # This checkout's code, not whichever the shared environment's console script imports.
    env = _env(data_dir, DATABASE_URL=url, PYTHONPATH=str(ROOT))
    added = _run(
        "mcp",
        "add",
        "notes",
        "--url",
        "http://127.0.0.1:9/mcp",
        "--header",
        "X-Key=s3cret",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    # A server stored before key rings, its secrets sealed under the JWT-derived key.
    jwt_secret = (data_dir / "jwt-secret").read_text().strip()
    old = legacy_seal(jwt_secret, {"headers": {"X-Key": "from-2025"}})
    asyncio.run(
        _sql(
            url,
            "INSERT INTO mcp_servers (id, name, config, secrets) "
            "VALUES (gen_random_uuid(), 'old', CAST(:c AS jsonb), :s)",
            c='{"url": "http://127.0.0.1:9/old", "network": "any"}',
            s=old,
        )
    )
    status = _run("secrets", "status", env=env)
    assert "1 secret(s) sealed before key rings" in _said(status)
    [before] = [line.split("\t") for line in status.stdout.splitlines()]
    first_kid, state, master, _, retired, blobs = before
    assert (state, retired, blobs) == ("current", "-", "1") and master.endswith("(current)")

    wrong = env | {"MCP_TOKEN_KEY": "a-wrong-master-key-for-this-test"}
    refused = _run("secrets", "rotate", env=wrong)
    assert refused.returncode == 2 and "MCP_TOKEN_KEY does not hold" in _said(refused)
    assert _run("mcp", "list", env=wrong).returncode == 2  # nor does anything start with it
    assert _status(env) == [before]

    rotated = _run("secrets", "rotate", "--batch", "1", env=env)
    assert rotated.returncode == 0, rotated.stderr
    new_kid = rotated.stdout.strip()
    assert "re-sealed 1 secret(s) and 1 from before key rings" in _said(rotated)
    assert f"retired {first_kid}" in _said(rotated)
    rows = {row[0]: row for row in _status(env)}
    assert rows[new_kid][1] == "current" and rows[new_kid][5] == "2"
    assert rows[first_kid][1] == "retired" and rows[first_kid][5] == "0"
    local_master = (data_dir / "secrets-master-key").read_text().strip()
    assert asyncio.run(_open_server_secrets(url, local_master, "old")) == {
        "headers": {"X-Key": "from-2025"}
    }

    # The master key rotates: the new one first, the old one after it, re-wrap, then only the new.
    ring = env | {"MCP_TOKEN_KEY": f"the-next-master-key-0123456789,{local_master}"}
    rewrapped = _run("secrets", "rotate", "--master", env=ring)
    assert rewrapped.returncode == 0 and "Re-wrapped 2 data key(s)" in _said(rewrapped)
    only_new = env | {"MCP_TOKEN_KEY": "the-next-master-key-0123456789"}
    assert all(row[2].endswith("(current)") for row in _status(only_new))
    assert asyncio.run(_open_server_secrets(url, "the-next-master-key-0123456789", "notes")) == {
        "headers": {"X-Key": "s3cret"}
    }
