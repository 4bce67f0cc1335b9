"""OIDC login end to end: the orchestrator against a real provider process (oidc-provider-mock).

The test plays the browser: it follows the orchestrator's redirect to the provider, posts
the provider's form as a user whose claims it set, and brings the redirect back to the
orchestrator's callback with the orchestrator's pending-login cookie.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from orchestrator.auth.oidc import PENDING_COOKIE
from orchestrator.settings import LoginSettings
from orchestrator.store import AuditFilter
from orchestrator.store.identities import SqlIdentityStore
from orchestrator.store.schema import users
from orchestrator.store.schema_identity import group_members, groups, user_identities
from tests.api.conftest import Api, in_process, make_settings
from tests.fixtures.oidc_provider import Provider, oidc_provider
from tests.fixtures.processes import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

BASE = "http://assistant.test"
FRONT = "http://front.test"
CALLBACK = f"{BASE}/api/v1/auth/oidc/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


def login_settings(provider: Provider, **overrides: Any) -> LoginSettings:
    values: dict[str, Any] = {
        "oidc_issuer": provider.url,
        "oauth_client_id": "assistant",
        "oauth_client_secret": SecretStr("client-secret"),
        "oidc_provider_name": "Mock ID",
        "oidc_redirect_url": CALLBACK,
        "frontend_url": FRONT,
        "oidc_admin_claim": "roles",
        "oidc_admin_value": "assistant-admin",
        "oidc_groups_claim": "groups",
        **overrides,
    }
    return LoginSettings(**values)


@pytest.fixture
async def api(provider: Provider, database_url: str, data_dir: Path) -> AsyncIterator[Api]:
    settings = make_settings(database_url, data_dir, None, login=login_settings(provider))
    async with in_process(settings, base_url=BASE) as running:
        yield running


def new_sub() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def new_email() -> str:
    return f"{uuid.uuid4().hex[:10]}@corp.example"


async def start(api: Api, **params: str) -> str:
    """GET the login route: the provider's authorization URL (the cookie is kept)."""
    response = await api.client.get("/api/v1/auth/oidc/login", params=params)
    assert response.status_code == 302, response.text
    assert PENDING_COOKIE in response.cookies
    return response.headers["location"]


async def sso(api: Api, provider: Provider, sub: str, **params: str) -> httpx.Response:
    """A whole login as `sub`: the orchestrator's callback response."""
    callback = await provider.authorize(await start(api, **params), sub)
    return await api.client.get(callback)


async def me(api: Api, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    answer = await api.client.get("/api/v1/auth/me", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def count_users(api: Api, email: str) -> int:
    async with api.services.database.engine.connect() as conn:
        return (
            await conn.execute(
                select(func.count()).select_from(users).where(users.c.email == email)
            )
        ).scalar_one()


async def test_a_first_login_makes_the_user_with_the_providers_name_and_email_a_second_reuses_it(
    api: Api, provider: Provider
) -> None:
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True, "name": "Ada Lovelace"})

    first = await me(api, await sso(api, provider, sub))
    second = await me(api, await sso(api, provider, sub))

    assert first["email"] == email
    assert first["name"] == "Ada Lovelace"  # what the front end shows instead of the email
    assert first["is_admin"] is False
    assert second["id"] == first["id"]
    assert await count_users(api, email) == 1
    engine = api.services.database.engine
    assert await SqlIdentityStore(engine).name_of(first["id"]) == "Ada Lovelace"
    assert await SqlIdentityStore(engine).user_id_for(provider.url, sub) == first["id"]


async def test_the_provider_list_offers_the_sso_button_and_password_login(api: Api) -> None:
    response = await api.client.get("/api/v1/auth/providers")

    assert response.status_code == 200
    assert response.json() == {
        "local": True,
        "oidc": {"name": "Mock ID", "login_url": "/api/v1/auth/oidc/login"},
    }


async def test_an_unverified_email_of_an_existing_account_is_refused_and_makes_no_duplicate(
    api: Api, provider: Provider
) -> None:
    email, sub = new_email(), new_sub()
    local = await api.services.auth.create_user(email, "password-123")
    provider.set_user(sub, {"email": email, "email_verified": False, "name": "Mallory"})

    response = await sso(api, provider, sub)

    assert response.status_code == 403
    assert response.json()["error"]["type"] == "email_not_verified"
    assert "not verified" in response.json()["error"]["message"]
    assert await count_users(api, email) == 1
    assert (
        await SqlIdentityStore(api.services.database.engine).user_id_for(provider.url, sub) is None
    )
    password = await api.client.post(
        "/api/v1/auth/token", json={"email": email, "password": "password-123"}
    )
    assert password.status_code == 200
    assert local.is_active


async def test_an_email_without_email_verified_counts_as_unverified(
    api: Api, provider: Provider
) -> None:
    email, sub = new_email(), new_sub()
    await api.services.auth.create_user(email, "password-123")
    provider.set_user(sub, {"email": email})

    response = await sso(api, provider, sub)

    assert response.status_code == 403
    assert await count_users(api, email) == 1


async def test_a_verified_email_links_the_existing_account(api: Api, provider: Provider) -> None:
    email, sub = new_email(), new_sub()
    local = await api.services.auth.create_user(email, "password-123")
    provider.set_user(sub, {"email": email, "email_verified": True, "name": "Grace"})

    signed_in = await me(api, await sso(api, provider, sub))

    assert signed_in["id"] == local.id
    assert await count_users(api, email) == 1
    assert await SqlIdentityStore(api.services.database.engine).name_of(local.id) == "Grace"
    # Linked: the identity signs in as that user even after its email changes.
    provider.set_user(sub, {"email": new_email(), "email_verified": True})
    assert (await me(api, await sso(api, provider, sub)))["id"] == local.id


async def test_a_disabled_user_cannot_log_in_through_the_provider(
    api: Api, provider: Provider
) -> None:
    sub = new_sub()
    provider.set_user(sub, {"email": new_email(), "email_verified": True})
    user = await me(api, await sso(api, provider, sub))
    await api.services.auth.update_account(user["id"], is_active=False)

    response = await sso(api, provider, sub)

    assert response.status_code == 403
    assert response.json()["error"]["type"] == "account_disabled"


async def test_a_callback_with_another_state_is_refused(api: Api, provider: Provider) -> None:
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True})
    callback = await provider.authorize(await start(api), sub)
    forged = callback.replace("state=", "state=x")

    response = await api.client.get(forged)

    assert response.status_code == 401
    assert "state" in response.json()["error"]["message"]
    assert await count_users(api, email) == 0


async def test_a_callback_in_a_browser_that_did_not_start_the_login_is_refused(
    api: Api, provider: Provider
) -> None:
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True})
    callback = await provider.authorize(await start(api), sub)
    api.client.cookies.clear()

    response = await api.client.get(callback)

    assert response.status_code == 401
    assert await count_users(api, email) == 0


async def test_a_replayed_code_is_refused(api: Api, provider: Provider) -> None:
    sub = new_sub()
    provider.set_user(sub, {"email": new_email(), "email_verified": True})
    callback = await provider.authorize(await start(api), sub)
    cookie = api.client.cookies[PENDING_COOKIE]
    assert (await api.client.get(callback)).status_code == 200

    api.client.cookies.set(
        PENDING_COOKIE, cookie, domain="assistant.test", path="/api/v1/auth/oidc"
    )
    replayed = await api.client.get(callback)

    assert replayed.status_code == 401
    assert "authorization code" in replayed.json()["error"]["message"]


async def test_an_id_token_for_another_nonce_is_refused(api: Api, provider: Provider) -> None:
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True})
    callback = await provider.authorize(await start(api), sub)
    oidc = api.services.oidc
    assert oidc is not None
    pending = oidc.provider.pending(api.client.cookies[PENDING_COOKIE])
    assert pending is not None
    other = oidc.provider.seal(dataclasses.replace(pending, nonce="a-nonce-of-another-login"))
    api.client.cookies.set(PENDING_COOKIE, other, domain="assistant.test", path="/api/v1/auth/oidc")

    response = await api.client.get(callback)

    assert response.status_code == 401
    assert "nonce" in response.json()["error"]["message"]
    assert await count_users(api, email) == 0


async def test_a_login_denied_at_the_provider_is_refused(api: Api, provider: Provider) -> None:
    callback = await provider.deny(await start(api))

    response = await api.client.get(callback)

    assert response.status_code == 401
    assert "did not sign you in" in response.json()["error"]["message"]


async def test_an_expired_id_token_is_refused(database_url: str, data_dir: Path) -> None:
    with oidc_provider(token_seconds=-600) as stale:
        settings = make_settings(database_url, data_dir, None, login=login_settings(stale))
        sub, email = new_sub(), new_email()
        stale.set_user(sub, {"email": email, "email_verified": True})
        async with in_process(settings, base_url=BASE) as api:
            response = await sso(api, stale, sub)
            created = await count_users(api, email)

    assert response.status_code == 401
    assert "exp" in response.json()["error"]["message"]
    assert created == 0


async def test_the_admin_role_follows_the_admin_claim(api: Api, provider: Provider) -> None:
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True, "roles": ["assistant-admin"]})
    assert (await me(api, await sso(api, provider, sub)))["is_admin"] is True

    provider.set_user(sub, {"email": email, "email_verified": True, "roles": ["staff"]})

    assert (await me(api, await sso(api, provider, sub)))["is_admin"] is False


async def _groups_of(api: Api, user_id: str) -> dict[str, str]:
    async with api.services.database.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(groups.c.name, groups.c.source)
                .join(group_members, group_members.c.group_id == groups.c.id)
                .where(group_members.c.user_id == user_id)
            )
        ).all()
    return {row.name: row.source for row in rows}


async def test_groups_follow_the_groups_claim_and_local_groups_are_left_alone(
    api: Api, provider: Provider
) -> None:
    tag = uuid.uuid4().hex[:6]
    eng, ops, sales = f"eng-{tag}", f"ops-{tag}", f"sales-{tag}"
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True, "groups": [eng, ops]})
    user = await me(api, await sso(api, provider, sub))
    assert await _groups_of(api, user["id"]) == {eng: "oidc", ops: "oidc"}

    # An admin's local group, with the user in it, and a claim naming another local group.
    async with api.services.database.engine.begin() as conn:
        local_ids = {}
        for name in (sales, f"hr-{tag}"):
            local_ids[name] = str(uuid.uuid4())
            await conn.execute(
                groups.insert().values(id=local_ids[name], name=name, source="local")
            )
        await conn.execute(
            group_members.insert().values(group_id=local_ids[sales], user_id=user["id"])
        )
    provider.set_user(sub, {"email": email, "email_verified": True, "groups": [eng, f"hr-{tag}"]})

    await me(api, await sso(api, provider, sub))

    assert await _groups_of(api, user["id"]) == {eng: "oidc", sales: "local"}


async def test_the_front_end_gets_a_single_use_code_bound_to_its_verifier(
    api: Api, provider: Provider
) -> None:
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True})
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    response = await sso(
        api,
        provider,
        sub,
        return_to=f"{FRONT}/login/sso/done",
        handoff_challenge=challenge.rstrip(b"=").decode(),
    )

    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{FRONT}/login/sso/done"
    code = parse_qs(target.query)["code"][0]
    assert "access_token" not in target.query and email not in target.query
    exchange = "/api/v1/auth/oidc/exchange"
    stolen = await api.client.post(exchange, json={"code": code})
    assert stolen.status_code == 401
    wrong = await api.client.post(exchange, json={"code": code, "code_verifier": "x" * 64})
    assert wrong.status_code == 401
    tokens = await api.client.post(exchange, json={"code": code, "code_verifier": verifier})
    assert (await me(api, tokens))["email"] == email
    again = await api.client.post(exchange, json={"code": code, "code_verifier": verifier})
    assert again.status_code == 401


async def test_a_failed_login_returns_to_the_front_end_with_the_reason(
    api: Api, provider: Provider
) -> None:
    email, sub = new_email(), new_sub()
    await api.services.auth.create_user(email, "password-123")
    provider.set_user(sub, {"email": email, "email_verified": False})

    response = await sso(api, provider, sub, return_to=f"{FRONT}/login/sso/done")

    assert response.status_code == 302
    assert response.headers["location"] == f"{FRONT}/login/sso/done?error=email_not_verified"


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/login",
        "//evil.example/login",
        "http://front.test.evil.example/",
        "javascript:alert(1)",
        "relative/path",
        "http://user@front.test/",
        "http://[::1/",
        "http://front.test:port/",
        "/\\evil.example",
    ],
)
async def test_a_login_may_return_only_here_or_to_the_front_end(api: Api, return_to: str) -> None:
    response = await api.client.get("/api/v1/auth/oidc/login", params={"return_to": return_to})

    assert response.status_code == 422
    assert response.json()["error"]["type"] == "invalid_input"
    assert PENDING_COOKIE not in response.cookies


async def test_with_local_login_off_passwords_are_refused_and_sso_works(
    provider: Provider, database_url: str, data_dir: Path
) -> None:
    settings = make_settings(
        database_url, data_dir, None, login=login_settings(provider, local_login=False)
    )
    async with in_process(settings, base_url=BASE) as api:
        email = new_email()
        await api.services.auth.create_user(email, "password-123")
        sub = new_sub()
        provider.set_user(sub, {"email": email, "email_verified": True})

        password = await api.client.post(
            "/api/v1/auth/token", json={"email": email, "password": "password-123"}
        )
        methods = await api.client.get("/api/v1/auth/providers")
        signed_in = await me(api, await sso(api, provider, sub))

    assert password.status_code == 403
    assert "SSO" in password.json()["error"]["message"]
    assert methods.json()["local"] is False
    assert signed_in["email"] == email


async def test_logins_keep_working_after_the_provider_rotates_its_signing_key(
    database_url: str, data_dir: Path
) -> None:
    port = free_port()
    where = Provider(f"http://127.0.0.1:{port}", port)
    settings = make_settings(database_url, data_dir, None, login=login_settings(where))
    sub = new_sub()
    async with in_process(settings, base_url=BASE) as api:
        with oidc_provider(port) as before:
            before.set_user(sub, {"email": new_email(), "email_verified": True})
            user = await me(api, await sso(api, before, sub))  # the JWKS is cached now
            old_key = before.key_id()
        with oidc_provider(port) as after:  # a new process signs with a new key
            assert after.key_id() != old_key
            after.set_user(sub, {"email": new_email(), "email_verified": True})
            again = await me(api, await sso(api, after, sub))

    assert again["id"] == user["id"]


async def test_a_login_started_on_one_replica_finishes_on_another(
    provider: Provider, database_url: str, tmp_path: Path
) -> None:
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True})
    replicas = [
        make_settings(database_url, tmp_path / name, None, login=login_settings(provider))
        for name in ("a", "b")
    ]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    async with (
        in_process(replicas[0], base_url=BASE) as one,
        in_process(replicas[1], base_url=BASE) as other,
    ):
        authorization = await start(
            one,
            return_to=f"{FRONT}/login/sso/done",
            handoff_challenge=challenge.rstrip(b"=").decode(),
        )
        callback = await provider.authorize(authorization, sub)
        other.client.cookies = one.client.cookies
        finished = await other.client.get(callback)
        code = parse_qs(urlsplit(finished.headers["location"]).query)["code"][0]
        exchange = {"code": code, "code_verifier": verifier}
        tokens = await one.client.post("/api/v1/auth/oidc/exchange", json=exchange)
        replayed = await other.client.post("/api/v1/auth/oidc/exchange", json=exchange)
        user = await me(other, tokens)

    assert finished.status_code == 302
    assert user["email"] == email
    assert replayed.status_code == 401


async def test_identity_rows_name_the_issuer_and_subject(api: Api, provider: Provider) -> None:
    sub = new_sub()
    provider.set_user(sub, {"email": new_email(), "email_verified": True})
    user = await me(api, await sso(api, provider, sub))

    async with api.services.database.engine.connect() as conn:
        row = (
            await conn.execute(
                select(user_identities).where(user_identities.c.user_id == user["id"])
            )
        ).one()

    assert (row.issuer, row.subject) == (provider.url, sub)
    assert row.last_login_at is not None


@pytest.mark.parametrize("challenge", ["short", "é" * 43, "a" * 129, "a+b/" * 12])
async def test_a_malformed_handoff_challenge_is_refused(api: Api, challenge: str) -> None:
    response = await api.client.get(
        "/api/v1/auth/oidc/login", params={"handoff_challenge": challenge}
    )

    assert response.status_code == 422
    assert PENDING_COOKIE not in response.cookies


async def test_a_pending_login_cookie_is_not_a_handoff_code(api: Api) -> None:
    await start(api, return_to=f"{FRONT}/login/sso/done")
    cookie = api.client.cookies[PENDING_COOKIE]

    response = await api.client.post("/api/v1/auth/oidc/exchange", json={"code": cookie})

    assert response.status_code == 401


async def test_an_sso_login_is_a_session_the_user_sees_and_can_log_out_of(
    api: Api, provider: Provider
) -> None:
    sub = new_sub()
    provider.set_user(sub, {"email": new_email(), "email_verified": True})
    response = await sso(api, provider, sub)
    assert response.status_code == 200, response.text
    bearer = {"authorization": f"Bearer {response.json()['access_token']}"}
    listed = await api.client.get("/api/v1/auth/sessions", headers=bearer)
    [session] = listed.json()["items"]
    assert (session["via"], session["current"]) == ("oidc", True)
    assert (await api.client.post("/api/v1/auth/logout", headers=bearer)).status_code == 204
    assert (await api.client.get("/api/v1/auth/me", headers=bearer)).status_code == 401


async def test_sso_logins_and_their_refusals_are_audited(api: Api, provider: Provider) -> None:
    sub, email = new_sub(), new_email()
    provider.set_user(sub, {"email": email, "email_verified": True})
    user = await me(api, await sso(api, provider, sub))
    await me(api, await sso(api, provider, sub))
    taken = new_email()
    await api.services.auth.create_user(taken, "password-123")
    refused_sub = new_sub()
    provider.set_user(refused_sub, {"email": taken, "email_verified": False})
    refused = await sso(api, provider, refused_sub)
    assert refused.status_code == 403

    mine, _ = await api.services.audit.page(AuditFilter(user=user["id"], action="auth.login"))
    assert [(r.outcome, r.detail, r.actor_email) for r in mine[::-1]] == [
        ("ok", {"via": "oidc", "created": True}, email),
        ("ok", {"via": "oidc"}, email),
    ]
    failures, _ = await api.services.audit.page(AuditFilter(action="auth.login"), limit=5)
    assert any(
        r.detail == {"via": "oidc", "reason": "email_not_verified"} and r.outcome == "failure"
        for r in failures
    )
