"""What an MCP server is, as configured: the `mcpServers` JSON format and our additions.

The file format is the one Claude Desktop and Cursor read (`command`, `args`, `env`, `cwd`
for a stdio server; `url`, `headers` for Streamable HTTP), so an existing `mcp.json` works
as is. Each entry may also say:

    "type": "stdio" | "http"            (inferred from `command` / `url` when absent)
    "disabled": true                    skip it
    "assistant": true                   one of our servers: it gets the per-call service token
                                        (admins, mcp.json and discovery only)
    "protocol": "auto" | "2025-11-25" | "2026-07-28"
    "timeout": 60                       seconds per tool call, reset by progress
    "policy": "auto" | "ask" | "deny"   for every tool of the server
    "tools": {"name": {"policy": ..., "timeout": ..., "enabled": false}}
    "roots": ["/some/dir", "file:///other"] or "workspace"
    "auth": {"type": "oauth", "client_id"?, "client_secret"?, "scopes"?}

In `mcp.json`, which an operator writes, `${VAR}` in `args`, `env`, `url` and `headers` is
replaced by the orchestrator's variable of that name; the orchestrator's own secrets can
never be named (see `PROTECTED_ENV`). Everything else is literal: a server registered
through the API or found by discovery gets exactly the text it was given, `${HOME}`,
`{{...}}` and `$(...)` included, so nobody can read the orchestrator's environment by
registering a server. A stdio server's environment holds what its config names and
nothing else.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from orchestrator.domain import InvalidInput, ToolPolicy

__all__ = [
    "PROTECTED_ENV",
    "SERVER_NAME_PATTERN",
    "OAuthConfig",
    "ServerConfig",
    "ServerSource",
    "ToolOverride",
    "load_config_file",
    "parse_server",
]

SERVER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")

# The orchestrator's own secrets and connection strings: never handed to a tool server,
# whether by `${VAR}` or by name.
PROTECTED_ENV = frozenset(
    {
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET_KEY",
        "OAUTH_CLIENT_SECRET",
        "MCP_SERVICE_TOKEN",
        "MCP_TOKEN_KEY",
        "ASSISTANT_ADMIN_PASSWORD",
        "S3_SECRET_ACCESS_KEY",
        "AWS_SECRET_ACCESS_KEY",
    }
)

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ServerSource(StrEnum):
    """Where a server's configuration came from."""

    CONFIG = "config"
    API = "api"
    DISCOVERY = "discovery"


class ToolOverride(BaseModel):
    """Per-tool settings that override the server's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: ToolPolicy | None = None
    timeout: float | None = Field(default=None, gt=0, le=86_400)
    enabled: bool = True


class OAuthConfig(BaseModel):
    """OAuth 2.1 for a remote server. Without a client id the hub registers itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["oauth"] = "oauth"
    client_id: str | None = Field(default=None, max_length=500)
    client_secret: SecretStr | None = None
    scopes: list[str] | None = None
    client_metadata_url: str | None = Field(default=None, max_length=2000)


class ServerConfig(BaseModel):
    """One MCP server: how to reach it and how its tools are governed.

    `owner_id` is the user a server belongs to; None means everyone's.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    transport: Literal["stdio", "http"]
    command: str | None = Field(default=None, max_length=4096)
    args: list[str] = Field(default_factory=list[str], max_length=256)
    env: dict[str, str] = Field(default_factory=dict[str, str])
    cwd: str | None = Field(default=None, max_length=4096)
    url: str | None = Field(default=None, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict[str, str])
    enabled: bool = True
    assistant: bool = False
    protocol: Literal["auto", "2025-11-25", "2026-07-28"] = "auto"
    timeout: float = Field(default=60.0, gt=0, le=86_400)
    connect_timeout: float = Field(default=30.0, gt=0, le=600)
    policy: ToolPolicy | None = None
    tools: dict[str, ToolOverride] = Field(default_factory=dict[str, ToolOverride])
    roots: list[str] | Literal["workspace"] | None = None
    auth: OAuthConfig | None = None
    owner_id: str | None = None
    source: ServerSource = ServerSource.CONFIG
    network: Literal["any", "public"] = "any"
    """Which addresses the hub may reach for it: `public` (see `egress`) for a server a
    non-admin registered; set by whoever registers it, never by the entry itself."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not SERVER_NAME_PATTERN.match(value):
            raise ValueError(
                "a server name is 1-63 letters, digits, '-' or '_', starting with a letter "
                "or digit (it prefixes the server's tool names)"
            )
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.upper() in PROTECTED_ENV:
                raise ValueError(f"{key} is one of the assistant's own secrets; it is never passed")
        return value

    @model_validator(mode="after")
    def _transport(self) -> ServerConfig:
        if self.transport == "stdio":
            if not self.command:
                raise ValueError("a stdio server needs a `command`")
            if self.url or self.headers:
                raise ValueError("a stdio server takes `command`, not `url` or `headers`")
            if self.auth is not None:
                raise ValueError("OAuth is for HTTP servers")
        else:
            if not self.url or not re.match(r"^https?://[^\s/]+", self.url):
                raise ValueError("an HTTP server needs a `url` (http:// or https://)")
            if self.command or self.args or self.env or self.cwd:
                raise ValueError("an HTTP server takes `url` and `headers`, not a command")
        if self.expands:
            for text in [*self.args, *self.env.values(), *self.headers.values(), self.url or ""]:
                for name in _VARIABLE.findall(text):
                    if name.upper() in PROTECTED_ENV:
                        raise ValueError(f"${{{name}}} is one of the assistant's own secrets")
        return self

    @property
    def expands(self) -> bool:
        """Whether `${VAR}` is replaced: only in `mcp.json`, which the operator writes."""
        return self.source is ServerSource.CONFIG

    @property
    def key(self) -> str:
        """Unique among all servers: the owner (or `*`) and the name."""
        return f"{self.owner_id or '*'}/{self.name}"

    def tool_override(self, tool: str) -> ToolOverride:
        """The configured overrides of one tool (none: the defaults)."""
        return self.tools.get(tool) or ToolOverride()

    def tool_timeout(self, tool: str) -> float:
        """Seconds one call of the tool may take: its own timeout, else the server's."""
        return self.tool_override(tool).timeout or self.timeout

    def resolved_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The child's environment additions, `${VAR}` expanded (`mcp.json` only)."""
        return {key: self._expand(value, environ) for key, value in self.env.items()}

    def resolved_args(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The command's arguments, `${VAR}` expanded (`mcp.json` only)."""
        return [self._expand(arg, environ) for arg in self.args]

    def resolved_url(self, environ: Mapping[str, str] | None = None) -> str:
        """The server's URL, `${VAR}` expanded (`mcp.json` only)."""
        return self._expand(self.url or "", environ)

    def resolved_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The HTTP headers to send, `${VAR}` expanded (`mcp.json` only)."""
        return {key: self._expand(value, environ) for key, value in self.headers.items()}

    def _expand(self, text: str, environ: Mapping[str, str] | None) -> str:
        return _expand(text, environ) if self.expands else text

    def public(self) -> dict[str, Any]:
        """The configuration without secrets: env and header values are masked."""
        data = self.model_dump(
            mode="json", exclude={"owner_id", "source", "name", "network"}, exclude_defaults=True
        )
        if self.env:
            data["env"] = dict.fromkeys(self.env, "***")
        if self.headers:
            data["headers"] = dict.fromkeys(self.headers, "***")
        if self.auth is not None and self.auth.client_secret is not None:
            data["auth"]["client_secret"] = "***"  # noqa: S105 - a mask
        return data

    def check_secrets(self, secret_values: Iterable[str]) -> None:
        """Refuse a configuration that spells out one of the orchestrator's secrets.

        Raises:
            InvalidInput: a value equals one of `secret_values`.
        """
        secrets = {value for value in secret_values if len(value) >= 8}
        values = [*self.env.values(), *self.headers.values(), *self.args]
        if any(value in secrets or any(s in value for s in secrets) for value in values):
            raise InvalidInput(
                f"The configuration of {self.name!r} contains one of the assistant's own "
                "secrets; tool servers never get them."
            )


def _expand(text: str, environ: Mapping[str, str] | None) -> str:
    source = os.environ if environ is None else environ
    return _VARIABLE.sub(lambda match: source.get(match.group(1), ""), text)


def _normalise(name: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(entry)
    kind = data.pop("type", None)
    if "disabled" in data:
        data["enabled"] = not bool(data.pop("disabled"))
    if kind in ("streamable-http", "streamableHttp", "http", "sse"):
        data["transport"] = "http"
    elif kind == "stdio":
        data["transport"] = "stdio"
    elif kind is not None:
        raise ValueError(f"unknown server type {kind!r} (stdio or http)")
    elif "transport" not in data:
        data["transport"] = "http" if "url" in data else "stdio"
    if isinstance(data.get("auth"), str):
        data["auth"] = {"type": data["auth"]}
    data.pop("autoApprove", None)
    data["name"] = name
    return data


def parse_server(
    name: str,
    entry: Mapping[str, Any],
    *,
    owner_id: str | None = None,
    source: ServerSource = ServerSource.CONFIG,
    network: Literal["any", "public"] | None = "any",
) -> ServerConfig:
    """One `mcpServers` entry as a `ServerConfig`.

    `network` overrides whatever the entry says; None keeps the entry's (stored rows,
    which the hub wrote itself), `public` when it says nothing.

    Raises:
        InvalidInput: the entry is not a valid server, with what is wrong.
    """
    try:
        data = _normalise(name, entry)
        data.update(owner_id=owner_id, source=source)
        if network is not None:
            data["network"] = network
        else:
            data.setdefault("network", "public")
        return ServerConfig.model_validate(data)
    except ValidationError as error:
        problems = [
            {
                "loc": [str(part) for part in err["loc"]],
                "msg": err["msg"].removeprefix("Value error, "),
            }
            for err in error.errors()
        ]
        first = problems[0]
        where = ".".join(first["loc"])
        raise InvalidInput(
            f"Server {name!r}: {where + ': ' if where else ''}{first['msg']}", detail=problems
        ) from None
    except ValueError as error:
        raise InvalidInput(f"Server {name!r}: {error}") from None


def load_config_file(path: Path) -> tuple[list[ServerConfig], list[str]]:
    """The servers of an `mcpServers` file, and a message per entry that is not valid.

    A missing file is an empty configuration; one bad entry does not hide the others.
    """
    if not path.exists():
        return [], []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [], [f"{path}: cannot read it as JSON: {error}"]
    if not isinstance(document, dict):
        return [], [f"{path}: expected a JSON object with `mcpServers`"]
    entries = document.get("mcpServers", document.get("servers", {}))
    if not isinstance(entries, dict):
        return [], [f"{path}: `mcpServers` must be an object of servers by name"]
    servers: list[ServerConfig] = []
    problems: list[str] = []
    for name, entry in entries.items():  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(entry, dict):
            problems.append(f"{path}: server {name!r} must be an object")
            continue
        try:
            server = parse_server(str(name), entry)  # pyright: ignore[reportUnknownArgumentType]
        except InvalidInput as error:
            problems.append(f"{path}: {error.message}")
            continue
        if server.enabled:
            servers.append(server)
    return servers, problems
