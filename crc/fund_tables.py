"""Resource Management's money: fund sources per fiscal year, and the ledger of what each
deployment holds against its operation's fund (one row per deployment)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import crc.operation_tables  # noqa: F401 - a fund's foreign key names the operation table
from crc.tables import UTCDateTime, utcnow


def _money(**kwargs: Any) -> Any:
    return Field(sa_type=sa.Numeric(14, 2), **kwargs)


def _timestamp() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


class Fund(SQLModel, table=True):
    """A fund source of one fiscal year for an operation; its sums move only by single conditional
    UPDATEs (crc.funds), so racing approvals never overdraw it."""

    __table_args__ = (
        sa.UniqueConstraint("name", "fiscal_year"),
        sa.CheckConstraint("amount_usd > 0", name="ck_fund_amount_positive"),
    )

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    fiscal_year: int = Field(index=True)
    operation_id: str = Field(foreign_key="operation.id", index=True, max_length=36)
    amount_usd: Decimal = _money()
    obligated_usd: Decimal = _money(default=Decimal(0))  # approved estimates not yet spent
    spent_usd: Decimal = _money(default=Decimal(0))  # actual costs of completed deployments
    created_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()


class FundObligation(SQLModel, table=True):
    """What one deployment holds against a fund: obligated (its estimate), released (cancelled,
    rejected, expired, or sent back for a new approval) or spent (its actual cost)."""

    __tablename__ = "fund_obligation"

    deployment_id: str = Field(primary_key=True, foreign_key="deployment.id", max_length=36)
    fund_id: str = Field(foreign_key="fund.id", index=True, max_length=36)
    status: str = Field(max_length=16)  # crc.funds.ObligationStatus
    amount_usd: Decimal = _money()  # the estimate obligated (kept once released or spent)
    actual_usd: Decimal | None = _money(default=None)
    updated_at: datetime = _timestamp()
