"""Notifications per recipient (replacing the per-role table no page showed) and preferences.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 22:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The old rows named a role, not a person; their reminders and escalations stay in the
    # timeline (event), so nothing is lost by starting the per-recipient table empty.
    op.drop_index(op.f("ix_notification_role"), table_name="notification")
    op.drop_index(op.f("ix_notification_deployment_id"), table_name="notification")
    op.drop_table("notification")
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=240), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", crc.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", crc.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_notification_deployment_id"), "notification", ["deployment_id"], unique=False)
    op.create_index("ix_notification_username_read_at", "notification", ["username", "read_at"], unique=False)
    op.create_index(
        "ix_notification_username_created_at_id",
        "notification",
        ["username", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "notification_preference",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("username", "kind"),
    )


def downgrade() -> None:
    op.drop_table("notification_preference")
    op.drop_index("ix_notification_username_created_at_id", table_name="notification")
    op.drop_index("ix_notification_username_read_at", table_name="notification")
    op.drop_index(op.f("ix_notification_deployment_id"), table_name="notification")
    op.drop_table("notification")
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_notification_role"), "notification", ["role"], unique=False)
    op.create_index(op.f("ix_notification_deployment_id"), "notification", ["deployment_id"], unique=False)
