"""Groups in PostgreSQL: what applies to a user, and how fresh it is."""

from __future__ import annotations

import uuid

import pytest

from orchestrator.domain import Conflict, GroupPolicy, NotFound
from orchestrator.store import SqlGroupStore, SqlMCPStore, SqlUserStore

pytestmark = pytest.mark.anyio


async def _user(engine, *, admin: bool = False) -> str:
    record = await SqlUserStore(engine).create_user(
        f"{uuid.uuid4().hex}@test", None, is_admin=admin
    )
    return record.id


def _name(prefix: str = "g") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_models_are_the_union_of_the_lists_and_a_null_list_allows_any(engine) -> None:
    store = SqlGroupStore(engine, recheck_seconds=0)
    user = await _user(engine)
    assert (await store.access(user)).models is None  # in no group: any model
    small = await store.create(_name(), models=["small"])
    large = await store.create(_name(), models=["large", "small"])
    await store.add_member(small.id, user)
    assert (await store.access(user)).models == {"small"}
    await store.add_member(large.id, user)
    assert (await store.access(user)).models == {"small", "large"}
    anything = await store.create(_name())
    await store.add_member(anything.id, user)
    assert (await store.access(user)).models is None


async def test_a_limited_shared_server_is_hidden_from_everyone_but_members_and_admins(
    engine,
) -> None:
    store = SqlGroupStore(engine, recheck_seconds=0)
    member, outsider, admin = (
        await _user(engine),
        await _user(engine),
        await _user(engine, admin=True),
    )
    server = _name("crm")
    await SqlMCPStore(engine).insert_server(None, server, {"url": "http://x/mcp"}, None, admin)
    group = await store.create(_name())
    await store.add_member(group.id, member)
    assert server not in (await store.access(outsider)).hidden_servers  # not limited yet
    shared = await store.share_server(group.id, server)
    assert shared.servers == [server]
    assert server in (await store.access(outsider)).hidden_servers
    assert server not in (await store.access(member)).hidden_servers
    assert server not in (await store.access(admin)).hidden_servers
    await store.unshare_server(group.id, server)
    assert server not in (await store.access(outsider)).hidden_servers
    with pytest.raises(NotFound):
        await store.unshare_server(group.id, server)
    personal_owner = await _user(engine)
    await SqlMCPStore(engine).insert_server(
        personal_owner, "mine", {"url": "http://y/mcp"}, None, personal_owner
    )
    with pytest.raises(NotFound, match="personal servers"):
        await store.share_server(group.id, "mine")


async def test_a_change_here_applies_at_once_and_another_writers_within_the_bound(engine) -> None:
    mine = SqlGroupStore(engine, recheck_seconds=3600)
    other = SqlGroupStore(engine, recheck_seconds=3600)  # another replica
    user = await _user(engine)
    group = await mine.create(_name())
    await mine.add_member(group.id, user)
    assert (await mine.access(user)).rules == ()
    assert (await other.access(user)).rules == ()
    await mine.set_rule(group.id, "web", "*", GroupPolicy.DENY)
    assert [r.policy for r in (await mine.access(user)).rules] == [GroupPolicy.DENY]
    assert (await other.access(user)).rules == ()  # cached on the other replica...
    other.forget()  # ...until its bound passes
    assert [r.server for r in (await other.access(user)).rules] == ["web"]
    await mine.set_rule(group.id, "web", "*", GroupPolicy.ASK)  # one rule per tool: replaced
    assert [r.policy for r in (await mine.access(user)).rules] == [GroupPolicy.ASK]


async def test_group_names_are_unique_and_deleting_a_group_frees_its_members(engine) -> None:
    store = SqlGroupStore(engine, recheck_seconds=0)
    user = await _user(engine)
    name = _name()
    group = await store.create(name, models=["small"])
    with pytest.raises(Conflict):
        await store.create(name)
    other = await store.create(_name())
    with pytest.raises(Conflict):
        await store.update(other.id, name=name)
    await store.add_member(group.id, user)
    await store.add_member(group.id, user)  # twice: still one membership
    assert [m.id for m in (await store.get(group.id)).members] == [user]
    await store.delete(group.id)
    assert (await store.access(user)).models is None
    with pytest.raises(NotFound):
        await store.get(group.id)
    with pytest.raises(NotFound):
        await store.delete(group.id)
