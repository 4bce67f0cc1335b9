"""Where servers come from, merged: the config file, the API (stored), and discovery.

The hub asks for the whole desired set every few seconds and reconciles its connections
with it, so a server registered on another replica, an edited `mcp.json`, or a server
that appears in (or vanishes from) discovery is picked up without a restart.
"""

from __future__ import annotations

import logging
import ssl
import uuid
from pathlib import Path
from typing import Any

import httpx2

from orchestrator.domain import InvalidInput
from orchestrator.mcp.client import describe
from orchestrator.mcp.config import ServerConfig, ServerSource, load_config_file, parse_server
from orchestrator.mcp.governance import HubStore, Vault, server_binding

__all__ = ["Discovery", "ServerSet", "split_secrets"]

logger = logging.getLogger(__name__)

_SECRET_FIELDS = ("env", "headers")


def split_secrets(config: ServerConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """A configuration as (public part, secret part) for storage."""
    data = config.model_dump(
        mode="json", exclude={"name", "owner_id", "source"}, exclude_defaults=True
    )
    data["network"] = config.network  # always stored: a row without it reads as `public`
    secrets = {key: data.pop(key) for key in _SECRET_FIELDS if data.get(key)}
    auth = data.get("auth")
    if auth and auth.get("client_secret") and config.auth and config.auth.client_secret:
        secrets["client_secret"] = config.auth.client_secret.get_secret_value()
        auth["client_secret"] = None
    return data, secrets


def _join_secrets(public: dict[str, Any], secrets: dict[str, Any] | None) -> dict[str, Any]:
    data = dict(public)
    for key in _SECRET_FIELDS:
        if secrets and key in secrets:
            data[key] = secrets[key]
    if secrets and secrets.get("client_secret") and data.get("auth"):
        data["auth"] = {**data["auth"], "client_secret": secrets["client_secret"]}
    return data


class Discovery:
    """Polls our discovery service: `GET url` → `{"servers": [{"name", "url", ...}]}`.

    Discovered servers are ours (they get the service token) unless an entry says
    `"assistant": false`. A failed poll keeps the last answer: a discovery service
    restarting does not take every server away.
    """

    def __init__(self, url: str, token: str | None, *, tls: ssl.SSLContext | None = None) -> None:
        self.url = url
        self._token = token
        self._verify: ssl.SSLContext | bool = tls if tls is not None else True
        self.servers: list[ServerConfig] = []
        self.last_error: str | None = None

    async def poll(self) -> list[ServerConfig]:
        """Ask the discovery service for its servers; the last answer when it fails."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            async with httpx2.AsyncClient(timeout=5.0, verify=self._verify) as http:
                response = await http.get(self.url, headers=headers)
                response.raise_for_status()
                document = response.json()
        except (httpx2.HTTPError, ValueError) as error:
            if self.last_error is None:
                logger.warning("MCP discovery at %s failed: %s", self.url, describe(error))
            self.last_error = describe(error)
            return self.servers
        self.last_error = None
        self.servers = self._parse(document)
        return self.servers

    def _parse(self, document: Any) -> list[ServerConfig]:
        entries = document.get("servers") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            logger.warning("MCP discovery at %s answered without a `servers` list", self.url)
            return self.servers
        servers: list[ServerConfig] = []
        for entry in entries:  # pyright: ignore[reportUnknownVariableType]
            if not isinstance(entry, dict) or not entry.get("url") or not entry.get("name"):
                continue
            versions = entry.get("protocol_versions") or []  # pyright: ignore[reportUnknownMemberType]
            protocol = "2025-11-25" if versions and "2026-07-28" not in versions else "auto"
            try:
                servers.append(
                    parse_server(
                        str(entry["name"]),  # pyright: ignore[reportUnknownArgumentType]
                        {
                            "url": entry["url"],
                            "assistant": entry.get("assistant", True) is not False,
                            "protocol": protocol,
                            "roots": "workspace",
                        },
                        source=ServerSource.DISCOVERY,
                    )
                )
            except InvalidInput as error:
                logger.warning("MCP discovery: skipping a server: %s", error.message)
        return servers


class ServerSet:
    """Reads the desired servers from their three sources."""

    def __init__(
        self,
        store: HubStore,
        vault: Vault | None,
        *,
        config_path: Path | None,
        discovery: Discovery | None,
    ) -> None:
        self._store = store
        self._vault = vault
        self._config_path = config_path
        self.discovery = discovery
        self.problems: list[str] = []

    async def desired(self, *, poll: bool = False) -> dict[str, ServerConfig]:
        """Every server that should be connected, by key; earlier sources win a name."""
        problems: list[str] = []
        configured: list[ServerConfig] = []
        if self._config_path is not None:
            configured, problems = load_config_file(self._config_path)
        stored = await self._stored(problems)
        discovered: list[ServerConfig] = []
        if self.discovery is not None:
            discovered = await self.discovery.poll() if poll else self.discovery.servers
        servers: dict[str, ServerConfig] = {}
        for config in [*configured, *stored, *discovered]:
            if config.key in servers:
                if config.source is not servers[config.key].source:
                    problems.append(
                        f"{config.source.value} server {config.name!r} is shadowed by the "
                        f"{servers[config.key].source.value} server of that name"
                    )
                continue
            servers[config.key] = config
        if problems != self.problems:
            for problem in problems:
                logger.warning("MCP configuration: %s", problem)
        self.problems = problems
        return servers

    async def _stored(self, problems: list[str]) -> list[ServerConfig]:
        servers: list[ServerConfig] = []
        for row in await self._store.load_servers():
            secrets = (
                await self._vault.open(
                    row.get("secrets"), server_binding(row["id"], row["owner_id"])
                )
                if self._vault is not None
                else None
            )
            try:
                servers.append(
                    parse_server(
                        row["name"],
                        _join_secrets(row["config"], secrets),
                        owner_id=row["owner_id"],
                        source=ServerSource.API,
                        network=None,
                    )
                )
            except InvalidInput as error:
                problems.append(error.message)
        return servers

    async def add(self, config: ServerConfig, created_by: str | None) -> None:
        """Store a server registered through the API.

        Raises:
            Conflict: the owner already has a server of that name.
        """
        public, secrets = split_secrets(config)
        server_id = str(uuid.uuid4())
        sealed = (
            await self._vault.seal(secrets, server_binding(server_id, config.owner_id))
            if (secrets and self._vault is not None)
            else None
        )
        await self._store.insert_server(
            config.owner_id, config.name, public, sealed, created_by, server_id=server_id
        )

    async def update(self, config: ServerConfig) -> bool:
        """Store a registered server's changed governance (policies); secrets stay as they are."""
        public, _ = split_secrets(config)
        return await self._store.update_server(config.owner_id, config.name, public)

    async def remove(self, config: ServerConfig) -> bool:
        """Forget a server registered through the API; False if it was not stored."""
        return await self._store.delete_server(config.owner_id, config.name)
