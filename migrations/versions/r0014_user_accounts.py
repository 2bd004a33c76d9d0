"""User accounts for admins: users' email, the user audit and one-time set-password links.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crc.tables

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = crc.tables.UTCDateTime(timezone=True)


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("email", _text(200), nullable=False, server_default=""))
        batch.create_index("uq_user_member_id", ["member_id"], unique=True)
    op.create_table(
        "user_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", _text(64), nullable=False),
        sa.Column("action", _text(40), nullable=False),
        sa.Column("target", _text(64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_user_audit_at"), "user_audit", ["at"], unique=False)
    op.create_index(op.f("ix_user_audit_target"), "user_audit", ["target"], unique=False)
    op.create_table(
        "password_link",
        sa.Column("token_hash", _text(64), nullable=False),
        sa.Column("username", _text(64), nullable=False),
        sa.Column("issued_by", _text(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("used_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_password_link_username"), "password_link", ["username"], unique=False)


def downgrade() -> None:
    op.drop_table("password_link")
    op.drop_table("user_audit")
    with op.batch_alter_table("user") as batch:
        batch.drop_index("uq_user_member_id")
        batch.drop_column("email")
