"""OperationWorkflow: one durable workflow per country operation, owning the deployments that
fill its positions as child workflows."""

import asyncio
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.operations import OperationActivities
    from crc import names
    from crc.operations import (
        FILLABLE_STATUSES,
        MAX_FILL,
        OPEN_STATUSES,
        OPERATION_WORKFLOW_NAME,
        QUERY_OPERATION,
        UNFILLED_STAGES,
        UPDATE_ADD_POSITION,
        UPDATE_APPROVE,
        UPDATE_CANCEL_OPERATION,
        UPDATE_CHANGE_POSITION,
        UPDATE_CUT_POSITION,
        UPDATE_FILL,
        UPDATE_SURGE,
        AddPosition,
        ApproveOperation,
        ApprovingOffice,
        AuditEntry,
        Caller,
        CancelChild,
        CancelOperation,
        ChangePosition,
        CutPosition,
        FillPosition,
        NewDeployment,
        NewDeployments,
        OperationInput,
        OperationOutcome,
        OperationStatus,
        OperationStatusChange,
        OperationView,
        Position,
        PositionView,
        PositionWrite,
        StartedDeployments,
        Surge,
    )
    from crc.permissions import Actor
    from crc.roles import ROLE_LABELS, Role
    from crc.search_attributes import initial_search_attributes
    from crc.types import DeploymentOutcome, DeploymentRequest

from workflows.options import run_activity

# ApplicationError types of its refusals beyond crc.names' (the web maps them to HTTP).
ERR_UNKNOWN_POSITION = "UnknownPosition"  # 404
ERR_NO_ROOM = "NoRoom"  # 409: more members than the position has places left

# A fill writes all its deployment rows in one activity that checks each member under their lock
# (fills before it wrote one row at a time, unchecked): a member busy elsewhere refuses the fill.
PATCH_FILL_UNDER_LOCK = "crc-candidates-fill-under-lock"

PLANNING_ROLES = frozenset({Role.PLANNING, Role.ADMIN})
OFFICE_LABELS = {
    ApprovingOffice.PLANNING: "Planning director",
    ApprovingOffice.RESOURCE_MANAGEMENT: "Resource Management",
}


@dataclass
class Filled:
    """A deployment the operation started: its position, member, and the stage it ended at."""

    position_id: str
    member_id: int
    ended: str | None = None


def _refuse(code: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=code)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def may_approve(actor: Actor, office: ApprovingOffice) -> bool:
    """True when the actor speaks for the office: the Planning director, or Resource Management."""
    if office == ApprovingOffice.PLANNING:
        return Role.DIRECTOR in actor.roles and actor.covers(Role.DIRECTOR, Role.PLANNING)
    return Role.RESOURCE_MANAGEMENT in actor.roles


def may_cancel(actor: Actor) -> bool:
    """Planning, the Planning director or an admin may cancel an operation."""
    return bool(PLANNING_ROLES & actor.roles) or may_approve(actor, ApprovingOffice.PLANNING)


def _actor(caller: Caller) -> Actor:
    return Actor.of(caller.user, caller.roles, None, caller.scopes)


@workflow.defn(name=OPERATION_WORKFLOW_NAME)
class OperationWorkflow:
    """DRAFT → APPROVED → STAFFING → ACTIVE → CLOSING → CLOSED (or CANCELLED); plan changes,
    approvals, fills and the cancel arrive as validated Updates."""

    @workflow.init
    def __init__(self, operation: OperationInput) -> None:
        self.op = operation
        self.status = OperationStatus.DRAFT
        self.approvals: dict[str, str] = {}
        self.positions: dict[str, Position] = {p.id: p for p in operation.positions}
        self.filled: dict[str, Filled] = {}
        self.requesters: dict[str, str] = {}  # deployment id -> who filled it (its requester)
        self.cancel: CancelOperation | None = None
        self.cascaded = False
        self.audits = 0
        # Handlers that change the plan or start deployments, and the run's moves, take turns.
        self.lock = asyncio.Lock()
        self.followers: list[asyncio.Task[None]] = []

    @workflow.run
    async def run(self, operation: OperationInput) -> OperationOutcome:
        """Wait for both approvals, then follow the dates; a cancel cascades to the deployments."""
        await workflow.wait_condition(lambda: len(self.approvals) == len(ApprovingOffice) or self.cancelled)
        if not self.cancelled:
            await self._move(
                OperationStatus.APPROVED, "Approved by the Planning director and Resource Management"
            )
        if not await self._until(operation.start_date):
            await self._move(OperationStatus.ACTIVE, f"Started on {operation.start_date.isoformat()}")
        if not await self._until(operation.end_date + timedelta(days=1)):
            await self._move(OperationStatus.CLOSING, "Past its end date: waiting for its deployments to end")
        reason = ""
        if self.cancel is not None:
            reason = self.cancel.reason
            async with self.lock:  # a fill under way finishes first, so its deployments are cancelled too
                await self._move(
                    OperationStatus.CLOSING, f"Cancelling: {reason}", locked=True, actor=self.cancel.user
                )
                for deployment_id, filled in self.filled.items():
                    if filled.ended is None:
                        await self._cancel_child(deployment_id, f"cancelled by {self.cancel.user}: {reason}")
            self.cascaded = True
        await workflow.wait_condition(lambda: all(f.ended is not None for f in self.filled.values()))
        if self.cancel is not None:
            await self._move(OperationStatus.CANCELLED, f"Cancelled: {reason}", actor=self.cancel.user)
        else:
            await self._move(OperationStatus.CLOSED, "Every deployment has ended")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return OperationOutcome(operation_id=operation.operation_id, status=self.status, reason=reason)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None

    async def _until(self, day: date) -> bool:
        """Wait for the start of `day` (Temporal time); True if a cancel came first."""
        left = (_start_of(day) - workflow.now()).total_seconds()
        if left > 0:
            with suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.cancelled, timeout=left)
        return self.cancelled

    # --- writes ---------------------------------------------------------------------------------

    def _entry(self, kind: str, message: str, actor: str, data: dict[str, Any] | None = None) -> AuditEntry:
        self.audits += 1
        return AuditEntry(
            key=f"operation/{self.op.operation_id}/{self.audits}",
            kind=kind,
            actor=actor,
            message=message,
            data=data,
            at=workflow.now(),
        )

    async def _move(
        self, status: OperationStatus, note: str, *, locked: bool = False, actor: str = "system"
    ) -> None:
        """Record the new status (the read-model first), taking turns with the handlers."""
        if not locked:
            async with self.lock:
                await self._move(status, note, locked=True, actor=actor)
            return
        entry = self._entry("status_changed", f"{status.value}: {note}", actor, {"status": status.value})
        await run_activity(
            OperationActivities.record_status,
            OperationStatusChange(operation_id=self.op.operation_id, status=status, note=note, entry=entry),
        )
        self.status = status

    async def _write_position(
        self, position: Position, kind: str, message: str, actor: str, data: dict[str, Any]
    ) -> None:
        await run_activity(
            OperationActivities.write_position,
            PositionWrite(
                operation_id=self.op.operation_id,
                position=position,
                entry=self._entry(kind, message, actor, {"position_id": position.id, **data}),
            ),
        )
        self.positions[position.id] = position

    async def _cancel_child(self, deployment_id: str, reason: str) -> None:
        """Cancel a deployment through its own cancel path, as the one who asked for it."""
        await run_activity(
            OperationActivities.cancel_deployment,
            CancelChild(
                deployment_id=deployment_id,
                user=self.requesters[deployment_id],
                user_name=f"operation {self.op.name}",
                reason=reason,
            ),
        )

    # --- the view -------------------------------------------------------------------------------

    def filled_count(self, position_id: str) -> int:
        """Deployments that fill the position: running or ended other than refused or cancelled."""
        return sum(
            1 for f in self.filled.values() if f.position_id == position_id and f.ended not in UNFILLED_STAGES
        )

    def view(self) -> OperationView:
        """The operation as the workflow knows it."""
        return OperationView(
            operation_id=self.op.operation_id,
            status=self.status,
            approvals=dict(self.approvals),
            positions=[
                PositionView(
                    **p.model_dump(),
                    filled=self.filled_count(p.id),
                    deployment_ids=[d for d, f in self.filled.items() if f.position_id == p.id],
                )
                for p in self.positions.values()
            ],
            deployment_stages={d: f.ended for d, f in self.filled.items() if f.ended is not None},
        )

    @workflow.query(name=QUERY_OPERATION)
    def operation_query(self) -> OperationView:
        """Status, approvals and positions as the workflow knows them."""
        return self.view()

    # --- approvals ------------------------------------------------------------------------------

    @workflow.update(name=UPDATE_APPROVE)
    async def approve(self, approval: ApproveOperation) -> OperationView:
        """An office's approval; the run moves to APPROVED once both have approved."""
        office = self._check_approval(approval)
        self.approvals[office.value] = approval.user
        async with self.lock:
            entry = self._entry(
                "approved", f"{OFFICE_LABELS[office]} approved", approval.user, {"office": office.value}
            )
            await run_activity(
                OperationActivities.record_status,
                OperationStatusChange(
                    operation_id=self.op.operation_id,
                    status=self.status,
                    note=f"{OFFICE_LABELS[office]} approved",
                    entry=entry,
                ),
            )
        return self.view()

    @approve.validator
    def _validate_approve(self, approval: ApproveOperation) -> None:
        self._check_approval(approval)

    def _check_approval(self, approval: ApproveOperation) -> ApprovingOffice:
        """The office the approval is for, or the refusal."""
        actor = _actor(approval)
        offices = [o for o in ApprovingOffice if may_approve(actor, o) and (approval.office in (None, o))]
        if not offices:
            raise _refuse(
                names.ERR_NOT_ALLOWED, "only the Planning director or Resource Management may approve"
            )
        if approval.user == self.op.created_by:
            raise _refuse(names.ERR_OWN_REQUEST, "nobody approves an operation they created")
        if self.status != OperationStatus.DRAFT or self.cancelled:
            raise _refuse(
                names.ERR_NOT_NOW, f"the operation is {self.status.value}, not waiting for approval"
            )
        waiting = [o for o in offices if o.value not in self.approvals]
        if not waiting:
            raise _refuse(names.ERR_NOT_NOW, "your office has already approved this operation")
        return waiting[0]

    # --- filling positions ----------------------------------------------------------------------

    @workflow.update(name=UPDATE_FILL)
    async def fill(self, request: FillPosition) -> OperationView:
        """Start a deployment for each member, as a child workflow; returns once all have started."""
        self._check_fill(request)
        async with self.lock:
            self._check_fill(request)  # re-checked: the status or the places may have changed meanwhile
            position = self.positions[request.position_id]
            if workflow.patched(PATCH_FILL_UNDER_LOCK):
                await self._start_deployments(position, request.member_ids, request.user)
            else:
                for member_id in request.member_ids:
                    await self._start_deployment(position, member_id, request.user)
            await self._staffing(request.user)
        return self.view()

    async def _staffing(self, user: str) -> None:
        """The first deployments have started: an approved operation is now staffing (locked)."""
        if self.status == OperationStatus.APPROVED:
            await self._move(
                OperationStatus.STAFFING,
                "Staffing: the first deployments have started",
                locked=True,
                actor=user,
            )

    @workflow.update(name=UPDATE_SURGE)
    async def surge(self, request: Surge) -> OperationView:
        """Call up Active members for the open positions: every row written together (or none, if
        one member is busy elsewhere), then each deployment started as a child."""
        self._check_surge(request)
        async with self.lock:
            self._check_surge(request)
            audits = self.audits
            news = [
                self._new_deployment(self.positions[pick.position_id], m, request.user, request.start_date)
                for pick in request.picks
                for m in pick.member_ids
            ]
            await self._start_all(news, audits)
            await self._staffing(request.user)
        return self.view()

    @surge.validator
    def _validate_surge(self, request: Surge) -> None:
        self._check_surge(request)

    def _check_surge(self, request: Surge) -> None:
        self._check_plan_change(request, FILLABLE_STATUSES)
        members = [m for pick in request.picks for m in pick.member_ids]
        if not members or len(members) > MAX_FILL or len(set(members)) != len(members):
            raise _refuse(names.ERR_INVALID_DATA, f"call up 1 to {MAX_FILL} different members")
        if len({pick.position_id for pick in request.picks}) != len(request.picks):
            raise _refuse(names.ERR_INVALID_DATA, "name each position once")
        if request.start_date < workflow.now().date():
            raise _refuse(names.ERR_INVALID_DATA, "start_date is in the past")
        for pick in request.picks:
            self._check_fill(
                FillPosition(
                    user=request.user,
                    roles=request.roles,
                    scopes=request.scopes,
                    position_id=pick.position_id,
                    member_ids=pick.member_ids,
                )
            )

    @fill.validator
    def _validate_fill(self, request: FillPosition) -> None:
        self._check_fill(request)

    def _check_plan_change(self, caller: Caller, statuses: frozenset[OperationStatus]) -> None:
        if not PLANNING_ROLES & _actor(caller).roles:
            raise _refuse(
                names.ERR_NOT_ALLOWED, f"only {ROLE_LABELS[Role.PLANNING]} may change or staff an operation"
            )
        if self.status not in statuses or self.cancelled:
            raise _refuse(names.ERR_NOT_NOW, f"the operation is {self.status.value}")

    def _position(self, position_id: str) -> Position:
        position = self.positions.get(position_id)
        if position is None or position.cut:
            raise _refuse(ERR_UNKNOWN_POSITION, "the operation has no position with this id")
        return position

    def _check_fill(self, request: FillPosition) -> None:
        self._check_plan_change(request, FILLABLE_STATUSES)
        position = self._position(request.position_id)
        if not 1 <= len(request.member_ids) <= MAX_FILL or len(set(request.member_ids)) != len(
            request.member_ids
        ):
            raise _refuse(names.ERR_INVALID_DATA, f"name 1 to {MAX_FILL} different members")
        left = position.count - self.filled_count(position.id)
        if len(request.member_ids) > left:
            raise _refuse(ERR_NO_ROOM, f"the position has {left} of {position.count} places left")
        taken = {
            f.member_id
            for f in self.filled.values()
            if f.position_id == position.id and f.ended not in UNFILLED_STAGES
        }
        if taken & set(request.member_ids):
            raise _refuse(ERR_NO_ROOM, "a member named already fills this position")

    def _new_deployment(
        self, position: Position, member_id: int, user: str, start_date: date | None = None
    ) -> NewDeployment:
        """The row of a new deployment for the member in the position (its id drawn here); a
        surge's start date replaces the position's."""
        deployment_id = str(workflow.uuid4())
        surge = start_date is not None
        return NewDeployment(
            operation_id=self.op.operation_id,
            position_id=position.id,
            deployment_id=deployment_id,
            member_id=member_id,
            post_code=position.post_code,
            sector=position.sector,
            role_title=position.role_title,
            start_date=start_date or position.start_date,
            duration_days=position.duration_days,
            justification=f"Operation {self.op.name}: {self.op.objective}",
            requested_by=user,
            entry=self._entry(
                "position_filled",
                f"{position.role_title}: member {member_id} "
                + (f"called up in a surge for {start_date}" if surge else "requested"),
                user,
                {"position_id": position.id, "deployment_id": deployment_id, "member_id": member_id}
                | ({"surge": True} if surge else {}),
            ),
        )

    async def _start_deployment(self, position: Position, member_id: int, user: str) -> None:
        """Write the deployment's row, then start its workflow as a child the operation follows."""
        new = self._new_deployment(position, member_id, user)
        started = await run_activity(OperationActivities.write_deployment, new)
        await self._start_child(new, started.request)

    async def _start_deployments(self, position: Position, member_ids: list[int], user: str) -> None:
        """Write the fill's rows together (each member checked under their lock), then start each
        deployment's workflow; a member busy elsewhere refuses the whole fill and nothing starts."""
        audits = self.audits
        await self._start_all([self._new_deployment(position, m, user) for m in member_ids], audits)

    async def _start_all(self, news: list[NewDeployment], audits: int) -> None:
        """Write the rows together, then start each workflow; `audits` is the audit count before
        the rows' entries were drawn (given back when a busy member refuses them all)."""
        try:
            written: StartedDeployments = await run_activity(
                OperationActivities.write_deployments, NewDeployments(deployments=news)
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == names.ERR_MEMBER_BUSY:
                self.audits = audits  # nothing was written: the audit keys are free again
                raise _refuse(names.ERR_MEMBER_BUSY, cause.message) from err
            raise
        for new, started in zip(news, written.started, strict=True):
            await self._start_child(new, started.request)

    async def _start_child(self, new: NewDeployment, request: DeploymentRequest) -> None:
        """Start a written deployment's workflow as a child the operation follows."""
        deployment_id = new.deployment_id
        handle: ChildWorkflowHandle[Any, DeploymentOutcome] = await workflow.start_child_workflow(
            names.WORKFLOW_NAME,
            request,
            id=names.deployment_workflow_id(deployment_id),
            result_type=DeploymentOutcome,
            search_attributes=initial_search_attributes(request),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            # The deployment lives its own life: an operation that ends early does not end it.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        self.filled[deployment_id] = Filled(position_id=new.position_id, member_id=new.member_id)
        self.requesters[deployment_id] = new.requested_by
        self.followers.append(asyncio.create_task(self._follow(deployment_id, handle)))

    async def _follow(self, deployment_id: str, handle: ChildWorkflowHandle[Any, DeploymentOutcome]) -> None:
        """Note the stage the deployment ended at (a failed or terminated one counts as cancelled)."""
        try:
            outcome = await handle
            ended = outcome.stage.value
        except ChildWorkflowError:
            ended = "CANCELLED"
        self.filled[deployment_id].ended = ended

    # --- the plan -------------------------------------------------------------------------------

    @workflow.update(name=UPDATE_ADD_POSITION)
    async def add_position(self, request: AddPosition) -> OperationView:
        """Add a line to the plan (audited)."""
        self._check_add(request)
        async with self.lock:
            self._check_add(request)
            fields = request.position.model_dump(exclude={"post_code"})
            position = Position(
                **fields,
                id=str(workflow.uuid4()),
                post_code=request.position.post_code or self.op.post_codes[0],
            )
            message = f"Position added: {position.count} of {position.role_title}"
            await self._write_position(
                position, "position_added", message, request.user, {"after": position.model_dump(mode="json")}
            )
        return self.view()

    @add_position.validator
    def _validate_add(self, request: AddPosition) -> None:
        self._check_add(request)

    def _check_add(self, request: AddPosition) -> None:
        self._check_plan_change(request, OPEN_STATUSES)
        post_code = request.position.post_code
        if post_code is not None and post_code not in self.op.post_codes:
            raise _refuse(names.ERR_INVALID_DATA, "post_code must be one of the operation's posts")

    @workflow.update(name=UPDATE_CHANGE_POSITION)
    async def change_position(self, request: ChangePosition) -> OperationView:
        """Change a line of the plan (audited, before and after); running deployments keep theirs."""
        self._check_change(request)
        async with self.lock:
            self._check_change(request)
            before = self.positions[request.position_id]
            changes = request.changes.changes()
            after = before.model_copy(update=changes)
            changed = {
                k: {"before": _plain(getattr(before, k)), "after": _plain(v)} for k, v in changes.items()
            }
            message = f"Position changed: {after.role_title} ({', '.join(sorted(changed)) or 'nothing'})"
            await self._write_position(after, "position_changed", message, request.user, {"changes": changed})
        return self.view()

    @change_position.validator
    def _validate_change(self, request: ChangePosition) -> None:
        self._check_change(request)

    def _check_change(self, request: ChangePosition) -> None:
        self._check_plan_change(request, OPEN_STATUSES)
        position = self._position(request.position_id)
        count = request.changes.count
        if count is not None and count < self.filled_count(position.id):
            raise _refuse(
                ERR_NO_ROOM,
                f"{self.filled_count(position.id)} members already fill it; cut deployments first",
            )

    @workflow.update(name=UPDATE_CUT_POSITION)
    async def cut_position(self, request: CutPosition) -> OperationView:
        """Cut a line of the plan (audited); its running deployments are cancelled."""
        self._check_cut(request)
        async with self.lock:
            self._check_cut(request)
            position = self.positions[request.position_id].model_copy(update={"cut": True})
            reason = request.reason.strip()
            message = f"Position cut: {position.role_title}: {reason}"
            await self._write_position(position, "position_cut", message, request.user, {"reason": reason})
            for deployment_id, filled in self.filled.items():
                if filled.position_id == position.id and filled.ended is None:
                    await self._cancel_child(deployment_id, f"position cut by {request.user}: {reason}")
        return self.view()

    @cut_position.validator
    def _validate_cut(self, request: CutPosition) -> None:
        self._check_cut(request)

    def _check_cut(self, request: CutPosition) -> None:
        self._check_plan_change(request, OPEN_STATUSES)
        self._position(request.position_id)
        if not request.reason.strip():
            raise _refuse(names.ERR_INVALID_DATA, "say why the position is cut")

    # --- cancel ---------------------------------------------------------------------------------

    @workflow.update(name=UPDATE_CANCEL_OPERATION)
    async def cancel_operation(self, request: CancelOperation) -> OperationView:
        """Cancel: returns once every running deployment has been told to cancel (or come home)."""
        self._check_cancel(request)
        self.cancel = request.model_copy(update={"reason": request.reason.strip()})
        await workflow.wait_condition(lambda: self.cascaded)
        return self.view()

    @cancel_operation.validator
    def _validate_cancel(self, request: CancelOperation) -> None:
        self._check_cancel(request)

    def _check_cancel(self, request: CancelOperation) -> None:
        if not may_cancel(_actor(request)):
            raise _refuse(
                names.ERR_NOT_ALLOWED, "only Planning, the Planning director or an admin may cancel"
            )
        if self.status not in OPEN_STATUSES or self.cancelled:
            raise _refuse(names.ERR_NOT_NOW, f"the operation is {self.status.value}")
        if not request.reason.strip():
            raise _refuse(names.ERR_INVALID_DATA, "say why the operation is cancelled")


def _plain(value: Any) -> Any:
    """A value as JSON holds it (dates as ISO text), for the audit's before and after."""
    return value.isoformat() if isinstance(value, date) else value
