"""The MCP hub: MCP servers' tools, resources and prompts for the agent loop.

`MCPHub` implements the core's `ToolHost`; `ServerRegistry` and `Catalog` serve the API.
Conversion between MCP's shapes and ours happens in `content` only.
"""

from orchestrator.mcp.call import Call
from orchestrator.mcp.catalog import Catalog
from orchestrator.mcp.config import (
    PROTECTED_ENV,
    ServerConfig,
    ServerSource,
    load_config_file,
    parse_server,
)
from orchestrator.mcp.connection import ConnectionState, ServerConnection
from orchestrator.mcp.egress import Egress, Refused
from orchestrator.mcp.hub import HubOptions, HubServer, MCPHub, protected_values
from orchestrator.mcp.hub_store import HubStore, MemoryHubStore
from orchestrator.mcp.limits import Limits
from orchestrator.mcp.registry import ServerRegistry
from orchestrator.mcp.service_token import META_KEY, ServiceTokens
from orchestrator.mcp.vault import Vault
from orchestrator.mcp.views import (
    HealthView,
    PromptArgumentView,
    PromptView,
    ResourceView,
    ServerView,
    ToolView,
)

__all__ = [
    "META_KEY",
    "PROTECTED_ENV",
    "Call",
    "Catalog",
    "ConnectionState",
    "Egress",
    "HealthView",
    "HubOptions",
    "HubServer",
    "HubStore",
    "Limits",
    "MCPHub",
    "MemoryHubStore",
    "PromptArgumentView",
    "PromptView",
    "Refused",
    "ResourceView",
    "ServerConfig",
    "ServerConnection",
    "ServerRegistry",
    "ServerSource",
    "ServerView",
    "ServiceTokens",
    "ToolView",
    "Vault",
    "load_config_file",
    "parse_server",
    "protected_values",
]
