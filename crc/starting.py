"""Starting a deployment's workflow from its row: what the web does on a request, and what the
reconciler does for a row whose start was lost (a web process that died in between)."""

from datetime import timedelta

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from crc import names
from crc.policy import approval_policy, lifecycle_policy
from crc.readiness import is_call_up
from crc.requests import DeploymentBase
from crc.search_attributes import initial_search_attributes
from crc.settings import Settings
from crc.tables import Deployment, Member
from crc.types import DeploymentRequest

RPC_TIMEOUT = timedelta(seconds=10)


def workflow_input(row: Deployment, member: Member, settings: Settings) -> DeploymentRequest:
    """The workflow's input for a deployment row and its member, with today's rules."""
    chosen = DeploymentBase.model_validate(row, from_attributes=True)
    # Judged against the day it was requested, so a restarted start gives the same input.
    call_up = is_call_up(member.component, row.start_date, row.created_at.date())
    return DeploymentRequest(
        **chosen.model_dump(),
        deployment_id=row.id,
        member_id=member.id or 0,
        member_name=member.name,
        member_component=member.component,
        member_agency=member.agency,
        post_code=row.post_code,
        requested_by=row.requested_by,
        call_up=call_up,
        approval=approval_policy(settings, member.component, call_up=call_up),
        lifecycle=lifecycle_policy(settings),
    )


async def start_deployment(client: Client, request: DeploymentRequest, *, task_queue: str) -> bool:
    """Start the deployment's workflow; False when it already runs (or ran): starting is idempotent."""
    try:
        await client.start_workflow(
            names.WORKFLOW_NAME,
            request,
            id=names.deployment_workflow_id(request.deployment_id),
            task_queue=task_queue,
            search_attributes=initial_search_attributes(request),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            rpc_timeout=RPC_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True
