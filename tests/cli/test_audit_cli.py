"""What an operator's commands leave in the audit log: the action, and the CLI as the actor."""

from __future__ import annotations

import asyncio
import getpass
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.store import AuditFilter, AuditRecord, SqlAuditLog, create_engine
from tests.mcp.test_secrets_cli import own_database

pytestmark = pytest.mark.postgres

__all__ = ["own_database"]  # a fixture: a database of its own, for the rotation


@pytest.fixture
def cli(own_database: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MCP_TOKEN_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSISTANT_ENV_FILE", "")
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", own_database)
    return CliRunner()


def _ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result.stdout


def _records(url: str, action: str) -> list[AuditRecord]:
    async def go() -> list[AuditRecord]:
        engine = create_engine(url, pool_size=1)
        try:
            records, _ = await SqlAuditLog(engine).page(AuditFilter(action=action), limit=100)
            return records[::-1]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_user_group_key_and_secret_commands_are_recorded_with_the_operator_as_actor(
    cli: CliRunner, own_database: str
) -> None:
    operator = f"cli:{getpass.getuser()}"
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    group = f"ops-{uuid.uuid4().hex[:6]}"
    _ok(cli, "users", "create", email, "--password", "a-long-password")
    _ok(cli, "users", "set-role", email, "admin")
    _ok(cli, "users", "reset-password", email, "--password", "another-long-one")
    _ok(cli, "groups", "create", group, "--model", "gpt-5-mini")
    _ok(cli, "groups", "add-member", group, email)
    _ok(cli, "groups", "deny", group, "files")
    refused = cli.invoke(app, ["groups", "create", group])  # the name is taken
    assert refused.exit_code != 0
    key = _ok(cli, "keys", "create", "--user", email, "--name", "backup").strip()
    kid = _ok(cli, "secrets", "rotate").strip().splitlines()[-1]

    users = _records(own_database, "user.")
    user_id = users[0].target_id
    assert [(r.action, r.actor_email, r.actor_id, r.detail) for r in users] == [
        ("user.create", operator, None, {"email": email, "is_admin": False}),
        ("user.update", operator, None, {"email": email, "is_admin": True}),
        ("user.password_reset", operator, None, {"generated": False}),
    ]
    groups = _records(own_database, "group.")
    assert [(r.action, r.actor_email, r.actor_id, r.target_type, r.detail) for r in groups] == [
        ("group.create", operator, None, "group", {"name": group, "models": ["gpt-5-mini"]}),
        ("group.member.add", operator, None, "group", {"user_id": user_id}),
        (
            "group.policy.set",
            operator,
            None,
            "group",
            {"server": "files", "tool": "*", "policy": "deny"},
        ),
    ]
    assert len({r.target_id for r in groups}) == 1
    [made] = _records(own_database, "key.create")
    assert (made.actor_email, made.target_type, made.detail["name"]) == (
        operator,
        "api_key",
        "backup",
    )
    assert key.startswith(made.detail["prefix"]) and key not in str(made)
    [rotation] = _records(own_database, "secrets.")
    assert (rotation.action, rotation.actor_email, rotation.target_id) == (
        "secrets.rotate",
        operator,
        kid,
    )
    assert rotation.detail["kid"] == kid
    assert {"resealed", "legacy_resealed", "retired"} <= rotation.detail.keys()
    assert "a-long-password" not in str(users) and "another-long-one" not in str(users)
