"""A stand-in for DeploymentWorkflow behind deployment rows a test wrote itself.

It accepts every decision the web lets through and records it on the task row, so the API
answers 200 as it would with the real workflow; what the web refuses never reaches it.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from crc import names
from crc.db import session_factory
from crc.tables import Task
from crc.types import Decision, DecisionResult, TaskView


class DecisionRecorder:
    """Writes a decision on its task row, as the real workflow's read-model activity does."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    @activity.defn(name="stub_record_decision")
    async def record(self, decision: Decision) -> TaskView:
        """Complete the task with the decision; the task as it now stands."""
        async with self._sessions.begin() as session:
            task = await session.get(Task, decision.task_id)
            assert task is not None
            task.status, task.outcome, task.completed_by = "completed", decision.outcome, decision.user
            return TaskView.model_validate(task, from_attributes=True)


@workflow.defn(name=names.WORKFLOW_NAME)
class AcceptsEveryDecision:
    """Takes decisions until terminated; nothing else."""

    @workflow.run
    async def run(self, deployment_id: str) -> None:
        """Wait for decisions until the test terminates the workflow."""
        await workflow.wait_condition(lambda: False)

    @workflow.update(name=names.UPDATE_DECIDE)
    async def decide(self, decision: Decision) -> DecisionResult:
        """Record the decision and answer as DeploymentWorkflow does."""
        task = await workflow.execute_activity_method(
            DecisionRecorder.record, decision, start_to_close_timeout=timedelta(seconds=10)
        )
        return DecisionResult(task=task, stage=task.stage, status="decided")


@asynccontextmanager
async def accepting_workflows(
    client: Client, engine: AsyncEngine, deployments: dict[str, str]
) -> AsyncIterator[None]:
    """A stub workflow under each deployment's workflow id (deployment id → workflow id)."""
    task_queue = f"stub-{uuid.uuid4().hex}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[AcceptsEveryDecision],
        activities=[DecisionRecorder(engine).record],
        # A test double: it imports the database layer, which the sandbox would re-import.
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        for deployment_id, workflow_id in deployments.items():
            await client.start_workflow(
                AcceptsEveryDecision.run, deployment_id, id=workflow_id, task_queue=task_queue
            )
        yield
