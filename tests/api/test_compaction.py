"""A long conversation over HTTP, with a small window: compacted, not cut.

The fake OpenAI server answers summarising requests with a fixed summary and echoes the
rest; what it saw is what the model would have seen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from orchestrator.main import create_app
from tests.api.conftest import Api, Event, collect, make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply, echo_reply

pytestmark = pytest.mark.anyio

SSE = {"accept": "text/event-stream"}
SUMMARY = "SUMMARY: the user has been numbering long turns."
# About 100 tokens a turn, each echoed back: a window of 1,200 with 200 kept for the answer
# holds about four turns before compaction is due (at 80%).
WINDOW, MAX_TOKENS = 1_200, 200


def _turn(number: int) -> str:
    return f"Turn {number}: " + "alpha beta gamma delta " * 24


def _is_summarising(body: dict[str, Any]) -> bool:
    first = body["messages"][0]
    return first["role"] == "system" and "You compact a conversation" in first["content"]


def _summariser(body: dict[str, Any]) -> Reply:
    return Reply(text=SUMMARY) if _is_summarising(body) else echo_reply(body)


@pytest.fixture
async def app(
    database_url: str, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FastAPI]:
    monkeypatch.setattr(fake_openai, "default", _summariser)
    settings = make_settings(database_url, data_dir, fake_openai.url)  # type: ignore[attr-defined]
    settings = settings.model_copy(
        update={
            "openai": settings.openai.model_copy(
                update={"context_window": WINDOW, "max_tokens": MAX_TOKENS}
            )
        }
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _say(api: Api, conversation: str, text: str) -> list[Event]:
    status, events = await collect(
        api.client,
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        headers=api.headers | SSE,
        json={"content": text},
    )
    assert status == 200
    assert events[-1].name == "run.completed", events[-1]
    return events


def _texts(body: dict[str, Any]) -> str:
    return "\n".join(str(message.get("content")) for message in body["messages"])


async def test_a_long_conversation_is_summarised_once_and_the_summary_sent_after(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()
    compacted: list[Event] = []
    turns = 0
    while not compacted:
        assert turns < 12, "no compaction after 12 long turns"
        fake_openai.requests.clear()
        events = await _say(api, conversation, _turn(turns))
        turns += 1
        compacted = [event for event in events if event.name == "context.compacted"]
    [event] = compacted
    assert turns >= 3  # short conversations are sent whole
    assert event.data["tokens_after"] < event.data["tokens_before"]
    assert event.data["messages"] >= 2 and event.data["summary_id"]

    # What the fake server saw: the summary request, with the oldest turns ...
    summarising, answering = fake_openai.requests
    assert _is_summarising(summarising)
    assert "Turn 0:" in _texts(summarising)
    assert f"Turn {turns - 1}:" not in _texts(summarising)  # the question stays verbatim
    assert "tools" not in summarising
    limit = summarising.get("max_completion_tokens") or summarising.get("max_tokens")
    assert limit is not None and 0 < limit <= MAX_TOKENS
    # ... then the answer's request: the summary and the recent turns, not the oldest.
    sent = _texts(answering)
    assert SUMMARY in sent
    assert "Turn 0:" not in sent
    assert f"Turn {turns - 1}:" in sent
    assert answering["messages"][-1]["content"] == _turn(turns - 1)

    # The next run reuses the stored summary: no new summary request.
    fake_openai.requests.clear()
    events = await _say(api, conversation, _turn(turns))
    assert "context.compacted" not in [e.name for e in events]
    [request] = fake_openai.requests
    assert SUMMARY in _texts(request) and "Turn 0:" not in _texts(request)

    # The conversation keeps every turn and says where the summary sits and what it covers.
    detail = (
        await api.client.get(f"/api/v1/conversations/{conversation}", headers=api.headers)
    ).json()
    messages = detail["messages"]
    assert len(messages) == 2 * (turns + 1)
    assert messages[0]["content"][0]["text"] == _turn(0)
    [summary] = detail["summaries"]
    assert summary["id"] == event.data["summary_id"] and summary["text"] == SUMMARY
    ids = [message["id"] for message in messages]
    assert summary["first_message_id"] == ids[0]
    assert ids.index(summary["last_message_id"]) + 1 == summary["message_count"]
    assert summary["message_count"] == event.data["messages"]
    assert messages[summary["message_count"]]["role"] == "user"

    # The JSON export carries the summary too.
    exported = (
        await api.client.get(f"/api/v1/conversations/{conversation}/export", headers=api.headers)
    ).json()
    assert exported["summaries"] == detail["summaries"]
    assert len(exported["messages"]) == len(messages)


async def test_the_compaction_event_is_stored_with_the_run(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()
    run_id = None
    for number in range(12):
        events = await _say(api, conversation, _turn(number))
        if any(event.name == "context.compacted" for event in events):
            run_id = events[0].data["run_id"]
            break
    assert run_id is not None
    status, replayed = await collect(
        api.client, "GET", f"/api/v1/runs/{run_id}/events", headers=api.headers
    )
    assert status == 200
    names = [event.name for event in replayed]
    assert names[:2] == ["run.started", "context.compacted"]


async def test_a_failed_summary_request_still_answers_with_the_history_cut(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    # Every summary request fails (400: not retried); answers are echoed.
    fake_openai.default = lambda body: (
        Reply(status=400, error_message="no summaries today")
        if _is_summarising(body)
        else echo_reply(body)
    )
    conversation = await api.conversation()
    attempts = 0
    for number in range(12):
        fake_openai.requests.clear()
        events = await _say(api, conversation, _turn(number))
        assert "context.compacted" not in [e.name for e in events]
        answered = fake_openai.requests[-1]
        assert not _is_summarising(answered)
        assert answered["messages"][-1]["content"] == _turn(number)
        if len(fake_openai.requests) == 2:
            assert _is_summarising(fake_openai.requests[0])
            attempts += 1
        if "Turn 0:" not in _texts(answered):
            break  # past the window: the oldest turns were cut, as before compaction
    else:
        pytest.fail("the history was never cut")
    assert attempts >= 1
    detail = (
        await api.client.get(f"/api/v1/conversations/{conversation}", headers=api.headers)
    ).json()
    assert detail["summaries"] == []
    assert len(detail["messages"]) == 2 * (number + 1)
