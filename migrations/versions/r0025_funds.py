"""Funds: fund sources per fiscal year for an operation, and each deployment's obligation.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=36), nullable=False)


def _money(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(precision=14, scale=2), nullable=nullable)


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, crc.tables.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "fund",
        _id("id"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        _id("operation_id"),
        _money("amount_usd"),
        _money("obligated_usd"),
        _money("spent_usd"),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("amount_usd > 0", name="ck_fund_amount_positive"),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "fiscal_year"),
    )
    op.create_index("ix_fund_fiscal_year", "fund", ["fiscal_year"])
    op.create_index("ix_fund_operation_id", "fund", ["operation_id"])
    op.create_table(
        "fund_obligation",
        _id("deployment_id"),
        _id("fund_id"),
        sa.Column("status", sa.String(length=16), nullable=False),
        _money("amount_usd"),
        _money("actual_usd", nullable=True),
        _at("updated_at"),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"]),
        sa.ForeignKeyConstraint(["fund_id"], ["fund.id"]),
        sa.PrimaryKeyConstraint("deployment_id"),
    )
    op.create_index("ix_fund_obligation_fund_id", "fund_obligation", ["fund_id"])


def downgrade() -> None:
    op.drop_table("fund_obligation")
    op.drop_table("fund")
