"""Dates that hold: when a task opens, and a deployment's actual and extended dates.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("opens_on", sa.Date(), nullable=True))
    with op.batch_alter_table("deployment") as batch:
        batch.add_column(sa.Column("extension_days", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("arrival_opens_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("arrived_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("left_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployment") as batch:
        batch.drop_column("left_on")
        batch.drop_column("arrived_on")
        batch.drop_column("arrival_opens_on")
        batch.drop_column("extension_days")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("opens_on")
