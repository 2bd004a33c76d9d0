"""Who did what, by name: the full names behind the usernames that events and tasks record."""

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.events import SYSTEM_ACTOR, SYSTEM_ACTOR_NAME
from crc.tables import Member, User


async def full_names(session: AsyncSession, usernames: Iterable[str | None]) -> dict[str, str]:
    """username -> the name to show: a member user's roster name, else the full name; the system
    as "CRC system". Usernames with no name to give are left out (the page shows them as they are)."""
    wanted = {u for u in usernames if u and u != SYSTEM_ACTOR}
    names = {SYSTEM_ACTOR: SYSTEM_ACTOR_NAME}
    if not wanted:
        return names
    query = (
        select(User.username, User.full_name, Member.name)
        .join(Member, col(Member.id) == col(User.member_id), isouter=True)
        .where(col(User.username).in_(wanted))
    )
    for username, full_name, member_name in (await session.exec(query)).all():
        name = member_name or full_name  # a member by their roster name
        if name:
            names[username] = name
    return names
