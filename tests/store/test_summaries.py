"""Conversation summaries in PostgreSQL: stored once per last message, remembered, fresh."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from alembic import command
from sqlalchemy import inspect

from orchestrator.domain import (
    Message,
    Role,
    RunOutcome,
    RunStatus,
    Summary,
    TextPart,
    Unavailable,
)
from orchestrator.store import (
    SqlConversationStore,
    SqlRunStore,
    SqlSummaryStore,
    SqlUserStore,
    create_engine,
    upgrade,
)
from orchestrator.store.migrations import alembic_config

pytestmark = pytest.mark.anyio


async def _conversation_with_messages(engine, count: int) -> tuple[str, str, list[str]]:
    user = (
        await SqlUserStore(engine).create_user(f"{uuid.uuid4().hex}@test", None, is_admin=False)
    ).id
    conversations = SqlConversationStore(engine)
    conversation = (await conversations.create_conversation(user, "Long")).id
    runs = SqlRunStore(engine, conversations)
    ids: list[str] = []
    for index in range(count):
        message = Message(
            id=str(uuid.uuid4()), role=Role.USER, content=[TextPart(text=f"m{index}")]
        )
        run = await runs.start_run(user, conversation, message, "gpt-5")
        await runs.finish_run(run.id, RunOutcome(status=RunStatus.COMPLETED), [])
        ids.append(message.id)
    return user, conversation, ids


def _summary(conversation: str, ids: list[str], upto: int, text: str = "S") -> Summary:
    return Summary(
        id=str(uuid.uuid4()),
        conversation_id=conversation,
        last_message_id=ids[upto],
        first_message_id=ids[0],
        message_count=upto + 1,
        text=text,
        token_count=10,
        tokens_before=100,
        tokens_after=40,
        model="gpt-5",
    )


async def test_a_summary_is_stored_once_per_last_message(engine) -> None:
    _, conversation, ids = await _conversation_with_messages(engine, 4)
    store = SqlSummaryStore(engine)
    assert await store.summaries(conversation) == []
    first = await store.save_summary(_summary(conversation, ids, 1, "first"), None)
    again = await store.save_summary(_summary(conversation, ids, 1, "second"), None)
    assert again.id == first.id and again.text == "first"
    later = await store.save_summary(_summary(conversation, ids, 2, "later"), None)
    assert [s.id for s in await store.summaries(conversation)] == [first.id, later.id]
    assert first.created_at is not None


async def test_another_process_summary_is_seen_when_asked_fresh(engine) -> None:
    _, conversation, ids = await _conversation_with_messages(engine, 3)
    here, there = SqlSummaryStore(engine), SqlSummaryStore(engine)
    assert await here.summaries(conversation) == []  # now remembered as none
    made = await there.save_summary(_summary(conversation, ids, 1), str(uuid.uuid4()))
    assert await here.summaries(conversation) == []  # from memory: no round trip
    assert [s.id for s in await here.summaries(conversation, fresh=True)] == [made.id]


async def test_a_summary_of_a_deleted_conversation_is_refused_clearly(engine) -> None:
    user, conversation, ids = await _conversation_with_messages(engine, 2)
    await SqlConversationStore(engine).delete_conversation(user, conversation)
    with pytest.raises(Unavailable):
        await SqlSummaryStore(engine).save_summary(_summary(conversation, ids, 0), None)


def test_the_migration_goes_down_and_up_again(fresh_database_url: str) -> None:
    asyncio.run(upgrade(fresh_database_url))
    config = alembic_config(fresh_database_url)
    command.downgrade(config, "0003")
    assert "conversation_summaries" not in asyncio.run(_tables(fresh_database_url))
    asyncio.run(upgrade(fresh_database_url))
    assert "conversation_summaries" in asyncio.run(_tables(fresh_database_url))


async def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
