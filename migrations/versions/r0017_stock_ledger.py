"""The stock ledger: every change to a depot's stock, with the opening balances of existing stock.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("received", "moved_out", "moved_in", "written_off", "reserved", "released", "issued", "returned")


def upgrade() -> None:
    op.create_table(
        "stock_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("depot", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity <> 0", name="movement_not_zero"),
        sa.CheckConstraint("kind IN ({})".format(", ".join(f"'{k}'" for k in KINDS)), name="movement_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stock_movement_depot_sku_id", "stock_movement", ["depot", "sku", "id"], unique=False)
    # Stock already held becomes its opening balance, so the ledger sums to every balance from the start.
    op.execute(
        sa.text(
            "INSERT INTO stock_movement (depot, sku, quantity, kind, reference, note, actor, occurred_at) "
            "SELECT depot, sku, quantity, 'received', '', 'opening balance', 'migration', CURRENT_TIMESTAMP "
            "FROM stockitem WHERE quantity > 0"
        )
    )


def downgrade() -> None:
    op.drop_index("ix_stock_movement_depot_sku_id", table_name="stock_movement")
    op.drop_table("stock_movement")
