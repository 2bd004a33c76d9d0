"""Round trips of one short lifecycle (approve, early return, COMPLETED), counted from its history."""

from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from crc import names
from crc.stages import Stage
from crc.types import DeploymentOutcome
from tests import factories
from tests.lifecycle_world import Driver, add_world
from tests.workflow_helpers import start
from worker import build_worker


async def short_lifecycle(d: Driver) -> None:
    """Approve, train, equip, travel, arrive; then an early return and out-processing."""
    await d.to_travel()
    await d.arrive()
    await d.cancel("Security deteriorated")
    await d.complete("kit_return", "returned")
    await d.complete("after_action_report", "done", data={"report": "Went well."})
    await d.complete("medical_out_processing", "done")


async def activities_of(handle: WorkflowHandle) -> Counter[str]:
    """Activities scheduled by one run, by type."""
    history = await handle.fetch_history()
    return Counter(
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_short_lifecycle_activities(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine, duration_days=60, start_in_days=45)
    await add_world(engine, request.post_code)
    async with build_worker(temporal_env.client, engine, task_queue=task_queue):
        await start(temporal_env.client, task_queue, request)
        handle = temporal_env.client.get_workflow_handle(
            names.deployment_workflow_id(request.deployment_id), result_type=DeploymentOutcome
        )
        await short_lifecycle(Driver(handle=handle, request=request, env=temporal_env))
        assert (await handle.result()).stage == Stage.COMPLETED
        counts = await activities_of(handle)
    # 52 before a stage change rode on the work that caused it: 15 of them record_stage.
    assert counts == Counter(
        {
            "complete_task": 10,  # one per decision: the record its update waits for
            "open_tasks": 6,  # approvals, two courses, kit receipt, clearance, out-processing
            "estimate_cost": 1,  # with the move into APPROVAL; it reads the post's rules too
            "vet_member": 1,  # with the move into VETTING
            "plan_training": 1,  # with the move into TRAINING
            "enrol": 2,
            "record_training_result": 2,  # enrolment, certificate and status at once
            "reserve_kit": 1,  # with the move into EQUIPPING
            "record_country_clearance": 1,  # requested, with the move into TRAVEL
            # The outbound one issues the orders with the approved clearance; the return one
            # carries the move into REDEPLOYMENT.
            "book_travel": 2,
            "record_stage": 1,  # booked
            "record_check_in": 1,  # with its event and the move into DEPLOYED
            "return_kit": 1,
            "close_out": 1,  # with the home agency's release notice and the move into COMPLETED
        }
    )
    assert sum(counts.values()) == 31
