"""messages.fault: a tool call the tool server failed, told apart from a tool's own error

Revision ID: 0008_message_fault
Revises: 0007_files
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_message_fault"
down_revision: str | None = "0007_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("fault", sa.Text()))


def downgrade() -> None:
    op.drop_column("messages", "fault")
