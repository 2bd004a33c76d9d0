"""Extensions of a stay: checked again for the new dates, estimated, approved by the offices."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from activities.vetting import VettingActivities
    from crc.domain import Component
    from crc.events import EventKind
    from crc.lifecycle import ExtensionCheck
    from crc.names import ERR_NOT_ELIGIBLE, ERR_NOT_NOW
    from crc.progress import WaitingFor
    from crc.roles import Role
    from crc.stages import Stage
    from crc.tasks import Outcome, TaskKind
    from crc.types import CostRequest, Decision, ExtensionRequest, TaskView, name_of

from workflows.core import DeploymentCore

EXTENSION_OFFICES = (Role.PLANNING, Role.RESOURCE_MANAGEMENT)


async def check_and_open_extension(wf: DeploymentCore, request: ExtensionRequest) -> None:
    """Re-run the checks that depend on the dates for the longer stay, estimate its cost, and ask
    for approval; a longer stay that fails a check is refused with the reasons."""
    state, r = wf.state, wf.request
    new_end = state.end_date + timedelta(days=request.days)
    check = await wf.act(
        VettingActivities.check_extension,
        ExtensionCheck(
            deployment_id=r.deployment_id,
            member_id=r.member_id,
            post_code=r.post_code,
            start_date=r.start_date,
            new_end_date=new_end,
        ),
    )
    if check.problems:
        reasons = "; ".join(check.problems)
        await wf.log(
            EventKind.EXTENSION_REFUSED,
            f"Extension of {request.days} days to {new_end.isoformat()} refused: {reasons}",
            actor=request.user,
        )
        raise ApplicationError(f"the longer stay fails its checks: {reasons}", type=ERR_NOT_ELIGIBLE)
    estimate = await wf.act(
        ReadModelActivities.estimate_cost,
        CostRequest(
            deployment_id=r.deployment_id,
            member_id=r.member_id,
            post_code=r.post_code,
            duration_days=(new_end - r.start_date).days + 1,
            store=False,  # recorded once approved
        ),
    )
    # Another request may have been accepted while this one was checked.
    if any(t.kind == TaskKind.EXTENSION for t in state.open_tasks()):
        raise ApplicationError("an extension is already awaiting approval", type=ERR_NOT_NOW)
    # A Standby member stays on only with their home agency's consent, as they deployed.
    offices = EXTENSION_OFFICES + ((Role.HOME_AGENCY,) if r.member_component == Component.STANDBY else ())
    await open_extension(wf, request, offices=offices, estimate=estimate.total_usd)


def _asker(wf: DeploymentCore, request: ExtensionRequest) -> str:
    """Who asked, by name: the deployed member themselves, or the user who asked for them."""
    own = request.member_id is not None and request.member_id == wf.request.member_id
    return wf.request.member_name if own else name_of(request)


async def open_extension(
    wf: DeploymentCore,
    request: ExtensionRequest,
    *,
    offices: tuple[Role, ...] = EXTENSION_OFFICES,
    estimate: Decimal | None = None,
) -> None:
    """Ask the offices to approve a longer stay (with its new estimate, when there is one)."""
    stay = wf.state.stay
    stay.extension_seq += 1
    new_end = wf.state.end_date + timedelta(days=request.days)
    context: dict[str, Any] = {"extension": stay.extension_seq, "days": request.days}
    title: dict[str, Any] = {}
    if estimate is not None:
        context["estimate"] = str(estimate)
        title = {"variant": "estimated", "estimate": estimate, "increase": estimate - (wf.state.cost or 0)}
    tasks = [
        wf.new_task(
            f"stay/extension/{stay.extension_seq}/{office.value}",
            TaskKind.EXTENSION,
            role=office,
            due_at=workflow.now() + timedelta(days=3),
            context=context,
            days=request.days,
            member=wf.request.member_name,
            post=wf.request.post_code,
            new_end=new_end.isoformat(),
            **title,
        )
        for office in offices
    ]
    await wf.open_tasks(
        tasks,
        f"{_asker(wf, request)} asked for a {request.days}-day extension: {request.justification}",
        kind=EventKind.EXTENSION_REQUESTED,
        actor=request.user,
    )


async def extension_decided(wf: DeploymentCore, task: TaskView, decision: Decision) -> None:
    """Act on one office's decision: a rejection ends the request; the last approval extends."""
    state = wf.state
    group = [t for t in state.tasks.values() if t.context.get("extension") == task.context["extension"]]
    if decision.outcome == Outcome.REJECT:
        await wf.withdraw_open_tasks("Extension rejected", tasks=group)
        await wf.record_stage(
            Stage.DEPLOYED,
            state.status,
            wf.event(
                EventKind.EXTENSION_REJECTED,
                f"Extension rejected by {name_of(decision)}",
                actor=decision.user,
            ),
            waiting_for=WaitingFor.CHECK_INS,
        )
        return
    if any(t.outcome != Outcome.APPROVE for t in group):
        return
    days = int(task.context["days"])
    state.end_date += timedelta(days=days)
    state.stay.extension_days += days
    estimate = Decimal(task.context["estimate"]) if "estimate" in task.context else None
    if estimate is not None:
        state.cost = estimate
    await wf.record_stage(
        Stage.DEPLOYED,
        f"In country since {state.stay.arrived_on}; extended to {state.end_date.isoformat()}",
        wf.event(EventKind.EXTENDED, f"Extended by {days} days to {state.end_date.isoformat()}"),
        waiting_for=WaitingFor.CHECK_INS,
        end_date=state.end_date,
        cost_estimate_usd=estimate,
    )
