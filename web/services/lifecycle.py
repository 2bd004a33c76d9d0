"""Cancel, check-ins and extensions: what people do to a deployment once it is under way."""

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.service import RPCError, RPCStatusCode

from crc import names
from crc.progress import Action
from crc.tables import Deployment, User
from crc.types import CancelRequest, CheckIn, CheckInResult, DeploymentStatus, ExtensionRequest
from web.services.access import check_action_of
from web.services.visibility import visible_deployment
from web.services.workflow_client import execute_update, rpc_refusal, update_refusal


async def cancel_deployment(
    *,
    session: AsyncSession,
    client: Client,
    user: User,
    deployment_id: str,
    reason: str,
    update_id: str | None = None,
) -> Deployment:
    """Cancel (undo, CANCELLED) before DEPLOYED, or order an early return once deployed."""
    row = await visible_deployment(session, user, deployment_id)
    check_action_of(Action.CANCEL, user, row)
    workflow_id = row.workflow_id
    await session.commit()  # hold no connection while the workflow undoes what was done
    handle = client.get_workflow_handle(workflow_id)
    request = CancelRequest(
        user=user.username, user_name=user.full_name, roles=list(user.roles), reason=reason
    )
    try:
        update = await handle.start_update(
            names.UPDATE_CANCEL,
            request,
            id=update_id,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=DeploymentStatus,
        )
        await update.result()
    except WorkflowUpdateFailedError as err:
        raise update_refusal(err) from err
    except RPCError as err:
        # An accepted cancel whose workflow then closed has done its work; some servers lose
        # the update's answer when the workflow completes in the same task.
        if err.status != RPCStatusCode.NOT_FOUND or not await _completed(client, workflow_id):
            raise rpc_refusal(err) from err
    return await visible_deployment(session, user, deployment_id)


async def _completed(client: Client, workflow_id: str) -> bool:
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError:  # no workflow at all (a row whose start failed): the cancel's refusal says so
        return False
    return description.status == WorkflowExecutionStatus.COMPLETED


async def check_in(
    *,
    session: AsyncSession,
    client: Client,
    user: User,
    deployment_id: str,
    status: str,
    location: str,
    note: str,
    update_id: str | None = None,
) -> CheckInResult:
    """Record a check-in by the deployed member or Operations; the first is the arrival."""
    row = await visible_deployment(session, user, deployment_id)
    check_action_of(Action.CHECK_IN, user, row)
    workflow_id = row.workflow_id
    await session.commit()
    result: CheckInResult = await execute_update(
        client,
        workflow_id=workflow_id,
        update=names.UPDATE_CHECK_IN,
        arg=CheckIn(
            user=user.username,
            roles=list(user.roles),
            member_id=user.member_id,
            user_name=user.full_name,
            status=status,
            location=location,
            note=note,
        ),
        result_type=CheckInResult,
        update_id=update_id,
    )
    return result


async def request_extension(
    *,
    session: AsyncSession,
    client: Client,
    user: User,
    deployment_id: str,
    days: int,
    justification: str,
    update_id: str | None = None,
) -> Deployment:
    """Ask Planning and Resource Management to approve a longer stay."""
    row = await visible_deployment(session, user, deployment_id)
    check_action_of(Action.REQUEST_EXTENSION, user, row)
    workflow_id = row.workflow_id
    await session.commit()
    await execute_update(
        client,
        workflow_id=workflow_id,
        update=names.UPDATE_EXTEND,
        arg=ExtensionRequest(
            user=user.username,
            roles=list(user.roles),
            member_id=user.member_id,
            user_name=user.full_name,
            days=days,
            justification=justification,
        ),
        result_type=DeploymentStatus,
        update_id=update_id,
    )
    return await visible_deployment(session, user, deployment_id)
