"""VETTING: roster checks against the post's rules; failures go to Security or Medical."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.vetting import VettingActivities
    from crc.lifecycle import RecordRenewal, VettingCheck, VettingRequest
    from crc.progress import WaitingFor
    from crc.roles import Role
    from crc.stages import Stage
    from crc.tasks import Outcome, TaskKind
    from crc.threat import ThreatChange
    from crc.types import TaskView, name_of

from workflows.core import DeploymentCore
from workflows.pipeline import StageStep, Transition

# Vetting reviews are due this long after they open.
REVIEW_DUE = timedelta(days=5)


async def run_vetting(wf: DeploymentCore) -> Transition:
    """Check until every failure is cleared; a denial cancels the deployment."""
    waived: list[VettingCheck] = []
    reviews: dict[VettingCheck, TaskView] = {}
    while True:
        report = await wf.act(
            VettingActivities.vet_member,
            VettingRequest(
                deployment_id=wf.request.deployment_id,
                member_id=wf.request.member_id,
                post_code=wf.request.post_code,
                end_date=wf.state.end_date,
                waived=waived,
            ),
        )
        if not report.failures:
            break
        failing = [f for f in report.failures if f.check not in reviews]
        for failure in failing:
            reviews[failure.check] = wf.new_task(
                f"vetting/{failure.check.value}",
                TaskKind.VETTING_REVIEW,
                role=Role(failure.role),
                due_at=workflow.now() + REVIEW_DUE,
                context={"check": failure.check.value, "required_level": failure.required_level},
                reason=failure.reason,
            )
        waiting = ("Waiting for vetting reviews", WaitingFor.VETTING_REVIEW)
        if failing:
            await wf.open_tasks(
                [reviews[f.check] for f in failing],
                "Vetting found problems: " + "; ".join(f.reason for f in failing),
                status=waiting,
            )
        await wf.set_status(*waiting)
        answered = await wf.wait_answer(list(reviews.values()))
        assert answered is not None
        task, decision = answered
        check = next(c for c, t in reviews.items() if t.id == task.id)
        if decision.outcome == Outcome.DENY:
            denied = f"Vetting denied by {name_of(decision)}: {decision.comment or task.title}"
            wf.cancel_with(decision, denied)
        data = decision.data or {}
        if data.get("valid_until"):
            await wf.act(
                VettingActivities.record_renewal,
                RecordRenewal(
                    member_id=wf.request.member_id,
                    check=check,
                    valid_until=data["valid_until"],
                    level=data.get("level"),
                ),
            )
        waived.append(check)
        del reviews[check]
        wf.handled(task)
    # A review whose problem was fixed in the roster meanwhile is no longer needed.
    await wf.withdraw_open_tasks("Vetting passed", tasks=list(reviews.values()))
    return Transition("Vetting passed")


# Stages past vetting: a higher clearance the post now requires needs a review (at VETTING the
# checks read the post as it is then).
VETTED_STAGES = frozenset({Stage.TRAINING, Stage.EQUIPPING, Stage.TRAVEL, Stage.DEPLOYED})


async def clearance_after_threat_change(wf: DeploymentCore, change: ThreatChange) -> TaskView | None:
    """A Security review when the post now requires a clearance the member does not hold (the
    clearance check of vetting, run again); Security clears it by recording the upgrade."""
    if not change.clearance_raised or wf.state.stage not in VETTED_STAGES:
        return None
    report = await wf.act(
        VettingActivities.vet_member,
        VettingRequest(
            deployment_id=wf.request.deployment_id,
            member_id=wf.request.member_id,
            post_code=wf.request.post_code,
            end_date=wf.state.end_date,
            waived=[VettingCheck.MEDICAL, VettingCheck.PASSPORT],
        ),
    )
    failure = next((f for f in report.failures if f.check == VettingCheck.CLEARANCE), None)
    if failure is None:
        return None
    return wf.new_task(
        f"threat/{change.key}/clearance",
        TaskKind.VETTING_REVIEW,
        role=Role.SECURITY,
        outcomes=[Outcome.CLEAR],  # a denial now is a cancellation: a director cancels
        due_at=workflow.now() + REVIEW_DUE,
        context={"check": VettingCheck.CLEARANCE.value, "required_level": failure.required_level},
        reason=failure.reason,
    )


STEP = StageStep(
    Stage.VETTING,
    "Vetting the member against the post's rules",
    WaitingFor.WORKFLOW,
    run_vetting,
    carries_entry=True,
)
