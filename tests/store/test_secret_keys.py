"""Secrets at rest on PostgreSQL: bound to their rows, rotated under a second live process.

Each test has a database of its own: a rotation retires every other data key, which the
session's shared database must not see. Two engines, each with its own vault, stand for
two processes of the orchestrator.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import Conflict
from orchestrator.mcp import MasterKeyError, MasterKeys, Vault, key_status, rewrap, rotate
from orchestrator.mcp.config import ServerSource, parse_server
from orchestrator.mcp.governance import credential_binding, server_binding
from orchestrator.mcp.governance.oauth import CredentialStorage
from orchestrator.mcp.governance.vault import LEGACY, kid_of
from orchestrator.mcp.server_set import ServerSet
from orchestrator.store import SqlKeyStore, SqlMCPStore, SqlSealedRows, SqlUserStore, create_engine
from orchestrator.store import upgrade as migrate
from tests.mcp.test_vault import legacy_seal

pytestmark = pytest.mark.anyio

MASTER = "the-master-key-of-this-test"
OLD_TOKEN_KEY = "the-mcp-token-key-before-key-rings"


@dataclass
class Process:
    """One orchestrator process: its own engine and vault on the shared database."""

    engine: AsyncEngine
    vault: Vault
    store: SqlMCPStore


@pytest.fixture
async def database(fresh_database_url: str) -> str:
    await migrate(fresh_database_url)
    return fresh_database_url


@pytest.fixture
async def processes(database: str) -> AsyncIterator[tuple[Process, Process]]:
    made: list[Process] = []
    for _ in range(2):
        engine = create_engine(database, pool_size=3)
        vault = Vault(MasterKeys(MASTER), SqlKeyStore(engine), legacy=[OLD_TOKEN_KEY])
        made.append(Process(engine, vault, SqlMCPStore(engine)))
    try:
        yield made[0], made[1]
    finally:
        for process in made:
            await process.engine.dispose()


async def _user(engine: AsyncEngine) -> str:
    record = await SqlUserStore(engine).create_user(
        f"{uuid.uuid4().hex}@test", None, is_admin=False
    )
    return record.id


def _remote(name: str, owner_id: str | None, **extra: object):
    entry = {"url": f"https://{name}.example.com/mcp", **extra}
    return parse_server(name, entry, owner_id=owner_id, source=ServerSource.API, network=None)


async def test_a_blob_swapped_between_rows_does_not_open_and_the_user_authorizes_again(
    processes: tuple[Process, Process],
) -> None:
    from mcp.shared.auth import OAuthToken

    one, _ = processes
    alice, bob = await _user(one.engine), await _user(one.engine)
    config = _remote("notes", None)
    storage = {
        user: CredentialStorage(one.store, one.vault, user, config, "http://x/cb")
        for user in (alice, bob)
    }
    for user, token in ((alice, "alices-token"), (bob, "bobs-token")):
        await storage[user].set_tokens(OAuthToken(access_token=token, token_type="Bearer"))
    assert (await storage[alice].get_tokens()).access_token == "alices-token"  # type: ignore[union-attr]
    servers = ServerSet(one.store, one.vault, config_path=None, discovery=None)
    await servers.add(_remote("wiki", alice, headers={"X-Key": "alices-key"}), alice)
    await servers.add(_remote("wiki", bob, headers={"X-Key": "bobs-key"}), bob)

    async with one.engine.begin() as conn:  # someone with write access swaps the blobs
        await conn.execute(
            text(
                "UPDATE mcp_credentials c SET sealed = o.sealed FROM mcp_credentials o "
                "WHERE c.server_key = o.server_key AND c.user_id <> o.user_id "
                "AND c.user_id IN (:a, :b) AND o.user_id IN (:a, :b)"
            ),
            {"a": alice, "b": bob},
        )
        await conn.execute(
            text(
                "UPDATE mcp_servers s SET secrets = o.secrets FROM mcp_servers o "
                "WHERE s.name = o.name AND s.id <> o.id AND s.owner_id IN (:a, :b) "
                "AND o.owner_id IN (:a, :b)"
            ),
            {"a": alice, "b": bob},
        )

    assert await storage[alice].get_tokens() is None  # asked to authorize again
    assert await storage[bob].get_tokens() is None
    desired = await servers.desired()
    stored = [config for config in desired.values() if config.name == "wiki"]
    assert len(stored) == 2 and all(config.headers == {} for config in stored)
    # Authorizing again works, and is the user's own again.
    await storage[alice].set_tokens(OAuthToken(access_token="new", token_type="Bearer"))
    assert (await storage[alice].get_tokens()).access_token == "new"  # type: ignore[union-attr]


async def test_rotation_reseals_everything_while_another_process_reads_and_writes(
    processes: tuple[Process, Process],
) -> None:
    one, two = processes
    alice, bob = await _user(one.engine), await _user(one.engine)
    servers = ServerSet(one.store, one.vault, config_path=None, discovery=None)
    await servers.add(_remote("wiki", alice, headers={"X-Key": "alices-key"}), alice)
    expected: dict[tuple[str, str], dict[str, object]] = {}
    for n in range(12):
        for user in (alice, bob):
            value = {"tokens": {"access_token": f"{user}-{n}"}}
            sealed = await one.vault.seal(value, credential_binding(user, f"srv-{n}"))
            await one.store.save_credentials(user, f"srv-{n}", sealed)
            expected[user, f"srv-{n}"] = value
    # Blobs from before key rings: MCP_TOKEN_KEY's Fernet, one credential and one server.
    expected[bob, "legacy"] = {"tokens": {"access_token": "from-2025"}}
    await one.store.save_credentials(
        bob, "legacy", legacy_seal(OLD_TOKEN_KEY, expected[bob, "legacy"])
    )
    await one.store.insert_server(
        bob,
        "old",
        {"url": "https://old.example.com/mcp"},
        legacy_seal(OLD_TOKEN_KEY, {"headers": {"X-Key": "old"}}),
        bob,
    )
    old_kid = (await one.vault.keys.current()).kid  # type: ignore[union-attr]

    done = anyio.Event()
    reads = writes = 0
    failures: list[str] = []
    last_written: dict[str, object] = {}

    async def read_all() -> None:  # the other process keeps serving users meanwhile
        nonlocal reads
        while not done.is_set():
            for (user, key), value in expected.items():
                if (user, key) == (alice, "srv-0"):
                    continue  # the writer's row
                sealed = await two.store.load_credentials(user, key)
                if await two.vault.open(sealed, credential_binding(user, key)) != value:
                    failures.append(f"{key} of {user} did not open")
                reads += 1

    async def write() -> None:  # ... and a user's token refreshes, again and again
        nonlocal writes
        while not done.is_set():
            value = {"tokens": {"access_token": f"refreshed-{writes}"}}
            sealed = await two.vault.seal(value, credential_binding(alice, "srv-0"))
            await two.store.save_credentials(alice, "srv-0", sealed)
            last_written.update(value)
            writes += 1

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(read_all)
            group.start_soon(write)
            rotation = await rotate(one.vault, SqlSealedRows(one.engine), batch=2)
            done.set()

    assert failures == [] and reads > 0 and writes > 0
    assert rotation.retired == [old_kid] and rotation.unreadable == []
    assert rotation.legacy_resealed == 2
    stored = await one.store.load_credentials(alice, "srv-0")
    assert await one.vault.open(stored, credential_binding(alice, "srv-0")) == last_written
    for (user, key), value in expected.items():
        sealed = await one.store.load_credentials(user, key)
        assert sealed is not None
        if (user, key) != (alice, "srv-0"):
            assert kid_of(sealed) == rotation.kid
            assert await two.vault.open(sealed, credential_binding(user, key)) == value
    statuses, legacy, unknown = await key_status(one.vault, SqlSealedRows(one.engine))
    by_kid = {status.kid: status for status in statuses}
    assert legacy == 0 and unknown == 0
    assert by_kid[rotation.kid].current and by_kid[rotation.kid].blobs == 2 * 12 + 1 + 2
    assert by_kid[old_kid].retired_at is not None and by_kid[old_kid].blobs == 0
    # The legacy server's secrets are now bound to its row, and still what they were.
    rows = {row["name"]: row for row in await one.store.load_servers() if row["owner_id"] == bob}
    old = rows["old"]
    assert kid_of(old["secrets"]) == rotation.kid != LEGACY
    assert await two.vault.open(old["secrets"], server_binding(old["id"], bob)) == {
        "headers": {"X-Key": "old"}
    }


async def test_the_master_key_rotates_and_a_wrong_one_changes_nothing(
    processes: tuple[Process, Process], database: str
) -> None:
    one, _ = processes
    alice = await _user(one.engine)
    sealed = await one.vault.seal({"a": 1}, credential_binding(alice, "x"))
    await one.store.save_credentials(alice, "x", sealed)
    keys = SqlKeyStore(one.engine)
    before = await keys.all_keys()

    wrong = Vault(MasterKeys("not-the-master-key"), keys)
    with pytest.raises(MasterKeyError, match="MCP_TOKEN_KEY does not hold"):
        await wrong.check()
    assert await wrong.open(sealed, credential_binding(alice, "x")) is None
    assert await keys.all_keys() == before

    ring = Vault(MasterKeys("the-next-master-key", MASTER), keys)
    await ring.check()
    assert await rewrap(ring) == [before[0].kid]
    after = await keys.all_keys()
    assert after[0].master_id == ring.masters.current_id != before[0].master_id
    only_new = Vault(MasterKeys("the-next-master-key"), SqlKeyStore(one.engine))
    await only_new.check()
    assert await only_new.open(sealed, credential_binding(alice, "x")) == {"a": 1}
    with pytest.raises(MasterKeyError):
        await Vault(MasterKeys(MASTER), SqlKeyStore(one.engine)).check()


async def test_one_rotation_at_a_time_across_processes(
    processes: tuple[Process, Process],
) -> None:
    one, two = processes
    await one.vault.check()
    async with one.vault.keys.rotating():  # a rotation runs in the first process
        with pytest.raises(Conflict, match="Another rotation"):
            await rotate(two.vault, SqlSealedRows(two.engine))
        with pytest.raises(Conflict):
            await rewrap(two.vault)
        assert len(await two.vault.keys.all_keys()) == 1  # the refused one changed nothing
    rotation = await rotate(two.vault, SqlSealedRows(two.engine))
    assert len(rotation.retired) == 1
