"""conversation summaries (compaction) and pinned conversations

Revision ID: 0005_compaction
Revises: 0004_message_tree
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_compaction"
down_revision: str | None = "0004_message_tree"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("pinned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "ix_conversations_user_pinned_updated",
        "conversations",
        ["user_id", sa.text("pinned DESC"), sa.text("updated_at DESC"), sa.text("id DESC")],
    )
    op.drop_index("ix_conversations_user_updated", table_name="conversations")
    op.create_table(
        "conversation_summaries",
        sa.Column("id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("conversation_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("last_message_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("first_message_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("tokens_before", sa.Integer(), nullable=False),
        sa.Column("tokens_after", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("run_id", sa.UUID(as_uuid=False), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_summaries_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_message_id"],
            ["messages.id"],
            name=op.f("fk_conversation_summaries_last_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_summaries")),
        sa.UniqueConstraint(
            "last_message_id", name=op.f("uq_conversation_summaries_last_message_id")
        ),
    )
    op.create_index(
        op.f("ix_conversation_summaries_conversation_id"),
        "conversation_summaries",
        ["conversation_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_conversation_summaries_conversation_id"), table_name="conversation_summaries"
    )
    op.drop_table("conversation_summaries")
    op.create_index(
        "ix_conversations_user_updated",
        "conversations",
        ["user_id", sa.text("updated_at DESC"), sa.text("id DESC")],
    )
    op.drop_index("ix_conversations_user_pinned_updated", table_name="conversations")
    op.drop_column("conversations", "pinned")
