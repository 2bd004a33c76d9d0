"""PostDepartureWorkflow: one durable workflow per authorized or ordered departure of a post. It
signals every open deployment there and keeps the roll-call until each member is accounted for
and out; then the departure is over and the held deployments go on."""

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.departures import DepartureActivities
    from crc import names
    from crc.departures import (
        BROUGHT_OUT,
        DEPARTURE_WORKFLOW_NAME,
        QUERY_DEPARTURE,
        SIGNAL_POST_DEPARTURE,
        SIGNAL_ROLL_CALL,
        DepartureEntry,
        DepartureInput,
        DepartureOrder,
        DepartureOutcome,
        DepartureStatus,
        DepartureStatusChange,
        DepartureView,
        ListedMembers,
        ListMembers,
        Report,
        RollCallMember,
        RollCallReport,
        RollCallWrite,
        Standing,
        kind_words,
    )

from workflows.options import run_activity

# How the roll-call words each member's standing when the deployment tells it.
STANDING_WORDS = {
    Standing.HELD: "held before travel",
    Standing.TRAVELLING: "travelling to the post: to be brought out on arrival",
    Standing.AT_POST: "at the post: to be accounted for and brought out",
    Standing.DEPARTED: "already leaving the post",
    Standing.IN_TRANSIT: "return travel booked",
    Standing.ENDED: "the deployment has ended",
}


@workflow.defn(name=DEPARTURE_WORKFLOW_NAME)
class PostDepartureWorkflow:
    """UNDER_WAY until every member the order reached is accounted for and out, then COMPLETED."""

    @workflow.init
    def __init__(self, departure: DepartureInput) -> None:
        self.departure = departure
        self.status = DepartureStatus.UNDER_WAY
        self.members: dict[str, RollCallMember] = {}
        # The deployments' reports, in the order they came; the run writes each in turn.
        self.reports: list[RollCallReport] = []
        self.audits = 0

    @workflow.run
    async def run(self, departure: DepartureInput) -> DepartureOutcome:
        """List the post's deployments, tell each, and keep the roll-call until all are out."""
        words = kind_words(departure.kind, departure.post_code)
        who = departure.ordered_by_name or departure.ordered_by
        listed: ListedMembers = await run_activity(
            DepartureActivities.list_members,
            ListMembers(
                departure_id=departure.departure_id,
                post_code=departure.post_code,
                entry=self._entry(
                    "ordered",
                    f"{words[0].upper()}{words[1:]} by {who}: {departure.reason}",
                    departure.ordered_by,
                    {"kind": departure.kind, "reason": departure.reason},
                ),
            ),
        )
        self.members = {m.deployment_id: m for m in listed.members}
        order = DepartureOrder(
            departure_id=departure.departure_id,
            workflow_id=workflow.info().workflow_id,
            post_code=departure.post_code,
            kind=departure.kind,
            reason=departure.reason,
            ordered_by=departure.ordered_by,
            ordered_by_name=departure.ordered_by_name,
        )
        told = await asyncio.gather(*(self._tell(m.deployment_id, order) for m in listed.members))
        for member, heard in zip(listed.members, told, strict=True):
            if not heard:  # it ended before the order reached it
                self.reports.append(
                    RollCallReport(deployment_id=member.deployment_id, report=Report.ENDED, at=workflow.now())
                )
        while True:
            await workflow.wait_condition(lambda: bool(self.reports) or self._everyone_out())
            while self.reports:
                await self._apply(self.reports.pop(0))
            if self._everyone_out():
                break
        out = sum(1 for m in self.members.values() if m.to_bring_out)
        await run_activity(
            DepartureActivities.record_status,
            DepartureStatusChange(
                departure_id=departure.departure_id,
                status=DepartureStatus.COMPLETED,
                ended_at=workflow.now(),
                entry=self._entry(
                    "completed",
                    f"Every member accounted for and out ({out} brought out); the {words} is complete",
                    "system",
                    {"brought_out": out},
                ),
            ),
        )
        self.status = DepartureStatus.COMPLETED
        # Over: the held deployments go on (the others no longer report).
        lifted = order.model_copy(update={"lifted": True})
        await asyncio.gather(
            *(self._tell(m.deployment_id, lifted) for m in self.members.values() if m.ended_at is None)
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return DepartureOutcome(
            departure_id=departure.departure_id, status=self.status, members=len(self.members)
        )

    def _everyone_out(self) -> bool:
        return all(m.settled for m in self.members.values())

    async def _tell(self, deployment_id: str, order: DepartureOrder) -> bool:
        """Signal a deployment; False if it has ended (its workflow takes no more signals)."""
        handle = workflow.get_external_workflow_handle(names.deployment_workflow_id(deployment_id))
        try:
            await handle.signal(SIGNAL_POST_DEPARTURE, order)
        except FailureError:
            return False
        return True

    async def _apply(self, report: RollCallReport) -> None:
        """Write one deployment's report into its roll-call row, audited."""
        member = self.members.get(report.deployment_id)
        if member is None:
            return
        name = member.member_name
        if report.report == Report.STANDING and report.standing is not None:
            member.heard = True
            member.to_bring_out = report.standing in BROUGHT_OUT
            if not (member.departed_at or member.return_booked_at or member.ended_at):
                member.standing = report.standing  # not after later news overtook it
            message = f"{name}: {STANDING_WORDS[report.standing]}"
        elif report.report == Report.ACCOUNTED_FOR:
            member.accounted_at, member.accounted_by = report.at, report.by
            message = f"{name} accounted for (by {report.by})"
        elif report.report == Report.DEPARTED:
            member.departed_at, member.standing = report.at, Standing.DEPARTED
            message = f"{name} left the post: early return under way"
        elif report.report == Report.RETURN_BOOKED:
            member.return_booked_at, member.standing = report.at, Standing.IN_TRANSIT
            message = f"{name}: return travel booked"
        else:  # ENDED
            member.heard = True
            member.ended_at, member.standing = report.at, Standing.ENDED
            message = f"{name}: {STANDING_WORDS[Standing.ENDED]}"
        data = {"deployment_id": member.deployment_id, "report": report.report.value}
        await run_activity(
            DepartureActivities.write_roll_call,
            RollCallWrite(
                departure_id=self.departure.departure_id,
                member=member,
                entry=self._entry(f"roll_call.{report.report.value}", message, report.by, data),
            ),
        )

    def _entry(
        self, kind: str, message: str, actor: str, data: dict[str, Any] | None = None
    ) -> DepartureEntry:
        self.audits += 1
        return DepartureEntry(
            key=f"departure/{self.departure.departure_id}/{self.audits}",
            kind=kind,
            actor=actor,
            message=message,
            data=data,
            at=workflow.now(),
        )

    @workflow.signal(name=SIGNAL_ROLL_CALL)
    def roll_call(self, report: RollCallReport) -> None:
        """A deployment's word on where its member stands; the run writes it."""
        self.reports.append(report)

    @workflow.query(name=QUERY_DEPARTURE)
    def departure_query(self) -> DepartureView:
        """The status and the roll-call as the workflow knows them."""
        return DepartureView(
            departure_id=self.departure.departure_id,
            status=self.status,
            members=list(self.members.values()),
        )
