"""REDEPLOYMENT: return travel, kit return, after-action report, out-processing, release."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.closeout import CloseOutActivities
    from activities.equipping import EquippingActivities
    from crc.events import EventKind
    from crc.lifecycle import CloseOutRequest, ReturnKit, completed
    from crc.progress import WaitingFor
    from crc.roles import Role
    from crc.stages import Stage
    from crc.tasks import Outcome, TaskKind

from workflows import post_departure
from workflows.core import DeploymentCore, start_of_day
from workflows.pipeline import StageStep, Transition
from workflows.travel import HOME, book_travel


async def run_redeployment(wf: DeploymentCore) -> Transition:
    """Bring the member home and close the deployment with its actual days and cost."""
    state = wf.state
    left_on = state.stay.left_on or state.end_date
    post = await wf.load_post()
    booking = await book_travel(
        wf,
        "return",
        left_on,
        f"{post.city}, {post.country}",
        HOME,
        refusal_outcomes=[Outcome.RETRY, Outcome.BOOKED_MANUALLY],
    )
    # Under a post departure: it hears the member is on the way out; their roll-call task waits too.
    departing = await post_departure.returning(wf)
    due_at = start_of_day(left_on) + timedelta(days=14)
    name = wf.request.member_name
    kit_skus = state.equipping.kit_skus
    tasks = [
        wf.new_task(
            "redeployment/kit-return",
            TaskKind.KIT_RETURN,
            due_at=due_at,
            member=name,
            skus=", ".join(kit_skus) or "no kit",
        ),
        wf.new_task(
            "redeployment/after-action-report",
            TaskKind.AFTER_ACTION_REPORT,
            due_at=due_at,
            country=post.country,
        ),
        wf.new_task(
            "redeployment/medical-out-processing",
            TaskKind.MEDICAL_OUT_PROCESSING,
            due_at=due_at,
            member=name,
        ),
    ]
    waiting = ("Out-processing", WaitingFor.OUT_PROCESSING)
    await wf.open_tasks(
        tasks, f"Return travel booked ({booking.reference}); out-processing opened", status=waiting
    )
    await wf.set_status(*waiting)
    remaining = list(tasks) + departing
    while remaining:
        answered = await wf.wait_answer(remaining)
        assert answered is not None  # no deadline, and cancel is refused once redeploying
        task, decision = answered
        remaining.remove(task)
        if task.kind == TaskKind.KIT_RETURN:
            missing = (decision.data or {}).get("missing_skus", [])
            if decision.outcome == Outcome.MISSING and not missing:
                missing = kit_skus
            await wf.act(
                EquippingActivities.return_kit,
                ReturnKit(deployment_id=wf.request.deployment_id, missing_skus=missing),
            )
        if remaining:  # the last one answers once the deployment is closed
            wf.handled(task)
    message = f"{name} is released back to {wf.request.member_agency}"
    together = wf.lean()  # the notice goes with the close-out (runs from before: on its own)
    if not together:
        await wf.notify(role=Role.HOME_AGENCY, kind=EventKind.RELEASED, message=message, tasks=[])
    assert state.stay.arrived_on is not None
    notice = (
        wf.notice(role=Role.HOME_AGENCY, kind=EventKind.RELEASED, message=message, tasks=[])
        if together
        else None
    )
    # The move into COMPLETED goes with the close-out, its texts filled in from the figures (runs
    # from before wrote it in a round trip after).
    completion = None
    if wf.fewer_round_trips():
        event = wf.event(EventKind.COMPLETED, "Completed")
        completion = wf.stage_change(Stage.COMPLETED, "Completed", event, waiting_for=WaitingFor.NOTHING)
    result = await wf.act(
        CloseOutActivities.close_out,
        CloseOutRequest(
            deployment_id=wf.request.deployment_id,
            member_id=wf.request.member_id,
            post_code=wf.request.post_code,
            arrived_on=state.stay.arrived_on,
            left_on=left_on,
            notice=notice,
            completion=completion,
        ),
    )
    if completion is not None:
        done = completed(result, completion)
        wf.moved_as(done)
        assert done.event is not None
        return Transition(done.event.message, kind=EventKind.COMPLETED, status=done.status, recorded=True)
    return Transition(
        f"Completed: {result.days} deployment-days, actual cost ${result.cost_usd:,.2f}",
        kind=EventKind.COMPLETED,
        status=f"Completed: {result.days} day{'s' if result.days != 1 else ''} in country, "
        f"${result.cost_usd:,.2f}",
        data={"days": result.days, "cost_usd": str(result.cost_usd)},
    )


STEP = StageStep(
    Stage.REDEPLOYMENT, "Returning home", WaitingFor.WORKFLOW, run_redeployment, carries_entry=True
)
