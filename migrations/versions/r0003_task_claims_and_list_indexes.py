"""Task claims for the inbox, and indexes for the deployments list (newest first, by stage).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:53:17.346920
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crc.tables

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "taskclaim",
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("claimed_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
        ),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index(op.f("ix_taskclaim_username"), "taskclaim", ["username"], unique=False)
    op.create_index("ix_deployment_created_at_id", "deployment", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_deployment_stage_created_at_id", "deployment", ["stage", "created_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_deployment_stage_created_at_id", table_name="deployment")
    op.drop_index("ix_deployment_created_at_id", table_name="deployment")
    op.drop_index(op.f("ix_taskclaim_username"), table_name="taskclaim")
    op.drop_table("taskclaim")
