"""Cancel before DEPLOYED: undo what was done, newest first, then end CANCELLED."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.lifecycle import CancelTravel, ReleaseSeats, ReturnKit
    from crc.stages import Stage

from workflows.core import DeploymentCore

# Each compensation: the activity that undoes it, and what the timeline says.
_UNDO = {
    "travel": ("cancel_travel", CancelTravel, "Bookings and country clearance cancelled"),
    "kit": ("return_kit", ReturnKit, "Kit returned to stock"),
    "seats": ("release_seats", ReleaseSeats, "Training seats released"),
}


async def compensate(wf: DeploymentCore) -> str:
    """Withdraw open tasks, undo in reverse order (each idempotent, retried until done)."""
    assert wf.cancel is not None
    reason = wf.cancel.reason
    await wf.withdraw_open_tasks("Cancelled")
    for name in reversed(wf.compensations):
        activity, message_type, done = _UNDO[name]
        await wf.act(activity, message_type(deployment_id=wf.request.deployment_id))
        await wf.log("compensated", done)
    wf.compensations.clear()
    await wf.record_stage(
        Stage.CANCELLED, reason, wf.event("cancelled", f"Cancelled: {reason}", actor=wf.cancel.user)
    )
    return reason
