"""Travel: country clearance, travel orders, bookings through a travel provider, check-ins."""

import hashlib
from typing import Protocol

import jinja2
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.read_model import ReadModelActivities
from activities.rows import dialect_insert, insert_ignoring_duplicates, require
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
from crc.lifecycle_tables import TRAVEL_ORDERS, Booking, CheckIn, CountryClearance, Document
from crc.tables import Deployment, Member, Post, utcnow

DIRECTIONS = frozenset({"outbound", "return"})
# Named, non-retryable: a direction other than outbound or return is a caller's mistake.
ERR_INVALID_BOOKING = "InvalidBooking"


class BookingRefused(Exception):
    """A travel provider's final no (sold out, traveller not admissible): retrying won't help."""


class TravelProvider(Protocol):
    """Books and cancels journeys; raises BookingRefused for a refusal, anything else to retry."""

    async def book(self, request: BookingRequest) -> BookingRef:
        """Book the journey; the same deployment and direction again returns the same booking."""
        ...

    async def cancel(self, deployment_id: str) -> int:
        """Cancel the deployment's bookings; how many were still booked."""
        ...


def booking_reference(deployment_id: str, direction: str) -> str:
    """A deterministic booking reference, so a retried booking gets the same one."""
    digest = hashlib.sha256(f"{deployment_id}/{direction}".encode()).hexdigest()
    return f"CRC-{digest[:6].upper()}"


def _ref(booking: Booking) -> BookingRef:
    assert booking.id is not None
    return BookingRef(
        id=booking.id,
        direction=booking.direction,
        reference=booking.reference,
        travel_date=booking.travel_date,
    )


class DatabaseTravelProvider:
    """The default provider: bookings are recorded in the database, never refused."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)

    async def book(self, request: BookingRequest) -> BookingRef:
        """Record the booking once per deployment and direction; a changed journey is rebooked."""
        journey = {
            "travel_date": request.travel_date,
            "origin": request.origin,
            "destination": request.destination,
        }
        async with self._sessions.begin() as session:
            row = {
                "deployment_id": request.deployment_id,
                "direction": request.direction,
                "reference": booking_reference(request.deployment_id, request.direction),
                "status": "booked",
                "created_at": utcnow(),
                "updated_at": utcnow(),
                **journey,
            }
            await insert_ignoring_duplicates(session, Booking, [row], ["deployment_id", "direction"])
            same_journey = (
                Booking.deployment_id == request.deployment_id,
                Booking.direction == request.direction,
            )
            query = select(Booking).where(*same_journey).execution_options(populate_existing=True)
            booking = (await session.exec(query)).one()
            if booking.status != "booked" or any(getattr(booking, k) != v for k, v in journey.items()):
                for key, value in journey.items():
                    setattr(booking, key, value)
                booking.status = "booked"
                booking.updated_at = utcnow()
            await session.flush()
            return _ref(booking)

    async def cancel(self, deployment_id: str) -> int:
        """Mark the deployment's bookings cancelled."""
        async with self._sessions.begin() as session:
            cancelled = await session.exec(
                sa.update(Booking)
                .where(col(Booking.deployment_id) == deployment_id, col(Booking.status) == "booked")
                .values(status="cancelled", updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return int(cancelled.rowcount)


_ORDERS = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>Travel orders {{ number }}</h1>
<dl>
  <dt>Traveller</dt><dd>{{ member.name }}</dd>
  <dt>Agency</dt><dd>{{ member.agency }}</dd>
  <dt>Post</dt><dd>{{ post.code }} — {{ post.city }}</dd>
  <dt>Country</dt><dd>{{ post.country }}</dd>
  <dt>Role</dt><dd>{{ deployment.role_title }}</dd>
  <dt>Dates</dt><dd>{{ deployment.start_date }} to {{ deployment.end_date }}
    ({{ deployment.duration_days }} days)</dd>
  <dt>Cost estimate</dt><dd>{{ cost }}</dd>
  <dt>Issued</dt><dd>{{ issued_on }}</dd>
</dl>
</body>
</html>
"""
)


def orders_number(deployment_id: str) -> str:
    """The travel orders' number, derived from the deployment so it never changes."""
    return f"TO-{deployment_id.replace('-', '')[:10].upper()}"


class TravelActivities:
    """Travel arrangements, owned by one database engine and a travel provider."""

    def __init__(
        self,
        engine: AsyncEngine,
        provider: TravelProvider | None = None,
        read_model: ReadModelActivities | None = None,
    ) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._provider = provider if provider is not None else DatabaseTravelProvider(engine)
        # Records the stage change or event an activity carries, with its own work.
        self._read_model = read_model

    def _writer(self) -> ReadModelActivities:
        assert self._read_model is not None, "a carried write needs the read-model's writer"
        return self._read_model

    @activity.defn(name="book_travel")
    async def book_travel(self, request: BookingRequest) -> BookingRef:
        """Book a journey; a provider's refusal fails for good, other errors are retried."""
        if request.direction not in DIRECTIONS:
            raise ApplicationError(
                f"direction must be one of {sorted(DIRECTIONS)}, not {request.direction!r}",
                type=ERR_INVALID_BOOKING,
                non_retryable=True,
            )
        if request.stage_change is not None:  # the move into REDEPLOYMENT, shown first
            await self._writer().record_stage(request.stage_change)
        # Issued first (idempotent): a refused booking leaves the orders stand, as before.
        orders = None if request.orders is None else await self.issue_travel_orders(request.orders)
        try:
            booking = await self._provider.book(request)
        except BookingRefused as exc:
            raise ApplicationError(
                f"travel provider refused the {request.direction} booking: {exc}",
                type=ERR_BOOKING_REFUSED,
                non_retryable=True,
            ) from exc
        return booking.model_copy(update={"orders": orders})

    @activity.defn(name="cancel_travel")
    async def cancel_travel(self, request: CancelTravel) -> None:
        """Cancel the bookings and the country clearance (compensation; safe to repeat)."""
        await self._provider.cancel(request.deployment_id)
        async with self._sessions.begin() as session:
            await session.exec(
                sa.update(CountryClearance)
                .where(
                    col(CountryClearance.deployment_id) == request.deployment_id,
                    col(CountryClearance.status) != "cancelled",
                )
                .values(status="cancelled", updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    @activity.defn(name="record_country_clearance")
    async def record_country_clearance(self, record: CountryClearanceRecord) -> None:
        """Create or update the deployment's country clearance."""
        if record.stage_change is not None:  # the move into TRAVEL, shown first
            await self._writer().record_stage(record.stage_change)
        values = {
            "post_code": record.post_code,
            "status": record.status,
            "urgent": record.urgent,
            "arrival_date": record.arrival_date,
            "updated_at": utcnow(),
        }
        async with self._sessions.begin() as session:
            await session.exec(
                dialect_insert(session)(CountryClearance)
                .values(deployment_id=record.deployment_id, **values)
                .on_conflict_do_update(index_elements=["deployment_id"], set_=values)
            )

    @activity.defn(name="issue_travel_orders")
    async def issue_travel_orders(self, request: TravelOrdersRequest) -> DocumentRef:
        """Render the travel orders once and store them where the deployment page links to."""
        if request.clearance is not None:  # the approved clearance that allows them
            await self.record_country_clearance(request.clearance)
        async with self._sessions.begin() as session:
            deployment = await require(session, Deployment, request.deployment_id)
            member = await require(session, Member, deployment.member_id)
            post = await require(session, Post, deployment.post_code)
            title = f"Travel orders: {member.name} to {post.city or post.code}, {post.country}"
            cost = deployment.cost_estimate_usd
            body = _ORDERS.render(
                title=title,
                number=orders_number(deployment.id),
                member=member,
                post=post,
                deployment=deployment,
                cost=f"USD {cost:,.2f}" if cost is not None else "not estimated",
                issued_on=request.issued_at.date().isoformat(),
            )
            row = {
                "deployment_id": deployment.id,
                "kind": TRAVEL_ORDERS,
                "title": title[:200],
                "content_type": "text/html; charset=utf-8",
                "body": body,
                "created_at": request.issued_at,
            }
            await insert_ignoring_duplicates(session, Document, [row], ["deployment_id", "kind"])
            document = (
                await session.exec(
                    select(Document).where(
                        Document.deployment_id == deployment.id, Document.kind == TRAVEL_ORDERS
                    )
                )
            ).one()
            assert document.id is not None
            return DocumentRef(id=document.id, kind=document.kind, title=document.title)

    @activity.defn(name="record_check_in")
    async def record_check_in(self, record: CheckInRecord) -> None:
        """Store a check-in once, however often the activity runs."""
        async with self._sessions.begin() as session:
            row = record.model_dump(exclude={"event", "arrived"})
            await insert_ignoring_duplicates(session, CheckIn, [row], ["key"])
        if record.event is not None:  # its audit event, appended after it (idempotent by key)
            await self._writer().append_event(record.event)
        if record.arrived is not None:  # the move into DEPLOYED, after the check-in's event
            await self._writer().record_stage(record.arrived)
