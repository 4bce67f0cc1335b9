"""Conversations and messages in PostgreSQL."""

from __future__ import annotations

import pytest

from orchestrator.domain import Conflict, Message, NotFound, Role, RunOutcome, RunStatus, TextPart
from orchestrator.store import HistoryCache, SqlConversationStore, SqlRunStore, SqlUserStore

pytestmark = pytest.mark.anyio


async def _user(engine) -> str:
    import uuid

    record = await SqlUserStore(engine).create_user(
        f"{uuid.uuid4().hex}@test", None, is_admin=False
    )
    return record.id


def _message(text: str, role: Role = Role.USER) -> Message:
    import uuid

    return Message(id=str(uuid.uuid4()), role=role, content=[TextPart(text=text)], token_count=3)


async def test_a_user_never_sees_another_users_conversation(engine) -> None:
    store = SqlConversationStore(engine)
    alice, bob = await _user(engine), await _user(engine)
    conversation = await store.create_conversation(alice, "Alice's")
    with pytest.raises(NotFound):
        await store.get_conversation(bob, conversation.id)
    with pytest.raises(NotFound):
        await store.rename_conversation(bob, conversation.id, "mine now")
    with pytest.raises(NotFound):
        await store.delete_conversation(bob, conversation.id)
    assert (await store.list_conversations(bob, query=None, limit=10, cursor=None)).items == []
    assert (await store.get_conversation(alice, conversation.id)).title == "Alice's"


async def test_listing_pages_newest_first_and_searches_titles_and_messages(engine) -> None:
    store = SqlConversationStore(engine)
    runs = SqlRunStore(engine, store)
    user = await _user(engine)
    ids = [(await store.create_conversation(user, f"Chat {i}")).id for i in range(5)]
    await runs.start_run(user, ids[1], _message("the quick brown fox"), "gpt-5")
    first = await store.list_conversations(user, query=None, limit=2, cursor=None)
    assert [c.id for c in first.items] == [ids[1], ids[4]]
    second = await store.list_conversations(user, query=None, limit=2, cursor=first.next_cursor)
    assert [c.id for c in second.items] == [ids[3], ids[2]]
    third = await store.list_conversations(user, query=None, limit=2, cursor=second.next_cursor)
    assert [c.id for c in third.items] == [ids[0]] and third.next_cursor is None
    by_text = await store.list_conversations(user, query="fox", limit=10, cursor=None)
    assert [c.id for c in by_text.items] == [ids[1]]
    by_title = await store.list_conversations(user, query="chat 3", limit=10, cursor=None)
    assert [c.id for c in by_title.items] == [ids[3]]
    assert (await store.list_conversations(user, query="100%_", limit=10, cursor=None)).items == []


async def test_history_reads_only_what_the_cache_lacks_and_sees_other_writers(engine) -> None:
    ours = SqlConversationStore(engine, HistoryCache())
    theirs = SqlConversationStore(engine, HistoryCache())  # another replica
    user = await _user(engine)
    conversation = await ours.create_conversation(user, "t")
    run = await SqlRunStore(engine, ours).start_run(user, conversation.id, _message("one"), "gpt-5")
    await SqlRunStore(engine, ours).finish_run(run.id, RunOutcome(RunStatus.COMPLETED), [])
    assert [m.text for m in await ours.messages(conversation.id)] == ["one"]
    await SqlRunStore(engine, theirs).start_run(user, conversation.id, _message("two"), "gpt-5")
    assert [m.text for m in await ours.messages(conversation.id)] == ["one", "two"]


async def test_one_run_at_a_time_per_conversation(engine) -> None:
    conversations = SqlConversationStore(engine)
    runs = SqlRunStore(engine, conversations)
    user = await _user(engine)
    conversation = await conversations.create_conversation(user, "t")
    first = await runs.start_run(user, conversation.id, _message("a"), "gpt-5")
    with pytest.raises(Conflict):
        await runs.start_run(user, conversation.id, _message("b"), "gpt-5")
    assert [m.text for m in await conversations.messages(conversation.id)] == ["a"]
    await runs.finish_run(first.id, RunOutcome(RunStatus.COMPLETED), [])
    await runs.start_run(user, conversation.id, _message("c"), "gpt-5")
    assert [m.text for m in await conversations.messages(conversation.id)] == ["a", "c"]


async def test_deleting_a_conversation_removes_its_messages_and_runs(engine) -> None:
    conversations = SqlConversationStore(engine)
    runs = SqlRunStore(engine, conversations)
    user = await _user(engine)
    conversation = await conversations.create_conversation(user, "t")
    run = await runs.start_run(user, conversation.id, _message("a"), "gpt-5")
    await conversations.delete_conversation(user, conversation.id)
    with pytest.raises(NotFound):
        await runs.get_run(user, run.id)
    with pytest.raises(NotFound):
        await conversations.get_conversation(user, conversation.id)
