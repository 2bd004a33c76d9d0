"""Helpers to drive DeploymentWorkflow in tests: start it, wait for a state, decide tasks."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from crc.db import session_factory
from crc.names import QUERY_STATUS, UPDATE_AMEND, UPDATE_DECIDE, WORKFLOW_NAME, deployment_workflow_id
from crc.search_attributes import initial_search_attributes
from crc.tables import Event, Notification, Task
from crc.types import (
    Amendment,
    Decision,
    DecisionResult,
    DeploymentOutcome,
    DeploymentRequest,
    DeploymentStatus,
)

# How long a helper waits for the workflow to reach a state before the test fails.
WAIT_LIMIT_S = 20.0

T = TypeVar("T")


async def start(client: Client, task_queue: str, request: DeploymentRequest) -> WorkflowHandle:
    """Start the deployment's workflow under its derived id, with the web's search attributes."""
    return await client.start_workflow(
        WORKFLOW_NAME,
        request,
        id=deployment_workflow_id(request.deployment_id),
        task_queue=task_queue,
        result_type=DeploymentOutcome,
        search_attributes=initial_search_attributes(request),
    )


async def status(handle: WorkflowHandle) -> DeploymentStatus:
    """The workflow's answer to the status query."""
    return await handle.query(QUERY_STATUS, result_type=DeploymentStatus)


async def wait_until(
    handle: WorkflowHandle, condition: Callable[[DeploymentStatus], bool]
) -> DeploymentStatus:
    """Poll the status query until `condition` holds; fail the test if it never does."""
    deadline = asyncio.get_running_loop().time() + WAIT_LIMIT_S
    while True:
        current = await status(handle)
        if condition(current):
            return current
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"workflow never reached the expected state; last: {current}")
        await asyncio.sleep(0.05)


async def eventually(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    """Poll `read` until `ok` holds of its answer: a decision's update answers once the decision is
    recorded, and the run writes what follows (the next stage, its side effects) right after."""
    deadline = asyncio.get_running_loop().time() + WAIT_LIMIT_S
    while True:
        current = await read()
        if ok(current):
            return current
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the read-model never reached the expected state; last: {current}")
        await asyncio.sleep(0.05)


async def open_tasks_by_role(handle: WorkflowHandle, count: int) -> dict[str, str]:
    """Wait for `count` open tasks and return their ids keyed by role."""
    current = await wait_until(handle, lambda s: len(s.open_tasks) == count)
    return {t.role: t.id for t in current.open_tasks}


async def decide(
    handle: WorkflowHandle,
    task_id: str,
    outcome: str,
    *,
    user: str,
    roles: list[str],
    comment: str | None = None,
) -> DecisionResult:
    """Send a decision update and return the workflow's answer."""
    return await handle.execute_update(
        UPDATE_DECIDE,
        Decision(task_id=task_id, outcome=outcome, user=user, roles=roles, comment=comment),
        result_type=DecisionResult,
    )


async def amend(handle: WorkflowHandle, amendment: Amendment) -> DeploymentStatus:
    """Send the requester's amendment."""
    return await handle.execute_update(UPDATE_AMEND, amendment, result_type=DeploymentStatus)


async def refusal(coro: object) -> ApplicationError:
    """Await an update expected to be refused and return the workflow's ApplicationError."""
    try:
        await coro  # type: ignore[misc]
    except WorkflowUpdateFailedError as err:
        assert isinstance(err.cause, ApplicationError), err.cause
        return err.cause
    raise AssertionError("the update was accepted but should have been refused")


async def db_tasks(engine: AsyncEngine, deployment_id: str) -> list[Task]:
    """All task rows of a deployment, oldest first."""
    async with session_factory(engine)() as session:
        result = await session.exec(
            select(Task)
            .where(Task.deployment_id == deployment_id)
            .order_by(col(Task.created_at), col(Task.role))
        )
        return list(result.all())


async def db_events(engine: AsyncEngine, deployment_id: str) -> list[Event]:
    """The deployment's audit log, oldest first."""
    async with session_factory(engine)() as session:
        result = await session.exec(
            select(Event).where(Event.deployment_id == deployment_id).order_by(col(Event.id))
        )
        return list(result.all())


async def db_notifications(engine: AsyncEngine, deployment_id: str) -> list[Notification]:
    """Notifications sent about a deployment, oldest first."""
    async with session_factory(engine)() as session:
        result = await session.exec(
            select(Notification)
            .where(Notification.deployment_id == deployment_id)
            .order_by(col(Notification.id))
        )
        return list(result.all())
