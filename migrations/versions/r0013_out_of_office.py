"""Out-of-office periods with a delegate, one per user.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "out_of_office",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("delegate", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_index(op.f("ix_out_of_office_delegate"), "out_of_office", ["delegate"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_out_of_office_delegate"), table_name="out_of_office")
    op.drop_table("out_of_office")
