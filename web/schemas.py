"""Request and response models of the HTTP API (the shapes CONTRACT.md promises)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crc.domain import MAX_DURATION_DAYS, MAX_UNDO_SECONDS
from crc.events import ON_BEHALF_OF
from crc.fields import IsoDate, OneOf, Text, WholeNumber
from crc.requests import JUSTIFICATION_MAX, Comment, DeploymentPublic
from crc.roles import SCOPE_ALL

T = TypeVar("T")
REASON_MAX = 2000
LOCATION_MAX = 200
NOTE_MAX = 2000
CHECK_IN_STATUSES = ("ok", "needs_help")


class Page(BaseModel, Generic[T]):
    """A list answer: the items of this page and how many match in all."""

    items: list[T]
    total: int


class RoleScope(BaseModel):
    """A role a user holds and what it covers."""

    role: str
    scope: list[str] | Literal["all"] = Field(
        default=SCOPE_ALL,
        description="post codes (chief_of_mission), agencies (home_agency) or offices (director); "
        '"all" for every other role, and for any role held without a scope',
        examples=[["JUB"], SCOPE_ALL],
    )


class Me(BaseModel):
    """The signed-in user; `scopes` says what each of `roles` covers."""

    username: str
    full_name: str = ""
    roles: list[str]
    member_id: int | None
    scopes: list[RoleScope] = Field(default_factory=list)


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type


class CertificatePublic(BaseModel):
    """A certificate a member holds."""

    model_config = ConfigDict(from_attributes=True)

    course_code: str
    issued_on: date
    expires_on: date | None


class WindowPublic(BaseModel):
    """Days a member is away (leave or other duties), both ends included."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    starts_on: date
    ends_on: date
    note: str


class MemberPublic(BaseModel):
    """A roster member and whether they are free over the asked dates (default: today)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    agency: str
    component: str
    sectors: list[str]
    languages: list[str]
    # ILR level (0-5) per language in `languages`; a language missing here has no recorded level.
    language_levels: dict[str, int]
    clearance_level: str
    clearance_granted: date | None
    clearance_expires: date | None
    medical_expires: date | None
    passport_expires: date | None
    retired_on: date | None
    certificates: list[CertificatePublic]
    windows: list[WindowPublic]
    available: bool


class PostPublic(BaseModel):
    """A receiving post and its rules."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    country: str
    city: str = ""
    threat_level: str
    clearance_required: str
    per_diem_usd: Decimal
    danger_pay_pct: Decimal
    post_differential_pct: Decimal
    visa_required: bool
    clearance_lead_days: int


class OnBehalfOf(BaseModel):
    """The member someone acted for (their kit receipt, check-in or after-action report)."""

    member_id: int
    name: str


class EventPublic(BaseModel):
    """One entry of a deployment's timeline."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    stage: str
    actor: str
    message: str
    comment: str | None
    data: dict[str, Any] | None = None  # e.g. the travel orders' document_id
    occurred_at: datetime
    # Set when the actor acted for the deployed member (Logistics, Operations); else null.
    on_behalf_of: OnBehalfOf | None = None

    @model_validator(mode="after")
    def _named_on_behalf(self) -> "EventPublic":
        """Lift the member acted for out of the event's data."""
        named = (self.data or {}).get(ON_BEHALF_OF)
        if self.on_behalf_of is None and isinstance(named, dict):
            self.on_behalf_of = OnBehalfOf.model_validate(named)
        return self


class TaskPublic(BaseModel):
    """A human step: who may complete it, with which outcomes, by when."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    deployment_id: str
    kind: str
    stage: str
    role: str
    title: str
    outcomes: list[str]
    status: str
    outcome: str | None
    comment: str | None
    escalated: bool
    opens_on: date | None = None  # no outcome may be recorded before this day
    due_at: datetime | None
    created_at: datetime
    completed_by: str | None
    completed_at: datetime | None
    # A decision the workflow holds in its undo window (POST .../undo withdraws it); else null.
    held_by: str | None = None
    held_outcome: str | None = None
    held_until: datetime | None = None


class DeploymentDetail(DeploymentPublic):
    """A deployment with its history and the tasks it waits for."""

    timeline: list[EventPublic]
    open_tasks: list[TaskPublic]


class TaskCompletion(BaseModel):
    """A decision on a task."""

    outcome: str
    comment: Comment = None
    data: dict[str, Any] | None = None
    # Hold the decision this long before it takes effect, so POST .../undo can withdraw it.
    undo_seconds: Annotated[int, WholeNumber(0, MAX_UNDO_SECONDS)] = 0


class CancelBody(BaseModel):
    """Why the deployment is cancelled (or the member brought home early)."""

    reason: Annotated[str, Text(REASON_MAX)]


class CheckInBody(BaseModel):
    """A check-in by or for the deployed member."""

    status: Annotated[str, OneOf(CHECK_IN_STATUSES)]
    location: Annotated[str, Text(LOCATION_MAX, required=False)] = ""
    note: Annotated[str, Text(NOTE_MAX, required=False)] = ""


class ExtensionBody(BaseModel):
    """How many more days, and why."""

    days: Annotated[int, WholeNumber(1, MAX_DURATION_DAYS)]
    justification: Annotated[str, Text(JUSTIFICATION_MAX)]


class Health(BaseModel):
    """Whether the database and Temporal answer."""

    status: str
    failed: list[str] = Field(default_factory=list)


class OutOfOfficeSet(BaseModel):
    """A period away (both days included) and the colleague who takes the user's tasks meanwhile."""

    delegate: Annotated[str, Text(64)] = Field(description="the username of a user holding the same roles")
    starts_on: IsoDate
    ends_on: IsoDate


class OutOfOfficePublic(BaseModel):
    """The user's period away: tasks offered to them are offered to `delegate` too."""

    model_config = ConfigDict(from_attributes=True)

    delegate: str
    starts_on: date
    ends_on: date
    roles: list[str] = Field(description="the roles whose tasks the delegate is offered")
    active: bool = Field(default=False, description="true while today is within the period")


class NotificationPublic(BaseModel):
    """One notification of the caller: what happened, where to look, and whether it was read."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str = Field(
        description="task, reminder, escalation, decision, stage_change, alert, expiry, cancellation"
    )
    subject: str
    link: str = Field(description="the page to open, a path of this site")
    deployment_id: str | None
    task_id: str | None
    urgent: bool = Field(description="sent by email at once whatever the user chose")
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    """A page of the caller's notifications, newest first, with the unread count."""

    items: list[NotificationPublic]
    total: int
    unread: int


class MarkedRead(BaseModel):
    """How many notifications a mark-all-read marked."""

    marked: int


class PreferencePublic(BaseModel):
    """How one kind of notification reaches the caller beyond the bell."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    label: str
    delivery: str = Field(description="immediate (email at once), digest (daily email) or in_app")
    default: str
    locked: bool = Field(description="always emailed at once (escalations; and urgent ones of any kind)")


class PreferenceList(BaseModel):
    """The caller's delivery for every kind of notification."""

    items: list[PreferencePublic]


class PreferencesSet(BaseModel):
    """New deliveries by kind; kinds left out keep theirs."""

    preferences: dict[str, str] = Field(
        examples=[{"stage_change": "digest", "reminder": "in_app"}],
        description="kind → immediate, digest or in_app",
    )
