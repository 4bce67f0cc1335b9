""" "Always allow": an approval remembered per user, the next calls run without asking."""

from __future__ import annotations

import json

import pytest

from orchestrator.domain import ToolPolicy
from tests.api.conftest import Api, names
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, spec

pytestmark = pytest.mark.anyio


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()
    tools.add(spec("files__delete", ToolPolicy.ASK))
    return tools


async def _ask_delete(api: Api, fake_openai: FakeOpenAI, name: str) -> tuple[str, str]:
    """A run whose model calls files__delete; returns the run id and the call waiting."""
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": name}))]),
        Reply(text="Deleted."),
    )
    conversation = await api.new_conversation()
    run_id = await conversation.start(f"delete {name}")
    events = await api.run_events(
        run_id, stop_after=lambda events: events[-1].name == "tool.approval_required"
    )
    return run_id, events[-1].data["id"]


async def test_always_allow_runs_the_call_and_the_next_calls_of_the_tool_without_asking(
    api: Api, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    run_id, call_id = await _ask_delete(api, fake_openai, "a.txt")
    approved = await api.client.post(
        f"/api/v1/tool-calls/{call_id}/approve", json={"always": True}, headers=api.headers
    )
    assert approved.status_code == 200
    assert approved.json() == {
        "tool_call_id": call_id,
        "run_id": run_id,
        "approved": True,
        "always": True,
    }
    first = await api.run_events(run_id)
    decided = [e.data for e in first if e.name == "tool.decided"]
    assert decided == [{"id": call_id, "approved": True, "always": True}]
    grants = (await api.client.get("/api/v1/tool-grants", headers=api.headers)).json()
    assert [g["tool"] for g in grants["items"]] == ["files__delete"]

    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "b.txt"}))]),
        Reply(text="Deleted again."),
    )
    conversation = await api.new_conversation()
    second = await api.run_events(await conversation.start("delete b.txt"))
    assert "tool.approval_required" not in names(second)
    assert names(second)[-1] == "run.completed"
    assert tools.calls[-2:] == [
        ("files__delete", {"x": "a.txt"}),
        ("files__delete", {"x": "b.txt"}),
    ]


async def test_a_grant_is_the_users_own_and_removing_it_asks_again(
    api: Api, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    run_id, call_id = await _ask_delete(api, fake_openai, "c.txt")
    await api.client.post(
        f"/api/v1/tool-calls/{call_id}/approve", json={"always": True}, headers=api.headers
    )
    await api.run_events(run_id)
    other = await api.as_new_user()
    theirs = (await api.client.get("/api/v1/tool-grants", headers=other.headers)).json()
    assert theirs == {"items": []}
    _, other_call = await _ask_delete(other, fake_openai, "d.txt")  # still asked
    await other.client.post(f"/api/v1/tool-calls/{other_call}/deny", headers=other.headers)

    removed = await api.client.delete("/api/v1/tool-grants/files__delete", headers=api.headers)
    assert removed.status_code == 204
    again = await api.client.delete("/api/v1/tool-grants/files__delete", headers=api.headers)
    assert again.status_code == 404 and again.json()["error"]["type"] == "not_found"
    _, asked = await _ask_delete(api, fake_openai, "e.txt")
    assert asked  # the approval is asked again
    denied = await api.client.post(f"/api/v1/tool-calls/{asked}/deny", headers=api.headers)
    assert denied.json() == {
        "tool_call_id": asked,
        "run_id": denied.json()["run_id"],
        "approved": False,
    }


async def test_always_with_a_bad_body_is_refused_and_decides_nothing(
    api: Api, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    run_id, call_id = await _ask_delete(api, fake_openai, "f.txt")
    refused = await api.client.post(
        f"/api/v1/tool-calls/{call_id}/approve", json={"always": "yes please"}, headers=api.headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["type"]
    grants = (await api.client.get("/api/v1/tool-grants", headers=api.headers)).json()
    assert grants == {"items": []}
    # Still undecided: denying it now works.
    denied = await api.client.post(f"/api/v1/tool-calls/{call_id}/deny", headers=api.headers)
    assert denied.status_code == 200 and denied.json()["run_id"] == run_id


async def test_always_allow_also_lets_the_parallel_calls_of_the_tool_waiting_beside_it_run(
    api: Api, fake_openai: FakeOpenAI, tools: FakeTools
) -> None:
    fake_openai.script(
        Reply(
            tool_calls=[
                FakeToolCall("files__delete", json.dumps({"x": "g.txt"})),
                FakeToolCall("files__delete", json.dumps({"x": "h.txt"})),
            ]
        ),
        Reply(text="Both gone."),
    )
    conversation = await api.new_conversation()
    run_id = await conversation.start("delete both")
    waiting = await api.run_events(
        run_id, stop_after=lambda events: names(events).count("tool.approval_required") == 2
    )
    first = next(e.data["id"] for e in waiting if e.name == "tool.approval_required")
    await api.client.post(
        f"/api/v1/tool-calls/{first}/approve", json={"always": True}, headers=api.headers
    )
    events = await api.run_events(run_id)
    decided = [e.data for e in events if e.name == "tool.decided"]
    assert len(decided) == 2 and all(d["approved"] and d["always"] for d in decided)
    assert names(events)[-1] == "run.completed"
    assert sorted(args["x"] for _, args in tools.calls) == ["g.txt", "h.txt"]
