"""Travel activities: bookings through the provider, country clearance, orders and check-ins."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.travel import BookingRefused, DatabaseTravelProvider, TravelActivities, booking_reference
from crc.db import session_factory
from crc.lifecycle import (
    ERR_BOOKING_REFUSED,
    BookingRef,
    BookingRequest,
    CancelTravel,
    CheckInRecord,
    CountryClearanceRecord,
    DocumentRef,
    TravelOrdersRequest,
)
from crc.lifecycle_tables import Booking, CheckIn, CountryClearance, Document
from tests.factories import add, deployment_rows, member, post

ISSUED = datetime(2027, 1, 20, 14, 30, tzinfo=UTC)


async def _deployment(engine: AsyncEngine, **overrides: Any) -> tuple[str, int]:
    """A deployment of a member to Juba; (deployment id, member id)."""
    m = member(name="Avery Quinn", agency="USAID")
    await add(engine, m, post(code="JUB", city="Juba", country="South Sudan"))
    assert m.id is not None
    [deployment_id] = await deployment_rows(
        engine, 1, member_id=m.id, post_code="JUB", start=date(2027, 2, 1), duration_days=90, **overrides
    )
    return deployment_id, m.id


def _outbound(deployment_id: str, travel_date: date = date(2027, 1, 31)) -> BookingRequest:
    return BookingRequest(
        deployment_id=deployment_id,
        direction="outbound",
        travel_date=travel_date,
        origin="Washington, DC",
        destination="Juba",
    )


async def _bookings(engine: AsyncEngine) -> list[tuple[str, str, date, str]]:
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(Booking))).all()
    return sorted((b.direction, b.reference, b.travel_date, b.status) for b in rows)


# --- bookings ----------------------------------------------------------------------------------


async def test_booking_twice_books_once_with_a_deterministic_reference(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    acts = TravelActivities(engine)

    once = await ActivityEnvironment().run(acts.book_travel, _outbound(deployment_id))
    twice = await ActivityEnvironment().run(acts.book_travel, _outbound(deployment_id))

    reference = booking_reference(deployment_id, "outbound")
    assert re.fullmatch(r"CRC-[0-9A-F]{6}", reference)
    assert (
        once
        == twice
        == BookingRef(id=once.id, direction="outbound", reference=reference, travel_date=date(2027, 1, 31))
    )
    assert await _bookings(engine) == [("outbound", reference, date(2027, 1, 31), "booked")]


async def test_each_direction_is_its_own_booking(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    acts = TravelActivities(engine)
    await ActivityEnvironment().run(acts.book_travel, _outbound(deployment_id))
    back = BookingRequest(
        deployment_id=deployment_id,
        direction="return",
        travel_date=date(2027, 5, 2),
        origin="Juba",
        destination="Washington, DC",
    )
    await ActivityEnvironment().run(acts.book_travel, back)
    assert await _bookings(engine) == sorted(
        [
            ("outbound", booking_reference(deployment_id, "outbound"), date(2027, 1, 31), "booked"),
            ("return", booking_reference(deployment_id, "return"), date(2027, 5, 2), "booked"),
        ]
    )


async def test_a_changed_journey_is_rebooked_under_the_same_reference(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    acts = TravelActivities(engine)
    await ActivityEnvironment().run(acts.book_travel, _outbound(deployment_id))
    moved = await ActivityEnvironment().run(acts.book_travel, _outbound(deployment_id, date(2027, 1, 29)))
    assert moved.travel_date == date(2027, 1, 29)
    assert await _bookings(engine) == [
        ("outbound", booking_reference(deployment_id, "outbound"), date(2027, 1, 29), "booked")
    ]


class _RefusingProvider(DatabaseTravelProvider):
    async def book(self, request: BookingRequest) -> BookingRef:
        raise BookingRefused("traveller not admissible on this route")


class _FlakyProvider(DatabaseTravelProvider):
    async def book(self, request: BookingRequest) -> BookingRef:
        raise ConnectionError("provider unreachable")


async def test_a_refusal_fails_for_good_with_its_named_type(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    acts = TravelActivities(engine, provider=_RefusingProvider(engine))
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(acts.book_travel, _outbound(deployment_id))
    assert raised.value.type == ERR_BOOKING_REFUSED == "BookingRefused"
    assert raised.value.non_retryable is True
    assert "traveller not admissible on this route" in str(raised.value)


async def test_other_provider_errors_propagate_to_be_retried(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    acts = TravelActivities(engine, provider=_FlakyProvider(engine))
    with pytest.raises(ConnectionError):
        await ActivityEnvironment().run(acts.book_travel, _outbound(deployment_id))


async def test_an_unknown_direction_is_refused(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    sideways = _outbound(deployment_id).model_copy(update={"direction": "sideways"})
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(TravelActivities(engine).book_travel, sideways)
    assert (raised.value.type, raised.value.non_retryable) == ("InvalidBooking", True)
    assert await _bookings(engine) == []


# --- country clearance and cancellation --------------------------------------------------------


async def _clearances(engine: AsyncEngine) -> list[tuple[str, str, bool, date]]:
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(CountryClearance))).all()
    return [(c.deployment_id, c.status, c.urgent, c.arrival_date) for c in rows]


async def test_country_clearance_is_one_row_that_follows_its_status(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    acts = TravelActivities(engine)
    record = CountryClearanceRecord(
        deployment_id=deployment_id,
        post_code="JUB",
        status="requested",
        urgent=True,
        arrival_date=date(2027, 2, 1),
    )
    await ActivityEnvironment().run(acts.record_country_clearance, record)
    await ActivityEnvironment().run(acts.record_country_clearance, record)
    assert await _clearances(engine) == [(deployment_id, "requested", True, date(2027, 2, 1))]

    approved = record.model_copy(update={"status": "approved"})
    await ActivityEnvironment().run(acts.record_country_clearance, approved)
    assert await _clearances(engine) == [(deployment_id, "approved", True, date(2027, 2, 1))]


async def test_cancel_travel_cancels_bookings_and_clearance_and_can_repeat(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    acts = TravelActivities(engine)
    env = ActivityEnvironment()
    await env.run(acts.book_travel, _outbound(deployment_id))
    await env.run(
        acts.record_country_clearance,
        CountryClearanceRecord(
            deployment_id=deployment_id, post_code="JUB", status="approved", arrival_date=date(2027, 2, 1)
        ),
    )

    await env.run(acts.cancel_travel, CancelTravel(deployment_id=deployment_id))
    await env.run(acts.cancel_travel, CancelTravel(deployment_id=deployment_id))

    assert await _bookings(engine) == [
        ("outbound", booking_reference(deployment_id, "outbound"), date(2027, 1, 31), "cancelled")
    ]
    assert await _clearances(engine) == [(deployment_id, "cancelled", False, date(2027, 2, 1))]


async def test_cancel_travel_with_nothing_booked_does_nothing(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    await ActivityEnvironment().run(
        TravelActivities(engine).cancel_travel, CancelTravel(deployment_id=deployment_id)
    )
    assert await _bookings(engine) == []
    assert await _clearances(engine) == []


async def test_the_database_provider_counts_what_it_cancelled(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine)
    provider = DatabaseTravelProvider(engine)
    await provider.book(_outbound(deployment_id))
    assert await provider.cancel(deployment_id) == 1
    assert await provider.cancel(deployment_id) == 0


# --- travel orders -----------------------------------------------------------------------------


async def _documents(engine: AsyncEngine) -> list[Document]:
    async with session_factory(engine)() as session:
        return list((await session.exec(select(Document))).all())


async def test_travel_orders_are_issued_once(engine: AsyncEngine) -> None:
    deployment_id, _ = await _deployment(engine, cost_estimate_usd=Decimal("41250.50"))
    acts = TravelActivities(engine)
    request = TravelOrdersRequest(deployment_id=deployment_id, issued_at=ISSUED)

    first = await ActivityEnvironment().run(acts.issue_travel_orders, request)
    later = TravelOrdersRequest(deployment_id=deployment_id, issued_at=datetime(2027, 1, 25, tzinfo=UTC))
    again = await ActivityEnvironment().run(acts.issue_travel_orders, later)

    title = "Travel orders: Avery Quinn to Juba, South Sudan"
    assert first == again == DocumentRef(id=first.id, kind="travel_orders", title=title)
    [document] = await _documents(engine)
    assert (document.deployment_id, document.kind, document.content_type) == (
        deployment_id,
        "travel_orders",
        "text/html; charset=utf-8",
    )
    for expected in (
        "Avery Quinn",
        "USAID",
        "South Sudan",
        "Rule of law adviser",
        "2027-02-01 to 2027-05-01",
        "USD 41,250.50",
        "<dd>2027-01-20</dd>",
        f"TO-{deployment_id.replace('-', '')[:10].upper()}",
    ):
        assert expected in document.body


async def test_travel_orders_escape_markup_in_every_field(engine: AsyncEngine) -> None:
    m = member(name="<script>alert('name')</script>")
    await add(engine, m, post(code="JUB", city="<b>Juba</b>"))
    assert m.id is not None
    [deployment_id] = await deployment_rows(
        engine, 1, member_id=m.id, post_code="JUB", role_title="<script>alert('role')</script>"
    )

    await ActivityEnvironment().run(
        TravelActivities(engine).issue_travel_orders,
        TravelOrdersRequest(deployment_id=deployment_id, issued_at=ISSUED),
    )

    [document] = await _documents(engine)
    assert "<script>" not in document.body
    assert "<b>" not in document.body
    assert document.body.count("&lt;script&gt;") == 3  # the name twice (title, traveller), the role
    assert "&lt;b&gt;Juba&lt;/b&gt;" in document.body


async def test_travel_orders_for_an_unknown_deployment_fail_for_good(engine: AsyncEngine) -> None:
    request = TravelOrdersRequest(deployment_id="no-such-deployment", issued_at=ISSUED)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(TravelActivities(engine).issue_travel_orders, request)
    assert (raised.value.type, raised.value.non_retryable) == ("MissingRow", True)


# --- check-ins ---------------------------------------------------------------------------------


async def test_a_check_in_is_recorded_once_per_key(engine: AsyncEngine) -> None:
    deployment_id, member_id = await _deployment(engine)
    check_in = CheckInRecord(
        key=f"{deployment_id}/check-in/1",
        deployment_id=deployment_id,
        member_id=member_id,
        by_user="member",
        status="ok",
        location="Juba",
        arrival=True,
        at=ISSUED,
    )
    acts = TravelActivities(engine)
    await ActivityEnvironment().run(acts.record_check_in, check_in)
    await ActivityEnvironment().run(acts.record_check_in, check_in)

    async with session_factory(engine)() as session:
        rows = (await session.exec(select(CheckIn))).all()
    assert [(r.key, r.status, r.location, r.arrival, r.at) for r in rows] == [
        (check_in.key, "ok", "Juba", True, ISSUED)
    ]
