"""Logging in, refreshing, API keys."""

from __future__ import annotations

import pytest

from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api

pytestmark = pytest.mark.anyio


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
    login = (
        await api.client.post(
            "/api/v1/auth/token", json={"email": api.email, "password": "password-123"}
        )
    ).json()
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
    login = (
        await api.client.post(
            "/api/v1/auth/token", json={"email": api.email, "password": "password-123"}
        )
    ).json()
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
    stored = await api.services.users.list_api_keys(api.user_id)
    assert stored == []


async def test_keys_are_stored_hashed(api: Api) -> None:
    from sqlalchemy import text

    key = (await api.client.post("/api/v1/keys", json={}, headers=api.headers)).json()["key"]
    async with api.services.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT key_hash, prefix FROM api_keys"))).all()
    assert all(key not in row.key_hash for row in rows)
    assert any(row.prefix == key[: len(row.prefix)] for row in rows)
