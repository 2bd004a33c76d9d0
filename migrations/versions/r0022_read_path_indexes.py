"""Indexes for the read paths at scale: open tasks by role and due time, deployed by post,
certificates by expiry.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 03:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The inbox and the task API: open tasks of a role, soonest due first.
    op.create_index(
        "ix_task_status_role_due_at",
        "task",
        ["status", "role", "due_at", "created_at", "id", "kind", "stage", "deployment_id"],
        unique=False,
    )
    # The dashboard: who is in country, by post (an index-only count).
    op.create_index("ix_deployment_stage_post_code", "deployment", ["stage", "post_code"], unique=False)
    # The dashboard: certificates expiring within 90 days.
    op.create_index("ix_certificate_expires_on", "certificate", ["expires_on"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_certificate_expires_on", table_name="certificate")
    op.drop_index("ix_deployment_stage_post_code", table_name="deployment")
    op.drop_index("ix_task_status_role_due_at", table_name="task")
