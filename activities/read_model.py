"""Keeps the read-model, the inbox and the audit log current; every write is idempotent."""

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities import obligations
from activities.outbox import Audience, Change, Deliveries, audience_on, fan_out
from activities.rows import insert_ignoring_duplicates, require
from crc.costs import estimate_cost
from crc.db import session_factory, writing
from crc.live import publish
from crc.stages import Stage
from crc.tables import Deployment, Event, Member, Post, Task, utcnow
from crc.types import (
    CloseTasks,
    CompleteTask,
    CostRequest,
    EventAppend,
    EventRecord,
    HoldTask,
    NotifyRole,
    OpenTasks,
    PostRules,
    PricedStay,
    Progress,
    ReleaseTask,
    StageChange,
)

# A task's held decision, cleared (it took effect, was withdrawn, or the task was closed).
_NOT_HELD = {"held_by": None, "held_outcome": None, "held_until": None}


async def _set_progress(session: AsyncSession, deployment_id: str, progress: Progress | None) -> None:
    """Write what the deployment waits for, its due time and its closed actions (if given)."""
    if progress is None:  # a run started before the workflow reported progress
        return
    await session.exec(
        sa.update(Deployment)
        .where(col(Deployment.id) == deployment_id)
        .values(
            waiting_for=progress.waiting_for.value,
            due_at=progress.due_at,
            closed_actions=progress.closed_actions,
            extension_days=progress.extension_days,
            arrival_opens_on=progress.arrival_opens_on,
            arrived_on=progress.arrived_on,
            left_on=progress.left_on,
            # Runs before the dates were reported leave the end date to StageChange.end_date.
            **({"end_date": progress.end_date} if progress.end_date else {}),
        )
    )


async def _append_event(session: AsyncSession, deployment_id: str, event: EventRecord) -> None:
    row = {
        "key": event.key,
        "deployment_id": deployment_id,
        "kind": event.kind,
        "stage": event.stage.value,
        "actor": event.actor,
        "message": event.message,
        "comment": event.comment,
        "data": event.data,
        "occurred_at": event.at,
    }
    await insert_ignoring_duplicates(session, Event, [row], ["key"])


# Stages that end a deployment before it cost anything: what it obligated goes back to the fund.
_UNSPENT_ENDS = (Stage.CANCELLED, Stage.REJECTED, Stage.EXPIRED)


async def _settle_funds(session: AsyncSession, change: StageChange) -> None:
    """Keep the deployment's obligation in step with the move, in the move's own transaction."""
    if change.stage in _UNSPENT_ENDS:
        await obligations.release(session, change.deployment_id)
    elif change.stage == Stage.COMPLETED:
        row = await require(session, Deployment, change.deployment_id)
        await obligations.spend(session, change.deployment_id, row.cost_actual_usd)
    elif change.cost_estimate_usd is not None and change.stage == Stage.APPROVAL:
        # A new round's estimate: the budget is to be approved again, for the amended request.
        await obligations.release(session, change.deployment_id)
    elif change.cost_estimate_usd is not None:  # an approved extension's estimate
        await obligations.adjust(session, change.deployment_id, change.cost_estimate_usd)


async def _change_stage(
    session: AsyncSession, change: StageChange, audience: Audience | None = None
) -> list[Deliveries]:
    """Write a stage or status change in `session`; what its events have to send."""
    row = await require(session, Deployment, change.deployment_id)
    previous_stage = row.stage
    deliveries = []
    for earlier in change.earlier_events:  # as if written before the move, by the stage left
        await _append_event(session, change.deployment_id, earlier)
        await session.flush()
        deliveries.append(
            await fan_out(
                session, Change(change.deployment_id, earlier, previous_stage=previous_stage), audience
            )
        )
    row.stage = change.stage.value
    row.status = change.status
    row.updated_at = change.event.at if change.event else utcnow()
    if change.amendment is not None:
        for field, value in change.amendment.changes().items():
            setattr(row, field, value)
    if change.end_date is not None:
        row.end_date = change.end_date
    if change.revision is not None:
        row.revision = change.revision
    if change.cost_estimate_usd is not None:
        row.cost_estimate_usd = change.cost_estimate_usd
    await _settle_funds(session, change)
    await _set_progress(session, change.deployment_id, change.progress)
    if change.event is None:
        return deliveries
    await _append_event(session, change.deployment_id, change.event)
    await session.flush()
    deliveries.append(
        await fan_out(
            session, Change(change.deployment_id, change.event, previous_stage=previous_stage), audience
        )
    )
    return deliveries


class ReadModelActivities:
    """Writes of the deployment read-model, owned by one database engine."""

    def __init__(
        self, engine: AsyncEngine, deliver: Callable[[Deliveries], Awaitable[None]] | None = None
    ) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        # Starts the emails and webhooks of a committed write (activities.outbox.Deliverer);
        # without one (tests of the read-model alone) notifications are only stored.
        self._deliver = deliver

    async def _audience(self, deployment_id: str, *events: EventRecord | None) -> Audience | None:
        """Who the write's notifications may go to, read before the write begins (None: no event)."""
        at = next((e.at for e in events if e is not None), None)
        if at is None:
            return None
        async with self._sessions() as session:
            return await audience_on(session, deployment_id, at.date())

    async def _send(self, deliveries: Deliveries) -> None:
        if self._deliver is not None and deliveries:
            await self._deliver(deliveries)

    @activity.defn(name="record_stage")
    async def record_stage(self, change: StageChange) -> None:
        """Set the deployment's stage and status (and amended fields) and log why."""
        audience = await self._audience(change.deployment_id, change.event, *change.earlier_events)
        async with writing(self._sessions) as session:
            deliveries = await _change_stage(session, change, audience)
        for each in deliveries:
            await self._send(each)

    @activity.defn(name="append_event")
    async def append_event(self, request: EventAppend) -> None:
        """Append an event to the audit log (idempotent by its key)."""
        async with writing(self._sessions) as session:
            await _set_progress(session, request.deployment_id, request.progress)
            await _append_event(session, request.deployment_id, request.event)

    @activity.defn(name="open_tasks")
    async def open_tasks(self, request: OpenTasks) -> None:
        """Put tasks in the inbox; a task that already exists is left as it is."""
        rows = [
            {
                "id": t.id,
                "deployment_id": request.deployment_id,
                "kind": t.kind,
                "stage": t.stage.value,
                "role": t.role,
                "title": t.title,
                "outcomes": t.outcomes,
                "status": "open",
                "due_at": t.due_at,
                "opens_on": t.opens_on,
                "created_at": request.event.at,
            }
            for t in request.tasks
        ]
        audience = await self._audience(request.deployment_id, request.event)
        async with writing(self._sessions) as session:
            changed = (
                []
                if request.stage_change is None
                else await _change_stage(session, request.stage_change, audience)
            )
            await insert_ignoring_duplicates(session, Task, rows, ["id"])
            await _set_progress(session, request.deployment_id, request.progress)
            await _append_event(session, request.deployment_id, request.event)
            deliveries = await fan_out(
                session,
                Change(request.deployment_id, request.event, opened_task_ids=[t.id for t in request.tasks]),
                audience,
            )
        for each in [*changed, deliveries]:
            await self._send(each)

    @activity.defn(name="complete_task")
    async def complete_task(self, request: CompleteTask) -> None:
        """Record the decision on an open task; a task already closed keeps its first decision.

        A budget approval (`obligate_usd`) obligates the estimate in the same transaction, or is
        refused (ERR_OVERDRAWN, nothing written) when the fund cannot cover it."""
        audience = await self._audience(request.deployment_id, request.event)
        async with writing(self._sessions) as session:
            if request.obligate_usd is not None:
                await obligations.obligate(session, request.deployment_id, request.obligate_usd)
            await session.exec(
                sa.update(Task)
                .where(col(Task.id) == request.task_id, col(Task.status) == "open")
                .values(
                    status="completed",
                    outcome=request.outcome,
                    comment=request.comment,
                    data=request.data,
                    completed_by=request.completed_by,
                    completed_at=request.completed_at,
                    **_NOT_HELD,
                )
            )
            await _set_progress(session, request.deployment_id, request.progress)
            await _append_event(session, request.deployment_id, request.event)
            deliveries = await fan_out(
                session,
                Change(
                    request.deployment_id,
                    request.event,
                    completed_task_id=request.task_id,
                    completed_outcome=request.outcome,
                ),
                audience,
            )
        await self._send(deliveries)

    @activity.defn(name="hold_task")
    async def hold_task(self, request: HoldTask) -> None:
        """Show an open task's decision as held in its undo window (pages refuse others meanwhile)."""
        async with writing(self._sessions) as session:
            await session.exec(
                sa.update(Task)
                .where(col(Task.id) == request.task_id, col(Task.status) == "open")
                .values(
                    held_by=request.held_by,
                    held_outcome=request.held_outcome,
                    held_until=request.held_until,
                )
            )
            task = await session.get(Task, request.task_id)
            if task is not None:
                await publish(session, task.deployment_id, task_ids=[task.id])

    @activity.defn(name="release_task")
    async def release_task(self, request: ReleaseTask) -> None:
        """Clear a task's held decision (the task stays as it is), logging why if told."""
        async with writing(self._sessions) as session:
            await session.exec(sa.update(Task).where(col(Task.id) == request.task_id).values(**_NOT_HELD))
            if request.event is not None:
                await _append_event(session, request.deployment_id, request.event)
            await publish(session, request.deployment_id, task_ids=[request.task_id])

    @activity.defn(name="close_tasks")
    async def close_tasks(self, request: CloseTasks) -> None:
        """Withdraw tasks that no longer matter, leaving decided ones alone."""
        async with writing(self._sessions) as session:
            if request.task_ids:
                await session.exec(
                    sa.update(Task)
                    .where(col(Task.id).in_(request.task_ids), col(Task.status) == "open")
                    .values(
                        status="cancelled", completed_at=request.event.at, completed_by="system", **_NOT_HELD
                    )
                )
            await _set_progress(session, request.deployment_id, request.progress)
            await _append_event(session, request.deployment_id, request.event)
            await publish(session, request.deployment_id, task_ids=request.task_ids)

    @activity.defn(name="notify_role")
    async def notify_role(self, request: NotifyRole) -> None:
        """Notify a role (reminder, escalation) and flag escalated tasks for the director."""
        audience = await self._audience(request.deployment_id, request.event)
        async with writing(self._sessions) as session:
            if request.escalate_task_ids:
                await session.exec(
                    sa.update(Task).where(col(Task.id).in_(request.escalate_task_ids)).values(escalated=True)
                )
            await _append_event(session, request.deployment_id, request.event)
            deliveries = await fan_out(
                session,
                Change(
                    request.deployment_id,
                    request.event,
                    notice=(request.kind, request.message, request.role, request.task_ids),
                ),
                audience,
            )
        await self._send(deliveries)

    @activity.defn(name="estimate_cost")
    async def estimate_cost(self, request: CostRequest) -> PricedStay:
        """Estimate the stay's cost from the post's rates and the member's salary; store it (and
        return the post's rules if asked)."""
        async with self._sessions() as session:  # read before any write takes the writer lock
            post = await require(session, Post, request.post_code)
            member = await require(session, Member, request.member_id)
        estimate = estimate_cost(
            days=request.duration_days,
            per_diem_usd=post.per_diem_usd,
            annual_salary_usd=member.annual_salary_usd,
            danger_pay_pct=post.danger_pay_pct,
            post_differential_pct=post.post_differential_pct,
        )
        change = request.stage_change
        if change is not None:  # the move into APPROVAL, shown first, stores the estimate with it
            stored = {"cost_estimate_usd": estimate.total_usd} if request.store else {}
            await self.record_stage(change.model_copy(update=stored))
        elif request.store:
            async with writing(self._sessions) as session:
                row = await require(session, Deployment, request.deployment_id)
                row.cost_estimate_usd = estimate.total_usd
                # A new round's estimate: the budget is to be approved again.
                await obligations.release(session, request.deployment_id)
        rules = _rules(post) if request.with_post else None
        return PricedStay(**estimate.model_dump(), post=rules)

    async def record_stage_of(self, change: StageChange | None) -> None:
        """Record the stage change another activity carries (before its own work)."""
        if change is not None:
            await self.record_stage(change)

    @activity.defn(name="load_post")
    async def load_post(self, post_code: str) -> PostRules:
        """The receiving post's rules the workflow acts on (threat level, clearance lead time)."""
        async with self._sessions() as session:
            return _rules(await require(session, Post, post_code))


def _rules(post: Post) -> PostRules:
    return PostRules(
        code=post.code,
        country=post.country,
        city=post.city,
        threat_level=post.threat_level,
        clearance_lead_days=post.clearance_lead_days,
    )
