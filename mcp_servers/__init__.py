"""Our own MCP servers and the discovery service."""
