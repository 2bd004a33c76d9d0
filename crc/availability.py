"""Whether roster members are free over some dates: the one rule every page, the API and the
dashboard read.

A member is not available over [first, last] when
- a running deployment (any stage not terminal) holds them: from today, since vetting, training,
  equipping and travel take their time before the start date, to its last day (the day they
  left, else its approved end, or today while it runs on past that end);
- a completed deployment held them on any of those days (its start to the day they left);
- an availability window (leave, other duties) covers any of those days.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.stages import TERMINAL, Stage
from crc.tables import AvailabilityWindow, Deployment, Member

_RUNNING = [str(s) for s in Stage if s not in TERMINAL]


@dataclass(frozen=True)
class Busy:
    """What keeps a member from being available: a deployment or an availability window."""

    kind: str  # a deployment's stage, or a crc.domain.WindowKind
    first: date
    last: date
    deployment_id: str | None = None
    note: str = ""


def deployment_holds(first: date, last: date, today: date) -> sa.ColumnElement[bool]:
    """Deployments holding their member on any day from `first` to `last` (the rule above)."""
    # A running deployment holds from today (or its start, if earlier) to its end, or to today
    # while it runs on past that end: which of those bounds apply depends on today alone.
    begun = sa.true() if today <= last else col(Deployment.start_date) <= last
    not_ended = sa.true() if first <= today else first <= col(Deployment.end_date)
    running = sa.and_(
        col(Deployment.stage).in_(_RUNNING),
        begun,
        sa.or_(
            sa.and_(col(Deployment.left_on).is_not(None), first <= col(Deployment.left_on)),
            sa.and_(col(Deployment.left_on).is_(None), not_ended),
        ),
    )
    completed = sa.and_(
        col(Deployment.stage) == Stage.COMPLETED,
        col(Deployment.start_date) <= last,
        first <= sa.func.coalesce(col(Deployment.left_on), col(Deployment.end_date)),
    )
    return sa.or_(running, completed)


def window_covers(first: date, last: date) -> sa.ColumnElement[bool]:
    """Availability windows covering any day from `first` to `last`."""
    return sa.and_(col(AvailabilityWindow.starts_on) <= last, first <= col(AvailabilityWindow.ends_on))


def available_condition(first: date, last: date, today: date) -> sa.ColumnElement[bool]:
    """A WHERE clause on Member: nothing holds the member from `first` to `last`."""
    held = sa.exists().where(
        col(Deployment.member_id) == col(Member.id), deployment_holds(first, last, today)
    )
    away = sa.exists().where(col(AvailabilityWindow.member_id) == col(Member.id), window_covers(first, last))
    return sa.and_(sa.not_(held), sa.not_(away))


async def busy_members(
    session: AsyncSession, member_ids: Iterable[int], *, first: date, last: date, today: date
) -> dict[int, Busy]:
    """What holds each of the members from `first` to `last` (the earliest), for the busy ones."""
    ids = list(member_ids)
    found: dict[int, Busy] = {}
    if not ids:
        return found
    deployments = await session.exec(
        select(Deployment)
        .where(col(Deployment.member_id).in_(ids), deployment_holds(first, last, today))
        .order_by(col(Deployment.start_date), col(Deployment.id))
    )
    for d in deployments.all():
        found.setdefault(
            d.member_id, Busy(d.stage, d.start_date, d.left_on or d.end_date, deployment_id=d.id)
        )
    windows = await session.exec(
        select(AvailabilityWindow)
        .where(col(AvailabilityWindow.member_id).in_(ids), window_covers(first, last))
        .order_by(col(AvailabilityWindow.starts_on), col(AvailabilityWindow.id))
    )
    for w in windows.all():
        found.setdefault(w.member_id, Busy(w.kind, w.starts_on, w.ends_on, note=w.note))
    return found
