"""Tasks: the caller's open tasks, and completing one."""

from typing import Annotated

from fastapi import APIRouter, Query

from web.api.responses import DECISION
from web.deps import CurrentUser, SessionDep, TemporalClientDep
from web.filters import TaskKindFilter
from web.idempotency import UpdateId
from web.schemas import Page, TaskCompletion, TaskPublic
from web.services.tasks import complete_task, list_open_tasks

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get("")
async def read_tasks(
    session: SessionDep,
    user: CurrentUser,
    deployment_id: str | None = None,
    kind: TaskKindFilter | None = None,
    overdue: Annotated[bool, Query()] = False,
) -> Page[TaskPublic]:
    """Open tasks the caller may act on (by role; escalated ones for the director too)."""
    tasks = await list_open_tasks(session, user=user, deployment_id=deployment_id, kind=kind, overdue=overdue)
    return Page(items=[TaskPublic.model_validate(t) for t in tasks], total=len(tasks))


@router.post("/{task_id}/complete", responses=DECISION)
async def complete(
    task_id: str,
    body: TaskCompletion,
    session: SessionDep,
    client: TemporalClientDep,
    user: CurrentUser,
    update_id: UpdateId,
) -> TaskPublic:
    """Decide a task with one of its outcomes."""
    task = await complete_task(
        session=session,
        client=client,
        user=user,
        task_id=task_id,
        outcome=body.outcome,
        comment=body.comment,
        data=body.data,
        update_id=update_id,
    )
    return TaskPublic.model_validate(task)
