"""The deployments list page: filters and keyset pagination that stay fast at 50,000 rows.

Pages follow (created_at, id), newest first, on the index of the same name: a deep page costs
what the first does, unlike OFFSET, which reads and throws away every row before it.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.tables import Deployment, Member, Post, User, UTCDateTime
from web.services.visibility import visible_to

PER_PAGE = 25
# The list counts its matches up to here: an exact count of 50,000 rows costs a scan on every view
# and page, and past a thousand the number no longer helps anyone find a deployment.
COUNT_CAP = 1000
NOT_A_CURSOR = "must be a place in the list, as its page links give it"
_ID_MAX = 36  # crc.tables.Deployment.id


@dataclass(frozen=True)
class ListFilters:
    """What the list shows, as the URL says it."""

    stage: str = ""
    post: str = ""
    agency: str = ""
    component: str = ""
    start_from: date | None = None
    start_to: date | None = None
    member: str = ""

    def query(self) -> dict[str, str]:
        """The filters as query parameters (only those set)."""
        values = {
            "stage": self.stage,
            "post": self.post,
            "agency": self.agency,
            "component": self.component,
            "start_from": self.start_from.isoformat() if self.start_from else "",
            "start_to": self.start_to.isoformat() if self.start_to else "",
            "member": self.member,
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Cursor:
    """A place in the list: the (created_at, id) of a row."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        """As a query parameter."""
        return f"{self.created_at.astimezone(UTC).isoformat()}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """From a query parameter; ValueError saying so when it is not one of ours."""
        stamp, sep, row_id = text.partition("~")
        if not sep or not row_id or len(row_id) > _ID_MAX:
            raise ValueError(NOT_A_CURSOR)
        try:
            when = datetime.fromisoformat(stamp)
            # An offset can carry a time at the calendar's edge past it ("0001-01-01T00:00+00:01").
            when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            raise ValueError(NOT_A_CURSOR) from None
        return cls(when, row_id)


@dataclass(frozen=True)
class ListPage:
    """One page of deployments with their members and posts, and where the neighbours start."""

    rows: list[Deployment]
    members: dict[int, Member]
    posts: dict[str, Post]
    total: int  # at most COUNT_CAP + 1: more than COUNT_CAP says "more than"
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def more_than_cap(self) -> bool:
        """More deployments match than the list counts (it says "more than COUNT_CAP")."""
        return self.total > COUNT_CAP


def _conditions(user: User, filters: ListFilters) -> list[Any]:
    where: list[Any] = [visible_to(user)]
    if filters.stage:
        where.append(col(Deployment.stage) == filters.stage)
    if filters.post:
        where.append(col(Deployment.post_code) == filters.post)
    if filters.start_from:
        where.append(col(Deployment.start_date) >= filters.start_from)
    if filters.start_to:
        where.append(col(Deployment.start_date) <= filters.start_to)
    member_where: list[Any] = []
    if filters.agency:
        member_where.append(col(Member.agency) == filters.agency)
    if filters.component:
        member_where.append(col(Member.component) == filters.component)
    if filters.member:
        member_where.append(func.lower(col(Member.name)).contains(filters.member.lower(), autoescape=True))
    if member_where:
        where.append(col(Deployment.member_id).in_(select(Member.id).where(*member_where)))
    return where


def _after(cursor: Cursor) -> Any:
    # A row-value comparison, which SQLite and PostgreSQL answer from the (created_at, id) index.
    return tuple_(col(Deployment.created_at), col(Deployment.id)) < tuple_(
        sa.literal(cursor.created_at, UTCDateTime()), sa.literal(cursor.id)
    )


def _before(cursor: Cursor) -> Any:
    return tuple_(col(Deployment.created_at), col(Deployment.id)) > tuple_(
        sa.literal(cursor.created_at, UTCDateTime()), sa.literal(cursor.id)
    )


async def count_deployments(
    session: AsyncSession, user: User, filters: ListFilters, *, cap: int | None = None
) -> int:
    """How many deployments the user may see match (one COUNT query); with `cap`, counting stops
    at cap + 1, so the count reads at most that many index entries however many match."""
    if cap is None:
        query = select(func.count()).select_from(Deployment).where(*_conditions(user, filters))
    else:
        matching = select(col(Deployment.id)).where(*_conditions(user, filters)).limit(cap + 1)
        query = select(func.count()).select_from(matching.subquery())
    return int((await session.exec(query)).one())


async def page_of_deployments(
    session: AsyncSession,
    user: User,
    filters: ListFilters,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    per_page: int = PER_PAGE,
    every_post: bool = False,
) -> ListPage:
    """The page after `after` (or before `before`, or the first), newest first, of the deployments
    the user may see; with `every_post`, `posts` holds every post (the page's filter lists them),
    read once for both."""
    where = _conditions(user, filters)
    newest_first = (col(Deployment.created_at).desc(), col(Deployment.id).desc())
    if before is not None:
        query = (
            select(Deployment)
            .where(*where, _before(before))
            .order_by(col(Deployment.created_at), col(Deployment.id))
            .limit(per_page + 1)
        )
        found = list((await session.exec(query)).all())
        has_newer = len(found) > per_page
        rows = list(reversed(found[:per_page]))
        has_older = True
    else:
        query = select(Deployment).where(*where)
        if after is not None:
            query = query.where(_after(after))
        found = list((await session.exec(query.order_by(*newest_first).limit(per_page + 1))).all())
        rows = found[:per_page]
        has_older = len(found) > per_page
        has_newer = after is not None
    member_ids = {d.member_id for d in rows}
    post_codes = {d.post_code for d in rows}
    members = (await session.exec(select(Member).where(col(Member.id).in_(member_ids)))).all()
    posts = (
        await session.exec(select(Post).order_by(col(Post.code)))
        if every_post
        else await session.exec(select(Post).where(col(Post.code).in_(post_codes)))
    ).all()

    def cursor(d: Deployment) -> str:
        return Cursor(d.created_at, d.id).encode()

    return ListPage(
        rows=rows,
        members={m.id: m for m in members if m.id is not None},
        posts={p.code: p for p in posts},
        total=await count_deployments(session, user, filters, cap=COUNT_CAP),
        next_cursor=cursor(rows[-1]) if rows and has_older else None,
        prev_cursor=cursor(rows[0]) if rows and has_newer else None,
    )
