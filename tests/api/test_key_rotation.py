"""Rotating the JWT secret on a running deployment: nobody is logged out, and a token signed
with a secret the server no longer holds is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.api.conftest import in_process, make_settings
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.anyio

OLD = "the-old-secret-" + "o" * 40
NEW = "the-new-secret-" + "n" * 40


def _settings(database_url: str, data_dir: Path, openai: FakeOpenAI, current: str, *previous: str):
    settings = make_settings(database_url, data_dir, openai.url)  # type: ignore[attr-defined]
    settings.auth = settings.auth.model_copy(
        update={
            "jwt_secret_key": SecretStr(current),
            "jwt_previous_secret_keys": SecretStr(",".join(previous)) if previous else None,
        }
    )
    return settings


async def test_a_rotation_keeps_sessions_and_a_dropped_secret_ends_them(
    database_url: str, data_dir: Path, fake_openai: FakeOpenAI
) -> None:
    async with in_process(_settings(database_url, data_dir, fake_openai, OLD)) as before:
        user = await before.as_new_user()
        login = await user.client.post(
            "/api/v1/auth/token", json={"email": user.email, "password": "password-123"}
        )
        tokens = login.json()
    async with in_process(_settings(database_url, data_dir, fake_openai, NEW, OLD)) as rotated:
        bearer = {"authorization": f"Bearer {tokens['access_token']}"}
        assert (await rotated.client.get("/api/v1/auth/me", headers=bearer)).status_code == 200
        renewed = await rotated.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert renewed.status_code == 200, renewed.text
        fresh = renewed.json()
    async with in_process(_settings(database_url, data_dir, fake_openai, NEW)) as dropped:
        old = await dropped.client.get("/api/v1/auth/me", headers=bearer)
        assert old.status_code == 401
        assert old.json()["error"]["message"] == (
            "The token was signed with a key this server does not know."
        )
        new_bearer = {"authorization": f"Bearer {fresh['access_token']}"}
        assert (await dropped.client.get("/api/v1/auth/me", headers=new_bearer)).status_code == 200
