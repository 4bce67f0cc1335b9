"""The MCP hub: MCP servers' tools, resources and prompts for the agent loop.

Shaped by role, as the MCP SDK shapes its own package, each layer using only those below
it (an import-linter contract holds it):

- the hub, at this package's root: `MCPHub` implements the core's `ToolHost` over every
  configured server (`hub`), reading them from the config file, the store and discovery
  (`server_set`); above it, what the API asks of it: registering servers with who may do
  what (`registry`) and users' resources and prompts (`resources_and_prompts`);
- `governance`: tool specs, approvals, OAuth, the vault and the hub's store;
- `client`: the connection core, one server connected and asked things;
- `config`: what a configured server is, which every layer reads.

The CLI's one-off connections (`orchestrator.cli.mcp_probe`, `.mcp_conformance`) use the
public surface only. Conversion between MCP's shapes and ours happens in `client.content` only.
"""

from orchestrator.mcp.client import (
    META_KEY,
    Call,
    CircuitBreaker,
    ConnectionState,
    Egress,
    Limits,
    Refused,
    ServerConnection,
    ServerListing,
    ServiceTokens,
)
from orchestrator.mcp.config import (
    PROTECTED_ENV,
    ServerConfig,
    ServerSource,
    load_config_file,
    parse_server,
)
from orchestrator.mcp.governance import (
    COOKIE_SECONDS,
    HubStore,
    KeyStatus,
    MasterKeyError,
    MasterKeys,
    MemoryHubStore,
    Rotation,
    ToolEntry,
    Vault,
    cookie_name,
    key_status,
    rewrap,
    rotate,
)
from orchestrator.mcp.hub import HubOptions, HubServer, MCPHub, protected_values
from orchestrator.mcp.registry import ServerRegistry
from orchestrator.mcp.resources_and_prompts import Catalog
from orchestrator.mcp.server_set import Discovery, ServerSet

__all__ = [
    "COOKIE_SECONDS",
    "META_KEY",
    "PROTECTED_ENV",
    "Call",
    "Catalog",
    "CircuitBreaker",
    "ConnectionState",
    "Discovery",
    "Egress",
    "HubOptions",
    "HubServer",
    "HubStore",
    "KeyStatus",
    "Limits",
    "MCPHub",
    "MasterKeyError",
    "MasterKeys",
    "MemoryHubStore",
    "Refused",
    "Rotation",
    "ServerConfig",
    "ServerConnection",
    "ServerListing",
    "ServerRegistry",
    "ServerSet",
    "ServerSource",
    "ServiceTokens",
    "ToolEntry",
    "Vault",
    "cookie_name",
    "key_status",
    "load_config_file",
    "parse_server",
    "protected_values",
    "rewrap",
    "rotate",
]
