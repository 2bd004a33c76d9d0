"""A user's notifications: the bell's unread count, the newest-first list, marking them read."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from crc.tables import Notification
from web.services.errors import NotFound

PAGE_SIZE = 50


def unread_query(username: str) -> SelectOfScalar[int]:
    """SELECT how many of the user's notifications are unread (one indexed count)."""
    unread = (col(Notification.username) == username, col(Notification.read_at).is_(None))
    return select(func.count()).where(*unread)


async def unread_count(session: AsyncSession, username: str) -> int:
    """How many of the user's notifications are unread (one indexed count)."""
    return int((await session.exec(unread_query(username))).one())


async def list_notifications(
    session: AsyncSession,
    username: str,
    *,
    unread: bool | None = None,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> tuple[list[Notification], int]:
    """The user's notifications newest first (only unread or only read ones if asked), and how many."""
    where = [col(Notification.username) == username]
    if unread is True:
        where.append(col(Notification.read_at).is_(None))
    elif unread is False:
        where.append(col(Notification.read_at).is_not(None))
    rows = await session.exec(
        select(Notification)
        .where(*where)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(limit)
        .offset(offset)
    )
    total = (await session.exec(select(func.count()).where(*where))).one()
    return list(rows.all()), int(total)


async def mark_read(session: AsyncSession, username: str, note_id: int, now: datetime) -> Notification:
    """Mark one of the user's notifications read (again is harmless); another's is not found."""
    note = await session.get(Notification, note_id)
    if note is None or note.username != username:
        raise NotFound(f"no notification {note_id}")
    if note.read_at is None:
        note.read_at = now
        session.add(note)
        await session.commit()
        await session.refresh(note)
    return note


async def mark_all_read(session: AsyncSession, username: str, now: datetime) -> int:
    """Mark every unread notification of the user read; how many there were."""
    result = await session.exec(
        sa.update(Notification)
        .where(col(Notification.username) == username, col(Notification.read_at).is_(None))
        .values(read_at=now)
    )
    await session.commit()
    return int(result.rowcount)
