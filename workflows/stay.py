"""DEPLOYED: check-ins at a cadence, missed check-in alerts, extensions and curtailment."""

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.roles import ESCALATION_ROLE
    from crc.stages import Stage
    from crc.types import Decision, ExtensionRequest, TaskView

from workflows.core import DeploymentCore, start_of_day

ACCOUNTED_FOR, ESCALATE = "accounted_for", "escalate"
APPROVE, REJECT = "approve", "reject"
EXTENSION_OFFICES = ("planning", "resource_management")


async def run_stay(wf: DeploymentCore) -> None:
    """Keep the member accounted for until the end date, or an earlier return if curtailed."""
    policy = wf.request.lifecycle
    every = timedelta(seconds=policy.check_in_every_seconds)
    grace = timedelta(seconds=policy.check_in_grace_seconds)
    while True:
        await _handle_answers(wf)
        if wf.cancel is not None:
            await _curtail(wf)
            return
        now = workflow.now()
        leave_at = start_of_day(wf.end_date + timedelta(days=1))
        if now >= leave_at:
            # An alert or extension still open has nobody left to act on it.
            await wf.withdraw_open_tasks("The stay ended")
            return
        if _history_is_long(wf):
            if await _quiet(wf):
                workflow.continue_as_new(wf.request.model_copy(update={"carried": wf.carry()}))
            continue  # news arrived while waiting: deal with it first
        last = wf.last_check_in_at or start_of_day(wf.arrived_on or now.date())
        # After an alert, the next one only a whole period later if the member is still silent.
        since = max(last, wf.alerted_at) if wf.alerted_at else last
        missed_at = since + every + grace
        if now >= missed_at:
            if not _open(wf, "missed_check_in"):
                await _raise_alert(wf, last)
            wf.alerted_at = now
            missed_at = now + every + grace
        wake_at = min(leave_at, missed_at)
        await _sleep_until_woken(wf, wake_at)


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


def _open(wf: DeploymentCore, kind: str) -> list[TaskView]:
    return [t for t in wf.tasks.values() if t.kind == kind and t.status == "open"]


async def _raise_alert(wf: DeploymentCore, last_seen: datetime) -> None:
    wf.alert_seq += 1
    task = wf.new_task(
        f"stay/missed-check-in/{wf.alert_seq}",
        kind="missed_check_in",
        role="operations",
        title=f"Missed check-in: {wf.request.member_name} in {wf.request.post_code}, "
        f"last seen {last_seen:%Y-%m-%d %H:%M} UTC",
        outcomes=[ACCOUNTED_FOR, ESCALATE],
        due_at=workflow.now() + timedelta(hours=4),
    )
    await wf.open_tasks([task], "Missed check-in: Operations alerted", kind="missed_check_in")


async def _handle_answers(wf: DeploymentCore) -> None:
    """Act on answered alerts and extension decisions."""
    for task in list(wf.tasks.values()):
        if task.id not in wf.answers or task.id in wf.acted:
            continue
        decision = wf.answers[task.id]
        if task.kind == "missed_check_in" and decision.outcome == ESCALATE:
            await wf.notify(
                role=ESCALATION_ROLE.value,
                kind="escalated",
                message=f"{wf.request.member_name} has not checked in and is not accounted for",
                tasks=[task],
            )
        elif task.kind == "extension":
            await _extension_decided(wf, task, decision)
        wf.acted.add(task.id)


async def _extension_decided(wf: DeploymentCore, task: TaskView, decision: Decision) -> None:
    group = [t for t in wf.tasks.values() if t.context.get("extension") == task.context["extension"]]
    if decision.outcome == REJECT:
        await wf.withdraw_open_tasks("Extension rejected", tasks=group)
        await wf.record_stage(
            Stage.DEPLOYED,
            wf.status,
            wf.event("extension_rejected", f"Extension rejected by {decision.user}", actor=decision.user),
        )
        return
    if any(t.outcome != APPROVE for t in group):
        return
    days = int(task.context["days"])
    wf.end_date += timedelta(days=days)
    await wf.record_stage(
        Stage.DEPLOYED,
        f"In country since {wf.arrived_on}; extended to {wf.end_date.isoformat()}",
        wf.event("extended", f"Extended by {days} days to {wf.end_date.isoformat()}"),
        end_date=wf.end_date,
    )


async def open_extension(wf: DeploymentCore, request: ExtensionRequest) -> None:
    """Ask Planning and Resource Management to approve a longer stay."""
    wf.extension_seq += 1
    tasks = [
        wf.new_task(
            f"stay/extension/{wf.extension_seq}/{office}",
            kind="extension",
            role=office,
            title=f"Extension of {request.days} days for {wf.request.member_name} "
            f"({wf.request.post_code}), to {(wf.end_date + timedelta(days=request.days)).isoformat()}",
            outcomes=[APPROVE, REJECT],
            due_at=workflow.now() + timedelta(days=3),
            context={"extension": wf.extension_seq, "days": request.days},
        )
        for office in EXTENSION_OFFICES
    ]
    await wf.open_tasks(
        tasks,
        f"Extension of {request.days} days requested by {request.user}: {request.justification}",
        kind="extension_requested",
    )


async def _curtail(wf: DeploymentCore) -> None:
    """Early return: the stay ends today."""
    assert wf.cancel is not None
    wf.end_date = max(workflow.now().date(), wf.arrived_on or workflow.now().date())
    await wf.withdraw_open_tasks("Early return")
    await wf.record_stage(
        Stage.DEPLOYED,
        "Early return",
        wf.event(
            "curtailed",
            f"Early return ordered by {wf.cancel.user}: {wf.cancel.reason}",
            actor=wf.cancel.user,
        ),
        end_date=wf.end_date,
    )
