"""OIDC settings: a half-configured provider or a login nobody could use stops the start."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from orchestrator.settings import ConfigError, LoginSettings


def check(production: bool = False, **values: Any) -> None:
    LoginSettings(**values).check(production=production)


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"oidc_issuer": "https://id.example"}, "OAUTH_CLIENT_ID"),
        ({"oauth_client_id": "assistant"}, "OIDC_ISSUER"),
        ({"oauth_client_secret": SecretStr("s")}, "OIDC_ISSUER and OAUTH_CLIENT_ID"),
        ({"local_login": False}, "LOCAL_LOGIN=false"),
        (
            {"oidc_issuer": "http://id.example", "oauth_client_id": "a"},
            "https://",
        ),
        (
            {"oidc_issuer": "https://id.example", "oauth_client_id": "a", "oidc_scopes": "email"},
            "openid",
        ),
        (
            {
                "oidc_issuer": "https://id.example",
                "oauth_client_id": "a",
                "oidc_admin_value": "admins",
            },
            "OIDC_ADMIN_CLAIM",
        ),
    ],
)
def test_a_login_that_cannot_work_is_refused_with_what_to_set(
    values: dict[str, Any], names: str
) -> None:
    with pytest.raises(ConfigError, match=names):
        check(**values)


def test_a_provider_on_this_machine_may_use_http_outside_production_only() -> None:
    local = {"oidc_issuer": "http://127.0.0.1:9400", "oauth_client_id": "assistant"}
    check(**local)
    with pytest.raises(ConfigError, match="https://"):
        check(production=True, **local)


def test_password_login_alone_and_oidc_alone_are_both_valid() -> None:
    check()
    check(local_login=False, oidc_issuer="https://id.example", oauth_client_id="assistant")
    assert not LoginSettings().oidc_enabled


def test_the_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIDC_ISSUER", "https://id.example")
    monkeypatch.setenv("OAUTH_CLIENT_ID", "assistant")
    monkeypatch.setenv("LOCAL_LOGIN", "false")
    monkeypatch.setenv("OIDC_GROUPS_CLAIM", "")

    settings = LoginSettings()

    assert settings.oidc_enabled
    assert settings.local_login is False
    assert settings.oidc_groups_claim is None
