"""The deployment lifecycle after approval, on the time-skipping server with the real activities."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.travel import DatabaseTravelProvider
from crc import names
from crc.db import session_factory
from crc.domain import (
    COURSE_FACT,
    SKU_BALLISTIC_VEST,
    SKU_HELMET,
    SKU_INDIVIDUAL_KIT,
    ClearanceLevel,
    briefing_course_code,
)
from crc.lifecycle_tables import Booking, CountryClearance, Document
from crc.lifecycle_tables import CheckIn as CheckInRow
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.tables import Certificate, CourseSession, Deployment, Member, NotificationPreference, StockItem
from crc.types import CheckIn, CheckInResult, Decision, DecisionResult, DeploymentOutcome, LifecyclePolicy
from tests import factories
from tests.lifecycle_world import (
    STOCK,
    Driver,
    RefusesOutboundOnce,
    add_world,
    enrolments,
    kit,
    seats_taken,
    stock_levels,
)
from tests.mail_helpers import Mailbox, parts
from tests.workflow_helpers import (
    db_events,
    db_notifications,
    eventually,
    refusal,
    start,
    status,
    wait_until,
)
from worker import build_worker

FULL_STOCK = {SKU_INDIVIDUAL_KIT: STOCK, SKU_BALLISTIC_VEST: STOCK, SKU_HELMET: STOCK}
ALL_SEATS_FREE = 0


@dataclass
class Run:
    """One deployment under way: its driver, handle, and the test's environment."""

    env: WorkflowEnvironment
    engine: AsyncEngine
    driver: Driver

    @property
    def handle(self) -> WorkflowHandle:
        return self.driver.handle

    @property
    def deployment_id(self) -> str:
        return self.driver.request.deployment_id

    async def row(self) -> Deployment:
        async with session_factory(self.engine)() as session:
            row = await session.get(Deployment, self.deployment_id)
            assert row is not None
            return row

    async def outcome(self) -> DeploymentOutcome:
        return await self.handle.result()

    async def kinds(self) -> list[str]:
        return [e.kind for e in await db_events(self.engine, self.deployment_id)]


async def _launch(
    env: WorkflowEnvironment,
    engine: AsyncEngine,
    task_queue: str,
    *,
    duration_days: int = 60,
    start_in_days: int = 45,
    lifecycle: LifecyclePolicy | None = None,
    provider: DatabaseTravelProvider | None = None,
    **member_overrides: Any,
) -> AsyncIterator[Run]:
    request = await factories.requested_deployment(
        engine,
        duration_days=duration_days,
        start_in_days=start_in_days,
        lifecycle=lifecycle,
        **member_overrides,
    )
    await add_world(engine, request.post_code)
    await factories.add(
        engine,
        factories.user("ops.officer", "operations"),
        factories.user("ops.director", "director", scopes={"director": ["operations"]}),
    )
    async with build_worker(env.client, engine, task_queue=task_queue, travel_provider=provider):
        await start(env.client, task_queue, request)
        # No run id: updates and the result follow the workflow across continue-as-new.
        handle = env.client.get_workflow_handle(
            names.deployment_workflow_id(request.deployment_id), result_type=DeploymentOutcome
        )
        yield Run(env=env, engine=engine, driver=Driver(handle=handle, request=request, env=env))


@pytest.fixture
async def run(temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str) -> AsyncIterator[Run]:
    """A 60-day deployment (no FACT needed) of a cleared, untrained Active member, high-threat post."""
    async for r in _launch(temporal_env, engine, task_queue):
        yield r


def is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    """True when `wanted` appears in `seen` in the same order, with anything in between."""
    rest = iter(seen)
    return all(kind in rest for kind in wanted)


async def stay_until_end(r: Run) -> None:
    """Check in weekly until the stay is over."""
    while await r.driver.stage() == Stage.DEPLOYED:
        await r.env.sleep(timedelta(days=7))
        if await r.driver.stage() == Stage.DEPLOYED:
            await r.driver.check_in()


async def out_process(r: Run, *, kit_outcome: str = "returned", kit_data: dict | None = None) -> None:
    await r.driver.complete("kit_return", kit_outcome, data=kit_data)
    await r.driver.complete(
        "after_action_report", "done", data={"report": "Courts reopened in two districts."}
    )
    await r.driver.complete("medical_out_processing", "done")


async def test_full_lifecycle_of_a_180_day_deployment(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async for r in _launch(temporal_env, engine, task_queue, duration_days=180):
        await r.driver.approve_all()
        assert await stock_levels(engine) == FULL_STOCK  # not reserved until equipping
        await r.driver.pass_training(3)
        passed = await eventually(
            partial(enrolments, engine, r.deployment_id), lambda rows: all(s == "passed" for _, _, s in rows)
        )
        assert sorted(c for c, _, _ in passed) == sorted(
            ["CRC-ORIENT", COURSE_FACT, f"PDB-{r.driver.request.post_code}"]
        )
        await r.driver.complete("kit_receipt", "acknowledge")
        assert await stock_levels(engine) == {k: STOCK - 1 for k in FULL_STOCK}
        await r.driver.wait_stage(Stage.TRAVEL)
        await r.driver.complete("country_clearance", "approve")
        await wait_until(r.handle, lambda s: s.status == "Booked; waiting for the arrival check-in")
        await r.driver.until(r.driver.request.start_date)  # the member flies out on the start date
        arrival = await r.driver.check_in(location="Juba airport")
        assert (arrival.arrival, arrival.stage) == (True, Stage.DEPLOYED)
        await stay_until_end(r)
        await r.driver.wait_stage(Stage.REDEPLOYMENT)
        await out_process(r)
        outcome = await r.outcome()
        assert outcome.stage == Stage.COMPLETED

        row = await r.row()
        assert row.stage == "COMPLETED"
        # 180 days: per diem 250, danger pay 35% and after day 42 the 30% differential on $300/day.
        assert row.cost_actual_usd == Decimal("45000.00") + Decimal("18900.00") + Decimal("12420.00")
        assert row.status == "Completed: 180 days in country, $76,320.00"
        # The close-out wrote the move with its figures; the workflow's own record says the same.
        told = "Completed: 180 deployment-days, actual cost $76,320.00"
        [event] = [e for e in await db_events(engine, r.deployment_id) if e.kind == "completed"]
        assert (event.message, event.data) == (told, {"days": 180, "cost_usd": "76320.00"})
        final = await wait_until(r.handle, lambda s: s.stage == Stage.COMPLETED)
        assert (final.status, final.timeline[-1].message) == (row.status, told)
        assert await stock_levels(engine) == FULL_STOCK
        assert await kit(engine, r.deployment_id) == {sku: "returned" for sku in FULL_STOCK}
        async with session_factory(engine)() as session:
            certs = (await session.exec(select(Certificate))).all()
            assert sorted(c.course_code for c in certs) == sorted(
                ["CRC-ORIENT", COURSE_FACT, f"PDB-{r.driver.request.post_code}"]
            )
            docs = (await session.exec(select(Document))).all()
            assert [d.kind for d in docs] == ["travel_orders"]
            bookings = (await session.exec(select(Booking))).all()
            assert sorted((b.direction, b.status) for b in bookings) == [
                ("outbound", "booked"),
                ("return", "booked"),
            ]
        kinds = await r.kinds()
        milestones = [
            "requested",
            "approval_opened",
            "stage_changed",  # to vetting
            "stage_changed",  # to training
            "enrolled",
            "stage_changed",  # to equipping
            "kit_issued",
            "stage_changed",  # to travel
            "travel_booked",
            "arrival_check_in",
            "arrived",
            "check_in",
            "stage_changed",  # to redeployment
            "after_action_report.done",
            "released",
            "completed",
        ]
        assert is_subsequence(milestones, kinds), kinds
        stage_changes = [
            e.message for e in await db_events(engine, r.deployment_id) if e.kind == "stage_changed"
        ]
        assert [m.split(";")[-1].strip() for m in stage_changes] == [
            "vetting next",
            "training next",
            "equipping next",
            "travel next",
            "redeployment next",
        ]
        assert kinds.count("check_in") == 25


async def test_vetting_failure_cleared_by_medical_with_renewal(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    soon = date.today() + timedelta(days=20)
    async for r in _launch(temporal_env, engine, task_queue, medical_expires=soon):
        await r.driver.approve_all()
        review = await r.driver.task("vetting_review")
        assert review.role == "medical"
        assert review.title.startswith("Vetting: Medical clearance expires")
        renewed = date.today() + timedelta(days=800)
        await r.driver.decide(review, "clear", data={"valid_until": renewed.isoformat()})
        await r.driver.wait_stage(Stage.TRAINING)
        async with session_factory(engine)() as session:
            member = await session.get(Member, r.driver.request.member_id)
            assert member is not None and member.medical_expires == renewed


async def test_a_clearance_finding_is_cleared_only_with_the_clearance_recorded(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    # The post wants SECRET; the member holds CONFIDENTIAL.
    async for r in _launch(
        temporal_env, engine, task_queue, clearance_level=ClearanceLevel.CONFIDENTIAL.value
    ):
        await r.driver.approve_all()
        review = await r.driver.task("vetting_review")
        end = r.driver.request.start_date + timedelta(days=59)
        attempts = [
            ({}, "record the renewed or upgraded clearance to clear it: its level and valid_until"),
            (
                {"level": "confidential", "valid_until": end.isoformat()},
                "a confidential clearance does not meet the post's secret",
            ),
            (
                {"level": "secret", "valid_until": (end - timedelta(days=1)).isoformat()},
                f"the clearance must be valid through the end date {end}",
            ),
        ]
        for data, message in attempts:
            refused = await refusal(r.driver.decide(review, "clear", data=data))
            assert (refused.type, refused.message) == (names.ERR_INVALID_DATA, message)
        await r.driver.decide(review, "clear", data={"level": "secret", "valid_until": end.isoformat()})
        await r.driver.wait_stage(Stage.TRAINING)
        async with session_factory(engine)() as session:
            member = await session.get(Member, r.driver.request.member_id)
            assert member is not None
            assert (member.clearance_level, member.clearance_expires) == ("secret", end)


async def test_needing_help_opens_an_urgent_task_for_operations(run: Run) -> None:
    await run.driver.to_travel()
    await run.driver.arrive()
    await run.driver.check_in(status="needs_help", location="Bor")
    task = await run.driver.task("needs_help")
    now = await run.env.get_current_time()
    assert (task.role, task.outcomes, task.title) == (
        "operations",
        ["resolved"],
        f"URGENT: {run.driver.request.member_name} needs help at Bor: no note",
    )
    assert task.due_at is not None and timedelta(minutes=59) < task.due_at - now <= timedelta(hours=1)
    row = await run.row()
    assert row.due_at == task.due_at  # the most urgent thing the deployment waits for
    refused = await refusal(run.driver.decide(task, "resolved"))
    assert (refused.type, refused.message) == (names.ERR_COMMENT_REQUIRED, "say why in the comment")
    await run.handle.execute_update(
        names.UPDATE_DECIDE,
        Decision(
            task_id=task.id, outcome="resolved", user="ops", roles=["operations"], comment="Evacuated to Juba"
        ),
        result_type=DecisionResult,
    )
    assert [t.kind for t in (await status(run.handle)).open_tasks] == []


async def test_a_missed_check_in_alert_open_a_day_goes_to_the_operations_director(run: Run) -> None:
    await run.driver.to_travel()
    await run.driver.arrive()
    await run.env.sleep(timedelta(days=8, hours=1))  # a week and the day's grace, no check-in
    alert = await run.driver.task("missed_check_in")
    assert alert.escalated is False
    await run.env.sleep(timedelta(hours=22, minutes=58))  # the alert came at 8 days; a day less two minutes
    assert (await run.driver.task("missed_check_in")).escalated is False
    await run.env.sleep(timedelta(minutes=3))
    escalated = await wait_until(run.handle, lambda s: any(t.escalated for t in s.open_tasks))
    assert [t.kind for t in escalated.open_tasks if t.escalated] == ["missed_check_in"]
    notes = await db_notifications(run.engine, run.deployment_id)
    assert [(n.username, n.kind, n.urgent) for n in notes][-1] == ("ops.director", "escalation", True)


async def test_vetting_denial_cancels(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async for r in _launch(
        temporal_env, engine, task_queue, passport_expires=date.today() + timedelta(days=100)
    ):
        await r.driver.approve_all()
        review = await r.driver.task("vetting_review")
        assert review.role == "security"
        await r.driver.decide(review, "deny")
        outcome = await r.outcome()
        assert (outcome.stage, outcome.reason) == (
            Stage.CANCELLED,
            f"Vetting denied by security.officer: {review.title}",
        )


async def test_a_course_result_is_known_only_from_its_last_day(run: Run) -> None:
    await run.driver.approve_all()
    tasks = await run.driver.tasks("training_result", 2)
    for task in tasks:
        assert task.opens_on is not None
        refused = await refusal(run.driver.decide(task, "pass"))
        assert (refused.type, refused.message) == (
            names.ERR_NOT_NOW,
            f"this task opens on {task.opens_on.isoformat()}",
        )
    first = min(tasks, key=lambda t: t.opens_on or date.max)
    assert first.opens_on is not None
    await run.driver.until(first.opens_on - timedelta(days=1))
    assert (await refusal(run.driver.decide(first, "pass"))).type == names.ERR_NOT_NOW
    await run.driver.until(first.opens_on)
    await run.driver.decide(first, "pass")

    async def certificates() -> list[Certificate]:
        async with session_factory(run.engine)() as session:
            return list((await session.exec(select(Certificate))).all())

    [certificate] = await eventually(certificates, lambda c: len(c) == 1)
    assert certificate.issued_on == first.opens_on  # the session's last day, not the day recorded


async def test_a_member_not_arrived_two_days_after_the_start_is_a_no_show(run: Run) -> None:
    await run.driver.to_travel()
    await run.driver.complete("country_clearance", "approve")
    await wait_until(run.handle, lambda s: s.waiting_for == WaitingFor.ARRIVAL)
    start = run.driver.request.start_date
    await run.driver.until(start + timedelta(days=1))
    assert [t.kind for t in (await status(run.handle)).open_tasks] == []
    await run.driver.until(start + timedelta(days=2))
    no_show = await run.driver.task("no_show")
    assert (no_show.role, no_show.outcomes) == ("operations", ["accounted_for", "cancel"])
    await run.driver.decide(no_show, "accounted_for")  # delayed, on the way: go on waiting
    arrival = await run.driver.check_in(location="Juba airport")
    assert (arrival.arrival, arrival.stage) == (True, Stage.DEPLOYED)
    assert (await run.row()).arrived_on == start + timedelta(days=2)


async def test_a_no_show_cancelled_by_operations_is_undone(run: Run) -> None:
    await run.driver.to_travel()
    await run.driver.complete("country_clearance", "approve")
    await wait_until(run.handle, lambda s: s.waiting_for == WaitingFor.ARRIVAL)
    await run.driver.until(run.driver.request.start_date + timedelta(days=2))
    await run.driver.decide(await run.driver.task("no_show"), "cancel")
    outcome = await run.outcome()
    assert (outcome.stage, outcome.reason) == (
        Stage.CANCELLED,
        "Cancelled by operations.officer: the member never arrived",
    )
    assert await stock_levels(run.engine) == FULL_STOCK


async def test_failed_course_is_retaken_once_then_cancels_and_releases_seats(run: Run) -> None:
    await run.driver.approve_all()
    await run.driver.tasks("training_result", 2)  # 60 days: orientation and the briefing, no FACT
    assert await seats_taken(run.engine) == 2
    briefing = next(t for t in await run.driver.tasks("training_result", 2) if "briefing" in t.title)
    assert briefing.opens_on is not None
    await run.driver.until(briefing.opens_on)
    await run.driver.decide(briefing, "fail")
    retake = await wait_until(run.handle, lambda s: any("(retake)" in t.title for t in s.open_tasks))
    assert await seats_taken(run.engine) == 3
    retake_task = next(t for t in retake.open_tasks if "(retake)" in t.title)
    assert retake_task.opens_on is not None
    await run.driver.until(retake_task.opens_on)
    await run.driver.decide(retake_task, "fail")
    outcome = await run.outcome()
    assert outcome.stage == Stage.CANCELLED
    assert outcome.reason == f"Failed {run.driver.request.post_code} briefing twice"
    # The failed sessions' seats were used; the orientation seat not yet taken up is given back.
    assert await seats_taken(run.engine) == 2
    assert sorted(s for _, _, s in await enrolments(run.engine, run.deployment_id)) == [
        "failed",
        "failed",
        "released",
    ]


async def test_no_session_before_the_start_asks_planning_to_move_it(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    # Starting in 8 days, only the sessions starting in 3 days end in time; fill orientation's.
    async for r in _launch(temporal_env, engine, task_queue, start_in_days=8):
        async with session_factory(engine).begin() as session:
            early = (
                await session.exec(
                    select(CourseSession).where(
                        CourseSession.course_code == "CRC-ORIENT",
                        CourseSession.starts_on == date.today() + timedelta(days=3),
                    )
                )
            ).one()
            early.seats_taken = early.seats
        await r.driver.approve_all()
        ask = await r.driver.task("training_schedule")
        new_start = date.today() + timedelta(days=13)  # the day after the next session ends
        assert (ask.role, ask.outcomes) == ("planning", ["accept_later_start", "cancel"])
        assert f"start on {new_start.isoformat()} instead" in ask.title
        await r.driver.decide(ask, "accept_later_start")
        await r.driver.tasks("training_result", 2)
        row = await r.row()
        assert (row.start_date, row.end_date) == (new_start, new_start + timedelta(days=59))
        assert "start_moved" in await r.kinds()


async def test_out_of_stock_waits_for_logistics_then_reserves(run: Run) -> None:
    async with session_factory(run.engine).begin() as session:
        for item in (await session.exec(select(StockItem).where(StockItem.sku == SKU_HELMET))).all():
            item.quantity = 0
    await run.driver.approve_all()
    await run.driver.pass_training(2)
    shortage = await run.driver.task("kit_shortage")
    assert (shortage.role, shortage.title.endswith(SKU_HELMET)) == ("logistics", True)
    assert await stock_levels(run.engine) == {**FULL_STOCK, SKU_HELMET: 0}  # nothing half-reserved
    async with session_factory(run.engine).begin() as session:
        for item in (await session.exec(select(StockItem).where(StockItem.sku == SKU_HELMET))).all():
            item.quantity = 2
    await run.driver.decide(shortage, "restocked")
    await run.driver.task("kit_receipt")
    assert await stock_levels(run.engine) == {**{k: STOCK - 1 for k in FULL_STOCK}, SKU_HELMET: 1}


async def test_out_of_stock_retries_with_backoff_without_logistics(run: Run) -> None:
    async with session_factory(run.engine).begin() as session:
        for item in (await session.exec(select(StockItem).where(StockItem.sku == SKU_HELMET))).all():
            item.quantity = 0
    await run.driver.approve_all()
    await run.driver.pass_training(2)
    await run.driver.task("kit_shortage")
    async with session_factory(run.engine).begin() as session:
        for item in (await session.exec(select(StockItem).where(StockItem.sku == SKU_HELMET))).all():
            item.quantity = 1
    await run.env.sleep(timedelta(hours=1, minutes=1))  # the first retry comes after an hour
    await run.driver.task("kit_receipt")
    current = await status(run.handle)
    assert [t.kind for t in current.open_tasks] == ["kit_receipt"]  # the shortage task was withdrawn


async def test_clearance_inside_lead_time_is_flagged_urgent_not_refused(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    # An Active member starting in 8 days, at a post that wants 10 days' notice.
    async for r in _launch(temporal_env, engine, task_queue, start_in_days=8):
        # The briefing's day-3 session overlaps orientation's (days 3 to 5), and a member is never
        # seated in two sessions at once: one on days 6 and 7 still ends before the start.
        briefing = briefing_course_code(r.driver.request.post_code)
        await factories.add(
            engine, factories.course_session(briefing, date.today() + timedelta(days=6), days=2)
        )
        await r.driver.to_travel()
        clearance = await r.driver.task("country_clearance")
        expedited = "EXPEDITED, inside the lead time: Country clearance for travel: Avery Quinn"
        assert clearance.title.startswith(expedited)
        async with session_factory(engine)() as session:
            row = (await session.exec(select(CountryClearance))).one()
            assert (row.status, row.urgent) == ("requested", True)
        await r.driver.decide(clearance, "approve")
        await wait_until(r.handle, lambda s: s.status == "Booked; waiting for the arrival check-in")


async def test_clearance_outside_lead_time_is_due_lead_days_before_arrival(run: Run) -> None:
    await run.driver.to_travel()
    clearance = await run.driver.task("country_clearance")
    assert not clearance.title.startswith("EXPEDITED")
    assert clearance.due_at is not None
    assert clearance.due_at.date() == run.driver.request.start_date - timedelta(days=10)


async def test_clearance_refused_cancels_and_undoes_everything(run: Run) -> None:
    await run.driver.approve_all()
    await run.driver.pass_training(2)
    await run.driver.complete("kit_receipt", "acknowledge")
    assert await stock_levels(run.engine) == {k: STOCK - 1 for k in FULL_STOCK}
    await run.driver.complete("country_clearance", "reject", comment="No clearance this month")
    outcome = await run.outcome()
    assert outcome.stage == Stage.CANCELLED
    assert await stock_levels(run.engine) == FULL_STOCK
    assert await kit(run.engine, run.deployment_id) == {sku: "returned" for sku in FULL_STOCK}
    async with session_factory(run.engine)() as session:
        clearance = (await session.exec(select(CountryClearance))).one()
        assert clearance.status == "cancelled"
    kinds = await run.kinds()
    assert kinds[-4:] == ["compensated", "compensated", "compensated", "cancelled"]


async def test_booking_refusal_goes_to_a_travel_officer(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    async for r in _launch(temporal_env, engine, task_queue, provider=RefusesOutboundOnce(engine)):
        await r.driver.to_travel()
        await r.driver.complete("country_clearance", "approve")
        refused = await r.driver.task("booking_refused")
        assert refused.role == "travel"
        assert "no seats on the Nairobi connection" in refused.title
        await r.driver.decide(refused, "retry")
        await wait_until(r.handle, lambda s: s.status == "Booked; waiting for the arrival check-in")
        await r.driver.until(r.driver.request.start_date)
        result = await r.driver.check_in()
        assert result.arrival is True and result.stage == Stage.DEPLOYED


@pytest.mark.parametrize("stage", ["APPROVAL", "VETTING", "TRAINING", "EQUIPPING", "TRAVEL"])
async def test_cancel_from_each_stage_puts_stock_and_seats_back(
    stage: str, temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    overrides: dict[str, Any] = {}
    if stage == "VETTING":
        overrides["medical_expires"] = date.today() + timedelta(days=20)
    async for r in _launch(temporal_env, engine, task_queue, **overrides):
        d = r.driver
        if stage != "APPROVAL":
            await d.approve_all()
        if stage == "VETTING":
            await d.task("vetting_review")
        if stage in ("TRAINING", "EQUIPPING", "TRAVEL"):
            await d.tasks("training_result", 2)
        if stage in ("EQUIPPING", "TRAVEL"):
            await d.pass_training(2)
            await d.task("kit_receipt")
        if stage == "TRAVEL":
            await d.complete("kit_receipt", "acknowledge")
            await d.complete("country_clearance", "approve")
            await wait_until(r.handle, lambda s: s.status == "Booked; waiting for the arrival check-in")
        await d.wait_stage(Stage(stage))
        cancelled = await d.cancel("Post evacuated")
        assert (cancelled.stage, cancelled.status) == (
            Stage.CANCELLED,
            "Cancelled by req.user: Post evacuated",
        )
        assert cancelled.open_tasks == []
        assert await stock_levels(engine) == FULL_STOCK
        # Seats of sessions not yet held are released; a passed course keeps its (used) seat.
        expected_seats = 2 if stage in ("EQUIPPING", "TRAVEL") else ALL_SEATS_FREE
        assert await seats_taken(engine) == expected_seats
        row = await r.row()
        assert (row.stage, row.status) == ("CANCELLED", "Cancelled by req.user: Post evacuated")


async def test_only_requester_director_or_admin_may_cancel(run: Run) -> None:
    await run.driver.wait_stage(Stage.APPROVAL)
    refused = await refusal(run.driver.cancel_refused("not mine", user="someone.else"))
    assert refused.type == names.ERR_NOT_ALLOWED
    assert await run.driver.stage() == Stage.APPROVAL


async def test_check_ins_only_once_booked_and_only_by_the_member_or_operations(run: Run) -> None:
    early = await refusal(run.driver.check_in())
    assert early.type == names.ERR_NOT_NOW
    await run.driver.to_travel()
    await run.driver.complete("country_clearance", "approve")
    booked = await wait_until(run.handle, lambda s: s.waiting_for == WaitingFor.ARRIVAL)
    start = run.driver.request.start_date
    not_yet = (
        f"the arrival check-in opens on {start.isoformat()} "
        "(the start date, or the outbound travel date if that is earlier)"
    )
    assert booked.status == "Booked; waiting for the arrival check-in"
    assert (booked.arrival_opens_on, booked.closed_actions["check_in"]) == (start, not_yet)
    assert booked.due_at == datetime.combine(start, time(0), tzinfo=UTC)
    # The read-model keeps the date; pages judge it by their own day (the workflow by its clock).
    row = await run.row()
    assert (row.waiting_for, row.due_at, row.arrival_opens_on) == ("arrival", booked.due_at, start)
    assert "check_in" not in row.closed_actions

    early_arrival = await refusal(run.driver.check_in(as_operations=True))
    assert (early_arrival.type, early_arrival.message) == (names.ERR_NOT_NOW, not_yet)
    await run.driver.until(start - timedelta(days=1))
    assert (await refusal(run.driver.check_in(as_operations=True))).message == not_yet
    await run.driver.until(run.driver.request.start_date)
    stranger = await refusal(
        run.handle.execute_update(
            names.UPDATE_CHECK_IN,
            CheckIn(user="x", roles=["member"], member_id=run.driver.request.member_id + 1000, status="ok"),
            result_type=CheckInResult,
        )
    )
    assert stranger.type == names.ERR_NOT_ALLOWED
    arrival = await run.driver.check_in(as_operations=True)
    assert arrival.arrival is True
    deployed = await wait_until(run.handle, lambda s: s.waiting_for == WaitingFor.CHECK_INS)
    assert deployed.due_at == arrival.next_due_at


async def test_concurrent_check_ins_all_persist(run: Run) -> None:
    await run.driver.to_travel()
    await run.driver.arrive()
    results = await asyncio.gather(*(run.driver.check_in(location=f"Site {i}") for i in range(10)))
    assert [r.arrival for r in results] == [False] * 10
    async with session_factory(run.engine)() as session:
        rows = (
            await session.exec(select(CheckInRow).where(CheckInRow.deployment_id == run.deployment_id))
        ).all()
    regular = sorted(r.location for r in rows if not r.arrival)
    assert regular == sorted(f"Site {i}" for i in range(10))
    assert len({r.key for r in rows}) == 11  # the arrival and ten others, each its own key
    events = await db_events(run.engine, run.deployment_id)
    assert sorted(e.message for e in events if e.kind == "check_in") == sorted(
        f"Check-in at Site {i}: OK" for i in range(10)
    )


async def test_missed_check_in_alerts_operations_who_escalate(run: Run, mailbox: Mailbox) -> None:
    # Operations chose alerts in the app only: a needs-help alert is urgent and emailed anyway.
    await factories.add(
        run.engine, NotificationPreference(username="ops.officer", kind="alert", delivery="in_app")
    )
    await run.driver.to_travel()
    await run.driver.arrive()
    await run.env.sleep(timedelta(days=8, hours=1))  # a week and the day's grace, no check-in
    alert = await run.driver.task("missed_check_in")
    assert alert.role == "operations"
    await run.driver.decide(alert, "escalate")
    notes = await eventually(
        lambda: db_notifications(run.engine, run.deployment_id), lambda ns: ns[-1].kind == "escalation"
    )
    assert [(n.username, n.kind, n.subject) for n in notes][-1] == (
        "ops.director",
        "escalation",
        f"Escalated to the Operations director: {run.driver.request.member_name} has not checked in "
        "and is not accounted for",
    )
    result = await run.driver.check_in(status="needs_help", location="Bor")
    assert result.stage == Stage.DEPLOYED
    notes = await db_notifications(run.engine, run.deployment_id)
    assert [(n.username, n.kind, n.urgent) for n in notes][-1] == ("ops.officer", "alert", True)
    alerts = [n for n in notes if n.kind == "alert"]
    assert [(n.urgent, n.subject.split(":")[0]) for n in alerts] == [
        (False, "Missed check-in"),
        (True, "URGENT"),
    ]
    link = f"/deployments/{run.deployment_id}"
    [sent] = await mailbox.wait_for(
        lambda m: link in parts(m)[0] and m["To"] == "ops.officer@crc.example.gov"
    )
    assert sent["Subject"].strip() == alerts[1].subject


async def test_an_accounted_for_member_is_alerted_again_only_a_period_later(run: Run) -> None:
    await run.driver.to_travel()
    await run.driver.arrive()
    await run.env.sleep(timedelta(days=8, hours=1))
    await run.driver.complete("missed_check_in", "accounted_for")
    current = await status(run.handle)
    assert [t.kind for t in current.open_tasks] == []  # no new alert straight away
    await run.env.sleep(timedelta(days=8, hours=1))  # still silent a whole period later
    second = await run.driver.task("missed_check_in")
    assert second.title.startswith("Missed check-in: Avery Quinn")
    assert (await run.kinds()).count("missed_check_in") == 2


async def test_extension_approved_moves_the_end_date(run: Run) -> None:
    await run.driver.to_travel()
    await run.driver.arrive()
    before = (await status(run.handle)).end_date
    assert before is not None
    await run.driver.extend(20)
    tasks = await run.driver.tasks("extension", 2)
    assert sorted(t.role for t in tasks) == ["planning", "resource_management"]
    again = await refusal(run.driver.extend(10))
    assert again.type == names.ERR_NOT_NOW
    for task in tasks:
        await run.driver.decide(task, "approve")
    current = await wait_until(run.handle, lambda s: s.end_date == before + timedelta(days=20))
    assert (current.stage, current.extension_days) == (Stage.DEPLOYED, 20)
    row = await eventually(run.row, lambda r: r.extension_days == 20)
    assert (row.end_date, row.duration_days, row.extension_days) == (before + timedelta(days=20), 60, 20)


@pytest.mark.parametrize(("days", "refused"), [(29, None), (30, "FACT")])
async def test_an_extension_is_checked_for_fact_over_the_year(
    run: Run, days: int, refused: str | None
) -> None:
    # 60 days without FACT: 29 more make 89 days abroad in the year; 30 make 90, which need FACT.
    await run.driver.to_travel()
    await run.driver.arrive()
    if refused is None:
        current = await run.driver.extend(days)
        assert [t.kind for t in current.open_tasks] == ["extension", "extension"]
        return
    failure = await refusal(run.driver.extend(days))
    assert (failure.type, failure.message) == (
        names.ERR_NOT_ELIGIBLE,
        "the longer stay fails its checks: No FACT certificate; "
        "FACT is needed for 90 days abroad in the year",
    )
    assert (await status(run.handle)).open_tasks == []
    assert (await run.kinds())[-1] == "extension_refused"


async def test_an_extension_past_the_medical_clearance_is_refused(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    start = date.today() + timedelta(days=45)
    medical_until = start + timedelta(days=70)  # covers the 60 days, not 20 more
    async for r in _launch(temporal_env, engine, task_queue, medical_expires=medical_until):
        await r.driver.to_travel()
        await r.driver.arrive()
        failure = await refusal(r.driver.extend(20))
        assert (failure.type, failure.message) == (
            names.ERR_NOT_ELIGIBLE,
            "the longer stay fails its checks: Medical clearance expires "
            f"{medical_until}, before the end date {start + timedelta(days=79)}",
        )
        current = await r.driver.extend(11)  # to day 70: still covered
        assert len(current.open_tasks) == 2


async def test_an_approved_extension_carries_its_new_estimate(run: Run) -> None:
    await run.driver.to_travel()
    await run.driver.arrive()
    before = (await run.row()).cost_estimate_usd
    assert before is not None
    await run.driver.extend(10)
    tasks = await run.driver.tasks("extension", 2)
    [budget] = [t for t in tasks if t.role == "resource_management"]
    assert "; estimate $" in budget.title and "(+$" in budget.title
    assert (await run.row()).cost_estimate_usd == before  # not before it is approved
    for task in tasks:
        await run.driver.decide(task, "approve")
    await wait_until(run.handle, lambda s: s.extension_days == 10)
    after = (await eventually(run.row, lambda r: r.extension_days == 10)).cost_estimate_usd
    assert after is not None and after > before
    assert budget.title.endswith(f"estimate ${after:,.2f} (+${after - before:,.2f})")


@pytest.mark.parametrize("kit_outcome", ["returned", "missing"])
async def test_cancel_once_deployed_is_an_early_return(run: Run, kit_outcome: str) -> None:
    await run.driver.to_travel()
    await run.driver.arrive()
    await run.env.sleep(timedelta(days=3))
    result = await run.driver.cancel("Security deteriorated")
    assert result.stage == Stage.REDEPLOYMENT
    # The approved dates stand; the actual stay is the arrival to today (four days).
    start = run.driver.request.start_date
    row = await run.row()
    assert (row.start_date, row.end_date, row.duration_days) == (start, start + timedelta(days=59), 60)
    assert (row.arrived_on, row.left_on) == (start, start + timedelta(days=3))
    # Either way, only the listed item is missing ("missing" with none listed: all of it).
    await out_process(run, kit_outcome=kit_outcome, kit_data={"missing_skus": [SKU_HELMET]})
    outcome = await run.outcome()
    assert outcome.stage == Stage.COMPLETED
    assert await stock_levels(run.engine) == {**FULL_STOCK, SKU_HELMET: STOCK - 1}
    assert await kit(run.engine, run.deployment_id) == {
        SKU_INDIVIDUAL_KIT: "returned",
        SKU_BALLISTIC_VEST: "returned",
        SKU_HELMET: "missing",
    }
    assert "curtailed" in await run.kinds()


@pytest.mark.parametrize("history_limit", [8, 12, 16])
async def test_messages_while_runs_hand_over_often(
    history_limit: int, temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    # A short history limit: runs continue as new often, with check-ins and a cancel arriving
    # between and during the hand-overs; the state and the messages survive them.
    policy = LifecyclePolicy(history_limit=history_limit)
    async for r in _launch(temporal_env, engine, task_queue, lifecycle=policy):
        await r.driver.to_travel()
        await r.driver.arrive()
        await r.driver.check_in()
        result = await r.driver.cancel("Evacuation")
        assert result.stage == Stage.REDEPLOYMENT
        await out_process(r)
        assert (await r.outcome()).stage == Stage.COMPLETED


async def test_year_long_stay_continues_as_new(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    policy = LifecyclePolicy(history_limit=250)
    async for r in _launch(temporal_env, engine, task_queue, duration_days=365, lifecycle=policy):
        first_run = (await r.handle.describe()).run_id
        await r.driver.to_travel(courses=3)
        await r.driver.arrive()  # on the start date
        await stay_until_end(r)
        # The kit reserved in the first run is known to the last one: all of it recorded missing.
        await out_process(r, kit_outcome="missing")
        outcome = await r.outcome()
        assert outcome.stage == Stage.COMPLETED
        assert await kit(engine, r.deployment_id) == {sku: "missing" for sku in FULL_STOCK}
        assert await stock_levels(engine) == {k: STOCK - 1 for k in FULL_STOCK}
        description = await r.handle.describe()
        assert description.run_id != first_run
        history = await r.env.client.get_workflow_handle(r.handle.id, run_id=first_run).fetch_history()
        assert (
            history.events[-1].WhichOneof("attributes")
            == "workflow_execution_continued_as_new_event_attributes"
        )
        kinds = await r.kinds()
        assert kinds.count("check_in") == 52
        assert kinds[-1] == "completed"
