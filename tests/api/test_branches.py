"""Branches over HTTP: edit and regenerate start siblings, the active branch is stored, and the
model only ever sees the active branch (checked on what the fake OpenAI server received)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from orchestrator.domain import ToolCallContext, ToolOutcome
from tests.api.conftest import Api, collect, names
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, spec, text

pytestmark = pytest.mark.anyio

SSE = {"accept": "text/event-stream"}


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()

    async def weather(args: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
        return text(f"Sunny in {args['x']}")

    tools.add(spec("weather__forecast"), weather)
    return tools


def _url(conversation_id: str, tail: str = "") -> str:
    return f"/api/v1/conversations/{conversation_id}{tail}"


async def _say(api: Api, conversation_id: str, content: str) -> None:
    status, events = await collect(
        api.client,
        "POST",
        _url(conversation_id, "/messages"),
        headers=api.headers | SSE,
        json={"content": content},
    )
    assert status == 200 and events[-1].name == "run.completed", names(events)


async def _stream(api: Api, path: str, body: Any = None) -> None:
    status, events = await collect(api.client, "POST", path, headers=api.headers | SSE, json=body)
    assert status == 200 and events[-1].name == "run.completed", names(events)


async def _view(api: Api, conversation_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(_url(conversation_id), headers=api.headers)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def _said(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], "".join(p.get("text", "") for p in m["content"])) for m in messages]


def _sent(fake: FakeOpenAI) -> list[tuple[str, str]]:
    return [
        (m["role"], m["content"] if isinstance(m["content"], str) else "")
        for m in fake.last_request["messages"]
        if m["role"] != "system"
    ]


async def test_an_edit_starts_a_sibling_branch_and_the_model_sees_only_the_edited_history(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()
    await _say(api, conversation, "Plan a trip to Rome")
    await _say(api, conversation, "Three days")
    before = await _view(api, conversation)
    await _stream(
        api,
        _url(conversation, f"/messages/{before[2]['id']}/edit"),
        {"content": "Five days instead"},
    )
    assert _sent(fake_openai) == [
        ("user", "Plan a trip to Rome"),
        ("assistant", "You said: Plan a trip to Rome"),
        ("user", "Five days instead"),
    ]
    after = await _view(api, conversation)
    assert _said(after) == [
        ("user", "Plan a trip to Rome"),
        ("assistant", "You said: Plan a trip to Rome"),
        ("user", "Five days instead"),
        ("assistant", "You said: Five days instead"),
    ]
    assert after[:2] == before[:2]
    edited = after[2]
    assert edited["parent_id"] == before[1]["id"]
    assert (edited["siblings"], edited["sibling_index"]) == (2, 1)
    assert (after[3]["siblings"], after[3]["sibling_index"]) == (1, 0)
    assert after[3]["parent_id"] == edited["id"]

    # The first message too: the new branch starts from nothing.
    await _stream(api, _url(conversation, f"/messages/{before[0]['id']}/edit"), {"content": "Hi"})
    assert _sent(fake_openai) == [("user", "Hi")]
    root = await _view(api, conversation)
    assert _said(root) == [("user", "Hi"), ("assistant", "You said: Hi")]
    assert root[0]["parent_id"] is None
    assert (root[0]["siblings"], root[0]["sibling_index"]) == (2, 1)


async def test_regenerating_twice_gives_three_answers_in_their_order(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()
    await _say(api, conversation, "Name a colour")
    first = await _view(api, conversation)
    fake_openai.script(Reply(text="Blue"))
    await _stream(api, _url(conversation, f"/messages/{first[1]['id']}/regenerate"))
    assert _sent(fake_openai) == [("user", "Name a colour")]
    # By the user message this time: the same thing, a new answer to it.
    fake_openai.script(Reply(text="Green"))
    await _stream(api, _url(conversation, f"/messages/{first[0]['id']}/regenerate"), {})
    assert _sent(fake_openai) == [("user", "Name a colour")]
    view = await _view(api, conversation)
    assert _said(view) == [("user", "Name a colour"), ("assistant", "Green")]
    assert view[0] == first[0]
    assert view[1]["parent_id"] == first[0]["id"]
    assert (view[1]["siblings"], view[1]["sibling_index"]) == (3, 2)

    switched = await api.client.put(
        _url(conversation, "/branch"), json={"message_id": first[1]["id"]}, headers=api.headers
    )
    assert switched.status_code == 200
    shown = switched.json()["messages"]
    assert _said(shown) == [("user", "Name a colour"), ("assistant", "You said: Name a colour")]
    assert (shown[1]["siblings"], shown[1]["sibling_index"]) == (3, 0)


async def test_the_chosen_branch_is_stored_and_the_next_message_continues_it(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()
    await _say(api, conversation, "Tell me about cats")
    original = await _view(api, conversation)
    await _stream(
        api, _url(conversation, f"/messages/{original[0]['id']}/edit"), {"content": "Dogs, then"}
    )
    dogs = await _view(api, conversation)
    assert _said(dogs)[0] == ("user", "Dogs, then")

    switched = await api.client.put(
        _url(conversation, "/branch"), json={"message_id": original[0]["id"]}, headers=api.headers
    )
    assert switched.status_code == 200
    assert [m["id"] for m in switched.json()["messages"]] == [m["id"] for m in original]
    # Stored: a fresh read (a reload, another tab, another replica) shows the same branch.
    again = await _view(api, conversation)
    assert [m["id"] for m in again] == [m["id"] for m in original]
    assert (again[0]["siblings"], again[0]["sibling_index"]) == (2, 0)

    await _say(api, conversation, "And their kittens?")
    assert _sent(fake_openai) == [
        ("user", "Tell me about cats"),
        ("assistant", "You said: Tell me about cats"),
        ("user", "And their kittens?"),
    ]
    continued = await _view(api, conversation)
    assert [m["id"] for m in continued[:2]] == [m["id"] for m in original]
    assert _said(continued[2:]) == [
        ("user", "And their kittens?"),
        ("assistant", "You said: And their kittens?"),
    ]
    assert continued[2]["parent_id"] == original[1]["id"]

    # Choosing the first message of a branch shows that branch to its newest message.
    to_dogs = await api.client.put(
        _url(conversation, "/branch"), json={"message_id": dogs[0]["id"]}, headers=api.headers
    )
    assert [m["id"] for m in to_dogs.json()["messages"]] == [m["id"] for m in dogs]
    to_cats = await api.client.put(
        _url(conversation, "/branch"), json={"message_id": original[0]["id"]}, headers=api.headers
    )
    assert [m["id"] for m in to_cats.json()["messages"]] == [m["id"] for m in continued]


async def test_a_regenerated_answer_keeps_tool_calls_with_their_turn(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("weather__forecast", json.dumps({"x": "Paris"}))]),
        Reply(text="It is sunny in Paris."),
    )
    conversation = await api.conversation()
    await _say(api, conversation, "Weather in Paris?")
    first = await _view(api, conversation)
    assert [m["role"] for m in first] == ["user", "assistant", "tool", "assistant"]
    assert [m["parent_id"] for m in first[1:]] == [m["id"] for m in first[:-1]]

    # A tool result is not an answer to regenerate; the answer's last message is.
    wrong = await api.client.post(
        _url(conversation, f"/messages/{first[2]['id']}/regenerate"), headers=api.headers
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["type"] == "invalid_input"
    fake_openai.script(Reply(text="I cannot look that up right now."))
    await _stream(api, _url(conversation, f"/messages/{first[3]['id']}/regenerate"))
    assert _sent(fake_openai) == [("user", "Weather in Paris?")]
    view = await _view(api, conversation)
    assert _said(view) == [
        ("user", "Weather in Paris?"),
        ("assistant", "I cannot look that up right now."),
    ]
    assert (view[1]["siblings"], view[1]["sibling_index"]) == (2, 1)

    back = await api.client.put(
        _url(conversation, "/branch"), json={"message_id": first[1]["id"]}, headers=api.headers
    )
    assert [m["id"] for m in back.json()["messages"]] == [m["id"] for m in first]
    # The next turn's context carries the call and its result with their answer.
    await _say(api, conversation, "Thanks")
    sent = fake_openai.last_request["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[3]["content"] == "Sunny in Paris"


async def test_wrong_roles_busy_conversations_and_unknown_ids_are_refused_and_change_nothing(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()
    await _say(api, conversation, "Hello")
    view = await _view(api, conversation)
    question, answer = view[0]["id"], view[1]["id"]

    edit_answer = await api.client.post(
        _url(conversation, f"/messages/{answer}/edit"), json={"content": "x"}, headers=api.headers
    )
    assert edit_answer.status_code == 422
    assert edit_answer.json()["error"]["type"] == "invalid_input"
    assert "user message" in edit_answer.json()["error"]["message"]
    empty = await api.client.post(
        _url(conversation, f"/messages/{question}/edit"), json={"content": " "}, headers=api.headers
    )
    assert empty.status_code == 422

    for path, body in [
        (f"/messages/{uuid.uuid4()}/edit", {"content": "x"}),
        (f"/messages/{uuid.uuid4()}/regenerate", None),
    ]:
        unknown = await api.client.post(_url(conversation, path), json=body, headers=api.headers)
        assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found"
    nowhere = await api.client.put(
        _url(conversation, "/branch"), json={"message_id": str(uuid.uuid4())}, headers=api.headers
    )
    assert nowhere.status_code == 404
    bad = await api.client.put(
        _url(conversation, "/branch"), json={"message_id": "not-an-id"}, headers=api.headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "invalid_input"

    # A message of another conversation of the same user is not this one's.
    elsewhere = await api.conversation()
    for path, body in [
        (f"/messages/{question}/edit", {"content": "x"}),
        (f"/messages/{answer}/regenerate", None),
    ]:
        moved = await api.client.post(_url(elsewhere, path), json=body, headers=api.headers)
        assert moved.status_code == 404
    across = await api.client.put(
        _url(elsewhere, "/branch"), json={"message_id": question}, headers=api.headers
    )
    assert across.status_code == 404

    # While a run is active: 409, and nothing is stored.
    fake_openai.script(Reply(chunks=["slow "] * 200, chunk_delay=0.02))
    busy = await api.client.post(
        _url(conversation, "/messages"), json={"content": "Go on"}, headers=api.headers
    )
    assert busy.status_code == 202
    for path, body in [
        (f"/messages/{question}/edit", {"content": "x"}),
        (f"/messages/{answer}/regenerate", None),
    ]:
        conflict = await api.client.post(_url(conversation, path), json=body, headers=api.headers)
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["error"]["type"] == "conflict"
    run_id = busy.json()["run_id"]
    cancelled = await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.headers)
    assert cancelled.status_code == 200
    after = await _view(api, conversation)
    assert [m["role"] for m in after] == ["user", "assistant", "user", "assistant"]
    assert all(m["siblings"] == 1 for m in after)


async def test_another_user_gets_404_for_every_branch_route(api: Api) -> None:
    owner = api
    other = await api.as_new_user()
    conversation = await owner.conversation()
    await _say(owner, conversation, "Mine")
    view = await _view(owner, conversation)
    question, answer = view[0]["id"], view[1]["id"]
    for method, path, body in [
        ("POST", f"/messages/{question}/edit", {"content": "theirs"}),
        ("POST", f"/messages/{answer}/regenerate", None),
        ("PUT", "/branch", {"message_id": question}),
    ]:
        response = await api.client.request(
            method, _url(conversation, path), json=body, headers=other.headers
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["type"] == "not_found"
    assert await _view(owner, conversation) == view


async def test_exports_hold_the_active_branch_and_say_so(api: Api) -> None:
    conversation = await api.conversation()
    await _say(api, conversation, "Original question")
    first = await _view(api, conversation)
    plain = await api.client.get(_url(conversation, "/export?format=markdown"), headers=api.headers)
    assert "other branches" not in plain.text
    await _stream(
        api, _url(conversation, f"/messages/{first[0]['id']}/edit"), {"content": "Better question"}
    )
    markdown = await api.client.get(
        _url(conversation, "/export?format=markdown"), headers=api.headers
    )
    assert "Better question" in markdown.text and "Original question" not in markdown.text
    assert "other branches" in markdown.text
    exported = await api.client.get(_url(conversation, "/export?format=json"), headers=api.headers)
    assert exported.headers["content-disposition"].endswith('.json"')
    body = exported.json()
    assert body["branch"] == "active"
    assert _said(body["messages"]) == [
        ("user", "Better question"),
        ("assistant", "You said: Better question"),
    ]
    assert (body["messages"][0]["siblings"], body["messages"][0]["sibling_index"]) == (2, 1)
