"""Operations: a country operation with a staffing plan, whose filled positions are deployments.

The names, the request family (OperationCreate, PositionFields, PositionChange) and the messages
of OperationWorkflow and its activities; every side imports these and they import none of them.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from crc.domain import Component
from crc.fields import A_DATE, OneOf, Text, WholeNumber
from crc.requests import DurationDays, PostCode, RoleTitle, Sector, StartDate
from crc.types import DeploymentRequest

OPERATION_WORKFLOW_NAME = "OperationWorkflow"
UPDATE_APPROVE = "approve"
UPDATE_FILL = "fill"
UPDATE_SURGE = "surge"
UPDATE_ADD_POSITION = "add_position"
UPDATE_CHANGE_POSITION = "change_position"
UPDATE_CUT_POSITION = "cut_position"
UPDATE_CANCEL_OPERATION = "cancel"
QUERY_OPERATION = "operation"

NAME_MAX = 200
OBJECTIVE_MAX = 4000
REASON_MAX = 2000
LANGUAGE_MAX = 32
MAX_POST_CODES = 10
MAX_POSITIONS = 50
MAX_COUNT = 50  # people in one position
MAX_FILL = 50  # members in one fill
MAX_OPERATION_DAYS = 730  # start to end


def operation_workflow_id(operation_id: str) -> str:
    """The workflow id of an operation: one workflow per operation, ever."""
    return f"operation-{operation_id}"


def new_operation_id() -> str:
    """A fresh operation id."""
    return str(uuid.uuid4())


class OperationStatus(StrEnum):
    """Where an operation stands; CANCELLED may follow any status before CLOSED."""

    DRAFT = "DRAFT"  # waiting for the Planning director and Resource Management
    APPROVED = "APPROVED"  # approved, no position filled yet
    STAFFING = "STAFFING"  # deployments started, before the operation's start date
    ACTIVE = "ACTIVE"  # from the start date to the end date
    CLOSING = "CLOSING"  # past the end date (or cancelled): waiting for its deployments to end
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


OPEN_STATUSES = frozenset(
    {OperationStatus.DRAFT, OperationStatus.APPROVED, OperationStatus.STAFFING, OperationStatus.ACTIVE}
)
FILLABLE_STATUSES = frozenset({OperationStatus.APPROVED, OperationStatus.STAFFING, OperationStatus.ACTIVE})
ENDED_STATUSES = frozenset({OperationStatus.CLOSED, OperationStatus.CANCELLED})


class ApprovingOffice(StrEnum):
    """The two offices whose approval an operation needs."""

    PLANNING = "planning"  # the Planning director (a director scoped to the Planning office)
    RESOURCE_MANAGEMENT = "resource_management"


# A deployment that ended at one of these no longer fills its place in a position.
UNFILLED_STAGES = frozenset({"REJECTED", "EXPIRED", "CANCELLED"})

Name = Annotated[str, Text(NAME_MAX)]
Objective = Annotated[str, Text(OBJECTIVE_MAX)]
Reason = Annotated[str, Text(REASON_MAX)]
Language = Annotated[str, Text(LANGUAGE_MAX)]
ComponentChoice = Annotated[str, OneOf((Component.ACTIVE.value, Component.STANDBY.value, "any"))]
Count = Annotated[int, WholeNumber(1, MAX_COUNT)]
OperationDate = Annotated[date, A_DATE]
MemberIdItem = Annotated[int, WholeNumber(1, 2_147_483_647, "must be a roster member's id")]


class PositionFields(BaseModel):
    """One line of the staffing plan: who is needed, from when, for how long, how many."""

    sector: Sector
    role_title: RoleTitle
    languages: list[Language] = Field(default_factory=list, max_length=10)
    component: ComponentChoice = "any"
    start_date: StartDate
    duration_days: DurationDays
    count: Count
    # Which of the operation's posts; none: its first.
    post_code: PostCode | None = None


class PositionChange(BaseModel):
    """Changes to a position; a field left out stays as it was."""

    role_title: RoleTitle | None = None
    languages: list[Language] | None = Field(default=None, max_length=10)
    component: ComponentChoice | None = None
    start_date: StartDate | None = None
    duration_days: DurationDays | None = None
    count: Count | None = None

    def changes(self) -> dict[str, Any]:
        """The fields given, by name."""
        return self.model_dump(exclude_none=True)


class OperationCreate(BaseModel):
    """A new operation as Planning drafts it."""

    name: Name
    post_codes: list[PostCode] = Field(min_length=1, max_length=MAX_POST_CODES)
    objective: Objective
    start_date: OperationDate
    end_date: OperationDate
    positions: list[PositionFields] = Field(default_factory=list, max_length=MAX_POSITIONS)

    @model_validator(mode="after")
    def _dates_in_order(self) -> "OperationCreate":
        if self.end_date < self.start_date:
            raise ValueError("end_date must be on or after start_date")
        return self


class Position(PositionFields):
    """A position with its id and its post (the plan as the workflow holds it)."""

    id: str
    post_code: str
    cut: bool = False


class OperationInput(BaseModel):
    """The input of OperationWorkflow: the operation as created."""

    operation_id: str
    name: str
    post_codes: list[str]
    objective: str
    start_date: date
    end_date: date
    created_by: str
    positions: list[Position]


class Caller(BaseModel):
    """Who sends a message to the operation: their name, roles and scopes."""

    user: str
    roles: list[str]
    scopes: dict[str, list[str]] = Field(default_factory=dict)


class ApproveOperation(Caller):
    """An office's approval; `office` chooses when the caller may approve for both."""

    office: ApprovingOffice | None = None


class FillPosition(Caller):
    """Members for a position: each gets a deployment, started as a child workflow."""

    position_id: str
    member_ids: list[int]


class SurgePick(BaseModel):
    """The Active members a surge calls up for one position."""

    position_id: str
    member_ids: list[int]


class Surge(Caller):
    """Active members called up for the open positions, all to start on `start_date`."""

    start_date: date
    picks: list[SurgePick]


class AddPosition(Caller):
    """A new line of the plan."""

    position: PositionFields


class ChangePosition(Caller):
    """Changes to a line of the plan."""

    position_id: str
    changes: PositionChange


class CutPosition(Caller):
    """Remove a line of the plan; its running deployments are cancelled."""

    position_id: str
    reason: str


class CancelOperation(Caller):
    """Cancel the operation; its deployments are cancelled (or recalled once deployed)."""

    reason: str


class PositionView(Position):
    """A position with the deployments that fill it."""

    filled: int
    deployment_ids: list[str]


class OperationView(BaseModel):
    """The operation as its workflow knows it (the answer of updates and the query)."""

    operation_id: str
    status: OperationStatus
    approvals: dict[str, str]  # office -> who approved
    positions: list[PositionView]
    deployment_stages: dict[str, str]  # deployment id -> the stage it ended at (ended ones only)


class OperationOutcome(BaseModel):
    """How an operation ended."""

    operation_id: str
    status: OperationStatus
    reason: str = ""


# --- Activity messages ---------------------------------------------------------------------------


class AuditEntry(BaseModel):
    """One entry of an operation's audit log; `key` makes a retried write a no-op."""

    key: str
    kind: str
    actor: str
    message: str
    data: dict[str, Any] | None = None
    at: datetime


class OperationStatusChange(BaseModel):
    """Write the operation's status and note, with the audit entry that says why."""

    operation_id: str
    status: OperationStatus
    note: str
    entry: AuditEntry


class PositionWrite(BaseModel):
    """Write one position as it now stands (new, changed or cut), with its audit entry."""

    operation_id: str
    position: Position
    entry: AuditEntry


class NewDeployment(BaseModel):
    """The row of a deployment a fill starts, written before its workflow starts."""

    operation_id: str
    position_id: str
    deployment_id: str
    member_id: int
    post_code: str
    sector: str
    role_title: str
    start_date: date
    duration_days: int
    justification: str
    requested_by: str
    entry: AuditEntry


class StartedDeployment(BaseModel):
    """The workflow input of a deployment whose row is written."""

    request: DeploymentRequest


class NewDeployments(BaseModel):
    """A fill's deployment rows: written together under their members' locks, or none of them."""

    deployments: list[NewDeployment]


class StartedDeployments(BaseModel):
    """The workflow inputs of a fill's deployments, in the order asked for."""

    started: list[StartedDeployment]


class CancelChild(BaseModel):
    """Cancel one of the operation's deployments through its own cancel path."""

    deployment_id: str
    user: str  # the deployment's requester: the operation asked for it
    user_name: str
    reason: str


class CancelSent(BaseModel):
    """What became of a cancel sent to a deployment."""

    accepted: bool
    refusal: str = ""
