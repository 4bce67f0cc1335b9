"""The audit log through the API: what each action leaves in it, and how admins read it."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import anyio
import httpx
import pytest

from orchestrator.domain import (
    AuditEvent,
    ElicitationRequest,
    ToolCallContext,
    ToolOutcome,
    ToolPolicy,
)
from orchestrator.store import AuditFilter
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api
from tests.api.test_openai_compat import _sdk
from tests.fakes.mcp_server import build
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, spec, text
from tests.fixtures.mcp_api import OpenApi

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def tools() -> FakeTools:
    tools = FakeTools()

    async def asks(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
        answer = await context.elicit(ElicitationRequest(message="Which city?"))
        return text(f"{answer.action}: {(answer.content or {}).get('city')}")

    tools.add(spec("notes__write"))
    tools.add(spec("files__delete", ToolPolicy.ASK))
    tools.add(spec("admin__wipe", ToolPolicy.DENY))

    async def hangs(arguments: dict[str, Any], context: ToolCallContext) -> ToolOutcome:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    tools.add(spec("weather__asks"), asks)
    tools.add(spec("slow__hang"), hangs)
    return tools


async def _admin(api: Api) -> dict[str, str]:
    response = await api.client.post(
        "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def _records(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every record matching `params`, oldest first (read as an admin, page by page)."""
    admin = await _admin(api)
    records: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 100} | ({"cursor": cursor} if cursor else {})
        response = await api.client.get("/api/v1/audit", params=query, headers=admin)
        assert response.status_code == 200, response.text
        records += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return records[::-1]


def _digest(arguments: dict[str, Any]) -> str:
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


async def test_a_chat_with_a_tool_call_records_the_call_with_its_digest_decision_and_trace(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    arguments = {"x": "shopping list", "a": [1, 2]}
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("notes__write", json.dumps(arguments))]),
        Reply(text="Written."),
    )
    conversation = await api.new_conversation()
    started = await api.client.post(
        f"{conversation.url}/messages",
        json={"content": "note it"},
        headers=api.headers | {"traceparent": TRACEPARENT},
    )
    assert started.status_code == 202, started.text
    assert started.headers["x-request-id"] == TRACE_ID
    await api.run_events(started.json()["run_id"])
    [record] = await _records(api, user=api.user_id, action="tool.call")
    assert record["actor_id"] == api.user_id and record["actor_email"] == api.email
    assert (record["outcome"], record["target_type"], record["target_id"]) == (
        "ok",
        "tool",
        "test/write",
    )
    detail = record["detail"]
    assert (detail["server"], detail["tool"], detail["decision"]) == ("test", "write", "auto")
    assert detail["arguments_digest"] == _digest(arguments)
    assert detail["run_id"] == started.json()["run_id"]
    assert "shopping list" not in json.dumps(record)
    assert record["address"] == "127.0.0.1" and record["trace_id"] == TRACE_ID


async def _wait_for(api: Api, run_id: str, name: str) -> dict[str, Any]:
    events = await api.run_events(run_id, stop_after=lambda events: events[-1].name == name)
    return events[-1].data


async def test_approvals_denials_and_policies_are_recorded_with_each_calls_decision(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(
            tool_calls=[
                FakeToolCall("files__delete", json.dumps({"x": "a.txt"})),
                FakeToolCall("admin__wipe", json.dumps({})),
            ]
        ),
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "b.txt"}))]),
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "c.txt"}))]),
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "d.txt"}))]),
        Reply(text="Done."),
    )
    conversation = await api.new_conversation()
    run_id = await conversation.start("clean up")
    first = await _wait_for(api, run_id, "tool.approval_required")
    denied = await api.client.post(f"/api/v1/tool-calls/{first['id']}/deny", headers=api.headers)
    assert denied.status_code == 200
    # Each read replays the run's events from the start: wait for the n-th question.
    second = (await api.run_events(run_id, stop_after=_nth_approval(2)))[-1].data
    approved = await api.client.post(
        f"/api/v1/tool-calls/{second['id']}/approve", headers=api.headers
    )
    assert approved.status_code == 200
    third = (await api.run_events(run_id, stop_after=_nth_approval(3)))[-1].data
    always = await api.client.post(
        f"/api/v1/tool-calls/{third['id']}/approve", json={"always": True}, headers=api.headers
    )
    assert always.status_code == 200
    await api.run_events(run_id)

    calls = await _records(api, user=api.user_id, action="tool.call")
    decisions = [(r["detail"]["tool"], r["detail"]["decision"], r["outcome"]) for r in calls]
    assert sorted(decisions[:2]) == [
        ("delete", "denied", "refused"),
        ("wipe", "policy-denied", "refused"),
    ]
    assert decisions[2:] == [
        ("delete", "approved", "ok"),
        ("delete", "approved", "ok"),
        ("delete", "always-allowed", "ok"),
    ]
    assert calls[4]["detail"]["arguments_digest"] == _digest({"x": "d.txt"})
    answers = await _records(api, user=api.user_id, action="tool.")
    answered = [(r["action"], r["target_id"]) for r in answers if r["action"] != "tool.call"]
    assert answered == [
        ("tool.deny", first["id"]),
        ("tool.approve", second["id"]),
        ("tool.allow_always", third["id"]),
    ]
    grant = await api.client.delete("/api/v1/tool-grants/files__delete", headers=api.headers)
    assert grant.status_code == 204
    [revoked] = await _records(api, user=api.user_id, action="tool.grant.revoke")
    assert revoked["target_id"] == "files__delete"


def _nth_approval(n: int) -> Any:
    def enough(events: list[Any]) -> bool:
        return sum(e.name == "tool.approval_required" for e in events) >= n

    return enough


async def test_an_elicitation_answer_is_recorded_without_its_content(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(tool_calls=[FakeToolCall("weather__asks", "{}")]), Reply(text="OK."))
    conversation = await api.new_conversation()
    run_id = await conversation.start("weather?")
    question = await _wait_for(api, run_id, "input.required")
    answered = await api.client.post(
        f"/api/v1/runs/{run_id}/input",
        json={"id": question["id"], "action": "accept", "content": {"city": "Timbuktu"}},
        headers=api.headers,
    )
    assert answered.status_code == 204
    await api.run_events(run_id)
    [record] = await _records(api, user=api.user_id, action="tool.input")
    assert record["detail"] == {"request_id": question["id"], "action": "accept"}
    assert record["target_id"] == run_id and "Timbuktu" not in json.dumps(record)


async def test_a_call_cut_short_by_cancelling_its_run_is_recorded_as_interrupted(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(tool_calls=[FakeToolCall("slow__hang", "{}")]), Reply(text="-"))
    conversation = await api.new_conversation()
    run_id = await conversation.start("wait")
    await _wait_for(api, run_id, "tool.call")
    cancelled = await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.headers)
    assert cancelled.status_code == 200
    await api.run_events(run_id)  # to its end: the call's record is written before it
    [record] = await _records(api, user=api.user_id, action="tool.call")
    assert (record["outcome"], record["detail"]["decision"]) == ("interrupted", "auto")


async def test_logins_are_recorded_with_the_reason_of_a_failure_and_never_the_password(
    api: Api,
) -> None:
    async def login(email: str, password: str) -> int:
        response = await api.client.post(
            "/api/v1/auth/token", json={"email": email, "password": password}
        )
        return response.status_code

    nobody = f"nobody-{uuid.uuid4().hex[:8]}@test.example"
    assert await login(api.email, "wrong-password-42") == 401
    assert await login(nobody, "wrong-password-43") == 401
    assert await login(api.email, "password-123") == 200
    admin = await _admin(api)
    disabled = await api.client.patch(
        f"/api/v1/users/{api.user_id}", json={"is_active": False}, headers=admin
    )
    assert disabled.status_code == 200
    assert await login(api.email, "password-123") == 401

    mine = await _records(api, user=api.email, action="auth.login")
    # The fixture's own login first, then the three above.
    assert [(r["outcome"], r["detail"].get("reason")) for r in mine] == [
        ("ok", None),
        ("failure", "bad_credentials"),
        ("ok", None),
        ("failure", "disabled"),
    ]
    assert all(r["actor_id"] == api.user_id for r in mine)
    [unknown] = await _records(api, user=nobody)
    assert (unknown["outcome"], unknown["detail"]["reason"]) == ("failure", "unknown_account")
    assert unknown["actor_id"] is None and unknown["address"] == "127.0.0.1"
    everything = json.dumps([*mine, unknown])
    assert "wrong-password" not in everything and "password-123" not in everything
    updates = await _records(api, action="user.update", user=ADMIN_EMAIL)
    [update] = [r for r in updates if r["target_id"] == api.user_id]
    assert update["detail"] == {"email": api.email, "is_active": False}


async def test_a_reused_refresh_token_is_recorded(api: Api) -> None:
    login = await api.client.post(
        "/api/v1/auth/token", json={"email": api.email, "password": "password-123"}
    )
    refresh_token = login.json()["refresh_token"]
    first = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    again = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert (first.status_code, again.status_code) == (200, 401)
    [record] = await _records(api, user=api.user_id, action="auth.refresh")
    assert (record["outcome"], record["detail"]) == ("failure", {"reason": "reused"})


async def test_a_key_is_recorded_when_made_used_and_deleted_and_its_use_once_not_per_request(
    api: Api,
) -> None:
    created = await api.client.post("/api/v1/keys", json={"name": "ci"}, headers=api.headers)
    assert created.status_code == 201
    key = created.json()
    for _ in range(3):
        used = await api.client.get(
            "/api/v1/auth/me",
            headers={"authorization": f"Bearer {key['key']}", "x-request-id": "req-abc-123"},
        )
        assert used.status_code == 200 and used.headers["x-request-id"] == "req-abc-123"
    deleted = await api.client.delete(f"/api/v1/keys/{key['id']}", headers=api.headers)
    assert deleted.status_code == 204
    records = await _records(api, user=api.user_id, action="key.")
    assert [(r["action"], r["target_id"]) for r in records] == [
        ("key.create", key["id"]),
        ("key.use", key["id"]),
        ("key.delete", key["id"]),
    ]
    assert records[0]["detail"] == {
        "name": "ci",
        "prefix": key["prefix"],
        "scopes": ["chat", "read"],
        "expires_at": None,
    }
    assert records[1]["trace_id"] == "req-abc-123"
    assert key["key"] not in json.dumps(records)


async def test_an_admin_creating_and_changing_a_user_is_recorded_without_passwords(
    api: Api,
) -> None:
    admin = await _admin(api)
    email = f"made-{uuid.uuid4().hex[:8]}@test.example"
    created = await api.client.post(
        "/api/v1/users", json={"email": email, "password": "secret-pass-77"}, headers=admin
    )
    user_id = created.json()["id"]
    changed = await api.client.patch(
        f"/api/v1/users/{user_id}",
        json={"is_admin": True, "password": "other-pass-88"},
        headers=admin,
    )
    assert (created.status_code, changed.status_code) == (201, 200)
    records = [r for r in await _records(api, action="user.") if r["target_id"] == user_id]
    assert [(r["action"], r["actor_email"], r["detail"]) for r in records] == [
        ("user.create", ADMIN_EMAIL, {"email": email, "is_admin": False}),
        ("user.update", ADMIN_EMAIL, {"email": email, "is_admin": True, "password_reset": True}),
    ]
    assert "pass-77" not in json.dumps(records) and "pass-88" not in json.dumps(records)


async def test_exports_and_deletions_are_recorded(api: Api, fake_openai: FakeOpenAI) -> None:
    conversation = await api.new_conversation()
    exported = await api.client.get(
        f"{conversation.url}/export", params={"format": "markdown"}, headers=api.headers
    )
    deleted = await api.client.delete(conversation.url, headers=api.headers)
    upload = await api.client.post(
        "/api/v1/files", headers=api.headers, files={"file": ("a.txt", b"hello", "text/plain")}
    )
    file_id = upload.json()["id"]
    file_gone = await api.client.delete(f"/api/v1/files/{file_id}", headers=api.headers)
    document = await api.client.post(
        "/api/v1/knowledge/documents",
        headers=api.headers,
        files={"file": ("notes.md", b"# Notes\n\nSome text.", "text/markdown")},
    )
    document_id = document.json()["id"]
    document_gone = await api.client.delete(
        f"/api/v1/knowledge/documents/{document_id}", headers=api.headers
    )
    statuses = (exported.status_code, deleted.status_code, upload.status_code)
    assert (*statuses, file_gone.status_code) == (200, 204, 201, 204)
    assert (document.status_code, document_gone.status_code) == (201, 204)
    records = await _records(api, user=api.user_id)
    mine = [(r["action"], r["target_id"]) for r in records if r["action"] != "auth.login"]
    assert mine == [
        ("conversation.export", conversation.id),
        ("conversation.delete", conversation.id),
        ("file.delete", file_id),
        ("knowledge.delete", document_id),
    ]
    assert records[-2]["detail"] == {"name": "a.txt"}


async def test_only_admins_read_the_log(api: Api) -> None:
    response = await api.client.get("/api/v1/audit", headers=api.headers)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "forbidden"
    anonymous = await api.client.get("/api/v1/audit")
    assert anonymous.status_code == 401


async def test_filters_pages_and_the_json_lines_export(api: Api) -> None:
    for name in ("one", "two", "three", "four", "five"):
        made = await api.client.post("/api/v1/keys", json={"name": name}, headers=api.headers)
        assert made.status_code == 201
    admin = await _admin(api)
    get = api.client.get
    pages: list[list[str]] = []
    cursor = None
    while True:
        params = {"user": api.email, "action": "key.create", "limit": 2}
        response = await get(
            "/api/v1/audit", params=params | ({"cursor": cursor} if cursor else {}), headers=admin
        )
        body = response.json()
        pages.append([r["detail"]["name"] for r in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [["five", "four"], ["three", "two"], ["one"]]

    all_mine = await _records(api, user=api.user_id)
    middle = [r for r in all_mine if r["action"] == "key.create"][1:4]
    window = await _records(api, user=api.user_id, since=middle[0]["at"], until=middle[-1]["at"])
    assert [r["detail"].get("name") for r in window if r["action"] == "key.create"] == [
        "two",
        "three",
    ]
    assert {r["action"] for r in await _records(api, user=api.user_id, action="key*")} == {
        "key.create"
    }
    assert await _records(api, user=api.user_id, action="key") == []

    export = await get(
        "/api/v1/audit", params={"user": api.user_id, "format": "jsonl"}, headers=admin
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in export.headers["content-disposition"]
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in all_mine]
    [exported] = await _records(api, user=ADMIN_EMAIL, action="audit.export", since=lines[-1]["at"])
    assert exported["detail"] == {"user": api.user_id}


async def test_changes_made_from_the_command_line_are_found_by_their_operator(api: Api) -> None:
    operator = f"cli:ops-{uuid.uuid4().hex[:6]}"
    await api.services.audit.record(
        AuditEvent("user.create", actor_email=operator, target_type="user", target_id="x")
    )
    [record] = await _records(api, user=operator)
    assert (record["action"], record["actor_email"], record["actor_id"]) == (
        "user.create",
        operator,
        None,
    )
    assert await _records(api, user=f"{operator}-else") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"user": "not-an-id"}, "user"),
        ({"user": "cli:"}, "user"),
        ({"since": "yesterday"}, None),
        ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "since"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"action": "DROP TABLE"}, None),
        ({"limit": 0}, None),
        ({"format": "xml"}, None),
    ],
)
async def test_bad_filters_get_a_422_that_says_which(
    api: Api, params: dict[str, Any], field: str | None
) -> None:
    response = await api.client.get("/api/v1/audit", params=params, headers=await _admin(api))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message"]
    if field is not None:
        assert error["detail"]["field"] == field


async def test_every_answer_carries_a_request_id(api: Api) -> None:
    plain: httpx.Response = await api.client.get("/api/v1/auth/me", headers=api.headers)
    refused = await api.client.get("/api/v1/auth/me")
    assert len(plain.headers["x-request-id"]) == 32
    assert refused.headers["x-request-id"] != plain.headers["x-request-id"]


async def test_a_flood_of_throttled_logins_leaves_one_record_not_one_each(api: Api) -> None:
    statuses = []
    for _ in range(8):
        response = await api.client.post(
            "/api/v1/auth/token", json={"email": api.email, "password": "guess-guess"}
        )
        statuses.append(response.status_code)
    assert statuses.count(401) == 5 and statuses.count(429) == 3
    failures = await _records(api, user=api.user_id, action="auth.login")
    reasons = [r["detail"]["reason"] for r in failures if r["outcome"] == "failure"]
    assert reasons == ["bad_credentials"] * 5 + ["throttled"]


async def test_a_tool_call_through_the_openai_compatible_api_is_recorded(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    demo = f"demo{uuid.uuid4().hex[:6]}"
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall(f"{demo}__add", json.dumps({"b": 3, "a": 2}))]),
        Reply(text="It is 5."),
    )
    async with open_api({demo: {"command": "in-process"}}, targets={demo: build()}) as api:
        answer = await _sdk(api, api.alice).chat.completions.create(
            model="assistant", messages=[{"role": "user", "content": "What is 2 + 3?"}]
        )
        records, _ = await api.services.audit.page(
            AuditFilter(user=api.alice_id, action="tool.call")
        )
    assert answer.choices[0].message.content == "It is 5."
    [record] = records
    assert (record.target_id, record.outcome) == (f"{demo}/add", "ok")
    assert record.detail["decision"] == "auto"
    assert record.detail["arguments_digest"] == _digest({"a": 2, "b": 3})


async def test_a_call_needing_approval_on_the_openai_compatible_api_is_recorded_as_denied(
    open_api: OpenApi, fake_openai: FakeOpenAI
) -> None:
    demo = f"demo{uuid.uuid4().hex[:6]}"
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall(f"{demo}__delete", json.dumps({"path": "/etc"}))]),
        Reply(text="I could not delete it."),
    )
    async with open_api({demo: {"command": "in-process"}}, targets={demo: build()}) as api:
        answer = await _sdk(api, api.alice).chat.completions.create(
            model="assistant", messages=[{"role": "user", "content": "Delete /etc"}]
        )
        records, _ = await api.services.audit.page(
            AuditFilter(user=api.alice_id, action="tool.call")
        )
    assert answer.choices[0].message.content == "I could not delete it."
    [record] = records
    assert (record.target_id, record.outcome) == (f"{demo}/delete", "refused")
    assert (record.detail["decision"], record.detail["reason"]) == (
        "denied",
        "approval_unavailable",
    )


async def test_mcp_server_changes_are_recorded(open_api: OpenApi) -> None:
    name = f"srv{uuid.uuid4().hex[:6]}"
    async with open_api(targets={name: build()}) as api:
        added = await api.client.post(
            "/api/v1/mcp/servers",
            json={"name": name, "command": "in-process", "shared": True},
            headers=api.admin,
        )
        with anyio.fail_after(20):
            await api.hub.settled()
        changed = await api.client.put(
            f"/api/v1/mcp/servers/{name}/tools/add/policy",
            json={"policy": "deny"},
            headers=api.admin,
        )
        removed = await api.client.delete(f"/api/v1/mcp/servers/{name}", headers=api.admin)
        records, _ = await api.services.audit.page(AuditFilter(action="mcp."), limit=500)
    assert (added.status_code, changed.status_code, removed.status_code) == (201, 200, 204)
    mine = [(r.action, r.target_id, r.detail) for r in records[::-1] if name in (r.target_id or "")]
    assert mine == [
        ("mcp.server.add", name, {"shared": True, "transport": "stdio"}),
        ("mcp.tool.policy", f"{name}/add", {"server": name, "policy": "deny"}),
        ("mcp.server.remove", name, {}),
    ]


async def test_logouts_ended_sessions_password_changes_and_resets_are_recorded(api: Api) -> None:
    admin = await _admin(api)
    email = f"sess-{uuid.uuid4().hex[:8]}@test.example"
    created = await api.client.post(
        "/api/v1/users", json={"email": email, "password": "first-pass-77"}, headers=admin
    )
    user_id = created.json()["id"]

    async def login(password: str) -> dict[str, str]:
        response = await api.client.post(
            "/api/v1/auth/token", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"authorization": f"Bearer {response.json()['access_token']}"}

    first, second = await login("first-pass-77"), await login("first-pass-77")
    sessions = (await api.client.get("/api/v1/auth/sessions", headers=first)).json()["items"]
    other = next(s["id"] for s in sessions if not s["current"])
    assert (
        await api.client.delete(f"/api/v1/auth/sessions/{other}", headers=first)
    ).status_code == 204
    assert (await api.client.post("/api/v1/auth/logout", headers=first)).status_code == 204
    third = await login("first-pass-77")
    changed = await api.client.post(
        "/api/v1/auth/password",
        json={"current_password": "first-pass-77", "new_password": "second-pass-88"},
        headers=third,
    )
    assert changed.status_code == 204, changed.text
    fourth = await login("second-pass-88")
    assert (await api.client.post("/api/v1/auth/logout-all", headers=fourth)).status_code == 204
    reset = await api.client.post(f"/api/v1/users/{user_id}/password-reset", headers=admin)
    assert reset.status_code == 200, reset.text
    assert second  # ended with its session above

    records = [
        (r["action"], r["actor_email"], r["target_type"], r["detail"])
        for r in await _records(api, action="auth.")
        if r["actor_email"] == email and r["action"] != "auth.login"
    ] + [
        (r["action"], r["actor_email"], r["target_type"], r["detail"])
        for r in await _records(api, action="user.password_reset")
        if r["target_id"] == user_id
    ]
    assert records == [
        ("auth.session_end", email, "session", {}),
        ("auth.logout", email, "session", {}),
        ("auth.password_change", email, "user", {}),
        ("auth.logout_all", email, "user", {}),
        ("user.password_reset", ADMIN_EMAIL, "user", {"generated": True}),
    ]
    assert "pass-77" not in json.dumps(records) and "pass-88" not in json.dumps(records)
