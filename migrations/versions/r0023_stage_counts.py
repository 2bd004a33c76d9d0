"""The dashboard's reads: deployments by stage and post kept by triggers on deployment
(crc.stage_counts), and indexes for overdue tasks by office and who needs help.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from crc.stage_counts import FILL, statements

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_task_status_due_at_role", "task", ["status", "due_at", "role"], unique=False)
    op.create_index("ix_task_kind_status_created_at", "task", ["kind", "status", "created_at"], unique=False)
    op.create_table(
        "stagecount",
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("post_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stage", "post_code"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # No deployment moves between the count and the triggers (SQLite has one writer already).
        op.execute("LOCK TABLE deployment IN SHARE ROW EXCLUSIVE MODE")
    op.execute(FILL)
    for ddl in statements(dialect):
        op.execute(ddl)


def downgrade() -> None:
    for ddl in statements(op.get_bind().dialect.name, drop=True):
        op.execute(ddl)
    op.drop_table("stagecount")
    op.drop_index("ix_task_kind_status_created_at", table_name="task")
    op.drop_index("ix_task_status_due_at_role", table_name="task")
