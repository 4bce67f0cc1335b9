"""Admins manage accounts: list, create, disable, change role, reset a password."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.main import create_app
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, collect, make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@test.example"


async def _token(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password})


async def _admin(api: Api) -> dict[str, str]:
    response = await _token(api.client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 200, response.text
    return _bearer(response.json()["access_token"])


def _error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == type_ and error["message"]
    return error


async def test_an_admin_creates_a_user_who_can_log_in_and_sees_them_listed(api: Api) -> None:
    admin = await _admin(api)
    email = _email()
    created = await api.client.post(
        "/api/v1/users", json={"email": email, "password": "their-password-1"}, headers=admin
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == email and body["is_active"] and not body["is_admin"]
    assert body["password"] is None  # the admin chose it: nothing to show
    login = await _token(api.client, email, "their-password-1")
    assert login.status_code == 200
    listed = await api.client.get("/api/v1/users", headers=admin)
    rows = {row["email"]: row for row in listed.json()["items"]}
    assert rows[email]["id"] == body["id"] and "password_hash" not in rows[email]
    assert rows[ADMIN_EMAIL]["is_admin"]


async def test_a_generated_password_is_shown_once_and_works(api: Api) -> None:
    admin = await _admin(api)
    email = _email()
    created = await api.client.post(
        "/api/v1/users", json={"email": email, "is_admin": True}, headers=admin
    )
    password = created.json()["password"]
    assert created.json()["is_admin"] and len(password) >= 12
    login = await _token(api.client, email, password)
    me = await api.client.get("/api/v1/auth/me", headers=_bearer(login.json()["access_token"]))
    assert me.json()["is_admin"] is True
    listed = await api.client.get("/api/v1/users", headers=admin)
    assert password not in listed.text


async def test_a_duplicate_email_is_a_conflict_and_bad_input_a_clear_error(api: Api) -> None:
    admin = await _admin(api)
    duplicate = await api.client.post(
        "/api/v1/users",
        json={"email": api.email.upper(), "password": "whatever-123"},
        headers=admin,
    )
    _error(duplicate, 409, "conflict")
    short = await api.client.post(
        "/api/v1/users", json={"email": _email(), "password": "short"}, headers=admin
    )
    assert short.status_code == 422 and "error" in short.json()
    not_email = await api.client.post(
        "/api/v1/users", json={"email": "no-at-sign", "password": "long-enough-1"}, headers=admin
    )
    assert not_email.status_code in (400, 422) and "email" in not_email.json()["error"]["message"]
    empty = await api.client.patch(f"/api/v1/users/{api.user_id}", json={}, headers=admin)
    assert empty.status_code in (400, 422) and empty.json()["error"]["message"]
    unknown = await api.client.patch(
        f"/api/v1/users/{uuid.uuid4()}", json={"is_active": False}, headers=admin
    )
    _error(unknown, 404, "not_found")


async def test_a_non_admin_is_refused_every_users_route(api: Api) -> None:
    calls = [
        api.client.get("/api/v1/users", headers=api.headers),
        api.client.post(
            "/api/v1/users",
            json={"email": _email(), "password": "password-123"},
            headers=api.headers,
        ),
        api.client.patch(
            f"/api/v1/users/{api.user_id}", json={"is_admin": True}, headers=api.headers
        ),
    ]
    for call in calls:
        _error(await call, 403, "forbidden")
    me = await api.client.get("/api/v1/auth/me", headers=api.headers)
    assert me.json()["is_admin"] is False
    assert (await api.client.get("/api/v1/users")).status_code == 401


async def test_disabling_a_user_ends_their_tokens_and_keys_and_enabling_lets_them_back(
    api: Api,
) -> None:
    admin = await _admin(api)
    tokens = (await _token(api.client, api.email, "password-123")).json()
    key = (await api.client.post("/api/v1/keys", json={}, headers=api.headers)).json()["key"]
    disabled = await api.client.patch(
        f"/api/v1/users/{api.user_id}", json={"is_active": False}, headers=admin
    )
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    for credential in (tokens["access_token"], key):
        refused = await api.client.get("/api/v1/auth/me", headers=_bearer(credential))
        assert refused.status_code == 401
    renewed = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert renewed.status_code == 401
    assert (await _token(api.client, api.email, "password-123")).status_code == 401
    enabled = await api.client.patch(
        f"/api/v1/users/{api.user_id}", json={"is_active": True}, headers=admin
    )
    assert enabled.json()["is_active"] is True
    assert (await _token(api.client, api.email, "password-123")).status_code == 200
    assert (await api.client.get("/api/v1/auth/me", headers=_bearer(key))).status_code == 200


async def test_changing_a_role_retires_old_tokens_and_takes_effect(api: Api) -> None:
    admin = await _admin(api)
    old = (await _token(api.client, api.email, "password-123")).json()["access_token"]
    promoted = await api.client.patch(
        f"/api/v1/users/{api.user_id}", json={"is_admin": True}, headers=admin
    )
    assert promoted.json()["is_admin"] is True
    assert (await api.client.get("/api/v1/auth/me", headers=_bearer(old))).status_code == 401
    new = (await _token(api.client, api.email, "password-123")).json()["access_token"]
    assert (await api.client.get("/api/v1/users", headers=_bearer(new))).status_code == 200
    await api.client.patch(f"/api/v1/users/{api.user_id}", json={"is_admin": False}, headers=admin)
    assert (await api.client.get("/api/v1/users", headers=_bearer(new))).status_code == 401


async def test_an_admin_resets_a_password_and_only_the_new_one_works(api: Api) -> None:
    admin = await _admin(api)
    old = (await _token(api.client, api.email, "password-123")).json()["access_token"]
    reset = await api.client.patch(
        f"/api/v1/users/{api.user_id}", json={"password": "brand-new-secret"}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    assert (await api.client.get("/api/v1/auth/me", headers=_bearer(old))).status_code == 401
    assert (await _token(api.client, api.email, "password-123")).status_code == 401
    assert (await _token(api.client, api.email, "brand-new-secret")).status_code == 200


@pytest.fixture
async def lone_admin(
    fresh_database_url: str, data_dir: Path, fake_openai: FakeOpenAI
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], str]]:
    """An app on a database of its own, whose only user is the first admin."""
    settings = make_settings(fresh_database_url, data_dir, fake_openai.url)  # type: ignore[attr-defined]
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client,
    ):
        token = (await _token(client, ADMIN_EMAIL, ADMIN_PASSWORD)).json()["access_token"]
        me = await client.get("/api/v1/auth/me", headers=_bearer(token))
        yield client, _bearer(token), me.json()["id"]


async def test_the_last_active_admin_cannot_disable_or_demote_themselves(
    lone_admin: tuple[httpx.AsyncClient, dict[str, str], str],
) -> None:
    client, admin, admin_id = lone_admin
    for change in ({"is_active": False}, {"is_admin": False}):
        refused = await client.patch(f"/api/v1/users/{admin_id}", json=change, headers=admin)
        assert "last active admin" in _error(refused, 409, "conflict")["message"]
    still = await client.get("/api/v1/users", headers=admin)
    assert still.status_code == 200  # refused, so nothing changed: the token still works
    other = await client.post(
        "/api/v1/users", json={"email": _email("second"), "is_admin": True}, headers=admin
    )
    # A disabled admin does not count: the second one must be active.
    await client.patch(
        f"/api/v1/users/{other.json()['id']}", json={"is_active": False}, headers=admin
    )
    refused = await client.patch(
        f"/api/v1/users/{admin_id}", json={"is_admin": False}, headers=admin
    )
    _error(refused, 409, "conflict")
    await client.patch(
        f"/api/v1/users/{other.json()['id']}", json={"is_active": True}, headers=admin
    )
    demoted = await client.patch(
        f"/api/v1/users/{admin_id}", json={"is_admin": False}, headers=admin
    )
    assert demoted.status_code == 200 and demoted.json()["is_admin"] is False


async def test_admins_see_usage_per_user_with_emails_and_a_period(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    admin = await _admin(api)
    fake_openai.script(Reply(text="counted", prompt_tokens=40, completion_tokens=2))
    conversation = await api.conversation()
    await collect(
        api.client,
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        headers=api.headers | {"accept": "text/event-stream"},
        json={"content": "count me"},
    )
    everyone = await api.client.get("/api/v1/usage", params={"all": "true"}, headers=admin)
    rows = [row for row in everyone.json()["items"] if row["user_id"] == api.user_id]
    assert rows == [
        {
            "user_id": api.user_id,
            "email": api.email,
            "model": "gpt-5",
            "runs": 1,
            "input_tokens": 40,
            "output_tokens": 2,
        }
    ]
    recent = await api.client.get(
        "/api/v1/usage", params={"all": "true", "since": "2020-01-01T00:00:00Z"}, headers=admin
    )
    assert rows[0] in recent.json()["items"]
    future = await api.client.get(
        "/api/v1/usage", params={"all": "true", "since": "2999-01-01T00:00:00Z"}, headers=admin
    )
    assert future.json()["items"] == []
    naive = await api.client.get(
        "/api/v1/usage", params={"since": "2026-01-01T00:00:00"}, headers=admin
    )
    assert naive.status_code in (400, 422) and "zone" in naive.json()["error"]["message"]
    refused = await api.client.get("/api/v1/usage", params={"all": "true"}, headers=api.headers)
    _error(refused, 403, "forbidden")
