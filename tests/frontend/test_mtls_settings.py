"""The front end under mutual TLS: it reads MTLS and TLS_* as the other services do, picks its
own certificate, and refuses to start with one missing or an orchestrator URL that is not
https."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from common.certs import init_certificates
from frontend.settings import ConfigError, FrontendSettings


@pytest.fixture
def mtls_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("MTLS", "true")
    monkeypatch.setenv("ORCHESTRATOR_URL", "https://orchestrator:8000")
    return data_dir


def test_the_front_end_presents_its_own_certificate_from_the_data_folder(mtls_env: Path) -> None:
    init_certificates(mtls_env / "certs")
    settings = FrontendSettings()
    settings.check()
    tls = settings.mutual_tls()
    assert tls is not None and tls.cert_file == mtls_env / "certs" / "frontend.pem"
    assert tls.client_context().verify_mode == ssl.CERT_REQUIRED


def test_missing_certificates_stop_the_front_end_with_what_to_run(mtls_env: Path) -> None:
    with pytest.raises(ConfigError, match="assistant certs init"):
        FrontendSettings().check()


def test_an_orchestrator_url_that_is_not_https_is_refused(
    mtls_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_certificates(mtls_env / "certs")
    monkeypatch.setenv("ORCHESTRATOR_URL", "http://orchestrator:8000")
    with pytest.raises(ConfigError, match="not https"):
        FrontendSettings().check()


def test_configured_files_replace_the_defaults(
    mtls_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "mounted"
    init_certificates(elsewhere)
    monkeypatch.setenv("TLS_CA_FILE", str(elsewhere / "ca.pem"))
    monkeypatch.setenv("TLS_CERT_FILE", str(elsewhere / "orchestrator.pem"))
    monkeypatch.setenv("TLS_KEY_FILE", str(elsewhere / "orchestrator.key"))
    tls = FrontendSettings().mutual_tls()
    assert tls is not None and tls.cert_file == elsewhere / "orchestrator.pem"
    assert tls.ca_file == elsewhere / "ca.pem"


def test_without_mtls_nothing_is_read(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    assert FrontendSettings().mutual_tls() is None
