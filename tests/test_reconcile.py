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
from crc.stages import Stage
from crc.tables import Deployment, utcnow
from tests import factories
from tests.workflow_helpers import wait_until
from worker import build_worker
from workflows.reconcile import RECONCILE_WORKFLOW


async def _written(engine: AsyncEngine, deployment_id: str, ago: timedelta) -> None:
    async with session_factory(engine).begin() as session:
        await session.exec(
            sa.update(Deployment).where(col(Deployment.id) == deployment_id).values(created_at=utcnow() - ago)
        )


async def test_a_lost_start_is_started_once_and_fresh_rows_are_left_alone(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    client = temporal_env.client
    lost = await factories.requested_deployment(engine)  # a row, and no workflow
    fresh = await factories.requested_deployment(engine)
    await _written(engine, lost.deployment_id, timedelta(minutes=2))
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
        with pytest.raises(RPCError) as missing:
            await client.get_workflow_handle(f"deployment-{fresh.deployment_id}").describe()
        assert missing.value.status == RPCStatusCode.NOT_FOUND
        await handle.terminate("test finished")
