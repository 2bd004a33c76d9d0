"""The side effects of OperationWorkflow: its read-model and audit log, the rows of the deployments
it starts, and cancels sent to them through the deployment workflow's own cancel path."""

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.rows import insert_ignoring_duplicates, require
from crc import names
from crc.db import lock_for_write, session_factory
from crc.member_time import overlapping_deployment
from crc.operation_tables import Operation, OperationDeployment, OperationEvent, OperationPosition
from crc.operations import (
    AuditEntry,
    CancelChild,
    CancelSent,
    NewDeployment,
    NewDeployments,
    OperationStatusChange,
    PositionWrite,
    StartedDeployment,
    StartedDeployments,
)
from crc.permissions import Situation, closed_actions
from crc.progress import WaitingFor
from crc.settings import Settings
from crc.stages import Stage
from crc.starting import workflow_input
from crc.state import end_date_of
from crc.tables import Deployment, Member
from crc.types import CancelRequest

# Gone or finished: the deployment has nothing left to cancel.
_NOTHING_TO_CANCEL = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


async def _audit(session: AsyncSession, operation_id: str, entry: AuditEntry) -> None:
    row = {
        "key": entry.key,
        "operation_id": operation_id,
        "kind": entry.kind,
        "actor": entry.actor,
        "message": entry.message,
        "data": entry.data,
        "occurred_at": entry.at,
    }
    await insert_ignoring_duplicates(session, OperationEvent, [row], ["key"])


async def _refuse_if_busy(session: AsyncSession, new: NewDeployment, member: Member) -> None:
    """MemberBusy (not retried) when another deployment holds the member over the new one's dates."""
    clash = await overlapping_deployment(
        session,
        member_id=new.member_id,
        first=new.start_date,
        last=end_date_of(new.start_date, new.duration_days),
    )
    if clash is not None:
        raise ApplicationError(
            f"member {member.id} ({member.name}) is already in deployment {clash.id} "
            f"({clash.start_date} to {clash.end_date}, {clash.stage})",
            type=names.ERR_MEMBER_BUSY,
            non_retryable=True,
        )


async def _add_deployment(session: AsyncSession, new: NewDeployment, member: Member) -> Deployment:
    """Add the deployment's row and its link to the position."""
    row = Deployment(
        id=new.deployment_id,
        workflow_id=names.deployment_workflow_id(new.deployment_id),
        member_id=new.member_id,
        member_agency=member.agency,
        post_code=new.post_code,
        sector=new.sector,
        role_title=new.role_title,
        start_date=new.start_date,
        end_date=end_date_of(new.start_date, new.duration_days),
        duration_days=new.duration_days,
        justification=new.justification,
        stage=Stage.REQUESTED,
        status="Submitted",
        # Until its workflow writes: nothing but a cancel is open, as for a request.
        waiting_for=WaitingFor.WORKFLOW,
        closed_actions=closed_actions(Situation(Stage.REQUESTED, WaitingFor.WORKFLOW)),
        requested_by=new.requested_by,
    )
    session.add(row)
    await session.flush()
    session.add(
        OperationDeployment(
            deployment_id=new.deployment_id, operation_id=new.operation_id, position_id=new.position_id
        )
    )
    return row


class OperationActivities:
    """Writes of the operations read-model and messages to its deployments."""

    def __init__(self, engine: AsyncEngine, client: Client, settings: Settings) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._client = client
        self._settings = settings

    @activity.defn(name="operation_record_status")
    async def record_status(self, change: OperationStatusChange) -> None:
        """Write the operation's status and note, and its audit entry."""
        async with self._sessions.begin() as session:
            row = await require(session, Operation, change.operation_id)
            row.status = change.status.value
            row.note = change.note[:500]
            row.updated_at = change.entry.at
            await _audit(session, change.operation_id, change.entry)

    @activity.defn(name="operation_write_position")
    async def write_position(self, write: PositionWrite) -> None:
        """Write a position as it now stands (added, changed or cut), and its audit entry."""
        position = write.position
        fields = position.model_dump(exclude={"id"})
        async with self._sessions.begin() as session:
            row = await session.get(OperationPosition, position.id)
            if row is None:
                session.add(OperationPosition(id=position.id, operation_id=write.operation_id, **fields))
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
            await _audit(session, write.operation_id, write.entry)

    @activity.defn(name="operation_write_deployment")
    async def write_deployment(self, new: NewDeployment) -> StartedDeployment:
        """Write a filled position's deployment row (once) and answer its workflow's input.

        Fills of workflows before the patch crc-candidates-fill-under-lock: no member check here.
        """
        async with self._sessions.begin() as session:
            member = await require(session, Member, new.member_id)
            row = await session.get(Deployment, new.deployment_id)
            if row is None:  # not a retry of a write that landed
                row = await _add_deployment(session, new, member)
            await _audit(session, new.operation_id, new.entry)
        return StartedDeployment(request=workflow_input(row, member, self._settings))

    @activity.defn(name="operation_write_deployments")
    async def write_deployments(self, fill: NewDeployments) -> StartedDeployments:
        """Write a fill's deployment rows together, each member checked under their lock; a member
        in another deployment over the dates refuses the whole fill (MemberBusy)."""
        ids = sorted({new.member_id for new in fill.deployments})
        started: list[StartedDeployment] = []
        async with self._sessions() as session:
            # Fills and requests for these members queue here until the one before commits, so
            # the overlap check sees it (row locks in id order on PostgreSQL, the writer lock on
            # SQLite): two racing fills of one member make one deployment.
            locked = select(Member).where(col(Member.id).in_(ids)).order_by(col(Member.id))
            async with lock_for_write(session, locked):
                for new in fill.deployments:
                    member = await require(session, Member, new.member_id)
                    row = await session.get(Deployment, new.deployment_id)
                    if row is None:  # not a retry of a write that landed
                        await _refuse_if_busy(session, new, member)
                        row = await _add_deployment(session, new, member)
                    await _audit(session, new.operation_id, new.entry)
                    started.append(StartedDeployment(request=workflow_input(row, member, self._settings)))
                await session.commit()
        return StartedDeployments(started=started)

    @activity.defn(name="operation_cancel_deployment")
    async def cancel_deployment(self, cancel: CancelChild) -> CancelSent:
        """Send the deployment its cancel update; answers once the deployment has accepted it."""
        handle = self._client.get_workflow_handle(names.deployment_workflow_id(cancel.deployment_id))
        request = CancelRequest(user=cancel.user, roles=[], reason=cancel.reason, user_name=cancel.user_name)
        try:
            started = await handle.start_update(
                names.UPDATE_CANCEL,
                request,
                # A retried activity finds the first cancel instead of sending a second.
                id=f"operation-cancel-{cancel.deployment_id}",
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            )
            # A refused update comes back with its outcome already (see web.services.workflow_client).
            if getattr(started, "_known_outcome", None) is not None:
                await started.result()
        except WorkflowUpdateFailedError as err:
            # Already ending, cancelled or back home: nothing of it is left to undo.
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            return CancelSent(accepted=False, refusal=message)
        except RPCError as err:
            if err.status in _NOTHING_TO_CANCEL:
                return CancelSent(accepted=False, refusal=err.message)
            raise
        return CancelSent(accepted=True)
