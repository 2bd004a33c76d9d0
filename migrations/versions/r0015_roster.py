"""The roster's own data: language levels, clearance grant date, retirement, availability windows.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("language_levels", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("clearance_granted", sa.Date(), nullable=True))
        batch.add_column(sa.Column("retired_on", sa.Date(), nullable=True))
        batch.create_index(batch.f("ix_member_retired_on"), ["retired_on"], unique=False)
    op.create_table(
        "availabilitywindow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.CheckConstraint("starts_on <= ends_on", name="window_dates_in_order"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_availabilitywindow_member_id"), "availabilitywindow", ["member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_availabilitywindow_member_id"), table_name="availabilitywindow")
    op.drop_table("availabilitywindow")
    with op.batch_alter_table("member") as batch:
        batch.drop_index(batch.f("ix_member_retired_on"))
        batch.drop_column("retired_on")
        batch.drop_column("clearance_granted")
        batch.drop_column("language_levels")
