"""The inbox: open tasks for the user's roles in views, filtered in the URL, claimed and decided in
place (or in bulk), with the facts a decision needs a click away."""

import typing
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from crc import permissions
from crc.settings import Settings
from crc.tables import Deployment, Task, User
from crc.tasks import outcome_past, spec_of
from web.deps import PageUser, SessionDep, SettingsDep, TemporalClientDep
from web.drafts import forget_drafts, take_drafts
from web.filters import PageInboxSort, PageInboxView, PageStage, PageTaskKind
from web.flash import flash
from web.pages.common import nav
from web.pages.forms import parse_values
from web.schemas import TaskCompletion
from web.services.access import actor_of, parties_of
from web.services.errors import Conflict, InvalidFields, NotFound, ServiceError
from web.services.inbox import (
    PAGE_SIZE,
    SORTS,
    VIEWS,
    InboxFilters,
    claim_task,
    facts_of,
    inbox_row,
    load_inbox,
    unclaim_task,
    view_counts,
)
from web.services.notifications import unread_count
from web.services.people import full_names
from web.services.saved_filters import delete_filter, save_filter, saved_filters
from web.services.task_list import TaskCursor
from web.services.tasks import complete_task, withdraw_decision
from web.templating import is_htmx, page_or_fragment, render

router = APIRouter()

# Kept in the session between a form's POST and the page it redirects to (no JavaScript).
RESULTS_KEY = "inbox_bulk_results"
PLACES = ("row", "deployment")


def _filters(
    view: str,
    kind: str,
    stage: str,
    post: str,
    overdue: str,
    q: str,
    sort: str,
    after: str = "",
    before: str = "",
) -> InboxFilters:
    # `overdue=1` is what links made before the views said; it is the Overdue view now.
    if overdue in ("1", "true", "on", "yes") and view in ("", "all"):
        view = "overdue"
    return InboxFilters(
        view=view or "all",
        kind=kind.strip(),
        stage=stage.strip(),
        post=post.strip(),
        q=q.strip()[:100],
        sort=sort,
        after=after.strip() if not before.strip() else "",
        before=before.strip(),
    )


def _page_mark(text: str) -> str:
    """A cursor from a URL an action came from: kept if it is one of ours, else the first page."""
    try:
        return TaskCursor.decode(text).encode() if text else ""
    except ValueError:
        return ""


def _filters_of_query(query: str) -> InboxFilters:
    """Filters from a query string (a saved filter's, or the page's URL an action came from),
    keeping only what the inbox knows."""
    params = dict(parse_qsl(query))
    view = params.get("view", "")
    sort = params.get("sort", "due")
    return _filters(
        view if view in VIEWS else "",
        params.get("kind", ""),
        params.get("stage", ""),
        params.get("post", ""),
        params.get("overdue", ""),
        params.get("q", ""),
        sort if sort in SORTS else "due",
        _page_mark(params.get("after", "")),
        _page_mark(params.get("before", "")),
    )


def _current_filters(request: Request) -> InboxFilters:
    """The filters of the inbox page the htmx request came from (its URL), else the defaults."""
    url = request.headers.get("HX-Current-URL", "")
    parts = urlsplit(url)
    return _filters_of_query(parts.query) if parts.path == "/inbox" else InboxFilters()


async def _inbox_context(
    request: Request, session: AsyncSession, user: User, filters: InboxFilters
) -> dict[str, Any]:
    now = datetime.now(UTC)
    found = await load_inbox(session, user=user, filters=filters, now=now)
    return {
        "inbox": found,
        "rows": found.rows,
        "counts": found.counts,
        "filters": filters,
        "now": now,
        "inbox_count": found.total,
        "unread_count": await unread_count(session, user.username),  # the bell
        "page_size": PAGE_SIZE,
        "saved": await saved_filters(session, user),
        "saved_error": None,
        "saved_name": "",
        "row_errors": {},
        "bulk_results": request.session.pop(RESULTS_KEY, None) if "session" in request.scope else None,
    }


@router.get("/inbox")
async def inbox(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    view: PageInboxView = "",
    kind: PageTaskKind = "",
    stage: PageStage = "",
    post: str = "",
    overdue: str = "",
    q: str = "",
    sort: PageInboxSort = "due",
    after: str = "",
    before: str = "",
) -> Response:
    """Open tasks the user may act on, in a view, filtered, sorted and paged as the URL says
    (`after` / `before`: the keyset cursors its Next and Previous links carry)."""
    filters = _filters(view, kind, stage, post, overdue, q, sort, after, before)
    context = await _inbox_context(request, session, user, filters)
    # Comments typed when the session had ended come back into their rows once (web.drafts).
    context["drafts"] = drafts = take_drafts(request, settings, user.username)
    answer = page_or_fragment(request, "inbox.html", "partials/inbox_table.html", context, user=user)
    if drafts:
        forget_drafts(answer, settings)
    return answer


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
    field_errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
    place: str = "row",
    decided: bool = False,
    undone: bool = False,
    held: Task | None = None,
    refresh_seconds: int | None = None,
    focus: bool = True,
) -> Response:
    """The task's row (or its deployment-page form) to swap in, with the counts out of band.

    `held` is the task as the workflow holds a decision just taken (its row may not say so yet).
    """
    # A task the user may not act on is not theirs to see either: only the message.
    hidden = status_code in (403, 404)
    task = held or (None if hidden else await session.get(Task, task_id, populate_existing=True))
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "error": error,
        "field_errors": field_errors or {},
        "typed": typed or {},
        "task_id": task_id,
        "now": now,
        "oob_count": True,
        "place": place,
        # Move focus to what changed: the decided row's message, or the error.
        "focus": focus,
        "decided_now": decided,
        "undone": undone,
        **({"refresh_seconds": refresh_seconds} if refresh_seconds else {}),
        "counts": await view_counts(session, user=user, now=now),
        **await nav(session, user),
    }
    if task is None:
        name = "partials/task_row_missing.html"
    else:
        row = context["row"] = await inbox_row(session, task, user=user, now=now)
        context["people"] = await full_names(session, [task.completed_by])
        if place == "deployment":
            name = "partials/open_task_form.html"
        elif task.status != "open":
            name = "partials/task_row_done.html"
        else:
            name = "partials/task_row_held.html" if row.held(now) else "partials/task_row.html"
    return render(request, name, context, user=user, status_code=status_code)


def _message(err: ServiceError) -> str:
    if isinstance(err, InvalidFields):
        return "; ".join(f"{e.field.replace('_', ' ')}: {e.msg}" for e in err.errors)
    return err.detail


def _split(err: ServiceError) -> tuple[str | None, dict[str, str]]:
    """The refusal as a message for the form, and the errors that belong beside a field (comment)."""
    if isinstance(err, InvalidFields):
        by_field = err.by_field()
        if "comment" in by_field:
            rest = [e for e in err.errors if e.field != "comment"]
            message = "; ".join(f"{e.field.replace('_', ' ')}: {e.msg}" for e in rest) or None
            return message, {"comment": by_field["comment"]}
    return _message(err), {}


async def _page_with_error(
    request: Request,
    session: AsyncSession,
    user: User,
    task_id: str,
    err: ServiceError,
    typed: dict[str, Any],
) -> Response:
    """Without htmx: the whole inbox again, the refused row showing why and what was typed."""
    message, field_errors = _split(err)
    context = await _inbox_context(request, session, user, InboxFilters())
    context["row_errors"] = {task_id: {"error": message, "field_errors": field_errors, "typed": typed}}
    return render(request, "inbox.html", context, user=user, status_code=err.status_code)


@router.get("/inbox/tasks/{task_id}")
async def task_row(
    request: Request,
    task_id: str,
    session: SessionDep,
    user: PageUser,
    place: str = "row",
    live: bool = False,
) -> Response:
    """The task's row as it stands now (htmx refreshes a row with it once its undo window is
    over, and the live stream when the task changed: `live`, which moves no focus); others'
    tasks: 404."""
    place = place if place in PLACES else "row"
    task = await session.get(Task, task_id, populate_existing=True)
    deployment = await session.get(Deployment, task.deployment_id) if task is not None else None
    if (
        task is None
        or deployment is None
        or permissions.may_act_on(actor_of(user), task, parties_of(deployment))
    ):
        return await _answer_row(
            request, session, user, task_id, error="no task has this id", status_code=404
        )
    if not is_htmx(request):
        return RedirectResponse(f"/deployments/{task.deployment_id}", status_code=303)
    # Still held (the workflow acts on it in a moment): ask again shortly.
    return await _answer_row(request, session, user, task_id, place=place, refresh_seconds=2, focus=not live)


@router.get("/inbox/tasks/{task_id}/facts")
async def task_facts(request: Request, task_id: str, session: SessionDep, user: PageUser) -> Response:
    """The facts beside a decision (justification, dates, cost, vetting findings, history)."""
    task = await session.get(Task, task_id)
    deployment = await session.get(Deployment, task.deployment_id) if task is not None else None
    if (
        task is None
        or deployment is None
        or permissions.may_act_on(actor_of(user), task, parties_of(deployment))
    ):
        raise NotFound("no task has this id")
    row = await inbox_row(session, task, user=user, now=datetime.now(UTC))
    context = {"row": row, "facts": await facts_of(session, deployment.id)}
    return render(request, "partials/task_facts.html", context, user=user)


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
    place = str(form.get("place") or "row")
    place = place if place in PLACES else "row"
    typed = _typed(form)
    deployment_id = ""
    try:
        task = await session.get(Task, task_id, populate_existing=True)
        if task is None:
            raise NotFound("no task has this id")
        deployment_id = task.deployment_id
        # The API's body, so a comment over its limit is refused here in the same words.
        body = parse_values(
            TaskCompletion,
            {"outcome": outcome, "comment": typed["comment"].strip(), "data": _data(task, form)},
        )
        done = await complete_task(
            session=session,
            client=client,
            user=user,
            task_id=task_id,
            outcome=body.outcome,
            comment=body.comment,
            data=body.data,
            undo_seconds=_undo_seconds(request),
        )
    except Conflict as err:
        # A second click (or another tab) after the decision: show the decided state, no error.
        current = await session.get(Task, task_id, populate_existing=True)
        if current is not None and (current.status != "open" or current.held_by == user.username):
            if not is_htmx(request):
                return _after_decision(request, place, current)
            return await _answer_row(request, session, user, task_id, typed=typed, place=place)
        return await _refused(request, session, user, task_id, err, typed, place, deployment_id)
    except ServiceError as err:
        return await _refused(request, session, user, task_id, err, typed, place, deployment_id)
    if not is_htmx(request):
        return _after_decision(request, place, done)
    return await _answer_row(
        request, session, user, task_id, typed=typed, place=place, decided=True, held=done
    )


async def _refused(
    request: Request,
    session: AsyncSession,
    user: User,
    task_id: str,
    err: ServiceError,
    typed: dict[str, Any],
    place: str,
    deployment_id: str,
) -> Response:
    if not is_htmx(request) and err.status_code not in (403, 404):
        if place == "deployment" and deployment_id:
            flash(request, f"Not decided: {_message(err)}", kind="error")
            return RedirectResponse(f"/deployments/{deployment_id}", status_code=303)
        return await _page_with_error(request, session, user, task_id, err, typed)
    message, field_errors = _split(err)
    return await _answer_row(
        request,
        session,
        user,
        task_id,
        error=message,
        field_errors=field_errors,
        typed=typed,
        status_code=err.status_code,
        place=place,
    )


def _undo_seconds(request: Request) -> int:
    """How long the workflow holds a page decision before it takes effect (CRC_UNDO_SECONDS)."""
    settings: Settings = request.app.state.settings
    return settings.CRC_UNDO_SECONDS


def _after_decision(request: Request, place: str, task: Task) -> Response:
    """Post/redirect/get for a decision sent without htmx, saying what was decided."""
    outcome = task.outcome or task.held_outcome
    done = outcome_past(outcome) if outcome else "decided"
    undo = f" You can undo it from its row for {_undo_seconds(request)} seconds." if task.held_by else ""
    flash(request, f"You {done} {task.title}.{undo}")
    url = f"/deployments/{task.deployment_id}" if place == "deployment" else "/inbox"
    return RedirectResponse(url, status_code=303)


@router.post("/inbox/tasks/{task_id}/undo")
async def undo(
    request: Request, task_id: str, session: SessionDep, client: TemporalClientDep, user: PageUser
) -> Response:
    """Withdraw the user's decision while the workflow holds it: the task is open again, with the
    comment the user had typed."""
    form = await request.form()
    place = str(form.get("place") or "row")
    place = place if place in PLACES else "row"
    typed = {"comment": str(form.get("comment") or "")}
    try:
        task = await withdraw_decision(session=session, client=client, user=user, task_id=task_id)
    except ServiceError as err:
        if not is_htmx(request):
            flash(request, f"Not undone: {_message(err)}", kind="error")
            return RedirectResponse("/inbox", status_code=303)
        return await _answer_row(
            request, session, user, task_id, error=_message(err), status_code=err.status_code, place=place
        )
    if not is_htmx(request):
        flash(request, f"Undone: {task.title} is open again.")
        url = f"/deployments/{task.deployment_id}" if place == "deployment" else "/inbox"
        return RedirectResponse(url, status_code=303)
    return await _answer_row(request, session, user, task_id, typed=typed, place=place, undone=True)


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
    if not is_htmx(request):
        return RedirectResponse("/inbox", status_code=303)
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
    if not is_htmx(request):
        return RedirectResponse("/inbox", status_code=303)
    return await _answer_row(request, session, user, task_id)


@router.post("/inbox/approve-selected")
async def approve_selected(
    request: Request, session: SessionDep, client: TemporalClientDep, user: PageUser
) -> Response:
    """Approve each selected approval through its workflow; a result for each (approved or why not)."""
    form = await request.form()
    task_ids = list(dict.fromkeys(str(v) for v in form.getlist("task_id")))[:50]
    results: list[dict[str, Any]] = []
    for task_id in task_ids:
        task = await session.get(Task, task_id, populate_existing=True)
        title = task.title if task is not None else "Unknown task"
        try:
            await complete_task(session=session, client=client, user=user, task_id=task_id, outcome="approve")
        except ServiceError as err:
            hidden = err.status_code in (403, 404)
            results.append(
                {
                    "task_id": task_id,
                    "title": "A task you may not decide" if hidden else title,
                    "ok": False,
                    "reason": _message(err),
                }
            )
        else:
            results.append({"task_id": task_id, "title": title, "ok": True, "reason": ""})
    if not task_ids:
        results = [
            {"task_id": "", "title": "Nothing approved", "ok": False, "reason": "select at least one task"}
        ]
    if not is_htmx(request):
        request.session[RESULTS_KEY] = results
        return RedirectResponse("/inbox", status_code=303)
    context = await _inbox_context(request, session, user, _current_filters(request))
    context["bulk_results"] = results
    headers = {"HX-Retarget": "#inbox-table", "HX-Reswap": "outerHTML"}
    return render(request, "partials/inbox_table.html", context, user=user, headers=headers)


@router.post("/inbox/filters")
async def save(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Keep the inbox's current filters under a name; back to the inbox showing them."""
    form = await request.form()
    filters = _filters_of_query(str(form.get("query") or ""))
    query = urlencode(_without_page(filters))
    name = str(form.get("name") or "")
    try:
        await save_filter(session, user, name=name, query=query, now=datetime.now(UTC))
    except InvalidFields as err:
        context = await _inbox_context(request, session, user, filters)
        context["saved_error"] = err.by_field().get("name", _message(err))
        context["saved_name"] = name
        return render(request, "inbox.html", context, user=user, status_code=err.status_code)
    flash(request, f"Filter saved: {name.strip()}.")
    return RedirectResponse(f"/inbox?{query}" if query else "/inbox", status_code=303)


def _without_page(filters: InboxFilters) -> dict[str, str]:
    return {k: v for k, v in filters.query().items() if k not in ("after", "before")}


@router.post("/inbox/filters/{filter_id}/delete")
async def delete(request: Request, filter_id: int, session: SessionDep, user: PageUser) -> Response:
    """Delete one of the user's saved filters."""
    await delete_filter(session, user, filter_id)
    flash(request, "Saved filter deleted.")
    return RedirectResponse("/inbox", status_code=303)
