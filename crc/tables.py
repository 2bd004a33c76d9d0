"""SQLModel tables: the roster, posts, training, stock, users and the deployment read-model."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crc.lesson_index import attach as attach_lesson_index
from crc.stage_counts import attach as attach_stage_counts


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and reads them back aware, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


def _timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def _money() -> Any:
    return Field(default=Decimal(0), sa_type=sa.Numeric(12, 2))


# --- People -----------------------------------------------------------------------------------


class User(SQLModel, table=True):
    """Someone who signs in; roles decide what they may see and do."""

    # A roster member has at most one login (many users may have none: NULLs never collide).
    __table_args__ = (sa.Index("uq_user_member_id", "member_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)
    roles: list[str] = _json_list()
    # A scoped role (crc.roles.SCOPED_ROLES) → the post codes, agencies or offices it covers;
    # a role not named here covers all of them.
    scopes: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False, server_default="{}")
    )
    member_id: int | None = Field(default=None, foreign_key="member.id")
    is_active: bool = True
    created_at: datetime = _timestamp()
    # API tokens issued before this are void: set by a password change, disabling the user and
    # "sign out everywhere" (crc.accounts), so a token outlives none of them.
    tokens_valid_after: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    """A roster member of the Civilian Response Corps."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    email: str = Field(default="", max_length=200)
    agency: str = Field(max_length=64, index=True)
    component: str = Field(max_length=16, index=True)  # crc.domain.Component
    sectors: list[str] = _json_list()
    languages: list[str] = _json_list()
    # Proficiency per language in `languages` (ILR 0-5, crc.domain.LANGUAGE_LEVELS); a language
    # without an entry has no recorded level.
    language_levels: dict[str, int] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False, server_default="{}")
    )
    clearance_level: str = Field(max_length=32)  # crc.domain.ClearanceLevel
    clearance_granted: date | None = None
    clearance_expires: date | None = None
    medical_expires: date | None = None
    passport_expires: date | None = None
    annual_salary_usd: Decimal = Field(default=Decimal(0), sa_type=sa.Numeric(12, 2))
    # Retired, not deleted: deployments and certificates keep pointing here, but from this day
    # the member is hidden from the roster's searches and cannot be requested.
    retired_on: date | None = Field(default=None, index=True)


class AvailabilityWindow(SQLModel, table=True):
    """Days a member is away from the roster: leave or other duties (crc.domain.WindowKind)."""

    __table_args__ = (sa.CheckConstraint("starts_on <= ends_on", name="window_dates_in_order"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str = Field(max_length=16)
    starts_on: date
    ends_on: date
    note: str = Field(default="", max_length=500)


class Certificate(SQLModel, table=True):
    """A training certificate a member holds, valid until it expires: one per member and course."""

    # One row per member and course, so a retried or racing record_certificate refreshes it
    # (INSERT ... ON CONFLICT) instead of adding a second.
    __table_args__ = (
        sa.Index("uq_certificate_member_course", "member_id", "course_code", unique=True),
        # The dashboard counts the certificates expiring soon.
        sa.Index("ix_certificate_expires_on", "expires_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    course_code: str = Field(foreign_key="course.code", max_length=32)
    issued_on: date
    expires_on: date | None = None


# --- Places, training and kit -----------------------------------------------------------------


class Post(SQLModel, table=True):
    """A receiving post abroad and the rules for deploying there."""

    code: str = Field(primary_key=True, max_length=16)
    country: str = Field(max_length=100)
    city: str = Field(default="", max_length=100)
    threat_level: str = Field(max_length=16)  # crc.domain.ThreatLevel
    clearance_required: str = Field(max_length=32)  # crc.domain.ClearanceLevel
    per_diem_usd: Decimal = _money()
    danger_pay_pct: Decimal = Field(default=Decimal(0), sa_type=sa.Numeric(5, 2))
    post_differential_pct: Decimal = Field(default=Decimal(0), sa_type=sa.Numeric(5, 2))
    visa_required: bool = False
    clearance_lead_days: int = 10


class Course(SQLModel, table=True):
    """A course members take before deploying; its certificate lasts validity_months."""

    code: str = Field(primary_key=True, max_length=32)
    title: str = Field(max_length=200)
    days: int
    validity_months: int | None = None  # None: never expires


class CourseSession(SQLModel, table=True):
    """One scheduled run of a course with a fixed number of seats."""

    __table_args__ = (sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= seats", name="seats_bounds"),)

    id: int | None = Field(default=None, primary_key=True)
    course_code: str = Field(foreign_key="course.code", max_length=32, index=True)
    location: str = Field(default="", max_length=100)
    starts_on: date = Field(index=True)
    ends_on: date
    seats: int
    seats_taken: int = 0


class StockItem(SQLModel, table=True):
    """Kit held in a depot; quantity can never go below zero."""

    __table_args__ = (
        sa.UniqueConstraint("depot", "sku"),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    depot: str = Field(max_length=64)
    sku: str = Field(max_length=32, index=True)
    name: str = Field(max_length=200)
    quantity: int = 0


# Every way stock changes; crc.stock says what each does to a depot's balance.
STOCK_MOVEMENT_KINDS = (
    "received",
    "moved_out",
    "moved_in",
    "written_off",
    "reserved",
    "released",
    "issued",
    "returned",
)


class StockMovement(SQLModel, table=True):
    """One change to a depot's stock of a SKU; rows are only added, and their sum is the balance."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        sa.CheckConstraint("quantity <> 0", name="movement_not_zero"),
        sa.CheckConstraint(
            "kind IN ({})".format(", ".join(f"'{k}'" for k in STOCK_MOVEMENT_KINDS)), name="movement_kind"
        ),
        # An item's history, newest first, and the sum that must equal its balance.
        sa.Index("ix_stock_movement_depot_sku_id", "depot", "sku", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    depot: str = Field(max_length=64)
    sku: str = Field(max_length=32)
    quantity: int  # the change: + into the depot's available stock, - out of it
    kind: str = Field(max_length=16)
    # A deployment id, or the id a move's two rows share.
    reference: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=500)
    actor: str = Field(max_length=64)
    occurred_at: datetime = _timestamp()


# --- The deployment read-model ----------------------------------------------------------------


class Deployment(SQLModel, table=True):
    """A deployment as the pages and API show it; the workflow is the source of truth."""

    __table_args__ = (
        sa.UniqueConstraint("requested_by", "idempotency_key", name="uq_request_idempotency"),
        # The deployments list pages newest first, in all or within one stage.
        sa.Index("ix_deployment_created_at_id", "created_at", "id"),
        sa.Index("ix_deployment_stage_created_at_id", "stage", "created_at", "id"),
        # The dashboard counts who is in country by post from the index alone.
        sa.Index("ix_deployment_stage_post_code", "stage", "post_code"),
    )

    id: str = Field(primary_key=True, max_length=36)
    workflow_id: str = Field(max_length=80, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    # The member's agency when requested, as the workflow's request has it: whose home-agency
    # officers may release the member (crc.permissions), even if the roster changes later.
    member_agency: str = Field(default="", max_length=64, index=True, sa_column_kwargs={"server_default": ""})
    post_code: str = Field(foreign_key="post.code", max_length=16, index=True)
    sector: str = Field(max_length=64)
    role_title: str = Field(max_length=200)
    start_date: date = Field(index=True)
    end_date: date = Field(index=True)
    duration_days: int
    justification: str = Field(sa_type=sa.Text)
    urgent_justification: str | None = Field(default=None, sa_type=sa.Text)
    stage: str = Field(max_length=16, index=True)  # crc.stages.Stage
    status: str = Field(default="", max_length=200)  # a short sentence on what it waits for
    # Machine-readable progress (crc.types.Progress), written by the workflow with the status.
    waiting_for: str = Field(  # crc.progress.WaitingFor
        default="workflow", max_length=32, sa_column_kwargs={"server_default": "workflow"}
    )
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Approved end (end_date) includes extension_days; the actual days in country are
    # arrived_on to left_on. The arrival check-in is accepted from arrival_opens_on.
    extension_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    arrival_opens_on: date | None = None
    arrived_on: date | None = None
    left_on: date | None = None
    # Actions (crc.progress.Action) closed now, with why; crc.permissions decides the open ones.
    closed_actions: dict[str, str] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False, server_default="{}")
    )
    requested_by: str = Field(max_length=64, index=True)
    idempotency_key: str | None = Field(default=None, max_length=200)
    revision: int = 1  # bumped by each amendment after "request changes"
    cost_estimate_usd: Decimal | None = Field(default=None, sa_type=sa.Numeric(12, 2))
    cost_actual_usd: Decimal | None = Field(default=None, sa_type=sa.Numeric(12, 2))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp(index=True)


# The counts by stage and post are kept with the deployment table (crc.stage_counts).
attach_stage_counts(Deployment.__table__)  # type: ignore[attr-defined]


class Task(SQLModel, table=True):
    """A human step a workflow waits for: who may do it, the outcomes, and when it is due."""

    # The inbox and the task API read open tasks of a role, soonest due first; the other columns
    # let the counts and the choice of a page come from the index alone.
    __table_args__ = (
        sa.Index(
            "ix_task_status_role_due_at",
            *("status", "role", "due_at", "created_at", "id", "kind", "stage", "deployment_id"),
        ),
        # The dashboard: overdue open tasks by office, and who needs help, longest waiting first.
        sa.Index("ix_task_status_due_at_role", "status", "due_at", "role"),
        sa.Index("ix_task_kind_status_created_at", "kind", "status", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    deployment_id: str = Field(foreign_key="deployment.id", index=True, max_length=36)
    kind: str = Field(max_length=32, index=True)
    stage: str = Field(max_length=16)
    role: str = Field(max_length=32, index=True)
    title: str = Field(max_length=200)
    outcomes: list[str] = _json_list()
    status: str = Field(default="open", max_length=16, index=True)  # open, completed, cancelled
    outcome: str | None = Field(default=None, max_length=32)
    comment: str | None = Field(default=None, sa_type=sa.Text)
    data: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    escalated: bool = False
    opens_on: date | None = None  # no outcome before this day (crc.permissions.check_decision)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = _timestamp()
    completed_by: str | None = Field(default=None, max_length=64)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A decision the workflow holds in its undo window: who took it, which, until when.
    held_by: str | None = Field(default=None, max_length=64)
    held_outcome: str | None = Field(default=None, max_length=32)
    held_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The after-action reports' full-text index is built with the task table (crc.lesson_index).
attach_lesson_index(Task.__table__)  # type: ignore[attr-defined]


class Event(SQLModel, table=True):
    """One entry of the append-only audit log; `key` makes a retried write a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    deployment_id: str = Field(foreign_key="deployment.id", index=True, max_length=36)
    kind: str = Field(max_length=48)
    stage: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    message: str = Field(sa_type=sa.Text)
    comment: str | None = Field(default=None, sa_type=sa.Text)
    data: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    occurred_at: datetime = _timestamp()


class Notification(SQLModel, table=True):
    """One message to one user (crc.notifications); `key` makes a retried fan-out write it once."""

    __table_args__ = (
        # The bell's unread count and the newest-first list of one user.
        sa.Index("ix_notification_username_read_at", "username", "read_at"),
        sa.Index("ix_notification_username_created_at_id", "username", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=240, unique=True)  # the source event's key and the recipient
    username: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # crc.notifications.NotificationKind
    subject: str = Field(max_length=300)
    link: str = Field(max_length=300)  # a path of the web app, e.g. /deployments/<id>
    deployment_id: str | None = Field(default=None, foreign_key="deployment.id", index=True, max_length=36)
    task_id: str | None = Field(default=None, max_length=36)
    # Sent at once whatever the user chose (call-ups, needs help, no-show, escalations).
    urgent: bool = False
    created_at: datetime = _timestamp()
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    emailed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationPreference(SQLModel, table=True):
    """How a user wants one kind of notification delivered; a kind not listed has its default."""

    __tablename__ = "notification_preference"

    username: str = Field(primary_key=True, max_length=64)
    kind: str = Field(primary_key=True, max_length=32)  # crc.notifications.NotificationKind
    delivery: str = Field(max_length=16)  # crc.notifications.Delivery


class WebhookSubscription(SQLModel, table=True):
    """An API client's endpoint for events (crc.webhooks); deleting one only deactivates it, so
    its delivery log stays."""

    __tablename__ = "webhook_subscription"

    id: str = Field(primary_key=True, max_length=40)  # "wh_" and random characters
    owner: str = Field(max_length=64, index=True)  # the username that subscribed
    url: str = Field(max_length=2000)
    events: list[str] = _json_list()  # crc.webhooks.WebhookEvent values
    secret: str = Field(max_length=100)  # "whsec_" and base64; shown once, at creation
    created_at: datetime = _timestamp()
    active: bool = True


class WebhookDelivery(SQLModel, table=True):
    """One message to one subscription, with every attempt's outcome; a retried fan-out finds
    its (subscription, source event, type) row and enqueues nothing twice."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_key", "type", name="uq_webhook_delivery_source"),
        # The delivery log of one subscription, newest first.
        sa.Index("ix_webhook_delivery_subscription_created", "subscription_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    msg_id: str = Field(max_length=40, unique=True)  # the webhook-id header, the same on every retry
    subscription_id: str = Field(foreign_key="webhook_subscription.id", max_length=40)
    event_key: str = Field(max_length=240)  # the source event's key (and task id, for task events)
    type: str = Field(max_length=40)
    payload: str = Field(sa_type=sa.Text)  # the JSON body exactly as signed and sent
    status: str = Field(default="pending", max_length=16)  # pending, delivered or failed
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _timestamp()
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- Inbox coordination (web-owned) -----------------------------------------------------------


class TaskClaim(SQLModel, table=True):
    """An officer's claim on an open task, so two officers of one office don't work it twice.

    Inbox coordination only: the workflow never reads it. Deleted on unclaim; from `expires_at`
    on it holds nothing (web.services.claims), so a forgotten claim cannot block the task.
    """

    task_id: str = Field(primary_key=True, foreign_key="task.id", max_length=36)
    username: str = Field(max_length=64, index=True)
    claimed_at: datetime = _timestamp()
    expires_at: datetime = Field(sa_type=UTCDateTime)


class HealthCheck(SQLModel, table=True):
    """One row that /healthz writes, to know the database takes writes (not only reads)."""

    id: int = Field(default=1, primary_key=True)
    checked_at: datetime = _timestamp()


class IdempotentResponse(SQLModel, table=True):
    """The first answer to an API request sent with an Idempotency-Key, replayed to its retries.

    Written by web.idempotency: `status_code` is None while the first request is in progress.
    """

    __table_args__ = (sa.UniqueConstraint("username", "key", name="uq_idempotent_response"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    key: str = Field(max_length=200)
    method_path: str = Field(sa_type=sa.Text)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    body: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _timestamp(index=True)


class SavedFilter(SQLModel, table=True):
    """An inbox filter a user named, kept as its URL query so it can be shared as a link."""

    __table_args__ = (sa.UniqueConstraint("username", "name", name="uq_saved_filter_name"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    name: str = Field(max_length=60)
    query: str = Field(max_length=1000)
    created_at: datetime = _timestamp()


class OutOfOffice(SQLModel, table=True):
    """A user's out-of-office period: tasks offered to them are offered to their delegate too."""

    __tablename__ = "out_of_office"

    username: str = Field(primary_key=True, max_length=64)  # the absent user; one period each
    delegate: str = Field(max_length=64, index=True)
    starts_on: date
    ends_on: date  # the last day away
    # The deciding roles handed over; the delegate holds each of them.
    roles: list[str] = _json_list()
    created_at: datetime = _timestamp()


class DigestSent(SQLModel, table=True):
    """A daily digest emailed to a user: one row per user and day, so a retried run sends none twice."""

    __tablename__ = "digest_sent"

    username: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)  # the UTC day the digest is for
    sent_at: datetime = _timestamp()
    tasks: int = 0  # how many open tasks it listed
    notifications: int = 0  # how many notifications it listed


class LiveChange(SQLModel, table=True):
    """One read-model write, told to every web process's open pages (crc.live); kept an hour."""

    __tablename__ = "live_change"

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: str = Field(max_length=36)
    # What the write changed: "stage", "tasks", "notifications" (crc.live.What).
    what: list[str] = _json_list()
    # Whose bell changed (the notifications stored with the write); None when nobody's did.
    usernames: list[str] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    task_ids: list[str] = _json_list()  # tasks opened, closed, held or escalated by the write
    created_at: datetime = _timestamp()
