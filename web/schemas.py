"""Request and response models of the HTTP API (the shapes CONTRACT.md promises)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field

from crc.permissions import GRANTS
from crc.progress import WaitingFor

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A list answer: the items of this page and how many match in all."""

    items: list[T]
    total: int


class Me(BaseModel):
    """The signed-in user."""

    username: str
    full_name: str = ""
    roles: list[str]
    member_id: int | None


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type


class MemberPublic(BaseModel):
    """A roster member and whether they are free on the asked date."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    agency: str
    component: str
    sectors: list[str]
    languages: list[str]
    clearance_level: str
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


class DeploymentFields(BaseModel):
    """The fields a requester chooses and may later amend."""

    sector: str
    role_title: str
    start_date: date
    duration_days: int
    justification: str
    urgent_justification: str | None = None


class DeploymentCreate(DeploymentFields):
    """A new deployment request."""

    member_id: int
    post_code: str


class DeploymentAmend(BaseModel):
    """The requester's changes after "request changes"; a field left out stays as it was."""

    start_date: date | None = None
    duration_days: int | None = None
    sector: str | None = None
    role_title: str | None = None
    justification: str | None = None
    urgent_justification: str | None = None
    comment: str | None = None


class ActionPublic(BaseModel):
    """An action on a deployment: whether it is open now (else why not), and who may take it."""

    action: str
    open: bool
    reason: str | None
    roles: list[str]
    requester: bool
    member: bool


class DeploymentPublic(BaseModel):
    """A deployment as the read-model holds it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    workflow_id: str
    member_id: int
    post_code: str
    sector: str
    role_title: str
    start_date: date
    end_date: date
    duration_days: int
    justification: str
    urgent_justification: str | None
    stage: str
    status: str
    requested_by: str
    revision: int
    cost_estimate_usd: Decimal | None
    cost_actual_usd: Decimal | None = None  # recorded when the deployment completes
    waiting_for: str = WaitingFor.WORKFLOW.value  # crc.progress.WaitingFor
    due_at: datetime | None = None  # when what it waits for is due
    closed_actions: dict[str, str] = Field(default_factory=dict, exclude=True)
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def actions(self) -> list[ActionPublic]:
        """Every action, open or not, and who may take it (crc.permissions.GRANTS)."""
        return [
            ActionPublic(
                action=action.value,
                open=action.value not in self.closed_actions,
                reason=self.closed_actions.get(action.value),
                roles=sorted(grant.roles),
                requester=grant.requester,
                member=grant.member,
            )
            for action, grant in GRANTS.items()
        ]


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
    due_at: datetime | None
    created_at: datetime
    completed_by: str | None
    completed_at: datetime | None


class DeploymentDetail(DeploymentPublic):
    """A deployment with its history and the tasks it waits for."""

    timeline: list[EventPublic]
    open_tasks: list[TaskPublic]


class TaskCompletion(BaseModel):
    """A decision on a task."""

    outcome: str
    comment: str | None = None
    data: dict[str, Any] | None = None


class Health(BaseModel):
    """Whether the database and Temporal answer."""

    status: str
    failed: list[str] = Field(default_factory=list)
