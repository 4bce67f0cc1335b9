"""The front end's settings: its own names only, and a session secret that is never weak."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontend.settings import ConfigError, FrontendSettings


def test_a_local_run_generates_its_secret_once_readable_by_the_owner_only(
    data_dir: Path,
) -> None:
    settings = FrontendSettings(DATA_DIR=data_dir)  # type: ignore[call-arg]
    secret = settings.session_secret()
    assert len(secret) >= 32
    assert FrontendSettings(DATA_DIR=data_dir).session_secret() == secret  # type: ignore[call-arg]
    assert oct((data_dir / "frontend-secret-key").stat().st_mode & 0o777) == "0o600"


def test_production_needs_a_strong_secret(data_dir: Path) -> None:
    missing = FrontendSettings(ENVIRONMENT="production", DATA_DIR=data_dir)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="FRONTEND_SECRET_KEY"):
        missing.check()
    weak = FrontendSettings(
        ENVIRONMENT="production", DATA_DIR=data_dir, FRONTEND_SECRET_KEY="changeme"
    )  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="shorter"):
        weak.check()
    assert not (data_dir / "frontend-secret-key").exists()


def test_the_orchestrator_port_and_host_are_not_read_as_the_front_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("HOST", "0.0.0.0")
    settings = FrontendSettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)
    monkeypatch.setenv("FRONTEND_PORT", "5123")
    assert FrontendSettings().port == 5123


def test_the_session_cookie_is_secure_unless_served_on_loopback() -> None:
    assert FrontendSettings().cookies_secure is False
    assert FrontendSettings(FRONTEND_HOST="0.0.0.0").cookies_secure is True  # type: ignore[call-arg]
    assert FrontendSettings(ENVIRONMENT="production").cookies_secure is True  # type: ignore[call-arg]
