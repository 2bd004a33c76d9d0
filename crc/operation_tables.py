"""The operations read-model: operations, their positions, the deployments that fill them, and
the operation's append-only audit log. OperationWorkflow's activities write them; the web reads."""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crc.tables import UTCDateTime, utcnow


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


def _timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


class Operation(SQLModel, table=True):
    """A country operation as the pages and API show it; its workflow is the source of truth."""

    __table_args__ = (sa.Index("ix_operation_created_at_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    workflow_id: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=200)
    post_codes: list[str] = _json_list()
    objective: str = Field(sa_type=sa.Text)
    lead: str = Field(max_length=64, index=True)  # the Planning user who leads it
    start_date: date
    end_date: date
    status: str = Field(max_length=16, index=True)  # crc.operations.OperationStatus
    note: str = Field(default="", max_length=500)  # a short sentence on the last change
    created_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class OperationPosition(SQLModel, table=True):
    """One line of an operation's staffing plan."""

    __tablename__ = "operation_position"

    id: str = Field(primary_key=True, max_length=36)
    operation_id: str = Field(foreign_key="operation.id", index=True, max_length=36)
    post_code: str = Field(foreign_key="post.code", max_length=16)
    sector: str = Field(max_length=64)
    role_title: str = Field(max_length=200)
    languages: list[str] = _json_list()
    component: str = Field(max_length=16)  # active, standby or any
    start_date: date
    duration_days: int
    count: int
    cut: bool = False  # removed from the plan (kept: its deployments still point here)
    created_at: datetime = _timestamp()


class OperationDeployment(SQLModel, table=True):
    """A deployment started by filling a position (one operation and position per deployment)."""

    __tablename__ = "operation_deployment"

    deployment_id: str = Field(primary_key=True, foreign_key="deployment.id", max_length=36)
    operation_id: str = Field(foreign_key="operation.id", index=True, max_length=36)
    position_id: str = Field(foreign_key="operation_position.id", index=True, max_length=36)


class OperationEvent(SQLModel, table=True):
    """One entry of an operation's append-only audit log; `key` makes a retried write a no-op."""

    __tablename__ = "operation_event"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    operation_id: str = Field(foreign_key="operation.id", index=True, max_length=36)
    kind: str = Field(max_length=48)
    actor: str = Field(max_length=64)
    message: str = Field(sa_type=sa.Text)
    data: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    occurred_at: datetime = _timestamp()
