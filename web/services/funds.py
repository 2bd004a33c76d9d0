"""Funds: Resource Management records fund sources per fiscal year and reads where each stands
(amount, obligated, spent, remaining, and the forecast once pending approvals go through)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.db import is_unique_violation
from crc.fund_reads import BudgetStanding, budget_standing, budget_standings, remaining_of
from crc.fund_tables import Fund, FundObligation
from crc.funds import FundCreate, ObligationStatus, fiscal_years_open, new_fund_id
from crc.operation_tables import Operation, OperationDeployment
from crc.roles import Role
from crc.stages import Stage
from crc.tables import Deployment, Task, User
from crc.tasks import Outcome, TaskKind
from web.services.errors import Conflict, FieldError, Forbidden, InvalidFields, NotFound

# Who keeps the funds.
FUND_KEEPERS = frozenset({Role.RESOURCE_MANAGEMENT, Role.ADMIN})
# Deployments whose budget is still to be approved: their estimates are the forecast's pending part.
_AWAITING_BUDGET = (Stage.REQUESTED.value, Stage.APPROVAL.value)


class FundPublic(BaseModel):
    """A fund source and where it stands (amounts in USD, as decimal strings)."""

    id: str
    name: str
    fiscal_year: int
    operation_id: str
    operation_name: str
    amount_usd: Decimal
    obligated_usd: Decimal  # approved estimates of deployments not yet completed
    spent_usd: Decimal  # actual costs of completed deployments
    remaining_usd: Decimal  # amount less obligated and spent
    pending_usd: Decimal  # estimates of the operation's deployments awaiting budget approval
    forecast_usd: Decimal  # spent + obligated + pending: what the fund carries if all are approved
    created_by: str
    created_at: datetime


def check_keeper(user: User) -> None:
    """403 unless the user keeps the funds."""
    if not FUND_KEEPERS & set(user.roles):
        raise Forbidden("only Resource Management and admins keep the funds")


async def _pending(session: AsyncSession, operation_ids: list[str]) -> dict[str, Decimal]:
    """Per operation, the estimates of its deployments still awaiting their budget approval."""
    if not operation_ids:
        return {}
    obligated = select(FundObligation.deployment_id).where(
        FundObligation.status == ObligationStatus.OBLIGATED
    )
    rows = await session.exec(
        select(OperationDeployment.operation_id, func.sum(Deployment.cost_estimate_usd))
        .join(Deployment, col(Deployment.id) == col(OperationDeployment.deployment_id))
        .where(
            col(OperationDeployment.operation_id).in_(operation_ids),
            col(Deployment.stage).in_(_AWAITING_BUDGET),
            col(Deployment.id).not_in(obligated),
        )
        .group_by(col(OperationDeployment.operation_id))
    )
    return {operation_id: Decimal(total or 0) for operation_id, total in rows.all()}


async def _public(session: AsyncSession, rows: list[tuple[Fund, str]]) -> list[FundPublic]:
    pending = await _pending(session, sorted({fund.operation_id for fund, _ in rows}))
    funds = []
    for fund, operation_name in rows:
        waiting = pending.get(fund.operation_id, Decimal(0)).quantize(Decimal("0.01"))
        funds.append(
            FundPublic(
                **fund.model_dump(exclude={"obligated_usd", "spent_usd", "amount_usd"}),
                operation_name=operation_name,
                amount_usd=_cents(fund.amount_usd),
                obligated_usd=_cents(fund.obligated_usd),
                spent_usd=_cents(fund.spent_usd),
                remaining_usd=_cents(remaining_of(fund)),
                pending_usd=waiting,
                forecast_usd=_cents(fund.obligated_usd + fund.spent_usd + waiting),
            )
        )
    return funds


def _cents(amount: Decimal) -> Decimal:
    # SQLite hands NUMERIC back as it stored it (a float); money reads in whole cents.
    return Decimal(amount).quantize(Decimal("0.01"))


async def get_fund(session: AsyncSession, user: User, fund_id: str) -> FundPublic:
    """One fund and where it stands; 404 if there is none."""
    check_keeper(user)
    rows = (
        await session.exec(
            select(Fund, Operation.name)
            .join(Operation, col(Operation.id) == col(Fund.operation_id))
            .where(Fund.id == fund_id)
            .execution_options(populate_existing=True)
        )
    ).all()
    if not rows:
        raise NotFound("no fund has this id")
    return (await _public(session, [(f, n) for f, n in rows]))[0]


async def list_funds(
    session: AsyncSession, user: User, *, fiscal_year: int | None = None, operation_id: str | None = None
) -> list[FundPublic]:
    """Funds, newest fiscal year first, then by name; narrowed to a fiscal year or an operation."""
    check_keeper(user)
    query = select(Fund, Operation.name).join(Operation, col(Operation.id) == col(Fund.operation_id))
    if fiscal_year is not None:
        query = query.where(Fund.fiscal_year == fiscal_year)
    if operation_id:
        query = query.where(Fund.operation_id == operation_id)
    rows = (
        await session.exec(
            query.order_by(col(Fund.fiscal_year).desc(), col(Fund.name), col(Fund.id)).execution_options(
                populate_existing=True
            )
        )
    ).all()
    return await _public(session, [(f, n) for f, n in rows])


async def funds_of_operation(session: AsyncSession, operation_id: str) -> list[FundPublic]:
    """The operation's funds (for its page, which its readers see without keeping funds)."""
    rows = (
        await session.exec(
            select(Fund, Operation.name)
            .join(Operation, col(Operation.id) == col(Fund.operation_id))
            .where(Fund.operation_id == operation_id)
            .order_by(col(Fund.fiscal_year).desc(), col(Fund.name))
        )
    ).all()
    return await _public(session, [(f, n) for f, n in rows])


async def create_fund(session: AsyncSession, user: User, body: FundCreate, today: date) -> FundPublic:
    """Record a fund source for an operation; 422 names a fiscal year out of range or an unknown
    operation, 409 a name already used for that fiscal year."""
    check_keeper(user)
    errors = []
    years = fiscal_years_open(today)
    if body.fiscal_year not in years:
        message = f"must be a fiscal year from {years[0]} to {years[-1]}"
        errors.append(FieldError("fiscal_year", message, body.fiscal_year))
    if await session.get(Operation, body.operation_id) is None:
        errors.append(FieldError("operation_id", "no operation has this id", body.operation_id))
    if errors:
        raise InvalidFields(errors)
    fund = Fund(
        id=new_fund_id(),
        name=body.name.strip(),
        fiscal_year=body.fiscal_year,
        operation_id=body.operation_id,
        amount_usd=body.amount_usd,
        created_by=user.username,
    )
    session.add(fund)
    try:
        await session.commit()
    except IntegrityError as err:
        await session.rollback()
        if not is_unique_violation(err):
            raise
        raise Conflict(f"a fund named {body.name.strip()} already exists for FY{body.fiscal_year}") from None
    return await get_fund(session, user, fund.id)


def is_budget_approval(task: Task) -> bool:
    """True for Resource Management's approval of a deployment's estimate."""
    return task.kind == TaskKind.APPROVAL and task.role == Role.RESOURCE_MANAGEMENT


async def budget_of(session: AsyncSession, task: Task, deployment: Deployment) -> BudgetStanding | None:
    """The fund a budget approval draws on and what it has left (None for other tasks, or a
    deployment that draws on no fund)."""
    if not is_budget_approval(task):
        return None
    return await budget_standing(session, deployment)


async def budgets_of(
    session: AsyncSession, found: Sequence[tuple[Task, Deployment]]
) -> dict[str, BudgetStanding]:
    """By task id, the fund each budget approval among `found` draws on (two queries in all)."""
    budget = [(t, d) for t, d in found if is_budget_approval(t)]
    standings = await budget_standings(session, [d for _, d in budget])
    return {t.id: standings[d.id] for t, d in budget if d.id in standings}


async def refuse_overdraft(session: AsyncSession, task: Task, deployment: Deployment, outcome: str) -> None:
    """409 with the figures when approving this budget would overdraw the fund, as the read-model
    stands (the workflow's activity has the last word, in one conditional statement)."""
    if outcome != Outcome.APPROVE:
        return
    standing = await budget_of(session, task, deployment)
    if standing is not None and standing.refusal is not None:
        raise Conflict(standing.refusal)


# The burn chart's width in SVG units (its viewBox), and the parts of a fund it shows in order.
CHART_WIDTH = 480
_PARTS = (("spent", "Spent"), ("obligated", "Obligated"), ("remaining", "Remaining"))


@dataclass(frozen=True)
class BurnSegment:
    """One part of a fund's bar: where it starts and how wide it is, in chart units."""

    key: str
    label: str
    amount: Decimal
    x: float
    width: float


@dataclass(frozen=True)
class BurnChart:
    """A fund's burn as one stacked bar (spent, obligated, remaining) with the forecast marked."""

    segments: list[BurnSegment]
    forecast_x: float
    over_by: Decimal  # how far the forecast passes the amount (0 when it fits)


def burn_chart(fund: FundPublic) -> BurnChart:
    """The bar of a fund, scaled so both the amount and the forecast fit the chart."""
    scale = max(fund.amount_usd, fund.forecast_usd, fund.spent_usd + fund.obligated_usd, Decimal("0.01"))
    amounts = {
        "spent": fund.spent_usd,
        "obligated": fund.obligated_usd,
        "remaining": max(fund.remaining_usd, Decimal(0)),
    }
    segments, x = [], 0.0
    for key, label in _PARTS:
        width = round(float(amounts[key] / scale) * CHART_WIDTH, 1)
        segments.append(BurnSegment(key, label, amounts[key], x, width))
        x += width
    forecast_x = round(float(fund.forecast_usd / scale) * CHART_WIDTH, 1)
    return BurnChart(segments, forecast_x, max(fund.forecast_usd - fund.amount_usd, Decimal(0)))
