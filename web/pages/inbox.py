"""The inbox: open tasks for the user's roles, filtered in the URL, claimed and decided in place."""

import typing
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from crc.tables import Task, User
from crc.tasks import spec_of
from web.deps import PageUser, SessionDep, SettingsDep, TemporalClientDep
from web.drafts import forget_drafts, take_drafts
from web.filters import PageInboxSort, PageStage, PageTaskKind
from web.pages.common import nav
from web.pages.forms import parse_values
from web.schemas import TaskCompletion
from web.services.errors import InvalidFields, NotFound, ServiceError
from web.services.inbox import (
    InboxFilters,
    claim_task,
    inbox_row,
    load_inbox,
    unclaim_task,
)
from web.services.people import full_names
from web.services.tasks import complete_task
from web.templating import page_or_fragment, render

router = APIRouter()


def _filters(kind: str, stage: str, post: str, overdue: str, q: str, sort: str) -> InboxFilters:
    return InboxFilters(
        kind=kind.strip(),
        stage=stage.strip(),
        post=post.strip(),
        overdue=overdue in ("1", "true", "on", "yes"),
        q=q.strip()[:100],
        sort=sort,
    )


@router.get("/inbox")
async def inbox(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    kind: PageTaskKind = "",
    stage: PageStage = "",
    post: str = "",
    overdue: str = "",
    q: str = "",
    sort: PageInboxSort = "due",
) -> Response:
    """Open tasks the user may act on, filtered and sorted as the URL says."""
    filters = _filters(kind, stage, post, overdue, q, sort)
    now = datetime.now(UTC)
    found = await load_inbox(session, user=user, filters=filters, now=now)
    context = {"inbox": found, "rows": found.rows, "filters": filters, "now": now, "inbox_count": found.total}
    # Comments typed when the session had ended come back into their rows once (web.drafts).
    context["drafts"] = drafts = take_drafts(request, settings, user.username)
    page = page_or_fragment(request, "inbox.html", "partials/inbox_table.html", context, user=user)
    if drafts:
        forget_drafts(page, settings)
    return page


def _data(task: Task, form: FormData) -> dict[str, Any]:
    """The fields the task kind's form model asks for, as typed (crc.tasks checks them)."""
    data: dict[str, Any] = {}
    for name, field in spec_of(task.kind).form.model_fields.items():
        if typing.get_origin(field.annotation) is list:
            data[name] = [str(v) for v in form.getlist(name)]
        elif str(form.get(name) or "").strip():
            data[name] = str(form.get(name))
    return data


def _typed(form: FormData) -> dict[str, Any]:
    return {
        "comment": str(form.get("comment") or ""),
        "report": str(form.get("report") or ""),
        "valid_until": str(form.get("valid_until") or ""),
        "level": str(form.get("level") or ""),
        "missing_skus": [str(v) for v in form.getlist("missing_skus")],
    }


async def _answer_row(
    request: Request,
    session: AsyncSession,
    user: User,
    task_id: str,
    *,
    error: str | None = None,
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    # A task the user may not act on is not theirs to see either: only the message.
    hidden = status_code in (403, 404)
    task = None if hidden else await session.get(Task, task_id, populate_existing=True)
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "error": error,
        "typed": typed or {},
        "task_id": task_id,
        "now": now,
        "oob_count": True,
        **await nav(session, user),
    }
    if task is None:
        name = "partials/task_row_missing.html"
    else:
        context["row"] = await inbox_row(session, task, user=user, now=now)
        context["people"] = await full_names(session, [task.completed_by])
        name = "partials/task_row.html" if task.status == "open" else "partials/task_row_done.html"
    return render(request, name, context, user=user, status_code=status_code)


def _message(err: ServiceError) -> str:
    if isinstance(err, InvalidFields):
        return "; ".join(f"{e.field.replace('_', ' ')}: {e.msg}" for e in err.errors)
    return err.detail


@router.post("/inbox/tasks/{task_id}")
async def decide(
    request: Request,
    task_id: str,
    session: SessionDep,
    client: TemporalClientDep,
    user: PageUser,
) -> Response:
    """Complete a task; answers the row to swap in (done, or with the error beside it)."""
    form = await request.form()
    outcome = str(form.get("outcome") or "")
    typed = _typed(form)
    try:
        task = await session.get(Task, task_id, populate_existing=True)
        if task is None:
            raise NotFound("no task has this id")
        # The API's body, so a comment over its limit is refused here in the same words.
        body = parse_values(
            TaskCompletion,
            {"outcome": outcome, "comment": typed["comment"].strip(), "data": _data(task, form)},
        )
        await complete_task(
            session=session,
            client=client,
            user=user,
            task_id=task_id,
            outcome=body.outcome,
            comment=body.comment,
            data=body.data,
        )
    except ServiceError as err:
        return await _answer_row(
            request, session, user, task_id, error=_message(err), typed=typed, status_code=err.status_code
        )
    return await _answer_row(request, session, user, task_id, typed=typed)


@router.post("/inbox/tasks/{task_id}/claim")
async def claim(
    request: Request, task_id: str, session: SessionDep, settings: SettingsDep, user: PageUser
) -> Response:
    """Take the task, or take it over as its office's director; 409 saying who holds it till when."""
    try:
        await claim_task(session, user=user, task_id=task_id, now=datetime.now(UTC), settings=settings)
    except ServiceError as err:
        return await _answer_row(
            request, session, user, task_id, error=_message(err), status_code=err.status_code
        )
    return await _answer_row(request, session, user, task_id)


@router.post("/inbox/tasks/{task_id}/unclaim")
async def unclaim(request: Request, task_id: str, session: SessionDep, user: PageUser) -> Response:
    """Let the task go so others of the office can take it."""
    try:
        await unclaim_task(session, user=user, task_id=task_id, now=datetime.now(UTC))
    except ServiceError as err:
        return await _answer_row(
            request, session, user, task_id, error=_message(err), status_code=err.status_code
        )
    return await _answer_row(request, session, user, task_id)
