"""The pipeline is data: a stage added in a test-only subclass runs in order, touching no module."""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from crc import names, stages
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.state import DeploymentInput
from crc.types import DeploymentOutcome
from tests import factories
from tests.lifecycle_world import Driver, add_world
from tests.workflow_helpers import db_events, wait_until
from workflows.core import DeploymentCore
from workflows.deployment import STEPS, DeploymentWorkflow
from workflows.pipeline import StageStep, Transition

# The worker's module brings HTTP clients the workflow sandbox refuses to re-import with this one.
with workflow.unsafe.imports_passed_through():
    from worker import activities_for


async def run_briefing(wf: DeploymentCore) -> Transition:
    """A stage of the test's own: wait a day for a security briefing, then move on."""
    await wf.log("briefing_held", f"Security briefing for {wf.request.member_name}")
    await workflow.sleep(timedelta(days=1))
    return Transition("Briefing held")


BRIEFING = StageStep(Stage.TRAINING, "Security briefing", WaitingFor.WORKFLOW, run_briefing)


@workflow.defn(name="DeploymentWithBriefing")
class DeploymentWithBriefing(DeploymentWorkflow):
    """The deployment workflow with one more stage, between vetting and training."""

    PIPELINE = (*DeploymentWorkflow.PIPELINE[:2], BRIEFING, *DeploymentWorkflow.PIPELINE[2:])

    # Temporal wants a subclass to name its own entry points; they are the parent's.
    @workflow.init
    def __init__(self, request: DeploymentInput) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: DeploymentInput) -> DeploymentOutcome:
        return await super().run(request)


async def test_an_added_stage_runs_in_its_place(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    client = temporal_env.client
    request = await factories.requested_deployment(engine, duration_days=60)
    await add_world(engine, request.post_code)
    async with Worker(
        client, task_queue=task_queue, workflows=[DeploymentWithBriefing], activities=activities_for(engine)
    ):
        handle = await client.start_workflow(
            "DeploymentWithBriefing",
            request,
            id=names.deployment_workflow_id(request.deployment_id),
            task_queue=task_queue,
            result_type=DeploymentOutcome,
        )
        driver = Driver(handle=handle, request=request, env=temporal_env)
        await driver.approve_all()
        await wait_until(handle, lambda s: s.status == "Security briefing")
        await temporal_env.sleep(timedelta(days=1, minutes=1))  # the briefing's day
        await driver.pass_training()
        await driver.task("kit_receipt")  # equipping waits for the member: no activity under way
        await handle.terminate("test finished")
    messages = [(e.kind, e.message) for e in await db_events(engine, request.deployment_id)]
    vetted = messages.index(("stage_changed", "Vetting passed; training next"))
    assert messages[vetted + 1 : vetted + 3] == [
        ("briefing_held", f"Security briefing for {request.member_name}"),
        ("stage_changed", "Briefing held; training next"),
    ]
    assert messages[vetted + 3][0] == "enrolled"
    assert ("stage_changed", "Training complete; equipping next") in messages[vetted + 3 :]


def test_every_stage_of_the_lifecycle_has_one_step_in_order() -> None:
    assert [step.stage for step in DeploymentWorkflow.PIPELINE] == list(stages.PIPELINE)
    assert set(STEPS) == set(stages.PIPELINE)
