"""The MCP hub's records in PostgreSQL: servers, tool approvals, sealed credentials."""

from __future__ import annotations

import uuid

import pytest

from orchestrator.domain import Conflict
from orchestrator.store import SqlMCPStore, SqlUserStore

pytestmark = pytest.mark.anyio


async def _user(engine) -> str:
    record = await SqlUserStore(engine).create_user(
        f"{uuid.uuid4().hex}@test", None, is_admin=False
    )
    return record.id


async def test_server_names_are_unique_per_owner_and_among_shared_servers(engine) -> None:
    store = SqlMCPStore(engine)
    alice, bob = await _user(engine), await _user(engine)
    shared = f"shared-{uuid.uuid4().hex[:6]}"
    await store.insert_server(None, shared, {"url": "http://x/mcp"}, None, alice)
    with pytest.raises(Conflict):
        await store.insert_server(None, shared, {"url": "http://y/mcp"}, None, alice)
    await store.insert_server(alice, "notes", {"url": "http://a/mcp"}, "sealed", alice)
    await store.insert_server(bob, "notes", {"url": "http://b/mcp"}, None, bob)
    with pytest.raises(Conflict):
        await store.insert_server(alice, "notes", {"url": "http://c/mcp"}, None, alice)
    rows = {(row["owner_id"], row["name"]): row for row in await store.load_servers()}
    assert rows[alice, "notes"]["secrets"] == "sealed"
    assert rows[bob, "notes"]["config"] == {"url": "http://b/mcp"}
    assert await store.delete_server(alice, "notes")
    assert not await store.delete_server(alice, "notes")
    assert await store.delete_server(None, shared)
    assert (bob, "notes") in {(r["owner_id"], r["name"]) for r in await store.load_servers()}


async def test_approvals_and_credentials_are_replaced_not_duplicated(engine) -> None:
    store = SqlMCPStore(engine)
    alice = await _user(engine)
    key = f"*/srv-{uuid.uuid4().hex[:6]}"
    await store.save_approval(key, "read", "v1", None)
    await store.save_approval(key, "read", "v2", alice)
    assert (await store.load_approvals())[key] == {"read": "v2"}
    assert await store.load_credentials(alice, key) is None
    await store.save_credentials(alice, key, "sealed-1")
    await store.save_credentials(alice, key, "sealed-2")
    assert await store.load_credentials(alice, key) == "sealed-2"
    await store.delete_credentials(alice, key)
    assert await store.load_credentials(alice, key) is None
