"""The dashboard: deployments by stage, overdue tasks by office, in country by post, readiness."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.deps import PageUser, SessionDep
from web.pages.common import nav
from web.services.dashboard import load_dashboard
from web.services.requests import today_utc
from web.templating import render

router = APIRouter()
RECENT = 10


@router.get("/")
async def dashboard(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Charts of where things stand, how many tasks wait for the user, the latest deployments."""
    board = await load_dashboard(session, user=user, now=datetime.now(UTC), today=today_utc(), recent=RECENT)
    recent, total = board.recent, board.total
    counts = nav_counts = await nav(session, user)
    context = {
        "board": board,
        "counts": board.by_stage,
        "total": total,
        "my_tasks": counts["inbox_count"],
        "deployments": recent,
        "members": board.members,
        "posts": board.posts,
        **nav_counts,
    }
    return render(request, "dashboard.html", context, user=user)
