"""GET /api/v1/lessons: the after-action reports, searched by text, post and sector."""

from typing import Annotated

from fastapi import APIRouter, Query

from web.deps import CurrentUser, SessionDep
from web.filters import SectorFilter
from web.schemas import Page
from web.services.deployments import MAX_OFFSET, MAX_PAGE
from web.services.lessons import Q_MAX, Lesson, check_post, search_lessons

router = APIRouter(tags=["lessons"])


@router.get("/lessons")
async def read_lessons(
    session: SessionDep,
    _user: CurrentUser,
    q: Annotated[str, Query(max_length=Q_MAX, description="words the report must hold (stemmed)")] = "",
    post: Annotated[str | None, Query(max_length=16, description="a post code, e.g. JUB")] = None,
    sector: SectorFilter | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Page[Lesson]:
    """Lessons learned: every completed after-action report, best match first (newest without `q`).

    Anyone signed in may read them; each shows the member's name and the post, nothing more
    personal."""
    await check_post(session, post)
    items, total = await search_lessons(session, q=q, post=post, sector=sector, limit=limit, offset=offset)
    return Page(items=items, total=total)
