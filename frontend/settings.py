"""Settings of the web front end, read once at startup from the environment and `.env`.

What the front end shares with the orchestrator (mode, data folder, Redis) is read under the
same names (`ENVIRONMENT`, `DATA_DIR`, `REDIS_URL`); what is its own is `FRONTEND_*` and
`ORCHESTRATOR_URL`. Tests build their own `FrontendSettings(...)`.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import ConfigError, TLSSettings, blank_is_none, local_secret
from common.tls import MutualTLS

__all__ = ["ConfigError", "FrontendSettings"]

_ENV_FILE = os.environ.get("ASSISTANT_ENV_FILE", ".env") or None
_MIN_SECRET = 32
_REPOSITORY = Path(__file__).resolve().parent.parent


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FrontendSettings(BaseSettings):
    """Where the front end listens, which orchestrator it fronts, and its session secret."""

    # No populate_by_name: the orchestrator's PORT, HOST and the like must never be read as
    # the front end's own (only their FRONTEND_ names are).
    model_config = SettingsConfigDict(env_file=_ENV_FILE, env_ignore_empty=True, extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    log_level: str = "INFO"
    redis_url: str | None = None
    host: str = Field(default="127.0.0.1", alias="FRONTEND_HOST")
    port: int = Field(default=5000, gt=0, lt=65536, alias="FRONTEND_PORT")
    orchestrator_url: str = Field(default="http://127.0.0.1:8000", alias="ORCHESTRATOR_URL")
    orchestrator_public_url: str | None = Field(default=None, alias="ORCHESTRATOR_PUBLIC_URL")
    """Where browsers reach the orchestrator's OIDC login (ORCHESTRATOR_URL when unset)."""
    public_url: str | None = Field(default=None, alias="FRONTEND_URL")
    """This front end's public address (behind a proxy), as the orchestrator knows it too;
    unset: the address the browser used."""
    secret_key: SecretStr | None = Field(default=None, alias="FRONTEND_SECRET_KEY")
    secure_cookies: bool | None = Field(default=None, alias="FRONTEND_SECURE_COOKIES")
    """Mark the session cookie Secure (HTTPS only); unset: yes unless HOST is loopback."""
    session_days: int = Field(default=14, gt=0, alias="FRONTEND_SESSION_DAYS")
    upstream_connections: int = Field(default=500, gt=0, alias="FRONTEND_UPSTREAM_CONNECTIONS")
    """Connections to the orchestrator (each live stream the front end relays holds one)."""
    node_modules: Path = Field(default=_REPOSITORY / "node_modules", alias="FRONTEND_NODE_MODULES")
    """Where `npm ci` put the browser libraries the front end serves."""
    mtls: bool = Field(default=False, alias="MTLS")
    """Mutual TLS to the orchestrator (the browser's side stays as it is)."""
    tls: TLSSettings = Field(default_factory=TLSSettings)
    """TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE (default: DATA_DIR/certs/frontend.*)."""

    _blank_is_none = field_validator(
        "redis_url", "secret_key", "orchestrator_public_url", "public_url", mode="before"
    )(blank_is_none)

    @field_validator("orchestrator_url", "orchestrator_public_url", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return None if value is None else value.rstrip("/")

    @property
    def browser_orchestrator_url(self) -> str:
        """The orchestrator as the browser reaches it (for the OIDC login's redirects)."""
        return self.orchestrator_public_url or self.orchestrator_url

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.production or not _is_loopback(self.host)

    def session_secret(self) -> str:
        """The key that signs CSRF tokens: configured, or generated once into the data folder.

        Raises:
            ConfigError: in production, when FRONTEND_SECRET_KEY is missing or too short.
        """
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if self.production and len(value) < _MIN_SECRET:
                raise ConfigError(
                    f"FRONTEND_SECRET_KEY is shorter than {_MIN_SECRET} characters. Generate one "
                    'with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
                )
            return value
        if self.production:
            raise ConfigError(
                "FRONTEND_SECRET_KEY is not set. Every front-end process needs the same secret: "
                'generate one with python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return local_secret(self.data_dir, "frontend-secret-key")

    def mutual_tls(self) -> MutualTLS | None:
        """Our certificate for the orchestrator under mutual TLS (MTLS=true), else None.

        Raises:
            ConfigError: MTLS is on and the files cannot be used.
        """
        return MutualTLS.configured(self.mtls, self.tls, self.data_dir, "frontend")

    def check(self) -> None:
        """Fail fast on configuration that cannot work.

        Raises:
            ConfigError: with what to set.
        """
        self.session_secret()
        self.mutual_tls()
        if self.mtls and not self.orchestrator_url.startswith("https://"):
            raise ConfigError(
                f"MTLS is on but ORCHESTRATOR_URL ({self.orchestrator_url}) is not https://."
            )
        if self.production and self.secure_cookies is False:
            raise ConfigError("FRONTEND_SECURE_COOKIES=false is refused in production.")
