"""What `assistant serve mcp` and `assistant db upgrade` run for the MCP servers."""

from __future__ import annotations

import asyncio
import logging
import sys

from common.logs import configure_logging
from common.settings import ConfigError, SharedSettings
from mcp_servers.builders import SERVER_NAMES, build
from mcp_servers.settings import HttpSettings, ServersSettings

__all__ = ["run_mcp", "upgrade_knowledge"]

logger = logging.getLogger(__name__)


def run_mcp(
    core: SharedSettings,
    *,
    name: str | None = None,
    stdio: bool = False,
    port: int | None = None,
    host: str | None = None,
    user: str | None = None,
) -> None:
    """Serve every server over HTTP (with discovery), one over HTTP, or one over stdio.

    Raises:
        SystemExit: a bad combination of options or an unknown name.
    """
    # Over stdio, standard output is the protocol: logs go to standard error only.
    logging.basicConfig(stream=sys.stderr, level=core.log_level)
    if not stdio:
        configure_logging(core.log_level, json_logs=core.production)
    http = HttpSettings()
    if port is not None:
        http.port = port
    if host is not None:
        http.host = host
    if user is not None:
        if not stdio:
            raise SystemExit("--user only applies to --stdio (over HTTP the token names the user).")
        http.stdio_user = user
    settings = ServersSettings(core, http=http)
    if stdio:
        if name is None:
            raise SystemExit(f"--stdio serves one server: name one of {', '.join(SERVER_NAMES)}.")
        from mcp_servers.hosting import serve_stdio

        serve_stdio(_build(name, settings))
        return
    from mcp_servers.hosting import serve_http

    try:
        settings.mutual_tls()
    except ConfigError as error:
        raise SystemExit(f"Configuration error: {error}") from error
    names = [name] if name else list(SERVER_NAMES)
    servers = [_build(n, settings) for n in names]
    print(
        f"MCP servers {', '.join(names)} on {settings.base_url}/mcp/<name>; "
        f"discovery at {settings.base_url}/discover",
        file=sys.stderr,
    )
    serve_http(settings, servers)


def _build(name: str, settings: ServersSettings):
    try:
        return build(name, settings)
    except KeyError as error:
        raise SystemExit(str(error.args[0])) from error


def upgrade_knowledge(core: SharedSettings) -> str | None:
    """Apply the knowledge migrations to their database; returns the revision."""
    from mcp_servers.knowledge.database import head_revision, open_engine

    settings = ServersSettings(core)

    async def go() -> None:
        url = settings.knowledge.database_url or core.database.url
        async with open_engine(url, core.data_dir, migrate=True):
            pass

    asyncio.run(go())
    return head_revision()
