"""The state DeploymentWorkflow owns: one typed model, a sub-model per stage that owns its fields.

Continue-as-new hands the whole state to the next run (compacted), so a field added here is
carried without anyone remembering to copy it.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, Field

from crc.departures import DepartureState
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.types import (
    Amendment,
    CancelRequest,
    CarriedState,
    Decision,
    DeploymentRequest,
    TaskView,
    TimelineEntry,
)

# The workflow keeps this many recent timeline entries; the audit log in the database has all.
TIMELINE_KEEP = 200


def end_date_of(start: date, duration_days: int) -> date:
    """The last day of a stay that starts on `start`."""
    return start + timedelta(days=duration_days - 1)


class ApprovalState(BaseModel):
    """Rounds of approval: decisions queued by the update handler, applied by the run."""

    round: int = 0
    round_open: bool = False
    decisions: list[Decision] = Field(default_factory=list)
    applied: int = 0
    amendment: Amendment | None = None
    amendments_applied: int = 0


class Hold(BaseModel):
    """A decision the workflow holds before acting on it, until `until` unless withdrawn."""

    user: str
    outcome: str
    until: datetime
    withdrawn: bool = False


class EquippingState(BaseModel):
    """The kit reserved for the member (what must come back)."""

    kit_skus: list[str] = Field(default_factory=list)


class TravelState(BaseModel):
    """Booked and waiting for the member's arrival check-in, which opens on `arrival_opens_on`."""

    awaiting_arrival: bool = False
    arrival_opens_on: date | None = None
    no_show_raised: bool = False


class StayState(BaseModel):
    """Time in country: arrival, check-ins, alerts and extensions."""

    arrived_on: date | None = None
    # The actual last day in country (the end date, or earlier on an early return).
    left_on: date | None = None
    last_check_in_at: datetime | None = None
    alert_seq: int = 0
    alerted_at: datetime | None = None
    # When the open missed check-in alert was raised (escalated to the Operations director if
    # still open a day later).
    alert_opened_at: datetime | None = None
    extension_seq: int = 0
    extension_days: int = 0


class DeploymentState(BaseModel):
    """Where one deployment stands, as its workflow knows it."""

    stage: Stage = Stage.REQUESTED
    status: str = "Submitted"
    waiting_for: WaitingFor = WaitingFor.WORKFLOW
    revision: int = 1
    cost: Decimal | None = None
    end_date: date
    tasks: dict[str, TaskView] = Field(default_factory=dict)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    event_seq: int = 0
    # Answers to tasks (other than approvals) by task id, and the ids the run has acted on.
    answers: dict[str, Decision] = Field(default_factory=dict)
    acted: set[str] = Field(default_factory=set)
    # Tasks whose inbox rows are being written: decisions on them wait until they exist.
    opening: set[str] = Field(default_factory=set)
    # Decisions held in their undo window, by task id (empty but for a few seconds at a time).
    holds: dict[str, Hold] = Field(default_factory=dict)
    cancel: CancelRequest | None = None
    # What to undo if cancelled, in the order it was done.
    compensations: list[str] = Field(default_factory=list)
    approval: ApprovalState = Field(default_factory=ApprovalState)
    equipping: EquippingState = Field(default_factory=EquippingState)
    travel: TravelState = Field(default_factory=TravelState)
    stay: StayState = Field(default_factory=StayState)
    # An authorized or ordered departure of the post (crc.departures), once one is signalled.
    departure: DepartureState | None = None

    @classmethod
    def new(cls, request: DeploymentRequest) -> "DeploymentState":
        """The state of a deployment just requested."""
        return cls(end_date=end_date_of(request.start_date, request.duration_days))

    @classmethod
    def from_carried(cls, carried: CarriedState) -> "DeploymentState":
        """The state a run started before this model handed over (field by field, once)."""
        return cls(
            stage=carried.stage,
            status=carried.status,
            waiting_for=WaitingFor.CHECK_INS if carried.stage == Stage.DEPLOYED else WaitingFor.WORKFLOW,
            revision=carried.revision,
            cost=carried.cost,
            end_date=carried.end_date,
            tasks={t.id: t for t in carried.tasks},
            timeline=list(carried.timeline),
            event_seq=carried.event_seq,
            compensations=list(carried.compensations),
            equipping=EquippingState(kit_skus=list(carried.kit_skus)),
            stay=StayState(
                arrived_on=carried.arrived_on,
                last_check_in_at=carried.last_check_in_at,
                alert_seq=carried.alert_seq,
                alerted_at=carried.alerted_at,
                extension_seq=carried.extension_seq,
            ),
        )

    def open_tasks(self) -> list[TaskView]:
        """Tasks still waiting for someone, oldest first."""
        return [t for t in self.tasks.values() if t.status == "open"]

    def compacted(self) -> "DeploymentState":
        """The state for the next run: closed tasks, their answers and old timeline dropped."""
        open_ids = {t.id for t in self.open_tasks()}
        return self.model_copy(
            update={
                "tasks": {i: t for i, t in self.tasks.items() if i in open_ids},
                "timeline": self.timeline[-TIMELINE_KEEP:],
                "answers": {i: d for i, d in self.answers.items() if i in open_ids},
                "acted": self.acted & open_ids,
            },
            deep=True,
        )


class DeploymentInput(DeploymentRequest):
    """The workflow's input: the request, and after continue-as-new the state to resume from."""

    resume: DeploymentState | None = None
