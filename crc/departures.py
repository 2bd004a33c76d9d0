"""Post departures: the Operations director orders (or authorizes) a post's departure, and every
member there is accounted for and brought out.

The names, the request body, and the messages of PostDepartureWorkflow, its activities and the
deployments it signals; every side imports these and they import none of them.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel

from crc.fields import OneOf, Text
from crc.stages import Stage

DEPARTURE_WORKFLOW_NAME = "PostDepartureWorkflow"
# To a deployment: a departure of its post is ordered (or, `lifted`, is over).
SIGNAL_POST_DEPARTURE = "post_departure"
# To the departure: where one of its members now stands.
SIGNAL_ROLL_CALL = "roll_call"
QUERY_DEPARTURE = "departure"

REASON_MAX = 2000


def departure_workflow_id(post_code: str, number: int) -> str:
    """The workflow id of a post's `number`th departure (one at a time per post)."""
    return f"post-departure-{post_code}-{number}"


class DepartureKind(StrEnum):
    """Ordered: everyone leaves. Authorized: the same roll-call, at the post's request."""

    ORDERED = "ordered"
    AUTHORIZED = "authorized"


class DepartureStatus(StrEnum):
    """Under way until every member is accounted for and out."""

    UNDER_WAY = "UNDER_WAY"
    COMPLETED = "COMPLETED"


class Standing(StrEnum):
    """Where a member of the roll-call stands."""

    HELD = "held"  # not yet travelling: the deployment waits before TRAVEL
    TRAVELLING = "travelling"  # in TRAVEL: keeps going, and is brought out on arrival
    AT_POST = "at_post"  # deployed: to be accounted for, and brought out
    DEPARTED = "departed"  # left the post: the stay ended, redeployment reached
    IN_TRANSIT = "in_transit"  # return travel booked
    ENDED = "ended"  # the deployment ended (cancelled, or completed)


# The members a departure brings out: at the post, or on their way there.
BROUGHT_OUT = frozenset({Standing.AT_POST, Standing.TRAVELLING})


class Report(StrEnum):
    """What a deployment tells its post's departure."""

    STANDING = "standing"  # on hearing of the order: where it stands
    ACCOUNTED_FOR = "accounted_for"
    DEPARTED = "departed"
    RETURN_BOOKED = "return_booked"
    ENDED = "ended"


def standing_at(stage: Stage) -> Standing:
    """Where a deployment at `stage` stands when its post's departure is ordered."""
    if stage in (Stage.REQUESTED, Stage.APPROVAL, Stage.VETTING, Stage.TRAINING, Stage.EQUIPPING):
        return Standing.HELD
    if stage == Stage.TRAVEL:
        return Standing.TRAVELLING
    if stage == Stage.DEPLOYED:
        return Standing.AT_POST
    if stage == Stage.REDEPLOYMENT:
        return Standing.DEPARTED
    return Standing.ENDED


def kind_words(kind: str, post_code: str) -> str:
    """How the departure reads in statuses: "ordered departure of JUB"."""
    return f"{kind} departure of {post_code}"


Reason = Annotated[str, Text(REASON_MAX)]
KindChoice = Annotated[str, OneOf((DepartureKind.ORDERED.value, DepartureKind.AUTHORIZED.value))]


class DepartureCreate(BaseModel):
    """The Operations director's order."""

    kind: KindChoice
    reason: Reason


class DepartureInput(BaseModel):
    """The input of PostDepartureWorkflow: the departure as ordered."""

    departure_id: str
    post_code: str
    kind: str
    reason: str
    ordered_by: str
    ordered_by_name: str = ""


class DepartureOrder(BaseModel):
    """The signal to a deployment at the post: hold, or account for the member and bring them out;
    `lifted`: the departure is over (a held deployment goes on)."""

    departure_id: str
    workflow_id: str  # the departure's, for the deployment's reports
    post_code: str
    kind: str
    reason: str
    ordered_by: str
    ordered_by_name: str = ""
    lifted: bool = False

    @property
    def words(self) -> str:
        return kind_words(self.kind, self.post_code)


class DepartureState(BaseModel):
    """What a deployment knows of its post's departure: the order, the member's accountability
    task, and what it has told the departure so far."""

    order: DepartureOrder
    standing: Standing | None = None  # as first told to the departure
    task_id: str | None = None
    departed: bool = False
    return_booked: bool = False

    @property
    def active(self) -> bool:
        return not self.order.lifted


class RollCallReport(BaseModel):
    """A deployment's word to the departure: where it stands now, who acted, and when."""

    deployment_id: str
    report: Report
    standing: Standing | None = None  # with STANDING
    by: str = "system"
    at: datetime


class RollCallMember(BaseModel):
    """One member of the roll-call as the departure workflow holds it."""

    deployment_id: str
    member_id: int
    member_name: str
    stage: str  # the deployment's stage when the departure was ordered
    standing: Standing
    heard: bool = False  # the deployment has told where it stands (its STANDING report)
    accounted_at: datetime | None = None
    accounted_by: str | None = None
    departed_at: datetime | None = None
    return_booked_at: datetime | None = None
    ended_at: datetime | None = None

    # At the post or on the way there when it heard of the order: to be accounted for and out.
    to_bring_out: bool = False

    @property
    def settled(self) -> bool:
        """Heard from, and accounted for and out where it must be (or ended)."""
        if not self.heard:
            return False
        if self.ended_at is not None or not self.to_bring_out:
            return True
        return self.accounted_at is not None and self.return_booked_at is not None


class DepartureView(BaseModel):
    """The departure as its workflow knows it (the query's answer)."""

    departure_id: str
    status: DepartureStatus
    members: list[RollCallMember]


class DepartureOutcome(BaseModel):
    """How a departure ended."""

    departure_id: str
    status: DepartureStatus
    members: int


# --- Activity messages ---------------------------------------------------------------------------


class DepartureEntry(BaseModel):
    """One entry of a departure's audit log; `key` makes a retried write a no-op."""

    key: str
    kind: str
    actor: str
    message: str
    data: dict[str, Any] | None = None
    at: datetime


class ListMembers(BaseModel):
    """List the open deployments at the post and write the roll-call's first rows."""

    departure_id: str
    post_code: str
    entry: DepartureEntry


class ListedMembers(BaseModel):
    """The roll-call as first written."""

    members: list[RollCallMember]


class RollCallWrite(BaseModel):
    """Write one member's row as it now stands, with the audit entry that says what changed."""

    departure_id: str
    member: RollCallMember
    entry: DepartureEntry


class DepartureStatusChange(BaseModel):
    """Write the departure's status (and end), with its audit entry."""

    departure_id: str
    status: DepartureStatus
    entry: DepartureEntry
    ended_at: datetime | None = None
