"""Record a post departure's histories for the replay tests: `python -m tests.record_departure_histories`.

One ordered departure of a post with two deployments: one member deployed (accounted for by
Operations, brought home, the deployment completed) and one still equipping (held before TRAVEL
until the departure is over, then cancelled). The departure's history goes to
tests/histories/departures/, the two deployments' beside the other DeploymentWorkflow histories.
Never rewrite old ones: they stand for workflows already running.
"""

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import crc.auth_tables
import crc.departure_tables
import crc.lifecycle_tables
import crc.operation_tables
import crc.tables
from crc import names
from crc.db import create_engine, session_factory
from crc.departures import (
    DEPARTURE_WORKFLOW_NAME,
    DepartureInput,
    DepartureOutcome,
    DepartureStatus,
    departure_workflow_id,
)
from crc.search_attributes import ensure_registered
from crc.stages import Stage
from crc.tables import Deployment
from crc.types import DeploymentOutcome, DeploymentRequest
from tests import factories
from tests.lifecycle_world import Driver, add_world
from tests.record_histories import HISTORIES
from tests.workflow_helpers import start, wait_until
from worker import build_worker

LABEL = "20261202b"
DEPARTURES = HISTORIES / "departures"
QUEUE = "record-departure"


async def _second_at(engine: AsyncEngine, post_code: str) -> DeploymentRequest:
    """A second requested deployment, moved to the first one's post."""
    request = await factories.requested_deployment(engine)
    async with session_factory(engine).begin() as session:
        row = await session.get(Deployment, request.deployment_id)
        assert row is not None
        row.post_code = post_code
    return request.model_copy(update={"post_code": post_code})


async def record() -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.prefix) / "bin" / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await ensure_registered(env.client, env.client.namespace)
    client: Client = env.client
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/crc.db")
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        deployed_request = await factories.requested_deployment(engine, duration_days=60)
        post_code = deployed_request.post_code
        held_request = await _second_at(engine, post_code)
        await add_world(engine, post_code)
        async with build_worker(client, engine, task_queue=QUEUE):
            handles = []
            for request in (deployed_request, held_request):
                await start(client, QUEUE, request)
                handles.append(
                    client.get_workflow_handle(
                        names.deployment_workflow_id(request.deployment_id), result_type=DeploymentOutcome
                    )
                )
            deployed = Driver(handle=handles[0], request=deployed_request, env=env)
            held = Driver(handle=handles[1], request=held_request, env=env)
            await deployed.approve_all()
            await held.approve_all()
            await deployed.pass_training()
            await held.pass_training(courses=3)  # its post's briefing too
            await held.task("kit_receipt")
            await deployed.complete("kit_receipt", "acknowledge")
            await deployed.wait_stage(Stage.TRAVEL)
            await deployed.arrive()

            departure_id = str(uuid.uuid4())
            workflow_id = departure_workflow_id(post_code, 1)
            await factories.add(
                engine,
                crc.departure_tables.PostDeparture(
                    id=departure_id,
                    workflow_id=workflow_id,
                    post_code=post_code,
                    kind="ordered",
                    reason="Fighting in the capital",
                    ordered_by="ops.director",
                    status=DepartureStatus.UNDER_WAY,
                ),
            )
            departure = await client.start_workflow(
                DEPARTURE_WORKFLOW_NAME,
                DepartureInput(
                    departure_id=departure_id,
                    post_code=post_code,
                    kind="ordered",
                    reason="Fighting in the capital",
                    ordered_by="ops.director",
                    ordered_by_name="Dana Director",
                ),
                id=workflow_id,
                task_queue=QUEUE,
                result_type=DepartureOutcome,
            )
            # Told of the order before it acknowledges its kit (else it would already be travelling).
            await wait_until(held.handle, lambda s: any(t.kind == "departure_ordered" for t in s.timeline))
            await held.complete("kit_receipt", "acknowledge")
            await wait_until(held.handle, lambda s: s.status.startswith("Held"))
            await deployed.complete("departure_accountability", "accounted_for", role="operations")
            await departure.result()
            await held.wait_stage(Stage.TRAVEL)
            await held.cancel("Post still unsafe")
            await deployed.complete("kit_return", "returned")
            await deployed.complete("after_action_report", "done", data={"report": "Evacuated."})
            await deployed.complete("medical_out_processing", "done")
            for handle in handles:
                await handle.result()
        DEPARTURES.mkdir(parents=True, exist_ok=True)
        histories = [
            (departure.id, DEPARTURES / f"{LABEL}_ordered_departure_run1.json"),
            (handles[0].id, HISTORIES / f"{LABEL}_deployed_under_ordered_departure_run1.json"),
            (handles[1].id, HISTORIES / f"{LABEL}_held_by_departure_then_cancelled_run1.json"),
        ]
        for workflow, path in histories:
            history = await client.get_workflow_handle(workflow).fetch_history()
            path.write_text(history.to_json())
            print(f"recorded {path.name}")
        await engine.dispose()
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
