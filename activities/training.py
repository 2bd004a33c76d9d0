"""Training: the courses a member still needs, seats in sessions, results and certificates."""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.read_model import ReadModelActivities
from activities.rows import dialect_insert, require
from crc.dates import add_months
from crc.db import is_unique_violation, session_factory
from crc.domain import COURSE_FACT, COURSE_ORIENTATION, FACT_REQUIRED_AFTER_DAYS, briefing_course_code
from crc.lifecycle import (
    CourseSeat,
    EnrolmentStatus,
    EnrolRequest,
    EnrolResult,
    RecordCertificate,
    ReleaseSeats,
    TrainingPlan,
    TrainingPlanRequest,
    TrainingResult,
)
from crc.lifecycle_tables import Enrolment
from crc.member_time import days_abroad
from crc.names import ERR_MISSING_ROW
from crc.policy import fact_required_by_threat
from crc.tables import Certificate, Course, CourseSession, Deployment, Post, utcnow
from crc.types import StageChange

# Named, non-retryable: a result other than passed or failed is a caller's mistake.
ERR_INVALID_RESULT = "InvalidEnrolmentResult"
RESULTS = frozenset({"passed", "failed"})
REMOTE = "Remote, same day"


def needed_courses(
    certificates: list[Certificate],
    request: TrainingPlanRequest,
    days_abroad: int,
    threat_level: str | None = None,
) -> list[str]:
    """Orientation if never taken, FACT for 90 days or more abroad in the year (`days_abroad`)
    or at a post whose threat asks for it (crc.policy), unless a valid one covers the end date,
    and always the post's briefing; in course order."""
    held = {c.course_code for c in certificates}
    fact_covers_end = any(
        c.course_code == COURSE_FACT and (c.expires_on is None or c.expires_on >= request.end_date)
        for c in certificates
    )
    courses = []
    if COURSE_ORIENTATION not in held:
        courses.append(COURSE_ORIENTATION)
    fact_needed = days_abroad >= FACT_REQUIRED_AFTER_DAYS or fact_required_by_threat(threat_level)
    if fact_needed and not fact_covers_end:
        courses.append(COURSE_FACT)
    courses.append(briefing_course_code(request.post_code))
    return courses


def _seat(session: CourseSession, course: Course) -> CourseSeat:
    assert session.id is not None
    return CourseSeat(
        session_id=session.id,
        course_code=course.code,
        course_title=course.title,
        starts_on=session.starts_on,
        ends_on=session.ends_on,
        location=session.location,
    )


def _clashes_with_member_sessions(member_id: int) -> sa.ColumnElement[bool]:
    """True for a session overlapping one the member holds a seat in (any deployment)."""
    held = aliased(CourseSession)
    return sa.exists(
        sa.select(1)
        .select_from(Enrolment)
        .join(held, col(Enrolment.session_id) == held.id)
        .join(Deployment, col(Deployment.id) == col(Enrolment.deployment_id))
        .where(
            col(Deployment.member_id) == member_id,
            col(Enrolment.status) == "enrolled",  # a seat still held (not released, not decided)
            held.starts_on <= col(CourseSession.ends_on),
            held.ends_on >= col(CourseSession.starts_on),
        )
    )


def _open_sessions(
    course_code: str, earliest_start: date, member_id: int | None = None
) -> SelectOfScalar[int | None]:
    """Ids of the course's sessions with a free seat from `earliest_start`, earliest first;
    with `member_id`, only those not overlapping a session the member is enrolled in."""
    query = (
        select(col(CourseSession.id))
        .where(
            col(CourseSession.course_code) == course_code,
            col(CourseSession.starts_on) >= earliest_start,
            col(CourseSession.seats_taken) < col(CourseSession.seats),
        )
        .order_by(col(CourseSession.starts_on), col(CourseSession.id))
    )
    if member_id is not None:
        query = query.where(sa.not_(_clashes_with_member_sessions(member_id)))
    return query


class TrainingActivities:
    """Course planning, enrolment and results, owned by one database engine."""

    def __init__(self, engine: AsyncEngine, read_model: ReadModelActivities | None = None) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        # Records the stage change an activity carries, before its own work.
        self._read_model = read_model

    async def _record(self, change: StageChange | None) -> None:
        if change is not None:
            assert self._read_model is not None, "a stage change needs the read-model's writer"
            await self._read_model.record_stage(change)

    @activity.defn(name="plan_training")
    async def plan_training(self, request: TrainingPlanRequest) -> TrainingPlan:
        """The courses the member still needs for this deployment, from their certificates."""
        await self._record(request.stage_change)
        async with self._sessions() as session:
            held = select(Certificate).where(Certificate.member_id == request.member_id)
            certificates = list((await session.exec(held)).all())
            days = request.duration_days
            if request.deployment_id is not None and request.start_date is not None:
                days = await days_abroad(
                    session,
                    member_id=request.member_id,
                    first=request.start_date,
                    last=request.end_date,
                    exclude_id=request.deployment_id,
                )
            post = await session.get(Post, request.post_code)
        threat = post.threat_level if post is not None else None
        return TrainingPlan(courses=needed_courses(certificates, request, days, threat))

    async def _enrolled_seat(self, session: AsyncSession, request: EnrolRequest) -> CourseSeat | None:
        enrolment = (
            await session.exec(
                select(Enrolment).where(
                    Enrolment.deployment_id == request.deployment_id,
                    Enrolment.course_code == request.course_code,
                    Enrolment.attempt == request.attempt,
                )
            )
        ).first()
        if enrolment is None:
            return None
        course_session = await require(session, CourseSession, enrolment.session_id)
        course = await require(session, Course, enrolment.course_code)
        return _seat(course_session, course)

    async def _earliest_available(
        self, session: AsyncSession, request: EnrolRequest, member_id: int
    ) -> CourseSeat | None:
        first_open = _open_sessions(request.course_code, request.earliest_start, member_id).limit(1)
        session_id = (await session.exec(first_open)).first()
        if session_id is None:
            return None
        course = await require(session, Course, request.course_code)
        return _seat(await require(session, CourseSession, session_id), course)

    async def _remote_seat(
        self, session: AsyncSession, course: Course, request: EnrolRequest, day: date
    ) -> CourseSeat:
        """A same-day remote session for this member alone, with their enrolment (one commit)."""
        remote = CourseSession(
            course_code=course.code, location=REMOTE, starts_on=day, ends_on=day, seats=1, seats_taken=1
        )
        session.add(remote)
        await session.flush()
        assert remote.id is not None
        session.add(
            Enrolment(
                deployment_id=request.deployment_id,
                course_code=course.code,
                attempt=request.attempt,
                session_id=remote.id,
            )
        )
        await session.commit()
        return _seat(remote, course)

    @activity.defn(name="enrol")
    async def enrol(self, request: EnrolRequest) -> EnrolResult:
        """Take a seat in the earliest session that fits; the same request again gets the same seat."""
        async with self._sessions() as session:
            seat = await self._enrolled_seat(session, request)
            if seat is not None:
                return EnrolResult(seat=seat)
            course = await require(session, Course, request.course_code)
            if request.remote_on is not None:
                return EnrolResult(seat=await self._remote_seat(session, course, request, request.remote_on))
            # One member is never booked into two sessions at once, whichever deployment holds
            # the other seat (a released seat no longer counts).
            member_id = (await require(session, Deployment, request.deployment_id)).member_id
            candidates = _open_sessions(request.course_code, request.earliest_start, member_id)
            if request.must_end_before is not None:
                candidates = candidates.where(col(CourseSession.ends_on) < request.must_end_before)
            session_ids = (await session.exec(candidates)).all()
            try:
                for session_id in session_ids:
                    assert session_id is not None
                    # The seat is taken only if one is still free when the row is written: two
                    # enrolments racing for the last seat cannot both succeed (PostgreSQL
                    # re-checks the condition after the row lock, SQLite has one writer).
                    taken = await session.exec(
                        sa.update(CourseSession)
                        .where(
                            col(CourseSession.id) == session_id,
                            col(CourseSession.seats_taken) < col(CourseSession.seats),
                        )
                        .values(seats_taken=col(CourseSession.seats_taken) + 1)
                        .execution_options(synchronize_session=False)
                    )
                    if taken.rowcount != 1:
                        continue
                    session.add(
                        Enrolment(
                            deployment_id=request.deployment_id,
                            course_code=request.course_code,
                            attempt=request.attempt,
                            session_id=session_id,
                        )
                    )
                    await session.commit()
                    return EnrolResult(seat=_seat(await require(session, CourseSession, session_id), course))
                await session.rollback()
            except sa.exc.IntegrityError as exc:
                # Another run of this activity enrolled first: its seat stands, ours is undone.
                await session.rollback()
                if not is_unique_violation(exc):
                    raise
                seat = await self._enrolled_seat(session, request)
                if seat is None:
                    raise
                return EnrolResult(seat=seat)
            # A racing run of this same request may have taken the seat that now looks like a
            # clash (its enrolment overlaps itself): that seat is the answer.
            seat = await self._enrolled_seat(session, request)
            if seat is not None:
                return EnrolResult(seat=seat)
            return EnrolResult(earliest_available=await self._earliest_available(session, request, member_id))

    @activity.defn(name="release_seats")
    async def release_seats(self, request: ReleaseSeats) -> int:
        """Give back the deployment's seats (compensation); returns how many this call released."""
        released = 0
        async with self._sessions.begin() as session:
            enrolments = (
                await session.exec(
                    select(Enrolment).where(
                        Enrolment.deployment_id == request.deployment_id, Enrolment.status == "enrolled"
                    )
                )
            ).all()
            for enrolment in enrolments:
                changed = await session.exec(
                    sa.update(Enrolment)
                    .where(col(Enrolment.id) == enrolment.id, col(Enrolment.status) == "enrolled")
                    .values(status="released", updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                if changed.rowcount != 1:
                    continue  # released by a concurrent run
                await session.exec(
                    sa.update(CourseSession)
                    .where(col(CourseSession.id) == enrolment.session_id, col(CourseSession.seats_taken) > 0)
                    .values(seats_taken=col(CourseSession.seats_taken) - 1)
                    .execution_options(synchronize_session=False)
                )
                released += 1
        return released

    @activity.defn(name="mark_enrolment")
    async def mark_enrolment(self, result: EnrolmentStatus) -> None:
        """Record Training's result (passed or failed) on the enrolment."""
        if result.status not in RESULTS:
            raise ApplicationError(
                f"enrolment result must be one of {sorted(RESULTS)}, not {result.status!r}",
                type=ERR_INVALID_RESULT,
                non_retryable=True,
            )
        async with self._sessions.begin() as session:
            enrolment = (
                await session.exec(
                    select(Enrolment).where(
                        Enrolment.deployment_id == result.deployment_id,
                        Enrolment.course_code == result.course_code,
                        Enrolment.attempt == result.attempt,
                    )
                )
            ).first()
            if enrolment is None:
                raise ApplicationError(
                    f"{result.deployment_id} has no enrolment in {result.course_code} #{result.attempt}",
                    type=ERR_MISSING_ROW,
                    non_retryable=True,
                )
            enrolment.status = result.status
            enrolment.updated_at = utcnow()

    @activity.defn(name="record_training_result")
    async def record_training_result(self, result: TrainingResult) -> None:
        """A course's result in one round trip: the enrolment, the certificate, then the status."""
        await self.mark_enrolment(result.enrolment)
        if result.certificate is not None:
            await self.record_certificate(result.certificate)
        await self._record(result.stage_change)

    @activity.defn(name="record_certificate")
    async def record_certificate(self, passed: RecordCertificate) -> None:
        """Add the member's certificate for a passed course, or refresh an older one."""
        async with self._sessions.begin() as session:
            course = await require(session, Course, passed.course_code)
            expires_on = (
                add_months(passed.passed_on, course.validity_months)
                if course.validity_months is not None
                else None
            )
            # One row per member and course (a unique key): a retry or a racing twin refreshes
            # it, and only with a later pass, so an older result never shortens a certificate.
            table = Certificate.__table__  # type: ignore[attr-defined]
            insert = dialect_insert(session)(table).values(
                member_id=passed.member_id,
                course_code=course.code,
                issued_on=passed.passed_on,
                expires_on=expires_on,
            )
            await session.exec(
                insert.on_conflict_do_update(
                    index_elements=["member_id", "course_code"],
                    set_={"issued_on": insert.excluded.issued_on, "expires_on": insert.excluded.expires_on},
                    where=table.c.issued_on < insert.excluded.issued_on,
                )
            )
