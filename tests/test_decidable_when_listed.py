"""A task is decidable from the moment the inbox lists it, even before the run hears its row exists."""

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.read_model import ReadModelActivities
from crc.names import deployment_workflow_id
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.types import OpenTasks, StageChange
from tests import factories
from tests.lifecycle_world import Driver, add_world
from tests.workflow_helpers import db_tasks, decide, start, status, wait_until
from worker import activities_for
from workflows.deployment import DeploymentWorkflow


async def test_a_decision_sent_while_the_rows_are_written_is_taken(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    written, release = asyncio.Event(), asyncio.Event()
    read_model = ReadModelActivities(engine)

    @activity.defn(name="open_tasks")
    async def open_tasks_slowly(request: OpenTasks) -> None:
        """Writes the rows, then keeps the run waiting (as a slow worker would)."""
        await read_model.open_tasks(request)
        written.set()
        await release.wait()

    activities = [a for a in activities_for(engine) if getattr(a, "__name__", "") != "open_tasks"]
    request = await factories.requested_deployment(engine)
    client = temporal_env.client
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[DeploymentWorkflow],
        activities=[*activities, open_tasks_slowly],
    ):
        handle = await client.start_workflow(
            "DeploymentWorkflow", request, id=f"deployment-{request.deployment_id}", task_queue=task_queue
        )
        await asyncio.wait_for(written.wait(), 20)
        listed = {t.role: t.id for t in await db_tasks(engine, request.deployment_id)}
        assert sorted(listed) == ["chief_of_mission", "planning", "resource_management"]
        decision = asyncio.create_task(
            decide(handle, listed["planning"], "approve", user="p1", roles=["planning"])
        )
        await asyncio.sleep(0.5)
        assert not decision.done()  # accepted, waiting for the rows to be known
        release.set()
        result = await decision
        assert (result.task.status, result.task.outcome) == ("completed", "approve")
        current = await wait_until(handle, lambda s: len(s.open_tasks) == 2)
        assert sorted(t.role for t in current.open_tasks) == ["chief_of_mission", "resource_management"]
        assert (await status(handle)).stage == "APPROVAL"
        await handle.terminate("test finished")


async def test_an_arrival_sent_once_the_page_says_arrival_is_taken(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    """The read-model says "waiting for the arrival" a moment before the run knows it (seconds,
    when the worker that wrote it was killed): a check-in in that moment waits, then arrives."""
    written, release = asyncio.Event(), asyncio.Event()
    read_model = ReadModelActivities(engine)

    @activity.defn(name="record_stage")
    async def record_arrival_slowly(change: StageChange) -> None:
        """Writes the row, then keeps the run waiting when it is the wait for the arrival."""
        await read_model.record_stage(change)
        if change.progress is not None and change.progress.waiting_for == WaitingFor.ARRIVAL:
            written.set()
            await release.wait()

    activities = [a for a in activities_for(engine) if getattr(a, "__name__", "") != "record_stage"]
    request = await factories.requested_deployment(engine, duration_days=60, start_in_days=45)
    await add_world(engine, request.post_code)
    client = temporal_env.client
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[DeploymentWorkflow],
        activities=[*activities, record_arrival_slowly],
    ):
        await start(client, task_queue, request)
        handle = client.get_workflow_handle(deployment_workflow_id(request.deployment_id))
        driver = Driver(handle=handle, request=request, env=temporal_env)
        await driver.approve_all()
        await driver.pass_training(2)
        await driver.complete("kit_receipt", "acknowledge")
        await driver.wait_stage(Stage.TRAVEL)
        await driver.until(request.start_date)  # first: skipping time would time the activity out
        await driver.complete("country_clearance", "approve")
        await asyncio.wait_for(written.wait(), 20)
        arrival = asyncio.create_task(driver.check_in(location="Juba airport"))
        await asyncio.sleep(0.5)
        assert not arrival.done()  # accepted, waiting for the run to know it waits for the arrival
        release.set()
        result = await arrival
        assert (result.arrival, result.stage) == (True, Stage.DEPLOYED)
        await handle.terminate("test finished")
