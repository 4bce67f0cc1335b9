"""A weak JWT secret is refused whenever the server can be reached from beyond this machine:
anyone who can reach the port could otherwise forge any user's token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestrator.settings import AuthSettings, ConfigError, Settings

ASSISTANT = str(Path(sys.executable).parent / "assistant")


def _settings(tmp_path: Path, host: str, secret: str | None) -> Settings:
    return Settings(
        host=host,
        data_dir=tmp_path / "data",
        auth=AuthSettings(jwt_secret_key=SecretStr(secret) if secret is not None else None),
    )


def test_serving_beyond_loopback_with_a_placeholder_secret_fails_with_a_clear_message(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "ASSISTANT_ENV_FILE": "",
        "DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET_KEY": "changeme",
        "ENVIRONMENT": "development",
        "PORT": "1",  # never bound: startup must stop before listening
    }
    result = subprocess.run(
        [ASSISTANT, "serve", "orchestrator", "--host", "0.0.0.0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "JWT_SECRET_KEY is a placeholder or shorter than 32 characters" in message
    assert "HOST=0.0.0.0" in message and "secrets.token_urlsafe" in message
    assert not (tmp_path / "data" / "jwt-secret").exists()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "assistant.lan"])
@pytest.mark.parametrize("secret", ["changeme", "secret", "short-but-not-listed", "  ChangeMe "])
def test_a_weak_secret_is_refused_on_any_address_beyond_loopback(
    tmp_path: Path, host: str, secret: str
) -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        _settings(tmp_path, host, secret).check()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"])
def test_on_loopback_a_local_run_generates_and_keeps_its_own_secret(
    tmp_path: Path, host: str
) -> None:
    settings = _settings(tmp_path, host, None)
    first = settings.jwt_secret()
    assert len(first) >= 32
    assert _settings(tmp_path, host, None).jwt_secret() == first
    assert (tmp_path / "data" / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_beyond_loopback_a_strong_secret_is_used_as_given(tmp_path: Path) -> None:
    strong = "k" * 48
    assert _settings(tmp_path, "0.0.0.0", strong).jwt_secret() == strong


def test_a_weak_previous_secret_is_refused_beyond_loopback_and_strong_ones_are_kept(
    tmp_path: Path,
) -> None:
    strong = "s" * 48
    settings = _settings(tmp_path, "0.0.0.0", strong)
    settings.auth = settings.auth.model_copy(
        update={"jwt_previous_secret_keys": SecretStr(f"{'p' * 40}, changeme")}
    )
    with pytest.raises(ConfigError, match="JWT_PREVIOUS_SECRET_KEYS"):
        settings.check()
    settings.auth = settings.auth.model_copy(
        update={"jwt_previous_secret_keys": SecretStr(f" {'p' * 40} ,{'q' * 40},")}
    )
    assert settings.jwt_previous_secrets() == ["p" * 40, "q" * 40]
