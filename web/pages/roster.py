"""The roster and the posts."""

from datetime import date

from fastapi import APIRouter, Request
from starlette.responses import Response

from crc.domain import AGENCIES, SECTORS, Component
from web.deps import PageUser, SessionDep
from web.services.requests import today_utc
from web.services.roster import list_members, list_posts
from web.templating import page_or_fragment, render

router = APIRouter()


@router.get("/members")
async def members(
    request: Request,
    session: SessionDep,
    user: PageUser,
    sector: str = "",
    component: str = "",
    agency: str = "",
    available_from: str = "",
) -> Response:
    """Roster members, filtered; the table alone for htmx."""
    try:
        from_date = date.fromisoformat(available_from) if available_from else None
    except ValueError:
        from_date = None
    found = await list_members(
        session,
        today=today_utc(),
        sector=sector or None,
        component=component or None,
        agency=agency or None,
        available_from=from_date,
    )
    context = {
        "members": found,
        "filters": {
            "sector": sector,
            "component": component,
            "agency": agency,
            "available_from": from_date.isoformat() if from_date else "",
        },
        "sectors": SECTORS,
        "components": [str(c) for c in Component],
        "agencies": AGENCIES,
        "can_request": bool({"requester", "admin"} & set(user.roles)),
    }
    return page_or_fragment(request, "members.html", "partials/member_table.html", context, user=user)


@router.get("/posts")
async def posts(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Every receiving post and its rules."""
    return render(request, "posts.html", {"posts": await list_posts(session)}, user=user)
