"""The identity and tenancy tables (migration 0009), on `schema.metadata`.

Linked OIDC identities, groups and their policies, sessions, and the append-only audit log.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from orchestrator.store.schema import created_at_column as _created_at
from orchestrator.store.schema import metadata

__all__ = [
    "audit_log",
    "group_members",
    "group_tool_policies",
    "groups",
    "mcp_server_groups",
    "sessions",
    "user_identities",
]

# Accounts at OIDC providers linked to a user: (issuer, subject) is the provider's identity.
user_identities = Table(
    "user_identities",
    metadata,
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column(
        "user_id",
        UUID(as_uuid=False),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("email", Text),
    _created_at(),
    Column("last_login_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("issuer", "subject", name="pk_user_identities"),
)


# Groups of users. `models` lists the models members may use (null: any); `source` is
# "oidc" for a group kept in step with the provider's groups claim, else "local".
groups = Table(
    "groups",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("models", JSONB),
    Column("source", Text, nullable=False, server_default="local"),
    _created_at(),
)


group_members = Table(
    "group_members",
    metadata,
    Column(
        "group_id", UUID(as_uuid=False), ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "user_id",
        UUID(as_uuid=False),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _created_at(),
    PrimaryKeyConstraint("group_id", "user_id", name="pk_group_members"),
)


# A group's rule for a server's tools: `tool` "*" means every tool of the server; `policy`
# is "deny" or "ask". Deny wins over ask, and both over a user's own "always allow".
group_tool_policies = Table(
    "group_tool_policies",
    metadata,
    Column(
        "group_id", UUID(as_uuid=False), ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    Column("server", Text, nullable=False),
    Column("tool", Text, nullable=False, server_default="*"),
    Column("policy", Text, nullable=False),
    _created_at(),
    PrimaryKeyConstraint("group_id", "server", "tool", name="pk_group_tool_policies"),
    CheckConstraint("policy IN ('deny', 'ask')", name="policy"),
)


# A shared MCP server (owner_id null) limited to some groups; with no row, everyone sees it.
mcp_server_groups = Table(
    "mcp_server_groups",
    metadata,
    Column(
        "server_id",
        UUID(as_uuid=False),
        ForeignKey("mcp_servers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "group_id", UUID(as_uuid=False), ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    PrimaryKeyConstraint("server_id", "group_id", name="pk_mcp_server_groups"),
)


# One login (a refresh-token family): its access tokens carry its id as `sid`, so logging
# out ends that session's access tokens as well as its refresh tokens.
sessions = Table(
    "sessions",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "user_id",
        UUID(as_uuid=False),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("via", Text, nullable=False, server_default="password"),
    Column("address", Text),
    Column("user_agent", Text),
    _created_at(),
    Column("revoked_at", DateTime(timezone=True)),
)


# Append-only record of who did what (logins, keys, tool calls, approvals, admin changes,
# exports, deletions). No foreign keys, so a deleted user's records stay; a trigger refuses
# every UPDATE, DELETE and TRUNCATE (migration 0009).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor_id", UUID(as_uuid=False)),
    Column("actor_email", Text),
    Column("action", Text, nullable=False),
    Column("outcome", Text, nullable=False, server_default="ok"),
    Column("target_type", Text),
    Column("target_id", Text),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'")),
    Column("address", Text),
    Column("trace_id", Text),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor_at", "actor_id", "at"),
    Index("ix_audit_log_action_at", "action", "at"),
)
