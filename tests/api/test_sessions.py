"""Sessions: one per login, listed, ended one at a time or all at once; admin password reset."""

from __future__ import annotations

import time

import pytest

from orchestrator.auth import AuthService, TokenCodec
from orchestrator.domain import Unauthorized
from orchestrator.store import SqlUserStore
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api
from tests.fixtures.waiting import until

pytestmark = pytest.mark.anyio


async def _login(api: Api, agent: str) -> dict[str, str]:
    response = await api.client.post(
        "/api/v1/auth/token",
        json={"email": api.email, "password": "password-123"},
        headers={"user-agent": agent},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _sessions(api: Api, access: str) -> list[dict]:
    response = await api.client.get("/api/v1/auth/sessions", headers=_bearer(access))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_logging_out_ends_this_session_only(api: Api) -> None:
    laptop = await _login(api, "Laptop browser")
    phone = await _login(api, "Phone browser")
    listed = await _sessions(api, laptop["access_token"])
    agents = {item["user_agent"]: item for item in listed}
    assert {"Laptop browser", "Phone browser"} <= set(agents)
    assert agents["Laptop browser"]["current"] and not agents["Phone browser"]["current"]
    assert agents["Laptop browser"]["via"] == "password"

    out = await api.client.post("/api/v1/auth/logout", headers=_bearer(laptop["access_token"]))
    assert out.status_code == 204
    me = await api.client.get("/api/v1/auth/me", headers=_bearer(laptop["access_token"]))
    assert me.status_code == 401
    assert me.json()["error"]["message"] == "This session was logged out; log in again."
    renewed = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]}
    )
    assert renewed.status_code == 401
    # The phone goes on, and can renew its tokens.
    assert (
        await api.client.get("/api/v1/auth/me", headers=_bearer(phone["access_token"]))
    ).status_code == 200
    renewed = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]}
    )
    assert renewed.status_code == 200
    remaining = {item["user_agent"] for item in await _sessions(api, phone["access_token"])}
    assert "Laptop browser" not in remaining and "Phone browser" in remaining


async def test_a_user_ends_another_of_their_sessions_but_not_someone_elses(api: Api) -> None:
    laptop = await _login(api, "Laptop browser")
    phone = await _login(api, "Phone browser")
    [phone_session] = [
        item
        for item in await _sessions(api, laptop["access_token"])
        if item["user_agent"] == "Phone browser"
    ]
    other = await api.as_new_user()
    stranger = await other.client.delete(
        f"/api/v1/auth/sessions/{phone_session['id']}", headers=other.headers
    )
    assert stranger.status_code == 404
    ended = await api.client.delete(
        f"/api/v1/auth/sessions/{phone_session['id']}", headers=_bearer(laptop["access_token"])
    )
    assert ended.status_code == 204
    me = await api.client.get("/api/v1/auth/me", headers=_bearer(phone["access_token"]))
    assert me.status_code == 401
    again = await api.client.delete(
        f"/api/v1/auth/sessions/{phone_session['id']}", headers=_bearer(laptop["access_token"])
    )
    assert again.status_code == 404


async def test_logout_all_ends_every_session(api: Api) -> None:
    laptop = await _login(api, "Laptop browser")
    phone = await _login(api, "Phone browser")
    out = await api.client.post("/api/v1/auth/logout-all", headers=_bearer(phone["access_token"]))
    assert out.status_code == 204
    for session in (laptop, phone):
        me = await api.client.get("/api/v1/auth/me", headers=_bearer(session["access_token"]))
        assert me.status_code == 401
    fresh = await _login(api, "Laptop browser")
    assert [item["current"] for item in await _sessions(api, fresh["access_token"])] == [True]


async def test_a_session_ended_in_one_process_stops_in_another_within_the_recheck_bound(
    api: Api,
) -> None:
    engine = api.services.database.engine
    codec = TokenCodec(api.services.settings.jwt_secret(), access_minutes=5, refresh_days=1)
    replica_a = AuthService(SqlUserStore(engine), codec, recheck_seconds=1.0)
    replica_b = AuthService(SqlUserStore(engine), codec, recheck_seconds=1.0)
    laptop = await _login(api, "Laptop browser")
    principal = await replica_a.authenticate(laptop["access_token"])
    assert principal.session_id is not None
    await replica_b.logout(api.user_id, principal.session_id)
    started = time.monotonic()

    async def refused() -> bool:
        try:
            await replica_a.authenticate(laptop["access_token"])
        except Unauthorized:
            return True
        return False

    await until(refused, within=5, every=0.05)
    assert time.monotonic() - started < 1.5


async def test_an_admin_reset_forces_a_new_password_at_the_next_login(api: Api) -> None:
    before = await _login(api, "Laptop browser")
    admin = await api.client.post(
        "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    admin_headers = _bearer(admin.json()["access_token"])
    not_admin = await api.client.post(
        f"/api/v1/users/{api.user_id}/password-reset", json={}, headers=api.headers
    )
    assert not_admin.status_code == 403
    reset = await api.client.post(
        f"/api/v1/users/{api.user_id}/password-reset", json={}, headers=admin_headers
    )
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["password"]
    assert temporary and reset.json()["password_change_required"] is True
    me = await api.client.get("/api/v1/auth/me", headers=_bearer(before["access_token"]))
    assert me.status_code == 401  # the user's sessions ended

    login = {"email": api.email, "password": temporary}
    refused = await api.client.post("/api/v1/auth/token", json=login)
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "password_change_required"
    weak = await api.client.post("/api/v1/auth/token", json=login | {"new_password": "password1"})
    assert weak.status_code == 422
    assert weak.json()["error"]["detail"]["rule"] == "common"
    same = await api.client.post("/api/v1/auth/token", json=login | {"new_password": temporary})
    assert same.status_code == 422
    changed = await api.client.post(
        "/api/v1/auth/token", json=login | {"new_password": "my own new secret"}
    )
    assert changed.status_code == 200, changed.text
    assert (
        await api.client.get("/api/v1/auth/me", headers=_bearer(changed.json()["access_token"]))
    ).status_code == 200
    old = await api.client.post("/api/v1/auth/token", json=login)
    assert old.status_code == 401
    plain = await api.client.post(
        "/api/v1/auth/token", json={"email": api.email, "password": "my own new secret"}
    )
    assert plain.status_code == 200


async def test_an_admin_reset_with_a_given_password_checks_the_rules(api: Api) -> None:
    admin = await api.client.post(
        "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    headers = _bearer(admin.json()["access_token"])
    url = f"/api/v1/users/{api.user_id}/password-reset"
    short = await api.client.post(url, json={"password": "short"}, headers=headers)
    assert short.status_code == 422
    assert short.json()["error"]["message"] == (
        "The password needs at least 8 characters (it has 5)."
    )
    given = await api.client.post(url, json={"password": "temporary pass 1"}, headers=headers)
    assert given.status_code == 200 and given.json()["password"] is None
    refused = await api.client.post(
        "/api/v1/auth/token", json={"email": api.email, "password": "temporary pass 1"}
    )
    assert refused.json()["error"]["type"] == "password_change_required"


async def test_changing_the_password_names_the_broken_rule(api: Api) -> None:
    for new, rule in [("short", "min_length"), (api.email, "email"), ("iloveyou", "common")]:
        response = await api.client.post(
            "/api/v1/auth/password",
            json={"current_password": "password-123", "new_password": new},
            headers=api.headers,
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["detail"]["rule"] == rule
