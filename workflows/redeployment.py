"""REDEPLOYMENT: return travel, kit return, after-action report, out-processing, release."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.lifecycle import CloseOutRequest, CloseOutResult, ReturnKit
    from crc.roles import Role
    from crc.stages import Stage

from workflows.core import DeploymentCore, start_of_day
from workflows.travel import BOOKED_MANUALLY, HOME, RETRY, book_travel

RETURNED, MISSING, DONE = "returned", "missing", "done"


async def run_redeployment(wf: DeploymentCore) -> None:
    """Bring the member home and close the deployment with its actual days and cost."""
    await wf.record_stage(
        Stage.REDEPLOYMENT,
        "Returning home",
        wf.event("stage_changed", f"Stay ended {wf.end_date.isoformat()}; redeployment"),
    )
    post = await wf.load_post()
    booking = await book_travel(
        wf,
        "return",
        wf.end_date,
        f"{post.city}, {post.country}",
        HOME,
        refusal_outcomes=[RETRY, BOOKED_MANUALLY],
    )
    due_at = start_of_day(wf.end_date) + timedelta(days=14)
    name = wf.request.member_name
    tasks = [
        wf.new_task(
            "redeployment/kit-return",
            kind="kit_return",
            role=Role.LOGISTICS.value,
            title=f"Kit return from {name}: " + (", ".join(wf.kit_skus) or "no kit"),
            outcomes=[RETURNED, MISSING],
            due_at=due_at,
        ),
        wf.new_task(
            "redeployment/after-action-report",
            kind="after_action_report",
            role=Role.MEMBER.value,
            title=f"After-action report for {post.country}",
            outcomes=[DONE],
            due_at=due_at,
        ),
        wf.new_task(
            "redeployment/medical-out-processing",
            kind="medical_out_processing",
            role=Role.MEDICAL.value,
            title=f"Medical out-processing of {name}",
            outcomes=[DONE],
            due_at=due_at,
        ),
    ]
    await wf.open_tasks(tasks, f"Return travel booked ({booking.reference}); out-processing opened")
    await wf.set_status("Out-processing")
    remaining = list(tasks)
    while remaining:
        answered = await wf.wait_answer(remaining)
        assert answered is not None  # no deadline, and cancel is refused once redeploying
        task, decision = answered
        remaining.remove(task)
        if task.kind == "kit_return":
            missing = (decision.data or {}).get("missing_skus", [])
            if decision.outcome == MISSING:
                missing = wf.kit_skus
            await wf.act(
                "return_kit", ReturnKit(deployment_id=wf.request.deployment_id, missing_skus=missing)
            )
        if remaining:  # the last one answers once the deployment is closed
            wf.acted.add(task.id)
    await wf.notify(
        role=Role.HOME_AGENCY.value,
        kind="released",
        message=f"{name} is released back to {wf.request.member_agency}",
        tasks=[],
    )
    assert wf.arrived_on is not None
    result = await wf.act(
        "close_out",
        CloseOutRequest(
            deployment_id=wf.request.deployment_id,
            member_id=wf.request.member_id,
            post_code=wf.request.post_code,
            arrived_on=wf.arrived_on,
            left_on=wf.end_date,
        ),
        CloseOutResult,
    )
    await wf.record_stage(
        Stage.COMPLETED,
        f"Completed: {result.days} day{'s' if result.days != 1 else ''} in country, ${result.cost_usd:,.2f}",
        wf.event(
            "completed",
            f"Completed: {result.days} deployment-days, actual cost ${result.cost_usd:,.2f}",
            data={"days": result.days, "cost_usd": str(result.cost_usd)},
        ),
    )
    wf.acted.add(task.id)
