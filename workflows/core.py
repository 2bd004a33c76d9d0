"""State and helpers every stage of DeploymentWorkflow shares: events, tasks, activities, waits."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NoReturn, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.names import task_id
    from crc.stages import Stage
    from crc.types import (
        Amendment,
        CancelRequest,
        CarriedState,
        CloseTasks,
        Decision,
        DeploymentRequest,
        DeploymentStatus,
        EventAppend,
        EventRecord,
        NotifyRole,
        OpenTasks,
        PostRules,
        StageChange,
        TaskView,
        TimelineEntry,
    )
    from workflows.options import ACTIVITY_RETRY, ACTIVITY_TIMEOUT

from workflows.search import upsert_stage

T = TypeVar("T")

# The workflow keeps this many recent timeline entries; the audit log in the database has all.
TIMELINE_KEEP = 200


class Cancelled(Exception):
    """Unwinds the run to compensation when a cancellation (or a denial) interrupts a stage."""


def end_date_of(start: date, duration_days: int) -> date:
    """The last day of a stay that starts on `start`."""
    return start + timedelta(days=duration_days - 1)


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=UTC)


class DeploymentCore:
    """The workflow's state; stage modules drive it through these helpers."""

    def _setup(self, request: DeploymentRequest) -> None:
        self.request = request
        self.stage = Stage.REQUESTED
        self.status = "Submitted"
        self.revision = 1
        self.cost: Any = None
        self.tasks: dict[str, TaskView] = {}
        self.timeline: list[TimelineEntry] = []
        self.event_seq = 0
        self.post: PostRules | None = None
        # Approval rounds: decisions queued by the update handler, applied by the run.
        self.round = 0
        self.round_open = False
        self.decisions: list[Decision] = []
        self.applied = 0
        self.awaiting_changes = False
        self.amendment: Amendment | None = None
        self.amendments_applied = 0
        # Other tasks: answers by task id, and the ids the run has acted on.
        self.answers: dict[str, Decision] = {}
        self.acted: set[str] = set()
        self.cancel: CancelRequest | None = None
        self.compensations: list[str] = []
        self.kit_skus: list[str] = []
        self.end_date = end_date_of(request.start_date, request.duration_days)
        self.awaiting_arrival = False
        self.arrived_on: date | None = None
        self.last_check_in_at: datetime | None = None
        self.alert_seq = 0
        self.alerted_at: datetime | None = None
        self.extension_seq = 0
        # Bumped by every handler so the stay loop wakes for whatever arrived.
        self.wakeups = 0
        if request.carried is not None:
            self._restore(request.carried)

    def _restore(self, carried: CarriedState) -> None:
        self.stage = carried.stage
        self.status = carried.status
        self.revision = carried.revision
        self.cost = carried.cost
        self.tasks = {t.id: t for t in carried.tasks}
        self.timeline = list(carried.timeline)
        self.event_seq = carried.event_seq
        self.compensations = list(carried.compensations)
        self.arrived_on = carried.arrived_on
        self.end_date = carried.end_date
        self.last_check_in_at = carried.last_check_in_at
        self.alert_seq = carried.alert_seq
        self.alerted_at = carried.alerted_at
        self.kit_skus = list(carried.kit_skus)
        self.extension_seq = carried.extension_seq
        self.request = self.request.model_copy(update={"carried": None})

    def carry(self) -> CarriedState:
        """The state handed to the next run: open tasks only, recent timeline only."""
        return CarriedState(
            stage=self.stage,
            status=self.status,
            revision=self.revision,
            cost=self.cost,
            tasks=[t for t in self.tasks.values() if t.status == "open"],
            timeline=self.timeline[-TIMELINE_KEEP:],
            event_seq=self.event_seq,
            compensations=self.compensations,
            arrived_on=self.arrived_on,
            end_date=self.end_date,
            last_check_in_at=self.last_check_in_at,
            alert_seq=self.alert_seq,
            alerted_at=self.alerted_at,
            extension_seq=self.extension_seq,
            kit_skus=self.kit_skus,
        )

    def snapshot(self) -> DeploymentStatus:
        """The answer to the status query."""
        return DeploymentStatus(
            deployment_id=self.request.deployment_id,
            stage=self.stage,
            status=self.status,
            revision=self.revision,
            open_tasks=[t for t in self.tasks.values() if t.status == "open"],
            timeline=self.timeline[-TIMELINE_KEEP:],
            cost_estimate_usd=self.cost,
            start_date=self.request.start_date,
            end_date=self.end_date,
            arrived_on=self.arrived_on,
        )

    # --- events and activities ----------------------------------------------------------------

    def event(
        self,
        kind: str,
        message: str,
        *,
        actor: str = "system",
        stage: Stage | None = None,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> EventRecord:
        """A new audit event with a key unique to this workflow and position (retry-safe)."""
        self.event_seq += 1
        at = workflow.now()
        stage = stage or self.stage
        self.timeline.append(TimelineEntry(kind=kind, stage=stage, actor=actor, message=message, at=at))
        del self.timeline[:-TIMELINE_KEEP]
        return EventRecord(
            key=f"{workflow.info().workflow_id}/{self.event_seq}",
            kind=kind,
            stage=stage,
            actor=actor,
            message=message,
            at=at,
            comment=comment,
            data=data,
        )

    async def act(self, name: str, arg: Any, result_type: type[T] | None = None) -> T:
        """Run an activity by name with the shared timeout and retry policy."""
        return await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def record_stage(
        self,
        stage: Stage,
        status: str,
        event: EventRecord | None,
        *,
        amendment: Amendment | None = None,
        end_date: date | None = None,
    ) -> None:
        """Move to a stage (or just change the status) in the read-model, then in the workflow.

        In that order, so a handler waiting for a stage answers only once the pages show it."""
        await self.act(
            "record_stage",
            StageChange(
                deployment_id=self.request.deployment_id,
                stage=stage,
                status=status,
                event=event,
                amendment=amendment,
                revision=self.revision if amendment else None,
                end_date=end_date,
            ),
        )
        if stage != self.stage:
            upsert_stage(stage)
        self.stage = stage
        self.status = status

    async def log(self, kind: str, message: str, **kwargs: Any) -> None:
        """Append an event to the audit log, touching nothing else (safe from update handlers)."""
        event = self.event(kind, message, **kwargs)
        await self.act("append_event", EventAppend(deployment_id=self.request.deployment_id, event=event))

    async def set_status(self, status: str) -> None:
        """Say in the read-model what the deployment now waits for (the run only)."""
        await self.record_stage(self.stage, status, None)

    async def load_post(self) -> PostRules:
        """The receiving post's rules, read once per run."""
        if self.post is None:
            self.post = await self.act("load_post", self.request.post_code, PostRules)
        return self.post

    # --- tasks --------------------------------------------------------------------------------

    def new_task(
        self,
        key: str,
        *,
        kind: str,
        role: str,
        title: str,
        outcomes: list[str],
        due_at: datetime | None = None,
        context: dict[str, Any] | None = None,
    ) -> TaskView:
        """A task with an id derived from the deployment and `key` (the same on every replay)."""
        return TaskView(
            id=task_id(self.request.deployment_id, key),
            kind=kind,
            stage=self.stage,
            role=role,
            title=title,
            outcomes=outcomes,
            due_at=due_at,
            context=context or {},
        )

    async def open_tasks(self, tasks: list[TaskView], message: str, kind: str = "tasks_opened") -> None:
        """Put tasks in the inbox with one event that says why; decisions are taken from then on."""
        await self.act(
            "open_tasks",
            OpenTasks(deployment_id=self.request.deployment_id, tasks=tasks, event=self.event(kind, message)),
        )
        # Only once the rows exist: a decision accepted earlier could be overwritten by the insert.
        self.tasks.update({t.id: t for t in tasks})

    async def withdraw_open_tasks(self, reason: str, tasks: list[TaskView] | None = None) -> None:
        """Cancel the open ones of `tasks` (default: all), with one event."""
        candidates = self.tasks.values() if tasks is None else tasks
        open_tasks = [t for t in candidates if t.status == "open"]
        if not open_tasks:
            return
        for task in open_tasks:
            task.status = "cancelled"
            self.acted.add(task.id)
        await self.act(
            "close_tasks",
            CloseTasks(
                deployment_id=self.request.deployment_id,
                task_ids=[t.id for t in open_tasks],
                event=self.event("tasks_withdrawn", f"{reason}; open tasks withdrawn"),
            ),
        )

    async def notify(
        self, *, role: str, kind: str, message: str, tasks: list[TaskView], escalate: bool = False
    ) -> None:
        """Notify a role, with an event; `escalate` lets the director decide the tasks."""
        event = self.event(kind, message)
        await self.act(
            "notify_role",
            NotifyRole(
                key=event.key,
                deployment_id=self.request.deployment_id,
                role=role,
                kind=kind,
                message=message,
                task_ids=[t.id for t in tasks],
                escalate_task_ids=[t.id for t in tasks] if escalate else [],
                event=event,
            ),
        )

    @property
    def cancelling(self) -> bool:
        """A cancellation to undo: only before arrival (after it, cancel means an early return)."""
        return self.cancel is not None and self.arrived_on is None

    def check_cancel(self) -> None:
        """Raise Cancelled if someone asked to cancel before arrival."""
        if self.cancelling:
            raise Cancelled

    async def wait_answer(
        self, tasks: list[TaskView], *, until: datetime | None = None
    ) -> tuple[TaskView, Decision] | None:
        """The first unhandled answer to one of `tasks`; None at `until`; Cancelled on cancel."""

        def ready() -> bool:
            return self.cancelling or any(self._unhandled(t) for t in tasks)

        timeout = None if until is None else (until - workflow.now()).total_seconds()
        if timeout is not None and timeout <= 0:
            return None
        try:
            await workflow.wait_condition(ready, timeout=timeout)
        except TimeoutError:
            return None
        self.check_cancel()
        task = next(t for t in tasks if self._unhandled(t))
        return task, self.answers[task.id]

    def _unhandled(self, task: TaskView) -> bool:
        return task.id in self.answers and task.id not in self.acted

    def cancel_with(self, decision: Decision, reason: str) -> NoReturn:
        """A decision that ends the deployment (deny, fail twice, refuse clearance): cancel."""
        self.acted.add(decision.task_id)
        self.cancel = CancelRequest(user=decision.user, roles=decision.roles, reason=reason)
        raise Cancelled
