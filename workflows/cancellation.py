"""Cancel before DEPLOYED: undo what was done, newest first, then end CANCELLED."""

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.equipping import EquippingActivities
    from activities.training import TrainingActivities
    from activities.travel import TravelActivities
    from crc.events import EventKind
    from crc.lifecycle import CancelTravel, ReleaseSeats, ReturnKit
    from crc.progress import WaitingFor
    from crc.stages import Stage

from workflows.core import DeploymentCore

# Each compensation: the activity that undoes it, its message, and what the timeline says.
_UNDO: dict[str, tuple[Callable[[Any, Any], Awaitable[Any]], type[Any], str]] = {
    "travel": (TravelActivities.cancel_travel, CancelTravel, "Bookings and country clearance cancelled"),
    "kit": (EquippingActivities.return_kit, ReturnKit, "Kit returned to stock"),
    "seats": (TrainingActivities.release_seats, ReleaseSeats, "Training seats released"),
}


async def compensate(wf: DeploymentCore) -> str:
    """Withdraw open tasks, undo in reverse order (each idempotent, retried until done)."""
    state = wf.state
    assert state.cancel is not None
    reason = state.cancel.reason
    await wf.withdraw_open_tasks("Cancelled")
    for name in reversed(state.compensations):
        activity, message_type, done = _UNDO[name]
        await wf.act(activity, message_type(deployment_id=wf.request.deployment_id))
        await wf.log(EventKind.COMPENSATED, done)
    state.compensations.clear()
    await wf.record_stage(
        Stage.CANCELLED,
        reason,
        wf.event(EventKind.CANCELLED, f"Cancelled: {reason}", actor=state.cancel.user),
        waiting_for=WaitingFor.NOTHING,
    )
    return reason
