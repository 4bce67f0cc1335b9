"""Logging in, refreshing, API keys."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, in_process, make_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fixtures.waiting import until

pytestmark = pytest.mark.anyio


async def _login(api: Api, email: str, password: str | None = None) -> dict[str, str]:
    response = await api.client.post(
        "/api/v1/auth/token", json={"email": email, "password": password or "password-123"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_password_buys_tokens_that_identify_the_user(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    me = await api.client.get(
        "/api/v1/auth/me", headers={"authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["email"] == ADMIN_EMAIL and me.json()["is_admin"] is True


async def test_a_wrong_password_or_unknown_email_is_refused_alike(api: Api) -> None:
    wrong = await api.client.post(
        "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": "nope-nope"}
    )
    unknown = await api.client.post(
        "/api/v1/auth/token", json={"email": "ghost@test", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_a_refresh_token_works_once_and_reuse_revokes_the_family(api: Api) -> None:
    login = await _login(api, api.email)
    first = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]}
    )
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != login["refresh_token"]
    replay = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]}
    )
    assert replay.status_code == 401
    # The stolen-token alarm revoked the rotated one too.
    after = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": rotated})
    assert after.status_code == 401


async def test_an_access_token_is_not_a_refresh_token_and_vice_versa(api: Api) -> None:
    login = await _login(api, api.email)
    as_refresh = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": login["access_token"]}
    )
    assert as_refresh.status_code == 401
    as_access = await api.client.get(
        "/api/v1/auth/me", headers={"authorization": f"Bearer {login['refresh_token']}"}
    )
    assert as_access.status_code == 401


async def test_an_api_key_is_shown_once_works_as_a_bearer_and_stops_when_deleted(api: Api) -> None:
    created = await api.client.post("/api/v1/keys", json={"name": "laptop"}, headers=api.headers)
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith("sk-asst-") and key["key"].startswith(key["prefix"])
    listed = (await api.client.get("/api/v1/keys", headers=api.headers)).json()
    assert [k["name"] for k in listed] == ["laptop"] and "key" not in listed[0]
    with_key = {"authorization": f"Bearer {key['key']}"}
    assert (await api.client.get("/api/v1/auth/me", headers=with_key)).json()["email"] == api.email
    other = await api.as_new_user()
    assert (
        await api.client.delete(f"/api/v1/keys/{key['id']}", headers=other.headers)
    ).status_code == 404
    assert (
        await api.client.delete(f"/api/v1/keys/{key['id']}", headers=api.headers)
    ).status_code == 204
    assert (await api.client.get("/api/v1/auth/me", headers=with_key)).status_code == 401
    stored = await api.services.auth.users.list_api_keys(api.user_id)
    assert stored == []


async def test_keys_are_stored_hashed(api: Api) -> None:
    key = (await api.client.post("/api/v1/keys", json={}, headers=api.headers)).json()["key"]
    async with api.services.database.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT key_hash, prefix FROM api_keys"))).all()
    assert all(key not in row.key_hash for row in rows)
    assert any(row.prefix == key[: len(row.prefix)] for row in rows)


async def test_a_disabled_users_tokens_and_api_keys_stop_working_at_once(api: Api) -> None:
    tokens = await _login(api, api.email)
    key = (await api.client.post("/api/v1/keys", json={}, headers=api.headers)).json()["key"]
    assert (await api.client.get("/api/v1/auth/me", headers=_bearer(key))).status_code == 200
    await api.services.auth.update_account(api.user_id, is_active=False)
    for credential in (tokens["access_token"], key):
        refused = await api.client.get("/api/v1/auth/me", headers=_bearer(credential))
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "unauthorized"
    again = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert again.status_code == 401


async def test_a_demoted_admins_old_tokens_stop_and_new_ones_are_not_admin(api: Api) -> None:
    email = f"boss-{uuid.uuid4().hex[:8]}@test.example"
    boss = await api.services.auth.create_user(email, "password-123", is_admin=True)
    old = (await _login(api, email))["access_token"]
    assert (await api.client.get("/api/v1/auth/me", headers=_bearer(old))).json()["is_admin"]
    await api.services.auth.update_account(boss.id, is_admin=False)
    assert (await api.client.get("/api/v1/auth/me", headers=_bearer(old))).status_code == 401
    new = (await _login(api, email))["access_token"]
    assert (await api.client.get("/api/v1/auth/me", headers=_bearer(new))).json()[
        "is_admin"
    ] is False


async def test_logging_out_everywhere_ends_every_session(api: Api) -> None:
    laptop = await _login(api, api.email)
    phone = await _login(api, api.email)
    out = await api.client.post("/api/v1/auth/logout-all", headers=_bearer(laptop["access_token"]))
    assert out.status_code == 204
    for session in (laptop, phone):
        me = await api.client.get("/api/v1/auth/me", headers=_bearer(session["access_token"]))
        assert me.status_code == 401
        refreshed = await api.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
        )
        assert refreshed.status_code == 401
    assert (await _login(api, api.email))["access_token"]


async def test_changing_the_password_ends_the_other_sessions(api: Api) -> None:
    other = await _login(api, api.email)
    wrong = await api.client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-it-at-all", "new_password": "a brand new one"},
        headers=api.headers,
    )
    assert wrong.status_code == 401
    changed = await api.client.post(
        "/api/v1/auth/password",
        json={"current_password": "password-123", "new_password": "a brand new one"},
        headers=api.headers,
    )
    assert changed.status_code == 204
    me = await api.client.get("/api/v1/auth/me", headers=_bearer(other["access_token"]))
    assert me.status_code == 401
    old_password = await api.client.post(
        "/api/v1/auth/token", json={"email": api.email, "password": "password-123"}
    )
    assert old_password.status_code == 401
    assert (await _login(api, api.email, "a brand new one"))["access_token"]


async def test_an_account_disabled_elsewhere_is_refused_within_the_recheck_bound(
    database_url: str, data_dir: Path, fake_openai: FakeOpenAI
) -> None:
    """Another replica (or an operator's SQL) disables the user: this one notices within
    CREDENTIAL_RECHECK_SECONDS, for tokens and API keys alike."""
    settings = make_settings(database_url, data_dir, fake_openai.url)  # type: ignore[attr-defined]
    settings.auth = settings.auth.model_copy(update={"credential_recheck_seconds": 1.0})
    async with in_process(settings) as base:
        user = await base.as_new_user()
        client = user.client
        key = (await client.post("/api/v1/keys", json={}, headers=user.headers)).json()["key"]
        for headers in (user.headers, _bearer(key)):
            assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
        async with user.services.database.engine.begin() as conn:
            await conn.execute(
                text("UPDATE users SET is_active = false WHERE id = :id"), {"id": user.user_id}
            )
        started = time.monotonic()

        async def refused_everywhere() -> bool:
            for headers in (user.headers, _bearer(key)):
                if (await client.get("/api/v1/auth/me", headers=headers)).status_code != 401:
                    return False
            return True

        # Polled: the change happens in the database, with no event to wait on.
        await until(refused_everywhere, within=5, every=0.05)
        assert time.monotonic() - started < 2.0
