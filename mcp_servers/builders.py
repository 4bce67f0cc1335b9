"""Our servers by name, and how to build one."""

from __future__ import annotations

from typing import Any

from mcp_servers.server import OurServer
from mcp_servers.settings import ServersSettings

__all__ = ["SERVER_NAMES", "build"]

SERVER_NAMES = ("knowledge", "web", "files", "assistant")


def build(name: str, settings: ServersSettings, **dependencies: Any) -> OurServer:
    """The server called `name`, built by its package's `build_server`.

    Raises:
        KeyError: no server has that name.
    """
    if name == "knowledge":
        from mcp_servers.knowledge import build_server as knowledge

        return knowledge(settings, **dependencies)
    if name == "web":
        from mcp_servers.web import build_server as web

        return web(settings, **dependencies)
    if name == "files":
        from mcp_servers.files import build_server as files

        return files(settings, **dependencies)
    if name == "assistant":
        from mcp_servers.assistant import build_server as assistant

        return assistant(settings, **dependencies)
    raise KeyError(f"No MCP server named {name!r}; ours are {', '.join(SERVER_NAMES)}.")
