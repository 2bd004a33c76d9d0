"""A deployment under its post's authorized or ordered departure: held before TRAVEL, or, once at
the post, an urgent accountability task and an early return; each step told to the departure."""

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from crc.departures import (
        BROUGHT_OUT,
        SIGNAL_ROLL_CALL,
        DepartureOrder,
        DepartureState,
        Report,
        RollCallReport,
        Standing,
        standing_at,
    )
    from crc.events import EventKind
    from crc.progress import WaitingFor
    from crc.tasks import TaskKind
    from crc.types import CancelRequest, Decision, TaskView

from workflows.core import DeploymentCore

PATCH_POST_DEPARTURE = "crc-post-departure"
# Operations must reach every member at a post being evacuated within the hour.
ACCOUNTABILITY_DUE = timedelta(hours=1)


def active(wf: DeploymentCore) -> DepartureState | None:
    """The post's departure under way, if one is (a lifted one no longer holds anything)."""
    departure = wf.state.departure
    return departure if departure is not None and departure.active else None


async def receive(wf: DeploymentCore, order: DepartureOrder) -> None:
    """The departure's signal: take the order (or its lifting) and tell where the member stands."""
    current = wf.state.departure
    if order.lifted:
        if current is not None and current.order.departure_id == order.departure_id and current.active:
            current.order = order
            wf.wakeups += 1
            await wf.log(EventKind.DEPARTURE_LIFTED, f"The {order.words} is over", actor=order.ordered_by)
        return
    if current is not None and current.order.departure_id == order.departure_id:
        return  # told twice
    # The stage the run is moving into, where it has yet to be written (TRAVEL's carries it).
    stage = wf.entering.stage if wf.entering is not None else wf.state.stage
    standing = standing_at(stage)
    wf.state.departure = DepartureState(order=order, standing=standing)
    words = order.words[0].upper() + order.words[1:]
    await wf.log(
        EventKind.DEPARTURE_ORDERED,
        f"{words} by {order.ordered_by_name or order.ordered_by}: {order.reason}",
        actor=order.ordered_by,
    )
    await report(wf, Report.STANDING, standing=standing)
    wf.wakeups += 1  # the stay loop acts on it now (told after the standing, which comes first)


async def report(
    wf: DeploymentCore, what: Report, *, standing: Standing | None = None, by: str = "system"
) -> None:
    """Tell the departure where the member now stands (nothing once it is over or gone)."""
    departure = active(wf)
    if departure is None:
        return
    handle = workflow.get_external_workflow_handle(departure.order.workflow_id)
    message = RollCallReport(
        deployment_id=wf.request.deployment_id, report=what, standing=standing, by=by, at=workflow.now()
    )
    # The departure may have ended meanwhile: it no longer counts this member.
    with contextlib.suppress(FailureError):
        await handle.signal(SIGNAL_ROLL_CALL, message)


async def hold(wf: DeploymentCore) -> None:
    """Before TRAVEL: wait, saying so, until the departure is over (or the deployment cancelled)."""
    departure = active(wf)
    assert departure is not None
    status = f"Held: {departure.order.words}"
    await wf.record_stage(
        wf.state.stage,
        status,
        wf.event(EventKind.DEPARTURE_HELD, f"{status}; travel waits until it is over"),
        waiting_for=WaitingFor.WORKFLOW,
    )
    await workflow.wait_condition(lambda: active(wf) is None or wf.cancelling)
    wf.check_cancel()


def curtail_order(departure: DepartureState) -> CancelRequest:
    """The early return the departure orders for a member at the post."""
    order = departure.order
    words = order.words[0].upper() + order.words[1:]
    return CancelRequest(
        user=order.ordered_by, roles=[], reason=f"{words}: {order.reason}", user_name=order.ordered_by_name
    )


async def account_for(wf: DeploymentCore, departure: DepartureState) -> None:
    """The member left the post: an urgent task to account for them, and word to the departure."""
    await _open_task(wf, departure)
    departure.departed = True
    await report(wf, Report.DEPARTED)


async def _open_task(wf: DeploymentCore, departure: DepartureState) -> None:
    if departure.task_id is not None:
        return
    order = departure.order
    task = wf.new_task(
        f"departure/{order.departure_id}/accountability",
        TaskKind.DEPARTURE_ACCOUNTABILITY,
        due_at=workflow.now() + ACCOUNTABILITY_DUE,
        member=wf.request.member_name,
        words=order.words,
        reason=order.reason,
    )
    departure.task_id = task.id
    await wf.open_tasks(
        [task],
        f"{wf.request.member_name} to be accounted for: {order.words}",
        kind=EventKind.DEPARTURE_ORDERED,
    )


async def returning(wf: DeploymentCore) -> list[TaskView]:
    """Return travel booked: tell the departure; the accountability task still open, to wait for
    (a member who left as the order came gets theirs now)."""
    departure = active(wf)
    if departure is None or departure.standing not in BROUGHT_OUT:
        return []  # already leaving when the order came: not this departure's to bring out
    if departure.task_id is None:
        await account_for(wf, departure)
    departure.return_booked = True
    await report(wf, Report.RETURN_BOOKED)
    task = wf.state.tasks.get(departure.task_id or "")
    return [task] if task is not None and task.status == "open" else []


async def accounted(wf: DeploymentCore, task: TaskView, decision: Decision) -> None:
    """The member is accounted for (by them, or by Operations for them): tell the departure."""
    if task.kind == TaskKind.DEPARTURE_ACCOUNTABILITY:
        await report(wf, Report.ACCOUNTED_FOR, by=decision.user)


async def ended(wf: DeploymentCore) -> None:
    """The deployment ended: it leaves the roll-call."""
    await report(wf, Report.ENDED)
