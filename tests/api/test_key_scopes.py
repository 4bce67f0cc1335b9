"""API keys with scopes, an expiry and a last-used time; revocation seen by every process."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
import websockets
from fastapi.routing import APIRoute
from sqlalchemy import event, text

from orchestrator.api.scopes import TAGS
from orchestrator.auth import AuthService, TokenCodec
from orchestrator.domain import Unauthorized
from orchestrator.main import create_app
from orchestrator.store import SqlUserStore
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, make_settings
from tests.fixtures.waiting import until

pytestmark = pytest.mark.anyio


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _key(api: Api, headers: dict[str, str] | None = None, **body: object) -> dict:
    response = await api.client.post(
        "/api/v1/keys", json={"name": "k", **body}, headers=headers or api.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _admin(api: Api) -> dict[str, str]:
    response = await api.client.post(
        "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return _bearer(response.json()["access_token"])


# (method, path, body, scope that allows it)
ROUTES = [
    ("GET", "/api/v1/conversations", None, "read"),
    ("POST", "/api/v1/conversations", {}, "chat"),
    ("GET", "/api/v1/tools", None, "read"),
    ("GET", "/v1/models", None, "read"),
    ("POST", "/v1/chat/completions", {"model": "m", "messages": []}, "chat"),
    ("GET", "/api/v1/mcp/servers", None, "read"),
    ("POST", "/api/v1/mcp/servers", {}, "mcp"),
    ("GET", "/api/v1/keys", None, "read"),
    ("GET", "/api/v1/auth/me", None, "read"),
]


async def test_each_scope_opens_its_routes_and_no_others(api: Api) -> None:
    keys = {scope: (await _key(api, scopes=[scope]))["key"] for scope in ("chat", "read", "mcp")}
    for method, path, body, allowed in ROUTES:
        for scope, key in keys.items():
            response = await api.client.request(method, path, json=body, headers=_bearer(key))
            if scope == allowed:
                assert response.status_code != 403, (path, scope, response.text)
            else:
                assert response.status_code == 403, (path, scope, response.text)
                error = response.json()["error"]
                assert error["type"] == "forbidden"
                assert error["message"] == f"This API key lacks the {allowed!r} scope."
                assert error["detail"] == {"required_scope": allowed, "scopes": [scope]}


async def test_a_key_with_every_user_scope_still_cannot_manage_credentials(api: Api) -> None:
    key = (await _key(api, scopes=["chat", "read", "mcp"]))["key"]
    for method, path in [
        ("POST", "/api/v1/keys"),
        ("POST", "/api/v1/auth/logout-all"),
        ("POST", "/api/v1/auth/password"),
    ]:
        response = await api.client.request(method, path, json={}, headers=_bearer(key))
        assert response.status_code == 403, path
        assert "log in" in response.json()["error"]["message"]
    listed = await api.client.get("/api/v1/keys", headers=_bearer(key))
    assert listed.status_code == 200


async def test_the_admin_scope_is_for_admins_and_needed_on_admin_routes(api: Api) -> None:
    refused = await api.client.post(
        "/api/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=api.headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "Only an admin can create a key with the 'admin' scope."
    )
    admin = await _admin(api)
    plain = (await _key(api, admin, scopes=["read"]))["key"]
    denied = await api.client.get("/api/v1/users", headers=_bearer(plain))
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "This API key lacks the 'admin' scope."
    full = await _key(api, admin, scopes=["admin", "read"])
    assert full["scopes"] == ["read", "admin"]
    assert (await api.client.get("/api/v1/users", headers=_bearer(full["key"]))).status_code == 200
    assert (await api.client.get("/api/v1/users", headers=admin)).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"scopes": ["chat", "write"]},
            "Unknown scope 'write': choose among chat, read, mcp, admin.",
        ),
        ({"scopes": []}, "Choose at least one scope among chat, read, mcp, admin."),
        ({"scopes": ["x" * 1000]}, None),
        ({"scopes": "chat"}, None),
        ({"expires_in_days": 0}, None),
        ({"expires_in_days": 3, "expires_at": "2099-01-01T00:00:00Z"}, None),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "The expiry must be in the future."),
        ({"expires_at": "2099-01-01T00:00:00"}, None),
    ],
)
async def test_bad_scopes_or_expiry_are_a_clear_422_and_make_no_key(
    api: Api, body: dict, message: str | None
) -> None:
    response = await api.client.post(
        "/api/v1/keys", json={"name": "x", **body}, headers=api.headers
    )
    assert response.status_code == 422, response.text
    if message is not None:
        assert response.json()["error"]["message"] == message
    assert (await api.client.get("/api/v1/keys", headers=api.headers)).json() == []


async def test_a_key_lists_its_scopes_and_expiry_and_works_until_it_expires(api: Api) -> None:
    created = await _key(api, scopes=["read"], expires_in_days=30)
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    [listed] = (await api.client.get("/api/v1/keys", headers=api.headers)).json()
    assert (listed["scopes"], listed["expired"], listed["last_used_at"]) == (["read"], False, None)
    # It expired a minute ago (set in the database: nobody waits 30 days).
    async with api.services.database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = :id"),
            {"id": created["id"]},
        )
    refused = await api.client.get("/api/v1/conversations", headers=_bearer(created["key"]))
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith("The API key expired on ")
    [listed] = (await api.client.get("/api/v1/keys", headers=api.headers)).json()
    assert listed["expired"] is True


async def test_last_used_is_written_once_a_minute_not_per_request(api: Api) -> None:
    key = await _key(api)
    writes: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            writes.append(statement)

    engine = api.services.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(30):
            response = await api.client.get("/api/v1/conversations", headers=_bearer(key["key"]))
            assert response.status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(writes) == 1
    [first] = (await api.client.get("/api/v1/keys", headers=api.headers)).json()
    assert first["last_used_at"] is not None
    # Another process (its own checker) using it within the minute writes nothing either.
    other = AuthService(
        SqlUserStore(api.services.database.engine),
        TokenCodec("y" * 40, access_minutes=5, refresh_days=1),
    )
    await other.authenticate(key["key"])
    [again] = (await api.client.get("/api/v1/keys", headers=api.headers)).json()
    assert again["last_used_at"] == first["last_used_at"]
    # A minute later (moved back in the database), the next use stamps it anew.
    async with api.services.database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE api_keys SET last_used_at = now() - interval '61 seconds' WHERE id = :id"),
            {"id": key["id"]},
        )
    fresh = AuthService(
        SqlUserStore(api.services.database.engine),
        TokenCodec("y" * 40, access_minutes=5, refresh_days=1),
    )
    await fresh.authenticate(key["key"])
    [stamped] = (await api.client.get("/api/v1/keys", headers=api.headers)).json()
    assert stamped["last_used_at"] > first["last_used_at"]


async def test_a_key_revoked_in_one_process_stops_in_another_within_the_recheck_bound(
    api: Api,
) -> None:
    key = await _key(api)
    engine = api.services.database.engine
    codec = TokenCodec("z" * 40, access_minutes=5, refresh_days=1)
    replica_a = AuthService(SqlUserStore(engine), codec, recheck_seconds=1.0)
    replica_b = AuthService(SqlUserStore(engine), codec, recheck_seconds=1.0)
    assert (await replica_a.authenticate(key["key"])).user_id == api.user_id
    await replica_b.delete_api_key(api.user_id, key["id"])
    with pytest.raises(Unauthorized):
        await replica_b.authenticate(key["key"])
    started = time.monotonic()

    async def refused() -> bool:
        try:
            await replica_a.authenticate(key["key"])
        except Unauthorized:
            return True
        return False

    await until(refused, within=5, every=0.05)
    assert time.monotonic() - started < 1.5


def test_every_authenticated_route_is_in_the_scope_table(tmp_path: Path) -> None:
    """A new router's tag must be added to `orchestrator/api/scopes.py` (else keys are refused)."""
    app = create_app(make_settings("postgresql://unused/none", tmp_path, None))
    untagged = [
        (route.path, route.tags)
        for route in app.routes
        if isinstance(route, APIRoute)
        and "health" not in route.tags
        and not set(map(str, route.tags)) & TAGS
    ]
    assert untagged == []


async def test_the_websocket_needs_the_chat_scope(api: Api, live_url: str) -> None:
    url = live_url.replace("http", "ws") + "/api/v1/ws"
    for scopes, answer in ((["read"], "error"), (["chat"], "ready")):
        key = (await _key(api, scopes=scopes))["key"]
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps({"type": "auth", "token": key}))
            with anyio.fail_after(10):
                reply = json.loads(await socket.recv())
        assert reply["type"] == answer, reply
        if answer == "error":
            assert reply["error"] == {
                "type": "forbidden",
                "message": "This API key lacks the 'chat' scope.",
            }
