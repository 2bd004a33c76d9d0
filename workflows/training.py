"""TRAINING: enrol in the courses the member lacks and record each result; one retake allowed."""

from collections.abc import Iterable
from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.training import TrainingActivities
    from crc.domain import COURSE_FACT, briefing_course_code
    from crc.events import EventKind
    from crc.lifecycle import (
        CourseSeat,
        EnrolmentStatus,
        EnrolRequest,
        RecordCertificate,
        TrainingPlanRequest,
        TrainingResult,
    )
    from crc.names import task_id
    from crc.progress import WaitingFor
    from crc.stages import Stage
    from crc.state import end_date_of
    from crc.tasks import Outcome, TaskKind
    from crc.threat import ThreatChange
    from crc.types import Amendment, TaskView, name_of

from workflows.core import DeploymentCore, start_of_day
from workflows.pipeline import StageStep, Transition

# The result of a course is due this long after its session ends.
RESULT_DUE = timedelta(days=2)
MAX_ATTEMPTS = 2


def _plan_request(wf: DeploymentCore) -> TrainingPlanRequest:
    return TrainingPlanRequest(
        member_id=wf.request.member_id,
        post_code=wf.request.post_code,
        end_date=wf.state.end_date,
        duration_days=wf.request.duration_days,
        deployment_id=wf.request.deployment_id,
        start_date=wf.request.start_date,
    )


async def run_training(wf: DeploymentCore) -> Transition:
    """Enrol in every missing course, then wait for each result."""
    plan = await wf.act(TrainingActivities.plan_training, _plan_request(wf))
    wf.state.compensations.append("seats")  # before enrolling: releasing seats never taken is a no-op
    pending: dict[str, tuple[int, TaskView, CourseSeat]] = {}
    for n, course in enumerate(plan.courses, start=1):
        # The last enrolment says what the deployment waits for (runs from before: set_status).
        waiting = _in_training(plan.courses) if n == len(plan.courses) else None
        task, seat = await _enrol(wf, course, attempt=1, earliest=workflow.now().date(), status=waiting)
        pending[course] = (1, task, seat)
    while pending:
        await wf.set_status(*_in_training(pending))
        answered = await wf.wait_answer([task for _, task, _ in pending.values()])
        assert answered is not None
        task, decision = answered
        course = next(c for c, (_, t, _) in pending.items() if t.id == task.id)
        attempt, _, seat = pending.pop(course)
        passed = decision.outcome == Outcome.PASS
        if wf.lean():  # the result, the certificate and the status in one round trip
            await _record_result(wf, course, attempt, seat, passed=passed, pending=list(pending))
        else:
            await _record_result_apart(wf, course, attempt, seat, passed=passed)
        if passed:
            wf.handled(task)
            continue
        if attempt >= MAX_ATTEMPTS:
            wf.cancel_with(decision, f"Failed {seat.course_title} twice")
        retake, retake_seat = await _enrol(
            wf, course, attempt=attempt + 1, earliest=seat.ends_on + timedelta(days=1)
        )
        pending[course] = (attempt + 1, retake, retake_seat)
        wf.handled(task)
    return Transition("Training complete" if plan.courses else "No training needed")


def _in_training(courses: Iterable[str]) -> tuple[str, WaitingFor]:
    return "In training: " + ", ".join(sorted(courses)), WaitingFor.TRAINING_RESULTS


async def _record_result(
    wf: DeploymentCore, course: str, attempt: int, seat: CourseSeat, *, passed: bool, pending: list[str]
) -> None:
    """Record a course's result, its certificate if passed, and what the deployment waits for next."""
    request = wf.request
    change = None
    if passed and pending:
        status, waiting_for = _in_training(pending)
        change = wf.stage_change(wf.state.stage, status, None, waiting_for=waiting_for)
    await wf.act(
        TrainingActivities.record_training_result,
        TrainingResult(
            enrolment=EnrolmentStatus(
                deployment_id=request.deployment_id,
                course_code=course,
                attempt=attempt,
                status="passed" if passed else "failed",
            ),
            certificate=(
                RecordCertificate(member_id=request.member_id, course_code=course, passed_on=seat.ends_on)
                if passed
                else None
            ),
            stage_change=change,
        ),
    )


async def _record_result_apart(
    wf: DeploymentCore, course: str, attempt: int, seat: CourseSeat, *, passed: bool
) -> None:
    """As runs from before recorded a result: the enrolment, then the certificate."""
    await wf.act(
        TrainingActivities.mark_enrolment,
        EnrolmentStatus(
            deployment_id=wf.request.deployment_id,
            course_code=course,
            attempt=attempt,
            status="passed" if passed else "failed",
        ),
    )
    if passed:
        await wf.act(
            TrainingActivities.record_certificate,
            RecordCertificate(member_id=wf.request.member_id, course_code=course, passed_on=seat.ends_on),
        )


async def _enrol(
    wf: DeploymentCore,
    course: str,
    *,
    attempt: int,
    earliest: date,
    status: tuple[str, WaitingFor] | None = None,
) -> tuple[TaskView, CourseSeat]:
    """A seat that ends before the start date, asking Planning to move the start if none does
    (but an Active call-up's post briefing: a remote session of the member's own, today)."""
    remote_on = None
    if wf.request.call_up and course == briefing_course_code(wf.request.post_code):
        remote_on = workflow.now().date()
    while True:
        result = await wf.act(
            TrainingActivities.enrol,
            EnrolRequest(
                deployment_id=wf.request.deployment_id,
                course_code=course,
                attempt=attempt,
                earliest_start=earliest,
                must_end_before=wf.request.start_date,
                remote_on=remote_on,
            ),
        )
        if result.seat is not None:
            break
        await _ask_for_later_start(wf, course, result.earliest_available)
    seat: CourseSeat = result.seat
    task = wf.new_task(
        f"training/{course}/{attempt}",
        TaskKind.TRAINING_RESULT,
        due_at=start_of_day(seat.ends_on) + RESULT_DUE,
        opens_on=seat.ends_on,  # a result is known from the session's last day
        course=seat.course_title,
        retake=" (retake)" if attempt > 1 else "",
        starts_on=seat.starts_on.isoformat(),
        ends_on=seat.ends_on.isoformat(),
    )
    await wf.open_tasks(
        [task],
        f"Enrolled in {seat.course_title}, {seat.starts_on.isoformat()} to {seat.ends_on.isoformat()}"
        + (f" at {seat.location}" if seat.location else ""),
        kind=EventKind.ENROLLED,
        status=status,
    )
    return task, seat


async def _ask_for_later_start(wf: DeploymentCore, course: str, offer: CourseSeat | None) -> None:
    """No session fits: Planning accepts a later start (after the earliest free session) or cancels."""
    key = f"training/{course}/no-seat/{wf.state.event_seq}"
    due_at = workflow.now() + timedelta(days=2)
    if offer is None:
        task = wf.new_task(
            key,
            TaskKind.TRAINING_SCHEDULE,
            variant="no_session",
            outcomes=[Outcome.CANCEL],
            due_at=due_at,
            course=course,
        )
    else:
        task = wf.new_task(
            key,
            TaskKind.TRAINING_SCHEDULE,
            due_at=due_at,
            course=offer.course_title,
            start=wf.request.start_date.isoformat(),
            new_start=(offer.ends_on + timedelta(days=1)).isoformat(),
        )
    waiting = ("Waiting for Planning: no training seat before the start date", WaitingFor.TRAINING_SCHEDULE)
    await wf.open_tasks([task], task.title, kind=EventKind.NO_SEAT, status=waiting)
    await wf.set_status(*waiting)
    decision = await wf.answer(task)
    if decision.outcome == Outcome.CANCEL or offer is None:
        wf.cancel_with(decision, f"Cancelled by {name_of(decision)}: no {course} session before the start")
    wf.handled(task)
    new_start = offer.ends_on + timedelta(days=1)
    wf.request = wf.request.model_copy(update={"start_date": new_start})
    wf.state.end_date = end_date_of(new_start, wf.request.duration_days)
    await wf.record_stage(
        Stage.TRAINING,
        "Arranging training",
        wf.event(
            EventKind.START_MOVED,
            f"Start moved to {new_start.isoformat()} to fit {course}",
            actor=decision.user,
        ),
        waiting_for=WaitingFor.WORKFLOW,
        amendment=Amendment(user=decision.user, start_date=new_start),
        end_date=wf.state.end_date,
    )


# Stages whose training plan is already made, before travel: a course the new threat level asks
# for needs a task (before them, the plan reads the post as it is then).
PLANNED_STAGES = frozenset({Stage.TRAINING, Stage.EQUIPPING, Stage.TRAVEL})
NEEDED_DUE = timedelta(days=2)


async def training_after_threat_change(wf: DeploymentCore, change: ThreatChange) -> TaskView | None:
    """A Training task to enrol the member in FACT when the new threat level asks for it before
    travel and the plan did not (the plan is made again, as the training stage made it)."""
    state = wf.state
    if state.stage not in PLANNED_STAGES or state.stay.arrived_on is not None:
        return None
    if state.stage == Stage.TRAINING and not any(
        t.kind == TaskKind.TRAINING_RESULT for t in state.tasks.values()
    ):
        return None  # the plan is being made now, with the post as it stands
    enrolled = task_id(wf.request.deployment_id, f"training/{COURSE_FACT}/1") in state.tasks
    asked = any(t.kind == TaskKind.TRAINING_NEEDED and t.status != "cancelled" for t in state.tasks.values())
    if enrolled or asked:
        return None
    plan = await wf.act(TrainingActivities.plan_training, _plan_request(wf))
    if COURSE_FACT not in plan.courses:
        return None
    return wf.new_task(
        f"threat/{change.key}/training",
        TaskKind.TRAINING_NEEDED,
        due_at=workflow.now() + NEEDED_DUE,
        context={"course": COURSE_FACT},
        member=wf.request.member_name,
        course=COURSE_FACT,
        post=wf.request.post_code,
        threat=change.threat_level,
    )


STEP = StageStep(Stage.TRAINING, "Arranging training", WaitingFor.WORKFLOW, run_training, carries_entry=True)
