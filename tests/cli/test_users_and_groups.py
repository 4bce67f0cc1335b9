"""`assistant users` and `assistant groups` against the database, as an operator runs them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.auth import AuthService, PasswordChangeRequired, TokenCodec
from orchestrator.cli import app
from orchestrator.domain import Access, ToolPolicy, ToolSpec
from orchestrator.store import SqlGroupStore, SqlUserStore, create_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def cli(database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSISTANT_ENV_FILE", "")
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def _ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result.stdout


def _access(database_url: str, email: str) -> Access:
    async def go() -> Access:
        engine = create_engine(database_url, pool_size=1)
        try:
            user = await SqlUserStore(engine).by_email(email)
            assert user is not None
            return await SqlGroupStore(engine).access(user.id)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _login(database_url: str, email: str, password: str, new_password: str | None = None) -> None:
    async def go() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            codec = TokenCodec("s" * 32, access_minutes=5, refresh_days=1)
            auth = AuthService(SqlUserStore(engine), codec)
            await auth.login(email, password, new_password=new_password)
        finally:
            await engine.dispose()

    asyncio.run(go())


def _spec(server: str, tool: str) -> ToolSpec:
    return ToolSpec(name=f"{server}__{tool}", server=server, tool=tool, policy=ToolPolicy.AUTO)


def test_an_operator_manages_roles_and_accounts(cli: CliRunner) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    _ok(cli, "users", "create", email, "--password", "a-long-password")
    _ok(cli, "users", "set-role", email, "admin")
    listed = [line.split("\t") for line in _ok(cli, "users", "list").splitlines()]
    assert [email, "admin", "active", ""] in listed
    _ok(cli, "users", "set-role", email, "user")
    _ok(cli, "users", "disable", email)
    listed = [line.split("\t") for line in _ok(cli, "users", "list").splitlines()]
    assert [email, "user", "disabled", ""] in listed
    _ok(cli, "users", "enable", email)
    generated = _ok(cli, "users", "reset-password", email).strip()
    assert len(generated) >= 12

    wrong = cli.invoke(app, ["users", "set-role", email, "owner"])
    assert wrong.exit_code == 2 and "admin" in wrong.stderr
    missing = cli.invoke(app, ["users", "disable", "nobody@example.com"])
    assert missing.exit_code == 1 and "No user" in missing.stderr


def test_an_operator_sets_up_a_group_that_governs_its_members(
    cli: CliRunner, database_url: str
) -> None:
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    group = f"interns-{uuid.uuid4().hex[:6]}"
    _ok(cli, "users", "create", email, "--password", "a-long-password")
    _ok(cli, "groups", "create", group, "--model", "gpt-5-mini")
    _ok(cli, "groups", "add-member", group, email)
    _ok(cli, "groups", "deny", group, "files")
    _ok(cli, "groups", "ask", group, "web", "fetch")

    access = _access(database_url, email)
    assert access.groups == (group,)
    assert not access.allows_model("gpt-5") and access.allows_model("gpt-5-mini")
    governed = access.govern([_spec("files", "read"), _spec("web", "fetch"), _spec("web", "x")])
    assert [(s.name, s.policy, s.always_ask) for s in governed] == [
        ("web__fetch", ToolPolicy.ASK, True),
        ("web__x", ToolPolicy.AUTO, False),
    ]
    shown = _ok(cli, "groups", "list")
    assert f"{group}\t1 members\tgpt-5-mini" in shown
    assert f"member\t{email}" in shown and "deny\tfiles/*" in shown and "ask\tweb/fetch" in shown
    listed = [line.split("\t") for line in _ok(cli, "users", "list").splitlines()]
    assert [email, "user", "active", group] in listed

    _ok(cli, "groups", "allow", group, "files")
    _ok(cli, "groups", "models", group, "--any")
    _ok(cli, "groups", "remove-member", group, email)
    assert _access(database_url, email) == Access()
    _ok(cli, "groups", "delete", group)
    assert group not in _ok(cli, "groups", "list")


def test_a_password_reset_from_the_cli_must_be_changed_at_the_next_login(
    cli: CliRunner, database_url: str
) -> None:
    email = f"reset-{uuid.uuid4().hex[:8]}@example.com"
    _ok(cli, "users", "create", email, "--password", "a-long-password")
    result = cli.invoke(app, ["users", "reset-password", email])
    assert result.exit_code == 0, result.output
    temporary = result.stdout.strip()
    assert len(temporary) >= 12 and "\n" not in temporary  # printed once, alone
    assert "next login" in result.stderr
    with pytest.raises(PasswordChangeRequired):
        _login(database_url, email, temporary)
    _login(database_url, email, temporary, new_password="my-own-long-password")
    _login(database_url, email, "my-own-long-password")  # no change required any more

    given = cli.invoke(app, ["users", "reset-password", email, "--password", "a-new-long-one"])
    assert given.exit_code == 0 and given.stdout == ""  # a given password is not echoed
    with pytest.raises(PasswordChangeRequired):
        _login(database_url, email, "a-new-long-one")
    weak = cli.invoke(app, ["users", "reset-password", email, "--password", "short"])
    assert weak.exit_code != 0
    _login(database_url, email, "a-new-long-one", new_password="yet-another-password")


def test_group_commands_refuse_what_does_not_exist(cli: CliRunner) -> None:
    group = f"g-{uuid.uuid4().hex[:6]}"
    _ok(cli, "groups", "create", group)
    again = cli.invoke(app, ["groups", "create", group])
    assert again.exit_code == 1 and "already exists" in again.stderr
    for args, message in [
        (["groups", "add-member", "no-such-group", "x@example.com"], "No group named"),
        (["groups", "add-member", group, "nobody@example.com"], "No user"),
        (["groups", "allow", group, "files"], "no rule"),
        (["groups", "share", group, "nowhere"], "No shared MCP server"),
        (["groups", "delete", "no-such-group"], "No group named"),
    ]:
        result = cli.invoke(app, args)
        assert result.exit_code == 1 and message in result.stderr, (args, result.stderr)
    bare = cli.invoke(app, ["groups", "models", group])
    assert bare.exit_code == 2
