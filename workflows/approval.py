"""The approval stage's rules: which offices approve, their tasks, and how a round ends."""

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.costs import CostEstimate
    from crc.domain import Component
    from crc.names import task_id
    from crc.roles import APPROVING_OFFICES, ESCALATION_ROLE, Role
    from crc.stages import Stage
    from crc.types import ApprovalPolicy, CostRequest, Decision, DeploymentRequest, TaskView

from workflows.core import Cancelled, DeploymentCore, end_date_of

APPROVE = "approve"
REJECT = "reject"
REQUEST_CHANGES = "request_changes"
APPROVAL_OUTCOMES = [APPROVE, REJECT, REQUEST_CHANGES]
TASK_KIND = "approval"
# Audit event kind and past-tense verb for each outcome.
OUTCOME_EVENTS: dict[str, tuple[str, str]] = {
    APPROVE: ("approved", "approved"),
    REJECT: ("rejected", "rejected"),
    REQUEST_CHANGES: ("changes_requested", "requested changes"),
}

OFFICE_NAMES: dict[str, str] = {
    Role.PLANNING: "Planning",
    Role.RESOURCE_MANAGEMENT: "Resource Management",
    Role.CHIEF_OF_MISSION: "Chief of Mission",
    Role.HOME_AGENCY: "Home agency",
}


class RoundResult(StrEnum):
    """How an approval round ended."""

    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    EXPIRED = "expired"


def approving_offices(request: DeploymentRequest) -> list[Role]:
    """Planning, Resource Management and the post's Chief of Mission; the home agency for Standby."""
    offices = list(APPROVING_OFFICES)
    if request.member_component == Component.STANDBY:
        offices.append(Role.HOME_AGENCY)
    return offices


def _title(office: Role, request: DeploymentRequest, estimate: Decimal) -> str:
    who = f"{request.member_name} to {request.post_code}"
    return {
        Role.PLANNING: f"Operational fit: {who} as {request.role_title}",
        Role.RESOURCE_MANAGEMENT: f"Budget: {who}, estimate ${estimate:,.2f}",
        Role.CHIEF_OF_MISSION: f"Country clearance: {who}",
        Role.HOME_AGENCY: f"Release by {request.member_agency}: {who}",
    }[office]


def approval_tasks(
    request: DeploymentRequest, *, round_no: int, opened_at: datetime, estimate: Decimal
) -> list[TaskView]:
    """One open task per approving office for this round, all due at the same time."""
    due_at = opened_at + timedelta(seconds=request.approval.due_seconds)
    return [
        TaskView(
            id=task_id(request.deployment_id, f"approval/{round_no}/{office.value}"),
            kind=TASK_KIND,
            stage=Stage.APPROVAL,
            role=office.value,
            title=_title(office, request, estimate),
            outcomes=list(APPROVAL_OUTCOMES),
            due_at=due_at,
        )
        for office in approving_offices(request)
    ]


def round_deadlines(policy: ApprovalPolicy, opened_at: datetime) -> dict[str, datetime]:
    """When to remind, escalate and expire a round opened at `opened_at`."""
    due = timedelta(seconds=policy.due_seconds)
    return {
        "remind": opened_at + due - timedelta(seconds=policy.reminder_before_seconds),
        "escalate": opened_at + due,
        "expire": opened_at + due * policy.expire_after_due_multiple,
    }


_AMENDABLE_FIELDS = {
    "start_date",
    "duration_days",
    "sector",
    "role_title",
    "justification",
    "urgent_justification",
}


async def run_approval(wf: DeploymentCore) -> str | None:
    """Rounds of parallel approvals; None when all approved, else why the request ended."""
    while True:
        result, decision = await _approval_round(wf)
        ended = await _conclude_round(wf, result, decision)
        # Only now, with the result written, do the decisions' update handlers answer.
        wf.applied = len(wf.decisions)
        if ended != "changes":
            return ended
        if not await _await_amendment(wf):
            return await _expire(wf, "Not amended in time")


async def _conclude_round(wf: DeploymentCore, result: RoundResult, decision: Decision | None) -> str | None:
    """Write how the round ended: None (approved), "changes", or the reason it ended."""
    if result == RoundResult.APPROVED:
        await wf.record_stage(
            Stage.VETTING,
            "Vetting the member against the post's rules",
            wf.event("stage_changed", "All offices approved; the request moves to vetting"),
        )
        return None
    await wf.withdraw_open_tasks(f"Approval round {wf.round} closed ({result.value})")
    if result == RoundResult.EXPIRED:
        return await _expire(wf, "No decision from every office in time")
    assert decision is not None
    if result == RoundResult.REJECTED:
        reason = _decision_reason("Rejected", decision)
        await wf.record_stage(Stage.REJECTED, reason, wf.event("closed", reason))
        return reason
    await wf.record_stage(
        Stage.APPROVAL,
        _decision_reason("Changes requested", decision),
        wf.event("returned_for_changes", "Returned to the requester for changes"),
    )
    return "changes"


async def _approval_round(wf: DeploymentCore) -> tuple[RoundResult, Decision | None]:
    """Open one round's tasks and wait for its decisions, with reminder, escalation and expiry."""
    request = wf.request
    wf.round += 1
    estimate = await wf.act(
        "estimate_cost",
        CostRequest(
            deployment_id=request.deployment_id,
            member_id=request.member_id,
            post_code=request.post_code,
            duration_days=request.duration_days,
        ),
        CostEstimate,
    )
    wf.cost = estimate.total_usd
    opened_at = workflow.now()
    tasks = approval_tasks(request, round_no=wf.round, opened_at=opened_at, estimate=estimate.total_usd)
    offices = ", ".join(OFFICE_NAMES[t.role] for t in tasks)
    await wf.open_tasks(tasks, f"Approval round {wf.round} opened: {offices}", kind="approval_opened")
    wf.round_open = True
    if wf.amendment is not None:  # the amendment that led to this round is now in effect
        wf.amendment = None
        wf.amendments_applied += 1
    round_ids = {t.id for t in tasks}
    approved: set[str] = set()
    deadlines = list(round_deadlines(request.approval, opened_at).items())
    while True:
        while wf.applied < len(wf.decisions):
            decision = wf.decisions[wf.applied]
            if decision.outcome == APPROVE:
                approved.add(decision.task_id)
                if approved >= round_ids:
                    return _close_round(wf, RoundResult.APPROVED, decision)
            elif decision.outcome == REJECT:
                return _close_round(wf, RoundResult.REJECTED, decision)
            else:
                return _close_round(wf, RoundResult.CHANGES_REQUESTED, decision)
            wf.applied += 1
        wf.check_cancel()
        phase, at = deadlines[0]  # expiry, the last deadline, always ends the round
        timeout = (at - workflow.now()).total_seconds()
        try:
            if timeout <= 0:
                raise TimeoutError
            await workflow.wait_condition(
                lambda: wf.applied < len(wf.decisions) or wf.cancel is not None, timeout=timeout
            )
        except TimeoutError:
            deadlines.pop(0)
            if phase == "expire":
                return _close_round(wf, RoundResult.EXPIRED, None)
            await _chase_open_tasks(wf, phase)


def _close_round(
    wf: DeploymentCore, result: RoundResult, decision: Decision | None
) -> tuple[RoundResult, Decision | None]:
    # Decisions queued so far belong to this round and are settled by its result; later
    # ones find no open task or a closed round, so no update handler is left waiting.
    wf.round_open = False
    return result, decision


async def _chase_open_tasks(wf: DeploymentCore, phase: str) -> None:
    """Remind each office of its open task, or escalate all open ones to the director."""
    open_tasks = [t for t in wf.tasks.values() if t.status == "open"]
    if phase == "remind":
        for task in open_tasks:
            await wf.notify(
                role=task.role,
                kind="reminder",
                message=f"Reminder: '{task.title}' is due {task.due_at:%Y-%m-%d %H:%M} UTC",
                tasks=[task],
            )
        return
    for task in open_tasks:
        task.escalated = True
    await wf.notify(
        role=ESCALATION_ROLE.value,
        kind="escalated",
        message="Overdue approvals escalated to the director: "
        + ", ".join(OFFICE_NAMES[t.role] for t in open_tasks),
        tasks=open_tasks,
        escalate=True,
    )


async def _await_amendment(wf: DeploymentCore) -> bool:
    """Wait for the requester's amendment; False if none came before the expiry time."""
    wf.awaiting_changes = True
    policy = wf.request.approval
    try:
        await workflow.wait_condition(
            lambda: wf.amendment is not None or wf.cancel is not None,
            timeout=timedelta(seconds=policy.due_seconds * policy.expire_after_due_multiple),
        )
    except TimeoutError:
        return False
    finally:
        wf.awaiting_changes = False
    if wf.amendment is None:
        raise Cancelled
    amendment = wf.amendment
    changes = amendment.model_dump(include=_AMENDABLE_FIELDS, exclude_none=True)
    wf.request = wf.request.model_copy(update=changes)
    wf.end_date = end_date_of(wf.request.start_date, wf.request.duration_days)
    wf.revision += 1
    await wf.record_stage(
        Stage.APPROVAL,
        "Awaiting approvals",
        wf.event(
            "amended",
            f"Amended (revision {wf.revision}): {', '.join(sorted(changes)) or 'no field changed'}",
            actor=amendment.user,
            comment=amendment.comment,
        ),
        amendment=amendment,
        end_date=wf.end_date,
    )
    return True


async def _expire(wf: DeploymentCore, reason: str) -> str:
    await wf.withdraw_open_tasks(reason)
    await wf.record_stage(Stage.EXPIRED, reason, wf.event("expired", reason))
    return reason


def _decision_reason(prefix: str, decision: Decision) -> str:
    comment = f": {decision.comment}" if decision.comment else ""
    return f"{prefix} by {decision.user}{comment}"
