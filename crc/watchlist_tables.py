"""The watchlist read-model: countries Conflict Prevention watches, each one's append-only risk
history, and the contingency plans (draft operations) kept ready for them; beside them, the
append-only log of posts' threat-level changes. The web writes them."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crc.tables import UTCDateTime, utcnow


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


def _timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


class WatchlistCountry(SQLModel, table=True):
    """A country on the watchlist with its current risk level (its latest assessment's)."""

    __tablename__ = "watchlist_country"

    code: str = Field(primary_key=True, max_length=2)  # ISO 3166-1 alpha-2, upper case
    name: str = Field(max_length=100)
    risk_level: str = Field(max_length=16, index=True)  # crc.watchlist.RiskLevel
    created_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class WatchlistEntry(SQLModel, table=True):
    """One assessment of a country's risk, never changed once written (its history)."""

    __tablename__ = "watchlist_entry"
    __table_args__ = (sa.Index("ix_watchlist_entry_country_id", "country_code", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    country_code: str = Field(foreign_key="watchlist_country.code", max_length=2)
    risk_level: str = Field(max_length=16)
    note: str = Field(sa_type=sa.Text)
    sources: list[dict[str, str]] = _json_list()  # each {"title", "url"}
    assessed_by: str = Field(max_length=64)
    assessed_at: datetime = _timestamp()


class ContingencyPlan(SQLModel, table=True):
    """A draft operation kept ready for a watched country; activating it starts the operation."""

    __tablename__ = "contingency_plan"
    __table_args__ = (sa.Index("ix_contingency_plan_country_created", "country_code", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    country_code: str = Field(foreign_key="watchlist_country.code", max_length=2)
    name: str = Field(max_length=200)
    post_codes: list[str] = _json_list()
    objective: str = Field(sa_type=sa.Text)
    start_date: date
    end_date: date
    positions: list[dict[str, Any]] = _json_list()  # crc.operations.PositionFields, as JSON
    status: str = Field(max_length=16)  # crc.watchlist.PlanStatus
    created_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    activated_by: str | None = Field(default=None, max_length=64)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    operation_id: str | None = Field(default=None, foreign_key="operation.id", max_length=36)


class PostThreatChange(SQLModel, table=True):
    """One change of a post's threat level (and the rules changed with it), never changed once
    written; `id` is the key the deployments' workflows open their tasks under."""

    __tablename__ = "post_threat_change"
    __table_args__ = (sa.Index("ix_post_threat_change_post_changed", "post_code", "changed_at"),)

    id: str = Field(primary_key=True, max_length=36)
    post_code: str = Field(foreign_key="post.code", max_length=16)
    previous: str = Field(max_length=16)
    threat_level: str = Field(max_length=16)
    clearance_before: str = Field(max_length=32)
    clearance_after: str = Field(max_length=32)
    danger_pay_before: Decimal = Field(sa_type=sa.Numeric(5, 2))
    danger_pay_after: Decimal = Field(sa_type=sa.Numeric(5, 2))
    reason: str = Field(sa_type=sa.Text)
    changed_by: str = Field(max_length=64)
    changed_at: datetime = _timestamp()
    deployments_told: int = 0  # open deployments at the post sent the change
