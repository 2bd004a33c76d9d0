"""Each timer rule of the domain at its boundary, on the time-skipping server with the policies the
web gives a workflow (crc.policy from the default settings): changing one number by one fails."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from activities.travel import DatabaseTravelProvider
from crc import names
from crc.db import session_factory
from crc.domain import COURSE_ORIENTATION, SKU_HELMET, Component
from crc.events import EventKind
from crc.lifecycle_tables import CheckIn
from crc.policy import approval_policy, lifecycle_policy
from crc.progress import WaitingFor
from crc.settings import Settings
from crc.stages import Stage
from crc.tables import CourseSession, Deployment, Post, StockItem, Task
from crc.tasks import TaskKind
from tests import factories
from tests.lifecycle_world import Driver, RefusesOutboundOnce, add_world
from tests.workflow_helpers import db_events, db_tasks, refusal, start, status, wait_until
from worker import build_worker
from workflows.core import start_of_day

# The world's sessions (tests/lifecycle_world.py) begin in 3, 10 and 17 days. Orientation (3 days)
# takes the first, to the 5th day; the briefing's first (2 days) overlaps it and a member is never
# seated in two at once, so the briefing is the one in 10 days, to the 11th: a deployment reaches
# TRAVEL on the 11th day.
BRIEFING_ENDS, ORIENTATION_ENDS = 11, 5
TRAVEL_ON_DAY = BRIEFING_ENDS


def day(offset: int) -> date:
    """Today (the world's calendar) moved on by `offset` days."""
    return date.today() + timedelta(days=offset)


@asynccontextmanager
async def deployment(
    env: WorkflowEnvironment,
    engine: AsyncEngine,
    task_queue: str,
    *,
    component: Component = Component.ACTIVE,
    start_in_days: int = 45,
    duration_days: int = 60,
    lead_days: int | None = None,
    provider: DatabaseTravelProvider | None = None,
    **member_overrides: Any,
) -> AsyncIterator[Driver]:
    """A running deployment with the default settings' timers; the post's lead time, the member
    and the travel provider as given."""
    settings = Settings(CRC_ENV="dev")
    request = await factories.requested_deployment(
        engine,
        component=component,
        start_in_days=start_in_days,
        duration_days=duration_days,
        approval=approval_policy(settings, component),
        lifecycle=lifecycle_policy(settings),
        **member_overrides,
    )
    if lead_days is not None:
        async with session_factory(engine).begin() as session:
            post = await session.get(Post, request.post_code)
            assert post is not None
            post.clearance_lead_days = lead_days
    await add_world(engine, request.post_code)
    async with build_worker(env.client, engine, task_queue=task_queue, travel_provider=provider):
        handle = await start(env.client, task_queue, request)
        yield Driver(handle=handle, request=request, env=env)


async def task_rows(engine: AsyncEngine, driver: Driver, kind: TaskKind) -> list[Task]:
    """The read-model's rows of the deployment's tasks of one kind, oldest first."""
    return [t for t in await db_tasks(engine, driver.request.deployment_id) if t.kind == kind]


async def events_after(
    engine: AsyncEngine, driver: Driver, since: datetime, *kinds: EventKind
) -> list[tuple[str, timedelta]]:
    """(kind, how long after `since`) of the deployment's events of these kinds, oldest first."""
    return [
        (e.kind, to_the_minute(e.occurred_at - since))
        for e in await db_events(engine, driver.request.deployment_id)
        if e.kind in kinds
    ]


def to_the_minute(delta: timedelta) -> timedelta:
    """A delay rounded to whole minutes: a timer fires on time, but the activity or workflow task that
    records what it did runs later, by seconds on a loaded machine (every rule here is in hours)."""
    return timedelta(minutes=round(delta.total_seconds() / 60))


async def event_time(engine: AsyncEngine, driver: Driver, kind: EventKind) -> datetime:
    """When the deployment's one event of this kind happened."""
    [at] = [e.occurred_at for e in await db_events(engine, driver.request.deployment_id) if e.kind == kind]
    return at


async def sleep_until(env: WorkflowEnvironment, at: datetime) -> None:
    """Skip the server's clock to exactly `at`."""
    await env.sleep(at - await env.get_current_time())


async def arrival_time(engine: AsyncEngine, driver: Driver) -> datetime:
    """When the member's arrival check-in was taken."""
    async with session_factory(engine)() as session:
        rows = await session.exec(
            select(CheckIn).where(CheckIn.deployment_id == driver.request.deployment_id, col(CheckIn.arrival))
        )
        return rows.one().at


async def set_stock(engine: AsyncEngine, sku: str, quantity: int) -> None:
    """Put `quantity` of a SKU in every depot, behind the workflow's back."""
    async with session_factory(engine).begin() as session:
        for item in (await session.exec(select(StockItem).where(StockItem.sku == sku))).all():
            item.quantity = quantity


async def test_standby_approvals_are_due_in_five_days_reminded_at_three_and_three_quarters(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue, component=Component.STANDBY) as d:
        await d.tasks(TaskKind.APPROVAL, 4)
        rows = await task_rows(engine, d, TaskKind.APPROVAL)
        opened = rows[0].created_at
        assert [(t.role, t.due_at) for t in rows] == [
            (role, opened + timedelta(days=5))
            for role in sorted(["chief_of_mission", "home_agency", "planning", "resource_management"])
        ]
        outcome = await d.handle.result()  # nobody decides
        assert (outcome.stage, outcome.reason) == (Stage.EXPIRED, "No decision from every office in time")
        chased = await events_after(
            engine, d, opened, EventKind.REMINDER, EventKind.ESCALATED, EventKind.EXPIRED
        )
        assert chased == [
            *[(EventKind.REMINDER, timedelta(days=3, hours=18))] * 4,
            *[(EventKind.ESCALATED, timedelta(days=5))] * 4,
            (EventKind.EXPIRED, timedelta(days=10)),
        ]


async def test_a_request_returned_for_changes_expires_unamended_at_twice_the_due_time(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue) as d:  # Active: approvals due in 24 hours
        planning = next(t for t in await d.tasks(TaskKind.APPROVAL, 3) if t.role == "planning")
        await d.decide(planning, "request_changes", comment="Shorter")
        await wait_until(d.handle, lambda s: s.waiting_for == WaitingFor.AMENDMENT)
        returned = await event_time(engine, d, EventKind.RETURNED_FOR_CHANGES)
        outcome = await d.handle.result()  # the requester never amends
        assert (outcome.stage, outcome.reason) == (Stage.EXPIRED, "Not amended in time")
        assert await events_after(engine, d, returned, EventKind.EXPIRED) == [
            (EventKind.EXPIRED, timedelta(hours=48))
        ]


async def test_a_missed_check_in_is_flagged_a_week_and_a_days_grace_after_the_last(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue) as d:
        await d.to_travel()
        arrival = await d.arrive()
        arrived_at = await arrival_time(engine, d)
        assert arrival.next_due_at == arrived_at + timedelta(days=7)
        await sleep_until(temporal_env, arrived_at + timedelta(days=8, minutes=-1))
        assert (await status(d.handle)).open_tasks == []  # due a day ago, still within the grace
        await temporal_env.sleep(timedelta(minutes=2))
        await d.task(TaskKind.MISSED_CHECK_IN)
        [alert] = await task_rows(engine, d, TaskKind.MISSED_CHECK_IN)
        assert await events_after(engine, d, arrived_at, EventKind.MISSED_CHECK_IN) == [
            (EventKind.MISSED_CHECK_IN, timedelta(days=8))
        ]
        assert alert.due_at == alert.created_at + timedelta(hours=4)


@pytest.mark.parametrize(("start_in_days", "expedited"), [(32, True), (33, False)])
async def test_country_clearance_is_due_the_posts_lead_time_before_arrival(
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    task_queue: str,
    start_in_days: int,
    expedited: bool,
) -> None:
    # A post wanting 21 days' notice (the factory's wants 10): from the 11th day, a start on the
    # 32nd is inside it and one on the 33rd is not.
    async with deployment(temporal_env, engine, task_queue, start_in_days=start_in_days, lead_days=21) as d:
        await d.to_travel()
        await d.task(TaskKind.COUNTRY_CLEARANCE)
        [clearance] = await task_rows(engine, d, TaskKind.COUNTRY_CLEARANCE)
        assert clearance.created_at.date() == day(TRAVEL_ON_DAY)
        assert clearance.title.startswith("EXPEDITED, inside the lead time: ") is expedited
        if expedited:  # to the Chief of Mission at once
            assert clearance.due_at == clearance.created_at + timedelta(days=1)
        else:
            assert clearance.due_at == start_of_day(day(start_in_days - 21))


async def test_a_course_result_opens_on_the_sessions_last_day_and_is_due_two_days_later(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue) as d:
        await d.approve_all()
        results = await d.tasks(TaskKind.TRAINING_RESULT, 2)
        assert sorted((t.opens_on, t.due_at) for t in results) == [
            (day(last), start_of_day(day(last)) + timedelta(days=2))
            for last in (ORIENTATION_ENDS, BRIEFING_ENDS)
        ]


async def test_kit_is_acknowledged_by_the_day_before_the_start(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue) as d:
        await d.approve_all()
        await d.pass_training()
        receipt = await d.task(TaskKind.KIT_RECEIPT)
        assert receipt.due_at == start_of_day(d.request.start_date) - timedelta(days=1)


async def test_kit_out_of_stock_is_retried_after_an_hour_doubling_to_a_day(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue) as d:
        await set_stock(engine, SKU_HELMET, 0)
        await d.approve_all()
        await d.pass_training()
        await d.task(TaskKind.KIT_SHORTAGE)
        short_at = await event_time(engine, d, EventKind.KIT_SHORT)
        [shortage] = await task_rows(engine, d, TaskKind.KIT_SHORTAGE)
        assert shortage.due_at == shortage.created_at + timedelta(days=2)  # Logistics has two days
        # Retries after 1, 2, 4, 8 and 16 hours (31 in all), then a day: restocked in between, the
        # kit is reserved 55 hours after the shortage (without a cap: 63; without doubling: 32).
        await sleep_until(temporal_env, short_at + timedelta(hours=31, minutes=30))
        await set_stock(engine, SKU_HELMET, 1)
        await sleep_until(temporal_env, short_at + timedelta(hours=56))
        await d.task(TaskKind.KIT_RECEIPT)
        assert await events_after(engine, d, short_at, EventKind.KIT_ISSUED) == [
            (EventKind.KIT_ISSUED, timedelta(hours=55))
        ]


async def test_the_stay_ends_on_its_end_date_and_out_processing_is_due_two_weeks_later(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue, duration_days=10) as d:
        await d.to_travel()
        await d.arrive()
        end = d.request.start_date + timedelta(days=9)
        await sleep_until(temporal_env, start_of_day(end) + timedelta(hours=23, minutes=59))
        assert (await status(d.handle)).stage == Stage.DEPLOYED  # the last day is spent in country
        await temporal_env.sleep(timedelta(minutes=2))
        await d.wait_stage(Stage.REDEPLOYMENT)
        async with session_factory(engine)() as session:
            row = await session.get(Deployment, d.request.deployment_id)
        assert row is not None and row.left_on == end
        await d.task(TaskKind.KIT_RETURN)
        closing = [
            t for t in await db_tasks(engine, d.request.deployment_id) if t.stage == Stage.REDEPLOYMENT
        ]
        assert sorted((t.kind, t.due_at) for t in closing) == [
            (kind, start_of_day(end) + timedelta(days=14))
            for kind in sorted(["after_action_report", "kit_return", "medical_out_processing"])
        ]


@pytest.mark.parametrize(
    ("days", "refused"),
    [
        # 60 + 305 days pass the rule of length and go on to the checks, where FACT is missing.
        (
            305,
            (
                names.ERR_NOT_ELIGIBLE,
                "the longer stay fails its checks: No FACT certificate; "
                "FACT is needed for 365 days abroad in the year",
            ),
        ),
        (306, (names.ERR_INVALID_DATA, "a deployment lasts 1 to 365 days in all")),
    ],
)
async def test_an_extension_may_bring_a_stay_to_365_days_in_all(
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    task_queue: str,
    days: int,
    refused: tuple[str, str],
) -> None:
    async with deployment(temporal_env, engine, task_queue) as d:
        await d.to_travel()
        await d.arrive()
        error = await refusal(d.extend(days))
        assert (error.type, error.message) == refused


async def test_a_vetting_review_is_due_five_days_after_it_opens(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue, medical_expires=day(30)) as d:
        await d.approve_all()
        await d.task(TaskKind.VETTING_REVIEW)
        [review] = await task_rows(engine, d, TaskKind.VETTING_REVIEW)
        assert (review.role, review.due_at) == ("medical", review.created_at + timedelta(days=5))


async def test_a_no_show_is_raised_two_days_after_the_start_and_due_in_four_hours(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue) as d:
        await d.to_travel()
        await d.complete(TaskKind.COUNTRY_CLEARANCE, "approve")
        await sleep_until(temporal_env, start_of_day(d.request.start_date) + timedelta(days=2, minutes=1))
        await d.task(TaskKind.NO_SHOW)
        [no_show] = await task_rows(engine, d, TaskKind.NO_SHOW)
        assert to_the_minute(no_show.created_at - start_of_day(d.request.start_date)) == timedelta(days=2)
        assert no_show.due_at == no_show.created_at + timedelta(hours=4)


async def test_a_refused_booking_is_due_with_travel_in_a_day(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    provider = RefusesOutboundOnce(engine)
    async with deployment(temporal_env, engine, task_queue, provider=provider) as d:
        await d.to_travel()
        await d.complete(TaskKind.COUNTRY_CLEARANCE, "approve")
        await d.task(TaskKind.BOOKING_REFUSED)
        [refused] = await task_rows(engine, d, TaskKind.BOOKING_REFUSED)
        assert refused.due_at == refused.created_at + timedelta(days=1)


async def test_planning_has_two_days_to_move_a_start_no_session_fits(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    # Starting in 8 days, only the sessions of the 3rd day end in time: orientation's is full.
    async with deployment(temporal_env, engine, task_queue, start_in_days=8) as d:
        async with session_factory(engine).begin() as session:
            rows = await session.exec(
                select(CourseSession).where(
                    CourseSession.course_code == COURSE_ORIENTATION, CourseSession.starts_on == day(3)
                )
            )
            early = rows.one()
            early.seats_taken = early.seats
        await d.approve_all()
        await d.task(TaskKind.TRAINING_SCHEDULE)
        [ask] = await task_rows(engine, d, TaskKind.TRAINING_SCHEDULE)
        assert ask.due_at == ask.created_at + timedelta(days=2)


async def test_an_extension_is_due_with_its_offices_in_three_days(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async with deployment(temporal_env, engine, task_queue) as d:
        await d.to_travel()
        await d.arrive()
        await d.extend(10)
        rows = await task_rows(engine, d, TaskKind.EXTENSION)
        assert [(t.role, t.due_at) for t in rows] == [
            (office, rows[0].created_at + timedelta(days=3)) for office in ("planning", "resource_management")
        ]
