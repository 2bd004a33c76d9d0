"""Post departures: a post's authorized or ordered departures, their roll-call (one row per
member) and each departure's append-only audit log.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str, length: int = 36) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=False)


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, crc.tables.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "post_departure",
        _id("id"),
        _id("workflow_id", 80),
        sa.Column("post_code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ordered_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("ordered_at"),
        _at("ended_at", nullable=True),
        sa.ForeignKeyConstraint(["post_code"], ["post.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index("ix_post_departure_status", "post_departure", ["status"])
    op.create_index("ix_post_departure_post_code_ordered_at", "post_departure", ["post_code", "ordered_at"])
    op.create_table(
        "departure_roll_call",
        sa.Column("id", sa.Integer(), nullable=False),
        _id("departure_id"),
        _id("deployment_id"),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("member_name", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("standing", sa.String(length=16), nullable=False),
        _at("accounted_at", nullable=True),
        sa.Column("accounted_by", sa.String(length=64), nullable=True),
        _at("departed_at", nullable=True),
        _at("return_booked_at", nullable=True),
        _at("ended_at", nullable=True),
        sa.Column("settled", sa.Boolean(), nullable=False),
        _at("updated_at"),
        sa.ForeignKeyConstraint(["departure_id"], ["post_departure.id"]),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("departure_id", "deployment_id"),
    )
    op.create_index("ix_departure_roll_call_departure_id", "departure_roll_call", ["departure_id"])
    op.create_table(
        "departure_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        _id("departure_id"),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        _at("occurred_at"),
        sa.ForeignKeyConstraint(["departure_id"], ["post_departure.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_departure_event_departure_id", "departure_event", ["departure_id"])


def downgrade() -> None:
    op.drop_table("departure_event")
    op.drop_table("departure_roll_call")
    op.drop_table("post_departure")
