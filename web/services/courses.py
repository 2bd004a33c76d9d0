"""Training's courses and sessions: list, create and edit them, and who holds a seat.

The checks that need the database or today's date are here, each naming the field to change;
writes to a session are conditional updates, so a seat taken meanwhile is never lost.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.courses import MAX_SESSION_DAYS, CourseCreate, CourseUpdate, SessionCreate, SessionUpdate
from crc.lifecycle_tables import Enrolment
from crc.names import task_id
from crc.tables import Course, CourseSession, Deployment, Member, Task
from web.services.errors import Conflict, FieldError, InvalidFields, NotFound


async def list_courses(session: AsyncSession) -> list[Course]:
    """Every course, by code."""
    return list((await session.exec(select(Course).order_by(col(Course.code)))).all())


async def get_course(session: AsyncSession, code: str) -> Course:
    """The course of this code, or 404."""
    course = await session.get(Course, code)
    if course is None:
        raise NotFound(f"no course has the code {code!r}")
    return course


async def create_course(session: AsyncSession, body: CourseCreate) -> Course:
    """A new course; a code already in use is a 422 at `code`."""
    if await session.get(Course, body.code) is not None:
        raise InvalidFields(
            [FieldError("code", f"a course has the code {body.code} already: choose another")]
        )
    course = Course(**body.model_dump())
    session.add(course)
    try:
        await session.commit()
    except sa.exc.IntegrityError:  # created by someone else a moment ago
        await session.rollback()
        raise InvalidFields(
            [FieldError("code", f"a course has the code {body.code} already: choose another")]
        ) from None
    await session.refresh(course)
    return course


async def update_course(session: AsyncSession, code: str, body: CourseUpdate) -> Course:
    """Change the fields given (a `validity_months` of null: the certificate never expires)."""
    course = await get_course(session, code)
    for field in body.model_fields_set:
        value = getattr(body, field)
        if value is None and field != "validity_months":
            raise InvalidFields([FieldError(field, "must not be null (leave it out to keep it)")])
        setattr(course, field, value)
    session.add(course)
    await session.commit()
    await session.refresh(course)
    return course


async def list_sessions(
    session: AsyncSession,
    *,
    course: str | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
) -> list[CourseSession]:
    """Sessions of a course (or all) that run on a day from `from_date` to `to_date`, by first day."""
    query = select(CourseSession)
    if course:
        query = query.where(CourseSession.course_code == course)
    if from_date is not None:
        query = query.where(col(CourseSession.ends_on) >= from_date)
    if to_date is not None:
        query = query.where(col(CourseSession.starts_on) <= to_date)
    order = query.order_by(
        col(CourseSession.starts_on), col(CourseSession.course_code), col(CourseSession.id)
    )
    return list((await session.exec(order)).all())


async def get_session(session: AsyncSession, session_id: int) -> CourseSession:
    """The session of this id, or 404."""
    found = await session.get(CourseSession, session_id, populate_existing=True)
    if found is None:
        raise NotFound("no session has this id")
    return found


def _session_errors(
    course: Course,
    *,
    starts_on: date,
    ends_on: date,
    seats: int,
    seats_taken: int,
    today: date,
    dates: bool = True,
) -> list[FieldError]:
    """What is wrong with these values; `dates` False: the dates stay as they are, unchecked."""
    errors: list[FieldError] = []
    if seats < seats_taken:
        errors.append(FieldError("seats", f"{seats_taken} seats are taken: at least {seats_taken}"))
    if not dates:
        return errors
    if starts_on < today:
        errors.append(FieldError("starts_on", f"must be today ({today.isoformat()}) or later"))
    length = (ends_on - starts_on).days + 1
    if ends_on < starts_on:
        errors.append(FieldError("ends_on", "must be on or after the first day"))
    elif length < course.days:
        # The day it could end on at the earliest (the calendar's last, for a first day too near it).
        latest_start = date.max - timedelta(days=course.days - 1)
        last = starts_on + timedelta(days=course.days - 1) if starts_on <= latest_start else date.max
        errors.append(
            FieldError(
                "ends_on",
                f"{course.code} takes {course.days} day{'s' if course.days != 1 else ''}: "
                f"end on {last.isoformat()} or later",
            )
        )
    elif length > MAX_SESSION_DAYS:
        errors.append(FieldError("ends_on", f"a session lasts at most {MAX_SESSION_DAYS} days"))
    return errors


async def create_session(session: AsyncSession, body: SessionCreate, *, today: date) -> CourseSession:
    """A new session of a course, from today on, long enough for the course."""
    course = await session.get(Course, body.course_code)
    if course is None:
        raise InvalidFields([FieldError("course_code", f"no course has the code {body.course_code!r}")])
    errors = _session_errors(
        course, starts_on=body.starts_on, ends_on=body.ends_on, seats=body.seats, seats_taken=0, today=today
    )
    if errors:
        raise InvalidFields(errors)
    created = CourseSession(**body.model_dump())
    session.add(created)
    await session.commit()
    await session.refresh(created)
    return created


async def update_session(
    session: AsyncSession, session_id: int, body: SessionUpdate, *, today: date
) -> CourseSession:
    """Change a session that has not ended; its dates only while nobody holds a seat."""
    current = await get_session(session, session_id)
    if current.ends_on < today:
        raise Conflict(f"this session ended on {current.ends_on.isoformat()}: it can no longer be changed")
    given = {f: getattr(body, f) for f in body.model_fields_set}
    nulls = [
        FieldError(f, "must not be null (leave it out to keep it)") for f, v in given.items() if v is None
    ]
    if nulls:
        raise InvalidFields(nulls)
    starts_on = given.get("starts_on", current.starts_on)
    ends_on = given.get("ends_on", current.ends_on)
    seats = given.get("seats", current.seats)
    moved = (starts_on, ends_on) != (current.starts_on, current.ends_on)
    course = await get_course(session, current.course_code)
    errors = _session_errors(
        course,
        starts_on=starts_on,
        ends_on=ends_on,
        seats=seats,
        seats_taken=current.seats_taken,
        today=today,
        dates=moved,  # a session under way keeps its dates; a move may not go into the past
    )
    if moved and current.seats_taken:
        # Its members' result tasks open on the last day they were given; the dates hold.
        field = "starts_on" if starts_on != current.starts_on else "ends_on"
        errors.append(
            FieldError(
                field, f"{current.seats_taken} members hold seats: the dates stay (add another session)"
            )
        )
    if errors:
        raise InvalidFields(errors)
    if not given:
        return current
    # Written only if no seat was taken meanwhile that the change would not allow.
    condition = [col(CourseSession.id) == session_id, col(CourseSession.seats_taken) <= seats]
    if moved:
        condition.append(col(CourseSession.seats_taken) == 0)
    changed = await session.exec(
        sa.update(CourseSession)
        .where(*condition)
        .values(**given)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        await session.rollback()
        raise Conflict("a seat was taken meanwhile: look at the session again and retry")
    await session.commit()
    return await get_session(session, session_id)


@dataclass(frozen=True)
class Seat:
    """A member's seat in a session, and the Training result task it leads to (if opened)."""

    enrolment: Enrolment
    deployment: Deployment
    member: Member
    result_task: Task | None


async def seats_of(session: AsyncSession, course_session: CourseSession) -> list[Seat]:
    """Who holds a seat (or held one and has a result), by name; released seats are left out."""
    rows = (
        await session.exec(
            select(Enrolment, Deployment, Member)
            .join(Deployment, col(Deployment.id) == col(Enrolment.deployment_id))
            .join(Member, col(Member.id) == col(Deployment.member_id))
            .where(Enrolment.session_id == course_session.id, Enrolment.status != "released")
            .order_by(col(Member.name), col(Enrolment.id))
        )
    ).all()
    # The workflow names each result task after the enrolment (workflows/training.py).
    wanted = {task_id(e.deployment_id, f"training/{e.course_code}/{e.attempt}"): e.id for e, _, _ in rows}
    tasks = (await session.exec(select(Task).where(col(Task.id).in_(list(wanted))))).all()
    by_enrolment = {wanted[t.id]: t for t in tasks}
    return [Seat(e, d, m, by_enrolment.get(e.id)) for e, d, m in rows]
