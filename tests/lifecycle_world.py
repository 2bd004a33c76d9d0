"""A small world for lifecycle tests (courses, sessions, stock) and a driver for one deployment."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.client import WorkflowHandle, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment

from activities.travel import BookingRefused, DatabaseTravelProvider
from crc.db import session_factory
from crc.domain import (
    COURSE_FACT,
    COURSE_ORIENTATION,
    SKU_BALLISTIC_VEST,
    SKU_HELMET,
    SKU_INDIVIDUAL_KIT,
    briefing_course_code,
)
from crc.lifecycle import BookingRef, BookingRequest
from crc.lifecycle_tables import Enrolment, KitReservation
from crc.names import UPDATE_CANCEL, UPDATE_CHECK_IN, UPDATE_DECIDE, UPDATE_EXTEND
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.tables import CourseSession, StockItem
from crc.types import (
    CancelRequest,
    CheckIn,
    CheckInResult,
    Decision,
    DecisionResult,
    DeploymentRequest,
    DeploymentStatus,
    ExtensionRequest,
    TaskView,
)
from tests import factories
from tests.workflow_helpers import decide, status, wait_until

STOCK = 5
SEATS = 10
OFFICES = ["planning", "resource_management", "chief_of_mission"]


async def add_world(engine: AsyncEngine, post_code: str) -> None:
    """Courses with sessions in 3, 10 and 17 days, and five of each kit item in one depot."""
    today = date.today()
    courses = [
        factories.course(COURSE_ORIENTATION, title="CRC orientation", days=3, validity_months=None),
        factories.course(COURSE_FACT, title="Foreign Affairs Counter Threat", days=5),
        factories.course(
            briefing_course_code(post_code), title=f"{post_code} briefing", days=2, validity_months=12
        ),
    ]
    sessions = [
        factories.course_session(c.code, today + timedelta(days=offset), days=c.days, seats=SEATS)
        for c in courses
        for offset in (3, 10, 17)
    ]
    stock = [
        factories.stock_item(sku, STOCK, name=name)
        for sku, name in [
            (SKU_INDIVIDUAL_KIT, "Individual kit"),
            (SKU_BALLISTIC_VEST, "Ballistic vest"),
            (SKU_HELMET, "Helmet"),
        ]
    ]
    await factories.add(engine, *courses, *sessions, *stock)


async def stock_levels(engine: AsyncEngine) -> dict[str, int]:
    """Quantity on hand by SKU."""
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(StockItem))).all()
        return {r.sku: r.quantity for r in rows}


async def seats_taken(engine: AsyncEngine) -> int:
    """Seats taken across all sessions."""
    async with session_factory(engine)() as session:
        return sum(s.seats_taken for s in (await session.exec(select(CourseSession))).all())


async def enrolments(engine: AsyncEngine, deployment_id: str) -> list[tuple[str, int, str]]:
    """(course, attempt, status) of a deployment's enrolments."""
    async with session_factory(engine)() as session:
        rows = (
            await session.exec(
                select(Enrolment)
                .where(Enrolment.deployment_id == deployment_id)
                .order_by(col(Enrolment.course_code), col(Enrolment.attempt))
            )
        ).all()
        return [(r.course_code, r.attempt, r.status) for r in rows]


async def kit(engine: AsyncEngine, deployment_id: str) -> dict[str, str]:
    """Status of each reserved SKU."""
    async with session_factory(engine)() as session:
        rows = (
            await session.exec(select(KitReservation).where(KitReservation.deployment_id == deployment_id))
        ).all()
        return {r.sku: r.status for r in rows}


async def skip_to(env: WorkflowEnvironment, day: date) -> None:
    """Skip the time-skipping server's clock to just after the start of `day`, if it is earlier."""
    ahead = datetime.combine(day, time(0), tzinfo=UTC) - await env.get_current_time()
    if ahead > timedelta(0):
        await env.sleep(ahead + timedelta(minutes=1))


class RefusesOutboundOnce(DatabaseTravelProvider):
    """A provider that refuses the first outbound booking, then books as the default one does."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.refused = False

    async def book(self, request: BookingRequest) -> BookingRef:
        if request.direction == "outbound" and not self.refused:
            self.refused = True
            raise BookingRefused("no seats on the Nairobi connection")
        return await super().book(request)


@dataclass
class Driver:
    """Plays every person in a deployment's life, through the workflow's updates."""

    handle: WorkflowHandle
    request: DeploymentRequest
    env: WorkflowEnvironment

    async def task(self, kind: str) -> TaskView:
        """The open task of a kind, once the workflow has opened it."""
        current = await wait_until(self.handle, lambda s: any(t.kind == kind for t in s.open_tasks))
        return next(t for t in current.open_tasks if t.kind == kind)

    async def tasks(self, kind: str, count: int) -> list[TaskView]:
        """`count` open tasks of a kind."""
        current = await wait_until(
            self.handle, lambda s: len([t for t in s.open_tasks if t.kind == kind]) == count
        )
        return [t for t in current.open_tasks if t.kind == kind]

    async def complete(
        self,
        kind: str,
        outcome: str,
        *,
        role: str | None = None,
        data: dict[str, Any] | None = None,
        comment: str | None = None,
    ) -> DecisionResult:
        """Complete the open task of `kind` as an officer of its role (or the member)."""
        task = await self.task(kind)
        return await self.decide(task, outcome, role=role, data=data, comment=comment)

    async def decide(
        self,
        task: TaskView,
        outcome: str,
        *,
        role: str | None = None,
        data: dict[str, Any] | None = None,
        comment: str | None = None,
    ) -> DecisionResult:
        role = role or task.role
        return await self.handle.execute_update(
            UPDATE_DECIDE,
            Decision(
                task_id=task.id,
                outcome=outcome,
                user=f"{role}.officer",
                roles=[role],
                member_id=self.request.member_id if role == "member" else None,
                data=data,
                comment=comment,
            ),
            result_type=DecisionResult,
        )

    async def approve_all(self) -> None:
        for task in await self.tasks("approval", 3):
            await decide(self.handle, task.id, "approve", user=f"{task.role}.officer", roles=[task.role])

    async def until(self, day: date) -> None:
        """Skip the server's clock to the start of `day` (nothing happens before its time)."""
        await skip_to(self.env, day)

    async def pass_training(self, courses: int = 2) -> None:
        """Pass every course, each once its session has ended (a result is known no sooner)."""
        tasks = await self.tasks("training_result", courses)
        await self.until(max(t.opens_on for t in tasks if t.opens_on is not None))
        for task in tasks:
            await self.decide(task, "pass")

    async def to_travel(self, courses: int = 2) -> None:
        """Approvals, training and kit: the deployment then waits for country clearance."""
        await self.approve_all()
        await self.pass_training(courses)
        await self.complete("kit_receipt", "acknowledge")
        await self.wait_stage(Stage.TRAVEL)

    async def arrive(self) -> CheckInResult:
        """Country clearance approved, then the member's arrival check-in."""
        await self.complete("country_clearance", "approve")
        booked = await wait_until(self.handle, lambda s: s.waiting_for == WaitingFor.ARRIVAL)
        assert booked.arrival_opens_on is not None
        await self.until(booked.arrival_opens_on)
        return await self.check_in(location="Juba airport")

    async def check_in(
        self, *, location: str = "Juba", status: str = "ok", as_operations: bool = False
    ) -> CheckInResult:
        return await self.handle.execute_update(
            UPDATE_CHECK_IN,
            CheckIn(
                user="ops.officer" if as_operations else "member.user",
                roles=["operations"] if as_operations else ["member"],
                member_id=None if as_operations else self.request.member_id,
                status=status,
                location=location,
            ),
            result_type=CheckInResult,
        )

    async def cancel(self, reason: str = "Mission postponed", user: str = "req.user") -> DeploymentStatus:
        """Cancel, then wait for the undo (or early return) to finish.

        The time-skipping server loses an update's result when the workflow completes in the
        same task, so wait for acceptance and then watch the stage (the dev-server test covers
        the whole update round trip)."""
        await self.handle.start_update(
            UPDATE_CANCEL,
            CancelRequest(user=user, roles=["requester"], reason=reason),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        return await wait_until(self.handle, lambda s: s.stage in (Stage.CANCELLED, Stage.REDEPLOYMENT))

    async def cancel_refused(self, reason: str, user: str) -> DeploymentStatus:
        """A cancel expected to be refused (the workflow goes on, so the full round trip works)."""
        return await self.handle.execute_update(
            UPDATE_CANCEL,
            CancelRequest(user=user, roles=["requester"], reason=reason),
            result_type=DeploymentStatus,
        )

    async def extend(self, days: int) -> DeploymentStatus:
        return await self.handle.execute_update(
            UPDATE_EXTEND,
            ExtensionRequest(
                user="req.user", roles=["requester"], days=days, justification="Elections slipped"
            ),
            result_type=DeploymentStatus,
        )

    async def wait_stage(self, stage: Stage) -> DeploymentStatus:
        return await wait_until(self.handle, lambda s: s.stage == stage)

    async def stage(self) -> Stage:
        return (await status(self.handle)).stage
