"""The message tree in PostgreSQL: the upgrade of existing conversations, and the active
branch as two replicas with their own history caches see it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from orchestrator.domain import Message, Role, RunOutcome, RunStatus, TextPart
from orchestrator.store import (
    HistoryCache,
    SqlConversationStore,
    SqlRunStore,
    SqlUserStore,
    create_engine,
    upgrade,
)
from orchestrator.store.migrations import alembic_config

pytestmark = pytest.mark.anyio


def _message(words: str, role: Role = Role.USER) -> Message:
    return Message(id=str(uuid.uuid4()), role=role, content=[TextPart(text=words)], token_count=3)


def _texts(messages: list[Message]) -> list[str]:
    return [message.text for message in messages]


async def test_the_upgrade_chains_existing_messages_in_order_and_they_keep_working(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url, pool_size=2)
    try:
        config = alembic_config(fresh_database_url)

        def to_0003(connection: Any) -> None:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")

        async with engine.begin() as conn:
            await conn.run_sync(to_0003)
        user, talk, empty = (str(uuid.uuid4()) for _ in range(3))
        ids = [str(uuid.uuid4()) for _ in range(3)]
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO users (id, email) VALUES (:id, 'old@test')"), {"id": user}
            )
            await conn.execute(
                text(
                    "INSERT INTO conversations (id, user_id, title, last_seq) VALUES "
                    "(:talk, :user, 'Old talk', 3), (:empty, :user, 'Nothing yet', 0)"
                ),
                {"talk": talk, "empty": empty, "user": user},
            )
            rows = zip(ids, ["user", "assistant", "user"], ["Hi", "Hello!", "How?"], strict=True)
            for seq, (message_id, role, words) in enumerate(rows, start=1):
                await conn.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, seq, role, content, text) "
                        "VALUES (:id, :talk, :seq, :role, CAST(:content AS jsonb), :words)"
                    ),
                    {
                        "id": message_id,
                        "talk": talk,
                        "seq": seq,
                        "role": role,
                        "content": f'[{{"type": "text", "text": "{words}"}}]',
                        "words": words,
                    },
                )

        assert await upgrade(fresh_database_url, engine)

        store = SqlConversationStore(engine)
        history = await store.messages(talk)
        assert _texts(history) == ["Hi", "Hello!", "How?"]
        assert [m.parent_id for m in history] == [None, ids[0], ids[1]]
        assert await store.branch_points(talk) == {}
        assert await store.messages(empty) == []
        # A new turn continues the old conversation, and an edit branches from it.
        runs = SqlRunStore(engine, store)
        run = await runs.start_run(user, talk, _message("Fine?"), "gpt-test")
        assert run.message_parent_id == ids[2]
        await runs.finish_run(run.id, RunOutcome(status=RunStatus.COMPLETED), [])
        edited = await runs.start_run(
            user, talk, _message("Hey"), "gpt-test", branch_from=None, branch=True
        )
        assert edited.message_parent_id is None
        assert _texts(await SqlConversationStore(engine).messages(talk)) == ["Hey"]
        assert (await store.branch_points(talk))[None][0] == ids[0]
    finally:
        await engine.dispose()


async def _user(engine: Any) -> str:
    record = await SqlUserStore(engine).create_user(
        f"{uuid.uuid4().hex}@test", None, is_admin=False
    )
    return record.id


async def _turn(runs: SqlRunStore, user: str, conversation: str, words: str) -> Message:
    question = _message(words)
    run = await runs.start_run(user, conversation, question, "gpt-test")
    answer = _message(f"About {words}", Role.ASSISTANT)
    answer = answer.model_copy(update={"parent_id": question.id})
    await runs.finish_run(
        run.id,
        RunOutcome(status=RunStatus.COMPLETED),
        [],
        conversation_id=conversation,
        messages=[answer],
    )
    return answer


async def test_a_branch_chosen_on_one_replica_is_what_the_other_one_reads(engine: Any) -> None:
    ours = SqlConversationStore(engine, HistoryCache())
    theirs = SqlConversationStore(engine, HistoryCache())  # another process
    our_runs, their_runs = SqlRunStore(engine, ours), SqlRunStore(engine, theirs)
    user = await _user(engine)
    conversation = (await ours.create_conversation(user, "Pets")).id
    await _turn(our_runs, user, conversation, "cats")
    first = await ours.messages(conversation)
    assert _texts(await theirs.messages(conversation)) == ["cats", "About cats"]
    assert (await ours.branch_view(conversation))[1] == {}

    # They edit the first message: our cached path is stale, our next read is not.
    dogs = _message("dogs")
    run = await their_runs.start_run(
        user, conversation, dogs, "gpt-test", branch_from=None, branch=True
    )
    await their_runs.finish_run(run.id, RunOutcome(status=RunStatus.COMPLETED), [])
    path, points = await ours.branch_view(conversation)
    assert _texts(path) == ["dogs"] and points == {None: [first[0].id, dogs.id]}

    # They switch back: we read the old branch, and a turn we start follows it.
    assert await theirs.switch_branch(user, conversation, first[0].id) == first[1].id
    assert _texts(await ours.messages(conversation)) == ["cats", "About cats"]
    more = await our_runs.start_run(user, conversation, _message("more"), "gpt-test")
    assert more.message_parent_id == first[1].id
    assert _texts(await theirs.messages(conversation)) == ["cats", "About cats", "more"]
    assert await theirs.branch_points(conversation) == {None: [first[0].id, dogs.id]}


def _path_of(cache: HistoryCache) -> list[Message]:
    entry = cache.get("c")
    assert entry is not None
    return entry.path


def test_the_history_cache_follows_branches_made_in_this_process() -> None:
    cache = HistoryCache()
    question, answer = _message("cats"), _message("About cats", Role.ASSISTANT)
    answer = answer.model_copy(update={"parent_id": question.id})
    cache.put("c", 2, [question, answer])
    # An edit of the first message: a new first message, then its answer.
    dogs = _message("dogs")
    cache.extend("c", 3, [dogs])
    assert _texts(_path_of(cache)) == ["dogs"]
    # A run on a branch no longer shown: counted, the shown path stays.
    late = _message("late", Role.ASSISTANT).model_copy(update={"parent_id": answer.id})
    cache.extend("c", 4, [late], active=False)
    entry = cache.get("c")
    assert entry is not None and entry.last_seq == 4 and _texts(entry.path) == ["dogs"]
    # Answering again from a message on the path keeps the path up to it.
    cache.put("c", 4, [question, answer, late])
    cache.move("c", question.id)
    assert _texts(_path_of(cache)) == ["cats"]
    # A message the cache cannot place (numbered past what it holds) drops the entry.
    cache.extend("c", 9, [_message("far")])
    assert cache.get("c") is None
