"""Messages of the lifecycle activities after approval: vetting, training, kit, travel, close-out.

Like crc.types: fields may be added with defaults; never removed or renamed while workflows run.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from crc.types import EventAppend, NotifyRole, StageChange

# --- Vetting ----------------------------------------------------------------------------------


class VettingCheck(StrEnum):
    """One roster check against the post's rules and the deployment's dates."""

    CLEARANCE = "clearance"  # level at least the post's, valid through the end date
    MEDICAL = "medical"  # medical clearance valid through the end date
    PASSPORT = "passport"  # passport valid six months past the end date


class VettingRequest(BaseModel):
    """Run the checks for a member going to a post until end_date; `waived` ones count as passed."""

    deployment_id: str
    member_id: int
    post_code: str
    end_date: date
    waived: list[VettingCheck] = Field(default_factory=list)
    # The stage change recorded before the work (the move into the stage it starts, or a status).
    stage_change: StageChange | None = None


class VettingFailure(BaseModel):
    """A failed check, the role that may clear it, and why it failed."""

    check: VettingCheck
    role: str  # "security" for clearance and passport, "medical" for medical
    reason: str
    required_level: str | None = None  # the post's clearance level (for a clearance check)


class VettingReport(BaseModel):
    """What the checks found; empty failures means the member is vetted."""

    failures: list[VettingFailure] = Field(default_factory=list)


class RecordRenewal(BaseModel):
    """A vetting officer's `clear` with `valid_until`: the member's renewed document."""

    member_id: int
    check: VettingCheck
    valid_until: date
    level: str | None = None  # a clearance's renewed or upgraded level


class ExtensionCheck(BaseModel):
    """Whether the member may stay on to `new_end_date`: the checks that depend on the dates."""

    deployment_id: str
    member_id: int
    post_code: str
    start_date: date
    new_end_date: date


class ExtensionCheckResult(BaseModel):
    """Why the member may not stay that long; empty when they may."""

    problems: list[str] = Field(default_factory=list)


# --- Training ---------------------------------------------------------------------------------


class TrainingPlanRequest(BaseModel):
    """Which courses a member still needs for this deployment (from `start_date` to `end_date`);
    with `deployment_id`, FACT counts the member's other deployments in the year too."""

    member_id: int
    post_code: str
    end_date: date
    duration_days: int
    deployment_id: str | None = None
    start_date: date | None = None
    # The stage change recorded before the work (the move into the stage it starts, or a status).
    stage_change: StageChange | None = None


class TrainingPlan(BaseModel):
    """Course codes to take, in the order they should be taken."""

    courses: list[str] = Field(default_factory=list)


class CourseSeat(BaseModel):
    """A seat in one session of a course."""

    session_id: int
    course_code: str
    course_title: str
    starts_on: date
    ends_on: date
    location: str = ""


class EnrolRequest(BaseModel):
    """Take a seat in the earliest session starting on or after `earliest_start` that ends
    before `must_end_before` (None: no such limit). `attempt` 1 is the first try, 2 the retake."""

    deployment_id: str
    course_code: str
    attempt: int = 1
    earliest_start: date
    must_end_before: date | None = None
    # An Active call-up's post briefing: a remote session of its own on this day.
    remote_on: date | None = None


class EnrolResult(BaseModel):
    """The seat taken, or None with the earliest session that has a free seat at all."""

    seat: CourseSeat | None = None
    earliest_available: CourseSeat | None = None


class ReleaseSeats(BaseModel):
    """Give back every seat the deployment holds in sessions not yet finished (compensation)."""

    deployment_id: str


class EnrolmentStatus(BaseModel):
    """Training's recorded result of an enrolment: `passed` or `failed`."""

    deployment_id: str
    course_code: str
    attempt: int = 1
    status: str


class RecordCertificate(BaseModel):
    """A passed course: add the certificate, expiring by the course's validity."""

    member_id: int
    course_code: str
    passed_on: date


class TrainingResult(BaseModel):
    """A course's result recorded at once: the enrolment, the certificate if passed, the status."""

    enrolment: EnrolmentStatus
    certificate: RecordCertificate | None = None
    stage_change: StageChange | None = None


# --- Equipping --------------------------------------------------------------------------------


class KitRequest(BaseModel):
    """Reserve the kit a post needs for one member, all or nothing."""

    deployment_id: str
    post_code: str
    # The stage change recorded before the work (the move into the stage it starts, or a status).
    stage_change: StageChange | None = None


class KitLine(BaseModel):
    """A quantity of one SKU from one depot."""

    sku: str
    name: str
    depot: str
    quantity: int


class KitResult(BaseModel):
    """Reserved lines, or nothing reserved and the SKUs that are short."""

    reserved: bool
    lines: list[KitLine] = Field(default_factory=list)
    short: list[str] = Field(default_factory=list)


class ReturnKit(BaseModel):
    """Put the deployment's reserved or issued kit back in stock, except SKUs recorded missing."""

    deployment_id: str
    missing_skus: list[str] = Field(default_factory=list)


# --- Travel -----------------------------------------------------------------------------------


class CountryClearanceRecord(BaseModel):
    """The state of the deployment's country clearance request (requested/approved/cancelled)."""

    deployment_id: str
    post_code: str
    status: str
    urgent: bool = False
    arrival_date: date
    # The stage change recorded before the work (the move into the stage it starts, or a status).
    stage_change: StageChange | None = None


class TravelOrdersRequest(BaseModel):
    """Produce the travel orders document for the deployment."""

    deployment_id: str
    issued_at: datetime
    # The approved country clearance, recorded with the orders it allows (one round trip).
    clearance: CountryClearanceRecord | None = None


class DocumentRef(BaseModel):
    """A document the deployment page links to."""

    id: int
    kind: str
    title: str


class BookingRequest(BaseModel):
    """A journey to book through the travel provider."""

    deployment_id: str
    direction: str  # "outbound" or "return"
    travel_date: date
    origin: str
    destination: str
    # The stage change recorded before the work (the move into the stage it starts, or a status).
    stage_change: StageChange | None = None
    # The travel orders to issue before booking (one round trip, not two).
    orders: TravelOrdersRequest | None = None


class BookingRef(BaseModel):
    """A booking the provider confirmed."""

    id: int
    direction: str
    reference: str
    travel_date: date
    # The travel orders issued with it, when the request asked for them.
    orders: DocumentRef | None = None


class CancelTravel(BaseModel):
    """Cancel the deployment's bookings and country clearance (compensation)."""

    deployment_id: str


# ApplicationError type for a provider's refusal: retrying won't help, a travel officer must.
ERR_BOOKING_REFUSED = "BookingRefused"


# --- Deployed and close-out -------------------------------------------------------------------


class CheckInRecord(BaseModel):
    """A check-in by or for the deployed member."""

    key: str
    deployment_id: str
    member_id: int
    by_user: str
    status: str  # "ok" or "needs_help"
    location: str = ""
    note: str = ""
    arrival: bool = False
    at: datetime
    # The check-in's audit event, appended with the check-in (one round trip, not two).
    event: EventAppend | None = None
    # The arrival's move into DEPLOYED, written after its event (the run follows it).
    arrived: StageChange | None = None


class CloseOutRequest(BaseModel):
    """Record actual deployment-days and cost when the deployment completes."""

    deployment_id: str
    member_id: int
    post_code: str
    arrived_on: date
    left_on: date
    # The home agency's notice of the release, sent with the close-out (one round trip).
    notice: NotifyRole | None = None
    # The move into COMPLETED, written after the figures, which its texts then tell (completed).
    completion: StageChange | None = None


class CloseOutResult(BaseModel):
    """Actual days in country and their cost."""

    days: int
    cost_usd: Decimal


def completed(result: CloseOutResult, change: StageChange) -> StageChange:
    """The move into COMPLETED with its event, status and data telling the close-out's figures."""
    assert change.event is not None
    cost = f"${result.cost_usd:,.2f}"
    message = f"Completed: {result.days} deployment-days, actual cost {cost}"
    status = f"Completed: {result.days} day{'s' if result.days != 1 else ''} in country, {cost}"
    data = {"days": result.days, "cost_usd": str(result.cost_usd)}
    event = change.event.model_copy(update={"message": message, "data": data})
    return change.model_copy(update={"status": status, "event": event})
