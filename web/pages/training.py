"""Training's screens: sessions by course, a session with its members and their results, courses.

Results are recorded through the TRAINING_RESULT tasks with the inbox's own decision form and
route (/inbox/tasks/{id}), so the date rule and the undo window are the same everywhere.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from crc.courses import CourseCreate, CourseUpdate, SessionCreate, SessionUpdate
from crc.fields import INT32_MAX
from crc.roles import Role
from crc.tables import Course, CourseSession, User
from web.deps import SessionDep, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import form_values, parse_form
from web.services.courses import (
    create_course,
    create_session,
    get_course,
    get_session,
    list_courses,
    list_sessions,
    seats_of,
    update_course,
    update_session,
)
from web.services.errors import InvalidFields
from web.services.inbox import rows_to_decide
from web.services.people import full_names
from web.services.requests import today_utc
from web.templating import render

router = APIRouter()
PageTraining = Annotated[User, Depends(require_page_roles(Role.TRAINING.value, Role.ADMIN.value))]
SessionId = Annotated[int, Path(ge=1, le=INT32_MAX)]
COURSE_FIELDS = ("code", "title", "days", "validity_months")
SESSION_FIELDS = ("course_code", "location", "starts_on", "ends_on", "seats")


@router.get("/training")
async def training(request: Request, session: SessionDep, user: PageTraining) -> Response:
    """Every course with its upcoming sessions, and the past ones folded away."""
    today = today_utc()
    sessions = await list_sessions(session)
    courses = [
        {
            "course": c,
            "upcoming": [s for s in sessions if s.course_code == c.code and s.ends_on >= today],
            "past": [s for s in sessions if s.course_code == c.code and s.ends_on < today][::-1],
        }
        for c in await list_courses(session)
    ]
    context = {"courses": courses, "today": today, **await nav(session, user)}
    return render(request, "training.html", context, user=user)


# --- Sessions ----------------------------------------------------------------------------------


def _session_values(s: CourseSession) -> dict[str, str]:
    return {
        "course_code": s.course_code,
        "location": s.location,
        "starts_on": s.starts_on.isoformat(),
        "ends_on": s.ends_on.isoformat(),
        "seats": str(s.seats),
    }


async def _session_form(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    editing: CourseSession | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "editing": editing,
        "course_options": [(c.code, f"{c.code}: {c.title}") for c in await list_courses(session)],
        **await nav(session, user),
    }
    return render(request, "session_form.html", context, user=user, status_code=status_code)


@router.get("/training/sessions/new")
async def new_session_form(
    request: Request, session: SessionDep, user: PageTraining, course: str = ""
) -> Response:
    """The form for a new session (of `course`, if given)."""
    values = dict.fromkeys(SESSION_FIELDS, "") | {"course_code": course[:32]}
    return await _session_form(request, session, user, values=values, errors={})


@router.post("/training/sessions/new")
async def new_session(request: Request, session: SessionDep, user: PageTraining) -> Response:
    """Create the session, or show the form again with a message per bad field."""
    form = await request.form()
    values = form_values(form, SESSION_FIELDS)
    try:
        created = await create_session(session, parse_form(SessionCreate, form), today=today_utc())
    except InvalidFields as err:
        return await _session_form(
            request, session, user, values=values, errors=err.by_field(), status_code=422
        )
    flash(request, f"Added a {created.course_code} session from {created.starts_on} to {created.ends_on}.")
    return see_other(request, f"/training/sessions/{created.id}")


@router.get("/training/sessions/{session_id}/edit")
async def edit_session_form(
    request: Request, session_id: SessionId, session: SessionDep, user: PageTraining
) -> Response:
    """The form for one session (its course stays)."""
    current = await get_session(session, session_id)
    return await _session_form(
        request, session, user, values=_session_values(current), errors={}, editing=current
    )


@router.post("/training/sessions/{session_id}/edit")
async def edit_session(
    request: Request, session_id: SessionId, session: SessionDep, user: PageTraining
) -> Response:
    """Save the session, or show the form again with a message per bad field."""
    form = await request.form()
    current = await get_session(session, session_id)
    values = form_values(form, SESSION_FIELDS) | {"course_code": current.course_code}
    try:
        await update_session(session, session_id, parse_form(SessionUpdate, form), today=today_utc())
    except InvalidFields as err:
        return await _session_form(
            request,
            session,
            user,
            values=values,
            errors=err.by_field(),
            editing=await get_session(session, session_id),
            status_code=422,
        )
    flash(request, "Saved the session.")
    return see_other(request, f"/training/sessions/{session_id}")


@router.get("/training/sessions/{session_id}")
async def session_page(
    request: Request, session_id: SessionId, session: SessionDep, user: PageTraining
) -> Response:
    """A session, the members holding a seat and, for each, its result to record (from the last day)."""
    current = await get_session(session, session_id)
    course = await get_course(session, current.course_code)
    now = datetime.now(UTC)
    seats = await seats_of(session, current)
    forms: dict[str, Any] = {}
    for seat in seats:
        task = seat.result_task
        if task is not None and task.status == "open":
            rows = await rows_to_decide(session, user=user, deployment_id=seat.deployment.id, now=now)
            forms |= {row.task.id: row for row in rows if row.task.id == task.id}
    context = {
        "s": current,
        "course": course,
        "seats": seats,
        # Who recorded each result (a member's name or the user's full name).
        "people": await full_names(session, (s.result_task.completed_by for s in seats if s.result_task)),
        "forms": forms,
        "now": now,
        "today": today_utc(),
        **await nav(session, user),
    }
    return render(request, "training_session.html", context, user=user)


# --- Courses -----------------------------------------------------------------------------------


def _course_values(c: Course) -> dict[str, str]:
    return {
        "code": c.code,
        "title": c.title,
        "days": str(c.days),
        "validity_months": "" if c.validity_months is None else str(c.validity_months),
    }


async def _course_form(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    editing: Course | None = None,
    status_code: int = 200,
) -> Response:
    context = {"values": values, "errors": errors, "editing": editing, **await nav(session, user)}
    return render(request, "course_form.html", context, user=user, status_code=status_code)


@router.get("/training/courses")
async def courses(request: Request, session: SessionDep, user: PageTraining) -> Response:
    """Every course: its days and how long its certificate lasts."""
    context = {"courses": await list_courses(session), **await nav(session, user)}
    return render(request, "courses.html", context, user=user)


@router.get("/training/courses/new")
async def new_course_form(request: Request, session: SessionDep, user: PageTraining) -> Response:
    """The form for a new course."""
    return await _course_form(request, session, user, values=dict.fromkeys(COURSE_FIELDS, ""), errors={})


@router.post("/training/courses/new")
async def new_course(request: Request, session: SessionDep, user: PageTraining) -> Response:
    """Create the course, or show the form again with a message per bad field."""
    form = await request.form()
    values = form_values(form, COURSE_FIELDS)
    try:
        created = await create_course(session, parse_form(CourseCreate, form))
    except InvalidFields as err:
        return await _course_form(
            request, session, user, values=values, errors=err.by_field(), status_code=422
        )
    flash(request, f"Added the course {created.code}.")
    return see_other(request, "/training/courses")


@router.get("/training/courses/{code}/edit")
async def edit_course_form(
    request: Request, code: Annotated[str, Path(max_length=32)], session: SessionDep, user: PageTraining
) -> Response:
    """The form for one course (its code stays)."""
    course = await get_course(session, code)
    return await _course_form(
        request, session, user, values=_course_values(course), errors={}, editing=course
    )


@router.post("/training/courses/{code}/edit")
async def edit_course(
    request: Request, code: Annotated[str, Path(max_length=32)], session: SessionDep, user: PageTraining
) -> Response:
    """Save the course, or show the form again with a message per bad field."""
    form = await request.form()
    course = await get_course(session, code)
    values = form_values(form, COURSE_FIELDS) | {"code": course.code}
    try:
        await update_course(session, code, parse_form(CourseUpdate, form))
    except InvalidFields as err:
        return await _course_form(
            request, session, user, values=values, errors=err.by_field(), editing=course, status_code=422
        )
    flash(request, f"Saved the course {code}.")
    return see_other(request, "/training/courses")
