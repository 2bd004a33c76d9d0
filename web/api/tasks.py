"""Tasks: the caller's open tasks, completing one, and undoing a decision still held."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from web.api.responses import DECISION
from web.deps import CurrentUser, SessionDep, TemporalClientDep
from web.filters import TaskKindFilter
from web.idempotency import UpdateId
from web.schemas import Page, TaskCompletion, TaskPublic
from web.services.deployments import MAX_PAGE
from web.services.errors import FieldError, InvalidFields
from web.services.task_list import TaskCursor
from web.services.tasks import complete_task, page_of_open_tasks, withdraw_decision

router = APIRouter(prefix="/tasks", tags=["tasks"])
PER_PAGE = 50

HELD: dict[int | str, dict[str, Any]] = {
    status.HTTP_202_ACCEPTED: {
        "model": TaskPublic,
        "description": "With undo_seconds: the decision is accepted and held; the task, still open, "
        "shows held_by, held_outcome and held_until (POST /tasks/{id}/undo withdraws it until then)",
    }
}


class TaskPage(Page[TaskPublic]):
    """A page of open tasks, how many match in all, and the cursor of the next page (null on the
    last)."""

    next_cursor: str | None = None


def _cursor(text: str | None) -> TaskCursor | None:
    try:
        return TaskCursor.decode(text) if text else None
    except ValueError as err:
        raise InvalidFields([FieldError("cursor", str(err), text, location="query")]) from None


@router.get("")
async def read_tasks(
    session: SessionDep,
    user: CurrentUser,
    deployment_id: str | None = None,
    kind: TaskKindFilter | None = None,
    overdue: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many tasks")] = PER_PAGE,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="Where the page starts: a `next_cursor` answered before"),
    ] = None,
) -> TaskPage:
    """Open tasks the caller may act on (by role; escalated ones for the director too), the soonest
    due first, a page at a time: `total` counts all that match; `next_cursor` starts the next page."""
    page = await page_of_open_tasks(
        session,
        user=user,
        deployment_id=deployment_id,
        kind=kind,
        overdue=overdue,
        limit=limit,
        after=_cursor(cursor),
    )
    return TaskPage(
        items=[TaskPublic.model_validate(t) for t in page.tasks],
        total=page.total,
        next_cursor=page.next_cursor,
    )


@router.post("/{task_id}/complete", responses={**DECISION, **HELD})
async def complete(
    task_id: str,
    body: TaskCompletion,
    response: Response,
    session: SessionDep,
    client: TemporalClientDep,
    user: CurrentUser,
    update_id: UpdateId,
) -> TaskPublic:
    """Decide a task with one of its outcomes: at once (200), or held for `undo_seconds` (202)."""
    task = await complete_task(
        session=session,
        client=client,
        user=user,
        task_id=task_id,
        outcome=body.outcome,
        comment=body.comment,
        data=body.data,
        update_id=update_id,
        undo_seconds=body.undo_seconds,
    )
    if body.undo_seconds > 0:
        response.status_code = status.HTTP_202_ACCEPTED
    return TaskPublic.model_validate(task)


@router.post("/{task_id}/undo", responses=DECISION)
async def undo(
    task_id: str,
    session: SessionDep,
    client: TemporalClientDep,
    user: CurrentUser,
    update_id: UpdateId,
) -> TaskPublic:
    """Withdraw the caller's decision on a task while it is held: the task, open again.

    409 when no decision waits to take effect, 403 when it is someone else's."""
    task = await withdraw_decision(
        session=session, client=client, user=user, task_id=task_id, update_id=update_id
    )
    return TaskPublic.model_validate(task)
