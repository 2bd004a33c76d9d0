"""DEPLOYED: check-ins at a cadence, missed check-in alerts, extensions and curtailment."""

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.events import EventKind
    from crc.progress import WaitingFor
    from crc.roles import ESCALATION_ROLE, ROLE_LABELS
    from crc.stages import Stage
    from crc.tasks import Outcome, TaskKind
    from crc.types import TaskView, name_of

from workflows import post_departure
from workflows.core import DeploymentCore, start_of_day
from workflows.extension import extension_decided
from workflows.pipeline import StageStep, Transition

# A missed check-in alert still open this long goes to the Operations director.
ALERT_ESCALATES_AFTER = timedelta(hours=24)
PATCH_ALERT_ESCALATION = "crc-missed-check-in-escalation"


async def run_stay(wf: DeploymentCore) -> Transition:
    """Keep the member accounted for until the end date, or an earlier return if curtailed."""
    policy, stay = wf.request.lifecycle, wf.state.stay
    every = timedelta(seconds=policy.check_in_every_seconds)
    grace = timedelta(seconds=policy.check_in_grace_seconds)
    while True:
        await _handle_answers(wf)
        departure = post_departure.active(wf)
        if departure is not None and wf.state.cancel is None:  # the post is being evacuated
            wf.state.cancel = post_departure.curtail_order(departure)
        if wf.state.cancel is not None:
            await _curtail(wf)
            if departure is not None:
                await post_departure.account_for(wf, departure)
            break
        now = workflow.now()
        leave_at = start_of_day(wf.state.end_date + timedelta(days=1))
        if now >= leave_at:
            stay.left_on = wf.state.end_date
            # An alert or extension still open has nobody left to act on it.
            await wf.withdraw_open_tasks("The stay ended")
            break
        if _history_is_long(wf):
            if await _quiet(wf):
                workflow.continue_as_new(wf.request.model_copy(update={"resume": wf.state.compacted()}))
            continue  # news arrived while waiting: deal with it first
        last = stay.last_check_in_at or start_of_day(stay.arrived_on or now.date())
        # After an alert, the next one only a whole period later if the member is still silent.
        since = max(last, stay.alerted_at) if stay.alerted_at else last
        missed_at = since + every + grace
        if now >= missed_at:
            if not _open(wf, TaskKind.MISSED_CHECK_IN):
                await _raise_alert(wf, last)
            stay.alerted_at = now
            missed_at = now + every + grace
        wake_at = min(leave_at, missed_at)
        if workflow.patched(PATCH_ALERT_ESCALATION):
            escalate_at = await _escalate_stale_alert(wf, now)
            if escalate_at is not None:
                wake_at = min(wake_at, escalate_at)
        await _sleep_until_woken(wf, wake_at)
    assert stay.left_on is not None
    return Transition(f"Stay ended {stay.left_on.isoformat()}")


async def _quiet(wf: DeploymentCore) -> bool:
    """Wait for running handlers to finish; False if one brought news the loop must see first.

    A handler may need this loop (a cancel waits for the early return), so the run hands over
    to the next one only between messages."""
    seen = wf.wakeups
    await workflow.wait_condition(lambda: workflow.all_handlers_finished() or wf.wakeups != seen)
    return wf.wakeups == seen


async def _sleep_until_woken(wf: DeploymentCore, until: datetime) -> None:
    """Wait until a handler has something for the loop, or `until`."""
    seen = wf.wakeups
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(
            lambda: wf.wakeups != seen, timeout=(until - workflow.now()).total_seconds()
        )


def _history_is_long(wf: DeploymentCore) -> bool:
    info = workflow.info()
    return (
        info.get_current_history_length() >= wf.request.lifecycle.history_limit
        or info.is_continue_as_new_suggested()
    )


def _open(wf: DeploymentCore, kind: TaskKind) -> list[TaskView]:
    return [t for t in wf.state.open_tasks() if t.kind == kind]


async def _escalate_stale_alert(wf: DeploymentCore, now: datetime) -> datetime | None:
    """Escalate a missed check-in alert left open a day to the Operations director; when to look
    again, if an alert is still waiting for that day."""
    opened_at = wf.state.stay.alert_opened_at
    stale = [t for t in _open(wf, TaskKind.MISSED_CHECK_IN) if not t.escalated]
    if not stale or opened_at is None:
        return None
    if now < opened_at + ALERT_ESCALATES_AFTER:
        return opened_at + ALERT_ESCALATES_AFTER
    for task in stale:
        task.escalated = True
    await wf.notify(
        role=ESCALATION_ROLE,
        kind=EventKind.ESCALATED,
        message=f"Escalated to the Operations director: {wf.request.member_name} missed a check-in "
        "and the alert has been open a day",
        tasks=stale,
        escalate=True,
    )
    return None


async def _raise_alert(wf: DeploymentCore, last_seen: datetime) -> None:
    stay = wf.state.stay
    stay.alert_seq += 1
    stay.alert_opened_at = workflow.now()
    task = wf.new_task(
        f"stay/missed-check-in/{stay.alert_seq}",
        TaskKind.MISSED_CHECK_IN,
        due_at=workflow.now() + timedelta(hours=4),
        member=wf.request.member_name,
        post=wf.request.post_code,
        last_seen=last_seen,
    )
    await wf.open_tasks([task], "Missed check-in: Operations alerted", kind=EventKind.MISSED_CHECK_IN)


async def _handle_answers(wf: DeploymentCore) -> None:
    """Act on answered alerts and extension decisions."""
    for task in list(wf.state.tasks.values()):
        if task.id not in wf.state.answers or task.id in wf.state.acted:
            continue
        decision = wf.state.answers[task.id]
        if task.kind == TaskKind.MISSED_CHECK_IN and decision.outcome == Outcome.ESCALATE:
            await wf.notify(
                role=ESCALATION_ROLE,
                kind=EventKind.ESCALATED,
                message=f"Escalated to the {ROLE_LABELS[task.role]} director: "
                f"{wf.request.member_name} has not checked in and is not accounted for",
                tasks=[task],
            )
        elif task.kind == TaskKind.EXTENSION:
            await extension_decided(wf, task, decision)
        wf.handled(task)


async def _curtail(wf: DeploymentCore) -> None:
    """Early return: the stay ends today."""
    state = wf.state
    assert state.cancel is not None
    today = workflow.now().date()
    # The approved end date stays as it was; the actual last day is today.
    state.stay.left_on = max(today, state.stay.arrived_on or today)
    await wf.withdraw_open_tasks("Early return")
    event = wf.event(
        EventKind.CURTAILED,
        f"Early return ordered by {name_of(state.cancel)}: {state.cancel.reason}",
        actor=state.cancel.user,
    )
    if wf.lean():  # written with the move into REDEPLOYMENT, which follows at once
        wf.kept_events.append(event)
        return
    await wf.record_stage(Stage.DEPLOYED, "Early return", event, waiting_for=WaitingFor.WORKFLOW)


STEP = StageStep(Stage.DEPLOYED, "In country", WaitingFor.CHECK_INS, run_stay)
