"""The inbox: open tasks for the user's roles, decided in place with htmx."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.tables import Deployment, Member, Post, Task
from web.deps import PageUser, SessionDep, TemporalClientDep
from web.services.errors import InvalidFields, ServiceError
from web.services.tasks import complete_task, list_open_tasks
from web.templating import page_or_fragment, render

router = APIRouter()


async def _row(session: AsyncSession, task: Task) -> dict[str, Any]:
    deployment = await session.get(Deployment, task.deployment_id)
    assert deployment is not None  # a foreign key
    return {
        "task": task,
        "deployment": deployment,
        "member": await session.get(Member, deployment.member_id),
        "post": await session.get(Post, deployment.post_code),
    }


@router.get("/inbox")
async def inbox(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Open tasks the user may act on, soonest due first."""
    tasks = await list_open_tasks(session, user=user)
    rows = [await _row(session, t) for t in tasks]
    return page_or_fragment(request, "inbox.html", "partials/inbox_table.html", {"rows": rows}, user=user)


@router.post("/inbox/tasks/{task_id}")
async def decide(
    request: Request,
    task_id: str,
    session: SessionDep,
    client: TemporalClientDep,
    user: PageUser,
    outcome: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Complete a task; answers the row to swap in (done, or with the error beside it)."""
    try:
        task = await complete_task(
            session=session,
            client=client,
            user=user,
            task_id=task_id,
            outcome=outcome,
            comment=comment.strip() or None,
        )
    except ServiceError as err:
        found = await session.get(Task, task_id, populate_existing=True)
        message = "; ".join(e.msg for e in err.errors) if isinstance(err, InvalidFields) else err.detail
        context: dict[str, Any] = {"error": message, "comment": comment, "task_id": task_id}
        if found is not None:
            context.update(await _row(session, found))
        return render(request, "partials/task_row.html", context, user=user, status_code=err.status_code)
    context = {**await _row(session, task), "error": None, "comment": comment}
    return render(request, "partials/task_row_done.html", context, user=user)
