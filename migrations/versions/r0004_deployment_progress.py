"""Machine-readable progress on the deployment read-model: what it waits for, due time, actions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crc.tables

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deployment") as batch:
        batch.add_column(
            sa.Column(
                "waiting_for",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="workflow",
            )
        )
        batch.add_column(sa.Column("due_at", crc.tables.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_actions", sa.JSON(), nullable=False, server_default="{}"))
    # Ended deployments take no action any more; running ones are written by their workflow's
    # next step. The reasons are those crc.permissions gives, frozen as of this revision.
    deployment = sa.table(
        "deployment",
        sa.column("stage", sa.String),
        sa.column("waiting_for", sa.String),
        sa.column("closed_actions", sa.JSON),
    )
    for stage in ("COMPLETED", "REJECTED", "EXPIRED", "CANCELLED"):
        closed = {
            "cancel": f"the deployment is already at {stage}",
            "amend": "the request is not waiting for changes",
            "check_in": f"no check-in is expected at {stage}: check-ins start once travel is booked "
            "and end with the stay",
            "request_extension": "extensions are for deployments in country",
        }
        op.execute(
            deployment.update()
            .where(deployment.c.stage == stage)
            .values(waiting_for="nothing", closed_actions=closed)
        )


def downgrade() -> None:
    with op.batch_alter_table("deployment") as batch:
        batch.drop_column("closed_actions")
        batch.drop_column("due_at")
        batch.drop_column("waiting_for")
