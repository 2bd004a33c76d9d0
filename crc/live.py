"""Live changes published through the database: each read-model write adds a row in its own
transaction (on PostgreSQL also a NOTIFY, delivered at commit), which every web process reads."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.tables import LiveChange, utcnow

CHANNEL = "crc_live"
# Open pages catch up within seconds; older rows only fill the table.
KEEP = timedelta(hours=1)


class What(StrEnum):
    """What a write changed, as open pages care about it."""

    STAGE = "stage"
    TASKS = "tasks"
    NOTIFICATIONS = "notifications"


async def publish(
    session: AsyncSession,
    deployment_id: str,
    *,
    stage: bool = False,
    task_ids: Iterable[str] = (),
    usernames: Iterable[str] = (),
) -> LiveChange | None:
    """Record a change in the write's transaction; `usernames` are those whose bell it changed
    (the notifications stored with it). Nothing is recorded when nothing changed."""
    told = sorted(set(usernames))
    tasks = sorted(set(task_ids))
    what = [
        w
        for w, on in ((What.STAGE, stage), (What.TASKS, bool(tasks)), (What.NOTIFICATIONS, bool(told)))
        if on
    ]
    if not what:
        return None
    row = LiveChange(
        deployment_id=deployment_id, what=[str(w) for w in what], usernames=told or None, task_ids=tasks
    )
    session.add(row)
    await session.flush()
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Delivered to the listeners when the transaction commits, never if it rolls back.
        await session.exec(select(sa.func.pg_notify(CHANNEL, str(row.id))))
    return row


async def changes_after(session: AsyncSession, last_id: int, limit: int = 500) -> list[LiveChange]:
    """The changes recorded since `last_id`, oldest first."""
    rows = await session.exec(
        select(LiveChange).where(col(LiveChange.id) > last_id).order_by(col(LiveChange.id)).limit(limit)
    )
    return list(rows.all())


async def last_change_id(session: AsyncSession) -> int:
    """The newest change's id (0 when there is none): a listener starts after it."""
    found = (await session.exec(select(sa.func.max(LiveChange.id)))).one()
    return int(found or 0)


async def prune(session: AsyncSession, now: datetime | None = None) -> int:
    """Delete changes older than KEEP; how many went."""
    cutoff = (now or utcnow()) - KEEP
    result = await session.exec(sa.delete(LiveChange).where(col(LiveChange.created_at) < cutoff))
    await session.commit()
    return int(result.rowcount)
