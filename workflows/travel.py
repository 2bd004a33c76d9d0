"""TRAVEL: country clearance from the post, travel orders, tickets; then the arrival check-in."""

import contextlib
from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.travel import TravelActivities
    from crc.events import EventKind
    from crc.lifecycle import (
        ERR_BOOKING_REFUSED,
        BookingRef,
        BookingRequest,
        CountryClearanceRecord,
        TravelOrdersRequest,
    )
    from crc.progress import WaitingFor
    from crc.stages import Stage
    from crc.tasks import Outcome, TaskKind
    from crc.types import name_of

from workflows.check_ins import arrived_status
from workflows.core import Cancelled, DeploymentCore, start_of_day
from workflows.pipeline import StageStep, Transition

HOME = "Washington, DC"
# A member not checked in this long after the start date is a no-show.
NO_SHOW_AFTER = timedelta(days=2)
PATCH_NO_SHOW = "crc-no-show"
PATCH_BOOKING_STATUS = "crc-booking-refused-status"


async def run_travel(wf: DeploymentCore) -> Transition:
    """Clearance, orders and tickets; the stage ends when the member checks in on arrival."""
    post = await wf.load_post()
    arrival = wf.request.start_date
    due_at = start_of_day(arrival - timedelta(days=post.clearance_lead_days))
    # Inside the post's lead time the request still goes, flagged urgent for the post.
    urgent = workflow.now() >= due_at
    wf.state.compensations.append("travel")
    await _record_clearance(wf, "requested", urgent)
    clearance = wf.new_task(
        "travel/country-clearance",
        TaskKind.COUNTRY_CLEARANCE,
        due_at=workflow.now() + timedelta(days=1) if urgent else due_at,
        urgent="EXPEDITED, inside the lead time: " if urgent else "",
        member=wf.request.member_name,
        place=post.city or post.country,
        arrival=arrival.isoformat(),
    )
    waiting = ("Waiting for country clearance", WaitingFor.COUNTRY_CLEARANCE)
    await wf.open_tasks(
        [clearance], "Country clearance requested" + (" (expedited)" if urgent else ""), status=waiting
    )
    await wf.set_status(*waiting)
    decision = await wf.answer(clearance)
    if decision.outcome == Outcome.REJECT:
        refused = f"Country clearance refused by {name_of(decision)}: {decision.comment or ''}"
        wf.cancel_with(decision, refused)
    together = wf.lean()  # the approved clearance is recorded with the orders it allows
    if not together:
        await _record_clearance(wf, "approved", urgent)
    wf.handled(clearance)

    orders_request = TravelOrdersRequest(
        deployment_id=wf.request.deployment_id,
        issued_at=workflow.now(),
        clearance=_clearance(wf, "approved", urgent) if together else None,
    )
    # The orders are issued with the outbound booking (runs from before: in a round trip first).
    with_booking = wf.fewer_round_trips()
    if not with_booking:
        orders = await wf.act(TravelActivities.issue_travel_orders, orders_request)
    booking = await book_travel(
        wf,
        "outbound",
        arrival,
        HOME,
        f"{post.city}, {post.country}",
        refusal_outcomes=[Outcome.RETRY, Outcome.CANCEL],
        orders=orders_request if with_booking else None,
    )
    if with_booking and booking.orders is not None:
        orders = booking.orders
    elif with_booking:  # a booking that came back without them: issued (or read back) apart
        again = orders_request.model_copy(update={"clearance": None})
        orders = await wf.act(TravelActivities.issue_travel_orders, again)
    travel = wf.state.travel
    travel.awaiting_arrival = True
    # Nobody arrives before the start, or before the outbound flight where it leaves earlier.
    travel.arrival_opens_on = min(arrival, booking.travel_date)
    await wf.record_stage(
        Stage.TRAVEL,
        "Booked; waiting for the arrival check-in",
        wf.event(
            EventKind.TRAVEL_BOOKED,
            f"Travel orders issued ({orders.title}); outbound travel booked, reference "
            f"{booking.reference}, {booking.travel_date.isoformat()}",
            data={"document_id": orders.id, "booking_reference": booking.reference},
        ),
        waiting_for=WaitingFor.ARRIVAL,
    )
    stay = wf.state.stay
    if workflow.patched(PATCH_NO_SHOW):
        await _await_arrival(wf)
    else:  # runs started before the no-show alert
        await workflow.wait_condition(lambda: stay.arrived_on is not None or wf.state.cancel is not None)
    if stay.arrived_on is None:
        raise Cancelled
    if _follow_arrival(wf):
        return Transition("Arrived", kind=EventKind.ARRIVED, recorded=True)
    return Transition(
        f"Arrived in {post.country}; deployed until {wf.state.end_date.isoformat()}",
        kind=EventKind.ARRIVED,
        status=arrived_status(stay.arrived_on),
    )


async def _await_arrival(wf: DeploymentCore) -> None:
    """Wait for the arrival check-in; a member not arrived two days after the start date is a
    no-show for Operations, who account for them (and go on waiting) or cancel."""
    state = wf.state

    def arrived_or_cancelled() -> bool:
        return state.stay.arrived_on is not None or state.cancel is not None

    until_no_show = (start_of_day(wf.request.start_date) + NO_SHOW_AFTER - workflow.now()).total_seconds()
    if until_no_show > 0:
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(arrived_or_cancelled, timeout=until_no_show)
    if arrived_or_cancelled():
        return
    task = wf.new_task(
        "travel/no-show",
        TaskKind.NO_SHOW,
        due_at=workflow.now() + timedelta(hours=4),
        member=wf.request.member_name,
        post=wf.request.post_code,
        start=wf.request.start_date.isoformat(),
    )
    waiting = ("Not arrived two days after the start date: Operations alerted", WaitingFor.ARRIVAL)
    await wf.open_tasks([task], "No-show: the member has not arrived; Operations alerted", status=waiting)
    await wf.set_status(*waiting)
    while not arrived_or_cancelled():
        await workflow.wait_condition(lambda: arrived_or_cancelled() or wf.unhandled(task))
        if wf.unhandled(task):
            decision = state.answers[task.id]
            if decision.outcome == Outcome.CANCEL:
                wf.cancel_with(decision, f"Cancelled by {name_of(decision)}: the member never arrived")
            wf.handled(task)
    _follow_arrival(wf)  # the withdrawal then says where the deployment stands: DEPLOYED
    await wf.withdraw_open_tasks("Arrived", tasks=[task])


def _follow_arrival(wf: DeploymentCore) -> bool:
    """Follow the move into DEPLOYED the arrival check-in wrote, if it did; True if it did."""
    if wf.arrived is None or wf.state.stay.arrived_on is None:
        return False
    if wf.state.stage == Stage.TRAVEL:
        wf.follow(wf.arrived)
    return True


async def _record_clearance(wf: DeploymentCore, status: str, urgent: bool) -> None:
    await wf.act(TravelActivities.record_country_clearance, _clearance(wf, status, urgent))


def _clearance(wf: DeploymentCore, status: str, urgent: bool) -> CountryClearanceRecord:
    return CountryClearanceRecord(
        deployment_id=wf.request.deployment_id,
        post_code=wf.request.post_code,
        status=status,
        urgent=urgent,
        arrival_date=wf.request.start_date,
    )


async def book_travel(
    wf: DeploymentCore,
    direction: str,
    travel_date: date,
    origin: str,
    destination: str,
    *,
    refusal_outcomes: list[Outcome],
    orders: TravelOrdersRequest | None = None,
) -> BookingRef:
    """Book through the provider (issuing `orders` first); a refusal goes to a travel officer to
    retry (or cancel)."""
    refusals = 0
    while True:
        try:
            return await wf.act(
                TravelActivities.book_travel,
                BookingRequest(
                    deployment_id=wf.request.deployment_id,
                    direction=direction,
                    travel_date=travel_date,
                    origin=origin,
                    destination=destination,
                    orders=orders,
                ),
            )
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == ERR_BOOKING_REFUSED):
                raise
            reason = cause.message
        refusals += 1
        task = wf.new_task(
            f"travel/{direction}/refused/{refusals}",
            TaskKind.BOOKING_REFUSED,
            outcomes=refusal_outcomes,
            due_at=workflow.now() + timedelta(days=1),
            direction=direction,
            reason=reason,
        )
        await wf.open_tasks([task], f"{direction.capitalize()} booking refused: {reason}")
        # Runs started before the status said so must replay without these two writes.
        say_so = workflow.patched(PATCH_BOOKING_STATUS)
        previous = (wf.state.status, wf.state.waiting_for)
        if say_so:
            await wf.set_status(
                f"Waiting for Travel: the {direction} booking was refused", WaitingFor.BOOKING
            )
        decision = await wf.answer(task)
        if decision.outcome == Outcome.CANCEL:
            wf.cancel_with(decision, f"Cancelled by {name_of(decision)}: travel could not be booked")
        wf.handled(task)
        if say_so:
            await wf.set_status(*previous)
        if decision.outcome == Outcome.BOOKED_MANUALLY:
            return BookingRef(id=0, direction=direction, reference="booked manually", travel_date=travel_date)


STEP = StageStep(
    Stage.TRAVEL, "Requesting country clearance", WaitingFor.WORKFLOW, run_travel, carries_entry=True
)
