"""Watchlist: the countries Conflict Prevention watches, their append-only risk history, the
contingency plans kept ready for them, and the log of posts' threat-level changes.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, crc.tables.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "watchlist_country",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_watchlist_country_risk_level", "watchlist_country", ["risk_level"])
    op.create_table(
        "watchlist_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("assessed_by", sa.String(length=64), nullable=False),
        _at("assessed_at"),
        sa.ForeignKeyConstraint(["country_code"], ["watchlist_country.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_watchlist_entry_country_id", "watchlist_entry", ["country_code", "id"])
    op.create_table(
        "contingency_plan",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("post_codes", sa.JSON(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("positions", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _at("created_at"),
        sa.Column("activated_by", sa.String(length=64), nullable=True),
        _at("activated_at", nullable=True),
        sa.Column("operation_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["country_code"], ["watchlist_country.code"]),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contingency_plan_country_created", "contingency_plan", ["country_code", "created_at"])
    op.create_table(
        "post_threat_change",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("post_code", sa.String(length=16), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=False),
        sa.Column("threat_level", sa.String(length=16), nullable=False),
        sa.Column("clearance_before", sa.String(length=32), nullable=False),
        sa.Column("clearance_after", sa.String(length=32), nullable=False),
        sa.Column("danger_pay_before", sa.Numeric(5, 2), nullable=False),
        sa.Column("danger_pay_after", sa.Numeric(5, 2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        _at("changed_at"),
        sa.Column("deployments_told", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["post_code"], ["post.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_post_threat_change_post_changed", "post_threat_change", ["post_code", "changed_at"])


def downgrade() -> None:
    op.drop_table("post_threat_change")
    op.drop_table("contingency_plan")
    op.drop_table("watchlist_entry")
    op.drop_table("watchlist_country")
