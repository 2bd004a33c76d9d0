"""The roster and the posts, as the lists and the request form show them."""

from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.stages import HOLDS_MEMBER
from crc.tables import Deployment, Member, Post
from web.schemas import MemberPublic, PostPublic


async def busy_member_ids(session: AsyncSession, *, on: date) -> set[int]:
    """Members held by a deployment that has not ended by `on` (running or still to come)."""
    rows = await session.exec(
        select(Deployment.member_id)
        .where(col(Deployment.stage).in_([str(s) for s in HOLDS_MEMBER]))
        .where(Deployment.end_date >= on)
        .distinct()
    )
    return set(rows.all())


async def list_members(
    session: AsyncSession,
    *,
    today: date,
    sector: str | None = None,
    component: str | None = None,
    agency: str | None = None,
    available_from: date | None = None,
) -> list[MemberPublic]:
    """Roster members matching the filters; with `available_from`, only those free from then."""
    query = select(Member).order_by(Member.name, col(Member.id))
    if component:
        query = query.where(Member.component == component)
    if agency:
        query = query.where(Member.agency == agency)
    members = list((await session.exec(query)).all())
    if sector:  # sectors is a JSON list; the roster is small, so filter here on every database
        members = [m for m in members if sector in m.sectors]
    busy = await busy_member_ids(session, on=available_from or today)
    result = [MemberPublic.model_validate({**m.model_dump(), "available": m.id not in busy}) for m in members]
    if available_from is not None:
        result = [m for m in result if m.available]
    return result


async def list_posts(session: AsyncSession) -> list[PostPublic]:
    """Every receiving post, by code."""
    posts = (await session.exec(select(Post).order_by(Post.code))).all()
    return [PostPublic.model_validate(p) for p in posts]
