"""secret_keys: the vault's data keys, wrapped by a master key from the settings

Revision ID: 0010_secret_keys
Revises: 0009_identity
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_secret_keys"
down_revision: str | None = "0009_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "secret_keys",
        sa.Column("kid", sa.Text(), nullable=False),
        sa.Column("master_id", sa.Text(), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_secret_keys")),
    )
    op.create_index(
        "ix_secret_keys_live",
        "secret_keys",
        ["created_at"],
        postgresql_where=sa.text("retired_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_secret_keys_live", table_name="secret_keys")
    op.drop_table("secret_keys")
