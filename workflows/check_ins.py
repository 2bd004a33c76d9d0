"""Check-ins by or for the deployed member: recorded with a key of their own, the first one the
arrival, and one that needs help an urgent task for Operations."""

import textwrap
from datetime import date, datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from activities.travel import TravelActivities
    from crc.events import EventKind, behalf_of, check_in_status_label, on_behalf_data
    from crc.lifecycle import CheckInRecord
    from crc.progress import WaitingFor
    from crc.roles import Role
    from crc.stages import Stage
    from crc.tasks import TaskKind
    from crc.types import CheckIn, CheckInResult, EventAppend, PostRules, StageChange

from workflows.core import DeploymentCore

PATCH_NEEDS_HELP_TASK = "crc-needs-help-task"
# A member who needs help is Operations' first task: due within the hour.
NEEDS_HELP_DUE = timedelta(hours=1)
NOTE_IN_TITLE = 80


async def record(wf: DeploymentCore, check_in: CheckIn, *, key: str) -> CheckInResult:
    """Record a check-in (`key`: unique to it, e.g. its update's id); the first is the arrival."""
    state = wf.state
    arrival = state.travel.awaiting_arrival
    state.travel.awaiting_arrival = False
    now = workflow.now()
    state.stay.last_check_in_at = now
    together = wf.lean()  # the audit event is appended with the check-in (runs from before: after)
    record = CheckInRecord(
        # Unique to this check-in: two handled at once must not share a key.
        key=f"{workflow.info().workflow_id}/check-in/{key}",
        deployment_id=wf.request.deployment_id,
        member_id=wf.request.member_id,
        by_user=check_in.user,
        status=check_in.status,
        location=check_in.location,
        note=check_in.note,
        arrival=arrival,
        at=now,
    )
    if together:
        record.event = _event(wf, check_in, arrival)
    if arrival and wf.post is not None and wf.fewer_round_trips():
        record.arrived = _deployed(wf, wf.post, now)
    await wf.act(TravelActivities.record_check_in, record)
    if record.arrived is not None:  # the run follows it once it sees the arrival
        wf.arrived = record.arrived
    if not together:
        await wf.act(ReadModelActivities.append_event, _event(wf, check_in, arrival))
    where = f" at {check_in.location}" if check_in.location else ""
    if check_in.status == "needs_help":
        await _needs_help(wf, check_in, where, key)
    if arrival:
        state.stay.arrived_on = now.date()
    every = timedelta(seconds=wf.request.lifecycle.check_in_every_seconds)
    return CheckInResult(arrival=arrival, stage=state.stage, next_due_at=now + every)


def _deployed(wf: DeploymentCore, post: PostRules, now: datetime) -> StageChange:
    """The move into DEPLOYED that the arrival starts, as the run would write it on entry."""
    stay = wf.state.stay
    # Shown as arrived: what is due next counts from the arrival (set for good once recorded;
    # nothing runs in between, since nothing here waits).
    stay.arrived_on = now.date()
    try:
        message = f"Arrived in {post.country}; deployed until {wf.state.end_date.isoformat()}"
        return wf.stage_change(
            Stage.DEPLOYED,
            arrived_status(stay.arrived_on),
            wf.event(EventKind.ARRIVED, message),
            waiting_for=WaitingFor.CHECK_INS,
        )
    finally:
        stay.arrived_on = None


def arrived_status(arrived_on: date) -> str:
    """The status of a deployment that arrived on `arrived_on`."""
    return f"In country since {arrived_on.isoformat()}"


def _event(wf: DeploymentCore, check_in: CheckIn, arrival: bool) -> EventAppend:
    """The check-in's audit event, and where the deployment then stands."""
    where = f" at {check_in.location}" if check_in.location else ""
    what = "Arrival check-in" if arrival else "Check-in"
    message = f"{what}{where}: {check_in_status_label(check_in.status)}"
    # Operations checking in for the member: the audit says who, and for whom.
    behalf = check_in.member_id is None or check_in.member_id != wf.request.member_id
    if behalf:
        member = wf.request.member_name
        message = f"{message}, by {check_in.user_name or check_in.user} {behalf_of(member)}"
    event = wf.event(
        EventKind.ARRIVAL_CHECK_IN if arrival else EventKind.CHECK_IN,
        message,
        actor=check_in.user,
        comment=check_in.note or None,
        data=on_behalf_data(wf.request.member_id, wf.request.member_name) if behalf else None,
    )
    return EventAppend(deployment_id=wf.request.deployment_id, event=event, progress=wf.progress())


async def _needs_help(wf: DeploymentCore, check_in: CheckIn, where: str, key: str) -> None:
    """An urgent task for Operations, open until they close it, and a word to the office."""
    tasks = []
    if workflow.patched(PATCH_NEEDS_HELP_TASK):  # runs before it only notified
        note = textwrap.shorten(check_in.note, NOTE_IN_TITLE, placeholder="…") or "no note"
        tasks = [
            wf.new_task(
                f"stay/needs-help/{key}",
                TaskKind.NEEDS_HELP,
                due_at=workflow.now() + NEEDS_HELP_DUE,
                member=wf.request.member_name,
                where=where,
                note=note,
            )
        ]
        await wf.open_tasks(tasks, f"Needs help{where}: Operations must act now", kind=EventKind.NEEDS_HELP)
    await wf.notify(
        role=Role.OPERATIONS,
        kind=EventKind.NEEDS_HELP,
        message=f"{wf.request.member_name} checked in needing help{where}: {check_in.note}",
        tasks=tasks,
    )
