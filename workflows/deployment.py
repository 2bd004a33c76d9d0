"""DeploymentWorkflow: one durable workflow per deployment, the source of truth for its stage."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from crc import names
    from crc.domain import MAX_DURATION_DAYS, MIN_DURATION_DAYS
    from crc.roles import ESCALATION_ROLE
    from crc.stages import Stage
    from crc.types import (
        Amendment,
        CloseTasks,
        CompleteTask,
        CostRequest,
        Decision,
        DecisionResult,
        DeploymentOutcome,
        DeploymentRequest,
        DeploymentStatus,
        EventRecord,
        NotifyRole,
        OpenTasks,
        StageChange,
        TaskView,
        TimelineEntry,
    )
    from workflows import approval
    from workflows.options import READ_MODEL_RETRY, READ_MODEL_TIMEOUT

_AMENDABLE_FIELDS = (
    "start_date",
    "duration_days",
    "sector",
    "role_title",
    "justification",
    "urgent_justification",
)


def _end_date(start: date, duration_days: int) -> date:
    return start + timedelta(days=duration_days - 1)


@workflow.defn(name=names.WORKFLOW_NAME)
class DeploymentWorkflow:
    """Drives one deployment from request to its end; decisions arrive as validated Updates."""

    @workflow.init
    def __init__(self, request: DeploymentRequest) -> None:
        self._request = request
        self._stage = Stage.REQUESTED
        self._status = "Submitted"
        self._revision = 1
        self._cost: Decimal | None = None
        self._tasks: dict[str, TaskView] = {}
        self._timeline: list[TimelineEntry] = []
        self._event_seq = 0
        # Decisions of the open round, queued by the update handler and applied by the run loop.
        self._round = 0
        self._round_open = False
        self._decisions: list[Decision] = []
        self._applied = 0
        # The requester's amendment after "request changes".
        self._awaiting_changes = False
        self._amendment: Amendment | None = None
        self._amendments_applied = 0

    # --- run ----------------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: DeploymentRequest) -> DeploymentOutcome:
        """Approval, then wait at VETTING (the later stages arrive in the next release)."""
        await self._record_stage(
            Stage.APPROVAL,
            "Awaiting approvals",
            self._event(
                "requested",
                f"{request.requested_by} requested {request.member_name} for {request.post_code} "
                f"as {request.role_title}, {request.start_date.isoformat()} for "
                f"{request.duration_days} days",
                actor=request.requested_by,
                stage=Stage.REQUESTED,
            ),
        )
        outcome = await self._approval_stage()
        if outcome.stage != Stage.VETTING:
            await workflow.wait_condition(workflow.all_handlers_finished)
            return outcome
        # Vetting and the stages after it come with the lifecycle release; until then it waits here.
        await workflow.wait_condition(lambda: False)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _approval_stage(self) -> DeploymentOutcome:
        """Rounds of parallel approvals until all approve, one rejects, or time runs out."""
        while True:
            result, decision = await self._approval_round()
            outcome = await self._conclude_round(result, decision)
            # Only now, with the result written, do the decisions' update handlers answer.
            self._applied = len(self._decisions)
            if outcome is not None:
                return outcome
            if not await self._await_amendment():
                return await self._expire("Not amended in time")

    async def _conclude_round(
        self, result: approval.RoundResult, decision: Decision | None
    ) -> DeploymentOutcome | None:
        """Write how the round ended; None when it went back to the requester for changes."""
        deployment_id = self._request.deployment_id
        if result == approval.RoundResult.APPROVED:
            await self._record_stage(
                Stage.VETTING,
                "Waiting for vetting",
                self._event("stage_changed", "All offices approved; the request moves to vetting"),
            )
            return DeploymentOutcome(deployment_id=deployment_id, stage=Stage.VETTING)
        await self._withdraw_open_tasks(f"Approval round {self._round} closed ({result.value})")
        if result == approval.RoundResult.EXPIRED:
            return await self._expire("No decision from every office in time")
        assert decision is not None
        if result == approval.RoundResult.REJECTED:
            reason = self._decision_reason("Rejected", decision)
            await self._record_stage(Stage.REJECTED, reason, self._event("closed", reason))
            return DeploymentOutcome(deployment_id=deployment_id, stage=Stage.REJECTED, reason=reason)
        await self._record_stage(
            Stage.APPROVAL,
            self._decision_reason("Changes requested", decision),
            self._event("returned_for_changes", "Returned to the requester for changes"),
        )
        return None

    async def _approval_round(self) -> tuple[approval.RoundResult, Decision | None]:
        """Open one round's tasks and wait for its decisions, with reminder, escalation and expiry."""
        request = self._request
        self._round += 1
        estimate = await workflow.execute_activity_method(
            ReadModelActivities.estimate_cost,
            CostRequest(
                deployment_id=request.deployment_id,
                member_id=request.member_id,
                post_code=request.post_code,
                duration_days=request.duration_days,
            ),
            start_to_close_timeout=READ_MODEL_TIMEOUT,
            retry_policy=READ_MODEL_RETRY,
        )
        self._cost = estimate.total_usd
        opened_at = workflow.now()
        tasks = approval.approval_tasks(
            request, round_no=self._round, opened_at=opened_at, estimate=estimate.total_usd
        )
        self._tasks.update({t.id: t for t in tasks})
        offices = ", ".join(approval.OFFICE_NAMES[t.role] for t in tasks)
        await self._activity(
            ReadModelActivities.open_tasks,
            OpenTasks(
                deployment_id=request.deployment_id,
                tasks=tasks,
                event=self._event("approval_opened", f"Approval round {self._round} opened: {offices}"),
            ),
        )
        self._round_open = True
        if self._amendment is not None:  # the amendment that led to this round is now in effect
            self._amendment = None
            self._amendments_applied += 1
        round_ids = {t.id for t in tasks}
        approved: set[str] = set()
        deadlines = list(approval.round_deadlines(request.approval, opened_at).items())
        while True:
            while self._applied < len(self._decisions):
                decision = self._decisions[self._applied]
                if decision.outcome == approval.APPROVE:
                    approved.add(decision.task_id)
                    if approved >= round_ids:
                        return self._close_round(approval.RoundResult.APPROVED, decision)
                elif decision.outcome == approval.REJECT:
                    return self._close_round(approval.RoundResult.REJECTED, decision)
                else:
                    return self._close_round(approval.RoundResult.CHANGES_REQUESTED, decision)
                self._applied += 1
            phase, at = deadlines[0]  # expiry, the last deadline, always ends the round
            timeout = (at - workflow.now()).total_seconds()
            try:
                if timeout <= 0:
                    raise TimeoutError
                await workflow.wait_condition(lambda: self._applied < len(self._decisions), timeout=timeout)
            except TimeoutError:
                deadlines.pop(0)
                if phase == "expire":
                    return self._close_round(approval.RoundResult.EXPIRED, None)
                await self._chase_open_tasks(phase)

    def _close_round(
        self, result: approval.RoundResult, decision: Decision | None
    ) -> tuple[approval.RoundResult, Decision | None]:
        # Decisions queued so far belong to this round and are settled by its result; later
        # ones find no open task or a closed round, so no update handler is left waiting.
        self._round_open = False
        return result, decision

    async def _chase_open_tasks(self, phase: str) -> None:
        """Remind each office of its open task, or escalate all open ones to the director."""
        open_tasks = [t for t in self._tasks.values() if t.status == "open"]
        if phase == "remind":
            for task in open_tasks:
                await self._notify(
                    role=task.role,
                    kind="reminder",
                    message=f"Reminder: '{task.title}' is due {task.due_at:%Y-%m-%d %H:%M} UTC",
                    tasks=[task],
                )
            return
        for task in open_tasks:
            task.escalated = True
        await self._notify(
            role=ESCALATION_ROLE.value,
            kind="escalated",
            message=f"Overdue approvals escalated to the director: "
            f"{', '.join(approval.OFFICE_NAMES[t.role] for t in open_tasks)}",
            tasks=open_tasks,
            escalate=True,
        )

    async def _await_amendment(self) -> bool:
        """Wait for the requester's amendment; False if none came before the expiry time."""
        self._awaiting_changes = True
        policy = self._request.approval
        try:
            await workflow.wait_condition(
                lambda: self._amendment is not None,
                timeout=timedelta(seconds=policy.due_seconds * policy.expire_after_due_multiple),
            )
        except TimeoutError:
            self._awaiting_changes = False
            return False
        self._awaiting_changes = False
        amendment = self._amendment
        assert amendment is not None
        changes = amendment.model_dump(include=set(_AMENDABLE_FIELDS), exclude_none=True)
        self._request = self._request.model_copy(update=changes)
        self._revision += 1
        await self._record_stage(
            Stage.APPROVAL,
            "Awaiting approvals",
            self._event(
                "amended",
                f"Amended (revision {self._revision}): {', '.join(sorted(changes)) or 'no field changed'}",
                actor=amendment.user,
                comment=amendment.comment,
            ),
            amendment=amendment,
        )
        return True

    async def _expire(self, reason: str) -> DeploymentOutcome:
        await self._withdraw_open_tasks(reason)
        await self._record_stage(Stage.EXPIRED, reason, self._event("expired", reason))
        return DeploymentOutcome(
            deployment_id=self._request.deployment_id, stage=Stage.EXPIRED, reason=reason
        )

    # --- updates and queries ------------------------------------------------------------------

    @workflow.update(name=names.UPDATE_DECIDE)
    async def decide(self, decision: Decision) -> DecisionResult:
        """Complete a task; returns once the workflow has acted on the decision."""
        # Re-checked here: two updates accepted together both pass the validator.
        self._check_decision(decision)
        task = self._tasks[decision.task_id]
        task.status = "completed"
        task.outcome = decision.outcome
        task.completed_by = decision.user
        round_no = self._round if self._round_open and task.kind == approval.TASK_KIND else None
        kind, verb = approval.OUTCOME_EVENTS[decision.outcome]
        office = approval.OFFICE_NAMES[task.role]
        on_behalf = "" if task.role in decision.roles else " (decided by the director after escalation)"
        await self._activity(
            ReadModelActivities.complete_task,
            CompleteTask(
                deployment_id=self._request.deployment_id,
                task_id=task.id,
                outcome=decision.outcome,
                completed_by=decision.user,
                completed_at=workflow.now(),
                comment=decision.comment,
                data=decision.data,
                event=self._event(
                    kind,
                    f"{office} {verb}{on_behalf}",
                    actor=decision.user,
                    comment=decision.comment,
                ),
            ),
        )
        # A round that closed meanwhile (another office rejected, or time ran out) settled this task.
        if round_no is not None and self._round_open and self._round == round_no:
            self._decisions.append(decision)
            seq = len(self._decisions)
            await workflow.wait_condition(lambda: self._applied >= seq)
        return DecisionResult(task=task, stage=self._stage, status=self._status)

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self._check_decision(decision)

    def _check_decision(self, decision: Decision) -> None:
        task = self._tasks.get(decision.task_id)
        if task is None:
            raise ApplicationError(
                f"no task {decision.task_id} in this deployment", type=names.ERR_UNKNOWN_TASK
            )
        if task.status != "open":
            raise ApplicationError(f"task is already {task.status}", type=names.ERR_TASK_NOT_OPEN)
        may_act = task.role in decision.roles or (task.escalated and ESCALATION_ROLE.value in decision.roles)
        if not may_act:
            raise ApplicationError(f"this task is for the {task.role} role", type=names.ERR_WRONG_ROLE)
        if decision.user == self._request.requested_by:
            raise ApplicationError("nobody may decide on their own request", type=names.ERR_OWN_REQUEST)
        if decision.outcome not in task.outcomes:
            raise ApplicationError(
                f"outcome must be one of {', '.join(task.outcomes)}", type=names.ERR_UNKNOWN_OUTCOME
            )

    @workflow.update(name=names.UPDATE_AMEND)
    async def amend(self, amendment: Amendment) -> DeploymentStatus:
        """The requester's changes; returns once the new approval round is open."""
        self._check_amendment(amendment)
        self._amendment = amendment
        target = self._amendments_applied + 1
        await workflow.wait_condition(
            lambda: self._amendments_applied >= target or self._stage != Stage.APPROVAL
        )
        return self.status()

    @amend.validator
    def _validate_amend(self, amendment: Amendment) -> None:
        self._check_amendment(amendment)

    def _check_amendment(self, amendment: Amendment) -> None:
        if amendment.user != self._request.requested_by:
            raise ApplicationError("only the requester may amend the request", type=names.ERR_NOT_REQUESTER)
        if not self._awaiting_changes or self._amendment is not None:
            raise ApplicationError("the request is not waiting for changes", type=names.ERR_NOT_AMENDABLE)
        if amendment.duration_days is not None and not (
            MIN_DURATION_DAYS <= amendment.duration_days <= MAX_DURATION_DAYS
        ):
            raise ApplicationError(
                f"duration must be {MIN_DURATION_DAYS} to {MAX_DURATION_DAYS} days",
                type=names.ERR_INVALID_DATA,
            )
        if amendment.start_date is not None and amendment.start_date < workflow.now().date():
            raise ApplicationError("start date is in the past", type=names.ERR_INVALID_DATA)

    @workflow.query(name=names.QUERY_STATUS)
    def status(self) -> DeploymentStatus:
        """Stage, open tasks and timeline as the workflow knows them."""
        return DeploymentStatus(
            deployment_id=self._request.deployment_id,
            stage=self._stage,
            status=self._status,
            revision=self._revision,
            open_tasks=[t for t in self._tasks.values() if t.status == "open"],
            timeline=list(self._timeline),
            cost_estimate_usd=self._cost,
        )

    # --- read-model helpers -------------------------------------------------------------------

    def _event(
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
        self._event_seq += 1
        at = workflow.now()
        stage = stage or self._stage
        self._timeline.append(TimelineEntry(kind=kind, stage=stage, actor=actor, message=message, at=at))
        return EventRecord(
            key=f"{workflow.info().workflow_id}/{self._event_seq}",
            kind=kind,
            stage=stage,
            actor=actor,
            message=message,
            at=at,
            comment=comment,
            data=data,
        )

    async def _activity(self, method: Any, arg: Any) -> Any:
        return await workflow.execute_activity_method(
            method, arg, start_to_close_timeout=READ_MODEL_TIMEOUT, retry_policy=READ_MODEL_RETRY
        )

    async def _record_stage(
        self, stage: Stage, status: str, event: EventRecord, *, amendment: Amendment | None = None
    ) -> None:
        self._stage = stage
        self._status = status
        await self._activity(
            ReadModelActivities.record_stage,
            StageChange(
                deployment_id=self._request.deployment_id,
                stage=stage,
                status=status,
                event=event,
                amendment=amendment,
                revision=self._revision if amendment else None,
                end_date=_end_date(self._request.start_date, self._request.duration_days)
                if amendment
                else None,
            ),
        )

    async def _withdraw_open_tasks(self, reason: str) -> None:
        open_tasks = [t for t in self._tasks.values() if t.status == "open"]
        if not open_tasks:
            return
        for task in open_tasks:
            task.status = "cancelled"
        await self._activity(
            ReadModelActivities.close_tasks,
            CloseTasks(
                deployment_id=self._request.deployment_id,
                task_ids=[t.id for t in open_tasks],
                event=self._event("tasks_withdrawn", f"{reason}; open tasks withdrawn"),
            ),
        )

    async def _notify(
        self, *, role: str, kind: str, message: str, tasks: list[TaskView], escalate: bool = False
    ) -> None:
        event = self._event(kind, message)
        await self._activity(
            ReadModelActivities.notify_role,
            NotifyRole(
                key=event.key,
                deployment_id=self._request.deployment_id,
                role=role,
                kind=kind,
                message=message,
                task_ids=[t.id for t in tasks],
                escalate_task_ids=[t.id for t in tasks] if escalate else [],
                event=event,
            ),
        )

    @staticmethod
    def _decision_reason(prefix: str, decision: Decision) -> str:
        comment = f": {decision.comment}" if decision.comment else ""
        return f"{prefix} by {decision.user}{comment}"
