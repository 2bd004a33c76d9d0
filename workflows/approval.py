"""APPROVAL: the offices approve in parallel, with reminder, escalation and expiry; "request
changes" sends the request back to its requester, and a new round starts once amended."""

from datetime import datetime, timedelta
from enum import StrEnum

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from crc.domain import Component
    from crc.events import EventKind
    from crc.progress import WaitingFor
    from crc.roles import APPROVING_OFFICES, ESCALATION_ROLE, ROLE_LABELS, Role
    from crc.stages import Stage
    from crc.state import end_date_of
    from crc.tasks import Outcome, TaskKind
    from crc.types import ApprovalPolicy, CostRequest, Decision, DeploymentRequest, TaskView, name_of

from workflows.core import Cancelled, DeploymentCore
from workflows.pipeline import StageStep, Transition

# Runs started before escalation went to each office's director told all directors at once.
PATCH_ESCALATE_BY_OFFICE = "crc-escalate-to-office-director"


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


def _approval_tasks(wf: DeploymentCore, *, opened_at: datetime) -> list[TaskView]:
    """One open task per approving office for this round, all due at the same time."""
    request = wf.request
    return [
        wf.new_task(
            f"approval/{wf.state.approval.round}/{office.value}",
            TaskKind.APPROVAL,
            role=office,
            variant=office,
            due_at=opened_at + timedelta(seconds=request.approval.due_seconds),
            member=request.member_name,
            post=request.post_code,
            role_title=request.role_title,
            agency=request.member_agency,
            estimate=wf.state.cost,
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


async def run_approval(wf: DeploymentCore) -> Transition:
    """Rounds of parallel approvals until all approve, one rejects, or time runs out."""
    while True:
        result, decision = await _approval_round(wf)
        ended = await _conclude_round(wf, result, decision)
        if ended is not None:
            return ended
        # The round's decisions are settled by "changes requested": their handlers answer.
        wf.settle()
        if not await _await_amendment(wf):
            return _expired("Not amended in time")


async def _conclude_round(
    wf: DeploymentCore, result: RoundResult, decision: Decision | None
) -> Transition | None:
    """How the round ended: the stage's transition, or None once returned for changes."""
    if result == RoundResult.APPROVED:
        return Transition("All offices approved")
    outcome = result.value.replace("_", " ")
    await wf.withdraw_open_tasks(f"Approval round {wf.state.approval.round} closed ({outcome})")
    if result == RoundResult.EXPIRED:
        return _expired("No decision from every office in time")
    assert decision is not None
    if result == RoundResult.REJECTED:
        reason = _decision_reason("Rejected", decision)
        return Transition(reason, kind=EventKind.CLOSED, to=Stage.REJECTED, status=reason)
    await wf.record_stage(
        Stage.APPROVAL,
        _decision_reason("Changes requested", decision),
        wf.event(EventKind.RETURNED_FOR_CHANGES, "Returned to the requester for changes"),
        waiting_for=WaitingFor.AMENDMENT,
    )
    return None


async def _approval_round(wf: DeploymentCore) -> tuple[RoundResult, Decision | None]:
    """Open one round's tasks and wait for its decisions, with reminder, escalation and expiry."""
    request, approval = wf.request, wf.state.approval
    approval.round += 1
    # The post's rules come with the estimate (runs from before read them in a round trip later).
    with_post = wf.post is None and wf.fewer_round_trips()
    estimate = await wf.act(
        ReadModelActivities.estimate_cost,
        CostRequest(
            deployment_id=request.deployment_id,
            member_id=request.member_id,
            post_code=request.post_code,
            duration_days=request.duration_days,
            with_post=with_post,
        ),
    )
    wf.state.cost = estimate.total_usd
    if estimate.post is not None:
        wf.post = estimate.post
    opened_at = workflow.now()
    tasks = _approval_tasks(wf, opened_at=opened_at)
    offices = ", ".join(ROLE_LABELS[t.role] for t in tasks)
    await wf.open_tasks(
        tasks, f"Approval round {approval.round} opened: {offices}", kind=EventKind.APPROVAL_OPENED
    )
    approval.round_open = True
    if approval.amendment is not None:  # the amendment that led to this round is now in effect
        approval.amendment = None
        approval.amendments_applied += 1
    round_ids = {t.id for t in tasks}
    approved: set[str] = set()
    deadlines = list(round_deadlines(request.approval, opened_at).items())
    while True:
        while approval.applied < len(approval.decisions):
            decision = approval.decisions[approval.applied]
            if decision.outcome == Outcome.APPROVE:
                approved.add(decision.task_id)
                if approved >= round_ids:
                    return _close_round(wf, RoundResult.APPROVED, decision)
            elif decision.outcome == Outcome.REJECT:
                return _close_round(wf, RoundResult.REJECTED, decision)
            else:
                return _close_round(wf, RoundResult.CHANGES_REQUESTED, decision)
            approval.applied += 1
        wf.check_cancel()
        phase, at = deadlines[0]  # expiry, the last deadline, always ends the round
        timeout = (at - workflow.now()).total_seconds()
        try:
            if timeout <= 0:
                raise TimeoutError
            await workflow.wait_condition(
                lambda: approval.applied < len(approval.decisions) or wf.state.cancel is not None,
                timeout=timeout,
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
    wf.state.approval.round_open = False
    return result, decision


async def _chase_open_tasks(wf: DeploymentCore, phase: str) -> None:
    """Remind each office of its open task, or escalate all open ones to the director."""
    open_tasks = wf.state.open_tasks()
    if phase == "remind":
        for task in open_tasks:
            await wf.notify(
                role=task.role,
                kind=EventKind.REMINDER,
                message=f"Reminder: '{task.title}' is due {task.due_at:%Y-%m-%d %H:%M} UTC",
                tasks=[task],
            )
        return
    for task in open_tasks:
        task.escalated = True
    if not workflow.patched(PATCH_ESCALATE_BY_OFFICE):
        await wf.notify(
            role=ESCALATION_ROLE,
            kind=EventKind.ESCALATED,
            message="Overdue approvals escalated to the director: "
            + ", ".join(ROLE_LABELS[t.role] for t in open_tasks),
            tasks=open_tasks,
            escalate=True,
        )
        return
    # One notice per task, naming its office: only that office's director (or an unscoped
    # one) may decide it now (crc.permissions).
    for task in open_tasks:
        await wf.notify(
            role=ESCALATION_ROLE,
            kind=EventKind.ESCALATED,
            message=f"Overdue approval escalated to the {ROLE_LABELS[task.role]} director: {task.title}",
            tasks=[task],
            escalate=True,
        )


async def _await_amendment(wf: DeploymentCore) -> bool:
    """Wait for the requester's amendment; False if none came before the expiry time."""
    approval, policy = wf.state.approval, wf.request.approval
    try:
        await workflow.wait_condition(
            lambda: approval.amendment is not None or wf.state.cancel is not None,
            timeout=timedelta(seconds=policy.due_seconds * policy.expire_after_due_multiple),
        )
    except TimeoutError:
        return False
    if approval.amendment is None:
        raise Cancelled
    amendment = approval.amendment
    changes = amendment.changes()
    wf.request = wf.request.model_copy(update=changes)
    wf.state.end_date = end_date_of(wf.request.start_date, wf.request.duration_days)
    wf.state.revision += 1
    await wf.record_stage(
        Stage.APPROVAL,
        "Awaiting approvals",
        wf.event(
            EventKind.AMENDED,
            f"Amended (revision {wf.state.revision}): {', '.join(sorted(changes)) or 'no field changed'}",
            actor=amendment.user,
            comment=amendment.comment,
        ),
        waiting_for=WaitingFor.APPROVALS,
        amendment=amendment,
        end_date=wf.state.end_date,
    )
    return True


def _expired(reason: str) -> Transition:
    return Transition(reason, kind=EventKind.EXPIRED, to=Stage.EXPIRED, status=reason)


def _decision_reason(prefix: str, decision: Decision) -> str:
    comment = f": {decision.comment}" if decision.comment else ""
    return f"{prefix} by {name_of(decision)}{comment}"


STEP = StageStep(Stage.APPROVAL, "Awaiting approvals", WaitingFor.APPROVALS, run_approval, carries_entry=True)
