"""SQLModel tables the lifecycle activities write: seats, kit, bookings, clearance, documents.

Each row has a unique business key (deployment and course, deployment and SKU, ...), so a
retried activity finds what it wrote before instead of writing it twice.
"""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crc.tables import UTCDateTime, utcnow


def _timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def _deployment_fk(**kwargs: Any) -> Any:
    return Field(foreign_key="deployment.id", max_length=36, **kwargs)


class Enrolment(SQLModel, table=True):
    """A deployment's seat in one course session; `attempt` 2 is the retake of a failed course."""

    __table_args__ = (sa.UniqueConstraint("deployment_id", "course_code", "attempt", name="uq_enrolment"),)

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: str = _deployment_fk()  # leads the unique key, which indexes it
    course_code: str = Field(foreign_key="course.code", max_length=32)
    attempt: int = 1
    session_id: int = Field(foreign_key="coursesession.id", index=True)
    status: str = Field(default="enrolled", max_length=16)  # enrolled, passed, failed, released
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class KitReservation(SQLModel, table=True):
    """Kit taken from a depot's stock for a deployment, until it comes back or is lost."""

    __table_args__ = (sa.UniqueConstraint("deployment_id", "sku", name="uq_kit_reservation"),)

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: str = _deployment_fk()  # leads the unique key, which indexes it
    sku: str = Field(max_length=32)
    name: str = Field(default="", max_length=200)
    depot: str = Field(max_length=64)
    quantity: int
    status: str = Field(default="reserved", max_length=16)  # reserved, returned, missing
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Booking(SQLModel, table=True):
    """A journey booked for a deployment, one per direction (outbound, return)."""

    __table_args__ = (sa.UniqueConstraint("deployment_id", "direction", name="uq_booking_direction"),)

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: str = _deployment_fk()  # leads the unique key, which indexes it
    direction: str = Field(max_length=16)  # outbound, return
    reference: str = Field(max_length=32)
    travel_date: date
    origin: str = Field(max_length=100)
    destination: str = Field(max_length=100)
    status: str = Field(default="booked", max_length=16)  # booked, cancelled
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class CountryClearance(SQLModel, table=True):
    """The receiving post's electronic country clearance for a deployment's arrival."""

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: str = _deployment_fk(unique=True)
    post_code: str = Field(foreign_key="post.code", max_length=16)
    status: str = Field(max_length=16)  # requested, approved, cancelled
    urgent: bool = False
    arrival_date: date
    updated_at: datetime = _timestamp()


TRAVEL_ORDERS = "travel_orders"  # the Document kind of a deployment's travel orders


class Document(SQLModel, table=True):
    """A document the deployment page links to, e.g. the travel orders (one of each kind)."""

    __table_args__ = (sa.UniqueConstraint("deployment_id", "kind", name="uq_document_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: str = _deployment_fk()  # leads the unique key, which indexes it
    kind: str = Field(max_length=32)  # travel_orders
    title: str = Field(max_length=200)
    content_type: str = Field(default="text/html; charset=utf-8", max_length=64)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = _timestamp()


class CheckIn(SQLModel, table=True):
    """A deployed member's check-in; the first one is the arrival."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    deployment_id: str = _deployment_fk(index=True)
    member_id: int = Field(foreign_key="member.id")
    by_user: str = Field(max_length=64)
    status: str = Field(max_length=16)  # ok, needs_help
    location: str = Field(default="", max_length=200)
    note: str = Field(default="", sa_type=sa.Text)
    arrival: bool = False
    at: datetime = Field(sa_type=UTCDateTime, index=True)
