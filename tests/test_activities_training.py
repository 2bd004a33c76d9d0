"""Training activities: the courses a member needs, seats in sessions, results, certificates."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.training import TrainingActivities
from crc.db import session_factory
from crc.domain import COURSE_FACT, COURSE_ORIENTATION, briefing_course_code
from crc.lifecycle import (
    CourseSeat,
    EnrolmentStatus,
    EnrolRequest,
    EnrolResult,
    RecordCertificate,
    ReleaseSeats,
    TrainingPlanRequest,
)
from crc.lifecycle_tables import Enrolment
from crc.stages import Stage
from crc.tables import Certificate, CourseSession
from tests.concurrency import wide_engine
from tests.factories import add, certificate, course, course_session, deployment_rows, member, post

BRIEFING = briefing_course_code("JUB")
END = date(2027, 3, 1)
MONDAY = date(2027, 1, 4)


async def _member_and_courses(engine: AsyncEngine) -> int:
    """A member, post JUB, and the FACT, orientation and JUB briefing courses; the member's id."""
    m = member()
    await add(
        engine,
        m,
        post(code="JUB"),
        course(COURSE_FACT, validity_months=60),
        course(COURSE_ORIENTATION, days=3, validity_months=None),
        course(BRIEFING, days=1, validity_months=12),
    )
    assert m.id is not None
    return m.id


async def _plan(engine: AsyncEngine, member_id: int, duration_days: int = 90) -> list[str]:
    request = TrainingPlanRequest(
        member_id=member_id, post_code="JUB", end_date=END, duration_days=duration_days
    )
    plan = await ActivityEnvironment().run(TrainingActivities(engine).plan_training, request)
    return plan.courses


async def _seats_taken(engine: AsyncEngine) -> dict[date, int]:
    async with session_factory(engine)() as session:
        sessions = (await session.exec(select(CourseSession))).all()
    return {s.starts_on: s.seats_taken for s in sessions}


async def _enrolment_statuses(engine: AsyncEngine) -> list[tuple[str, int, str]]:
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(Enrolment))).all()
    return sorted((r.course_code, r.attempt, r.status) for r in rows)


# --- plan_training -----------------------------------------------------------------------------


async def test_new_member_staying_90_days_needs_orientation_fact_and_briefing(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    assert await _plan(engine, member_id, 90) == [COURSE_ORIENTATION, COURSE_FACT, BRIEFING]


async def test_89_days_need_no_fact(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    assert await _plan(engine, member_id, 89) == [COURSE_ORIENTATION, BRIEFING]


async def test_fact_valid_through_the_end_date_is_not_repeated(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    await add(
        engine,
        certificate(member_id, COURSE_ORIENTATION, date(2024, 5, 1), None),
        certificate(member_id, COURSE_FACT, date(2022, 3, 1), END),
    )
    assert await _plan(engine, member_id, 120) == [BRIEFING]


async def test_fact_expiring_before_the_end_date_is_taken_again(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    await add(
        engine,
        certificate(member_id, COURSE_ORIENTATION, date(2024, 5, 1), None),
        certificate(member_id, COURSE_FACT, date(2022, 2, 28), END - timedelta(days=1)),
    )
    assert await _plan(engine, member_id, 120) == [COURSE_FACT, BRIEFING]


async def _plan_counting_others(engine: AsyncEngine, member_id: int, duration_days: int) -> list[str]:
    """The plan of a stay ending on END, counting the member's other deployments in the year."""
    request = TrainingPlanRequest(
        member_id=member_id,
        post_code="JUB",
        end_date=END,
        duration_days=duration_days,
        deployment_id="this-one",
        start_date=END - timedelta(days=duration_days - 1),
    )
    plan = await ActivityEnvironment().run(TrainingActivities(engine).plan_training, request)
    return plan.courses


@pytest.mark.parametrize(("earlier_days", "needs_fact"), [(29, False), (30, True)])
async def test_fact_counts_earlier_deployments_in_the_year(
    engine: AsyncEngine, earlier_days: int, needs_fact: bool
) -> None:
    # 60 days now and an earlier stay ending just inside the year: 89 days in all need no FACT,
    # 90 do. The earlier stay was approved for longer but ended early: its actual days count.
    member_id = await _member_and_courses(engine)
    window_first = END - timedelta(days=364)
    arrived = window_first - timedelta(days=10)
    await deployment_rows(
        engine,
        1,
        member_id=member_id,
        post_code="JUB",
        start=arrived,
        duration_days=200,
        stage=Stage.COMPLETED,
        arrived_on=arrived,
        left_on=window_first + timedelta(days=earlier_days - 1),
    )
    expected = [COURSE_ORIENTATION, COURSE_FACT, BRIEFING] if needs_fact else [COURSE_ORIENTATION, BRIEFING]
    assert await _plan_counting_others(engine, member_id, 60) == expected


async def test_cancelled_deployments_do_not_count_towards_fact(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    await deployment_rows(
        engine,
        1,
        member_id=member_id,
        post_code="JUB",
        start=END - timedelta(days=200),
        stage=Stage.CANCELLED,
    )
    assert await _plan_counting_others(engine, member_id, 60) == [COURSE_ORIENTATION, BRIEFING]


async def test_briefing_is_always_taken_even_when_held(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    await add(
        engine,
        certificate(member_id, COURSE_ORIENTATION, date(2024, 5, 1), None),
        certificate(member_id, BRIEFING, date(2026, 12, 1), date(2027, 12, 1)),
    )
    assert await _plan(engine, member_id, 30) == [BRIEFING]


# --- enrol -------------------------------------------------------------------------------------


async def _training_setup(engine: AsyncEngine, *sessions: CourseSession) -> str:
    """Courses, sessions and one deployment row; the deployment's id."""
    member_id = await _member_and_courses(engine)
    await add(engine, *sessions)
    [deployment_id] = await deployment_rows(engine, 1, member_id=member_id, post_code="JUB")
    return deployment_id


def _enrol(deployment_id: str, must_end_before: date | None, attempt: int = 1) -> EnrolRequest:
    return EnrolRequest(
        deployment_id=deployment_id,
        course_code=COURSE_FACT,
        attempt=attempt,
        earliest_start=MONDAY,
        must_end_before=must_end_before,
    )


def _seat(starts_on: date, session_id: int) -> CourseSeat:
    return CourseSeat(
        session_id=session_id,
        course_code=COURSE_FACT,
        course_title=f"Course {COURSE_FACT}",
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=4),
        location="Foreign Service Institute, Arlington, VA",
    )


async def test_enrol_takes_the_earliest_free_session_ending_before_the_start(engine: AsyncEngine) -> None:
    before = course_session(COURSE_FACT, MONDAY - timedelta(days=7))  # starts too early
    full = course_session(COURSE_FACT, MONDAY, seats=2, seats_taken=2)
    free = course_session(COURSE_FACT, MONDAY + timedelta(days=14))
    later = course_session(COURSE_FACT, MONDAY + timedelta(days=28))
    deployment_id = await _training_setup(engine, later, free, full, before)
    assert free.id is not None

    result = await ActivityEnvironment().run(
        TrainingActivities(engine).enrol, _enrol(deployment_id, MONDAY + timedelta(days=28))
    )

    assert result == EnrolResult(seat=_seat(free.starts_on, free.id))
    assert await _seats_taken(engine) == {
        before.starts_on: 0,
        full.starts_on: 2,
        free.starts_on: 1,
        later.starts_on: 0,
    }


async def test_session_ending_on_the_start_date_does_not_fit(engine: AsyncEngine) -> None:
    ends_on_start = course_session(COURSE_FACT, MONDAY)
    deployment_id = await _training_setup(engine, ends_on_start)
    assert ends_on_start.id is not None

    result = await ActivityEnvironment().run(
        TrainingActivities(engine).enrol, _enrol(deployment_id, ends_on_start.ends_on)
    )

    assert result == EnrolResult(seat=None, earliest_available=_seat(MONDAY, ends_on_start.id))
    assert await _seats_taken(engine) == {MONDAY: 0}


async def test_no_fitting_session_reports_the_earliest_with_a_free_seat(engine: AsyncEngine) -> None:
    full = course_session(COURSE_FACT, MONDAY, seats=3, seats_taken=3)
    too_late = course_session(COURSE_FACT, MONDAY + timedelta(days=14))
    deployment_id = await _training_setup(engine, full, too_late)
    assert too_late.id is not None

    result = await ActivityEnvironment().run(
        TrainingActivities(engine).enrol, _enrol(deployment_id, MONDAY + timedelta(days=10))
    )

    assert result == EnrolResult(seat=None, earliest_available=_seat(too_late.starts_on, too_late.id))
    assert await _seats_taken(engine) == {MONDAY: 3, too_late.starts_on: 0}
    assert await _enrolment_statuses(engine) == []


async def test_no_session_at_all_reports_nothing_available(engine: AsyncEngine) -> None:
    deployment_id = await _training_setup(engine)
    result = await ActivityEnvironment().run(TrainingActivities(engine).enrol, _enrol(deployment_id, None))
    assert result == EnrolResult(seat=None, earliest_available=None)


async def test_enrol_again_returns_the_same_seat_and_takes_no_other(engine: AsyncEngine) -> None:
    first = course_session(COURSE_FACT, MONDAY, seats=5)
    second = course_session(COURSE_FACT, MONDAY + timedelta(days=14), seats=5)
    deployment_id = await _training_setup(engine, first, second)
    acts = TrainingActivities(engine)

    once = await ActivityEnvironment().run(acts.enrol, _enrol(deployment_id, None))
    twice = await ActivityEnvironment().run(acts.enrol, _enrol(deployment_id, None))

    assert once == twice
    assert once.seat is not None and once.seat.starts_on == MONDAY
    assert await _seats_taken(engine) == {MONDAY: 1, second.starts_on: 0}
    assert await _enrolment_statuses(engine) == [(COURSE_FACT, 1, "enrolled")]


async def test_a_retake_is_a_second_enrolment(engine: AsyncEngine) -> None:
    deployment_id = await _training_setup(engine, course_session(COURSE_FACT, MONDAY, seats=5))
    acts = TrainingActivities(engine)
    await ActivityEnvironment().run(acts.enrol, _enrol(deployment_id, None, attempt=1))
    await ActivityEnvironment().run(
        acts.mark_enrolment,
        EnrolmentStatus(deployment_id=deployment_id, course_code=COURSE_FACT, attempt=1, status="failed"),
    )
    await ActivityEnvironment().run(acts.enrol, _enrol(deployment_id, None, attempt=2))

    assert await _seats_taken(engine) == {MONDAY: 2}
    assert await _enrolment_statuses(engine) == [(COURSE_FACT, 1, "failed"), (COURSE_FACT, 2, "enrolled")]


async def test_unknown_course_is_a_non_retryable_missing_row(engine: AsyncEngine) -> None:
    deployment_id = await _training_setup(engine)
    request = EnrolRequest(deployment_id=deployment_id, course_code="NOPE", earliest_start=MONDAY)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(TrainingActivities(engine).enrol, request)
    assert (raised.value.type, raised.value.non_retryable) == ("MissingRow", True)


# --- release_seats and results -----------------------------------------------------------------


async def test_release_gives_seats_back_exactly_once(engine: AsyncEngine) -> None:
    fact = course_session(COURSE_FACT, MONDAY, seats=5, seats_taken=2)
    briefing = course_session(BRIEFING, MONDAY + timedelta(days=7), days=1, seats=5)
    deployment_id = await _training_setup(engine, fact, briefing)
    acts = TrainingActivities(engine)
    env = ActivityEnvironment()
    await env.run(acts.enrol, _enrol(deployment_id, None))
    await env.run(
        acts.enrol, EnrolRequest(deployment_id=deployment_id, course_code=BRIEFING, earliest_start=MONDAY)
    )
    assert await _seats_taken(engine) == {fact.starts_on: 3, briefing.starts_on: 1}

    assert await env.run(acts.release_seats, ReleaseSeats(deployment_id=deployment_id)) == 2
    assert await env.run(acts.release_seats, ReleaseSeats(deployment_id=deployment_id)) == 0

    assert await _seats_taken(engine) == {fact.starts_on: 2, briefing.starts_on: 0}
    assert await _enrolment_statuses(engine) == [(COURSE_FACT, 1, "released"), (BRIEFING, 1, "released")]


async def test_release_leaves_decided_enrolments_alone(engine: AsyncEngine) -> None:
    deployment_id = await _training_setup(engine, course_session(COURSE_FACT, MONDAY, seats=5))
    acts = TrainingActivities(engine)
    env = ActivityEnvironment()
    await env.run(acts.enrol, _enrol(deployment_id, None))
    passed = EnrolmentStatus(deployment_id=deployment_id, course_code=COURSE_FACT, status="passed")
    await env.run(acts.mark_enrolment, passed)
    await env.run(acts.mark_enrolment, passed)

    assert await env.run(acts.release_seats, ReleaseSeats(deployment_id=deployment_id)) == 0
    assert await _seats_taken(engine) == {MONDAY: 1}
    assert await _enrolment_statuses(engine) == [(COURSE_FACT, 1, "passed")]


async def test_mark_enrolment_refuses_an_unknown_result(engine: AsyncEngine) -> None:
    deployment_id = await _training_setup(engine, course_session(COURSE_FACT, MONDAY))
    bad = EnrolmentStatus(deployment_id=deployment_id, course_code=COURSE_FACT, status="maybe")
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(TrainingActivities(engine).mark_enrolment, bad)
    assert (raised.value.type, raised.value.non_retryable) == ("InvalidEnrolmentResult", True)


async def test_mark_enrolment_without_an_enrolment_is_a_missing_row(engine: AsyncEngine) -> None:
    deployment_id = await _training_setup(engine)
    result = EnrolmentStatus(deployment_id=deployment_id, course_code=COURSE_FACT, status="passed")
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(TrainingActivities(engine).mark_enrolment, result)
    assert (raised.value.type, raised.value.non_retryable) == ("MissingRow", True)


async def _certificates(engine: AsyncEngine) -> list[tuple[str, date, date | None]]:
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(Certificate))).all()
    return sorted((c.course_code, c.issued_on, c.expires_on) for c in rows)


async def test_passed_course_adds_a_certificate_once(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    passed = RecordCertificate(member_id=member_id, course_code=COURSE_FACT, passed_on=date(2027, 1, 8))
    acts = TrainingActivities(engine)
    await ActivityEnvironment().run(acts.record_certificate, passed)
    await ActivityEnvironment().run(acts.record_certificate, passed)
    assert await _certificates(engine) == [(COURSE_FACT, date(2027, 1, 8), date(2032, 1, 8))]


async def test_passed_course_refreshes_an_older_certificate(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    await add(engine, certificate(member_id, BRIEFING, date(2025, 3, 1), date(2026, 3, 1)))
    passed = RecordCertificate(member_id=member_id, course_code=BRIEFING, passed_on=date(2028, 2, 29))
    await ActivityEnvironment().run(TrainingActivities(engine).record_certificate, passed)
    # Twelve months after a leap day is the last day of February.
    assert await _certificates(engine) == [(BRIEFING, date(2028, 2, 29), date(2029, 2, 28))]


async def test_racing_passes_of_one_course_leave_one_certificate(engine: AsyncEngine) -> None:
    """A unique key on member and course: racing records refresh one row, never add a second."""
    member_id = await _member_and_courses(engine)
    acts = TrainingActivities(engine)
    passes = [date(2027, 1, 8), date(2027, 3, 5), date(2027, 2, 1)] * 4
    await asyncio.gather(
        *(
            ActivityEnvironment().run(
                acts.record_certificate,
                RecordCertificate(member_id=member_id, course_code=COURSE_FACT, passed_on=passed_on),
            )
            for passed_on in passes
        )
    )
    assert await _certificates(engine) == [(COURSE_FACT, date(2027, 3, 5), date(2032, 3, 5))]


async def test_an_older_pass_leaves_a_later_certificate_as_it_is(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    await add(engine, certificate(member_id, BRIEFING, date(2028, 3, 1), date(2029, 3, 1)))
    passed = RecordCertificate(member_id=member_id, course_code=BRIEFING, passed_on=date(2027, 6, 1))
    await ActivityEnvironment().run(TrainingActivities(engine).record_certificate, passed)
    assert await _certificates(engine) == [(BRIEFING, date(2028, 3, 1), date(2029, 3, 1))]


async def test_course_without_validity_gives_a_certificate_that_never_expires(engine: AsyncEngine) -> None:
    member_id = await _member_and_courses(engine)
    passed = RecordCertificate(
        member_id=member_id, course_code=COURSE_ORIENTATION, passed_on=date(2027, 1, 6)
    )
    await ActivityEnvironment().run(TrainingActivities(engine).record_certificate, passed)
    assert await _certificates(engine) == [(COURSE_ORIENTATION, date(2027, 1, 6), None)]


# --- concurrency -------------------------------------------------------------------------------


@pytest.fixture
async def racing_engine(database_url: tuple[str, str | None]) -> AsyncIterator[AsyncEngine]:
    """A fresh database with a connection for each racing enrolment."""
    async with wide_engine(*database_url) as engine:
        yield engine


async def test_fifty_enrolments_at_once_fill_twenty_seats_exactly(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    await _member_and_courses(engine)
    await add(
        engine,
        course_session(COURSE_FACT, MONDAY, seats=10),
        course_session(COURSE_FACT, MONDAY + timedelta(days=14), seats=10),
    )
    # Fifty members: one member is never seated in two overlapping sessions, so one each.
    members = [member() for _ in range(50)]
    await add(engine, *members)
    deployment_ids = [
        d for m in members for d in await deployment_rows(engine, 1, member_id=m.id or 0, post_code="JUB")
    ]
    acts = TrainingActivities(engine)
    env = ActivityEnvironment()

    results = await asyncio.gather(*(env.run(acts.enrol, _enrol(d, None)) for d in deployment_ids))

    seated = [r.seat for r in results if r.seat is not None]
    assert len(seated) == 20
    assert sum(r.seat is None and r.earliest_available is None for r in results) == 30
    assert await _seats_taken(engine) == {MONDAY: 10, MONDAY + timedelta(days=14): 10}
    assert await _enrolment_statuses(engine) == [(COURSE_FACT, 1, "enrolled")] * 20
    async with session_factory(engine)() as session:
        enrolments = (await session.exec(select(Enrolment))).all()
    per_session = {s.session_id: sum(e.session_id == s.session_id for e in enrolments) for s in seated}
    assert sorted(per_session.values()) == [10, 10]


async def test_the_same_enrolment_racing_itself_takes_one_seat(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    deployment_id = await _training_setup(engine, course_session(COURSE_FACT, MONDAY, seats=10))
    acts = TrainingActivities(engine)
    env = ActivityEnvironment()

    results = await asyncio.gather(*(env.run(acts.enrol, _enrol(deployment_id, None)) for _ in range(8)))

    assert all(r == results[0] for r in results)
    assert results[0].seat is not None and results[0].seat.starts_on == MONDAY
    assert await _seats_taken(engine) == {MONDAY: 1}
    assert await _enrolment_statuses(engine) == [(COURSE_FACT, 1, "enrolled")]


# --- one member, one session at a time ---------------------------------------------------------


async def test_second_course_skips_sessions_overlapping_the_members_first_seat(engine: AsyncEngine) -> None:
    """Orientation and FACT both missing, their early sessions overlap: FACT takes the next one."""
    orientation = course_session(COURSE_ORIENTATION, MONDAY, days=3)  # Mon-Wed
    fact_overlapping = course_session(COURSE_FACT, MONDAY + timedelta(days=2))  # Wed-Sun
    fact_next = course_session(COURSE_FACT, MONDAY + timedelta(days=3))  # Thu-Mon: clear of it
    deployment_id = await _training_setup(engine, orientation, fact_overlapping, fact_next)
    assert fact_next.id is not None and orientation.id is not None
    acts = TrainingActivities(engine)
    env = ActivityEnvironment()

    first = await env.run(
        acts.enrol,
        EnrolRequest(deployment_id=deployment_id, course_code=COURSE_ORIENTATION, earliest_start=MONDAY),
    )
    second = await env.run(acts.enrol, _enrol(deployment_id, None))

    assert first.seat is not None and first.seat.session_id == orientation.id
    assert second == EnrolResult(seat=_seat(fact_next.starts_on, fact_next.id))
    assert await _seats_taken(engine) == {MONDAY: 1, fact_overlapping.starts_on: 0, fact_next.starts_on: 1}


async def test_a_seat_of_another_deployment_of_the_member_also_blocks_overlaps(engine: AsyncEngine) -> None:
    """Only overlapping sessions left: nothing is booked and the earliest clear one is reported."""
    fact_first = course_session(COURSE_FACT, MONDAY)
    fact_overlapping = course_session(COURSE_FACT, MONDAY + timedelta(days=4))  # shares Friday
    fact_clear = course_session(COURSE_FACT, MONDAY + timedelta(days=5))
    member_id = await _member_and_courses(engine)
    await add(engine, fact_first, fact_overlapping, fact_clear)
    one, other = await deployment_rows(engine, 2, member_id=member_id, post_code="JUB")
    assert fact_clear.id is not None
    acts = TrainingActivities(engine)
    env = ActivityEnvironment()

    await env.run(acts.enrol, _enrol(one, None))
    refused = await env.run(acts.enrol, _enrol(other, MONDAY + timedelta(days=9)))

    assert refused == EnrolResult(seat=None, earliest_available=_seat(fact_clear.starts_on, fact_clear.id))
    assert await _seats_taken(engine) == {MONDAY: 1, fact_overlapping.starts_on: 0, fact_clear.starts_on: 0}


async def test_a_released_seat_no_longer_blocks_its_dates(engine: AsyncEngine) -> None:
    fact = course_session(COURSE_FACT, MONDAY)
    member_id = await _member_and_courses(engine)
    await add(engine, fact)
    one, other = await deployment_rows(engine, 2, member_id=member_id, post_code="JUB")
    assert fact.id is not None
    acts = TrainingActivities(engine)
    env = ActivityEnvironment()

    await env.run(acts.enrol, _enrol(one, None))
    await env.run(acts.release_seats, ReleaseSeats(deployment_id=one))
    again = await env.run(acts.enrol, _enrol(other, None))

    assert again == EnrolResult(seat=_seat(MONDAY, fact.id))
    assert await _seats_taken(engine) == {MONDAY: 1}
