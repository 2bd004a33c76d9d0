"""The dashboard: deployments by stage, the user's open tasks, recent requests."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.deps import PageUser, SessionDep
from web.services.deployments import counts_by_stage, list_deployments, members_and_posts
from web.services.tasks import list_open_tasks
from web.templating import render

router = APIRouter()
RECENT = 10


@router.get("/")
async def dashboard(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Counts by stage, how many tasks wait for the user, and the latest deployments."""
    recent, total = await list_deployments(session, limit=RECENT)
    members, posts = await members_and_posts(session, recent)
    context = {
        "counts": await counts_by_stage(session),
        "total": total,
        "my_tasks": len(await list_open_tasks(session, user=user)),
        "deployments": recent,
        "members": members,
        "posts": posts,
    }
    return render(request, "dashboard.html", context, user=user)
