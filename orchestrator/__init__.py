"""The orchestrator: the API, the agent loop, the MCP hub, storage and accounts.

ARCHITECTURE.md at the repository root draws its layers and where each concern lives.
"""
