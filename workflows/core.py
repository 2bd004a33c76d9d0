"""What every stage of DeploymentWorkflow shares: the state, events, tasks, activities, waits."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NoReturn

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from crc.events import SYSTEM_ACTOR, EventKind
    from crc.names import task_id
    from crc.permissions import Situation, closed_actions
    from crc.progress import WaitingFor
    from crc.roles import Role
    from crc.stages import Stage
    from crc.state import TIMELINE_KEEP, DeploymentInput, DeploymentState
    from crc.tasks import TASK_KINDS, Outcome, TaskKind
    from crc.types import (
        STATUS_TIMELINE_TAIL,
        CancelRequest,
        CloseTasks,
        Decision,
        DeploymentStatus,
        EventRecord,
        NotifyRole,
        OpenTasks,
        PostRules,
        Progress,
        StageChange,
        TaskView,
        TimelineEntry,
    )

from workflows.writes import ReadModelWrites


class Cancelled(Exception):
    """Unwinds the run to compensation when a cancellation (or a denial) interrupts a stage."""


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=UTC)


class DeploymentCore(ReadModelWrites):
    """The workflow's request and state; stage modules drive it through these helpers."""

    request: DeploymentInput
    state: DeploymentState

    def _setup(self, given: DeploymentInput) -> None:
        self.request = given.model_copy(update={"resume": None, "carried": None})
        if given.resume is not None:
            self.state = given.resume
        elif given.carried is not None:  # a run started before the state model
            self.state = DeploymentState.from_carried(given.carried)
        else:
            self.state = DeploymentState.new(given)
        # Not state: the post is read once per run, and handlers bump `wakeups` so the stay loop
        # wakes for whatever arrived.
        self.post: PostRules | None = None
        self.wakeups = 0
        self.entering: StageChange | None = None
        # The move into DEPLOYED the arrival check-in wrote, for the run to follow.
        self.arrived: StageChange | None = None
        self.kept_events: list[EventRecord] = []

    # --- what the deployment waits for ---------------------------------------------------------

    def situation(
        self, *, stage: Stage | None = None, waiting_for: WaitingFor | None = None, dated: bool = True
    ) -> Situation:
        """The facts that decide which actions are open now (or at the stage about to be entered);
        `dated`: judge the rules of dates by today's date (not for the read-model, which keeps the
        dates themselves, since it is written only when the deployment moves)."""
        s = self.state
        waiting = waiting_for or s.waiting_for
        # A handler has taken the amendment or the arrival; the run has yet to act on it.
        if (waiting == WaitingFor.AMENDMENT and s.approval.amendment is not None) or (
            waiting == WaitingFor.ARRIVAL and not s.travel.awaiting_arrival
        ):
            waiting = WaitingFor.WORKFLOW
        return Situation(
            stage=stage or s.stage,
            waiting_for=waiting,
            cancel_pending=s.cancel is not None,
            extension_pending=any(t.kind == TaskKind.EXTENSION for t in s.open_tasks()),
            arrival_opens_on=s.travel.arrival_opens_on,
            today=workflow.now().date() if dated else None,
        )

    def arrival_being_recorded(self) -> bool:
        """True while the run writes "waiting for the arrival" to the read-model: the pages may
        already offer the check-in that the run does not yet expect."""
        s = self.state
        return s.travel.awaiting_arrival and s.stage == Stage.TRAVEL and s.waiting_for != WaitingFor.ARRIVAL

    def progress(
        self,
        *,
        stage: Stage | None = None,
        waiting_for: WaitingFor | None = None,
        dated: bool = False,
    ) -> Progress:
        """What the read-model shows of where the deployment stands (with the stage about to be
        entered)."""
        situation = self.situation(stage=stage, waiting_for=waiting_for, dated=dated)
        dues = [t.due_at for t in self.state.open_tasks() if t.due_at is not None]
        s = self.state
        return Progress(
            waiting_for=situation.waiting_for,
            due_at=min(dues) if dues else self._due_without_task(situation.waiting_for),
            closed_actions=closed_actions(situation),
            end_date=s.end_date,
            extension_days=s.stay.extension_days,
            arrival_opens_on=s.travel.arrival_opens_on,
            arrived_on=s.stay.arrived_on,
            left_on=s.stay.left_on,
        )

    def _due_without_task(self, waiting_for: WaitingFor) -> datetime | None:
        """When the member is due to act where no task says so: arrive, or check in."""
        stay = self.state.stay
        if waiting_for == WaitingFor.ARRIVAL:
            return start_of_day(self.request.start_date)
        if waiting_for == WaitingFor.CHECK_INS and stay.arrived_on is not None:
            last = stay.last_check_in_at or start_of_day(stay.arrived_on)
            return last + timedelta(seconds=self.request.lifecycle.check_in_every_seconds)
        return None

    def snapshot(self) -> DeploymentStatus:
        """The answer to the status query."""
        s = self.state
        progress = self.progress(dated=True)
        return DeploymentStatus(
            deployment_id=self.request.deployment_id,
            stage=s.stage,
            status=s.status,
            waiting_for=progress.waiting_for,
            due_at=progress.due_at,
            closed_actions=progress.closed_actions,
            revision=s.revision,
            # As the inbox lists them: once their rows exist.
            open_tasks=[t for t in s.open_tasks() if t.id not in s.opening],
            timeline=s.timeline[-STATUS_TIMELINE_TAIL:],
            cost_estimate_usd=s.cost,
            start_date=self.request.start_date,
            end_date=s.end_date,
            arrived_on=s.stay.arrived_on,
            left_on=s.stay.left_on,
            extension_days=s.stay.extension_days,
            arrival_opens_on=s.travel.arrival_opens_on,
        )

    # --- events and activities ----------------------------------------------------------------

    def event(
        self,
        kind: str,
        message: str,
        *,
        actor: str = SYSTEM_ACTOR,
        stage: Stage | None = None,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> EventRecord:
        """A new audit event with a key unique to this workflow and position (retry-safe)."""
        s = self.state
        s.event_seq += 1
        at = workflow.now()
        stage = stage or s.stage
        s.timeline.append(TimelineEntry(kind=kind, stage=stage, actor=actor, message=message, at=at))
        del s.timeline[:-TIMELINE_KEEP]
        return EventRecord(
            key=f"{workflow.info().workflow_id}/{s.event_seq}",
            kind=kind,
            stage=stage,
            actor=actor,
            message=message,
            at=at,
            comment=comment,
            data=data,
        )

    async def load_post(self) -> PostRules:
        """The receiving post's rules, read once per run."""
        if self.post is None:
            self.post = await self.act(ReadModelActivities.load_post, self.request.post_code)
        return self.post

    # --- tasks --------------------------------------------------------------------------------

    def new_task(
        self,
        key: str,
        kind: TaskKind,
        *,
        due_at: datetime | None,
        role: Role | None = None,
        outcomes: list[Outcome] | None = None,
        variant: str | None = None,
        context: dict[str, Any] | None = None,
        opens_on: date | None = None,
        **title: Any,
    ) -> TaskView:
        """A task of a kind from the table, with an id derived from the deployment and `key` (the
        same on every replay); `role` and `outcomes` narrow the kind's where it has several."""
        spec = TASK_KINDS[kind]
        return TaskView(
            id=task_id(self.request.deployment_id, key),
            kind=kind,
            stage=self.state.stage,
            role=role or spec.role,
            title=spec.title_for(variant, **title),
            outcomes=list(outcomes or spec.outcomes),
            due_at=due_at,
            context=context or {},
            opens_on=opens_on,
        )

    async def open_tasks(
        self,
        tasks: list[TaskView],
        message: str,
        kind: EventKind = EventKind.TASKS_OPENED,
        *,
        actor: str = SYSTEM_ACTOR,
        status: tuple[str, WaitingFor] | None = None,
    ) -> None:
        """Put tasks in the inbox with one event that says why; decisions are taken from then on.
        `status`: what the deployment waits for from then on, written with them (runs from before
        wrote it after them: their caller's set_status, which then finds nothing left to say)."""
        # Known at once, so a decision sent as soon as the inbox lists a task is accepted; it waits
        # (decide) until the rows exist, or the insert could overwrite it.
        self.state.tasks.update({t.id: t for t in tasks})
        self.state.opening.update(t.id for t in tasks)
        together = status is not None and self.lean()
        change = None
        if status is not None and together:
            await self.show_stage()
            change = self.stage_change(self.state.stage, status[0], None, waiting_for=status[1])
        await self.act(
            ReadModelActivities.open_tasks,
            OpenTasks(
                deployment_id=self.request.deployment_id,
                tasks=tasks,
                event=self.event(kind, message, actor=actor),
                progress=change.progress if change else self.progress(),
                stage_change=change,
            ),
        )
        self.state.opening.difference_update(t.id for t in tasks)

    async def withdraw_open_tasks(self, reason: str, tasks: list[TaskView] | None = None) -> None:
        """Cancel the open ones of `tasks` (default: all), with one event."""
        # Tasks a handler is opening are withdrawn once their rows exist (else the insert would
        # bring them back).
        if self.state.opening:  # only then: waiting yields, and would reorder recorded runs
            await workflow.wait_condition(lambda: not self.state.opening)
        candidates = self.state.tasks.values() if tasks is None else tasks
        open_tasks = [t for t in candidates if t.status == "open"]
        if not open_tasks:
            return
        for task in open_tasks:
            task.status = "cancelled"
            self.state.acted.add(task.id)
        await self.act(
            ReadModelActivities.close_tasks,
            CloseTasks(
                deployment_id=self.request.deployment_id,
                task_ids=[t.id for t in open_tasks],
                event=self.event(EventKind.TASKS_WITHDRAWN, f"{reason}; open tasks withdrawn"),
                progress=self.progress(),
            ),
        )

    async def notify(
        self, *, role: Role, kind: EventKind, message: str, tasks: list[TaskView], escalate: bool = False
    ) -> None:
        """Notify a role, with an event; `escalate` lets the director decide the tasks."""
        notice = self.notice(role=role, kind=kind, message=message, tasks=tasks, escalate=escalate)
        await self.act(ReadModelActivities.notify_role, notice)

    def notice(
        self, *, role: Role, kind: EventKind, message: str, tasks: list[TaskView], escalate: bool = False
    ) -> NotifyRole:
        """A notice to a role, with its event (for notify, or for another activity to carry)."""
        event = self.event(kind, message)
        return NotifyRole(
            key=event.key,
            deployment_id=self.request.deployment_id,
            role=role,
            kind=kind,
            message=message,
            task_ids=[t.id for t in tasks],
            escalate_task_ids=[t.id for t in tasks] if escalate else [],
            event=event,
        )

    # --- waiting for people -------------------------------------------------------------------

    @property
    def cancelling(self) -> bool:
        """A cancellation to undo: only before arrival (after it, cancel means an early return)."""
        return self.state.cancel is not None and self.state.stay.arrived_on is None

    def check_cancel(self) -> None:
        """Raise Cancelled if someone asked to cancel before arrival."""
        if self.cancelling:
            raise Cancelled

    async def wait_answer(
        self, tasks: list[TaskView], *, until: datetime | None = None
    ) -> tuple[TaskView, Decision] | None:
        """The first unhandled answer to one of `tasks`; None at `until`; Cancelled on cancel."""

        def ready() -> bool:
            return self.cancelling or any(self.unhandled(t) for t in tasks)

        await self.show_stage()

        timeout = None if until is None else (until - workflow.now()).total_seconds()
        if timeout is not None and timeout <= 0:
            return None
        try:
            await workflow.wait_condition(ready, timeout=timeout)
        except TimeoutError:
            return None
        self.check_cancel()
        task = next(t for t in tasks if self.unhandled(t))
        return task, self.state.answers[task.id]

    async def answer(self, task: TaskView) -> Decision:
        """The answer to one task (no deadline: only an answer or a cancellation ends the wait)."""
        answered = await self.wait_answer([task])
        assert answered is not None
        return answered[1]

    def unhandled(self, task: TaskView) -> bool:
        """An answer to the task has come and the run has yet to act on it."""
        return task.id in self.state.answers and task.id not in self.state.acted

    def handled(self, task: TaskView) -> None:
        """The run has acted on the task's answer: its update handler may answer now."""
        self.state.acted.add(task.id)

    def settle(self) -> None:
        """After a transition every answer given so far is settled: their handlers answer."""
        self.state.acted.update(self.state.answers)
        self.state.approval.applied = len(self.state.approval.decisions)

    def cancel_with(self, decision: Decision, reason: str) -> NoReturn:
        """A decision that ends the deployment (deny, fail twice, refuse clearance): cancel."""
        self.state.acted.add(decision.task_id)
        self.state.cancel = CancelRequest(
            user=decision.user, roles=decision.roles, reason=reason, user_name=decision.user_name
        )
        raise Cancelled
