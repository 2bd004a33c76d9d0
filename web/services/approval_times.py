"""How long each approving office takes to decide: median and 90th percentile of the time from
an approval task's creation to its decision, the last four weeks beside the four before."""

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.roles import APPROVING_OFFICES, ROLE_LABELS, Role
from crc.tables import Task
from crc.tasks import TaskKind

OFFICES: tuple[Role, ...] = (*APPROVING_OFFICES, Role.HOME_AGENCY)
PERIOD = timedelta(weeks=4)
# An approval round expires a few times its due time after it opens (workflows/approval.py: days),
# so no approval decided in the window was created more than this before it: the bound lets the
# statement read the (kind, status, created_at) index rather than every decided approval.
LONGEST_WAIT = timedelta(days=90)


class Period(BaseModel):
    """Approvals decided in one period, and how long they waited, in hours."""

    decided: int = Field(ge=0)
    median_hours: float | None = Field(description="None when nothing was decided")
    p90_hours: float | None = Field(description="the 90th percentile; None when nothing was decided")


class OfficeCycleTime(BaseModel):
    """One office's approval cycle time, now and the four weeks before (its trend)."""

    office: str
    label: str
    last_4_weeks: Period
    previous_4_weeks: Period


class CycleTimesPublic(BaseModel):
    """Approval cycle time per office over the last eight weeks, by decision time."""

    since: datetime
    until: datetime
    offices: list[OfficeCycleTime]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile of sorted `values`, interpolated between the two nearest ranks
    (as PostgreSQL's percentile_cont: the median of an even count is the mean of the middle two)."""
    at = (len(values) - 1) * fraction
    low, high = math.floor(at), math.ceil(at)
    return values[low] + (values[high] - values[low]) * (at - low)


def _period(hours: list[float]) -> Period:
    if not hours:
        return Period(decided=0, median_hours=None, p90_hours=None)
    hours.sort()
    return Period(
        decided=len(hours),
        median_hours=round(percentile(hours, 0.5), 2),
        p90_hours=round(percentile(hours, 0.9), 2),
    )


async def cycle_times(session: AsyncSession, *, now: datetime) -> CycleTimesPublic:
    """One statement over the approvals decided in the last eight weeks (a bounded window: a
    few thousand rows at most); the percentiles in Python, alike on SQLite and PostgreSQL."""
    since = now - 2 * PERIOD
    query = select(col(Task.role), col(Task.created_at), col(Task.completed_at)).where(
        col(Task.kind) == TaskKind.APPROVAL,
        col(Task.status) == "completed",
        col(Task.role).in_([str(o) for o in OFFICES]),
        col(Task.created_at) >= since - LONGEST_WAIT,
        col(Task.completed_at) >= since,
        col(Task.completed_at) < now,
    )
    recent: dict[str, list[float]] = {str(o): [] for o in OFFICES}
    earlier: dict[str, list[float]] = {str(o): [] for o in OFFICES}
    for role, created, completed in (await session.exec(query)).all():
        assert completed is not None  # the WHERE clause
        waited = max((completed - created).total_seconds(), 0.0) / 3600
        (recent if completed >= now - PERIOD else earlier)[role].append(waited)
    return CycleTimesPublic(
        since=since,
        until=now,
        offices=[
            OfficeCycleTime(
                office=str(o),
                label=ROLE_LABELS[o],
                last_4_weeks=_period(recent[str(o)]),
                previous_4_weeks=_period(earlier[str(o)]),
            )
            for o in OFFICES
        ],
    )
