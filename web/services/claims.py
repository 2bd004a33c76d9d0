"""How long an inbox claim holds, and whether one stands in a user's way; claims never block.

A claim lapses by itself (`TaskClaim.expires_at`): after `CRC_CLAIM_URGENT_HOURS` on an urgent
task, else after `CRC_CLAIM_WORKING_DAYS` working days. A director whose scope covers the
task's office may take over a claim (crc.permissions.may_take_over).
"""

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from crc.permissions import may_take_over
from crc.settings import Settings
from crc.tables import Deployment, Task, TaskClaim, User
from web.services.access import actor_of, parties_of
from web.services.errors import Conflict
from web.services.out_of_office import covers_for

# A task due this soon after it opened is urgent: an Active call-up's approvals (due in hours),
# a missed check-in. Its claim is counted in hours, not working days.
URGENT_WITHIN = timedelta(hours=24)
SATURDAY = 5


def is_urgent(task: Task) -> bool:
    """True when the task was due within 24 hours of being opened."""
    return task.due_at is not None and task.due_at - task.created_at <= URGENT_WITHIN


def add_working_days(start: datetime, days: int) -> datetime:
    """`start` moved on by `days` working days, Monday to Friday in UTC (holidays unknown)."""
    at = start
    for _ in range(days):
        at += timedelta(days=1)
        while at.weekday() >= SATURDAY:
            at += timedelta(days=1)
    return at


def claim_expiry(settings: Settings, task: Task, claimed_at: datetime) -> datetime:
    """When a claim on the task made at `claimed_at` lapses."""
    if is_urgent(task):
        return claimed_at + timedelta(hours=settings.CRC_CLAIM_URGENT_HOURS)
    return add_working_days(claimed_at, settings.CRC_CLAIM_WORKING_DAYS)


async def live_claim(session: AsyncSession, task_id: str, now: datetime) -> TaskClaim | None:
    """The claim on the task that still holds at `now`, if any."""
    claim = await session.get(TaskClaim, task_id, populate_existing=True)
    return claim if claim is not None and claim.expires_at > now else None


def may_take_over_from(user: User, task: Task, deployment: Deployment) -> bool:
    """True when the user may take the task from whoever has claimed it."""
    return may_take_over(actor_of(user), task, parties_of(deployment))


async def refuse_if_held(
    session: AsyncSession, *, user: User, task: Task, deployment: Deployment, now: datetime
) -> None:
    """409 naming the holder and until when, if someone else's claim stands in the user's way."""
    held = await live_claim(session, task.id, now)
    if held is None or held.username == user.username or may_take_over_from(user, task, deployment):
        return
    if held.username in {c.absent for c in await covers_for(session, user.username, now.date())}:
        return  # the holder is out of office, and the user is their delegate
    raise Conflict(
        f"{held.username} has claimed this task until {held.expires_at:%Y-%m-%d %H:%M} UTC; "
        "ask them, or wait until they let it go"
    )
