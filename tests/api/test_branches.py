"""Branches over HTTP: edit and regenerate start siblings, the active branch is stored, and the
model only ever sees the active branch (checked on what the fake OpenAI server received)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from orchestrator.domain import ToolCallContext, ToolOutcome
from tests.api.conftest import Api, Conversation, names
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, spec, text

pytestmark = pytest.mark.anyio


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()

    async def weather(args: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
        return text(f"Sunny in {args['x']}")

    tools.add(spec("weather__forecast"), weather)
    return tools


async def _say(conversation: Conversation, content: str) -> list[dict[str, Any]]:
    """Send `content`, wait for the answer; the conversation's messages then."""
    events = await conversation.stream(content)
    assert events[-1].name == "run.completed", names(events)
    return await conversation.messages()


async def _stream(conversation: Conversation, tail: str, body: Any = None) -> None:
    events = await conversation.stream_from(tail, body)
    assert events[-1].name == "run.completed", names(events)


async def _choose(conversation: Conversation, message_id: str) -> httpx.Response:
    """Make the branch of `message_id` the conversation's active one."""
    api = conversation.api
    return await api.client.put(
        f"{conversation.url}/branch", json={"message_id": message_id}, headers=api.headers
    )


def _said(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], "".join(p.get("text", "") for p in m["content"])) for m in messages]


def _sent(fake: FakeOpenAI) -> list[tuple[str, str]]:
    return [
        (m["role"], m["content"] if isinstance(m["content"], str) else "")
        for m in fake.last_request["messages"]
        if m["role"] != "system"
    ]


async def test_an_edit_starts_a_sibling_branch_and_the_model_sees_only_the_edited_history(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    await _say(conversation, "Plan a trip to Rome")
    before = await _say(conversation, "Three days")
    await _stream(
        conversation,
        f"/messages/{before[2]['id']}/edit",
        {"content": "Five days instead"},
    )
    assert _sent(fake_openai) == [
        ("user", "Plan a trip to Rome"),
        ("assistant", "You said: Plan a trip to Rome"),
        ("user", "Five days instead"),
    ]
    after = await conversation.messages()
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
    await _stream(conversation, f"/messages/{before[0]['id']}/edit", {"content": "Hi"})
    assert _sent(fake_openai) == [("user", "Hi")]
    root = await conversation.messages()
    assert _said(root) == [("user", "Hi"), ("assistant", "You said: Hi")]
    assert root[0]["parent_id"] is None
    assert (root[0]["siblings"], root[0]["sibling_index"]) == (2, 1)


async def test_regenerating_twice_gives_three_answers_in_their_order(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    first = await _say(conversation, "Name a colour")
    fake_openai.script(Reply(text="Blue"))
    await _stream(conversation, f"/messages/{first[1]['id']}/regenerate")
    assert _sent(fake_openai) == [("user", "Name a colour")]
    # By the user message this time: the same thing, a new answer to it.
    fake_openai.script(Reply(text="Green"))
    await _stream(conversation, f"/messages/{first[0]['id']}/regenerate", {})
    assert _sent(fake_openai) == [("user", "Name a colour")]
    view = await conversation.messages()
    assert _said(view) == [("user", "Name a colour"), ("assistant", "Green")]
    assert view[0] == first[0]
    assert view[1]["parent_id"] == first[0]["id"]
    assert (view[1]["siblings"], view[1]["sibling_index"]) == (3, 2)

    switched = await _choose(conversation, first[1]["id"])
    assert switched.status_code == 200
    shown = switched.json()["messages"]
    assert _said(shown) == [("user", "Name a colour"), ("assistant", "You said: Name a colour")]
    assert (shown[1]["siblings"], shown[1]["sibling_index"]) == (3, 0)


async def test_the_chosen_branch_is_stored_and_the_next_message_continues_it(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    original = await _say(conversation, "Tell me about cats")
    await _stream(conversation, f"/messages/{original[0]['id']}/edit", {"content": "Dogs, then"})
    dogs = await conversation.messages()
    assert _said(dogs)[0] == ("user", "Dogs, then")

    switched = await _choose(conversation, original[0]["id"])
    assert switched.status_code == 200
    assert [m["id"] for m in switched.json()["messages"]] == [m["id"] for m in original]
    # Stored: a fresh read (a reload, another tab, another replica) shows the same branch.
    again = await conversation.messages()
    assert [m["id"] for m in again] == [m["id"] for m in original]
    assert (again[0]["siblings"], again[0]["sibling_index"]) == (2, 0)

    await _say(conversation, "And their kittens?")
    assert _sent(fake_openai) == [
        ("user", "Tell me about cats"),
        ("assistant", "You said: Tell me about cats"),
        ("user", "And their kittens?"),
    ]
    continued = await conversation.messages()
    assert [m["id"] for m in continued[:2]] == [m["id"] for m in original]
    assert _said(continued[2:]) == [
        ("user", "And their kittens?"),
        ("assistant", "You said: And their kittens?"),
    ]
    assert continued[2]["parent_id"] == original[1]["id"]

    # Choosing the first message of a branch shows that branch to its newest message.
    to_dogs = await _choose(conversation, dogs[0]["id"])
    assert [m["id"] for m in to_dogs.json()["messages"]] == [m["id"] for m in dogs]
    to_cats = await _choose(conversation, original[0]["id"])
    assert [m["id"] for m in to_cats.json()["messages"]] == [m["id"] for m in continued]


async def test_a_regenerated_answer_keeps_tool_calls_with_their_turn(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("weather__forecast", json.dumps({"x": "Paris"}))]),
        Reply(text="It is sunny in Paris."),
    )
    conversation = await api.new_conversation()
    first = await _say(conversation, "Weather in Paris?")
    assert [m["role"] for m in first] == ["user", "assistant", "tool", "assistant"]
    assert [m["parent_id"] for m in first[1:]] == [m["id"] for m in first[:-1]]

    # A tool result is not an answer to regenerate; the answer's last message is.
    wrong = await api.client.post(
        f"{conversation.url}/messages/{first[2]['id']}/regenerate", headers=api.headers
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["type"] == "invalid_input"
    fake_openai.script(Reply(text="I cannot look that up right now."))
    await _stream(conversation, f"/messages/{first[3]['id']}/regenerate")
    assert _sent(fake_openai) == [("user", "Weather in Paris?")]
    view = await conversation.messages()
    assert _said(view) == [
        ("user", "Weather in Paris?"),
        ("assistant", "I cannot look that up right now."),
    ]
    assert (view[1]["siblings"], view[1]["sibling_index"]) == (2, 1)

    back = await _choose(conversation, first[1]["id"])
    assert [m["id"] for m in back.json()["messages"]] == [m["id"] for m in first]
    # The next turn's context carries the call and its result with their answer.
    await _say(conversation, "Thanks")
    sent = fake_openai.last_request["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[3]["content"] == "Sunny in Paris"


async def test_wrong_roles_busy_conversations_and_unknown_ids_are_refused_and_change_nothing(
    api: Api, conversation: Conversation, fake_openai: FakeOpenAI
) -> None:
    view = await _say(conversation, "Hello")
    question, answer = view[0]["id"], view[1]["id"]

    edit_answer = await api.client.post(
        f"{conversation.url}/messages/{answer}/edit", json={"content": "x"}, headers=api.headers
    )
    assert edit_answer.status_code == 422
    assert edit_answer.json()["error"]["type"] == "invalid_input"
    assert "user message" in edit_answer.json()["error"]["message"]
    empty = await api.client.post(
        f"{conversation.url}/messages/{question}/edit", json={"content": " "}, headers=api.headers
    )
    assert empty.status_code == 422

    for path, body in [
        (f"/messages/{uuid.uuid4()}/edit", {"content": "x"}),
        (f"/messages/{uuid.uuid4()}/regenerate", None),
    ]:
        unknown = await api.client.post(conversation.url + path, json=body, headers=api.headers)
        assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found"
    nowhere = await _choose(conversation, str(uuid.uuid4()))
    assert nowhere.status_code == 404
    bad = await _choose(conversation, "not-an-id")
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "invalid_input"

    # A message of another conversation of the same user is not this one's.
    elsewhere = await api.new_conversation()
    for path, body in [
        (f"/messages/{question}/edit", {"content": "x"}),
        (f"/messages/{answer}/regenerate", None),
    ]:
        moved = await api.client.post(elsewhere.url + path, json=body, headers=api.headers)
        assert moved.status_code == 404
    across = await _choose(elsewhere, question)
    assert across.status_code == 404

    # While a run is active: 409, and nothing is stored.
    fake_openai.script(Reply(chunks=["slow "] * 200, chunk_delay=0.02))
    busy = await conversation.send("Go on")
    assert busy.status_code == 202
    for path, body in [
        (f"/messages/{question}/edit", {"content": "x"}),
        (f"/messages/{answer}/regenerate", None),
    ]:
        conflict = await api.client.post(conversation.url + path, json=body, headers=api.headers)
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["error"]["type"] == "conflict"
    run_id = busy.json()["run_id"]
    cancelled = await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.headers)
    assert cancelled.status_code == 200
    after = await conversation.messages()
    assert [m["role"] for m in after] == ["user", "assistant", "user", "assistant"]
    assert all(m["siblings"] == 1 for m in after)


async def test_another_user_gets_404_for_every_branch_route(api: Api) -> None:
    owner = api
    other = await api.as_new_user()
    conversation = await owner.new_conversation()
    view = await _say(conversation, "Mine")
    question, answer = view[0]["id"], view[1]["id"]
    for method, path, body in [
        ("POST", f"/messages/{question}/edit", {"content": "theirs"}),
        ("POST", f"/messages/{answer}/regenerate", None),
        ("PUT", "/branch", {"message_id": question}),
    ]:
        response = await api.client.request(
            method, conversation.url + path, json=body, headers=other.headers
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["type"] == "not_found"
    assert await conversation.messages() == view


async def test_exports_hold_the_active_branch_and_say_so(
    api: Api, conversation: Conversation
) -> None:
    first = await _say(conversation, "Original question")
    plain = await api.client.get(f"{conversation.url}/export?format=markdown", headers=api.headers)
    assert "other branches" not in plain.text
    await _stream(conversation, f"/messages/{first[0]['id']}/edit", {"content": "Better question"})
    markdown = await api.client.get(
        f"{conversation.url}/export?format=markdown", headers=api.headers
    )
    assert "Better question" in markdown.text and "Original question" not in markdown.text
    assert "other branches" in markdown.text
    exported = await api.client.get(f"{conversation.url}/export?format=json", headers=api.headers)
    assert exported.headers["content-disposition"].endswith('.json"')
    body = exported.json()
    assert body["branch"] == "active"
    assert _said(body["messages"]) == [
        ("user", "Better question"),
        ("assistant", "You said: Better question"),
    ]
    assert (body["messages"][0]["siblings"], body["messages"][0]["sibling_index"]) == (2, 1)
