"""The files MCP server: a per-user workspace (list, read, write, move, delete, search)."""

from mcp_servers.files.server import NAME, build_server
from mcp_servers.files.workspace import Workspace, WorkspaceError

__all__ = ["NAME", "Workspace", "WorkspaceError", "build_server"]
