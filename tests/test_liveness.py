"""Every activity heartbeats while it runs, and its errors reach Temporal short and readable."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.liveness import ERROR_MESSAGE_MAX, LivenessInterceptor, short_message

RELEASE = asyncio.Event()


@activity.defn(name="liveness_slow")
async def slow() -> str:
    """Waits until the test lets it go."""
    await RELEASE.wait()
    return "done"


@activity.defn(name="liveness_noisy")
async def noisy() -> str:
    """Fails with a message of many long lines, as a driver's error may."""
    raise RuntimeError("connection refused: " + "x" * 5000 + "\nSQL: SELECT " + "y" * 5000)


@workflow.defn(name="LivenessWorkflow")
class LivenessWorkflow:
    """Runs one of the activities above once."""

    @workflow.run
    async def run(self, which: str) -> str:
        return await workflow.execute_activity(
            which,
            start_to_close_timeout=timedelta(minutes=1),
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(maximum_attempts=1),
            result_type=str,
        )


def test_short_message_keeps_the_first_line_within_the_limit() -> None:
    assert short_message(ValueError("bad\nsecond line")) == "bad"
    long = short_message(ValueError("z" * 1000))
    assert (len(long), long[-1]) == (ERROR_MESSAGE_MAX, "…")
    assert short_message(ValueError("")) == "ValueError"


async def test_an_activity_heartbeats_while_it_runs(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> None:
    RELEASE.clear()
    client = temporal_env.client
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[LivenessWorkflow],
        activities=[slow],
        interceptors=[LivenessInterceptor()],
    ):
        handle = await client.start_workflow(
            "LivenessWorkflow", "liveness_slow", id=str(uuid.uuid4()), task_queue=task_queue
        )
        async with asyncio.timeout(15):
            while True:
                pending = (await handle.describe()).raw_description.pending_activities
                if pending and pending[0].HasField("last_heartbeat_time"):
                    break
                await asyncio.sleep(0.2)
        RELEASE.set()
        assert await handle.result() == "done"


async def test_an_error_reaches_temporal_short_and_under_its_class_name(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = temporal_env.client
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[LivenessWorkflow],
        activities=[noisy],
        interceptors=[LivenessInterceptor()],
    ):
        handle = await client.start_workflow(
            "LivenessWorkflow", "liveness_noisy", id=str(uuid.uuid4()), task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "RuntimeError"
    assert cause.cause.message == "connection refused: " + "x" * (ERROR_MESSAGE_MAX - 21) + "…"
