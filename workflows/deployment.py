"""DeploymentWorkflow: one durable workflow per deployment, the source of truth for its stage."""

import asyncio
from contextlib import suppress
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from crc import names, stages
    from crc.departures import SIGNAL_POST_DEPARTURE, DepartureOrder
    from crc.domain import MAX_DURATION_DAYS, MAX_UNDO_SECONDS, MIN_DURATION_DAYS
    from crc.events import EventKind, behalf_of, on_behalf_data
    from crc.permissions import (
        Actor,
        Parties,
        Refusal,
        acting_role,
        acts_on_behalf,
        check_decision,
        closed_actions,
        decided_moments_ago,
        when_open,
        who_may,
    )
    from crc.progress import Action, WaitingFor
    from crc.readiness import clearance_renewal_problem
    from crc.roles import ESCALATION_ROLE, ROLE_LABELS, Role
    from crc.stages import TERMINAL, Stage
    from crc.state import DeploymentInput, Hold
    from crc.task_forms import VettingClearance
    from crc.tasks import TASK_KINDS, Outcome, TaskKind, outcome_label, outcome_past
    from crc.threat import PATCH_THREAT_CHANGE, ThreatChange
    from crc.types import (
        Amendment,
        CancelRequest,
        CheckIn,
        CheckInResult,
        CompleteTask,
        Decision,
        DecisionResult,
        DeploymentOutcome,
        DeploymentStatus,
        ExtensionRequest,
        HoldTask,
        ReleaseTask,
        TaskView,
        Withdrawal,
        name_of,
    )

from workflows import (
    approval,
    check_ins,
    equipping,
    extension,
    post_departure,
    redeployment,
    stay,
    threat,
    training,
    travel,
    vetting,
)
from workflows.cancellation import compensate
from workflows.core import Cancelled, DeploymentCore
from workflows.pipeline import StageStep, Transition

CHECK_IN_STATUSES = ("ok", "needs_help")
PATCH_EXTENSION_CHECKS = "crc-extension-checks"
# Runs started before funds recorded Resource Management's approval without obligating the estimate.
PATCH_FUNDS_OBLIGATE = "crc-funds-obligate"

# The step that runs each stage (a new stage: its module, and one entry here).
STEPS: dict[Stage, StageStep] = {
    step.stage: step
    for step in (
        approval.STEP,
        vetting.STEP,
        training.STEP,
        equipping.STEP,
        travel.STEP,
        stay.STEP,
        redeployment.STEP,
    )
}


def _actor(decision: Decision) -> Actor:
    return Actor.of(decision.user, decision.roles, decision.member_id, decision.scopes)


def _refuse(refusal: Refusal) -> ApplicationError:
    return ApplicationError(refusal.message, type=refusal.code)


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=names.ERR_INVALID_DATA)


@workflow.defn(name=names.WORKFLOW_NAME)
class DeploymentWorkflow(DeploymentCore):
    """Drives one deployment through its stages; people act through validated Updates."""

    # The run enters each stage in turn and records the move; crc.stages.PIPELINE gives the order.
    PIPELINE: tuple[StageStep, ...] = tuple(STEPS[stage] for stage in stages.PIPELINE)

    @workflow.init
    def __init__(self, request: DeploymentInput) -> None:
        self._setup(request)
        # Threat-level changes are re-evaluated one at a time, in the order they came.
        self._threat_lock = asyncio.Lock()

    @workflow.run
    async def run(self, request: DeploymentInput) -> DeploymentOutcome:
        """Every stage in order; a cancellation before DEPLOYED unwinds into compensation."""
        try:
            reason = await self._run_pipeline(
                resuming=request.resume is not None or request.carried is not None
            )
        except Cancelled:
            reason = await compensate(self)
        await post_departure.ended(self)  # only under a post departure: it leaves the roll-call
        await workflow.wait_condition(workflow.all_handlers_finished)
        return DeploymentOutcome(
            deployment_id=self.request.deployment_id, stage=self.state.stage, reason=reason
        )

    async def _run_pipeline(self, *, resuming: bool) -> str:
        """Run the stages from where the deployment stands; the reason it ended ("" if completed)."""
        steps = self.PIPELINE
        if resuming:  # continued as new: carry on with the stage the last run was in
            at = next(i for i, step in enumerate(steps) if step.stage == self.state.stage)
            move: Transition | None = None
        else:
            at, move = 0, self._requested()
        while True:
            if move is not None:
                step = steps[at] if at < len(steps) else None
                to = move.to or (step.stage if step else Stage.COMPLETED)
                if to == Stage.TRAVEL and post_departure.active(self) is not None:
                    await post_departure.hold(self)  # nobody sets out for a post being evacuated
                await self._enter(to, move, step if step and step.stage == to else None)
                if to in TERMINAL:
                    return "" if to == Stage.COMPLETED else (move.status or move.message)
            move = await steps[at].run(self)
            at += 1

    def _requested(self) -> Transition:
        r = self.request
        return Transition(
            f"{r.requested_by} requested {r.member_name} for {r.post_code} as {r.role_title}, "
            f"{r.start_date.isoformat()} for {r.duration_days} days",
            kind=EventKind.REQUESTED,
            actor=r.requested_by,
        )

    async def _enter(self, stage: Stage, move: Transition, step: StageStep | None) -> None:
        """Record the move into `stage` (the read-model first), then settle the answers it ends."""
        if move.recorded:
            self.settle()
            return
        message = move.message
        if move.kind == EventKind.STAGE_CHANGED:
            message = f"{message}; {stage.value.lower()} next"
        status = move.status or (step.status if step else message)
        waiting_for = step.waiting_for if step else WaitingFor.NOTHING
        event = self.event(move.kind, message, actor=move.actor, data=move.data)
        if step is not None and step.carries_entry and self.lean():
            self.entering = self.stage_change(stage, status, event, waiting_for=waiting_for)
            return  # the stage's first activity writes it; the run moves once it has
        await self.record_stage(stage, status, event, waiting_for=waiting_for)
        self.settle()

    # --- decisions on tasks -------------------------------------------------------------------

    def _parties(self) -> Parties:
        r = self.request
        return Parties(
            requested_by=r.requested_by,
            member_id=r.member_id,
            post_code=r.post_code,
            member_agency=r.member_agency,
        )

    def _on_behalf_data(self) -> dict[str, object]:
        """The event's record of whom an action was taken for (the API's `on_behalf_of`)."""
        return on_behalf_data(self.request.member_id, self.request.member_name)

    @workflow.update(name=names.UPDATE_DECIDE)
    async def decide(self, decision: Decision) -> DecisionResult:
        """Complete a task; returns once the decision is recorded (the run acts on it after)."""
        state = self.state
        # A task listed as soon as its row is written may be decided before the run hears of it.
        if decision.task_id in state.opening:  # only then: waiting yields, reordering recorded runs
            await workflow.wait_condition(lambda: decision.task_id not in state.opening)
        # Re-checked here: two updates accepted together both pass the validator.
        self._check_decision(decision)
        task = state.tasks[decision.task_id]
        if decision.undo_seconds > 0 and await self._held_back(decision, task):
            return DecisionResult(task=task, stage=state.stage, status=state.status)
        task.status = "completed"
        task.outcome = decision.outcome
        task.completed_by = decision.user
        is_approval = task.kind == TaskKind.APPROVAL
        round_no = state.approval.round if state.approval.round_open and is_approval else None
        office = ROLE_LABELS[task.role]
        by_director = acting_role(_actor(decision), task, self._parties()) == ESCALATION_ROLE
        on_behalf = f" (decided by the {office} director after escalation)" if by_director else ""
        behalf = acts_on_behalf(_actor(decision), task, self._parties())
        if behalf:  # a coordinator completed the member's task: say who, and for whom
            message = (
                f"{task.title}: {outcome_past(decision.outcome)} by {name_of(decision)} "
                f"{behalf_of(self.request.member_name)}"
            )
        else:  # the member's own tasks read with their name ("Maria Delgado acknowledged: ...")
            doer = self.request.member_name if task.role == Role.MEMBER else office
            message = f"{doer} {outcome_past(decision.outcome)}: {task.title}{on_behalf}"
        completion = CompleteTask(
            deployment_id=self.request.deployment_id,
            task_id=decision.task_id,
            outcome=decision.outcome,
            completed_by=decision.user,
            completed_at=workflow.now(),
            comment=decision.comment,
            data=decision.data,
            event=self.event(
                TASK_KINDS[task.kind].decision_event(decision.outcome),
                message,
                actor=decision.user,
                comment=decision.comment,
                data=self._on_behalf_data() if behalf else None,
            ),
            progress=self.progress(),
            obligate_usd=self._budget_to_obligate(task, decision),
        )
        try:
            await self.act(ReadModelActivities.complete_task, completion)
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == names.ERR_OVERDRAWN):
                raise
            await self._refuse_budget(task, decision, cause.message)
        await post_departure.accounted(self, task, decision)  # a departure's roll-call task only
        # Recorded: new runs answer now and the run acts on it after (the next stage shows in the
        # read-model as soon as the run has written it); runs from before answered once it had.
        answer_now = self.lean()
        if is_approval:
            # A round that closed meanwhile (another office rejected, time ran out) settled it.
            if round_no is not None and state.approval.round_open and state.approval.round == round_no:
                state.approval.decisions.append(decision)
                seq = len(state.approval.decisions)
                if not answer_now:
                    await workflow.wait_condition(lambda: state.approval.applied >= seq)
        else:
            state.answers[task.id] = decision
            self.wakeups += 1
            if not answer_now:
                await workflow.wait_condition(lambda: task.id in state.acted or state.stage in TERMINAL)
        return DecisionResult(task=task, stage=state.stage, status=state.status)

    def _budget_to_obligate(self, task: TaskView, decision: Decision) -> Decimal | None:
        """The estimate Resource Management's approval obligates against the operation's fund."""
        budget = (
            task.kind == TaskKind.APPROVAL
            and task.role == Role.RESOURCE_MANAGEMENT
            and decision.outcome == Outcome.APPROVE
            and self.state.cost is not None
        )
        # Asked only of budget approvals, so runs recorded before replay unchanged.
        if budget and workflow.patched(PATCH_FUNDS_OBLIGATE):
            return self.state.cost
        return None

    async def _refuse_budget(self, task: TaskView, decision: Decision, reason: str) -> None:
        """The fund cannot cover the estimate: nothing was written, so the task is open again (its
        held decision cleared), the timeline says why, and the caller is refused with the figures."""
        task.status, task.outcome, task.completed_by = "open", None, None
        event = self.event(
            EventKind.BUDGET_REFUSED,
            f"Budget approval by {name_of(decision)} refused: {reason}",
            actor=decision.user,
        )
        await self.act(
            ReadModelActivities.release_task,
            ReleaseTask(deployment_id=self.request.deployment_id, task_id=task.id, event=event),
        )
        raise ApplicationError(reason, type=names.ERR_OVERDRAWN)

    async def _held_back(self, decision: Decision, task: TaskView) -> bool:
        """Hold the decision for its undo window; True if its maker withdrew it (the task is open
        again), False if it is to take effect now. Refused if the task was closed meanwhile."""
        state = self.state
        hold = Hold(
            user=decision.user,
            outcome=decision.outcome,
            until=workflow.now() + timedelta(seconds=decision.undo_seconds),
        )
        state.holds[task.id] = hold
        deployment_id = self.request.deployment_id
        await self.act(
            ReadModelActivities.hold_task,
            HoldTask(task_id=task.id, held_by=hold.user, held_outcome=hold.outcome, held_until=hold.until),
        )
        left = (hold.until - workflow.now()).total_seconds()
        if left > 0:
            # A cancellation or expiry closes the task meanwhile: nothing of the decision stays.
            with suppress(TimeoutError):
                await workflow.wait_condition(lambda: hold.withdrawn or task.status != "open", timeout=left)
        # A withdrawal accepted as the window closed still wins: its maker was told it could.
        if hold.withdrawn and task.status == "open":
            outcome = outcome_label(hold.outcome).lower()
            message = f"{name_of(decision)} withdrew their decision to {outcome}: {task.title}"
            event = self.event(EventKind.DECISION_WITHDRAWN, message, actor=hold.user)
            await self.act(
                ReadModelActivities.release_task,
                ReleaseTask(deployment_id=deployment_id, task_id=task.id, event=event),
            )
            del state.holds[task.id]
            return True
        del state.holds[task.id]
        if task.status != "open":  # close_tasks cleared the row's hold with the task
            raise _refuse(
                Refusal(
                    names.ERR_TASK_NOT_OPEN, f"the task was {task.status} before the decision took effect"
                )
            )
        return False

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self._check_decision(decision, dated=True)

    def _check_decision(self, decision: Decision, *, dated: bool = False) -> None:
        """The decision rule; `dated` (the validator) also judges its day and its reason. The
        handler's re-check leaves dates out: time only moves on, and runs recorded before the rule
        must replay; and reasons too: the validator judged this same decision's comment, and runs
        recorded before a reject needed one must replay."""
        task = self.state.tasks.get(decision.task_id)
        refusal = check_decision(
            _actor(decision),
            task,
            self._parties(),
            outcome=decision.outcome,
            comment=decision.comment,
            data=decision.data,
            today=workflow.now().date() if dated else None,
            reasons=dated,
        )
        if refusal is not None:
            raise _refuse(refusal)
        assert task is not None
        hold = self.state.holds.get(task.id)
        if hold is not None:  # another decision is held in its undo window
            raise _refuse(decided_moments_ago(hold.user))
        if not 0 <= decision.undo_seconds <= MAX_UNDO_SECONDS:
            raise _invalid(f"undo_seconds must be 0 to {MAX_UNDO_SECONDS}")
        missing = set((decision.data or {}).get("missing_skus", [])) - set(self.state.equipping.kit_skus)
        if task.kind == TaskKind.KIT_RETURN and missing:
            raise _invalid(f"missing_skus must be among {', '.join(self.state.equipping.kit_skus)}")
        required = task.context.get("required_level")
        if task.kind == TaskKind.VETTING_REVIEW and required and decision.outcome == Outcome.CLEAR:
            renewal = VettingClearance.model_validate(decision.data or {})
            problem = clearance_renewal_problem(
                renewal.level, renewal.valid_until, required, self.state.end_date
            )
            if problem is not None:
                raise _invalid(problem)

    @workflow.update(name=names.UPDATE_WITHDRAW)
    async def withdraw(self, withdrawal: Withdrawal) -> TaskView:
        """Undo a decision still held in its undo window; returns once the task is open again."""
        self._check_withdrawal(withdrawal)
        holds = self.state.holds
        holds[withdrawal.task_id].withdrawn = True
        await workflow.wait_condition(lambda: withdrawal.task_id not in holds)
        return self.state.tasks[withdrawal.task_id]

    @withdraw.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        self._check_withdrawal(withdrawal)

    def _check_withdrawal(self, withdrawal: Withdrawal) -> None:
        task = self.state.tasks.get(withdrawal.task_id)
        if task is None:
            raise _refuse(Refusal(names.ERR_UNKNOWN_TASK, "no task has this id"))
        hold = self.state.holds.get(task.id)
        if hold is None:
            if task.status == "open":
                raise _refuse(Refusal(names.ERR_NOT_HELD, "there is no decision on this task to undo"))
            raise _refuse(Refusal(names.ERR_NOT_HELD, "the decision has already taken effect"))
        if hold.user != withdrawal.user:
            raise _refuse(Refusal(names.ERR_NOT_HOLDER, f"only {hold.user} may undo their decision"))

    def _check_who(self, action: Action, actor: Actor) -> None:
        refusal = who_may(action, actor, self._parties())
        if refusal is not None:
            raise _refuse(refusal)

    def _check_when(
        self, action: Action, *, dated: bool = False, waiting_for: WaitingFor | None = None
    ) -> None:
        refusal = when_open(action, closed_actions(self.situation(dated=dated, waiting_for=waiting_for)))
        if refusal is not None:
            raise _refuse(refusal)

    # --- the requester's amendment ------------------------------------------------------------

    @workflow.update(name=names.UPDATE_AMEND)
    async def amend(self, amendment: Amendment) -> DeploymentStatus:
        """The requester's changes; returns once the new approval round is open."""
        self._check_amendment(amendment)
        approval_state = self.state.approval
        approval_state.amendment = amendment
        target = approval_state.amendments_applied + 1
        await workflow.wait_condition(
            lambda: approval_state.amendments_applied >= target or self.state.stage != Stage.APPROVAL
        )
        return self.snapshot()

    @amend.validator
    def _validate_amend(self, amendment: Amendment) -> None:
        self._check_amendment(amendment)

    def _check_amendment(self, amendment: Amendment) -> None:
        self._check_who(Action.AMEND, Actor.of(amendment.user, ()))
        self._check_when(Action.AMEND)
        # The fields' own rules (crc.requests) were checked when the amendment was decoded.
        if amendment.start_date is not None and amendment.start_date < workflow.now().date():
            raise _invalid("start date is in the past")

    # --- cancel, check-ins, extensions --------------------------------------------------------

    @workflow.update(name=names.UPDATE_CANCEL)
    async def cancel_deployment(self, request: CancelRequest) -> DeploymentStatus:
        """Cancel (undo, CANCELLED) before DEPLOYED; once deployed, order an early return."""
        self._check_cancel(request)
        reason = request.reason.strip()
        if self.state.stage != Stage.DEPLOYED:
            reason = f"Cancelled by {name_of(request)}: {reason}"
        self.state.cancel = request.model_copy(update={"reason": reason})
        self.wakeups += 1
        await workflow.wait_condition(
            lambda: self.state.stage in TERMINAL or self.state.stage == Stage.REDEPLOYMENT
        )
        return self.snapshot()

    @cancel_deployment.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._check_cancel(request)

    def _check_cancel(self, request: CancelRequest) -> None:
        self._check_who(Action.CANCEL, Actor.of(request.user, request.roles))
        self._check_when(Action.CANCEL)
        if not request.reason.strip():
            raise _invalid("say why it is cancelled")

    @workflow.update(name=names.UPDATE_CHECK_IN)
    async def check_in(self, check_in: CheckIn) -> CheckInResult:
        """The arrival check-in starts DEPLOYED; later ones keep the member accounted for."""
        # A check-in sent as soon as the read-model says "arrival" (a killed worker can stretch
        # that moment to seconds) waits for the run to know it too.
        if self.arrival_being_recorded():  # only then: waiting yields, reordering recorded runs
            await workflow.wait_condition(lambda: not self.arrival_being_recorded())
        self._check_check_in(check_in)
        update = workflow.current_update_info()
        assert update is not None
        result = await check_ins.record(self, check_in, key=update.id)
        self.wakeups += 1
        if result.arrival:
            await workflow.wait_condition(lambda: self.state.stage != Stage.TRAVEL)
        return result.model_copy(update={"stage": self.state.stage})

    @check_in.validator
    def _validate_check_in(self, check_in: CheckIn) -> None:
        self._check_check_in(check_in, dated=True)

    def _check_check_in(self, check_in: CheckIn, *, dated: bool = False) -> None:
        self._check_who(Action.CHECK_IN, Actor.of(check_in.user, check_in.roles, check_in.member_id))
        if check_in.status not in CHECK_IN_STATUSES:
            raise _invalid("status must be ok or needs_help")
        # Judged as the read-model shows it while the run records that it waits for the arrival.
        waiting = WaitingFor.ARRIVAL if self.arrival_being_recorded() else None
        self._check_when(Action.CHECK_IN, dated=dated, waiting_for=waiting)

    @workflow.update(name=names.UPDATE_EXTEND)
    async def request_extension(self, request: ExtensionRequest) -> DeploymentStatus:
        """Ask Planning and Resource Management (and a Standby member's home agency) to approve a
        longer stay, once it passes the checks that depend on the dates, with its new estimate."""
        self._check_extension(request)
        if workflow.patched(PATCH_EXTENSION_CHECKS):
            await extension.check_and_open_extension(self, request)
        else:  # runs started before the checks
            await extension.open_extension(self, request)
        self.wakeups += 1
        return self.snapshot()

    @request_extension.validator
    def _validate_extension(self, request: ExtensionRequest) -> None:
        self._check_extension(request)

    def _check_extension(self, request: ExtensionRequest) -> None:
        self._check_who(Action.REQUEST_EXTENSION, Actor.of(request.user, request.roles, request.member_id))
        self._check_when(Action.REQUEST_EXTENSION)
        if not request.justification.strip():
            raise _invalid("say why the stay should be longer")
        _check_duration((self.state.end_date - self.request.start_date).days + 1 + request.days)

    @workflow.signal(name=SIGNAL_POST_DEPARTURE)
    async def post_departure_ordered(self, order: DepartureOrder) -> None:
        """The post's authorized or ordered departure (or its end): held before TRAVEL, brought
        out once there; runs from before it never hear of one."""
        if workflow.patched(post_departure.PATCH_POST_DEPARTURE):
            await post_departure.receive(self, order)

    # --- the post's threat level ---------------------------------------------------------------

    @workflow.signal(name=names.SIGNAL_THREAT_CHANGE)
    async def threat_level_changed(self, change: ThreatChange) -> None:
        """The post's threat level (and the rules with it) changed: re-evaluate what depends on it."""
        if not workflow.patched(PATCH_THREAT_CHANGE):
            return  # a history recorded before the patch replays as it ran: the signal ignored
        async with self._threat_lock:
            await threat.reevaluate(self, change)

    @workflow.query(name=names.QUERY_STATUS)
    def status_query(self) -> DeploymentStatus:
        """Stage, open tasks and timeline as the workflow knows them."""
        return self.snapshot()


def _check_duration(days: int) -> None:
    if not MIN_DURATION_DAYS <= days <= MAX_DURATION_DAYS:
        raise _invalid(f"a deployment lasts {MIN_DURATION_DAYS} to {MAX_DURATION_DAYS} days in all")
