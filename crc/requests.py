"""The deployment request family: the fields a requester chooses, declared and checked once.

DeploymentBase → DeploymentCreate (the API body and the request form), DeploymentAmend (changes
after "request changes"), DeploymentPublic (what the API answers); the workflow's input and its
Amendment (crc.types) derive from the same models. Rules that need the database or today's
date are checked by the web (web/services/validation.py).

The rules also run when a worker decodes a workflow's input: loosening one is always safe, but
tightening one can make the stored input of a running workflow fail to decode.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from crc.domain import MAX_DURATION_DAYS, MIN_DURATION_DAYS, SECTORS
from crc.fields import A_DATE, BLANK_IS_NONE, INT32_MAX, OneOf, Text, WholeNumber
from crc.permissions import GRANTS
from crc.progress import WaitingFor

ROLE_TITLE_MAX = 200
JUSTIFICATION_MAX = 4000
COMMENT_MAX = 2000
POST_CODE_MAX = 16  # crc.tables.Post.code
MEMBER_ID_MAX = INT32_MAX  # crc.tables.Member.id
# A start further ahead is a slip of the keyboard, not a plan, and keeps every date computed from
# it (end, extensions) clear of the calendar's end. web/services/validation.py checks it against
# today's date: this model also decodes stored workflow input, which has no today.
START_HORIZON_DAYS = 730

Sector = Annotated[str, OneOf(SECTORS)]
RoleTitle = Annotated[str, Text(ROLE_TITLE_MAX)]
StartDate = Annotated[date, A_DATE]
DurationDays = Annotated[int, WholeNumber(MIN_DURATION_DAYS, MAX_DURATION_DAYS)]
Justification = Annotated[str, Text(JUSTIFICATION_MAX)]
UrgentJustification = Annotated[Annotated[str, Text(JUSTIFICATION_MAX, required=False)] | None, BLANK_IS_NONE]
Comment = Annotated[Annotated[str, Text(COMMENT_MAX, required=False)] | None, BLANK_IS_NONE]
PostCode = Annotated[str, Text(POST_CODE_MAX)]
MemberId = Annotated[int, WholeNumber(1, MEMBER_ID_MAX, "must be a roster member's id")]


class DeploymentBase(BaseModel):
    """The fields a requester chooses and may later amend."""

    sector: Sector
    role_title: RoleTitle
    start_date: StartDate
    duration_days: DurationDays
    justification: Justification
    # Needed for a Standby member starting within 30 days (checked against today's date).
    urgent_justification: UrgentJustification = None


AMENDABLE_FIELDS: tuple[str, ...] = tuple(DeploymentBase.model_fields)


class DeploymentCreate(DeploymentBase):
    """A new deployment request."""

    member_id: MemberId
    post_code: PostCode


class DeploymentAmend(BaseModel):
    """The requester's changes after "request changes"; a field left out stays as it was.

    The same fields and rules as DeploymentBase, each optional (tests/test_request_models.py
    keeps the two in step), and a comment for the approvers.
    """

    sector: Sector | None = None
    role_title: RoleTitle | None = None
    start_date: StartDate | None = None
    duration_days: DurationDays | None = None
    justification: Justification | None = None
    urgent_justification: UrgentJustification = None
    comment: Comment = None

    def changes(self) -> dict[str, Any]:
        """The amended fields that were given, by name."""
        return self.model_dump(include=set(AMENDABLE_FIELDS), exclude_none=True)


class ActionPublic(BaseModel):
    """An action on a deployment: whether it is open now (else why not), and who may take it."""

    action: str
    open: bool
    reason: str | None
    roles: list[str]
    requester: bool
    member: bool


class DeploymentPublic(DeploymentBase):
    """A deployment as the read-model holds it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    workflow_id: str
    member_id: int
    post_code: str
    end_date: date
    stage: str
    status: str
    requested_by: str
    revision: int
    cost_estimate_usd: Decimal | None
    cost_actual_usd: Decimal | None = None  # recorded when the deployment completes
    waiting_for: str = WaitingFor.WORKFLOW.value  # crc.progress.WaitingFor
    due_at: datetime | None = None  # when what it waits for is due
    # The approved end_date includes extension_days; the actual stay is arrived_on to left_on.
    extension_days: int = 0
    arrival_opens_on: date | None = None  # the arrival check-in is accepted from this day
    arrived_on: date | None = None
    left_on: date | None = None
    closed_actions: dict[str, str] = Field(default_factory=dict, exclude=True)
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def actions(self) -> list[ActionPublic]:
        """Every action, open or not (else why not), and who may take it (crc.permissions)."""
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
