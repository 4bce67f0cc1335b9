"""Who may use which server and tool, and the secrets and trust that go with it.

Built on the connection core (`orchestrator.mcp.client`), below the hub: the tool specs
the model sees with their policies and fingerprints (`tool_specs`), the approval of a
tool that changed (`approvals`), OAuth authorizations per user (`oauth`), secrets sealed
at rest (`vault`; its keys in `key_ring`, rotated by `rotation`), and the port through
which all of it is stored (`hub_store`).

Two governance concerns live elsewhere on purpose: who may register or change a server is
the hub's `ServerRegistry`, above this package, because it acts on the running hub; the
per-call tokens for our own servers and the address policy for users' servers are in
the client (`service_token`, `egress`), because every connection applies them.
"""

from orchestrator.mcp.governance.approvals import ToolApprovals
from orchestrator.mcp.governance.hub_store import HubStore, MemoryHubStore
from orchestrator.mcp.governance.key_ring import (
    KeyStore,
    MasterKeyError,
    MasterKeys,
    MemoryKeyStore,
)
from orchestrator.mcp.governance.oauth import (
    COOKIE_SECONDS,
    AuthorizationStart,
    MemoryTokenStorage,
    OAuthBroker,
    cookie_name,
    oauth_provider,
)
from orchestrator.mcp.governance.rotation import (
    KeyStatus,
    Rotation,
    SealedRows,
    key_status,
    rewrap,
    rotate,
)
from orchestrator.mcp.governance.tool_specs import ToolEntry, build_specs
from orchestrator.mcp.governance.vault import Vault, credential_binding, server_binding

__all__ = [
    "COOKIE_SECONDS",
    "AuthorizationStart",
    "HubStore",
    "KeyStatus",
    "KeyStore",
    "MasterKeyError",
    "MasterKeys",
    "MemoryHubStore",
    "MemoryKeyStore",
    "MemoryTokenStorage",
    "OAuthBroker",
    "Rotation",
    "SealedRows",
    "ToolApprovals",
    "ToolEntry",
    "Vault",
    "build_specs",
    "cookie_name",
    "credential_binding",
    "key_status",
    "oauth_provider",
    "rewrap",
    "rotate",
    "server_binding",
]
