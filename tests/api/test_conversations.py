"""Conversations over HTTP: the happy path, ownership and the error shape."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


async def test_a_user_creates_renames_lists_exports_and_deletes_a_conversation(api: Api) -> None:
    client, headers = api.client, api.headers
    created = await client.post(
        "/api/v1/conversations", json={"title": "Trip plans"}, headers=headers
    )
    assert created.status_code == 201
    conversation = created.json()
    assert conversation["title"] == "Trip plans" and conversation["message_count"] == 0
    renamed = await client.patch(
        f"/api/v1/conversations/{conversation['id']}", json={"title": "Japan trip"}, headers=headers
    )
    assert renamed.json()["title"] == "Japan trip"
    listed = await client.get("/api/v1/conversations", headers=headers)
    assert [c["id"] for c in listed.json()["items"]] == [conversation["id"]]
    exported = await client.get(
        f"/api/v1/conversations/{conversation['id']}/export?format=markdown", headers=headers
    )
    assert exported.headers["content-type"].startswith("text/markdown")
    assert exported.text.startswith("# Japan trip")
    deleted = await client.delete(f"/api/v1/conversations/{conversation['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/conversations/{conversation['id']}", headers=headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["type"] == "not_found"


async def test_another_users_conversation_answers_404_to_every_route(api: Api) -> None:
    owner = api
    other = await api.as_new_user()
    conversation_id = await owner.conversation()
    client = api.client
    for method, path, body in [
        ("GET", f"/api/v1/conversations/{conversation_id}", None),
        ("PATCH", f"/api/v1/conversations/{conversation_id}", {"title": "x"}),
        ("DELETE", f"/api/v1/conversations/{conversation_id}", None),
        ("GET", f"/api/v1/conversations/{conversation_id}/export", None),
        ("POST", f"/api/v1/conversations/{conversation_id}/messages", {"content": "hi"}),
    ]:
        response = await client.request(method, path, json=body, headers=other.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["type"] == "not_found"
    still = await client.get(f"/api/v1/conversations/{conversation_id}", headers=owner.headers)
    assert still.status_code == 200 and still.json()["message_count"] == 0


async def test_every_route_but_health_needs_credentials(api: Api) -> None:
    client = api.client
    for method, path in [
        ("GET", "/api/v1/conversations"),
        ("POST", "/api/v1/conversations"),
        ("GET", f"/api/v1/runs/{uuid.uuid4()}"),
        ("GET", "/api/v1/tools"),
        ("GET", "/api/v1/keys"),
        ("GET", "/api/v1/auth/me"),
        ("GET", "/api/v1/usage"),
        ("POST", "/api/v1/tool-calls/call_x/approve"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["type"] == "unauthorized"
        bad = await client.request(method, path, headers={"authorization": "Bearer not-a-token"})
        assert bad.status_code == 401
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200
