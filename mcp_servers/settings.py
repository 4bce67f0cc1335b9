"""Settings of our MCP servers, read once at startup from the environment and `.env`.

What the servers share with the orchestrator (data folder, database, OpenAI key, the MCP
service token) comes from `common.settings.SharedSettings`, under the same names; what is
theirs alone lives in the groups below, each with its own prefix (`MCP_`, `WEB_`, `FILES_`,
`KNOWLEDGE_`, `ASSISTANT_`). Tests build their own `ServersSettings(...)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode

from common.settings import SharedSettings, env_config
from common.tls import MutualTLS

__all__ = [
    "AssistantServerSettings",
    "FilesSettings",
    "HttpSettings",
    "KnowledgeSettings",
    "ServersSettings",
    "WebSettings",
]

CommaList = Annotated[list[str], NoDecode]


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class HttpSettings(BaseSettings):
    """The HTTP face of the servers: where they listen and whom they answer."""

    model_config = env_config("MCP_")

    host: str = "127.0.0.1"
    port: int = Field(default=8001, gt=0, lt=65536)
    public_url: str | None = None
    """Base URL others reach the servers at (default `http://HOST:PORT`); goes into /discover."""
    allowed_hosts: CommaList = Field(default_factory=list)
    """Host header values accepted besides loopback ones (`name:port`, or `name:*`)."""
    allowed_origins: CommaList = Field(default_factory=list)
    """Origin values accepted besides loopback ones; a request without Origin is accepted."""
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    """How often servers heartbeat; an entry is unhealthy after 3 misses and gone after 10."""
    oauth_issuer: str | None = None
    """Accept OAuth access tokens (JWT) from this issuer, besides the orchestrator's."""
    oauth_audience: str | None = None
    """The audience OAuth tokens must carry (default: the server's own URL)."""
    oauth_jwks_url: str | None = None
    """Where the issuer's signing keys are (default: from its OpenID configuration)."""
    stdio_user: str | None = None
    """Over stdio only: act for this user when a request carries no user token."""

    _split_hosts = field_validator("allowed_hosts", "allowed_origins", mode="before")(_split)


class WebSettings(BaseSettings):
    """The `fetch` tool's limits and the networks an operator allows despite SSRF rules."""

    model_config = env_config("WEB_")

    allow_hosts: CommaList = Field(default_factory=list)
    """Host names, IP addresses or CIDR networks fetch may reach although they are private."""
    max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    timeout: float = Field(default=20.0, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    user_agent: str = "assistant-web-fetch/0.1 (+https://github.com/; self-hosted AI assistant)"

    _split_hosts = field_validator("allow_hosts", mode="before")(_split)


class FilesSettings(BaseSettings):
    model_config = env_config("FILES_")

    root: Path | None = None
    """Folder holding one workspace per user (default: DATA_DIR/workspaces)."""
    max_file_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    quota_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    quota_entries: int = Field(default=10_000, gt=0)
    """Files and folders one workspace may hold."""


class KnowledgeSettings(BaseSettings):
    model_config = env_config("KNOWLEDGE_")

    database_url: str | None = None
    """Default: DATABASE_URL, or the embedded server in the data folder."""
    embeddings: Literal["auto", "openai", "local", "none"] = "auto"
    """auto: OpenAI when OPENAI_API_KEY is set, else the local model when installed, else none."""
    openai_model: str = "text-embedding-3-small"
    chunk_chars: int = Field(default=1200, ge=200, le=20_000)
    overlap_chars: int = Field(default=200, ge=0, le=5_000)
    text_search_config: str = Field(default="english", pattern=r"^[a-z_]+$")
    max_document_bytes: int = Field(default=25 * 1024 * 1024, gt=0)


class AssistantServerSettings(BaseSettings):
    """The assistant-as-an-MCP-server: where the orchestrator is, and a key for stdio use."""

    model_config = env_config("ASSISTANT_")

    url: str = "http://127.0.0.1:8000"
    api_key: SecretStr | None = None
    """Over stdio: the API key (sk-asst-...) of the user the server acts for."""
    ask_timeout: float = Field(default=600.0, gt=0)


class ServersSettings:
    """Everything our MCP servers read: the shared core plus their own groups."""

    def __init__(
        self,
        core: SharedSettings | None = None,
        *,
        http: HttpSettings | None = None,
        web: WebSettings | None = None,
        files: FilesSettings | None = None,
        knowledge: KnowledgeSettings | None = None,
        assistant: AssistantServerSettings | None = None,
    ) -> None:
        self.core = core or SharedSettings()
        self.http = http or HttpSettings()
        self.web = web or WebSettings()
        self.files = files or FilesSettings()
        self.knowledge = knowledge or KnowledgeSettings()
        self.assistant = assistant or AssistantServerSettings()

    def service_token(self) -> str:
        return self.core.mcp_service_token()

    def mutual_tls(self) -> MutualTLS | None:
        """Our certificate under mutual TLS (MTLS=true), else None.

        Raises:
            ConfigError: MTLS is on and the files cannot be used.
        """
        return MutualTLS.of(self.core, "mcp")

    @property
    def base_url(self) -> str:
        if self.http.public_url:
            return self.http.public_url.rstrip("/")
        host = self.http.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.core.mtls else "http"
        return f"{scheme}://{host}:{self.http.port}"

    def files_root(self) -> Path:
        return self.files.root or self.core.data_dir / "workspaces"
