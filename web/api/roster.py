"""GET /api/v1/members and /api/v1/posts: the roster and the posts."""

from fastapi import APIRouter

from crc.fields import IsoDate
from web.deps import CurrentUser, SessionDep
from web.filters import AgencyFilter, ComponentFilter, SectorFilter
from web.schemas import MemberPublic, Page, PostPublic
from web.services.requests import today_utc
from web.services.roster import list_members, list_posts

router = APIRouter(tags=["roster"])


@router.get("/members")
async def read_members(
    session: SessionDep,
    _user: CurrentUser,
    sector: SectorFilter | None = None,
    component: ComponentFilter | None = None,
    agency: AgencyFilter | None = None,
    available_from: IsoDate | None = None,
) -> Page[MemberPublic]:
    """Roster members; `available` says whether each is free today (or from available_from)."""
    members = await list_members(
        session,
        today=today_utc(),
        sector=sector,
        component=component,
        agency=agency,
        available_from=available_from,
    )
    return Page(items=members, total=len(members))


@router.get("/posts")
async def read_posts(session: SessionDep, _user: CurrentUser) -> Page[PostPublic]:
    """Every receiving post."""
    posts = await list_posts(session)
    return Page(items=posts, total=len(posts))
