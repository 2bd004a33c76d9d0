"""A member's time in deployments: which dates they hold, and their days abroad in a year.

The web checks a request against them and the activities check an extension and plan training
against them; both read the same rules here.
"""

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.stages import HOLDS_MEMBER
from crc.tables import Deployment

# FACT counts days under Chief of Mission authority over this many days before a stay ends.
FACT_WINDOW_DAYS = 365

# A deployment holds the member from its start to its actual last day, or to its approved end
# while that day has not come (an early return frees the rest).
_LAST_DAY = sa.func.coalesce(col(Deployment.left_on), col(Deployment.end_date))


async def overlapping_deployment(
    session: AsyncSession, *, member_id: int, first: date, last: date, exclude_id: str | None = None
) -> Deployment | None:
    """A deployment of the member that holds any day from `first` to `last`, if there is one."""
    query = (
        select(Deployment)
        .where(Deployment.member_id == member_id)
        .where(col(Deployment.stage).in_([str(s) for s in HOLDS_MEMBER]))
        .where(Deployment.start_date <= last)
        .where(first <= _LAST_DAY)
    )
    if exclude_id is not None:
        query = query.where(Deployment.id != exclude_id)
    return (await session.exec(query.order_by(col(Deployment.start_date)).limit(1))).first()


def days_within(first: date, last: date, window_first: date, window_last: date) -> int:
    """How many days from `first` to `last` fall inside the window (both ends counted)."""
    start, end = max(first, window_first), min(last, window_last)
    return max((end - start).days + 1, 0)


async def days_abroad(
    session: AsyncSession, *, member_id: int, first: date, last: date, exclude_id: str | None
) -> int:
    """Days under Chief of Mission authority in the year up to `last`: the stay from `first` to
    `last`, and the member's other deployments (their actual days once ended)."""
    window_first = last - timedelta(days=FACT_WINDOW_DAYS - 1)
    total = days_within(first, last, window_first, last)
    query = (
        select(col(Deployment.start_date), col(Deployment.arrived_on), _LAST_DAY)
        .where(Deployment.member_id == member_id)
        .where(col(Deployment.stage).in_([str(s) for s in HOLDS_MEMBER]))
        .where(Deployment.start_date <= last)
        .where(window_first <= _LAST_DAY)
    )
    if exclude_id is not None:
        query = query.where(Deployment.id != exclude_id)
    for start, arrived_on, last_day in (await session.exec(query)).all():
        total += days_within(arrived_on or start, last_day, window_first, last)
    return total
