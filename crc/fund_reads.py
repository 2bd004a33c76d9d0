"""Reads of the funds ledger that the activities and the web share: which fund a deployment
draws on, and what a fund has left."""

from collections.abc import Sequence
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
    return _fund_of_year([fund for fund, _ in rows], rows[0][1])


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


def _fund_of_year(funds: list[Fund], start: date) -> Fund:
    """Of an operation's funds (newest fiscal year first), the one of the year `start` falls in,
    else the newest."""
    same_year = [fund for fund in funds if fund.fiscal_year == fiscal_year_of(start)]
    return same_year[0] if same_year else funds[0]


async def budget_standings(
    session: AsyncSession, deployments: Sequence[Deployment]
) -> dict[str, BudgetStanding]:
    """Each deployment's fund and what it has left, in two queries however many there are (a
    deployment that draws on no fund is left out)."""
    ids = [d.id for d in deployments]
    if not ids:
        return {}
    rows = await session.exec(
        select(col(OperationDeployment.deployment_id), Fund)
        .join(Fund, col(Fund.operation_id) == col(OperationDeployment.operation_id))
        .where(col(OperationDeployment.deployment_id).in_(ids))
        .order_by(col(Fund.fiscal_year).desc(), col(Fund.created_at), col(Fund.id))
    )
    funds: dict[str, list[Fund]] = {}
    for deployment_id, fund in rows.all():
        funds.setdefault(deployment_id, []).append(fund)
    if not funds:
        return {}
    held = await session.exec(
        select(FundObligation).where(
            col(FundObligation.deployment_id).in_(list(funds)),
            FundObligation.status == ObligationStatus.OBLIGATED,
        )
    )
    obligated = {row.deployment_id: row.amount_usd for row in held.all()}
    standings = {}
    for d in deployments:
        if d.id in funds:
            fund = _fund_of_year(funds[d.id], d.start_date)
            standings[d.id] = BudgetStanding(
                fund, remaining_of(fund), d.cost_estimate_usd, obligated.get(d.id)
            )
    return standings


async def budget_standing(session: AsyncSession, deployment: Deployment) -> BudgetStanding | None:
    """The deployment's fund and what it has left; None if the deployment draws on no fund."""
    return (await budget_standings(session, [deployment])).get(deployment.id)
