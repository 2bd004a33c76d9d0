"""Talking to DeploymentWorkflow through the Temporal client, by name (never by import)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from crc.permissions import Refusal
from crc.starting import start_deployment
from crc.types import DeploymentRequest
from web.services.access import REFUSAL_CODES, refusal_error
from web.services.errors import Conflict, ServiceError, Unavailable

logger = logging.getLogger(__name__)
_RPC_TIMEOUT = timedelta(seconds=10)
# Temporal's own words name its internals (limits, ids, hosts): they go to the log, never to a client.
ENGINE_REFUSED = "the workflow engine refused the request; it has been logged for the operators"
NOT_ANSWERING = "Temporal is not answering; try again shortly"
# Temporal down, slow ("Timeout expired" is CANCELLED) or overloaded: worth a retry.
_PASSING = (
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
)


def rpc_refusal(err: RPCError) -> ServiceError:
    """The HTTP refusal for a Temporal RPC error, in our words: Temporal's own stay in the log."""
    logger.warning("Temporal refused a call (%s): %s", err.status.name, err.message)
    if err.status == RPCStatusCode.NOT_FOUND:
        return Conflict("the deployment's workflow is no longer running")
    if err.status in _PASSING:
        return Unavailable(NOT_ANSWERING)
    if err.status == RPCStatusCode.INVALID_ARGUMENT and "search attribute" in err.message.lower():
        # The namespace lacks our search attributes: the operators' set-up to fix, not the caller's.
        return Unavailable(
            "Temporal does not know the deployment search attributes yet: a worker registers "
            "them when it starts, or an operator by hand (README, Search attributes)"
        )
    return ServiceError(ENGINE_REFUSED)


def update_refusal(err: WorkflowUpdateFailedError) -> ServiceError:
    """The HTTP refusal for an update the workflow's validator or handler rejected."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type in REFUSAL_CODES:
        return refusal_error(Refusal(cause.type, cause.message or str(cause)))
    raise err


async def start_deployment_workflow(client: Client, *, request: DeploymentRequest, task_queue: str) -> None:
    """Start the deployment's workflow, or do nothing if it already exists."""
    try:
        await start_deployment(client, request, task_queue=task_queue)
    except RPCError as err:
        raise rpc_refusal(err) from err


async def execute_update(
    client: Client,
    *,
    workflow_id: str,
    update: str,
    arg: Any,
    result_type: type,
    update_id: str | None = None,
) -> Any:
    """Send an update to the deployment's workflow; refusals become ServiceErrors.

    An update sent again with the same `update_id` gets the first one's outcome, not a second run.
    """
    handle = client.get_workflow_handle(workflow_id)
    with _update_refusals():
        return await handle.execute_update(update, arg, id=update_id, result_type=result_type)


async def start_update(
    client: Client, *, workflow_id: str, update: str, arg: Any, update_id: str | None = None
) -> None:
    """Send an update and return once the workflow has accepted it (its validator passed), without
    waiting for its result; refusals become ServiceErrors as with execute_update.

    Sent again with the same `update_id`, it finds the first one instead of starting another.
    """
    handle = client.get_workflow_handle(workflow_id)
    with _update_refusals():
        started = await handle.start_update(
            update, arg, id=update_id, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        # A refused update comes back with its outcome already (the SDK keeps it on the handle, and
        # has no public way to ask): result() raises the refusal without another call.
        if getattr(started, "_known_outcome", None) is not None:
            await started.result()


@contextmanager
def _update_refusals() -> Iterator[None]:
    """An update's refusal, timeout or RPC failure, as the ServiceError the routes answer."""
    try:
        yield
    except WorkflowUpdateFailedError as err:
        raise update_refusal(err) from err
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        raise Unavailable("the workflow did not answer in time; try again shortly") from err
    except RPCError as err:
        raise rpc_refusal(err) from err
