"""identity and tenancy: OIDC identities, groups and their policies, scoped API keys,
sessions, and the append-only audit log

Revision ID: 0009_identity
Revises: 0008_message_fault
Create Date: 2026-12-07 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_identity"
down_revision: str | None = "0008_message_fault"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = sa.UUID(as_uuid=False)


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _user_fk(table: str, column: str = "user_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    # --- accounts -------------------------------------------------------------------------
    op.add_column("users", sa.Column("name", sa.Text()))
    op.add_column(
        "users",
        sa.Column(
            "password_change_required",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    op.create_table(
        "user_identities",
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("user_id", _UUID, nullable=False),
        sa.Column("email", sa.Text()),
        _created_at(),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        _user_fk("user_identities"),
        sa.PrimaryKeyConstraint("issuer", "subject", name="pk_user_identities"),
    )
    op.create_index(op.f("ix_user_identities_user_id"), "user_identities", ["user_id"])

    # --- groups ---------------------------------------------------------------------------
    op.create_table(
        "groups",
        sa.Column("id", _UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        # The models the group's members may use; null: any model.
        sa.Column("models", postgresql.JSONB()),
        # "oidc" when the group is kept in step with the provider's groups claim.
        sa.Column("source", sa.Text(), server_default="local", nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_groups"),
        sa.UniqueConstraint("name", name="uq_groups_name"),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", _UUID, nullable=False),
        sa.Column("user_id", _UUID, nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        _user_fk("group_members"),
        sa.PrimaryKeyConstraint("group_id", "user_id", name="pk_group_members"),
    )
    op.create_index(op.f("ix_group_members_user_id"), "group_members", ["user_id"])
    # A group's rule for a server's tools: `tool` "*" is every tool of the server;
    # `policy` is "deny" or "ask" (deny wins over ask, over any user's own grant).
    op.create_table(
        "group_tool_policies",
        sa.Column("group_id", _UUID, nullable=False),
        sa.Column("server", sa.Text(), nullable=False),
        sa.Column("tool", sa.Text(), server_default="*", nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_tool_policies_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "server", "tool", name="pk_group_tool_policies"),
        sa.CheckConstraint("policy IN ('deny', 'ask')", name=op.f("ck_group_tool_policies_policy")),
    )
    # A shared MCP server (owner_id null) limited to some groups; none listed: everyone.
    op.create_table(
        "mcp_server_groups",
        sa.Column("server_id", _UUID, nullable=False),
        sa.Column("group_id", _UUID, nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mcp_servers.id"],
            name=op.f("fk_mcp_server_groups_server_id_mcp_servers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_mcp_server_groups_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("server_id", "group_id", name="pk_mcp_server_groups"),
    )

    # --- keys and sessions ----------------------------------------------------------------
    # Keys made before scopes existed keep every scope their owner had.
    op.add_column(
        "api_keys",
        sa.Column(
            "scopes",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{chat,read,mcp,admin}'"),
            nullable=False,
        ),
    )
    op.alter_column("api_keys", "scopes", server_default=sa.text("'{chat,read}'"))
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True)))
    # One login (a refresh-token family): its access tokens carry its id as `sid`.
    op.create_table(
        "sessions",
        sa.Column("id", _UUID, nullable=False),
        sa.Column("user_id", _UUID, nullable=False),
        sa.Column("via", sa.Text(), server_default="password", nullable=False),
        sa.Column("address", sa.Text()),
        sa.Column("user_agent", sa.Text()),
        _created_at(),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        _user_fk("sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])

    # --- audit ----------------------------------------------------------------------------
    # Append-only: no foreign keys (a deleted user's records stay), and a trigger refuses
    # every UPDATE, DELETE and TRUNCATE, whoever the database role.
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", _UUID),
        sa.Column("actor_email", sa.Text()),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), server_default="ok", nullable=False),
        sa.Column("target_type", sa.Text()),
        sa.Column("target_id", sa.Text()),
        sa.Column("detail", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("address", sa.Text()),
        sa.Column("trace_id", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor_id", "at"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("sessions")
    op.drop_column("api_keys", "expires_at")
    op.drop_column("api_keys", "scopes")
    op.drop_table("mcp_server_groups")
    op.drop_table("group_tool_policies")
    op.drop_table("group_members")
    op.drop_table("groups")
    op.drop_table("user_identities")
    op.drop_column("users", "password_change_required")
    op.drop_column("users", "name")
