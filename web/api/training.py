"""Training's courses and sessions: /api/v1/courses and /api/v1/sessions (training, admin)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict

from crc.courses import CourseCreate, CoursePublic, CourseUpdate, SessionCreate, SessionPublic, SessionUpdate
from crc.fields import A_DATE, INT32_MAX
from crc.roles import Role
from crc.tables import User
from web.api.responses import BY_ID, documented
from web.deps import SessionDep, require_roles
from web.schemas import Page, TaskPublic
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
from web.services.requests import today_utc

router = APIRouter(tags=["training"], responses=documented(403))
TrainingUser = Annotated[User, Depends(require_roles(Role.TRAINING.value, Role.ADMIN.value))]
SessionId = Annotated[int, Path(ge=1, le=INT32_MAX)]


class EnrolledMember(BaseModel):
    """A member's seat in the session, and the Training result task it leads to (once opened)."""

    model_config = ConfigDict(from_attributes=True)

    deployment_id: str
    member_id: int
    member_name: str
    attempt: int
    status: str  # enrolled, passed, failed
    result_task: TaskPublic | None


class SessionDetail(SessionPublic):
    """A session with its course's title and the members who hold a seat."""

    course_title: str
    enrolled: list[EnrolledMember]


@router.get("/courses")
async def read_courses(session: SessionDep, _user: TrainingUser) -> Page[CoursePublic]:
    """Every course, by code."""
    courses = [CoursePublic.model_validate(c) for c in await list_courses(session)]
    return Page(items=courses, total=len(courses))


@router.post("/courses", status_code=status.HTTP_201_CREATED, responses=documented(413))
async def add_course(body: CourseCreate, session: SessionDep, _user: TrainingUser) -> CoursePublic:
    """A new course (its code is taken once and for all)."""
    return CoursePublic.model_validate(await create_course(session, body))


@router.patch("/courses/{code}", responses=documented(404, 413))
async def change_course(
    code: Annotated[str, Path(max_length=32)], body: CourseUpdate, session: SessionDep, _user: TrainingUser
) -> CoursePublic:
    """Change a course's title, days or certificate validity."""
    return CoursePublic.model_validate(await update_course(session, code, body))


@router.get("/sessions", responses=BY_ID)
async def read_sessions(
    session: SessionDep,
    _user: TrainingUser,
    course: Annotated[str | None, Query(max_length=32, description="a course code")] = None,
    from_date: Annotated[
        Annotated[date, A_DATE] | None,
        Query(alias="from", description="sessions running on or after this day"),
    ] = None,
    to_date: Annotated[
        Annotated[date, A_DATE] | None,
        Query(alias="to", description="sessions starting on or before this day"),
    ] = None,
) -> Page[SessionPublic]:
    """Sessions by first day, of one course or all, within the dates given."""
    if course:
        await get_course(session, course)  # an unknown course is a 404, not an empty list
    found = await list_sessions(session, course=course, from_date=from_date, to_date=to_date)
    return Page(items=[SessionPublic.model_validate(s) for s in found], total=len(found))


@router.post("/sessions", status_code=status.HTTP_201_CREATED, responses=documented(413))
async def add_session(body: SessionCreate, session: SessionDep, _user: TrainingUser) -> SessionPublic:
    """A new session of a course: from today on, as long as the course takes at least."""
    return SessionPublic.model_validate(await create_session(session, body, today=today_utc()))


@router.get("/sessions/{session_id}", responses=BY_ID)
async def read_session(session_id: SessionId, session: SessionDep, _user: TrainingUser) -> SessionDetail:
    """One session with the members enrolled and their result tasks."""
    found = await get_session(session, session_id)
    course = await get_course(session, found.course_code)
    seats = await seats_of(session, found)
    return SessionDetail(
        **SessionPublic.model_validate(found).model_dump(),
        course_title=course.title,
        enrolled=[
            EnrolledMember(
                deployment_id=s.deployment.id,
                member_id=s.member.id or 0,
                member_name=s.member.name,
                attempt=s.enrolment.attempt,
                status=s.enrolment.status,
                result_task=TaskPublic.model_validate(s.result_task) if s.result_task else None,
            )
            for s in seats
        ],
    )


@router.patch("/sessions/{session_id}", responses=documented(404, 409, 413))
async def change_session(
    session_id: SessionId, body: SessionUpdate, session: SessionDep, _user: TrainingUser
) -> SessionPublic:
    """Change a session's place, seats (not below those taken) or, while no seat is taken, dates."""
    return SessionPublic.model_validate(await update_session(session, session_id, body, today=today_utc()))
