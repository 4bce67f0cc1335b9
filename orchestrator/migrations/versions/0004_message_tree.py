"""messages.parent_id and conversations.active_leaf_id: conversations become trees

Existing conversations become one branch: each message's parent is the message numbered
just before it, and the active leaf is the newest message.

Revision ID: 0004_message_tree
Revises: 0003
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0004_message_tree"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column(
            "parent_id",
            UUID(as_uuid=False),
            sa.ForeignKey("messages.id", name="fk_messages_parent_id_messages", ondelete="CASCADE"),
        ),
    )
    op.add_column("conversations", sa.Column("active_leaf_id", UUID(as_uuid=False)))
    op.execute(
        """
        UPDATE messages AS m SET parent_id = chain.previous
        FROM (
            SELECT id, lag(id) OVER (PARTITION BY conversation_id ORDER BY seq) AS previous
            FROM messages
        ) AS chain
        WHERE m.id = chain.id AND chain.previous IS NOT NULL
        """
    )
    op.execute(
        """
        UPDATE conversations AS c SET active_leaf_id = (
            SELECT m.id FROM messages AS m
            WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1
        )
        """
    )
    op.create_index("ix_messages_parent", "messages", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_parent", table_name="messages")
    op.drop_column("conversations", "active_leaf_id")
    op.drop_column("messages", "parent_id")
