"""How DeploymentCore writes the read-model: a stage change with the work that caused it."""

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from crc.events import SYSTEM_ACTOR
    from crc.progress import WaitingFor
    from crc.stages import Stage
    from crc.state import DeploymentInput, DeploymentState
    from crc.types import Amendment, EventAppend, EventRecord, Progress, StageChange
    from workflows.options import run_activity

from workflows.search import upsert_stage

A = TypeVar("A")
R = TypeVar("R")

# Runs started before a stage change rode on the work that caused it (and before a decision's
# update returned once recorded) took a round trip of their own for each.
PATCH_LEAN = "crc-lean-round-trips"
# Runs started before the post's rules came with the estimate, the travel orders with the outbound
# booking and the move into COMPLETED with the close-out took round trips of their own for each.
PATCH_FEWER = "crc-fewer-round-trips"


class ReadModelWrites:
    """Activities and the read-model writes that move the deployment (DeploymentCore's part)."""

    request: DeploymentInput
    state: DeploymentState
    # The move into a stage, written by the stage's first activity (it carries it); and events
    # kept back to write with the next move (an early return's).
    entering: StageChange | None
    kept_events: list[EventRecord]

    def progress(
        self, *, stage: Stage | None = None, waiting_for: WaitingFor | None = None, dated: bool = False
    ) -> Progress:
        raise NotImplementedError

    def event(
        self,
        kind: str,
        message: str,
        *,
        actor: str = SYSTEM_ACTOR,
        stage: Stage | None = None,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> EventRecord:
        raise NotImplementedError

    def settle(self) -> None:
        raise NotImplementedError

    async def act(self, activity: Callable[[Any, A], Awaitable[R]], arg: A) -> R:
        """Run an activity method with the shared timeout and retry policy.

        An activity that can carry a stage change (a `stage_change` field) takes the pending move
        into the stage with it; the workflow moves once it is done, as with record_stage."""
        entering = self.entering
        carries = isinstance(arg, BaseModel) and "stage_change" in type(arg).model_fields
        if entering is not None and carries and getattr(arg, "stage_change", None) is None:
            self.entering = None
            arg = arg.model_copy(update={"stage_change": entering})  # type: ignore[attr-defined]
            try:
                result = await run_activity(activity, arg)
            except ActivityError:  # the work failed (a refused booking): the move still shows
                await self._record(entering)
                self._moved(entering)
                self.settle()
                raise
            self._moved(entering)
            self.settle()
            return result
        result = await run_activity(activity, arg)
        carried = getattr(arg, "stage_change", None) if carries else None
        if carried is not None:
            self._moved(carried)
        return result

    def stage_change(
        self,
        stage: Stage,
        status: str,
        event: EventRecord | None,
        *,
        waiting_for: WaitingFor,
        amendment: Amendment | None = None,
        end_date: date | None = None,
        cost_estimate_usd: Decimal | None = None,
    ) -> StageChange:
        """The read-model's write of a move to a stage (or of a new status)."""
        s = self.state
        kept, self.kept_events = self.kept_events, []
        return StageChange(
            deployment_id=self.request.deployment_id,
            stage=stage,
            status=status,
            event=event,
            amendment=amendment,
            revision=s.revision if amendment else None,
            end_date=end_date,
            progress=self.progress(stage=stage, waiting_for=waiting_for),
            cost_estimate_usd=cost_estimate_usd,
            earlier_events=kept,
        )

    async def _record(self, change: StageChange) -> None:
        await run_activity(ReadModelActivities.record_stage, change)

    def follow(self, change: StageChange) -> None:
        """Follow a move an activity wrote (the workflow is now where it says)."""
        self._moved(change)

    def moved_as(self, change: StageChange) -> None:
        """Follow a move an activity wrote with texts of its result: its event (made before, in the
        timeline with the message then known) now tells what the activity wrote."""
        assert change.event is not None
        for entry in reversed(self.state.timeline):
            if (entry.kind, entry.at) == (change.event.kind, change.event.at):
                entry.message = change.event.message
                break
        self._moved(change)

    def _moved(self, change: StageChange) -> None:
        """The workflow follows the read-model: it is now where the change says."""
        s = self.state
        moved = change.stage != s.stage
        assert change.progress is not None
        s.stage, s.status, s.waiting_for = change.stage, change.status, change.progress.waiting_for
        if moved:
            upsert_stage(change.stage)

    async def show_stage(self) -> None:
        """Write the pending move into a stage now (nothing carried it before a wait)."""
        entering = self.entering
        if entering is None:
            return
        self.entering = None
        await self._record(entering)
        self._moved(entering)
        self.settle()

    async def record_stage(
        self,
        stage: Stage,
        status: str,
        event: EventRecord | None,
        *,
        waiting_for: WaitingFor,
        amendment: Amendment | None = None,
        end_date: date | None = None,
        cost_estimate_usd: Decimal | None = None,
    ) -> None:
        """Move to a stage (or just change the status) in the read-model, then in the workflow.

        In that order, so a handler waiting for a stage answers only once the pages show it."""
        await self.show_stage()
        change = self.stage_change(
            stage,
            status,
            event,
            waiting_for=waiting_for,
            amendment=amendment,
            end_date=end_date,
            cost_estimate_usd=cost_estimate_usd,
        )
        await self._record(change)
        self._moved(change)

    async def log(self, kind: str, message: str, **kwargs: Any) -> None:
        """Append an event to the audit log, touching nothing else (safe from update handlers)."""
        event = self.event(kind, message, **kwargs)
        await self.act(
            ReadModelActivities.append_event,
            EventAppend(deployment_id=self.request.deployment_id, event=event, progress=self.progress()),
        )

    async def set_status(self, status: str, waiting_for: WaitingFor) -> None:
        """Say in the read-model what the deployment now waits for (the run only); nothing to
        write if the last write of the run (an opening of tasks that said so) said it already."""
        s = self.state
        if (s.status, s.waiting_for) == (status, waiting_for) and self.lean():
            return
        await self.record_stage(s.stage, status, None, waiting_for=waiting_for)

    def lean(self) -> bool:
        """True for runs that write a stage change with the work that caused it."""
        return workflow.patched(PATCH_LEAN)

    def fewer_round_trips(self) -> bool:
        """True for runs that read the post with the estimate and issue orders with the booking."""
        return workflow.patched(PATCH_FEWER)
