"""Inputs, results and messages of DeploymentWorkflow and its activities (pydantic models).

Fields may be added with defaults later; never removed or renamed while workflows run.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from crc.costs import CostEstimate
from crc.progress import WaitingFor
from crc.requests import DeploymentAmend, DeploymentBase
from crc.roles import Role
from crc.stages import Stage
from crc.tasks import Outcome, TaskKind


class ApprovalPolicy(BaseModel):
    """Timers of an approval round, fixed when the workflow starts (from settings)."""

    due_seconds: float
    reminder_before_seconds: float
    # Undecided tasks expire the request at this multiple of the due time.
    expire_after_due_multiple: float = 2.0


class LifecyclePolicy(BaseModel):
    """Timers after approval, fixed when the workflow starts (from settings)."""

    check_in_every_seconds: float = 7 * 86400
    # A missed check-in is flagged this long after it was due.
    check_in_grace_seconds: float = 86400
    # Out-of-stock kit is retried after this long, doubling up to the maximum.
    restock_retry_seconds: float = 3600
    restock_retry_max_seconds: float = 86400
    # Continue-as-new once the history holds this many events (keeps year-long stays small).
    history_limit: int = 2000


class DeploymentRequest(DeploymentBase):
    """The input of DeploymentWorkflow: what was requested and by whom."""

    deployment_id: str
    member_id: int
    member_name: str
    member_component: str  # crc.domain.Component
    member_agency: str
    post_code: str
    requested_by: str
    # An Active member asked to start within 48 hours (crc.readiness.is_call_up, at request time).
    call_up: bool = False
    approval: ApprovalPolicy
    lifecycle: LifecyclePolicy = Field(default_factory=LifecyclePolicy)
    # Set only by continue-as-new of runs started before crc.state (see crc.state.DeploymentInput).
    carried: "CarriedState | None" = None


class Amendment(DeploymentAmend):
    """The requester's changes after an approver asked for them; None keeps a field."""

    user: str


class Decision(BaseModel):
    """Someone completing a task: the outcome they chose and who they are."""

    task_id: str
    outcome: str
    user: str
    roles: list[str]
    user_name: str = ""  # the user's full name, for the words of the timeline
    member_id: int | None = None  # the roster member the user is, for the member's own tasks
    comment: str | None = None
    data: dict[str, Any] | None = None
    # The scope of each scoped role the user holds (crc.roles.SCOPED_ROLES); a role not named
    # here covers all, as every role did before scopes existed.
    scopes: dict[str, list[str]] = Field(default_factory=dict)
    # Hold the decision this long (Temporal time) before acting, so its maker can withdraw it.
    undo_seconds: int = 0


class Withdrawal(BaseModel):
    """Someone undoing their own decision while the workflow still holds it."""

    task_id: str
    user: str
    roles: list[str]


class CancelRequest(BaseModel):
    """Cancel before DEPLOYED (undo and end CANCELLED), or curtail once deployed (early return)."""

    user: str
    roles: list[str]
    reason: str
    user_name: str = ""  # the user's full name, for the words of the timeline


class CheckIn(BaseModel):
    """A check-in by or for the deployed member; the first after booking is the arrival."""

    user: str
    roles: list[str]
    member_id: int | None = None
    user_name: str = ""  # the user's full name, for the words of the timeline
    status: str  # "ok" or "needs_help"
    location: str = ""
    note: str = ""


class CheckInResult(BaseModel):
    """What a check-in did."""

    arrival: bool
    stage: Stage
    next_due_at: datetime | None = None


class ExtensionRequest(BaseModel):
    """Ask to stay longer; Planning and Resource Management must both approve."""

    user: str
    roles: list[str]
    member_id: int | None = None
    days: int
    user_name: str = ""  # the user's full name, for the words of the timeline
    justification: str


class TaskView(BaseModel):
    """A task as the workflow knows it."""

    id: str
    kind: TaskKind
    stage: Stage
    role: Role
    title: str
    outcomes: list[Outcome]
    due_at: datetime | None = None
    status: str = "open"
    outcome: str | None = None
    completed_by: str | None = None
    escalated: bool = False
    # No outcome may be recorded before this day (a course's result, from its last day).
    opens_on: date | None = None
    # What the workflow needs to act on the answer (e.g. an extension's days); not shown.
    context: dict[str, Any] = Field(default_factory=dict)


class DecisionResult(BaseModel):
    """What an accepted decision did: the task closed, and where the deployment stood when the
    decision was recorded (the run moves on after; the read-model shows the next stage)."""

    task: TaskView
    stage: Stage
    status: str


class TimelineEntry(BaseModel):
    """One step of the deployment's history as the workflow saw it."""

    kind: str
    stage: Stage
    actor: str
    message: str
    at: datetime


class Progress(BaseModel):
    """Where a deployment stands, machine-readable: what it waits for, by when, and which actions
    are closed now and why (crc.permissions decides who may take the open ones)."""

    waiting_for: WaitingFor
    due_at: datetime | None = None
    closed_actions: dict[str, str] = Field(default_factory=dict)
    # The dates as they stand: approved end (with extensions), and the actual days in country.
    end_date: date | None = None
    extension_days: int = 0
    arrival_opens_on: date | None = None
    arrived_on: date | None = None
    left_on: date | None = None


# The status query and update answers carry only this many recent timeline entries: the whole
# timeline is in the database, and a large answer made polled queries time out.
STATUS_TIMELINE_TAIL = 20


class DeploymentStatus(BaseModel):
    """The answer to the status query (`timeline`: the last STATUS_TIMELINE_TAIL entries)."""

    deployment_id: str
    stage: Stage
    status: str
    waiting_for: WaitingFor = WaitingFor.WORKFLOW
    due_at: datetime | None = None
    closed_actions: dict[str, str] = Field(default_factory=dict)
    revision: int
    open_tasks: list[TaskView]
    timeline: list[TimelineEntry]
    cost_estimate_usd: Decimal | None = None
    start_date: date | None = None
    end_date: date | None = None
    arrived_on: date | None = None
    left_on: date | None = None
    extension_days: int = 0
    arrival_opens_on: date | None = None


class CarriedState(BaseModel):
    """What a run started before crc.state handed to the next one when it continued as new;
    kept so such runs replay and resume (crc.state.DeploymentState.from_carried)."""

    stage: Stage
    status: str
    revision: int
    cost: Decimal | None = None
    tasks: list[TaskView] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    event_seq: int
    compensations: list[str] = Field(default_factory=list)
    arrived_on: date | None = None
    end_date: date
    last_check_in_at: datetime | None = None
    alert_seq: int = 0
    alerted_at: datetime | None = None
    extension_seq: int = 0
    kit_skus: list[str] = Field(default_factory=list)


class DeploymentOutcome(BaseModel):
    """The result of a finished DeploymentWorkflow."""

    deployment_id: str
    stage: Stage
    reason: str = ""


# --- Activity messages ------------------------------------------------------------------------


class EventRecord(BaseModel):
    """An audit event to append; `key` is unique so retries write it once."""

    key: str
    kind: str
    stage: Stage
    actor: str
    message: str
    at: datetime
    comment: str | None = None
    data: dict[str, Any] | None = None


class StageChange(BaseModel):
    """Move the read-model to a stage (or change its status), with the event that says why."""

    deployment_id: str
    stage: Stage
    status: str
    event: EventRecord | None = None
    # Request fields after an amendment; None leaves the read-model's values.
    amendment: Amendment | None = None
    revision: int | None = None
    end_date: date | None = None
    progress: Progress | None = None
    cost_estimate_usd: Decimal | None = None
    # Events the run kept back to write with this change (an early return's, before its move).
    earlier_events: list[EventRecord] = Field(default_factory=list)


class EventAppend(BaseModel):
    """Append an event to the audit log (and say where the deployment now stands)."""

    deployment_id: str
    event: EventRecord
    progress: Progress | None = None


class OpenTasks(BaseModel):
    """Create tasks in the inbox (idempotently, by id)."""

    deployment_id: str
    tasks: list[TaskView]
    event: EventRecord
    progress: Progress | None = None
    # The stage or status change written in the same transaction (one round trip, not two).
    stage_change: StageChange | None = None


class CompleteTask(BaseModel):
    """Record a decision on a task."""

    deployment_id: str
    task_id: str
    outcome: str
    completed_by: str
    completed_at: datetime
    comment: str | None = None
    data: dict[str, Any] | None = None
    event: EventRecord
    progress: Progress | None = None
    # A budget approval: the estimate to obligate against the operation's fund with the decision.
    obligate_usd: Decimal | None = None


class HoldTask(BaseModel):
    """Show a decision as held on its task (it takes effect at `held_until` unless withdrawn)."""

    task_id: str
    held_by: str
    held_outcome: str
    held_until: datetime


class ReleaseTask(BaseModel):
    """Clear a task's held decision; with an event when its maker withdrew it."""

    deployment_id: str
    task_id: str
    event: EventRecord | None = None


class CloseTasks(BaseModel):
    """Withdraw open tasks that no longer matter (status `cancelled`)."""

    deployment_id: str
    task_ids: list[str]
    event: EventRecord
    progress: Progress | None = None


class NotifyRole(BaseModel):
    """Tell everyone in a role about a task (reminder or escalation)."""

    key: str
    deployment_id: str
    role: str
    kind: str
    message: str
    task_ids: list[str] = Field(default_factory=list)
    escalate_task_ids: list[str] = Field(default_factory=list)
    event: EventRecord


class CostRequest(BaseModel):
    """Estimate the cost of a stay and record it on the deployment (unless `store` is False: an
    extension's estimate is recorded only once it is approved)."""

    deployment_id: str
    member_id: int
    post_code: str
    duration_days: int
    store: bool = True
    # The move into APPROVAL, recorded before the estimate (one round trip, not two).
    stage_change: StageChange | None = None
    # Return the post's rules too (the run reads them once: with the estimate, not on their own).
    with_post: bool = False


class PostRules(BaseModel):
    """What the workflow needs to know of the receiving post."""

    code: str
    country: str
    city: str
    threat_level: str
    clearance_lead_days: int


class PricedStay(CostEstimate):
    """A cost estimate and, when asked for, the post's rules read with it."""

    post: PostRules | None = None


DeploymentRequest.model_rebuild()


def name_of(person: Decision | CancelRequest | ExtensionRequest) -> str:
    """Who acted, as the timeline words it: their full name, else their username."""
    return person.user_name or person.user
