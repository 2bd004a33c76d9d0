"""Scoped roles: a user's scopes, and the member's agency (as requested) on each deployment.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing users hold every role unscoped ("all"), as before.
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=False, server_default="{}"))

    with op.batch_alter_table("deployment") as batch:
        batch.add_column(
            sa.Column(
                "member_agency",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
        batch.create_index(batch.f("ix_deployment_member_agency"), ["member_agency"], unique=False)
    # The best the database knows of the agency each workflow was started with: the member's
    # agency today (the two differ only where an admin has since moved the member).
    deployment = sa.table(
        "deployment", sa.column("member_id", sa.Integer), sa.column("member_agency", sa.String)
    )
    member = sa.table("member", sa.column("id", sa.Integer), sa.column("agency", sa.String))
    op.execute(
        deployment.update().values(
            member_agency=sa.select(member.c.agency)
            .where(member.c.id == deployment.c.member_id)
            .scalar_subquery()
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("deployment") as batch:
        batch.drop_index(batch.f("ix_deployment_member_agency"))
        batch.drop_column("member_agency")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("scopes")
