"""/lessons: every signed-in user searches the after-action reports by text, post and sector."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from crc.domain import SECTORS
from web.deps import PageUser, SessionDep
from web.filters import PageSector
from web.pages.common import nav
from web.services.lessons import Q_MAX, check_post, search_lessons
from web.services.roster import list_posts
from web.templating import page_or_fragment

router = APIRouter()
PAGE_SIZE = 50


@router.get("/lessons")
async def lessons(
    request: Request,
    session: SessionDep,
    user: PageUser,
    q: Annotated[str, Query(max_length=Q_MAX)] = "",
    post: Annotated[str, Query(max_length=16)] = "",
    sector: PageSector = "",
) -> Response:
    """Lessons learned, best match first; the result list alone for htmx."""
    await check_post(session, post or None)
    items, total = await search_lessons(
        session, q=q, post=post or None, sector=sector or None, limit=PAGE_SIZE
    )
    context = {
        "lessons": items,
        "total": total,
        "shown": len(items),
        "filters": {"q": q, "post": post, "sector": sector},
        "posts": await list_posts(session),
        "sectors": SECTORS,
        **await nav(session, user),
    }
    return page_or_fragment(request, "lessons.html", "partials/lesson_list.html", context, user=user)
