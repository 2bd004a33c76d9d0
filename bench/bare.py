"""The bare baseline: a plain temporalio workflow with no-op activities and updates, nothing else.

It does what a deployment does in Temporal terms (activities in phases, updates between them) and
none of the project's work: each activity is a no-op of the same count, so the ratio to it is the
cost of the project's own activities, database and web layer.

Run its worker as a process of its own, like the project's: `python -m bench.bare ADDRESS QUEUE`.
"""

import asyncio
import sys
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

BARE_WORKFLOW = "BenchBareWorkflow"
STEP_UPDATE = "step"
ACTIVITY_TIMEOUT = timedelta(seconds=60)


@dataclass
class BarePlan:
    """How many no-op activities to run before the first update and after each one."""

    phases: list[int] = field(default_factory=lambda: [0])


@activity.defn(name="bench_noop")
async def noop(step: int) -> int:
    """Nothing at all: the round trip of one activity."""
    return step


@workflow.defn(name=BARE_WORKFLOW)
class BareWorkflow:
    """Phases of no-op activities, each after the update before it; then it completes."""

    def __init__(self) -> None:
        self.updates = 0
        self.phases_done = 0

    @workflow.run
    async def run(self, plan: BarePlan) -> int:
        for index, count in enumerate(plan.phases):
            if index:
                await workflow.wait_condition(lambda i=index: self.updates >= i)  # type: ignore[misc]
            for _ in range(count):
                await workflow.execute_activity(noop, index, start_to_close_timeout=ACTIVITY_TIMEOUT)
            self.phases_done = index + 1
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.updates

    @workflow.update(name=STEP_UPDATE)
    async def step(self, work: int) -> int:
        """Wait for the phase before to finish (a task being listed), run `work` no-ops, count."""
        await workflow.wait_condition(lambda: self.phases_done > self.updates)
        for _ in range(work):
            await workflow.execute_activity(noop, -1, start_to_close_timeout=ACTIVITY_TIMEOUT)
        self.updates += 1
        return self.updates


def bare_worker(client: Client, task_queue: str) -> Worker:
    """A worker of the bare workflow and its no-op activity, with the SDK's defaults."""
    return Worker(client, task_queue=task_queue, workflows=[BareWorkflow], activities=[noop])


async def _main(address: str, task_queue: str) -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    await bare_worker(client, task_queue).run()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2]))
