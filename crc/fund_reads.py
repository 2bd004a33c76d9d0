"""Reads of the funds ledger that the activities and the web share: which fund a deployment
draws on, and what a fund has left."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.fund_tables import Fund, FundObligation
from crc.funds import ObligationStatus, fiscal_year_of, overdrawn_message
from crc.operation_tables import OperationDeployment
from crc.tables import Deployment


def remaining_of(fund: Fund) -> Decimal:
    """What the fund has left to obligate."""
    return fund.amount_usd - fund.obligated_usd - fund.spent_usd


async def fund_for(session: AsyncSession, deployment_id: str) -> Fund | None:
    """The fund a deployment draws on: its operation's fund for the fiscal year it starts in, else
    the operation's latest; None outside an operation or for an operation without a fund."""
    query = (
        select(Fund, col(Deployment.start_date))
        .join(OperationDeployment, col(OperationDeployment.operation_id) == col(Fund.operation_id))
        .join(Deployment, col(Deployment.id) == col(OperationDeployment.deployment_id))
        .where(col(OperationDeployment.deployment_id) == deployment_id)
        .order_by(col(Fund.fiscal_year).desc(), col(Fund.created_at), col(Fund.id))
    )
    rows = (await session.exec(query)).all()
    if not rows:
        return None
    start: date = rows[0][1]
    same_year = [fund for fund, _ in rows if fund.fiscal_year == fiscal_year_of(start)]
    return same_year[0] if same_year else rows[0][0]


@dataclass(frozen=True)
class BudgetStanding:
    """A deployment's fund as its budget approver sees it: what is left, and whether the
    estimate fits (`refusal` says why not)."""

    fund: Fund
    remaining: Decimal
    estimate: Decimal | None
    obligated: Decimal | None  # what this deployment already holds

    @property
    def refusal(self) -> str | None:
        """Why approving the estimate would overdraw the fund, or None if it fits."""
        if self.estimate is None:
            return None
        increase = self.estimate - (self.obligated or Decimal(0))
        if increase <= self.remaining:
            return None
        return overdrawn_message(self.fund.name, self.remaining, increase)


async def budget_standing(session: AsyncSession, deployment: Deployment) -> BudgetStanding | None:
    """The deployment's fund and what it has left; None if the deployment draws on no fund."""
    fund = await fund_for(session, deployment.id)
    if fund is None:
        return None
    held = await session.get(FundObligation, deployment.id)
    obligated = held.amount_usd if held is not None and held.status == ObligationStatus.OBLIGATED else None
    return BudgetStanding(fund, remaining_of(fund), deployment.cost_estimate_usd, obligated)
