"""A request whose workflow start was lost (the web died in between) gets its workflow within a
minute: the reconciler starts it, once, and leaves fresh and running ones alone."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.reconcile import OrphanSweep, OrphanSweepResult
from crc.db import session_factory
from crc.operation_tables import Operation, OperationDeployment, OperationPosition
from crc.stages import Stage
from crc.tables import Deployment, utcnow
from crc.types import DeploymentRequest
from tests import factories
from tests.workflow_helpers import wait_until
from worker import build_worker
from workflows.reconcile import RECONCILE_WORKFLOW


async def _written(engine: AsyncEngine, deployment_id: str, ago: timedelta) -> None:
    async with session_factory(engine).begin() as session:
        await session.exec(
            sa.update(Deployment).where(col(Deployment.id) == deployment_id).values(created_at=utcnow() - ago)
        )


async def _linked_to_an_operation(engine: AsyncEngine, request: DeploymentRequest) -> None:
    operation_id = str(uuid.uuid4())
    operation = Operation(
        id=operation_id,
        workflow_id=f"operation-{operation_id}",
        name="Juba stabilization",
        post_codes=[request.post_code],
        objective="Courts",
        lead="planning",
        start_date=request.start_date,
        end_date=request.start_date,
        status="STAFFING",
        created_by="planning",
    )
    position = OperationPosition(
        id=str(uuid.uuid4()),
        operation_id=operation_id,
        post_code=request.post_code,
        sector=request.sector,
        role_title=request.role_title,
        component="any",
        start_date=request.start_date,
        duration_days=request.duration_days,
        count=1,
    )
    link = OperationDeployment(
        deployment_id=request.deployment_id, operation_id=operation_id, position_id=position.id
    )
    await factories.add(engine, operation)
    await factories.add(engine, position)
    await factories.add(engine, link)


async def test_a_lost_start_is_started_once_and_fresh_rows_are_left_alone(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    client = temporal_env.client
    lost = await factories.requested_deployment(engine)  # a row, and no workflow
    fresh = await factories.requested_deployment(engine)
    # An operation's deployment, its start not yet made: the operation starts it as its child.
    child = await factories.requested_deployment(engine)
    await _linked_to_an_operation(engine, child)
    await _written(engine, lost.deployment_id, timedelta(minutes=2))
    await _written(engine, child.deployment_id, timedelta(minutes=2))
    async with build_worker(client, engine, task_queue=task_queue):

        async def sweep() -> OrphanSweepResult:
            result: OrphanSweepResult = await client.execute_workflow(
                RECONCILE_WORKFLOW,
                OrphanSweep(),
                id=f"sweep-{uuid.uuid4()}",
                task_queue=task_queue,
                result_type=OrphanSweepResult,
            )
            return result

        assert (await sweep()).started == [lost.deployment_id]
        handle = client.get_workflow_handle(f"deployment-{lost.deployment_id}")
        assert (await wait_until(handle, lambda s: s.stage == Stage.APPROVAL)).stage == Stage.APPROVAL
        assert (await sweep()).started == []  # once started, never again
        # A fresh row's workflow is the web's to start: the sweep left it alone.
        for left_alone in (fresh, child):
            with pytest.raises(RPCError) as missing:
                await client.get_workflow_handle(f"deployment-{left_alone.deployment_id}").describe()
            assert missing.value.status == RPCStatusCode.NOT_FOUND
        await handle.terminate("test finished")
