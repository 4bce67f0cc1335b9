"""Bad input gets a clear 4xx in the one error shape, and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import Api
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.anyio


async def _assert_error(response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["type"] == error_type
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


async def test_bad_messages_are_refused_and_nothing_is_stored(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    conversation = await api.conversation()
    url = f"/api/v1/conversations/{conversation}/messages"
    headers = api.headers | {"content-type": "application/json"}
    cases = [
        (b"{not json", 400, "invalid_json"),
        (b'{"content": ""}', 422, "invalid_input"),
        (b'{"content": "   "}', 422, "invalid_input"),
        (b'{"content": []}', 422, "invalid_input"),
        (b'{"content": 42}', 422, "invalid_input"),
        (b'{"content": "hi", "model": 7}', 422, "invalid_input"),
        (b'{"content": "hi", "tools": "all"}', 422, "invalid_input"),
        (b'{"content": "hi", "surprise": true}', 422, "invalid_input"),
        (b'{"content": [{"type": "image"}]}', 422, "invalid_input"),
        (b'{"content": [{"type": "image", "url": "file:///etc/passwd"}]}', 422, "invalid_input"),
        (b"[]", 422, "invalid_input"),
        (b"", 422, "invalid_input"),
    ]
    for body, status, error_type in cases:
        await _assert_error(
            await api.client.post(url, content=body, headers=headers), status, error_type
        )
    huge = b'{"content": "' + b"x" * 2_000_000 + b'"}'
    await _assert_error(
        await api.client.post(url, content=huge, headers=headers), 413, "payload_too_large"
    )
    detail = (
        await api.client.get(f"/api/v1/conversations/{conversation}", headers=api.headers)
    ).json()
    assert detail["messages"] == [] and detail["message_count"] == 0
    assert fake_openai.requests == []


async def test_a_message_longer_than_the_limit_is_refused(api: Api) -> None:
    api.services.settings.max_message_chars = 10
    conversation = await api.conversation()
    response = await api.client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "x" * 11},
        headers=api.headers,
    )
    await _assert_error(response, 422, "invalid_input")


async def test_unknown_and_malformed_ids(api: Api) -> None:
    missing = uuid.uuid4()
    for method, path in [
        ("GET", f"/api/v1/conversations/{missing}"),
        ("POST", f"/api/v1/conversations/{missing}/messages"),
        ("GET", f"/api/v1/runs/{missing}"),
        ("GET", f"/api/v1/runs/{missing}/events"),
        ("POST", f"/api/v1/runs/{missing}/cancel"),
        ("POST", "/api/v1/tool-calls/call_unknown/approve"),
        ("DELETE", f"/api/v1/keys/{missing}"),
    ]:
        body = {"content": "hi"} if path.endswith("/messages") else None
        await _assert_error(
            await api.client.request(method, path, json=body, headers=api.headers), 404, "not_found"
        )
    for path in ["/api/v1/conversations/not-a-uuid", "/api/v1/runs/123"]:
        await _assert_error(await api.client.get(path, headers=api.headers), 422, "invalid_input")
    await _assert_error(
        await api.client.get("/api/v1/nowhere", headers=api.headers), 404, "not_found"
    )
    await _assert_error(
        await api.client.put("/api/v1/conversations", headers=api.headers),
        405,
        "method_not_allowed",
    )


async def test_bad_paging_and_resume_points(api: Api) -> None:
    await _assert_error(
        await api.client.get("/api/v1/conversations?limit=0", headers=api.headers),
        422,
        "invalid_input",
    )
    await _assert_error(
        await api.client.get("/api/v1/conversations?limit=x", headers=api.headers),
        422,
        "invalid_input",
    )
    await _assert_error(
        await api.client.get("/api/v1/conversations?cursor=garbage", headers=api.headers),
        422,
        "invalid_input",
    )
    conversation = await api.conversation()
    run = await api.client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"content": "x"}, headers=api.headers
    )
    run_id = run.json()["run_id"]
    await _assert_error(
        await api.client.get(
            f"/api/v1/runs/{run_id}/events", headers=api.headers | {"last-event-id": "abc"}
        ),
        422,
        "invalid_input",
    )


async def test_bad_auth_bodies(api: Api) -> None:
    await _assert_error(
        await api.client.post("/api/v1/auth/token", json={"email": "a@b"}), 422, "invalid_input"
    )
    as_json = {"content-type": "application/json"}
    await _assert_error(
        await api.client.post("/api/v1/auth/token", content=b"nope", headers=as_json),
        400,
        "invalid_json",
    )
    await _assert_error(
        await api.client.post("/api/v1/auth/token", content=b"nope"), 422, "invalid_input"
    )
    await _assert_error(
        await api.client.post("/api/v1/auth/refresh", json={"refresh_token": "x.y.z"}),
        401,
        "unauthorized",
    )
    await _assert_error(
        await api.client.patch(
            f"/api/v1/conversations/{uuid.uuid4()}", json={"title": "  "}, headers=api.headers
        ),
        422,
        "invalid_input",
    )
