"""TRAVEL: country clearance from the post, travel orders, tickets; then the arrival check-in."""

from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from crc.lifecycle import (
        ERR_BOOKING_REFUSED,
        BookingRef,
        BookingRequest,
        CountryClearanceRecord,
        DocumentRef,
        TravelOrdersRequest,
    )
    from crc.stages import Stage

from workflows.core import Cancelled, DeploymentCore, start_of_day

APPROVE, REJECT = "approve", "reject"
RETRY, CANCEL, BOOKED_MANUALLY = "retry", "cancel", "booked_manually"
HOME = "Washington, DC"


async def run_travel(wf: DeploymentCore) -> None:
    """Clearance, orders and tickets; the stage ends when the member checks in on arrival."""
    post = await wf.load_post()
    arrival = wf.request.start_date
    due_at = start_of_day(arrival - timedelta(days=post.clearance_lead_days))
    # Inside the post's lead time the request still goes, flagged urgent for the post.
    urgent = workflow.now() >= due_at
    wf.compensations.append("travel")
    await _record_clearance(wf, "requested", urgent)
    clearance = wf.new_task(
        "travel/country-clearance",
        kind="country_clearance",
        role="chief_of_mission",
        title=("URGENT, inside the lead time: " if urgent else "")
        + f"Country clearance for {wf.request.member_name}, arriving {post.city or post.country} "
        + arrival.isoformat(),
        outcomes=[APPROVE, REJECT],
        due_at=workflow.now() + timedelta(days=1) if urgent else due_at,
    )
    await wf.open_tasks([clearance], "Country clearance requested" + (" (urgent)" if urgent else ""))
    await wf.set_status("Waiting for country clearance")
    answered = await wf.wait_answer([clearance])
    assert answered is not None  # no deadline: only an answer or a cancellation ends the wait
    _, decision = answered
    if decision.outcome == REJECT:
        wf.cancel_with(decision, f"Country clearance refused by {decision.user}: {decision.comment or ''}")
    await _record_clearance(wf, "approved", urgent)
    wf.acted.add(clearance.id)

    orders = await wf.act(
        "issue_travel_orders",
        TravelOrdersRequest(deployment_id=wf.request.deployment_id, issued_at=workflow.now()),
        DocumentRef,
    )
    booking = await book_travel(
        wf, "outbound", arrival, HOME, f"{post.city}, {post.country}", refusal_outcomes=[RETRY, CANCEL]
    )
    wf.awaiting_arrival = True
    await wf.record_stage(
        Stage.TRAVEL,
        "Booked; waiting for the arrival check-in",
        wf.event(
            "travel_booked",
            f"Travel orders issued ({orders.title}); outbound travel booked, reference "
            f"{booking.reference}, {booking.travel_date.isoformat()}",
            data={"document_id": orders.id, "booking_reference": booking.reference},
        ),
    )
    await workflow.wait_condition(lambda: wf.arrived_on is not None or wf.cancel is not None)
    if wf.arrived_on is None:
        raise Cancelled
    await wf.record_stage(
        Stage.DEPLOYED,
        f"In country since {wf.arrived_on.isoformat()}",
        wf.event("arrived", f"Arrived in {post.country}; deployed until {wf.end_date.isoformat()}"),
    )


async def _record_clearance(wf: DeploymentCore, status: str, urgent: bool) -> None:
    await wf.act(
        "record_country_clearance",
        CountryClearanceRecord(
            deployment_id=wf.request.deployment_id,
            post_code=wf.request.post_code,
            status=status,
            urgent=urgent,
            arrival_date=wf.request.start_date,
        ),
    )


async def book_travel(
    wf: DeploymentCore,
    direction: str,
    travel_date: date,
    origin: str,
    destination: str,
    *,
    refusal_outcomes: list[str],
) -> BookingRef:
    """Book through the provider; a refusal goes to a travel officer to retry (or cancel)."""
    refusals = 0
    while True:
        try:
            return await wf.act(
                "book_travel",
                BookingRequest(
                    deployment_id=wf.request.deployment_id,
                    direction=direction,
                    travel_date=travel_date,
                    origin=origin,
                    destination=destination,
                ),
                BookingRef,
            )
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == ERR_BOOKING_REFUSED):
                raise
            reason = cause.message
        refusals += 1
        task = wf.new_task(
            f"travel/{direction}/refused/{refusals}",
            kind="booking_refused",
            role="travel",
            title=f"The travel provider refused the {direction} booking: {reason}",
            outcomes=refusal_outcomes,
            due_at=workflow.now() + timedelta(days=1),
        )
        await wf.open_tasks([task], f"{direction.capitalize()} booking refused: {reason}")
        answered = await wf.wait_answer([task])
        assert answered is not None  # no deadline: only an answer or a cancellation ends the wait
        _, decision = answered
        if decision.outcome == CANCEL:
            wf.cancel_with(decision, f"Cancelled by {decision.user}: travel could not be booked")
        wf.acted.add(task.id)
        if decision.outcome == BOOKED_MANUALLY:
            return BookingRef(id=0, direction=direction, reference="booked manually", travel_date=travel_date)
