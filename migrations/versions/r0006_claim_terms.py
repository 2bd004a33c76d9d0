"""Claims on inbox tasks lapse: each has the time it holds until.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Claims made before they had a term lapse at once: none may go on blocking its task.
    with op.batch_alter_table("taskclaim") as batch:
        batch.add_column(sa.Column("expires_at", crc.tables.UTCDateTime(timezone=True), nullable=True))
    taskclaim = sa.table(
        "taskclaim", sa.column("claimed_at", sa.DateTime), sa.column("expires_at", sa.DateTime)
    )
    op.execute(taskclaim.update().values(expires_at=taskclaim.c.claimed_at))
    with op.batch_alter_table("taskclaim") as batch:
        batch.alter_column("expires_at", existing_type=crc.tables.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("taskclaim") as batch:
        batch.drop_column("expires_at")
