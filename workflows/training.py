"""TRAINING: enrol in the courses the member lacks and record each result; one retake allowed."""

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.lifecycle import (
        CourseSeat,
        EnrolmentStatus,
        EnrolRequest,
        EnrolResult,
        RecordCertificate,
        TrainingPlan,
        TrainingPlanRequest,
    )
    from crc.stages import Stage
    from crc.types import Amendment, TaskView

from workflows.core import DeploymentCore, end_date_of, start_of_day

PASS, FAIL = "pass", "fail"
ACCEPT_LATER_START, CANCEL = "accept_later_start", "cancel"
# The result of a course is due this long after its session ends.
RESULT_DUE = timedelta(days=2)
MAX_ATTEMPTS = 2


async def run_training(wf: DeploymentCore) -> None:
    """Enrol in every missing course, then wait for each result."""
    plan = await wf.act(
        "plan_training",
        TrainingPlanRequest(
            member_id=wf.request.member_id,
            post_code=wf.request.post_code,
            end_date=wf.end_date,
            duration_days=wf.request.duration_days,
        ),
        TrainingPlan,
    )
    wf.compensations.append("seats")  # before enrolling: releasing seats never taken is a no-op
    pending: dict[str, tuple[int, TaskView, CourseSeat]] = {}
    for course in plan.courses:
        task, seat = await _enrol(wf, course, attempt=1, earliest=workflow.now().date())
        pending[course] = (1, task, seat)
    while pending:
        await wf.set_status("In training: " + ", ".join(sorted(pending)))
        answered = await wf.wait_answer([task for _, task, _ in pending.values()])
        assert answered is not None
        task, decision = answered
        course = next(c for c, (_, t, _) in pending.items() if t.id == task.id)
        attempt, _, seat = pending.pop(course)
        await wf.act(
            "mark_enrolment",
            EnrolmentStatus(
                deployment_id=wf.request.deployment_id,
                course_code=course,
                attempt=attempt,
                status="passed" if decision.outcome == PASS else "failed",
            ),
        )
        if decision.outcome == PASS:
            await wf.act(
                "record_certificate",
                RecordCertificate(member_id=wf.request.member_id, course_code=course, passed_on=seat.ends_on),
            )
            wf.acted.add(task.id)
            continue
        if attempt >= MAX_ATTEMPTS:
            wf.cancel_with(decision, f"Failed {seat.course_title} twice")
        retake, retake_seat = await _enrol(
            wf, course, attempt=attempt + 1, earliest=seat.ends_on + timedelta(days=1)
        )
        pending[course] = (attempt + 1, retake, retake_seat)
        wf.acted.add(task.id)
    await wf.record_stage(
        Stage.EQUIPPING,
        "Reserving kit",
        wf.event(
            "stage_changed",
            f"{'Training complete' if plan.courses else 'No training needed'}; equipping next",
        ),
    )


async def _enrol(
    wf: DeploymentCore, course: str, *, attempt: int, earliest: date
) -> tuple[TaskView, CourseSeat]:
    """A seat that ends before the start date, asking Planning to move the start if none does."""
    while True:
        result = await wf.act(
            "enrol",
            EnrolRequest(
                deployment_id=wf.request.deployment_id,
                course_code=course,
                attempt=attempt,
                earliest_start=earliest,
                must_end_before=wf.request.start_date,
            ),
            EnrolResult,
        )
        if result.seat is not None:
            break
        await _ask_for_later_start(wf, course, result.earliest_available)
    seat: CourseSeat = result.seat
    task = wf.new_task(
        f"training/{course}/{attempt}",
        kind="training_result",
        role="training",
        title=f"Result of {seat.course_title}{' (retake)' if attempt > 1 else ''}: "
        f"{seat.starts_on.isoformat()} to {seat.ends_on.isoformat()}",
        outcomes=[PASS, FAIL],
        due_at=start_of_day(seat.ends_on) + RESULT_DUE,
    )
    await wf.open_tasks(
        [task],
        f"Enrolled in {seat.course_title}, {seat.starts_on.isoformat()} to {seat.ends_on.isoformat()}"
        + (f" at {seat.location}" if seat.location else ""),
        kind="enrolled",
    )
    return task, seat


async def _ask_for_later_start(wf: DeploymentCore, course: str, offer: CourseSeat | None) -> None:
    """No session fits: Planning accepts a later start (after the earliest free session) or cancels."""
    if offer is None:
        title = f"No session of {course} has a free seat this year: cancel the deployment"
        outcomes = [CANCEL]
    else:
        new_start = offer.ends_on + timedelta(days=1)
        title = (
            f"No {offer.course_title} session ends before {wf.request.start_date.isoformat()}: "
            f"start on {new_start.isoformat()} instead, or cancel"
        )
        outcomes = [ACCEPT_LATER_START, CANCEL]
    task = wf.new_task(
        f"training/{course}/no-seat/{wf.event_seq}",
        kind="training_schedule",
        role="planning",
        title=title,
        outcomes=outcomes,
        due_at=workflow.now() + timedelta(days=2),
    )
    await wf.open_tasks([task], title, kind="no_seat")
    await wf.set_status("Waiting for Planning: no training seat before the start date")
    answered = await wf.wait_answer([task])
    assert answered is not None  # no deadline: only an answer or a cancellation ends the wait
    _, decision = answered
    if decision.outcome == CANCEL or offer is None:
        wf.cancel_with(decision, f"Cancelled by {decision.user}: no {course} session before the start")
    wf.acted.add(task.id)
    new_start = offer.ends_on + timedelta(days=1)
    wf.request = wf.request.model_copy(update={"start_date": new_start})
    wf.end_date = end_date_of(new_start, wf.request.duration_days)
    await wf.record_stage(
        Stage.TRAINING,
        "Arranging training",
        wf.event(
            "start_moved", f"Start moved to {new_start.isoformat()} to fit {course}", actor=decision.user
        ),
        amendment=Amendment(user=decision.user, start_date=new_start),
        end_date=wf.end_date,
    )
