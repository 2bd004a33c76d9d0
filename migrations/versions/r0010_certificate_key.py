"""One certificate per member and course; stored answers for Idempotency-Key retries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crc.tables

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Of each member's certificates for one course, keep the one valid longest (one that never
# expires first), then the one issued last: what record_certificate would have kept.
_DROP_DUPLICATE_CERTIFICATES = """
DELETE FROM certificate WHERE id IN (
    SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (
            PARTITION BY member_id, course_code
            ORDER BY CASE WHEN expires_on IS NULL THEN 0 ELSE 1 END,
                     expires_on DESC, issued_on DESC, id DESC
        ) AS rank
        FROM certificate
    ) AS ranked
    WHERE rank > 1
)
"""


def upgrade() -> None:
    op.execute(_DROP_DUPLICATE_CERTIFICATES)
    op.create_index("uq_certificate_member_course", "certificate", ["member_id", "course_code"], unique=True)
    op.create_table(
        "idempotentresponse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method_path", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username", "key", name="uq_idempotent_response"),
    )
    op.create_index(
        op.f("ix_idempotentresponse_created_at"), "idempotentresponse", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotentresponse_created_at"), table_name="idempotentresponse")
    op.drop_table("idempotentresponse")
    op.drop_index("uq_certificate_member_course", table_name="certificate")
