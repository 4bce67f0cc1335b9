"""Runs over HTTP against the fake OpenAI server: streaming, resuming, cancelling, approvals.

Every test has the same set-up: the app with the fake OpenAI server as its model
(`fake_openai`, scripted per test), a logged-in user (`api`) and a new conversation of
theirs (`conversation`), from `tests/api/conftest.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.domain import ToolCallContext, ToolOutcome, ToolPolicy
from tests.api.conftest import Api, Conversation, Event, in_process, make_settings, names
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, spec, text

pytestmark = pytest.mark.anyio


def _said(events: list[Event]) -> str:
    return "".join(e.data["text"] for e in events if e.name == "message.delta")


async def test_a_message_streams_the_answer_and_stores_both_sides(
    conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="Hello there, traveller!", prompt_tokens=12, completion_tokens=4))
    events = await conversation.stream("Hi")
    assert names(events)[0] == "run.started"
    assert names(events)[-2:] == ["message.completed", "run.completed"]
    assert events[-1].data == {"status": "completed"}
    assert _said(events) == "Hello there, traveller!"
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert events[-2].data["usage"] == {"input_tokens": 12, "output_tokens": 4}
    sent = fake_openai.last_request
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["messages"][1]["content"] == "Hi" and sent["stream"] is True
    messages = await conversation.messages()
    assert [(m["role"], m["content"][0]["text"]) for m in messages] == [
        ("user", "Hi"),
        ("assistant", "Hello there, traveller!"),
    ]
    assert messages[1]["usage"] == {"input_tokens": 12, "output_tokens": 4}


async def test_without_event_stream_accept_a_run_answers_202_and_its_events_replay(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="one two three"))
    run_id = await conversation.start("count")
    events = await api.run_events(run_id)
    assert names(events)[-1] == "run.completed"
    run = (await api.client.get(f"/api/v1/runs/{run_id}", headers=api.headers)).json()
    assert run["status"] == "completed" and run["last_event_id"] == events[-1].id
    assert await api.run_events(run_id) == events


async def test_last_event_id_resumes_with_nothing_lost_or_repeated(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="a b c d e f g h i j"))
    full = await conversation.stream("go")
    run_id = full[0].data["run_id"]
    for cut in (1, 4, len(full) - 1):
        assert await api.run_events(run_id, after=cut) == full[cut:]
    done = await api.client.get(
        f"/api/v1/runs/{run_id}/events", headers=api.headers | {"last-event-id": str(full[-1].id)}
    )
    assert done.status_code == 204


async def test_another_process_replays_the_same_events_from_the_database(
    api: Api,
    conversation: Conversation,
    fake_openai: FakeOpenAI,
    database_url: str,
    data_dir: Path,
) -> None:
    fake_openai.script(
        Reply(text="stored for later replay", chunks=["stored ", "for ", "later ", "replay"])
    )
    live = await conversation.stream("x")
    settings = make_settings(database_url, data_dir, fake_openai.url)  # type: ignore[attr-defined]
    async with in_process(settings, base_url="http://replica") as other:
        replica = Api(other.client, other.app, api.headers, api.user_id, api.email)
        run_id = live[0].data["run_id"]
        replayed = await replica.run_events(run_id)
        tail = await replica.run_events(run_id, after=3)
    assert replayed == live
    assert tail == live[3:]


async def test_a_dropped_client_does_not_stop_the_run(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    words = [f"w{i} " for i in range(30)]
    fake_openai.script(Reply(chunks=words, chunk_delay=0.01))
    first = await conversation.stream("long", stop_after=lambda events: len(events) >= 3)
    rest = await api.run_events(first[0].data["run_id"], after=first[-1].id)
    assert rest[0].id == first[-1].id + 1
    assert rest[-1].name == "run.completed" and rest[-1].data["status"] == "completed"
    assert _said(first + rest) == "".join(words)
    assert (await conversation.messages())[-1]["content"][0]["text"] == "".join(words)


async def test_cancel_stops_the_run_and_keeps_the_partial_answer(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(chunks=[f"w{i} " for i in range(500)], chunk_delay=0.02))
    run_id = await conversation.start("long")
    await api.run_events(
        run_id, stop_after=lambda events: sum(e.name == "message.delta" for e in events) >= 3
    )
    cancelled = await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    events = await api.run_events(run_id)
    assert events[-1].name == "run.completed" and events[-1].data == {"status": "cancelled"}
    said = _said(events)
    partial = (await conversation.messages())[-1]
    assert partial["status"] == "partial" and partial["content"][0]["text"] == said
    assert 3 <= len(said.split()) < 500
    again = await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.headers)
    assert again.status_code == 409
    # The conversation is free again.
    fake_openai.script(Reply(text="next"))
    follow_up = await conversation.send("again")
    assert follow_up.status_code == 202, (follow_up.headers, follow_up.text)


async def test_a_second_message_while_a_run_is_in_progress_is_a_conflict(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(chunks=["slow "] * 200, chunk_delay=0.02))
    first = await conversation.start("one")
    second = await conversation.send("two")
    assert second.status_code == 409 and second.json()["error"]["type"] == "conflict"
    await api.client.post(f"/api/v1/runs/{first}/cancel", headers=api.headers)
    messages = await conversation.messages()
    assert [m["content"][0]["text"] for m in messages if m["role"] == "user"] == ["one"]


async def test_transient_model_errors_are_retried_before_the_first_token(
    conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(status=429, retry_after=0.01, error_message="slow down"),
        Reply(status=503, retry_after=0.01),
        Reply(text="third time lucky"),
    )
    events = await conversation.stream("x")
    assert events[-1].name == "run.completed"
    assert len(fake_openai.requests) == 3


async def test_a_model_failure_mid_answer_ends_with_an_error_and_keeps_the_partial_answer(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(chunks=["Half ", "an ", "answer ", "never ", "ends"], drop_after=3))
    events = await conversation.stream("x")
    assert events[-1].name == "error" and events[-1].data["type"] == "model_error"
    assert sum(e.name in ("run.completed", "error") for e in events) == 1
    last = (await conversation.messages())[-1]
    assert last["status"] == "partial"
    assert last["content"][0]["text"] == "Half an answer "
    run = (
        await api.client.get(f"/api/v1/runs/{events[0].data['run_id']}", headers=api.headers)
    ).json()
    assert run["status"] == "failed" and run["error"]["type"] == "model_error"


async def test_a_rejected_key_is_reported_without_retrying(
    conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(status=401, error_message="Incorrect API key provided"))
    events = await conversation.stream("x")
    assert events[-1].name == "error" and "OPENAI_API_KEY" in events[-1].data["message"]
    assert len(fake_openai.requests) == 1


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()

    async def weather(args: dict, context: ToolCallContext) -> ToolOutcome:  # type: ignore[type-arg]
        context.report_progress(1, 1, "looked it up")
        return text(f"Sunny in {args['city']}")

    tools.add(spec("weather__forecast"), weather)
    tools.add(spec("files__delete", ToolPolicy.ASK))
    return tools


async def test_tools_run_in_the_loop_and_their_events_stream(
    conversation: Conversation, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("weather__forecast", json.dumps({"city": "Paris"}))]),
        Reply(text="It is sunny in Paris."),
    )
    events = await conversation.stream("Weather?")
    assert names(events) == [
        "run.started",
        "message.completed",
        "tool.call",
        "tool.progress",
        "tool.result",
        *["message.delta"] * 5,
        "message.completed",
        "run.completed",
    ]
    call = events[2].data
    assert (
        call["server"] == "test"
        and call["tool"] == "forecast"
        and call["arguments"] == {"city": "Paris"}
    )
    assert events[4].data["content"] == [{"type": "text", "text": "Sunny in Paris"}]
    offered = fake_openai.requests[0]["tools"]
    assert {t["function"]["name"] for t in offered} == {"weather__forecast", "files__delete"}
    second = fake_openai.requests[1]["messages"]
    assert second[-1] == {"role": "tool", "tool_call_id": call["id"], "content": "Sunny in Paris"}
    assert second[-2]["tool_calls"][0]["id"] == call["id"]


async def test_a_tool_that_asks_runs_only_after_the_user_approves(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "notes.txt"}))]),
        Reply(text="Deleted."),
    )
    run_id = await conversation.start("delete it")
    first = await api.run_events(
        run_id, stop_after=lambda events: events[-1].name == "tool.approval_required"
    )
    call_id = first[-1].data["id"]
    assert first[-1].data["arguments"] == {"x": "notes.txt"}
    assert tools.calls == []
    run = (await api.client.get(f"/api/v1/runs/{run_id}", headers=api.headers)).json()
    assert run["status"] == "waiting"
    stranger = await api.as_new_user()
    refused = await api.client.post(
        f"/api/v1/tool-calls/{call_id}/approve", headers=stranger.headers
    )
    assert refused.status_code == 404
    approved = await api.client.post(f"/api/v1/tool-calls/{call_id}/approve", headers=api.headers)
    assert approved.status_code == 200 and approved.json() == {
        "tool_call_id": call_id,
        "run_id": run_id,
        "approved": True,
    }
    rest = await api.run_events(run_id, after=first[-1].id)
    assert rest[-1].name == "run.completed"
    assert tools.calls == [("files__delete", {"x": "notes.txt"})]
    twice = await api.client.post(f"/api/v1/tool-calls/{call_id}/deny", headers=api.headers)
    assert twice.status_code in (404, 409)


async def test_asking_for_unknown_tools_is_refused_before_anything_is_stored(
    conversation: Conversation, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    response = await conversation.send("x", tools=["nope__nothing"])
    assert response.status_code == 422 and "nope__nothing" in response.json()["error"]["message"]
    assert await conversation.messages() == [] and fake_openai.requests == []


async def test_a_run_offers_only_the_tools_it_asks_for(
    conversation: Conversation, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    fake_openai.script(Reply(text="ok"))
    await conversation.stream("x", tools=["weather__forecast"])
    assert [t["function"]["name"] for t in fake_openai.last_request["tools"]] == [
        "weather__forecast"
    ]


async def test_usage_adds_up_tokens_per_model(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(text="a", prompt_tokens=100, completion_tokens=7),
        Reply(text="b", prompt_tokens=50, completion_tokens=3),
    )
    for content in ("one", "two"):
        await conversation.stream(content)
    usage = (await api.client.get("/api/v1/usage", headers=api.headers)).json()
    assert usage["items"] == [
        {
            "user_id": api.user_id,
            "email": api.email,
            "model": "gpt-5",
            "runs": 2,
            "input_tokens": 150,
            "output_tokens": 10,
        }
    ]
    assert (await api.client.get("/api/v1/usage?all=true", headers=api.headers)).status_code == 403


async def test_another_users_run_answers_404_everywhere(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(chunks=["slow "] * 100, chunk_delay=0.02))
    run_id = await conversation.start("x")
    other = await api.as_new_user()
    for method, path, body in [
        ("GET", f"/api/v1/runs/{run_id}", None),
        ("GET", f"/api/v1/runs/{run_id}/events", None),
        ("POST", f"/api/v1/runs/{run_id}/cancel", None),
        ("POST", f"/api/v1/runs/{run_id}/input", {"id": "x", "action": "cancel"}),
    ]:
        response = await api.client.request(method, path, json=body, headers=other.headers)
        assert response.status_code == 404, (method, path, response.text)
    run = (await api.client.get(f"/api/v1/runs/{run_id}", headers=api.headers)).json()
    assert run["status"] == "running"
    await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.headers)


async def test_deleting_a_conversation_stops_its_run(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(chunks=["slow "] * 200, chunk_delay=0.02))
    run_id = await conversation.start("x")
    deleted = await api.client.delete(conversation.url, headers=api.headers)
    assert deleted.status_code == 204
    assert (await api.client.get(f"/api/v1/runs/{run_id}", headers=api.headers)).status_code == 404
    assert api.services.runs.active_count == 0
