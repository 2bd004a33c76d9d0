"""Live changes: each read-model write, read by every web process to update open pages.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("what", sa.JSON(), nullable=False),
        sa.Column("usernames", sa.JSON(), nullable=True),
        sa.Column("task_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("live_change")
