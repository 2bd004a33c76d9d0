"""DeploymentWorkflow: one durable workflow per deployment, the source of truth for its stage."""

from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from crc import names
    from crc.domain import MAX_DURATION_DAYS, MIN_DURATION_DAYS
    from crc.lifecycle import CheckInRecord
    from crc.roles import CANCEL_ANY_ROLES, ESCALATION_ROLE, Role
    from crc.stages import TERMINAL, Stage
    from crc.types import (
        Amendment,
        CancelRequest,
        CheckIn,
        CheckInResult,
        CompleteTask,
        Decision,
        DecisionResult,
        DeploymentOutcome,
        DeploymentRequest,
        DeploymentStatus,
        ExtensionRequest,
    )

from workflows import approval
from workflows.approval import run_approval
from workflows.cancellation import compensate
from workflows.core import Cancelled, DeploymentCore
from workflows.equipping import run_equipping
from workflows.redeployment import run_redeployment
from workflows.stay import open_extension, run_stay
from workflows.training import run_training
from workflows.travel import run_travel
from workflows.vetting import run_vetting

CHECK_IN_STATUSES = ("ok", "needs_help")
# How the timeline words each outcome of the tasks after approval.
PAST_TENSE = {
    "approve": "approved",
    "reject": "rejected",
    "clear": "cleared",
    "deny": "denied",
    "pass": "passed",
    "fail": "failed",
    "acknowledge": "acknowledged",
    "restocked": "restocked",
    "accept_later_start": "accepted a later start",
    "cancel": "cancelled",
    "retry": "asked to try the booking again",
    "booked_manually": "booked by hand",
    "accounted_for": "accounted for the member",
    "escalate": "escalated",
    "returned": "returned",
    "missing": "reported missing",
    "done": "done",
}


def _refuse(message: str, error_type: str) -> ApplicationError:
    return ApplicationError(message, type=error_type)


@workflow.defn(name=names.WORKFLOW_NAME)
class DeploymentWorkflow(DeploymentCore):
    """Drives one deployment from request to its end; people act through validated Updates."""

    @workflow.init
    def __init__(self, request: DeploymentRequest) -> None:
        self._setup(request)

    @workflow.run
    async def run(self, request: DeploymentRequest) -> DeploymentOutcome:
        """Every stage in order; a cancellation before DEPLOYED unwinds into compensation."""
        try:
            if request.carried is None:
                ended = await self._until_deployed()
                if ended is not None:
                    return await self._finish(ended)
            await run_stay(self)
            await run_redeployment(self)
        except Cancelled:
            return await self._finish(await compensate(self))
        return await self._finish("")

    async def _until_deployed(self) -> str | None:
        """Approval to arrival; the reason the request ended, or None once deployed."""
        request = self.request
        await self.record_stage(
            Stage.APPROVAL,
            "Awaiting approvals",
            self.event(
                "requested",
                f"{request.requested_by} requested {request.member_name} for {request.post_code} "
                f"as {request.role_title}, {request.start_date.isoformat()} for "
                f"{request.duration_days} days",
                actor=request.requested_by,
                stage=Stage.REQUESTED,
            ),
        )
        ended = await run_approval(self)
        if ended is not None:
            return ended
        for stage in (run_vetting, run_training, run_equipping, run_travel):
            await stage(self)
        return None

    async def _finish(self, reason: str) -> DeploymentOutcome:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return DeploymentOutcome(deployment_id=self.request.deployment_id, stage=self.stage, reason=reason)

    # --- decisions on tasks -------------------------------------------------------------------

    @workflow.update(name=names.UPDATE_DECIDE)
    async def decide(self, decision: Decision) -> DecisionResult:
        """Complete a task; returns once the workflow has acted on the decision."""
        # Re-checked here: two updates accepted together both pass the validator.
        self._check_decision(decision)
        task = self.tasks[decision.task_id]
        task.status = "completed"
        task.outcome = decision.outcome
        task.completed_by = decision.user
        round_no = self.round if self.round_open and task.kind == approval.TASK_KIND else None
        if task.kind == approval.TASK_KIND:
            kind, verb = approval.OUTCOME_EVENTS[decision.outcome]
        else:
            kind = f"{task.kind}.{decision.outcome}"
            verb = PAST_TENSE.get(decision.outcome, decision.outcome.replace("_", " "))
        who = approval.OFFICE_NAMES.get(task.role, task.role.replace("_", " ").capitalize())
        on_behalf = "" if task.role in decision.roles else " (decided by the director after escalation)"
        await self.act(
            "complete_task",
            _completion(self, decision, kind, f"{who} {verb}: {task.title}{on_behalf}"),
        )
        if task.kind == approval.TASK_KIND:
            # A round that closed meanwhile (another office rejected, time ran out) settled it.
            if round_no is not None and self.round_open and self.round == round_no:
                self.decisions.append(decision)
                seq = len(self.decisions)
                await workflow.wait_condition(lambda: self.applied >= seq)
        else:
            self.answers[task.id] = decision
            self.wakeups += 1
            await workflow.wait_condition(lambda: task.id in self.acted or self.stage in TERMINAL)
        return DecisionResult(task=task, stage=self.stage, status=self.status)

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self._check_decision(decision)

    def _check_decision(self, decision: Decision) -> None:
        task = self.tasks.get(decision.task_id)
        if task is None:
            raise _refuse(f"no task {decision.task_id} in this deployment", names.ERR_UNKNOWN_TASK)
        if task.status != "open":
            raise _refuse(f"task is already {task.status}", names.ERR_TASK_NOT_OPEN)
        if task.role == Role.MEMBER:
            if decision.member_id != self.request.member_id:
                raise _refuse("this task is for the deployed member", names.ERR_WRONG_ROLE)
        else:
            may_act = task.role in decision.roles or (
                task.escalated and ESCALATION_ROLE.value in decision.roles
            )
            if not may_act:
                raise _refuse(f"this task is for the {task.role} role", names.ERR_WRONG_ROLE)
            if decision.user == self.request.requested_by:
                raise _refuse("nobody may decide on their own request", names.ERR_OWN_REQUEST)
        if decision.outcome not in task.outcomes:
            raise _refuse(f"outcome must be one of {', '.join(task.outcomes)}", names.ERR_UNKNOWN_OUTCOME)
        _check_task_data(self, task.kind, decision)

    # --- the requester's amendment ------------------------------------------------------------

    @workflow.update(name=names.UPDATE_AMEND)
    async def amend(self, amendment: Amendment) -> DeploymentStatus:
        """The requester's changes; returns once the new approval round is open."""
        self._check_amendment(amendment)
        self.amendment = amendment
        target = self.amendments_applied + 1
        await workflow.wait_condition(
            lambda: self.amendments_applied >= target or self.stage != Stage.APPROVAL
        )
        return self.snapshot()

    @amend.validator
    def _validate_amend(self, amendment: Amendment) -> None:
        self._check_amendment(amendment)

    def _check_amendment(self, amendment: Amendment) -> None:
        if amendment.user != self.request.requested_by:
            raise _refuse("only the requester may amend the request", names.ERR_NOT_REQUESTER)
        if not self.awaiting_changes or self.amendment is not None:
            raise _refuse("the request is not waiting for changes", names.ERR_NOT_AMENDABLE)
        if amendment.duration_days is not None:
            _check_duration(amendment.duration_days)
        if amendment.start_date is not None and amendment.start_date < workflow.now().date():
            raise _refuse("start date is in the past", names.ERR_INVALID_DATA)

    # --- cancel, check-ins, extensions --------------------------------------------------------

    @workflow.update(name=names.UPDATE_CANCEL)
    async def cancel_deployment(self, request: CancelRequest) -> DeploymentStatus:
        """Cancel (undo, CANCELLED) before DEPLOYED; once deployed, order an early return."""
        self._check_cancel(request)
        reason = request.reason.strip()
        if self.stage != Stage.DEPLOYED:
            reason = f"Cancelled by {request.user}: {reason}"
        self.cancel = request.model_copy(update={"reason": reason})
        self.wakeups += 1
        await workflow.wait_condition(lambda: self.stage in TERMINAL or self.stage == Stage.REDEPLOYMENT)
        return self.snapshot()

    @cancel_deployment.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._check_cancel(request)

    def _check_cancel(self, request: CancelRequest) -> None:
        if request.user != self.request.requested_by and not CANCEL_ANY_ROLES & set(request.roles):
            raise _refuse("only the requester, a director or an admin may cancel", names.ERR_NOT_ALLOWED)
        if self.stage in TERMINAL or self.stage == Stage.REDEPLOYMENT:
            raise _refuse(f"the deployment is already at {self.stage.value}", names.ERR_NOT_NOW)
        if self.cancel is not None:
            raise _refuse("a cancellation is already under way", names.ERR_NOT_NOW)
        if not request.reason.strip():
            raise _refuse("say why it is cancelled", names.ERR_INVALID_DATA)

    @workflow.update(name=names.UPDATE_CHECK_IN)
    async def check_in(self, check_in: CheckIn) -> CheckInResult:
        """The arrival check-in starts DEPLOYED; later ones keep the member accounted for."""
        self._check_check_in(check_in)
        arrival = self.awaiting_arrival
        self.awaiting_arrival = False
        now = workflow.now()
        self.last_check_in_at = now
        await self.act(
            "record_check_in",
            CheckInRecord(
                key=f"{workflow.info().workflow_id}/check-in/{self.event_seq}",
                deployment_id=self.request.deployment_id,
                member_id=self.request.member_id,
                by_user=check_in.user,
                status=check_in.status,
                location=check_in.location,
                note=check_in.note,
                arrival=arrival,
                at=now,
            ),
        )
        where = f" at {check_in.location}" if check_in.location else ""
        await self.log(
            "arrival_check_in" if arrival else "check_in",
            f"{'Arrival check-in' if arrival else 'Check-in'}{where}: {check_in.status}",
            actor=check_in.user,
            comment=check_in.note or None,
        )
        if check_in.status == "needs_help":
            await self.notify(
                role=Role.OPERATIONS.value,
                kind="needs_help",
                message=f"{self.request.member_name} checked in needing help{where}: {check_in.note}",
                tasks=[],
            )
        if arrival:
            self.arrived_on = now.date()
        self.wakeups += 1
        if arrival:
            await workflow.wait_condition(lambda: self.stage != Stage.TRAVEL)
        every = timedelta(seconds=self.request.lifecycle.check_in_every_seconds)
        return CheckInResult(arrival=arrival, stage=self.stage, next_due_at=now + every)

    @check_in.validator
    def _validate_check_in(self, check_in: CheckIn) -> None:
        self._check_check_in(check_in)

    def _check_check_in(self, check_in: CheckIn) -> None:
        if check_in.member_id != self.request.member_id and Role.OPERATIONS not in check_in.roles:
            raise _refuse("only the deployed member or Operations may check in", names.ERR_NOT_ALLOWED)
        if check_in.status not in CHECK_IN_STATUSES:
            raise _refuse("status must be ok or needs_help", names.ERR_INVALID_DATA)
        arriving = self.stage == Stage.TRAVEL and self.awaiting_arrival and self.cancel is None
        if not arriving and self.stage != Stage.DEPLOYED:
            raise _refuse(
                f"no check-in is expected at {self.stage.value}: check-ins start once travel is "
                "booked and end with the stay",
                names.ERR_NOT_NOW,
            )

    @workflow.update(name=names.UPDATE_EXTEND)
    async def request_extension(self, request: ExtensionRequest) -> DeploymentStatus:
        """Ask Planning and Resource Management to approve a longer stay."""
        self._check_extension(request)
        await open_extension(self, request)
        self.wakeups += 1
        return self.snapshot()

    @request_extension.validator
    def _validate_extension(self, request: ExtensionRequest) -> None:
        self._check_extension(request)

    def _check_extension(self, request: ExtensionRequest) -> None:
        allowed = (
            request.user == self.request.requested_by
            or request.member_id == self.request.member_id
            or CANCEL_ANY_ROLES & set(request.roles)
        )
        if not allowed:
            raise _refuse(
                "only the requester, the member, a director or an admin may ask", names.ERR_NOT_ALLOWED
            )
        if self.stage != Stage.DEPLOYED or self.cancel is not None:
            raise _refuse("extensions are for deployments in country", names.ERR_NOT_NOW)
        if any(t.kind == "extension" and t.status == "open" for t in self.tasks.values()):
            raise _refuse("an extension is already awaiting approval", names.ERR_NOT_NOW)
        if not request.justification.strip():
            raise _refuse("say why the stay should be longer", names.ERR_INVALID_DATA)
        _check_duration((self.end_date - self.request.start_date).days + 1 + request.days)

    @workflow.query(name=names.QUERY_STATUS)
    def status_query(self) -> DeploymentStatus:
        """Stage, open tasks and timeline as the workflow knows them."""
        return self.snapshot()


def _check_duration(days: int) -> None:
    if not MIN_DURATION_DAYS <= days <= MAX_DURATION_DAYS:
        raise _refuse(
            f"a deployment lasts {MIN_DURATION_DAYS} to {MAX_DURATION_DAYS} days in all",
            names.ERR_INVALID_DATA,
        )


def _check_task_data(wf: DeploymentCore, kind: str, decision: Decision) -> None:
    """The data some outcomes need: report text, a renewal date, the SKUs missing."""
    data = decision.data or {}
    if kind == "after_action_report" and not str(data.get("report", "")).strip():
        raise _refuse('the after-action report needs {"report": "<text>"}', names.ERR_INVALID_DATA)
    if kind == "vetting_review" and "valid_until" in data:
        try:
            date.fromisoformat(str(data["valid_until"]))
        except ValueError:
            raise _refuse("valid_until must be a date, YYYY-MM-DD", names.ERR_INVALID_DATA) from None
    if kind == "kit_return" and not set(data.get("missing_skus", [])) <= set(wf.kit_skus):
        raise _refuse(f"missing_skus must be among {', '.join(wf.kit_skus)}", names.ERR_INVALID_DATA)


def _completion(wf: DeploymentCore, decision: Decision, kind: str, message: str) -> CompleteTask:
    """The read-model write for a decision, with its audit event."""
    return CompleteTask(
        deployment_id=wf.request.deployment_id,
        task_id=decision.task_id,
        outcome=decision.outcome,
        completed_by=decision.user,
        completed_at=workflow.now(),
        comment=decision.comment,
        data=decision.data,
        event=wf.event(kind, message, actor=decision.user, comment=decision.comment),
    )
