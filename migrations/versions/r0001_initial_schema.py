"""Initial schema: roster, posts, training, stock, users and the deployment read-model.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 12:54:22.526976
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crc.tables

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "course",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("validity_months", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("component", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("clearance_level", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("clearance_expires", sa.Date(), nullable=True),
        sa.Column("medical_expires", sa.Date(), nullable=True),
        sa.Column("passport_expires", sa.Date(), nullable=True),
        sa.Column("annual_salary_usd", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_member_agency"), "member", ["agency"], unique=False)
    op.create_index(op.f("ix_member_component"), "member", ["component"], unique=False)
    op.create_index(op.f("ix_member_name"), "member", ["name"], unique=False)

    op.create_table(
        "post",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("threat_level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("clearance_required", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("per_diem_usd", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("danger_pay_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("post_differential_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("visa_required", sa.Boolean(), nullable=False),
        sa.Column("clearance_lead_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "stockitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("depot", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("depot", "sku"),
    )
    op.create_index(op.f("ix_stockitem_sku"), "stockitem", ["sku"], unique=False)

    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("course_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_code"],
            ["course.code"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_certificate_member_id"), "certificate", ["member_id"], unique=False)

    op.create_table(
        "coursesession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= seats", name="seats_bounds"),
        sa.ForeignKeyConstraint(
            ["course_code"],
            ["course.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_coursesession_course_code"), "coursesession", ["course_code"], unique=False)
    op.create_index(op.f("ix_coursesession_starts_on"), "coursesession", ["starts_on"], unique=False)

    op.create_table(
        "deployment",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("post_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role_title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("urgent_justification", sa.Text(), nullable=True),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("cost_estimate_usd", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("cost_actual_usd", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["post_code"],
            ["post.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("requested_by", "idempotency_key", name="uq_request_idempotency"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index(op.f("ix_deployment_end_date"), "deployment", ["end_date"], unique=False)
    op.create_index(op.f("ix_deployment_member_id"), "deployment", ["member_id"], unique=False)
    op.create_index(op.f("ix_deployment_post_code"), "deployment", ["post_code"], unique=False)
    op.create_index(op.f("ix_deployment_requested_by"), "deployment", ["requested_by"], unique=False)
    op.create_index(op.f("ix_deployment_stage"), "deployment", ["stage"], unique=False)
    op.create_index(op.f("ix_deployment_start_date"), "deployment", ["start_date"], unique=False)
    op.create_index(op.f("ix_deployment_updated_at"), "deployment", ["updated_at"], unique=False)

    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_user_username"), "user", ["username"], unique=True)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("deployment_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("occurred_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_event_deployment_id"), "event", ["deployment_id"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("deployment_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_notification_deployment_id"), "notification", ["deployment_id"], unique=False)
    op.create_index(op.f("ix_notification_role"), "notification", ["role"], unique=False)

    op.create_table(
        "task",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("deployment_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("due_at", crc.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", crc.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("completed_at", crc.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_task_deployment_id"), "task", ["deployment_id"], unique=False)
    op.create_index(op.f("ix_task_due_at"), "task", ["due_at"], unique=False)
    op.create_index(op.f("ix_task_kind"), "task", ["kind"], unique=False)
    op.create_index(op.f("ix_task_role"), "task", ["role"], unique=False)
    op.create_index(op.f("ix_task_status"), "task", ["status"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; children before parents.
    op.drop_table("task")
    op.drop_table("notification")
    op.drop_table("event")
    op.drop_table("user")
    op.drop_table("deployment")
    op.drop_table("coursesession")
    op.drop_table("certificate")
    op.drop_table("stockitem")
    op.drop_table("post")
    op.drop_table("member")
    op.drop_table("course")
