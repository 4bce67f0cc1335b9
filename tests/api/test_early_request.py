"""The model is asked while the user's message is being stored, when that is safe.

A turn whose history this process holds, in a conversation known to be the caller's, sends
the model request at once and writes the message and the run meanwhile. Nothing of such a
run is shown or stored before its record is; if the record cannot be written, the run
vanishes; if another process wrote to the conversation meanwhile, the model is asked again
with the whole history.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from sqlalchemy import text

from orchestrator.store import create_engine
from tests.api.conftest import Api, collect, in_process, make_settings, names
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fixtures.waiting import until

pytestmark = pytest.mark.anyio

SSE_HEADERS = {"accept": "text/event-stream"}


def _messages_url(conversation_id: str) -> str:
    return f"/api/v1/conversations/{conversation_id}/messages"


async def _turn(api: Api, conversation: str, content: str) -> list[str]:
    status, events = await collect(
        api.client,
        "POST",
        _messages_url(conversation),
        headers=api.headers | SSE_HEADERS,
        json={"content": content},
    )
    assert status == 200
    assert names(events)[-1] == "run.completed"
    return names(events)


async def test_a_cached_conversation_answers_as_before_and_stores_every_turn(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()
    for number in range(3):
        fake_openai.script(Reply(chunks=["answer ", str(number)]))
        assert await _turn(api, conversation, f"question {number}") == [
            "run.started",
            "message.delta",
            "message.delta",
            "message.completed",
            "run.completed",
        ]
    sent = [m["content"] for m in fake_openai.last_request["messages"] if m["role"] != "system"]
    assert sent == [
        "question 0",
        "answer 0",
        "question 1",
        "answer 1",
        "question 2",
    ]
    detail = (
        await api.client.get(f"/api/v1/conversations/{conversation}", headers=api.headers)
    ).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"] * 3


async def test_another_users_conversation_is_404_and_the_model_is_not_asked(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()  # cached in this process, as the owner's
    fake_openai.script(Reply(text="first"))
    await _turn(api, conversation, "mine")
    asked = len(fake_openai.requests)
    other = await api.as_new_user()
    response = await api.client.post(
        _messages_url(conversation), json={"content": "theirs"}, headers=other.headers
    )
    assert response.status_code == 404
    assert len(fake_openai.requests) == asked


async def test_a_run_whose_record_cannot_be_written_leaves_no_trace(
    api: Api, fake_openai: FakeOpenAI, database_url: str
) -> None:
    conversation = await api.conversation()
    fake_openai.script(Reply(text="first"))
    await _turn(api, conversation, "one")
    # Another process deletes the conversation: this one still holds its history.
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM conversations WHERE id = :id"), {"id": conversation}
            )
    finally:
        await engine.dispose()
    fake_openai.script(Reply(chunks=["never "] * 50, chunk_delay=0.01))
    response = await api.client.post(
        _messages_url(conversation), json={"content": "two"}, headers=api.headers | SSE_HEADERS
    )
    assert response.status_code == 404
    # The run launched early has no record to wait on: it is gone once none is active.
    await until(lambda: api.services.runs.active_count == 0, within=5)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            stored = await conn.execute(
                text("SELECT count(*) FROM runs WHERE user_id = :user"), {"user": api.user_id}
            )
            assert stored.scalar_one() == 0  # the first run went with the conversation
    finally:
        await engine.dispose()


async def test_a_turn_written_by_another_process_meanwhile_is_sent_to_the_model(
    api: Api, fake_openai: FakeOpenAI, database_url: str, data_dir: Path
) -> None:
    conversation = await api.conversation()
    fake_openai.script(Reply(text="from here"))
    await _turn(api, conversation, "here")  # this process now caches two messages
    settings = make_settings(database_url, data_dir, fake_openai.url)  # type: ignore[attr-defined]
    async with in_process(settings, base_url="http://replica") as other:
        fake_openai.script(Reply(text="from there"))
        response = await other.client.post(
            _messages_url(conversation), json={"content": "there"}, headers=api.headers
        )
        assert response.status_code == 202
        replica = Api(other.client, other.app, api.headers, api.user_id, api.email)
        with anyio.fail_after(10):
            events = await replica.run_events(response.json()["run_id"])
        assert names(events)[-1] == "run.completed"
    fake_openai.script(Reply(text="and back"))
    await _turn(api, conversation, "back here")
    sent = [m["content"] for m in fake_openai.last_request["messages"] if m["role"] != "system"]
    assert sent == ["here", "from here", "there", "from there", "back here"]
