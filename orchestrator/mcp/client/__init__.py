"""The connection core: one MCP server, connected, kept connected and asked things.

Like the SDK's own `mcp.client`, this package knows how to talk to a server and nothing
of who may use it: `ServerConnection` supervises one connection (transport, handshake,
listing, reconnection with a circuit breaker) and runs each `Call` on it within its
deadline; `ServerRequests` answers what a server asks back (elicitation, sampling,
roots). Around them: the transports (`transport`, `stdio`), the bounds on what a server
may send (`limits`), the address policy for servers a user registered (`egress`), the
per-call tokens for our own servers (`service_token`), and the one conversion between
MCP's shapes and ours (`content`).
"""

from orchestrator.mcp.client.breaker import CircuitBreaker
from orchestrator.mcp.client.call import (
    AuthorizationRequired,
    Call,
    ElicitationsRequired,
    connecting_call,
    current_call,
)
from orchestrator.mcp.client.connection import ConnectionState, Meta, ServerConnection
from orchestrator.mcp.client.content import (
    elicitation_request,
    outcome_of,
    prompt_messages,
    resource_parts,
)
from orchestrator.mcp.client.egress import Egress, Refused, Resolver
from orchestrator.mcp.client.limits import Limits, cut_parts
from orchestrator.mcp.client.listing import ServerListing
from orchestrator.mcp.client.server_requests import ServerRequests
from orchestrator.mcp.client.service_token import META_KEY, ServiceTokens
from orchestrator.mcp.client.transport import describe

__all__ = [
    "META_KEY",
    "AuthorizationRequired",
    "Call",
    "CircuitBreaker",
    "ConnectionState",
    "Egress",
    "ElicitationsRequired",
    "Limits",
    "Meta",
    "Refused",
    "Resolver",
    "ServerConnection",
    "ServerListing",
    "ServerRequests",
    "ServiceTokens",
    "connecting_call",
    "current_call",
    "cut_parts",
    "describe",
    "elicitation_request",
    "outcome_of",
    "prompt_messages",
    "resource_parts",
]
