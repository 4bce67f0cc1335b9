"""The assistant as an MCP server: ask, list_conversations, search_history."""

from mcp_servers.assistant.server import NAME, OrchestratorCredentials, build_server

__all__ = ["NAME", "OrchestratorCredentials", "build_server"]
