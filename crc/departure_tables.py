"""The departures read-model: a post's departures, their roll-call (one row per member), and each
departure's append-only audit log. PostDepartureWorkflow's activities write them; the web reads."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crc.tables import UTCDateTime, utcnow


def _timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def _moment() -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


class PostDeparture(SQLModel, table=True):
    """An authorized or ordered departure of a post; its workflow is the source of truth."""

    __tablename__ = "post_departure"
    __table_args__ = (sa.Index("ix_post_departure_post_code_ordered_at", "post_code", "ordered_at"),)

    id: str = Field(primary_key=True, max_length=36)
    # post-departure-<code>-<n>: unique, so two orders of one post at once cannot both start.
    workflow_id: str = Field(max_length=80, unique=True)
    post_code: str = Field(foreign_key="post.code", max_length=16)
    kind: str = Field(max_length=16)  # crc.departures.DepartureKind
    reason: str = Field(sa_type=sa.Text)
    ordered_by: str = Field(max_length=64)
    status: str = Field(max_length=16, index=True)  # crc.departures.DepartureStatus
    ordered_at: datetime = _timestamp()
    ended_at: datetime | None = _moment()


class DepartureRollCall(SQLModel, table=True):
    """One member of a departure's roll-call: where they stand, accounted for, out."""

    __tablename__ = "departure_roll_call"
    __table_args__ = (sa.UniqueConstraint("departure_id", "deployment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    departure_id: str = Field(foreign_key="post_departure.id", index=True, max_length=36)
    deployment_id: str = Field(foreign_key="deployment.id", max_length=36)
    member_id: int
    member_name: str = Field(max_length=200)
    stage: str = Field(max_length=16)  # the deployment's stage when the departure was ordered
    standing: str = Field(max_length=16)  # crc.departures.Standing
    accounted_at: datetime | None = _moment()
    accounted_by: str | None = Field(default=None, max_length=64)
    departed_at: datetime | None = _moment()
    return_booked_at: datetime | None = _moment()
    ended_at: datetime | None = _moment()
    settled: bool = False
    updated_at: datetime = _timestamp()


class DepartureEvent(SQLModel, table=True):
    """One entry of a departure's append-only audit log; `key` makes a retried write a no-op."""

    __tablename__ = "departure_event"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    departure_id: str = Field(foreign_key="post_departure.id", index=True, max_length=36)
    kind: str = Field(max_length=48)
    actor: str = Field(max_length=64)
    message: str = Field(sa_type=sa.Text)
    data: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    occurred_at: datetime = _timestamp()
