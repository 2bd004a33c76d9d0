"""Operations: an operation, its staffing plan's positions, the deployments that fill them, and
its append-only audit log.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str, length: int = 36) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=False)


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, crc.tables.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "operation",
        _id("id"),
        _id("workflow_id", 80),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("post_codes", sa.JSON(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("lead", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index("ix_operation_created_at_id", "operation", ["created_at", "id"])
    op.create_index("ix_operation_lead", "operation", ["lead"])
    op.create_index("ix_operation_status", "operation", ["status"])
    op.create_table(
        "operation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        _id("operation_id"),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        _at("occurred_at"),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_operation_event_operation_id", "operation_event", ["operation_id"])
    op.create_table(
        "operation_position",
        _id("id"),
        _id("operation_id"),
        sa.Column("post_code", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.Column("role_title", sa.String(length=200), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("component", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cut", sa.Boolean(), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"]),
        sa.ForeignKeyConstraint(["post_code"], ["post.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_operation_position_operation_id", "operation_position", ["operation_id"])
    op.create_table(
        "operation_deployment",
        _id("deployment_id"),
        _id("operation_id"),
        _id("position_id"),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"]),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"]),
        sa.ForeignKeyConstraint(["position_id"], ["operation_position.id"]),
        sa.PrimaryKeyConstraint("deployment_id"),
    )
    op.create_index("ix_operation_deployment_operation_id", "operation_deployment", ["operation_id"])
    op.create_index("ix_operation_deployment_position_id", "operation_deployment", ["position_id"])


def downgrade() -> None:
    op.drop_table("operation_deployment")
    op.drop_table("operation_position")
    op.drop_table("operation_event")
    op.drop_table("operation")
