"""tool_grants: tools a user always allows without being asked

Revision ID: 0006_tool_grants
Revises: 0005_compaction
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_tool_grants"
down_revision: str | None = "0005_compaction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tool_grants",
        sa.Column("user_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_tool_grants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "tool", name="pk_tool_grants"),
    )


def downgrade() -> None:
    op.drop_table("tool_grants")
