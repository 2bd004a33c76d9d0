"""A row /healthz writes, so it knows the database takes writes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "healthcheck",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("healthcheck")
