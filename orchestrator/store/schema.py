"""The database schema, as SQLAlchemy Core tables. Alembic migrations build it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID

__all__ = [
    "api_keys",
    "conversation_summaries",
    "conversations",
    "files",
    "mcp_credentials",
    "mcp_servers",
    "mcp_tool_approvals",
    "messages",
    "metadata",
    "refresh_tokens",
    "run_events",
    "runs",
    "tool_calls",
    "tool_grants",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def created_at_column() -> Column[object]:
    """A `created_at` column, set by the database when the row is inserted."""
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("password_hash", Text),
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    created_at_column(),
    # Bumped when the account is disabled or demoted, its password changes, or it logs out
    # everywhere: access tokens carry the version they were issued at (`ver`).
    Column("token_version", Integer, nullable=False, server_default=text("0")),
    # The display name (from the OIDC provider, or set by the user).
    Column("name", Text),
    # Set by an admin's password reset: the user must choose a new password at next login.
    Column("password_change_required", Boolean, nullable=False, server_default=text("false")),
)


api_keys = Table(
    "api_keys",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "user_id",
        UUID(as_uuid=False),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", Text, nullable=False),
    Column("prefix", Text, nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    created_at_column(),
    Column("last_used_at", DateTime(timezone=True)),
    # What the key may do: any of "chat", "read", "mcp", "admin" (admin needs an admin owner).
    Column("scopes", ARRAY(Text), nullable=False, server_default=text("'{chat,read}'")),
    Column("expires_at", DateTime(timezone=True)),
)


refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("jti", UUID(as_uuid=False), primary_key=True),
    Column("family", UUID(as_uuid=False), nullable=False, index=True),
    Column(
        "user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    created_at_column(),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("title", Text, nullable=False),
    created_at_column(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seq", Integer, nullable=False, server_default=text("0")),
    # The newest message of the branch the user is on: the conversation view and the next
    # run follow the path from the root to it (`messages.parent_id` links the tree).
    Column("active_leaf_id", UUID(as_uuid=False)),
    Column("pinned", Boolean, nullable=False, server_default=text("false")),
    # The list's order: pinned first, then the most recently active.
    Index(
        "ix_conversations_user_pinned_updated",
        "user_id",
        text("pinned DESC"),
        text("updated_at DESC"),
        text("id DESC"),
    ),
)

messages = Table(
    "messages",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "conversation_id",
        UUID(as_uuid=False),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("parent_id", UUID(as_uuid=False), ForeignKey("messages.id", ondelete="CASCADE")),
    Column("run_id", UUID(as_uuid=False)),
    Column("role", Text, nullable=False),
    Column("content", JSONB, nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("tool_calls", JSONB),
    Column("tool_call_id", Text),
    Column("name", Text),
    Column("model", Text),
    Column("usage", JSONB),
    Column("status", Text, nullable=False, server_default="complete"),
    Column("is_error", Boolean, nullable=False, server_default=text("false")),
    # "host" on a tool message whose call got no answer because the tool server failed.
    Column("fault", Text),
    Column("token_count", Integer, nullable=False, server_default=text("0")),
    created_at_column(),
    Column("search", TSVECTOR, Computed("to_tsvector('simple', text)", persisted=True)),
    UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
    Index("ix_messages_search", "search", postgresql_using="gin"),
    Index("ix_messages_parent", "parent_id"),
)

# Summaries of a conversation's older turns, each covering the messages from the first up
# to `last_message_id` (on every branch that passes through it). The messages stay stored.
conversation_summaries = Table(
    "conversation_summaries",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "conversation_id",
        UUID(as_uuid=False),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column(
        "last_message_id",
        UUID(as_uuid=False),
        ForeignKey("messages.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("first_message_id", UUID(as_uuid=False), nullable=False),
    Column("message_count", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("token_count", Integer, nullable=False),
    Column("tokens_before", Integer, nullable=False),
    Column("tokens_after", Integer, nullable=False),
    Column("model", Text),
    Column("run_id", UUID(as_uuid=False)),
    created_at_column(),
)

runs = Table(
    "runs",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "conversation_id",
        UUID(as_uuid=False),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column(
        "user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("status", Text, nullable=False),
    Column("model", Text, nullable=False),
    created_at_column(),
    Column("finished_at", DateTime(timezone=True)),
    Column("error", JSONB),
    Column("input_tokens", Integer, nullable=False, server_default=text("0")),
    Column("output_tokens", Integer, nullable=False, server_default=text("0")),
    Column("last_event_id", Integer, nullable=False, server_default=text("0")),
    # One run at a time per conversation: the database says no to a second.
    Index(
        "uq_runs_one_active_per_conversation",
        "conversation_id",
        unique=True,
        postgresql_where=text("status IN ('running', 'waiting')"),
    ),
    Index("ix_runs_user_created", "user_id", "created_at"),
)

# Events are stored compactly: a run of consecutive `message.delta` events is one row
# covering seq..last_seq, with `splits` holding each delta's length, so replay gives back
# exactly the events that were sent, one row per text segment instead of one per token.
run_events = Table(
    "run_events",
    metadata,
    Column(
        "run_id", UUID(as_uuid=False), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    Column("seq", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("splits", ARRAY(Integer)),
    PrimaryKeyConstraint("run_id", "seq", name="pk_run_events"),
)

tool_calls = Table(
    "tool_calls",
    metadata,
    Column("id", Text, primary_key=True),
    Column(
        "run_id",
        UUID(as_uuid=False),
        ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column(
        "user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("status", Text, nullable=False),
    created_at_column(),
    Column("decided_at", DateTime(timezone=True)),
)

# MCP servers registered through the API: `owner_id` null means shared with everyone. The
# configuration's secrets (env, header values, client secret) are sealed in `secrets`.
mcp_servers = Table(
    "mcp_servers",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("owner_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE")),
    Column("name", Text, nullable=False),
    Column("config", JSONB, nullable=False),
    Column("secrets", Text),
    Column("created_by", UUID(as_uuid=False), ForeignKey("users.id", ondelete="SET NULL")),
    created_at_column(),
    Index(
        "uq_mcp_servers_shared_name",
        "name",
        unique=True,
        postgresql_where=text("owner_id IS NULL"),
    ),
    Index(
        "uq_mcp_servers_owner_name",
        "owner_id",
        "name",
        unique=True,
        postgresql_where=text("owner_id IS NOT NULL"),
    ),
)


# The trusted version (fingerprint) of each tool; `approved_by` is null for the first
# version seen.
mcp_tool_approvals = Table(
    "mcp_tool_approvals",
    metadata,
    Column("server_key", Text, nullable=False),
    Column("tool", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("approved_by", UUID(as_uuid=False), ForeignKey("users.id", ondelete="SET NULL")),
    Column("approved_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("server_key", "tool", name="pk_mcp_tool_approvals"),
)

# OAuth tokens and client registrations per user and server, sealed.
mcp_credentials = Table(
    "mcp_credentials",
    metadata,
    Column(
        "user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("server_key", Text, nullable=False),
    Column("sealed", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("user_id", "server_key", name="pk_mcp_credentials"),
)

# Tools (namespaced names) a user chose to always allow: their calls run without asking.
tool_grants = Table(
    "tool_grants",
    metadata,
    Column(
        "user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("tool", Text, nullable=False),
    created_at_column(),
    PrimaryKeyConstraint("user_id", "tool", name="pk_tool_grants"),
)


# Files users attached; their bytes are in object storage under `files/<id>`.
files = Table(
    "files",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("document_id", Text),
    created_at_column(),
    Index("ix_files_user_created", "user_id", text("created_at DESC"), text("id DESC")),
)
