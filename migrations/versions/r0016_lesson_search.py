"""Full-text search over after-action reports: an FTS5 table on SQLite, a GIN index on PostgreSQL.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 18:30:00
"""

from collections.abc import Sequence

from alembic import op

from crc.lesson_index import SQLITE_FILL, statements

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for ddl in statements(dialect):
        op.execute(ddl)
    # PostgreSQL's index takes in the existing reports as it is built; SQLite's table is filled.
    if dialect == "sqlite":
        op.execute(SQLITE_FILL)


def downgrade() -> None:
    for ddl in statements(op.get_bind().dialect.name, drop=True):
        op.execute(ddl)
