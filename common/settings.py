"""The settings the orchestrator and our MCP servers share, read from the environment and `.env`.

Both sides read the same variables under the same names: the mode (`ENVIRONMENT`), the data
folder (`DATA_DIR`), `LOG_LEVEL`, the database (`DATABASE_URL`), the OpenAI key and base URL
(`OPENAI_API_KEY`, `OPENAI_BASE_URL`), the MCP discovery service (`MCP_DISCOVERY_URL`),
the secret shared with our MCP servers (`MCP_SERVICE_TOKEN`), and mutual TLS between the
services (`MTLS`, `TLS_*`; the front end reads those two too). `orchestrator.settings.Settings`
extends `SharedSettings` with what is the orchestrator's alone; `mcp_servers.settings` adds
the servers' own groups beside it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "PLACEHOLDER_SECRETS",
    "ConfigError",
    "DatabaseSettings",
    "MCPAccess",
    "OpenAIAccess",
    "SharedSettings",
    "TLSSettings",
    "blank_is_none",
    "env_config",
    "local_secret",
]

# Tests set ASSISTANT_ENV_FILE="" so that a developer's .env never leaks into them.
_ENV_FILE = os.environ.get("ASSISTANT_ENV_FILE", ".env") or None

PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "your-secret-key",
        "your_secret_key",
        "replace-me",
        "placeholder",
        "jwt-secret",
        "xxx",
    }
)
"""Values people leave in a secret's place; refused where a real secret matters."""


class ConfigError(Exception):
    """The configuration cannot work; the message says what to set."""


def env_config(prefix: str = "") -> SettingsConfigDict:
    """How every settings group reads: `prefix` + field name, from the environment and `.env`.

    Empty variables count as unset; unknown ones are ignored.
    """
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=_ENV_FILE,
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
    )


def blank_is_none(value: object) -> object:
    """A field validator (mode "before"): an empty string given for an optional value is None."""
    return None if value in ("", None) else value


class DatabaseSettings(BaseSettings):
    """PostgreSQL. Without `DATABASE_URL`, an embedded server runs in the data folder."""

    model_config = env_config("DATABASE_")

    url: str | None = None
    pool_size: int = Field(default=10, gt=0)

    _blank_url_is_none = field_validator("url", mode="before")(blank_is_none)


class OpenAIAccess(BaseSettings):
    """How to reach OpenAI, or any OpenAI-compatible server at `base_url`."""

    model_config = env_config("OPENAI_")

    api_key: SecretStr | None = None
    base_url: str | None = None

    _blank_access_is_none = field_validator("api_key", "base_url", mode="before")(blank_is_none)

    @property
    def configured(self) -> bool:
        """Whether a remote model is set (a key or a base URL); if not, the local one is tried."""
        return self.api_key is not None or self.base_url is not None


class MCPAccess(BaseSettings):
    """Where our MCP servers' discovery service is, and the secret they share with the hub."""

    model_config = env_config("MCP_")

    discovery_url: str | None = None
    service_token: SecretStr | None = None

    _blank_discovery_is_none = field_validator("discovery_url", mode="before")(blank_is_none)


class TLSSettings(BaseSettings):
    """The files of mutual TLS between our services, used when `MTLS=true`.

    Each defaults to what `assistant certs init` writes in `DATA_DIR/certs`: `ca.pem`, and
    `<service>.pem` / `<service>.key` for the service reading them, so one `.env` serves all
    three services locally. In a container, point `TLS_CERT_FILE` and `TLS_KEY_FILE` at the
    service's own mounted secret.
    """

    model_config = env_config("TLS_")

    dir: Path | None = None
    """The folder of the defaults below (default: DATA_DIR/certs)."""
    ca_file: Path | None = None
    """The CA that signs every service's certificate: servers check clients, clients servers."""
    cert_file: Path | None = None
    key_file: Path | None = None

    _blank_paths_are_none = field_validator(
        "dir", "ca_file", "cert_file", "key_file", mode="before"
    )(blank_is_none)


class SharedSettings(BaseSettings):
    """What the orchestrator and our MCP servers both read from their environment."""

    model_config = env_config()

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    log_level: str = "INFO"

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    openai: OpenAIAccess = Field(default_factory=OpenAIAccess)
    mcp: MCPAccess = Field(default_factory=MCPAccess)
    mtls: bool = False
    """Mutual TLS between the front end, the orchestrator and our MCP servers (`MTLS`)."""
    tls: TLSSettings = Field(default_factory=TLSSettings)

    @property
    def production(self) -> bool:
        """Whether this is a production deployment.

        Then logs are JSON, startup does not migrate the database, and a missing or
        placeholder secret is refused.
        """
        return self.environment == "production"

    def mcp_service_token(self) -> str:
        """The secret shared with our MCP servers: configured, or generated once in the data folder.

        It signs the short-lived user tokens the orchestrator sends to our MCP servers and,
        used raw as a bearer, grants service-level access (discovery, registration).

        Raises:
            ConfigError: in production, when MCP_SERVICE_TOKEN is missing.
        """
        configured = self.mcp.service_token
        if configured is not None:
            return configured.get_secret_value()
        if self.production:
            raise ConfigError(
                "MCP_SERVICE_TOKEN is not set. The orchestrator and the MCP servers need the "
                "same secret: generate one with "
                'python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return local_secret(self.data_dir, "mcp-service-token")


def local_secret(data_dir: Path, name: str) -> str:
    """A random secret kept in `data_dir/name`, made on first use (a local, one-machine setup).

    The file is written aside and linked into place, so that processes starting at the same
    time (orchestrator, MCP servers, front end) never read a half-written file and all agree
    on one value. Only the owner may read it.
    """
    path = data_dir / name
    with contextlib.suppress(FileNotFoundError):
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()
    return path.read_text().strip()
