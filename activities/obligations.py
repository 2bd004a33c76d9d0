"""The funds ledger, written inside the read-model's transactions: a budget approval obligates
the deployment's estimate, a cancellation releases it, completion spends the actual cost.

Every change of a fund's sums is one UPDATE of its row; the one that adds to what is held also
checks, in the same statement, that the fund still covers it. PostgreSQL re-reads the row a
racing writer committed before judging that condition (and SQLite has one writer at a time), so
approvals racing for the last dollars never overdraw the fund."""

from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import ApplicationError

from crc.fund_reads import fund_for, remaining_of
from crc.fund_tables import Fund, FundObligation
from crc.funds import ObligationStatus, overdrawn_message
from crc.names import ERR_OVERDRAWN
from crc.tables import utcnow


def _remaining() -> sa.ColumnElement[Decimal]:
    return col(Fund.amount_usd) - col(Fund.obligated_usd) - col(Fund.spent_usd)


async def _move(
    session: AsyncSession, fund_id: str, *, obligated: Decimal, spent: Decimal = Decimal(0), check: bool
) -> bool:
    """Add to the fund's obligated and spent sums in one statement; with `check`, only if what is
    left covers the increase. True if the row changed. (Rounded to cents: SQLite keeps floats.)"""
    statement = (
        sa.update(Fund)
        .where(col(Fund.id) == fund_id)
        .values(
            obligated_usd=sa.func.round(col(Fund.obligated_usd) + obligated, 2),
            spent_usd=sa.func.round(col(Fund.spent_usd) + spent, 2),
        )
    )
    if check:
        statement = statement.where(sa.func.round(_remaining() - obligated - spent, 2) >= 0)
    result = await session.exec(statement)
    return int(result.rowcount) == 1


async def obligate(session: AsyncSession, deployment_id: str, estimate: Decimal) -> None:
    """Hold the estimate against the deployment's fund (nothing without one); a retry changes
    nothing. Refused (non-retryable ERR_OVERDRAWN, the transaction rolled back) if the fund
    cannot cover it."""
    held = await session.get(FundObligation, deployment_id, with_for_update=True)
    if held is not None and held.status == ObligationStatus.OBLIGATED:
        if held.amount_usd == estimate:
            return
        fund_id = held.fund_id
        increase = estimate - held.amount_usd
    else:
        fund = await fund_for(session, deployment_id)
        if fund is None:
            return
        fund_id, increase = fund.id, estimate
    if not await _move(session, fund_id, obligated=increase, check=increase > 0):
        fund = await session.get(Fund, fund_id, populate_existing=True)
        assert fund is not None  # a foreign key, or the fund found above
        raise ApplicationError(
            overdrawn_message(fund.name, remaining_of(fund), increase), type=ERR_OVERDRAWN, non_retryable=True
        )
    if held is None:
        session.add(
            FundObligation(
                deployment_id=deployment_id,
                fund_id=fund_id,
                status=ObligationStatus.OBLIGATED,
                amount_usd=estimate,
            )
        )
        return
    held.fund_id, held.status, held.amount_usd, held.actual_usd = (
        fund_id,
        ObligationStatus.OBLIGATED,
        estimate,
        None,
    )
    held.updated_at = utcnow()


async def _held(session: AsyncSession, deployment_id: str) -> FundObligation | None:
    """The deployment's obligation while it holds money (locked: its release or spending is once)."""
    row = await session.get(FundObligation, deployment_id, with_for_update=True)
    return row if row is not None and row.status == ObligationStatus.OBLIGATED else None


async def release(session: AsyncSession, deployment_id: str) -> None:
    """Give the deployment's obligated estimate back to its fund (a no-op if nothing is held)."""
    held = await _held(session, deployment_id)
    if held is None:
        return
    await _move(session, held.fund_id, obligated=-held.amount_usd, check=False)
    held.status, held.updated_at = ObligationStatus.RELEASED, utcnow()


async def spend(session: AsyncSession, deployment_id: str, actual: Decimal | None) -> None:
    """Replace the obligated estimate with the actual cost (the estimate, if none was recorded)."""
    held = await _held(session, deployment_id)
    if held is None:
        return
    cost = held.amount_usd if actual is None else actual
    await _move(session, held.fund_id, obligated=-held.amount_usd, spent=cost, check=False)
    held.status, held.actual_usd, held.updated_at = ObligationStatus.SPENT, cost, utcnow()


async def adjust(session: AsyncSession, deployment_id: str, estimate: Decimal) -> None:
    """Hold the new estimate of an approved extension instead of the old one (Resource
    Management approved the longer stay with its estimate in front of them)."""
    held = await _held(session, deployment_id)
    if held is None or held.amount_usd == estimate:
        return
    await _move(session, held.fund_id, obligated=estimate - held.amount_usd, check=False)
    held.amount_usd, held.updated_at = estimate, utcnow()
